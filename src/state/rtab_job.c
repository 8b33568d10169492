/*
 * impcore - the job path (workers): take a job by a CAS to RUNNING(pid),
 * finish it by a CAS from that lease; no mutex.  And the poison pills:
 * a job that killed its worker twice is failed, not queued again.
 */
#include "config.h"

#include <string.h>
#include <urcu/uatomic.h>

#include "impfit.h"		/* IMPFIT_BAD_INPUT: a poisoned job's verdict */
#include "lib/check.h"
#include "lib/log.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm_priv.h"

/*==================================================================
 * Poison pills
 */

/*
 * Record i was RUNNING (word w) under a process that is dead: count the
 * lost lease, and at the RTAB_POISON_LOSSES-th make it FAILED instead of
 * queueing it again.  Only the master calls this (after reaping a child
 * that died of a crash or hung), so losses has one writer.  1 when it was failed (the caller
 * completes its webhook), 0 when the caller should requeue it.
 */
int
rtab_rec_poison(struct shm *s, uint32_t i, uint64_t w)
{
	struct rtab_rec *r = &s->recs[i];
	const char *bid = "?";

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (r->losses < UINT8_MAX)
		r->losses++;
	if (r->losses < RTAB_POISON_LOSSES)
		return (0);
	copy_str(r->error, RTAB_POISON_ERROR, sizeof r->error);
	r->fit_status = IMPFIT_BAD_INPUT;
	r->t_finished = tim_real();
	/* the CAS publishes the error (full barrier) */
	if (!rec_cas(r, w, W_NEXT(w, RTAB_FAILED, 0)))
		return (0);
	uatomic_dec(&s->rt->active);
	if (r->batch < NBATCH(s))
		bid = s->batches[r->batch].id;
	log_warn("batch %.64s iteration %d: fitting it killed a worker %u "
	    "times: failed, not queued again", bid, (int)r->iteration,
	    (unsigned)r->losses);
	return (1);
}

/* A failed job's webhook: WAITING -> PENDING, due now. */
int
rtab_rec_wh_complete(struct shm *s, uint32_t i, uint64_t now)
{
	struct rtab_rec *r = &s->recs[i];
	uint64_t wh = uatomic_read(&r->whword);

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (W_STATE(wh) != RTAB_WH_WAITING)
		return (0);
	r->wh_next = now;
	if (!wh_cas(r, wh, W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0)))
		return (0);
	(void)ring_push(s->wh_ring, i);
	return (1);
}

/*==================================================================
 * Job path
 */

int
rtab_job_take(struct shm *s, pid_t pid, struct rtab_job *job,
    struct rtab_due *due)
{
	uint32_t ri;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	memset(due, 0, sizeof *due);
	while (ring_pop(s->job_ring, &ri) == 0) {
		struct rtab_rec *r;
		uint64_t w, nw;
		const char *why;
		double *d;

		if (ri >= NREC(s))
			continue;
		r = &s->recs[ri];
		w = uatomic_read(&r->word);
		if (W_STATE(w) != RTAB_QUEUED) {
			STAT_INC(jobs_stale);
			continue;
		}
		nw = W_NEXT(w, RTAB_RUNNING, pid);
		if (!rec_cas(r, w, nw)) {
			STAT_INC(jobs_stale);
			continue;
		}
		r->t_started = tim_real();
		if ((why = rtab_rec_invalid(s, r)) != NULL) {
			uint32_t bi = r->batch;
			int bmode = batch_whmode(s, bi);

			/* ours now: never follow it, fail it for all to see */
			rtab_rec_quarantine(s, ri, why);
			if (rec_cas(r, nw, W_NEXT(nw, RTAB_FAILED, 0))) {
				uatomic_dec(&s->rt->active);
				due->webhooks += rtab_rec_wh_complete(s, ri,
				    r->t_finished) + rtab_batch_rec_final(s, bi,
				    bmode, r->t_finished);
				STAT_INC(spectra_failed);
			}
			continue;
		}
		d = rec_data(s, r);
		job->rec = ri;
		job->lease = nw;
		job->iteration = r->iteration;
		job->n = (int)r->n;
		job->nparams = (int)r->nparams;
		job->ninit = (int)r->ninit;
		job->freq = d;
		job->zre = d + r->n;
		job->zim = d + 2 * r->n;
		job->init = r->ninit > 0 ? d + 3 * r->n : NULL;
		job->lower = job->upper = NULL;
		if (r->ncons > 0) {
			job->lower = d + 3 * r->n + r->ninit + 2 * r->nparams;
			job->upper = job->lower + r->ncons;
		}
		job->circuit = r->circuit;
		job->method = r->method;
		job->weighting = r->weighting;
		job->max_iterations = r->max_iterations;
		job->timeout_ms = r->timeout_ms;
		STAT_INC(jobs_taken);
		return (0);
	}
	return (-1);
}

int
rtab_job_finish(struct shm *s, const struct rtab_job *job,
    const struct rtab_outcome *out, struct rtab_due *due)
{
	struct rtab_rec *r = &s->recs[job->rec];
	uint64_t wh, now = tim_real();
	uint32_t bi;
	int bmode;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	memset(due, 0, sizeof *due);
	if (uatomic_read(&r->word) != job->lease) {
		STAT_INC(jobs_lost_lease);
		return (-1);
	}
	/* while we hold the lease the batch is there (see rtab_batch_rec_final) */
	bi = r->batch;
	bmode = batch_whmode(s, bi);
	rtab_rec_outcome(s, r, out, now);
	/* the CAS publishes what rtab_rec_outcome wrote (full barrier) */
	if (!rec_cas(r, job->lease, W_NEXT(job->lease,
	    out->failed ? RTAB_FAILED : RTAB_DONE, 0))) {
		STAT_INC(jobs_lost_lease);
		return (-1);
	}
	uatomic_dec(&s->rt->active);
	wh = uatomic_read(&r->whword);
	if (W_STATE(wh) == RTAB_WH_WAITING) {
		r->wh_next = now;
		if (wh_cas(r, wh, W_MAKE(RTAB_WH_PENDING, 0, 0))) {
			(void)ring_push(s->wh_ring, job->rec);
			due->webhooks++;
		}
	}
	due->webhooks += rtab_batch_rec_final(s, bi, bmode, now);
	return (0);
}
