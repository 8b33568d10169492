/*
 * impcore - the result table's data arena: a bitmap of 64-byte units in
 * the state file, allocated first fit from a rotating cursor, under the
 * mutex.
 */
#include "config.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/log.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm_priv.h"

/*==================================================================
 * Arena: a bitmap of 64-byte units, first fit from a rotating cursor.
 */

int
rtab_bm_get(const struct shm *s, uint32_t u)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return ((s->bitmap[u >> 6] >> (u & 63)) & 1);
}

void
rtab_bm_run(struct shm *s, uint32_t u, uint32_t k, int set)
{
	uint32_t i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = u; i < u + k; i++) {
		if (set)
			s->bitmap[i >> 6] |= 1ull << (i & 63);
		else
			s->bitmap[i >> 6] &= ~(1ull << (i & 63));
	}
	if (set)
		s->rt->arena_free -= k;
	else
		s->rt->arena_free += k;
}

uint32_t
rtab_arena_alloc_locked(struct shm *s, uint32_t k)
{
	uint32_t total = s->head->arena_units, u, start = 0, run = 0;
	uint64_t scanned = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (k == 0 || k > s->rt->arena_free)
		return (RTAB_NONE);
	u = s->rt->arena_cursor % total;
	while (scanned < (uint64_t)total + k) {
		if (u >= total) {
			u = 0;
			run = 0;
		}
		if ((u & 63) == 0 && u + 64 <= total) {
			uint64_t w = s->bitmap[u >> 6];
			if (w == ~0ull) {
				run = 0;
				u += 64;
				scanned += 64;
				continue;
			}
			if (w == 0 && run + 64 < k) {
				if (run == 0)
					start = u;
				run += 64;
				u += 64;
				scanned += 64;
				continue;
			}
		}
		if (rtab_bm_get(s, u))
			run = 0;
		else {
			if (run == 0)
				start = u;
			if (++run == k) {
				rtab_bm_run(s, start, k, 1);
				s->rt->arena_cursor = start + k;
				return (start);
			}
		}
		u++;
		scanned++;
	}
	return (RTAB_NONE);
}

void
rtab_arena_free_locked(struct shm *s, uint32_t u, uint32_t k)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (k > 0 && (uint64_t)u + k <= s->head->arena_units)
		rtab_bm_run(s, u, k, 0);
}

void
rtab_arena_random(struct shm *s)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)s->arena, e;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (pg <= 0 || s->arena == NULL)
		return;
	e = a + (uintptr_t)s->head->arena_units * RTAB_UNIT;
	a &= ~((uintptr_t)pg - 1);
	/*
	 * The arena is used front to back (next fit), so every allocation
	 * lands on pages this process never touched until the cursor has
	 * wrapped once (a 2 GB file: a minute under load).  With readahead a
	 * first touch of a fallocated file's page faulted in and zeroed a
	 * large folio: milliseconds of a worker's HTTP thread under the
	 * fault (perf: filemap_fault, page_cache_ra_order, memset; 13% of
	 * its CPU under overload, and /health waited behind it).  Page by
	 * page, a fault zeroes 4 KiB.
	 */
	if (madvise((void *)a, e - a, MADV_RANDOM) < 0)
		log_syserr("madvise(state file arena, MADV_RANDOM)");
}
