/*
 * impcore - counters, reader side (lib/stat.h is the writer side).
 */
#ifndef IMP_STAT_READ_H
#define IMP_STAT_READ_H

#include <stdint.h>

#include "lib/stat.h"

struct shm;

/*
 * Reader side (any process, impctl included; read-only mappings work).
 * Sums over every process slot that ever had a block.
 */
uint64_t stat_sum(const struct shm *shm, enum stat_id id);
void stat_sum_all(const struct shm *shm, uint64_t out[STAT__N]);
void stat_hist_sum(const struct shm *shm, enum stat_hist h,
    uint64_t out[STAT_HIST_BUCKETS]);
/* The sum of the values recorded in histogram h, all processes. */
uint64_t stat_hist_total(const struct shm *shm, enum stat_hist h);

#endif /* IMP_STAT_READ_H */
