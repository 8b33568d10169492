/*
 * impcore - names of code addresses, for the text profiles and
 * /debug/pprof/symbol.
 *
 * dladdr() only knows exported symbols (-rdynamic exports our non-static
 * functions); our static functions are in the .symtab of the executable
 * and of libimpfit.so (the engine: hidden visibility, so dladdr names none
 * of it), which we read once, with every other loaded object that has a
 * .symtab (we build with -g and do not strip).  Objects without one fall
 * back to dladdr: Debian strips its libraries' .symtab.
 * Every server process is forked from one master without exec, so one
 * process's layout names the addresses of all.
 *
 * prf_sym_frames adds what the profile.proto profiles carry (prf_pb.c,
 * issue 17 item 7): the source file and line of an address and the
 * functions inlined there, from each object's DWARF through libdw.  go tool pprof
 * cannot name a target_clones variant or some static functions from the
 * DWARF alone, so the function an address is in is named from .symtab
 * (fit_eval_block.avx2), its inlined callees from DWARF.
 */
#include "config.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "profiler/prf.h"

struct prf_fsym {
	uintptr_t	lo, hi;		/* runtime addresses */
	const char	*name;		/* in its object's str or plt */
};

/* FUNC symbols of every object read, sorted by address */
static struct prf_fsym	*prf_syms;
static size_t		prf_nsyms;
static int		prf_sym_loaded;

/*
 * The objects whose .symtab was read: the executable first, then the
 * shared objects that have one (libimpfit.so; not Debian's stripped libs).
 */
#define PRF_MAX_MODS	32
static struct prf_mod {
	uintptr_t	lo, hi;		/* runtime addresses its symbols cover */
	uintptr_t	bias;		/* runtime address - link address */
	char		*str;		/* its .strtab, which names point into */
	char		*plt;		/* its "name@plt" names */
	Dwarf		*dw;		/* its DWARF (libdw), NULL when none */
	int		fd;
} prf_mods[PRF_MAX_MODS];
static int		prf_nmods;

/* Normalised source paths, by the libdw string they were made from. */
#define PRF_MAX_FILES	1024
static struct prf_file {
	const char	*raw;
	char		*path;
} prf_files[PRF_MAX_FILES];
static int		prf_nfiles;

static int
prf_fsym_cmp(const void *a, const void *b)
{
	const struct prf_fsym *x = a, *y = b;

	return (x->lo < y->lo ? -1 : x->lo > y->lo);
}

/* The loaded objects' files and load biases, from dl_iterate_phdr. */
struct prf_objs {
	int		n;
	char		path[PRF_MAX_MODS][512];
	uintptr_t	bias[PRF_MAX_MODS];
};

static int
prf_obj_add(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct prf_objs *o = arg;
	const char *name = info->dlpi_name;

	(void)size;
	if (o->n == PRF_MAX_MODS)
		return (1);
	/* the first object is the executable, with an empty name; the
	 * vDSO has no file */
	if (o->n == 0 && (name == NULL || *name == '\0'))
		name = "/proc/self/exe";
	if (name == NULL || *name != '/')
		return (0);
	snprintf(o->path[o->n], sizeof o->path[o->n], "%s", name);
	o->bias[o->n++] = (uintptr_t)info->dlpi_addr;
	return (0);
}

#define PRF_MAX_PLT	4096	/* PLT entries and small code sections named */

static const Elf64_Shdr *
prf_section(const uint8_t *map, size_t size, const Elf64_Ehdr *eh,
    const char *name)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	const char *names;
	int i;

	if (eh->e_shstrndx >= eh->e_shnum ||
	    sh[eh->e_shstrndx].sh_offset + sh[eh->e_shstrndx].sh_size > size)
		return (NULL);
	names = (const char *)map + sh[eh->e_shstrndx].sh_offset;
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_name < sh[eh->e_shstrndx].sh_size &&
		    strcmp(names + sh[i].sh_name, name) == 0)
			return (&sh[i]);
	return (NULL);
}

/*
 * The code no FUNC symbol covers, which a CPU sample still lands in: the
 * PLT stubs our calls into libm and libc go through, named "exp@plt" as
 * perf and gdb do (entry i of .plt.sec, or i + 1 of .plt after its
 * resolver stub, is the target of .rela.plt's relocation i), and the
 * small sections .init, .fini, .plt.got and the resolver stub, by their
 * section name.  Writes at most PRF_MAX_PLT to s; returns how many.
 */
static size_t
prf_sym_plt(const uint8_t *map, size_t size, const Elf64_Ehdr *eh,
    uintptr_t bias, char **plts, struct prf_fsym *s)
{
	static const char *const small[] = { ".init", ".fini", ".plt.got" };
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	const Elf64_Shdr *rel, *plt, *dsym, *dstr, *sec;
	const Elf64_Rela *r;
	const Elf64_Sym *ds;
	size_t i, n = 0, nrel, len = 0, first = 0;
	char *w;

	for (i = 0; i < sizeof small / sizeof small[0]; i++)
		if ((sec = prf_section(map, size, eh, small[i])) != NULL &&
		    sec->sh_size > 0) {
			s[n].lo = bias + sec->sh_addr;
			s[n].hi = s[n].lo + sec->sh_size;
			s[n++].name = small[i];
		}
	rel = prf_section(map, size, eh, ".rela.plt");
	if ((plt = prf_section(map, size, eh, ".plt.sec")) == NULL &&
	    (plt = prf_section(map, size, eh, ".plt")) != NULL) {
		first = 1;
		s[n].lo = bias + plt->sh_addr;
		s[n].hi = s[n].lo + 16;
		s[n++].name = ".plt";
	}
	if (rel == NULL || plt == NULL || rel->sh_link >= eh->e_shnum ||
	    rel->sh_offset + rel->sh_size > size)
		return (n);
	dsym = &sh[rel->sh_link];
	if (dsym->sh_link >= eh->e_shnum ||
	    dsym->sh_offset + dsym->sh_size > size)
		return (n);
	dstr = &sh[dsym->sh_link];
	if (dstr->sh_offset + dstr->sh_size > size)
		return (n);
	r = (const Elf64_Rela *)(map + rel->sh_offset);
	ds = (const Elf64_Sym *)(map + dsym->sh_offset);
	nrel = rel->sh_size / sizeof *r;
	if (nrel > PRF_MAX_PLT - n)
		nrel = PRF_MAX_PLT - n;
	for (i = 0; i < nrel; i++) {
		size_t si = ELF64_R_SYM(r[i].r_info);

		if (si * sizeof *ds < dsym->sh_size &&
		    ds[si].st_name < dstr->sh_size)
			len += strlen((const char *)map + dstr->sh_offset +
			    ds[si].st_name) + 5;
	}
	w = *plts = imp_malloc(len + 1);
	for (i = 0; i < nrel; i++) {
		size_t si = ELF64_R_SYM(r[i].r_info);

		if (si * sizeof *ds >= dsym->sh_size ||
		    ds[si].st_name >= dstr->sh_size ||
		    (first + i + 1) * 16 > plt->sh_size)
			continue;
		s[n].lo = bias + plt->sh_addr + (first + i) * 16;
		s[n].hi = s[n].lo + 16;
		s[n].name = w;
		w += sprintf(w, "%s@plt", (const char *)map + dstr->sh_offset +
		    ds[si].st_name) + 1;
		n++;
	}
	return (n);
}

/*
 * Add the FUNC symbols of path's .symtab (runtime addresses: bias added),
 * with its PLT names, and open its DWARF; quietly
 * nothing when it has no .symtab or is not a readable 64-bit ELF file.
 */
static void
prf_sym_load_obj(const char *path, uintptr_t bias)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *symsh = NULL, *strsh;
	const Elf64_Sym *sym;
	struct prf_mod *m = &prf_mods[prf_nmods];
	struct stat st;
	uint8_t *map;
	size_t i, n, k, first = prf_nsyms;
	int fd;

	if (prf_nmods == PRF_MAX_MODS ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof *eh) {
		close(fd);
		return;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	eh = (const Elf64_Ehdr *)map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof *sh > (uint64_t)st.st_size)
		goto out;
	sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB)
			symsh = &sh[i];
	if (symsh == NULL || symsh->sh_link >= eh->e_shnum)
		goto out;
	strsh = &sh[symsh->sh_link];
	if (symsh->sh_offset + symsh->sh_size > (uint64_t)st.st_size ||
	    strsh->sh_offset + strsh->sh_size > (uint64_t)st.st_size ||
	    strsh->sh_size == 0)
		goto out;
	n = symsh->sh_size / sizeof *sym;
	sym = (const Elf64_Sym *)(map + symsh->sh_offset);
	/* imp_realloc never returns NULL: it ends the process instead */
	prf_syms = imp_realloc(prf_syms, (prf_nsyms + n + PRF_MAX_PLT + 1) *
	    sizeof *prf_syms);
	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->bias = bias;
	m->str = imp_malloc(strsh->sh_size + 1);
	memcpy(m->str, map + strsh->sh_offset, strsh->sh_size);
	m->str[strsh->sh_size] = '\0';
	k = prf_nsyms;
	for (i = 0; i < n; i++) {
		if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC ||
		    sym[i].st_size == 0 || sym[i].st_name >= strsh->sh_size ||
		    sym[i].st_shndx == SHN_UNDEF)
			continue;
		prf_syms[k].lo = bias + sym[i].st_value;
		prf_syms[k].hi = prf_syms[k].lo + sym[i].st_size;
		prf_syms[k].name = m->str + sym[i].st_name;
		k++;
	}
	/* every object's: libimpfit's calls into libm go through its own */
	k += prf_sym_plt(map, (size_t)st.st_size, eh, bias, &m->plt,
	    prf_syms + k);
	for (i = first; i < k; i++) {
		if (i == first || prf_syms[i].lo < m->lo)
			m->lo = prf_syms[i].lo;
		if (prf_syms[i].hi > m->hi)
			m->hi = prf_syms[i].hi;
	}
	prf_nsyms = k;
	/* its DWARF, for file:line and inlined frames */
	if ((m->fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    (m->dw = dwarf_begin(m->fd, DWARF_C_READ)) == NULL) {
		close(m->fd);
		m->fd = -1;
	}
	prf_nmods++;
out:
	munmap(map, (size_t)st.st_size);
}

/* Read the symbols of every loaded object that has them, once. */
static void
prf_sym_load(void)
{
	struct prf_objs *o;
	int i;

	prf_sym_loaded = 1;
	o = imp_calloc(1, sizeof *o);
	dl_iterate_phdr(prf_obj_add, o);
	for (i = 0; i < o->n; i++)
		prf_sym_load_obj(o->path[i], o->bias[i]);
	imp_free(o);
	if (prf_nsyms > 0)
		qsort(prf_syms, prf_nsyms, sizeof *prf_syms, prf_fsym_cmp);
}

/* The object whose symbols cover pc, or NULL. */
static const struct prf_mod *
prf_mod_of(uintptr_t pc)
{
	int i;

	for (i = 0; i < prf_nmods; i++)
		if (pc >= prf_mods[i].lo && pc < prf_mods[i].hi)
			return (&prf_mods[i]);
	return (NULL);
}

const char *
prf_sym_name(uintptr_t pc, uintptr_t *off, const char **module)
{
	static char modbuf[256];
	size_t lo = 0, hi;
	Dl_info info;
	const char *m;

	if (!prf_sym_loaded)
		prf_sym_load();
	if (module != NULL)
		*module = "?";
	if (dladdr((void *)pc, &info) != 0 && info.dli_fname != NULL &&
	    module != NULL) {
		m = strrchr(info.dli_fname, '/');
		snprintf(modbuf, sizeof modbuf, "%s", m != NULL ? m + 1 : info.dli_fname);
		*module = modbuf;
	}
	if (prf_mod_of(pc) != NULL) {
		hi = prf_nsyms;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (prf_syms[mid].lo <= pc)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && pc < prf_syms[lo - 1].hi) {
			*off = pc - prf_syms[lo - 1].lo;
			return (prf_syms[lo - 1].name);
		}
	}
	if (dladdr((void *)pc, &info) != 0 && info.dli_sname != NULL) {
		*off = pc - (uintptr_t)info.dli_saddr;
		return (info.dli_sname);
	}
	return (NULL);
}

/*
 * path with "." and "dir/.." taken out lexically (an out-of-tree build
 * records /src/wt/build/../src/fit/fit_run.c), interned until
 * prf_sym_free; raw itself when the table is full.
 */
static const char *
prf_sym_path(Dwarf_Die *cu, const char *raw)
{
	char *p, *out, *tok, *w, *seg[128];
	const char *dir = NULL;
	Dwarf_Attribute a;
	int i, n = 0;

	for (i = 0; i < prf_nfiles; i++)
		if (prf_files[i].raw == raw)
			return (prf_files[i].path);
	if (prf_nfiles == PRF_MAX_FILES)
		return (raw);
	/* a relative name is relative to the compilation's directory */
	if (raw[0] != '/' && dwarf_attr(cu, DW_AT_comp_dir, &a) != NULL)
		dir = dwarf_formstring(&a);
	p = imp_malloc((dir != NULL ? strlen(dir) + 1 : 0) + strlen(raw) + 1);
	sprintf(p, "%s%s%s", dir != NULL ? dir : "", dir != NULL ? "/" : "",
	    raw);
	out = imp_malloc(strlen(p) + 2);
	out[0] = '\0';
	if (p[0] == '/')
		strcat(out, "/");
	for (tok = strtok_r(p, "/", &w); tok != NULL;
	    tok = strtok_r(NULL, "/", &w)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0 && n > 0 &&
		    strcmp(seg[n - 1], "..") != 0) {
			n--;
			continue;
		}
		if (n == (int)(sizeof seg / sizeof seg[0])) {
			imp_free(p);
			imp_free(out);
			return (raw);
		}
		seg[n++] = tok;
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, "/");
		strcat(out, seg[i]);
	}
	imp_free(p);
	prf_files[prf_nfiles].raw = raw;
	prf_files[prf_nfiles].path = out;
	return (prf_files[prf_nfiles++].path);
}

/* Name of a subprogram or inlined instance (its abstract origin's). */
static const char *
prf_die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;

	if (dwarf_attr_integrate(die, DW_AT_name, &a) == NULL)
		return (NULL);
	return (dwarf_formstring(&a));
}

/* File number attribute at of die, as a path of cu's file table. */
static const char *
prf_die_file(Dwarf_Die *cu, Dwarf_Die *die, int at)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word idx;
	size_t nfiles;
	const char *f;

	if (dwarf_attr(die, at, &a) == NULL || dwarf_formudata(&a, &idx) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles ||
	    (f = dwarf_filesrc(files, idx, NULL, NULL)) == NULL)
		return (NULL);
	return (prf_sym_path(cu, f));
}

int
prf_sym_frames(uintptr_t pc, struct prf_frame *f, int max)
{
	const struct prf_mod *m;
	Dwarf_Die cu, *scopes = NULL;
	Dwarf_Line *ln;
	Dwarf_Addr addr;
	const char *name, *file = NULL;
	uintptr_t off;
	int line = 0, n = 0, ns, i;

	if (max <= 0)
		return (0);
	if (!prf_sym_loaded)
		prf_sym_load();
	name = prf_sym_name(pc, &off, NULL);
	if ((m = prf_mod_of(pc)) == NULL || m->dw == NULL ||
	    dwarf_addrdie(m->dw, addr = pc - m->bias, &cu) == NULL)
		goto outer;
	if ((ln = dwarf_getsrc_die(&cu, addr)) != NULL) {
		const char *raw = dwarf_linesrc(ln, NULL, NULL);

		file = raw != NULL ? prf_sym_path(&cu, raw) : NULL;
		(void)dwarf_lineno(ln, &line);
	}
	/* innermost first: each inlined instance, called from the next */
	ns = dwarf_getscopes(&cu, addr, &scopes);
	for (i = 0; i < ns && n < max - 1; i++) {
		Dwarf_Attribute a;
		Dwarf_Word cl;

		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram)
			break;
		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		f[n].name = prf_die_name(&scopes[i]);
		f[n].file = file;
		f[n].line = line;
		if (f[n].name != NULL)
			n++;
		file = prf_die_file(&cu, &scopes[i], DW_AT_call_file);
		line = dwarf_attr(&scopes[i], DW_AT_call_line, &a) != NULL &&
		    dwarf_formudata(&a, &cl) == 0 ? (int)cl : 0;
	}
	if (name == NULL && i < ns)
		name = prf_die_name(&scopes[i]);
	free(scopes);
outer:
	if (name == NULL)
		return (n);
	f[n].name = name;
	f[n].file = file;
	f[n].line = line;
	return (n + 1);
}

void
prf_sym_free(void)
{
	int i;

	for (i = 0; i < prf_nfiles; i++)
		imp_free(prf_files[i].path);
	prf_nfiles = 0;
	for (i = 0; i < prf_nmods; i++) {
		if (prf_mods[i].dw != NULL)
			dwarf_end(prf_mods[i].dw);
		if (prf_mods[i].fd >= 0)
			close(prf_mods[i].fd);
		imp_free(prf_mods[i].str);
		imp_free(prf_mods[i].plt);
	}
	prf_nmods = 0;
	imp_free(prf_syms);
	prf_syms = NULL;
	prf_nsyms = 0;
	prf_sym_loaded = 0;
}
