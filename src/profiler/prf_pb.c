/*
 * impcore - profiles in pprof's protobuf format (profile.proto), gzipped
 * as Go serves them: the CPU, heap, allocs, block and mutex profiles.
 *
 * The legacy formats leave naming to pprof, which reads our DWARF only:
 * it cannot name target_clones variants (fit_eval_block.avx2), some of our
 * static functions or library frames, and had no source lines where it
 * could not name (issue 17, item 7).  Here every location is named by our
 * own symbolizer (prf_sym.c) with its file, line and inlined frames, and
 * every mapping says so (has_functions...), so pprof neither symbolizes
 * again nor asks /debug/pprof/symbol, and `list` finds the source.
 * The builder: prf_pb_new, the sample types, the samples (stacks of
 * addresses to name, leaf first, with their values), prf_pb_finish.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "profiler/prf.h"

/* ---- protobuf wire format (varints and length-delimited fields) ---------- */

static void
pb_varint(struct buf *b, uint64_t v)
{
	char c[10];
	int n = 0;

	do {
		c[n] = (char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			c[n] |= (char)0x80;
		n++;
	} while (v != 0);
	buf_add(b, c, (size_t)n);
}

static void
pb_uint(struct buf *b, int field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3);	/* wire type 0 */
	pb_varint(b, v);
}

static void
pb_bytes(struct buf *b, int field, const void *p, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | 2);	/* wire type 2 */
	pb_varint(b, len);
	buf_add(b, p, len);
}

/* ---- a small open-addressing table of 64-bit keys (0 = empty) to ids ---- */

struct pb_tab {
	uint64_t	*key;
	uint32_t	*id;
	size_t		cap, n;
};

static size_t
pb_slot(const struct pb_tab *t, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17);

	while (t->key[i % t->cap] != 0 && t->key[i % t->cap] != key)
		i++;
	return (i % t->cap);
}

/* The id of key, or 0 when absent; with add, a new id (n + 1) for it. */
static uint32_t
pb_tab_get(struct pb_tab *t, uint64_t key, int add)
{
	size_t i, k;

	if (add && 2 * (t->n + 1) > t->cap) {
		struct pb_tab g = { NULL, NULL, t->cap ? 2 * t->cap : 1024, t->n };

		g.key = imp_calloc(g.cap, sizeof *g.key);
		g.id = imp_calloc(g.cap, sizeof *g.id);
		for (k = 0; k < t->cap; k++)
			if (t->key[k] != 0) {
				i = pb_slot(&g, t->key[k]);
				g.key[i] = t->key[k];
				g.id[i] = t->id[k];
			}
		imp_free(t->key);
		imp_free(t->id);
		*t = g;
	}
	if (t->cap == 0)
		return (0);
	i = pb_slot(t, key);
	if (t->key[i] == key)
		return (t->id[i]);
	if (!add)
		return (0);
	t->key[i] = key;
	t->id[i] = (uint32_t)++t->n;
	return (t->id[i]);
}

static void
pb_tab_free(struct pb_tab *t)
{
	imp_free(t->key);
	imp_free(t->id);
}

/* ---- the builder ------------------------------------------------------------ */

#define PB_MAX_TYPES	4
#define PB_MAX_MAPS	256

struct pb_map {
	uint64_t	start, limit, offset;
	const char	*file;
	size_t		flen;
};

struct prf_pb {
	/* string table: pointers into the caller's or the symbolizer's
	 * strings (they outlive the builder), found by their hash */
	const char	**str;
	size_t		*slen;
	size_t		nstr, capstr;
	struct pb_tab	strs;		/* hash of the bytes -> index + 1 */
	int		ntypes;
	uint64_t	type[PB_MAX_TYPES][2];
	uint64_t	period_type[2];
	int64_t		period;
	uint64_t	default_type;
	int64_t		time_ns, duration_ns;
	struct pb_tab	locs;		/* address -> location id */
	struct buf	samples;	/* encoded Sample messages */
	struct buf	m;		/* scratch */
};

static uint64_t
pb_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return (h | 1);		/* never 0, the empty key */
}

/* Index of s (len bytes) in the string table, added when new. */
static uint64_t
pb_str(struct prf_pb *pb, const char *s, size_t len)
{
	uint64_t h = pb_hash(s, len);
	size_t i;

	if (len == 0)
		return (0);
	/* collisions: probe on with a rehash until the bytes match */
	for (;; h = (h * 0x9e3779b97f4a7c15ull) | 1) {
		uint32_t id = pb_tab_get(&pb->strs, h, 0);

		if (id == 0)
			break;
		i = id - 1;
		if (pb->slen[i] == len && memcmp(pb->str[i], s, len) == 0)
			return (i);
	}
	if (pb->nstr == pb->capstr) {
		pb->capstr = pb->capstr ? 2 * pb->capstr : 256;
		pb->str = imp_realloc(pb->str, pb->capstr * sizeof *pb->str);
		pb->slen = imp_realloc(pb->slen, pb->capstr * sizeof *pb->slen);
	}
	pb->str[pb->nstr] = s;
	pb->slen[pb->nstr] = len;
	/* ids are assigned in order, so id - 1 is the table index */
	(void)pb_tab_get(&pb->strs, h, 1);
	return (pb->nstr++);
}

static uint64_t
pb_strz(struct prf_pb *pb, const char *s)
{
	return (s != NULL ? pb_str(pb, s, strlen(s)) : 0);
}

struct prf_pb *
prf_pb_new(void)
{
	struct prf_pb *pb = imp_calloc(1, sizeof *pb);

	pb->str = imp_calloc(256, sizeof *pb->str);
	pb->slen = imp_calloc(256, sizeof *pb->slen);
	pb->capstr = 256;
	pb->str[0] = "";
	pb->nstr = 1;
	/* the empty string is index 0 and never in the hash */
	pb->strs.n = 1;
	buf_init(&pb->samples);
	buf_init(&pb->m);
	return (pb);
}

void
prf_pb_sample_type(struct prf_pb *pb, const char *type, const char *unit)
{
	if (pb->ntypes == PB_MAX_TYPES)
		return;
	pb->type[pb->ntypes][0] = pb_strz(pb, type);
	pb->type[pb->ntypes][1] = pb_strz(pb, unit);
	pb->ntypes++;
}

void
prf_pb_period(struct prf_pb *pb, const char *type, const char *unit,
    int64_t period)
{
	pb->period_type[0] = pb_strz(pb, type);
	pb->period_type[1] = pb_strz(pb, unit);
	pb->period = period;
}

void
prf_pb_default_type(struct prf_pb *pb, const char *type)
{
	pb->default_type = pb_strz(pb, type);
}

void
prf_pb_time(struct prf_pb *pb, int64_t time_ns, int64_t duration_ns)
{
	pb->time_ns = time_ns;
	pb->duration_ns = duration_ns;
}

void
prf_pb_sample(struct prf_pb *pb, const uint64_t *addr, int n,
    const int64_t *val, const char *role, long pid)
{
	struct buf ids, vals;
	int i;

	buf_init(&ids);
	buf_init(&vals);
	for (i = 0; i < n; i++)
		if (addr[i] != 0)
			pb_varint(&ids, pb_tab_get(&pb->locs, addr[i], 1));
	for (i = 0; i < pb->ntypes; i++)
		pb_varint(&vals, (uint64_t)val[i]);
	pb->m.len = 0;
	pb_bytes(&pb->m, 1, ids.p, ids.len);	/* packed location_id */
	pb_bytes(&pb->m, 2, vals.p, vals.len);	/* packed value */
	/* labels, for -tagfocus=role=worker and -tags */
	if (role != NULL) {
		ids.len = 0;
		pb_uint(&ids, 1, pb_strz(pb, "role"));
		pb_uint(&ids, 2, pb_strz(pb, role));
		pb_bytes(&pb->m, 3, ids.p, ids.len);
	}
	if (pid > 0) {
		ids.len = 0;
		pb_uint(&ids, 1, pb_strz(pb, "pid"));
		pb_uint(&ids, 3, (uint64_t)pid);
		pb_bytes(&pb->m, 3, ids.p, ids.len);
	}
	pb_bytes(&pb->samples, 2, pb->m.p, pb->m.len);
	buf_free(&ids);
	buf_free(&vals);
}

/* Executable, file-backed lines of /proc/<pid>/maps text at p. */
static int
pb_maps(const char *p, struct pb_map *m, int max)
{
	int n = 0;

	while (p != NULL && *p != '\0' && n < max) {
		const char *nl = strchr(p, '\n'), *f;
		unsigned long long a, z, off;
		char perms[8];
		int used = 0;

		if (nl == NULL)
			nl = p + strlen(p);
		if (sscanf(p, "%llx-%llx %7s %llx %*s %*s%n", &a, &z, perms, &off,
		    &used) == 4 && used > 0 && strchr(perms, 'x') != NULL) {
			for (f = p + used; f < nl && *f == ' '; f++)
				;
			if (f < nl && *f == '/') {
				m[n].start = a;
				m[n].limit = z;
				m[n].offset = off;
				m[n].file = f;
				m[n].flen = (size_t)(nl - f);
				n++;
			}
		}
		p = *nl != '\0' ? nl + 1 : nl;
	}
	return (n);
}

static uint64_t
pb_map_of(const struct pb_map *m, int n, uint64_t addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (addr >= m[i].start && addr < m[i].limit)
			return ((uint64_t)i + 1);
	return (0);
}

/*
 * One Location for addr, with a Line per frame prf_sym_frames knows
 * (inlined ones first, as profile.proto wants), their Functions added to
 * fn (keyed by name and file) and written to funcs.
 */
#define PB_MAX_FRAMES	16

static void
pb_location(struct prf_pb *pb, uint32_t id, uint64_t addr, uint64_t map,
    struct pb_tab *fn, struct buf *funcs, struct buf *out)
{
	struct prf_frame f[PB_MAX_FRAMES];
	struct buf line;
	int n, i;

	pb->m.len = 0;
	pb_uint(&pb->m, 1, id);
	if (map != 0)
		pb_uint(&pb->m, 2, map);
	pb_uint(&pb->m, 3, addr);
	n = prf_sym_frames((uintptr_t)addr, f, PB_MAX_FRAMES);
	buf_init(&line);
	for (i = 0; i < n; i++) {
		uint64_t name = pb_strz(pb, f[i].name);
		uint64_t file = pb_strz(pb, f[i].file);
		uint32_t fid = pb_tab_get(fn, name << 32 | file, 0);

		if (fid == 0) {
			struct buf fm;

			fid = pb_tab_get(fn, name << 32 | file, 1);
			buf_init(&fm);
			pb_uint(&fm, 1, fid);
			pb_uint(&fm, 2, name);
			pb_uint(&fm, 3, name);
			if (file != 0)
				pb_uint(&fm, 4, file);
			pb_bytes(funcs, 5, fm.p, fm.len);
			buf_free(&fm);
		}
		line.len = 0;
		pb_uint(&line, 1, fid);
		if (f[i].line > 0)
			pb_uint(&line, 2, (uint64_t)f[i].line);
		pb_bytes(&pb->m, 4, line.p, line.len);
	}
	buf_free(&line);
	pb_bytes(out, 4, pb->m.p, pb->m.len);
}

/* gzip (not zlib) framing of in, as net/http/pprof writes; 0 ok. */
static int
pb_gzip(const struct buf *in, struct buf *out)
{
	z_stream z;
	uLong bound;
	int rc;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return (-1);
	bound = deflateBound(&z, (uLong)in->len) + 32;
	buf_need(out, bound);
	z.next_in = (Bytef *)in->p;
	z.avail_in = (uInt)in->len;
	z.next_out = (Bytef *)out->p + out->len;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END) {
		out->len += z.total_out;
		out->p[out->len] = '\0';	/* buf_need's promise */
	}
	(void)deflateEnd(&z);
	return (rc == Z_STREAM_END ? 0 : -1);
}

int
prf_pb_finish(struct prf_pb *pb, const char *maps, int gzip, struct buf *out)
{
	struct pb_map *mp = imp_calloc(PB_MAX_MAPS, sizeof *mp);
	struct pb_tab fn = { NULL, NULL, 0, 0 };
	struct buf b, funcs;
	int nmaps, i, rc = 0;
	size_t k;

	buf_init(&b);
	buf_init(&funcs);
	nmaps = pb_maps(maps, mp, PB_MAX_MAPS);
	for (i = 0; i < pb->ntypes; i++) {
		pb->m.len = 0;
		pb_uint(&pb->m, 1, pb->type[i][0]);
		pb_uint(&pb->m, 2, pb->type[i][1]);
		pb_bytes(&b, 1, pb->m.p, pb->m.len);
	}
	if (pb->samples.len > 0)
		buf_add(&b, pb->samples.p, pb->samples.len);
	for (i = 0; i < nmaps; i++) {
		pb->m.len = 0;
		pb_uint(&pb->m, 1, (uint64_t)i + 1);
		pb_uint(&pb->m, 2, mp[i].start);
		pb_uint(&pb->m, 3, mp[i].limit);
		pb_uint(&pb->m, 4, mp[i].offset);
		pb_uint(&pb->m, 5, pb_str(pb, mp[i].file, mp[i].flen));
		/* named here: pprof must not symbolize it again */
		pb_uint(&pb->m, 7, 1);
		pb_uint(&pb->m, 8, 1);
		pb_uint(&pb->m, 9, 1);
		pb_uint(&pb->m, 10, 1);
		pb_bytes(&b, 3, pb->m.p, pb->m.len);
	}
	for (k = 0; k < pb->locs.cap; k++)
		if (pb->locs.key[k] != 0)
			pb_location(pb, pb->locs.id[k], pb->locs.key[k],
			    pb_map_of(mp, nmaps, pb->locs.key[k]), &fn, &funcs, &b);
	if (funcs.len > 0)
		buf_add(&b, funcs.p, funcs.len);
	if (pb->time_ns > 0)
		pb_uint(&b, 9, (uint64_t)pb->time_ns);
	if (pb->duration_ns > 0)
		pb_uint(&b, 10, (uint64_t)pb->duration_ns);
	if (pb->period_type[0] != 0) {
		pb->m.len = 0;
		pb_uint(&pb->m, 1, pb->period_type[0]);
		pb_uint(&pb->m, 2, pb->period_type[1]);
		pb_bytes(&b, 11, pb->m.p, pb->m.len);
		pb_uint(&b, 12, (uint64_t)pb->period);
	}
	if (pb->default_type != 0)
		pb_uint(&b, 14, pb->default_type);
	/* the strings last: everything above adds to them */
	for (k = 0; k < pb->nstr; k++)
		pb_bytes(&b, 6, pb->str[k], pb->slen[k]);
	if (!gzip)
		buf_add(out, b.p, b.len);
	else
		rc = pb_gzip(&b, out);
	buf_free(&b);
	buf_free(&funcs);
	pb_tab_free(&fn);
	pb_tab_free(&pb->locs);
	pb_tab_free(&pb->strs);
	buf_free(&pb->samples);
	buf_free(&pb->m);
	imp_free(pb->str);
	imp_free(pb->slen);
	imp_free(pb);
	imp_free(mp);
	return (rc);
}

/* ---- the legacy texts as profile.proto -------------------------------------- */

/* pprof's unsampling of a heap_v2 pair (count, bytes) taken every rate bytes */
static void
pb_unsample(double *count, double *bytes, double rate)
{
	double avg, scale;

	if (*count <= 0 || *bytes <= 0 || rate <= 1)
		return;
	avg = *bytes / *count;
	scale = 1 / (1 - exp(-avg / rate));
	*count *= scale;
	*bytes *= scale;
}

/* The addresses after '@' on [p, nl) into a, each moved back by one. */
static int
pb_stack(const char *p, const char *nl, uint64_t *a, int max)
{
	const char *at = memchr(p, '@', (size_t)(nl - p));
	int n = 0;

	if (at == NULL)
		return (-1);
	for (at++; at < nl && n < max; ) {
		char *end;
		unsigned long long v = strtoull(at, &end, 16);

		if (end == at)
			break;
		at = end;
		/* return addresses: back into the call, as pprof's legacy
		 * readers do */
		if (v > 0)
			a[n++] = v - 1;
	}
	return (n);
}

#define PB_MAX_DEPTH	256

int
prf_heap_pb(const char *text, const char *default_type, struct buf *out)
{
	static const char sentinel[] = "MAPPED_LIBRARIES:";
	unsigned long long rate = 0;
	struct prf_pb *pb;
	uint64_t a[PB_MAX_DEPTH];
	const char *p, *mp;
	int i, n;

	if (sscanf(text, "heap profile: %*u: %*u [%*u: %*u] @ heap_v2/%llu",
	    &rate) != 1)
		return (-1);
	pb = prf_pb_new();
	prf_pb_sample_type(pb, "alloc_objects", "count");
	prf_pb_sample_type(pb, "alloc_space", "bytes");
	prf_pb_sample_type(pb, "inuse_objects", "count");
	prf_pb_sample_type(pb, "inuse_space", "bytes");
	prf_pb_period(pb, "space", "bytes", (int64_t)rate);
	prf_pb_default_type(pb, default_type);
	mp = strstr(text, sentinel);
	for (p = strchr(text, '\n'); p != NULL && *p == '\n' && *++p != '\0' &&
	    (mp == NULL || p < mp); ) {
		unsigned long long v[4];
		double d[4];
		int64_t val[4];
		const char *nl = strchr(p, '\n');

		if (nl == NULL)
			nl = p + strlen(p);
		if (sscanf(p, " %llu: %llu [%llu: %llu] @", &v[0], &v[1], &v[2],
		    &v[3]) != 4 || (n = pb_stack(p, nl, a, PB_MAX_DEPTH)) < 0) {
			p = nl;
			continue;
		}
		for (i = 0; i < 4; i++)
			d[i] = (double)v[i];
		pb_unsample(&d[0], &d[1], (double)rate);
		pb_unsample(&d[2], &d[3], (double)rate);
		/* sample types in order: alloc_objects, alloc_space, inuse_* */
		val[0] = llround(d[2]);
		val[1] = llround(d[3]);
		val[2] = llround(d[0]);
		val[3] = llround(d[1]);
		prf_pb_sample(pb, a, n, val, NULL, 0);
		p = nl;
	}
	return (prf_pb_finish(pb, mp != NULL ? mp + sizeof sentinel - 1 : NULL,
	    1, out));
}

int
prf_cont_pb(const char *text, struct buf *out)
{
	static const char sentinel[] = "--- Memory map: ---";
	struct prf_pb *pb;
	uint64_t a[PB_MAX_DEPTH];
	const char *p, *mp;
	int n;

	if (strncmp(text, "--- contentionz 1 ---", 21) != 0)
		return (-1);
	pb = prf_pb_new();
	/* Go's names and order for block and mutex */
	prf_pb_sample_type(pb, "contentions", "count");
	prf_pb_sample_type(pb, "delay", "nanoseconds");
	prf_pb_period(pb, "contentions", "count", 1);
	mp = strstr(text, sentinel);
	for (p = text; p != NULL && *p != '\0' && (mp == NULL || p < mp); ) {
		unsigned long long delay, count;
		int64_t val[2];
		const char *nl = strchr(p, '\n');

		if (nl == NULL)
			nl = p + strlen(p);
		/* the delay before the count in the legacy line */
		if (sscanf(p, "%llu %llu @", &delay, &count) == 2 &&
		    (n = pb_stack(p, nl, a, PB_MAX_DEPTH)) >= 0) {
			val[0] = (int64_t)count;
			val[1] = (int64_t)delay;
			prf_pb_sample(pb, a, n, val, NULL, 0);
		}
		p = *nl != '\0' ? nl + 1 : nl;
	}
	return (prf_pb_finish(pb, mp != NULL ? mp + sizeof sentinel - 1 : NULL,
	    1, out));
}
