/*
 * impcore - heap sampler of one process (mem_hook, mem.h).
 *
 * Like tcmalloc's sampler: each thread counts down the bytes it allocates
 * through imp_* (which the library hooks route jansson, libevent and
 * libcurl through) and records the allocation that crosses zero, with its
 * stack, then draws the next distance from an exponential distribution of
 * mean `rate`.  go tool pprof scales the samples back up (heap_v2/<rate>).
 * Sampled blocks are remembered so their free is counted against their
 * site.  Tables are fixed arrays: the hook never allocates.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "prof/prof.h"
#include "prof/prof_priv.h"

#define HEAP_SITES	4096		/* power of two */
#define HEAP_LIVE	65536		/* power of two: sampled blocks alive */

struct heap_site {
	uint64_t	hash;		/* 0: empty */
	int		depth;
	uintptr_t	pcs[PROF_STACK_DEPTH];
	uint64_t	alloc_objs, alloc_bytes;
	uint64_t	inuse_objs, inuse_bytes;
};

struct heap_live {
	uintptr_t	ptr;		/* 0: empty */
	uint32_t	site;
	uint64_t	size;
};

/*
 * Lockless pre-filter for the free hook: a bitmap over buckets of address
 * hashes, a bit set while a sampled block of that bucket is alive.  Nearly
 * every free is of a block that was never sampled; its bit is almost
 * always clear, so that free costs one load (the bitmap is 8 KB: it stays
 * in cache) and takes no lock.  The bits change only under heap_lock,
 * exactly when a block enters or leaves heap_live (heap_filter_n counts
 * the blocks of each bucket), so a clear bit means "not in heap_live".  A
 * sampled block's bit was set before imp_* returned it, so whoever frees
 * it (any thread: it got the pointer through something that orders the
 * two) sees the bit.  16-bit counts suffice: heap_live never holds more
 * than HEAP_LIVE / 4 * 3 blocks.
 */
#define HEAP_FILTER_BITS 16
#define HEAP_FILTER	(1u << HEAP_FILTER_BITS)

static struct heap_site	heap_sites[HEAP_SITES];
static struct heap_live	heap_live[HEAP_LIVE];
static uint64_t		heap_filter[HEAP_FILTER / 64];	/* read without the lock */
static uint16_t		heap_filter_n[HEAP_FILTER];	/* under heap_lock */
static uint32_t		heap_nsites, heap_nlive;	/* under heap_lock */
static uint64_t		heap_dropped;
static int		heap_lock;
static uint64_t		heap_rate;

static __thread int64_t		heap_left;	/* bytes until the next sample */
static __thread uint64_t	heap_rng;
static __thread int		heap_armed;

/* Code ranges of the imp_* entry points: frames inside them are dropped,
 * so a sample's leaf is the function that asked for memory (as in Go). */
#define HEAP_NRANGES	8
static uintptr_t	heap_range_lo[HEAP_NRANGES], heap_range_hi[HEAP_NRANGES];
static int		heap_nranges;
static void		*heap_exe_base;	/* our executable's load address */

static uint64_t
heap_next(void)
{
	double u;

	if (heap_rng == 0)
		heap_rng = (prof_real_ns() ^ (uint64_t)(uintptr_t)&heap_left) | 1;
	/* xorshift64* */
	heap_rng ^= heap_rng >> 12;
	heap_rng ^= heap_rng << 25;
	heap_rng ^= heap_rng >> 27;
	u = (double)((heap_rng * 2685821657736338717ull) >> 11) /
	    9007199254740992.0;
	if (u <= 0)
		u = 1e-12;
	return ((uint64_t)(-log(u) * (double)heap_rate) + 1);
}

static uint32_t
live_slot(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull;

	return ((uint32_t)(h >> 40) & (HEAP_LIVE - 1));
}

_Static_assert(HEAP_LIVE / 4 * 3 <= UINT16_MAX, "heap_filter_n counters overflow");

/* The filter bucket of p: the hash's top bits, the best mixed ones. */
static inline uint32_t
filter_slot(uintptr_t p)
{
	return ((uint32_t)(((uint64_t)p * 0x9e3779b97f4a7c15ull) >>
	    (64 - HEAP_FILTER_BITS)));
}

/* Might p be in heap_live?  No lock needed. */
static inline int
filter_maybe(uintptr_t p)
{
	uint32_t i = filter_slot(p);

	return ((int)((__atomic_load_n(&heap_filter[i / 64], __ATOMIC_RELAXED) >>
	    (i % 64)) & 1));
}

/* Caller holds heap_lock.  d: +1 (p enters heap_live) or -1 (leaves it). */
static void
filter_add(uintptr_t p, int d)
{
	uint32_t i = filter_slot(p);
	uint64_t w = heap_filter[i / 64], bit = 1ull << (i % 64);

	heap_filter_n[i] = (uint16_t)(heap_filter_n[i] + d);
	w = heap_filter_n[i] != 0 ? w | bit : w & ~bit;
	/* whole-word atomic store: the hook reads the word without the lock */
	__atomic_store_n(&heap_filter[i / 64], w, __ATOMIC_RELAXED);
}

/* Caller holds heap_lock.  Index of p in heap_live, or -1. */
static int
live_find(uintptr_t p)
{
	uint32_t i = live_slot(p);

	while (heap_live[i].ptr != 0) {
		if (heap_live[i].ptr == p)
			return ((int)i);
		i = (i + 1) & (HEAP_LIVE - 1);
	}
	return (-1);
}

/* Caller holds heap_lock.  Linear probing with backward-shift deletion:
 * no tombstones, so lookups stay short however long the process runs. */
static void
live_delete(uint32_t i)
{
	uint32_t j = i, k;

	filter_add(heap_live[i].ptr, -1);
	heap_live[i].ptr = 0;
	for (;;) {
		j = (j + 1) & (HEAP_LIVE - 1);
		if (heap_live[j].ptr == 0)
			break;
		k = live_slot(heap_live[j].ptr);
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		heap_live[i] = heap_live[j];
		heap_live[j].ptr = 0;
		i = j;
	}
	heap_nlive--;
}

/* Caller holds heap_lock.  Site of this stack, or -1 when the table is full. */
static int
site_get(const uintptr_t *pcs, int n)
{
	uint64_t h = prof_stack_hash(pcs, n, 0) | 1;
	uint32_t i = (uint32_t)h & (HEAP_SITES - 1);
	struct heap_site *s;

	for (;;) {
		s = &heap_sites[i];
		if (s->hash == 0)
			break;
		if (s->hash == h && s->depth == n &&
		    memcmp(s->pcs, pcs, sizeof(uintptr_t) * (size_t)n) == 0)
			return ((int)i);
		i = (i + 1) & (HEAP_SITES - 1);
	}
	/* keep a quarter free so probes stay short */
	if (heap_nsites >= HEAP_SITES / 4 * 3)
		return (-1);
	s->hash = h;
	s->depth = n;
	memcpy(s->pcs, pcs, sizeof(uintptr_t) * (size_t)n);
	heap_nsites++;
	return ((int)i);
}

static int
heap_in_allocator(uintptr_t pc)
{
	int i;

	for (i = 0; i < heap_nranges; i++)
		if (pc >= heap_range_lo[i] && pc < heap_range_hi[i])
			return (1);
	return (0);
}

/*
 * Is pc in a library function nobody can name?  dladdr() takes the loader's
 * lock and walks symbol tables, so verdicts are cached: a direct-mapped
 * table of (pc << 1 | verdict) words, racy between threads but every word
 * is whole, so the worst case is asking dladdr again.
 */
#define HEAP_PCCACHE	1024	/* power of two */
static uint64_t		heap_pccache[HEAP_PCCACHE];

static int
heap_unnamed(uintptr_t pc)
{
	uint64_t *slot = &heap_pccache[(((uint64_t)pc * 0x9e3779b97f4a7c15ull) >>
	    32) & (HEAP_PCCACHE - 1)];
	uint64_t v = __atomic_load_n(slot, __ATOMIC_RELAXED);
	Dl_info info;
	int unnamed;

	if (v != 0 && (v >> 1) == (uint64_t)pc)
		return ((int)(v & 1));
	unnamed = dladdr((void *)(pc - 1), &info) != 0 &&
	    info.dli_sname == NULL && info.dli_fbase != heap_exe_base;
	__atomic_store_n(slot, ((uint64_t)pc << 1) | (uint64_t)unnamed,
	    __ATOMIC_RELAXED);
	return (unnamed);
}

static void
heap_sample(void *p, size_t size)
{
	uintptr_t pcs[PROF_STACK_DEPTH + 8];
	int n, i, leaf = 0, site;

	n = prof_backtrace(pcs, PROF_STACK_DEPTH + 8, 1);
	/* drop the allocator's own frames: the deepest imp_* frame near the top */
	for (i = 0; i < n && i < 8; i++)
		if (heap_in_allocator(pcs[i]))
			leaf = i + 1;
	if (heap_nranges == 0)
		leaf = n > 2 ? 2 : 0;	/* no symbols: hook caller + imp_malloc */
	/*
	 * A library's own allocation wrapper (jansson's jsonp_malloc, ...) is
	 * not exported, so nobody can name it: start at the first function
	 * that has a name, as Go's profiles start at the caller of new.
	 */
	for (i = 0; i < 4 && leaf < n && heap_unnamed(pcs[leaf]); i++)
		leaf++;
	n -= leaf;
	if (n > PROF_STACK_DEPTH)
		n = PROF_STACK_DEPTH;
	if (n <= 0)
		return;
	prof_spin_lock(&heap_lock);
	site = site_get(pcs + leaf, n);
	if (site < 0) {
		heap_dropped++;
		prof_spin_unlock(&heap_lock);
		return;
	}
	heap_sites[site].alloc_objs++;
	heap_sites[site].alloc_bytes += size;
	/* a full live table only loses in-use accounting, never allocation totals */
	if (heap_nlive < HEAP_LIVE / 4 * 3) {
		uint32_t j = live_slot((uintptr_t)p);

		while (heap_live[j].ptr != 0)
			j = (j + 1) & (HEAP_LIVE - 1);
		heap_live[j].ptr = (uintptr_t)p;
		heap_live[j].site = (uint32_t)site;
		heap_live[j].size = size;
		filter_add((uintptr_t)p, 1);
		heap_nlive++;
		heap_sites[site].inuse_objs++;
		heap_sites[site].inuse_bytes += size;
	} else
		heap_dropped++;
	prof_spin_unlock(&heap_lock);
}

/* A free of a block the filter may know: drop it from heap_live if there. */
static void __attribute__((noinline))
heap_free_slow(void *p)
{
	int i;

	prof_spin_lock(&heap_lock);
	i = live_find((uintptr_t)p);
	if (i >= 0) {
		struct heap_site *s = &heap_sites[heap_live[i].site];

		s->inuse_objs--;
		s->inuse_bytes -= heap_live[i].size;
		live_delete((uint32_t)i);
	}
	prof_spin_unlock(&heap_lock);
}

/* The countdown crossed zero (or starts): draw the next one, maybe sample. */
static void __attribute__((noinline))
heap_alloc_slow(void *p, size_t size)
{
	if (!heap_armed) {
		heap_armed = 1;
		heap_left = (int64_t)heap_next() - (int64_t)size;
		if (heap_left > 0)
			return;
	}
	heap_left = (int64_t)heap_next();
	heap_sample(p, size);
}

/*
 * mem_hook: after each allocation, before each free.  It runs on every
 * imp_* call of a -profile server, so the common cases (a free of a block
 * never sampled, an allocation that does not reach the next sample) are
 * kept small enough to need no stack frame; the rest is out of line.
 */
static void
prof_heap_hook(void *p, size_t size, int is_free)
{
	if (is_free) {
		/* not sampled (nearly always): no lock, no table walk */
		if (filter_maybe((uintptr_t)p))
			heap_free_slow(p);
		return;
	}
	/* heap_left is 0 in a thread not armed yet: its first call arms it */
	heap_left -= (int64_t)size;
	if (heap_left <= 0)
		heap_alloc_slow(p, size);
}

static void
heap_add_range(void *fn)
{
	const ElfW(Sym) *sym;
	Dl_info info;
	void *symp = NULL;

	if (heap_nranges >= HEAP_NRANGES)
		return;
	if (dladdr1(fn, &info, &symp, RTLD_DL_SYMENT) == 0 ||
	    (sym = symp) == NULL || info.dli_saddr != fn || sym->st_size == 0)
		return;
	heap_range_lo[heap_nranges] = (uintptr_t)fn;
	heap_range_hi[heap_nranges] = (uintptr_t)fn + sym->st_size;
	heap_nranges++;
}

/* Called by prof_enable(): start sampling in this process. */
void
prof_heap_start(uint64_t rate)
{
	if (heap_rate != 0)
		return;
	heap_add_range((void *)imp_malloc);
	heap_add_range((void *)imp_calloc);
	heap_add_range((void *)imp_realloc);
	heap_add_range((void *)imp_strdup);
	heap_add_range((void *)imp_strndup);
	heap_add_range((void *)imp_asprintf);
	{
		Dl_info info;

		if (dladdr((void *)prof_heap_start, &info) != 0)
			heap_exe_base = info.dli_fbase;
	}
	heap_rate = rate;
	mem_hook = prof_heap_hook;
}

uint64_t
prof_heap_rate(void)
{
	return (heap_rate);
}

int
prof_heap_dump(const char *path, uint64_t *nrec)
{
	struct heap_site *copy;
	struct prof_out o;
	uint64_t t[4] = { 0, 0, 0, 0 };
	size_t i, n = 0;

	*nrec = 0;
	/* copy under the lock, format outside it: frees keep flowing */
	copy = malloc(sizeof heap_sites);
	if (copy == NULL)
		return (ENOMEM);
	prof_spin_lock(&heap_lock);
	for (i = 0; i < HEAP_SITES; i++)
		if (heap_sites[i].hash != 0 && heap_sites[i].alloc_objs != 0)
			copy[n++] = heap_sites[i];
	prof_spin_unlock(&heap_lock);
	if (prof_out_open(&o, path) != 0) {
		free(copy);
		return (o.err);
	}
	for (i = 0; i < n; i++) {
		t[0] += copy[i].inuse_objs;
		t[1] += copy[i].inuse_bytes;
		t[2] += copy[i].alloc_objs;
		t[3] += copy[i].alloc_bytes;
	}
	prof_out_printf(&o, "total %llu %llu %llu %llu %llu\n",
	    (unsigned long long)t[0], (unsigned long long)t[1],
	    (unsigned long long)t[2], (unsigned long long)t[3],
	    (unsigned long long)heap_rate);
	for (i = 0; i < n; i++) {
		prof_out_printf(&o, "%llu: %llu [%llu: %llu] @",
		    (unsigned long long)copy[i].inuse_objs,
		    (unsigned long long)copy[i].inuse_bytes,
		    (unsigned long long)copy[i].alloc_objs,
		    (unsigned long long)copy[i].alloc_bytes);
		prof_out_stack(&o, copy[i].pcs, copy[i].depth);
		prof_out_printf(&o, "\n");
	}
	free(copy);
	*nrec = n;
	return (prof_out_close(&o));
}
