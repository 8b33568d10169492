/*
 * impcore - contention recording for the block and mutex profiles.
 *
 * Call these where a process waits on another one: the result table's
 * robust mutex (mutex profile), retries on a full or empty ring, a webhook
 * waiting for a free delivery slot (block profile).  Each event is kept
 * with the caller's stack in a per-process table that the profiler dumps
 * on request (/debug/pprof/block, /debug/pprof/mutex).  Until the profiler
 * enabled recording (-profile), every call is a load and a branch.
 *
 *	uint64_t t0 = prof_wait_begin();
 *	... wait ...
 *	prof_wait_end(PROF_BLOCK, t0);
 */
#ifndef IMP_PROF_CONT_H
#define IMP_PROF_CONT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

enum prof_cont_kind { PROF_BLOCK = 0, PROF_MUTEX = 1, PROF_CONT__N };

/* Non-zero once the profiler enabled recording in this process. */
extern volatile int prof_cont_on;

/* Record one wait of delay_ns with the caller's stack (skip: extra frames to drop). */
void prof_contention_add(enum prof_cont_kind kind, uint64_t delay_ns, int skip);

/* A start time for prof_wait_end(), or 0 when recording is off. */
static inline uint64_t
prof_wait_begin(void)
{
	struct timespec ts;

	if (!prof_cont_on)
		return (0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1);
}

void prof_wait_end_slow(enum prof_cont_kind kind, uint64_t t0);

/* Record the wait that started at t0 (no-op when t0 is 0). */
static inline void
prof_wait_end(enum prof_cont_kind kind, uint64_t t0)
{
	if (t0 != 0)
		prof_wait_end_slow(kind, t0);
}

/*
 * pthread_mutex_lock() that records in the mutex profile how long the
 * caller waited when the mutex was held by someone else.  Returns what
 * pthread_mutex_lock() returns (EOWNERDEAD included: robust mutexes).
 */
int prof_mutex_lock(pthread_mutex_t *m);

#endif /* IMP_PROF_CONT_H */
