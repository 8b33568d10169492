/*
 * impcore - the result table's mutex, and the repair that rebuilds
 * everything it protects from the record states: at start (rtab_recover,
 * the master, alone) and when a process died holding it (EOWNERDEAD: the
 * next taker).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "impfit.h"		/* IMPFIT_BAD_INPUT: a quarantined record's verdict */
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "prof/prof_cont.h"	/* profiler: prof_mutex_lock */
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"

static void rtab_repair_locked(struct shm *s, int at_start);

/*==================================================================
 * Lock
 */

void
rtab_lock(struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	/* profiler: a contended lock is recorded in the mutex profile */
	int rc = prof_mutex_lock(&s->rt->mtx);

	if (rc == EOWNERDEAD) {
		log_warn("result table: previous lock holder died: repairing");
		rtab_repair_locked(s, 0);
		pthread_mutex_consistent(&s->rt->mtx);
		return;
	}
	/*
	 * XXX library code never exits the process (HACKING): ENOTRECOVERABLE
	 * (a repair that died half-way) should reach the callers as an error.
	 */
	if (rc != 0)
		log_fatalx("result table: pthread_mutex_lock: %s", strerror(rc));
}

void
rtab_unlock(struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	pthread_mutex_unlock(&s->rt->mtx);
}

/*==================================================================
 * Repair and recovery
 */

/*
 * Make record i (corrupt: why) hold nothing a reader could follow: no
 * data, known enums, terminated texts, the error RTAB_CORRUPT_ERROR.  The
 * caller owns the record (lease, or at start) and sets its state.  A
 * webhook it had reports the failure (its batch's URL; its own is lost).
 */
void
rtab_rec_quarantine(struct shm *s, uint32_t i, const char *why)
{
	struct rtab_rec *r = &s->recs[i];
	uint64_t wh = uatomic_read(&r->whword);
	unsigned whs = W_STATE(wh);
	int has_url = r->batch < NBATCH(s) && s->batches[r->batch].url_units > 0 &&
	    s->batches[r->batch].wh_mode != RTAB_WHMODE_BATCH;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	log_warn("result table: record %u is corrupt (%s): quarantined", i, why);
	r->magic = RTAB_REC_MAGIC;
	r->n = r->nparams = r->ninit = r->url_len = r->ncons = 0;
	r->data_unit = r->data_units = 0;
	r->method = r->weighting = 0;
	r->fit_status = IMPFIT_BAD_INPUT;
	r->circuit[sizeof r->circuit - 1] = '\0';
	r->resid[sizeof r->resid - 1] = '\0';
	r->wh_error[sizeof r->wh_error - 1] = '\0';
	copy_str(r->error, RTAB_CORRUPT_ERROR, sizeof r->error);
	r->t_finished = tim_real();
	if (whs > RTAB_WH_FAILED || whs == RTAB_WH_WAITING ||
	    whs == RTAB_WH_INFLIGHT || (whs == RTAB_WH_PENDING && !has_url)) {
		r->wh_next = r->t_finished;
		uatomic_set(&r->whword, W_MAKE(has_url ? RTAB_WH_PENDING :
		    RTAB_WH_NONE, 0, 0));
	}
}

/* A FREE record as the free list expects it (a corrupt file's may not be). */
static void
rec_reset_free(struct rtab_rec *r)
{
	r->magic = RTAB_REC_MAGIC;
	r->batch = r->next = RTAB_NONE;
	r->data_units = 0;
	uatomic_set(&r->whword, 0);
}

/*
 * Make every READY batch's chain of records what the records say: each
 * record of the chain names the batch, appears once, and every record that
 * names the batch is on it; count is its length.  The walks of batch_info,
 * eviction and cancel then stay within the batch (a corrupt next or count
 * sent eviction round a cycle, pushing records on the free stack past its
 * end).  Batches left without records are freed.
 */
static void
chains_rebuild_locked(struct shm *s)
{
	uint64_t *seen = imp_calloc((NREC(s) + 63) / 64, sizeof *seen);
	uint32_t i, r, prev, n;

#define SEEN(x)		((seen[(x) >> 6] >> ((x) & 63)) & 1)
#define SEE(x)		(seen[(x) >> 6] |= 1ull << ((x) & 63))
	for (i = 0; i < NBATCH(s); i++) {
		struct rtab_batch *b = &s->batches[i];

		if (b->state != RTAB_B_READY)
			continue;
		prev = RTAB_NONE;
		n = 0;
		for (r = b->first; r < NREC(s) && !SEEN(r) &&
		    s->recs[r].batch == i &&
		    W_STATE(uatomic_read(&s->recs[r].word)) != RTAB_FREE;
		    r = s->recs[r].next) {
			SEE(r);
			if (prev == RTAB_NONE)
				b->first = r;
			prev = r;
			n++;
		}
		if (prev == RTAB_NONE)
			b->first = RTAB_NONE;
		else
			s->recs[prev].next = RTAB_NONE;
		b->last = prev;
		b->count = n;
	}
	/* records the chains lost: appended to their batch */
	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *rec = &s->recs[i];
		struct rtab_batch *b;

		if (SEEN(i) || W_STATE(uatomic_read(&rec->word)) == RTAB_FREE ||
		    rec->batch >= NBATCH(s))
			continue;
		b = &s->batches[rec->batch];
		if (b->state != RTAB_B_READY)
			continue;
		rec->next = RTAB_NONE;
		if (b->last == RTAB_NONE)
			b->first = i;
		else
			s->recs[b->last].next = i;
		b->last = i;
		b->count++;
	}
#undef SEEN
#undef SEE
	imp_free(seen);
	for (i = 0; i < NBATCH(s); i++)
		if (s->batches[i].state == RTAB_B_READY && s->batches[i].count == 0)
			s->batches[i].state = RTAB_B_FREE;
}

/* Is any unit of [u, u + k) taken? */
static int
bm_any(const struct shm *s, uint32_t u, uint32_t k)
{
	uint32_t i;

	for (i = u; i < u + k; i++)
		if (rtab_bm_get(s, i))
			return (1);
	return (0);
}

/*
 * At start, after the chains are rebuilt: batch bi's delivery as its
 * records say.  Fields that cannot be are made sane; the unfinished count
 * is recounted; an INFLIGHT delivery (its process is gone) and a WAITING
 * one whose records are all final are PENDING, and pending ones are
 * pushed on the webhook ring.
 */
static void
batch_recover(struct shm *s, uint32_t bi, uint64_t now)
{
	struct rtab_batch *b = &s->batches[bi];
	uint64_t wh;

	if (b->state != RTAB_B_READY)
		return;
	b->wh_id[sizeof b->wh_id - 1] = '\0';
	b->wh_error[sizeof b->wh_error - 1] = '\0';
	if (b->wh_mode != RTAB_WHMODE_BATCH) {
		b->wh_mode = RTAB_WHMODE_SPECTRUM;
		uatomic_set(&b->whword, 0);
		return;
	}
	wh = uatomic_read(&b->whword);
	if (W_STATE(wh) > RTAB_WH_FAILED || W_STATE(wh) == RTAB_WH_NONE)
		wh = W_MAKE(RTAB_WH_WAITING, 0, 0);
	b->unfinished = rtab_batch_unfinished(s, b);
	if (W_STATE(wh) == RTAB_WH_INFLIGHT ||
	    (W_STATE(wh) == RTAB_WH_WAITING && b->unfinished == 0)) {
		if (b->t_done == 0)
			b->t_done = now;
		b->wh_next = now;
		wh = W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0);
	}
	uatomic_set(&b->whword, wh);
	if (W_STATE(wh) == RTAB_WH_PENDING)
		ring_push(s->wh_ring, NREC(s) + bi);
}

/*
 * Rebuild everything the mutex protects from record and batch states.
 * at_start: nobody else runs; also requeue every QUEUED/RUNNING job,
 * quarantine corrupt records (rtab_rec_invalid), rebuild the rings and the
 * active count.
 */
static void
rtab_repair_locked(struct shm *s, int at_start)
{
	struct rtab_head *rt = s->rt;
	uint64_t now = tim_real(), w, wh;
	uint32_t i, active = 0;
	const char *why;

	if (at_start) {
		ring_init(s->job_ring, s->head->job_ring_cap);
		ring_init(s->wh_ring, s->head->wh_ring_cap);
	}
	/* batches in no known state are dropped (with their records, below) */
	for (i = 0; i < NBATCH(s); i++) {
		if (s->batches[i].state > RTAB_B_READY)
			s->batches[i].state = RTAB_B_FREE;
		/* the hash and every reader read the id up to its NUL */
		s->batches[i].id[sizeof s->batches[i].id - 1] = '\0';
	}
	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *r = &s->recs[i];
		uint32_t b = r->batch;

		w = uatomic_read(&r->word);
		if (W_STATE(w) == RTAB_FREE) {
			if (at_start)
				rec_reset_free(r);
			continue;
		}
		if (W_STATE(w) == RTAB_FILLING) {
			if (b >= NBATCH(s) || s->batches[b].state != RTAB_B_READY) {
				uatomic_set(&r->word, W_NEXT(w, RTAB_FREE, 0));
				rec_reset_free(r);
				continue;
			}
			/*
			 * The batch was committed: finish the publish.  A
			 * synchronous record was fitted already: it is
			 * published DONE/FAILED, never queued to be fitted
			 * again.
			 */
			if (r->sync_state == RTAB_DONE || r->sync_state == RTAB_FAILED)
				uatomic_set(&r->word, W_NEXT(w, r->sync_state, 0));
			else {
				r->t_queued = now;
				uatomic_set(&r->word, W_NEXT(w, RTAB_QUEUED, 0));
				if (!at_start)
					ring_push(s->job_ring, i);
			}
			w = uatomic_read(&r->word);
		}
		if (b >= NBATCH(s) || s->batches[b].state != RTAB_B_READY) {
			/* an orphan: no batch to report it in, drop it */
			log_warn("result table: dropping record %u of no batch", i);
			uatomic_set(&r->word, W_NEXT(w, RTAB_FREE, 0));
			rec_reset_free(r);
			continue;
		}
		if (at_start && (why = rtab_rec_invalid(s, r)) != NULL) {
			rtab_rec_quarantine(s, i, why);
			uatomic_set(&r->word, W_NEXT(w, RTAB_FAILED, 0));
			w = uatomic_read(&r->word);
		}
		switch (W_STATE(w)) {
		case RTAB_RUNNING:
			/*
			 * At start the whole tree is gone, the fit's worker with
			 * it: a fit cannot kill the master, so that says nothing
			 * about the job (no lost lease counted).
			 */
		case RTAB_QUEUED:
			if (at_start) {
				r->t_queued = now;
				uatomic_set(&r->word, W_NEXT(w, RTAB_QUEUED, 0));
				ring_push(s->job_ring, i);
			}
			break;
		default:
			break;
		}
		w = uatomic_read(&r->word);
		if (W_STATE(w) == RTAB_QUEUED || W_STATE(w) == RTAB_RUNNING)
			active++;
		if (at_start) {
			wh = uatomic_read(&r->whword);
			if (W_STATE(wh) == RTAB_WH_INFLIGHT ||
			    (W_STATE(wh) == RTAB_WH_WAITING && st_final(W_STATE(w)))) {
				r->wh_next = now;
				uatomic_set(&r->whword, W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0));
			}
			if (W_STATE(uatomic_read(&r->whword)) == RTAB_WH_PENDING)
				ring_push(s->wh_ring, i);
		}
	}
	/* batches left half-built are dropped (their records were freed above) */
	for (i = 0; i < NBATCH(s); i++)
		if (s->batches[i].state == RTAB_B_BUILDING)
			s->batches[i].state = RTAB_B_FREE;
	chains_rebuild_locked(s);
	if (at_start)
		for (i = 0; i < NBATCH(s); i++)
			batch_recover(s, i, now);
	rt->nfree_batches = 0;
	for (i = 0; i < NBATCH(s); i++) {
		struct rtab_batch *b = &s->batches[i];
		if (b->state == RTAB_B_FREE) {
			if (at_start)
				b->magic = RTAB_BATCH_MAGIC;
			s->free_batches[rt->nfree_batches++] = i;
		}
	}
	/* free records, last index on top so low indexes are used first */
	rt->nfree_recs = 0;
	for (i = NREC(s); i-- > 0;)
		if (W_STATE(uatomic_read(&s->recs[i].word)) == RTAB_FREE)
			s->free_recs[rt->nfree_recs++] = i;
	/*
	 * The arena bitmap.  Runs outside the arena are not marked; at start
	 * a record whose run overlaps one marked already is quarantined (two
	 * records cannot own the same bytes: one of them is corrupt).
	 */
	memset(s->bitmap, 0, (size_t)s->head->arena_units / 8);
	rt->arena_free = s->head->arena_units;
	for (i = 0; i < NBATCH(s); i++) {
		struct rtab_batch *b = &s->batches[i];
		if (b->state == RTAB_B_READY && b->url_units > 0 &&
		    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units) {
			if (bm_any(s, b->url_unit, b->url_units))
				b->url_units = 0;	/* its URL is lost */
			else
				rtab_bm_run(s, b->url_unit, b->url_units, 1);
		}
	}
	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *r = &s->recs[i];
		w = uatomic_read(&r->word);
		if (W_STATE(w) == RTAB_FREE || r->data_units == 0 ||
		    (uint64_t)r->data_unit + r->data_units > s->head->arena_units)
			continue;
		if (!bm_any(s, r->data_unit, r->data_units))
			rtab_bm_run(s, r->data_unit, r->data_units, 1);
		else if (at_start) {
			if (W_STATE(w) == RTAB_QUEUED)
				active--;
			rtab_rec_quarantine(s, i, "its data overlaps another record's");
			uatomic_set(&r->word, W_NEXT(w, RTAB_FAILED, 0));
		}
	}
	rtab_hash_rebuild_locked(s);
	rtab_order_rebuild_locked(s);
	if (at_start)
		uatomic_set(&rt->active, active);
}

int
rtab_recover(struct shm *s, int fresh, char **cause)
{
	struct rtab_head *rt = s->rt;
	pthread_mutexattr_t ma;
	uint32_t i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (!fresh && rt->magic != RTAB_HEAD_MAGIC) {
		imp_asprintf(cause, "result table: bad magic");
		return (-1);
	}
	if (fresh) {
		memset(rt, 0, sizeof *rt);
		for (i = 0; i < NREC(s); i++) {
			struct rtab_rec *r = &s->recs[i];
			memset(r, 0, sizeof *r);
			r->magic = RTAB_REC_MAGIC;
			r->batch = r->next = RTAB_NONE;
		}
		for (i = 0; i < NBATCH(s); i++) {
			memset(&s->batches[i], 0, sizeof s->batches[i]);
			s->batches[i].magic = RTAB_BATCH_MAGIC;
		}
	}
	/* nobody else can hold it: old processes are gone (we hold the flock) */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&rt->mtx, &ma);
	pthread_mutexattr_destroy(&ma);
	rt->magic = RTAB_HEAD_MAGIC;
	rtab_repair_locked(s, 1);
	/* processes of the previous run are gone */
	for (i = 0; i < SHM_NPROC; i++) {
		struct shm_proc *p = &s->procs[i];
		if (p->state != SHM_P_FREE) {
			p->state = SHM_P_DEAD;
			p->idle = p->busy = p->inflight = 0;
			stat_gauges_clear(&p->stats);
		}
	}
	return (0);
}
