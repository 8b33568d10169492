/*
 * impcore - contention tables of one process (block and mutex profiles).
 *
 * Every recorded wait is added to its site (kind + caller's stack): a
 * count and the total delay in ns.  Sampling period 1: waits between
 * processes are rare enough to keep them all.  Fixed table, spin lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prof/prof.h"
#include "prof/prof_cont.h"
#include "prof/prof_priv.h"

#define CONT_SITES	1024	/* per kind; power of two */

struct cont_site {
	uint64_t	hash;		/* 0: empty */
	int		depth;
	uintptr_t	pcs[PROF_STACK_DEPTH];
	uint64_t	count, delay_ns;
};

volatile int		prof_cont_on;
static struct cont_site	cont_sites[PROF_CONT__N][CONT_SITES];
static uint32_t		cont_nsites[PROF_CONT__N];
static uint64_t		cont_dropped;
static uint64_t		cont_since;	/* REALTIME ns recording started */
static int		cont_lock;

void
prof_cont_start(void)
{
	if (prof_cont_on)
		return;
	cont_since = prof_real_ns();
	prof_cont_on = 1;
}

void
prof_contention_add(enum prof_cont_kind kind, uint64_t delay_ns, int skip)
{
	uintptr_t pcs[PROF_STACK_DEPTH];
	struct cont_site *s;
	uint64_t h;
	uint32_t i;
	int n;

	if (!prof_cont_on || (unsigned)kind >= PROF_CONT__N)
		return;
	n = prof_backtrace(pcs, PROF_STACK_DEPTH, skip + 1);
	if (n <= 0)
		return;
	h = prof_stack_hash(pcs, n, (uint64_t)kind) | 1;
	prof_spin_lock(&cont_lock);
	for (i = (uint32_t)h & (CONT_SITES - 1);; i = (i + 1) & (CONT_SITES - 1)) {
		s = &cont_sites[kind][i];
		if (s->hash == 0) {
			if (cont_nsites[kind] >= CONT_SITES / 4 * 3) {
				cont_dropped++;
				prof_spin_unlock(&cont_lock);
				return;
			}
			s->hash = h;
			s->depth = n;
			memcpy(s->pcs, pcs, sizeof(uintptr_t) * (size_t)n);
			cont_nsites[kind]++;
			break;
		}
		if (s->hash == h && s->depth == n &&
		    memcmp(s->pcs, pcs, sizeof(uintptr_t) * (size_t)n) == 0)
			break;
	}
	s->count++;
	s->delay_ns += delay_ns;
	prof_spin_unlock(&cont_lock);
}

void __attribute__((noinline))
prof_wait_end_slow(enum prof_cont_kind kind, uint64_t t0)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
	/* skip 1: this function; the leaf is the function that waited */
	prof_contention_add(kind, now > t0 ? now - t0 : 0, 1);
}

int __attribute__((noinline))
prof_mutex_lock(pthread_mutex_t *m)
{
	struct timespec a, b;
	int rc;

	rc = pthread_mutex_trylock(m);
	if (rc != EBUSY)
		return (rc);	/* 0, EOWNERDEAD, ENOTRECOVERABLE ...: uncontended */
	if (!prof_cont_on)
		return (pthread_mutex_lock(m));
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = pthread_mutex_lock(m);
	clock_gettime(CLOCK_MONOTONIC, &b);
	prof_contention_add(PROF_MUTEX,
	    (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
	    (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec, 1);
	return (rc);
}

int
prof_cont_dump(int kind, const char *path, uint64_t *nrec)
{
	struct cont_site *copy;
	struct prof_out o;
	size_t i, n = 0;

	*nrec = 0;
	if (kind < 0 || kind >= PROF_CONT__N)
		return (EINVAL);
	copy = malloc(sizeof cont_sites[0]);
	if (copy == NULL)
		return (ENOMEM);
	prof_spin_lock(&cont_lock);
	for (i = 0; i < CONT_SITES; i++)
		if (cont_sites[kind][i].hash != 0)
			copy[n++] = cont_sites[kind][i];
	prof_spin_unlock(&cont_lock);
	if (prof_out_open(&o, path) != 0) {
		free(copy);
		return (o.err);
	}
	prof_out_printf(&o, "since %llu\n", (unsigned long long)cont_since);
	for (i = 0; i < n; i++) {
		/* legacy contentionz: delay before count */
		prof_out_printf(&o, "%llu %llu @",
		    (unsigned long long)copy[i].delay_ns,
		    (unsigned long long)copy[i].count);
		prof_out_stack(&o, copy[i].pcs, copy[i].depth);
		prof_out_printf(&o, "\n");
	}
	free(copy);
	*nrec = n;
	return (prof_out_close(&o));
}
