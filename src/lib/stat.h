/*
 * impcore - counters: per-process blocks in the state file (the summing
 * readers are state/stat_read.h).
 *
 * The table is counters.def.  A process gets a block when the master gives
 * it a process slot (shm.h); until then stat_self points to a private block,
 * so counting is always safe.  Only the owning process writes its block
 * (from any of its threads: the writes are atomic adds).
 */
#ifndef IMP_STAT_H
#define IMP_STAT_H

#include <stddef.h>
#include <stdint.h>

enum stat_kind { STAT_COUNTER, STAT_GAUGE };
enum stat_unit { STAT_UNIT_COUNT, STAT_UNIT_BYTES, STAT_UNIT_NS };

enum stat_id {
#define C(name, kind, unit, help)	STAT_##name,
#include "lib/counters.def"
	STAT__N
};

enum stat_hist {
#define H(name, unit, help)		STAT_H_##name,
#include "lib/counters.def"
	STAT_H__N
};

#define STAT_HIST_BUCKETS	48	/* 2^47 ns = 39 hours */
#define STAT_BLOCK_MAGIC	0x53544154u	/* "STAT" */

/*
 * One process's block.  Lives in the state file (one per process slot) and
 * is cache-line aligned there.  Readers load each word with
 * CMM_LOAD_SHARED; a 64-bit aligned word never tears on the platforms we
 * build for.
 */
struct stat_block {
	uint32_t	magic;
	uint32_t	ncounters;	/* STAT__N of the writer */
	uint64_t	c[STAT__N];
	uint64_t	h[STAT_H__N][STAT_HIST_BUCKETS];
	uint64_t	hsum[STAT_H__N];	/* sum of the values (Prometheus _sum) */
};

/* Generated from counters.def. */
extern const char *const	stat_name[STAT__N];
extern const char *const	stat_help[STAT__N];
extern const enum stat_kind	stat_kinds[STAT__N];
extern const enum stat_unit	stat_units[STAT__N];
extern const int		stat_status[STAT__N];	/* CS() rows: the code, else 0 */
extern const char *const	stat_hist_name[STAT_H__N];
extern const char *const	stat_hist_help[STAT_H__N];

/* This process's block (a private one until stat_attach()). */
extern struct stat_block	*stat_self;

/* Initialise a block (the master, for a fresh slot). */
void stat_block_init(struct stat_block *b);
/* Make b this process's block (NULL: back to the private one). */
void stat_attach(struct stat_block *b);
/* Zero the gauges of a dead process's block (the master, after reaping). */
void stat_gauges_clear(struct stat_block *b);

/*
 * Writer side: one process writes its block, but a worker has two threads
 * (HTTP and fitting) and libcurl resolves names on a thread of its own, so
 * adds are atomic.  Relaxed: a counter orders nothing; a lock'd add costs
 * a few ns, uncontended.
 */
static inline void
stat_add(enum stat_id id, uint64_t v)
{
	__atomic_fetch_add(&stat_self->c[id], v, __ATOMIC_RELAXED);
}
static inline void
stat_sub(enum stat_id id, uint64_t v)
{
	__atomic_fetch_sub(&stat_self->c[id], v, __ATOMIC_RELAXED);
}
static inline void
stat_set(enum stat_id id, uint64_t v)
{
	__atomic_store_n(&stat_self->c[id], v, __ATOMIC_RELAXED);
}
#define STAT_INC(name)		stat_add(STAT_##name, 1)
#define STAT_ADD(name, v)	stat_add(STAT_##name, (v))

/* The counter of API answers with HTTP status (http_status_other if none). */
enum stat_id stat_status_id(int status);
#define STAT_STATUS(status)	stat_add(stat_status_id(status), 1)

/* Bucket of value v (log2), and record v in histogram h of this process. */
int stat_hist_bucket(uint64_t v);
void stat_hist_add(enum stat_hist h, uint64_t v);

/* Value below which a fraction q (0..1) of the samples fall; 0 if none. */
double stat_hist_quantile(const uint64_t b[STAT_HIST_BUCKETS], double q);

/*
 * Prometheus: "impcore_<name>" + "_total" for counters; ns counters become
 * "_seconds_total" (scale 1e-9), bytes counters "_bytes_total".  Returns
 * the length written (like snprintf).  stat_prom_scale() is the factor to
 * apply to the raw value.
 */
int stat_prom_name(enum stat_id id, char *buf, size_t len);
double stat_prom_scale(enum stat_id id);
int stat_hist_prom_name(enum stat_hist h, char *buf, size_t len);	/* "impcore_fit_time_seconds" */
const char *stat_kind_name(enum stat_kind k);	/* "counter" | "gauge" */
const char *stat_unit_name(enum stat_unit u);	/* "count" | "bytes" | "ns" */

#endif /* IMP_STAT_H */
