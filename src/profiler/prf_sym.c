/*
 * impcore - names of code addresses, for the text profiles and
 * /debug/pprof/symbol.
 *
 * dladdr() only knows exported symbols (-rdynamic exports our non-static
 * functions); our static functions are in the executable's own .symtab,
 * which we read once from /proc/self/exe (we build with -g and do not
 * strip).  Libraries fall back to dladdr: Debian strips their .symtab.
 * Every server process is forked from one master without exec, so one
 * process's layout names the addresses of all.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mem.h"
#include "profiler/prf.h"

struct prf_fsym {
	uintptr_t	lo, hi;		/* runtime addresses */
	const char	*name;		/* in prf_sym_str */
};

static struct prf_fsym	*prf_syms;
static size_t		prf_nsyms;
static char		*prf_sym_str;
static int		prf_sym_loaded;
static uintptr_t	prf_exe_lo, prf_exe_hi;

static int
prf_fsym_cmp(const void *a, const void *b)
{
	const struct prf_fsym *x = a, *y = b;

	return (x->lo < y->lo ? -1 : x->lo > y->lo);
}

static int
prf_exe_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	/* the first object is the executable; dlpi_addr is its load bias */
	*(uintptr_t *)arg = (uintptr_t)info->dlpi_addr;
	return (1);
}

/* Read the FUNC symbols of /proc/self/exe's .symtab; quietly nothing on error. */
static void
prf_sym_load(void)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *symsh = NULL, *strsh;
	const Elf64_Sym *sym;
	uintptr_t bias = 0;
	struct stat st;
	uint8_t *map;
	size_t i, n, k = 0;
	int fd;

	prf_sym_loaded = 1;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
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
	dl_iterate_phdr(prf_exe_bias, &bias);
	n = symsh->sh_size / sizeof *sym;
	sym = (const Elf64_Sym *)(map + symsh->sh_offset);
	prf_syms = imp_calloc(n + 1, sizeof *prf_syms);
	prf_sym_str = imp_malloc(strsh->sh_size + 1);
	memcpy(prf_sym_str, map + strsh->sh_offset, strsh->sh_size);
	prf_sym_str[strsh->sh_size] = '\0';
	for (i = 0; i < n; i++) {
		if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC ||
		    sym[i].st_size == 0 || sym[i].st_name >= strsh->sh_size ||
		    sym[i].st_shndx == SHN_UNDEF)
			continue;
		prf_syms[k].lo = bias + sym[i].st_value;
		prf_syms[k].hi = prf_syms[k].lo + sym[i].st_size;
		prf_syms[k].name = prf_sym_str + sym[i].st_name;
		if (k == 0 || prf_syms[k].lo < prf_exe_lo)
			prf_exe_lo = prf_syms[k].lo;
		if (prf_syms[k].hi > prf_exe_hi)
			prf_exe_hi = prf_syms[k].hi;
		k++;
	}
	prf_nsyms = k;
	qsort(prf_syms, prf_nsyms, sizeof *prf_syms, prf_fsym_cmp);
out:
	munmap(map, (size_t)st.st_size);
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
	if (pc >= prf_exe_lo && pc < prf_exe_hi) {
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

void
prf_sym_free(void)
{
	imp_free(prf_syms);
	imp_free(prf_sym_str);
	prf_syms = NULL;
	prf_sym_str = NULL;
	prf_nsyms = 0;
	prf_sym_loaded = 0;
}
