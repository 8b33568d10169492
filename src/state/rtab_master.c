/*
 * impcore - the result table's upkeep by the master: leases and deliveries
 * of a dead process given back (rtab_reclaim_pid), and once a second the
 * lost ring entries pushed again, the active count corrected and old
 * results evicted (rtab_maintain).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"

/*==================================================================
 * Master
 */

int
rtab_reclaim_pid(struct shm *s, pid_t dead, int blame, struct rtab_due *due)
{
	uint32_t i;
	int n = 0, nwh = 0;
	uint64_t now = tim_real();

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *r = &s->recs[i];
		uint64_t w = uatomic_read(&r->word), wh;

		if (W_STATE(w) == RTAB_RUNNING && W_PID(w) == dead) {
			uint32_t bi = r->batch;
			int bmode = batch_whmode(s, bi);

			if (blame && rtab_rec_poison(s, i, w)) {
				STAT_INC(jobs_poisoned);
				nwh += rtab_rec_wh_complete(s, i, now);
				nwh += rtab_batch_rec_final(s, bi, bmode, now);
			} else {
				r->t_queued = now;
				if (rec_cas(r, w, W_NEXT(w, RTAB_QUEUED, 0))) {
					(void)ring_push(s->job_ring, i);
					n++;
				}
			}
		}
		wh = uatomic_read(&r->whword);
		if (W_STATE(wh) == RTAB_WH_INFLIGHT && W_PID(wh) == dead) {
			r->wh_next = now;
			if (wh_cas(r, wh, W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0))) {
				(void)ring_push(s->wh_ring, i);
				nwh++;
			}
		}
	}
	for (i = 0; i < NBATCH(s); i++) {
		struct rtab_batch *b = &s->batches[i];
		uint64_t wh = uatomic_read(&b->whword);

		if (!batch_whmode(s, i) || W_STATE(wh) != RTAB_WH_INFLIGHT ||
		    W_PID(wh) != dead)
			continue;
		b->wh_next = now;
		if (uatomic_cmpxchg(&b->whword, wh, W_MAKE(RTAB_WH_PENDING,
		    W_GEN(wh), 0)) == wh) {
			(void)ring_push(s->wh_ring, NREC(s) + i);
			nwh++;
		}
	}
	if (n > 0)
		stat_add(STAT_jobs_requeued, (uint64_t)n);
	due->jobs = (uint32_t)n;
	due->webhooks = (uint32_t)nwh;
	return (n);
}

struct presence {
	uint64_t	*bits;
	uint32_t	n;
};

static void
presence_mark(uint32_t v, void *arg)
{
	struct presence *p = arg;

	if (v < p->n)
		p->bits[v >> 6] |= 1ull << (v & 63);
}

static int
present(const struct presence *p, uint32_t v)
{
	return ((p->bits[v >> 6] >> (v & 63)) & 1);
}

int
rtab_maintain(struct shm *s, uint64_t now, uint64_t grace_ns,
    uint64_t retention_ns, struct rtab_due *due)
{
	static uint64_t *jbits, *wbits;
	struct presence jp, wp;
	size_t words = (NREC(s) + 63) / 64;
	size_t wwords = ((size_t)NREC(s) + NBATCH(s) + 63) / 64;
	static int64_t drift[3];
	static int ndrift;
	uint64_t pending = 0, active = 0;
	uint32_t i;
	int n = 0, nwh = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (jbits == NULL) {
		jbits = imp_calloc(words, sizeof *jbits);
		wbits = imp_calloc(wwords, sizeof *wbits);
	}
	memset(jbits, 0, words * sizeof *jbits);
	memset(wbits, 0, wwords * sizeof *wbits);
	jp.bits = jbits;
	jp.n = NREC(s);
	wp.bits = wbits;
	wp.n = NREC(s) + NBATCH(s);
	ring_foreach(s->job_ring, presence_mark, &jp);
	ring_foreach(s->wh_ring, presence_mark, &wp);

	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *r = &s->recs[i];
		uint64_t w = uatomic_read(&r->word), wh;
		unsigned st = W_STATE(w);

		if (st == RTAB_FREE)
			continue;
		if (st == RTAB_QUEUED || st == RTAB_RUNNING || st == RTAB_FILLING) {
			pending++;
			active++;
		}
		if (st == RTAB_QUEUED && !present(&jp, i) &&
		    now > r->t_queued + grace_ns) {
			/* a producer or consumer died between steps, or the ring was full */
			r->t_queued = now;
			if (ring_push(s->job_ring, i) == 0)
				n++;
		}
		wh = uatomic_read(&r->whword);
		if (st_final(st) && W_STATE(wh) == RTAB_WH_WAITING) {
			/* the finisher died between its two CASes */
			r->wh_next = now;
			if (wh_cas(r, wh, W_MAKE(RTAB_WH_PENDING, 0, 0)))
				wh = W_MAKE(RTAB_WH_PENDING, 0, 0);
		}
		if (W_STATE(wh) == RTAB_WH_PENDING || W_STATE(wh) == RTAB_WH_INFLIGHT ||
		    W_STATE(wh) == RTAB_WH_WAITING)
			if (st_final(st))
				pending++;
		if (st_final(st) && W_STATE(wh) == RTAB_WH_PENDING &&
		    !present(&wp, i) && r->wh_next + grace_ns < now) {
			if (ring_push(s->wh_ring, i) == 0)
				nwh++;
		}
	}
	/* batch deliveries: due ones the finisher did not make due, lost pushes */
	for (i = 0; i < NBATCH(s); i++) {
		struct rtab_batch *b = &s->batches[i];
		uint64_t wh;

		if (!batch_whmode(s, i))
			continue;
		wh = uatomic_read(&b->whword);
		if (W_STATE(wh) == RTAB_WH_WAITING && rtab_batch_wh_ready(s, i, now)) {
			/* a finisher died between its CAS and the count */
			nwh++;
			continue;
		}
		if (W_STATE(wh) == RTAB_WH_PENDING || W_STATE(wh) == RTAB_WH_INFLIGHT)
			pending++;
		if (W_STATE(wh) == RTAB_WH_PENDING && !present(&wp, NREC(s) + i) &&
		    b->wh_next + grace_ns < now && ring_push(s->wh_ring,
		    NREC(s) + i) == 0)
			nwh++;
	}
	shm_set_pending(s, pending);
	/*
	 * The active count drifts when a process dies between its CAS out of
	 * QUEUED/RUNNING and its decrement (or between a batch's commit and
	 * its increment).  A finish or submit in flight makes the count look
	 * off for a moment; a dead process's does for good: correct by the
	 * smallest difference of three scans when all three agree in sign.
	 */
	{
		int32_t a = (int32_t)uatomic_read(&s->rt->active);
		int64_t d = (int64_t)a - (int64_t)active, m;
		int k, same = 1;

		drift[ndrift++ % 3] = d;
		m = d;
		for (k = 0; k < 3; k++) {
			if ((drift[k] > 0) != (d > 0) || drift[k] == 0)
				same = 0;
			if (llabs(drift[k]) < llabs(m))
				m = drift[k];
		}
		if (ndrift >= 3 && same && m != 0 &&
		    uatomic_cmpxchg(&s->rt->active, (uint32_t)a,
		    (uint32_t)(a - (int32_t)m)) == (uint32_t)a) {
			log_warn("result table: active count corrected by -%jd",
			    (intmax_t)m);
			memset(drift, 0, sizeof drift);
			ndrift = 0;
		}
	}
	if (n > 0)
		stat_add(STAT_jobs_requeued, (uint64_t)n);
	due->jobs = (uint32_t)n;
	due->webhooks = (uint32_t)nwh;
	if (retention_ns > 0 && now > retention_ns) {
		rtab_lock(s);
		while (rtab_evict_one_locked(s, now - retention_ns) == 0)
			;
		rtab_unlock(s);
	}
	return (n);
}
