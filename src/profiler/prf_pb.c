/*
 * impcore - a heap profile in pprof's protobuf format (profile.proto), for
 * /debug/pprof/allocs: the legacy heap_v2 text cannot say which sample
 * type a viewer opens first, and pprof opens a legacy heap as
 * inuse_space; Go's allocs opens as alloc_space (default_sample_type).
 *
 * Input is the merged legacy text prf_heap_done builds (header, one line
 * per stack, MAPPED_LIBRARIES: and /proc/self/maps).  Values are unsampled
 * as pprof does for heap_v2 (x / (1 - exp(-avg / rate)) per pair), return
 * addresses are moved back into their call (addr - 1) as pprof's legacy
 * reader does, and executable mappings with a file name go into the
 * mapping table, so pprof symbolizes the locations exactly as before.
 * No function table: pprof names addresses from the binary's DWARF and
 * /debug/pprof/symbol, as for the legacy formats.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
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

/* ---- the string table --------------------------------------------------- */

#define PB_MAX_STRINGS	512

struct pb_strings {
	const char	*s[PB_MAX_STRINGS];
	size_t		len[PB_MAX_STRINGS];
	int		n;
};

/* Index of s (of len bytes) in the table, added when new; 0 ("") if full. */
static uint64_t
pb_str(struct pb_strings *t, const char *s, size_t len)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->len[i] == len && memcmp(t->s[i], s, len) == 0)
			return ((uint64_t)i);
	if (t->n == PB_MAX_STRINGS)
		return (0);
	t->s[t->n] = s;
	t->len[t->n] = len;
	return ((uint64_t)t->n++);
}

static void
pb_value_type(struct buf *out, int field, struct pb_strings *t,
    const char *type, const char *unit)
{
	struct buf m;

	buf_init(&m);
	pb_uint(&m, 1, pb_str(t, type, strlen(type)));
	pb_uint(&m, 2, pb_str(t, unit, strlen(unit)));
	pb_bytes(out, field, m.p, m.len);
	buf_free(&m);
}

/* ---- locations: one per distinct address, found by a small hash ---------- */

struct pb_locs {
	uint64_t	*addr;		/* open addressing, 0 = empty */
	uint32_t	*id;
	size_t		cap, n;
};

static uint32_t
pb_loc(struct pb_locs *l, uint64_t addr)
{
	size_t i;

	if (2 * (l->n + 1) > l->cap) {
		struct pb_locs g = { NULL, NULL, l->cap ? 2 * l->cap : 1024, 0 };
		size_t k;

		g.addr = imp_calloc(g.cap, sizeof *g.addr);
		g.id = imp_calloc(g.cap, sizeof *g.id);
		for (k = 0; k < l->cap; k++)
			if (l->addr[k] != 0) {
				for (i = (l->addr[k] * 0x9e3779b97f4a7c15ull) >> 7;
				    g.addr[i % g.cap] != 0; i++)
					;
				g.addr[i % g.cap] = l->addr[k];
				g.id[i % g.cap] = l->id[k];
			}
		g.n = l->n;
		imp_free(l->addr);
		imp_free(l->id);
		*l = g;
	}
	for (i = (addr * 0x9e3779b97f4a7c15ull) >> 7; l->addr[i % l->cap] != 0;
	    i++)
		if (l->addr[i % l->cap] == addr)
			return (l->id[i % l->cap]);
	l->addr[i % l->cap] = addr;
	l->id[i % l->cap] = (uint32_t)++l->n;
	return ((uint32_t)l->n);
}

/* ---- the mappings ---------------------------------------------------------- */

#define PB_MAX_MAPS	256

struct pb_map {
	uint64_t	start, limit, offset;
	const char	*file;
	size_t		flen;
};

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

int
prf_heap_pb(const char *text, const char *default_type, struct buf *out)
{
	static const char sentinel[] = "MAPPED_LIBRARIES:";
	struct pb_strings st;
	struct pb_map *maps;
	struct pb_locs locs = { NULL, NULL, 0, 0 };
	struct buf samples, m;
	unsigned long long rate = 0;
	const char *p, *mp;
	int nmaps, i;
	size_t k;

	if (sscanf(text, "heap profile: %*u: %*u [%*u: %*u] @ heap_v2/%llu",
	    &rate) != 1)
		return (-1);
	memset(&st, 0, sizeof st);
	(void)pb_str(&st, "", 0);
	maps = imp_calloc(PB_MAX_MAPS, sizeof *maps);
	mp = strstr(text, sentinel);
	nmaps = pb_maps(mp != NULL ? mp + sizeof sentinel - 1 : NULL, maps,
	    PB_MAX_MAPS);

	buf_init(&samples);
	buf_init(&m);
	for (p = strchr(text, '\n'); p != NULL && *p == '\n' && *++p != '\0' &&
	    (mp == NULL || p < mp); ) {
		unsigned long long v[4];
		double d[4];
		const char *nl = strchr(p, '\n'), *at;
		struct buf ids, vals;

		if (nl == NULL)
			nl = p + strlen(p);
		if (sscanf(p, " %llu: %llu [%llu: %llu] @", &v[0], &v[1], &v[2],
		    &v[3]) != 4 || (at = memchr(p, '@', (size_t)(nl - p))) == NULL) {
			p = nl;
			continue;
		}
		for (i = 0; i < 4; i++)
			d[i] = (double)v[i];
		pb_unsample(&d[0], &d[1], (double)rate);
		pb_unsample(&d[2], &d[3], (double)rate);
		buf_init(&ids);
		buf_init(&vals);
		for (at++; at < nl; ) {
			char *end;
			unsigned long long a = strtoull(at, &end, 16);

			if (end == at)
				break;
			at = end;
			if (a > 0)
				pb_varint(&ids, pb_loc(&locs, a - 1));
		}
		/* sample types in order: alloc_objects, alloc_space, inuse_* */
		pb_varint(&vals, (uint64_t)llround(d[2]));
		pb_varint(&vals, (uint64_t)llround(d[3]));
		pb_varint(&vals, (uint64_t)llround(d[0]));
		pb_varint(&vals, (uint64_t)llround(d[1]));
		m.len = 0;
		pb_bytes(&m, 1, ids.p, ids.len);	/* packed location_id */
		pb_bytes(&m, 2, vals.p, vals.len);	/* packed value */
		pb_bytes(&samples, 2, m.p, m.len);
		buf_free(&ids);
		buf_free(&vals);
		p = nl;
	}

	pb_value_type(out, 1, &st, "alloc_objects", "count");
	pb_value_type(out, 1, &st, "alloc_space", "bytes");
	pb_value_type(out, 1, &st, "inuse_objects", "count");
	pb_value_type(out, 1, &st, "inuse_space", "bytes");
	if (samples.len > 0)
		buf_add(out, samples.p, samples.len);
	for (i = 0; i < nmaps; i++) {
		m.len = 0;
		pb_uint(&m, 1, (uint64_t)i + 1);
		pb_uint(&m, 2, maps[i].start);
		pb_uint(&m, 3, maps[i].limit);
		pb_uint(&m, 4, maps[i].offset);
		pb_uint(&m, 5, pb_str(&st, maps[i].file, maps[i].flen));
		pb_bytes(out, 3, m.p, m.len);
	}
	for (k = 0; k < locs.cap; k++) {
		uint64_t mid;

		if (locs.addr[k] == 0)
			continue;
		m.len = 0;
		pb_uint(&m, 1, locs.id[k]);
		if ((mid = pb_map_of(maps, nmaps, locs.addr[k])) != 0)
			pb_uint(&m, 2, mid);
		pb_uint(&m, 3, locs.addr[k]);
		pb_bytes(out, 4, m.p, m.len);
	}
	/* the strings last but for what refers to them by index only */
	{
		uint64_t period_type;
		struct buf pt;

		buf_init(&pt);
		pb_uint(&pt, 1, pb_str(&st, "space", 5));
		period_type = pb_str(&st, "bytes", 5);
		pb_uint(&pt, 2, period_type);
		(void)pb_str(&st, default_type, strlen(default_type));
		for (i = 0; i < st.n; i++)
			pb_bytes(out, 6, st.s[i], st.len[i]);
		pb_bytes(out, 11, pt.p, pt.len);
		pb_uint(out, 12, rate);
		pb_uint(out, 14, pb_str(&st, default_type, strlen(default_type)));
		buf_free(&pt);
	}
	buf_free(&m);
	buf_free(&samples);
	imp_free(locs.addr);
	imp_free(locs.id);
	imp_free(maps);
	return (0);
}
