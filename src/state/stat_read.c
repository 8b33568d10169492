/*
 * impcore - counters, reader side: sums over every process slot's block.
 *
 * Any process, impctl included (read-only mappings work): blocks are read
 * with CMM_LOAD_SHARED, a block is counted only when its magic is set.
 */
#include "config.h"

#include <string.h>
#include <urcu/system.h>

#include "lib/stat.h"
#include "state/shm.h"
#include "state/stat_read.h"

uint64_t
stat_sum(const struct shm *shm, enum stat_id id)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < SHM_NPROC; i++) {
		struct stat_block *b = shm_proc_stats(shm, i);
		if (b == NULL || b->magic != STAT_BLOCK_MAGIC)
			continue;
		s += CMM_LOAD_SHARED(b->c[id]);
	}
	return (s);
}

void
stat_sum_all(const struct shm *shm, uint64_t out[STAT__N])
{
	int i, j;

	memset(out, 0, sizeof(uint64_t) * STAT__N);
	for (i = 0; i < SHM_NPROC; i++) {
		struct stat_block *b = shm_proc_stats(shm, i);
		if (b == NULL || b->magic != STAT_BLOCK_MAGIC)
			continue;
		for (j = 0; j < STAT__N; j++)
			out[j] += CMM_LOAD_SHARED(b->c[j]);
	}
}

uint64_t
stat_hist_total(const struct shm *shm, enum stat_hist h)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < SHM_NPROC; i++) {
		struct stat_block *b = shm_proc_stats(shm, i);
		if (b == NULL || b->magic != STAT_BLOCK_MAGIC)
			continue;
		s += CMM_LOAD_SHARED(b->hsum[h]);
	}
	return (s);
}

void
stat_hist_sum(const struct shm *shm, enum stat_hist h,
    uint64_t out[STAT_HIST_BUCKETS])
{
	int i, j;

	memset(out, 0, sizeof(uint64_t) * STAT_HIST_BUCKETS);
	for (i = 0; i < SHM_NPROC; i++) {
		struct stat_block *b = shm_proc_stats(shm, i);
		if (b == NULL || b->magic != STAT_BLOCK_MAGIC)
			continue;
		for (j = 0; j < STAT_HIST_BUCKETS; j++)
			out[j] += CMM_LOAD_SHARED(b->h[h][j]);
	}
}
