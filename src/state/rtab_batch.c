/*
 * impcore - the result table's batches: the batch-id hash, the list of
 * READY batches in creation order and eviction (all under the mutex), a
 * batch's own delivery (webhook_mode batch), lookup under the mutex and
 * cancel.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "lib/check.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"

/*==================================================================
 * Batch hash: open addressing, linear probing, tombstones.
 */

void
rtab_hash_insert_locked(struct shm *s, uint32_t bi)
{
	uint32_t mask = s->head->nhash - 1, i, v;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	i = (uint32_t)hash_str(s->batches[bi].id) & mask;
	for (;;) {
		v = s->hash[i];
		if (v == RTAB_HASH_EMPTY || v == RTAB_HASH_TOMB) {
			if (v == RTAB_HASH_TOMB)
				s->rt->hash_tombs--;
			CMM_STORE_SHARED(s->hash[i], bi + 1);
			s->rt->hash_used++;
			return;
		}
		i = (i + 1) & mask;
	}
}

void
rtab_hash_rebuild_locked(struct shm *s)
{
	uint32_t i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	memset(s->hash, 0, (size_t)s->head->nhash * sizeof(uint32_t));
	s->rt->hash_used = s->rt->hash_tombs = 0;
	for (i = 0; i < NBATCH(s); i++)
		if (s->batches[i].state == RTAB_B_READY)
			rtab_hash_insert_locked(s, i);
}

static void
hash_delete_locked(struct shm *s, uint32_t bi)
{
	uint32_t mask = s->head->nhash - 1, i, n, v;

	i = (uint32_t)hash_str(s->batches[bi].id) & mask;
	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		v = s->hash[i];
		if (v == RTAB_HASH_EMPTY)
			return;
		if (v == bi + 1) {
			CMM_STORE_SHARED(s->hash[i], RTAB_HASH_TOMB);
			s->rt->hash_used--;
			s->rt->hash_tombs++;
			break;
		}
	}
	/* keep probe chains short: at 3/4 full with tombstones, rebuild */
	if ((uint64_t)(s->rt->hash_used + s->rt->hash_tombs) * 4 >
	    (uint64_t)s->head->nhash * 3)
		rtab_hash_rebuild_locked(s);
}

/*==================================================================
 * Eviction (under the lock)
 */

/*
 * READY batches are kept in a list in creation order, so eviction finds
 * the oldest evictable batch from the old end instead of scanning the
 * whole batch table (which, table full, was a scan per new batch).
 */
void
rtab_order_append_locked(struct shm *s, uint32_t bi)
{
	struct rtab_head *rt = s->rt;
	struct rtab_batch *b = &s->batches[bi];

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	b->newer = RTAB_NONE;
	b->older = rt->newest;
	if (rt->newest != RTAB_NONE)
		s->batches[rt->newest].newer = bi;
	else
		rt->oldest = bi;
	rt->newest = bi;
}

static void
order_remove_locked(struct shm *s, uint32_t bi)
{
	struct rtab_head *rt = s->rt;
	struct rtab_batch *b = &s->batches[bi];

	if (b->older != RTAB_NONE)
		s->batches[b->older].newer = b->newer;
	else
		rt->oldest = b->newer;
	if (b->newer != RTAB_NONE)
		s->batches[b->newer].older = b->older;
	else
		rt->newest = b->older;
	b->older = b->newer = RTAB_NONE;
}

/*
 * Results of a batch without any webhook are for polling: kept -retention
 * after they finished, not evicted sooner to make room (then the API
 * answers 503).  Set by each process that submits (rtab_set_retention).
 */
static uint64_t rtab_keep_polled_ns;

void
rtab_set_retention(uint64_t ns)
{
	rtab_keep_polled_ns = ns;
}

/* *polled: no record of b has a webhook (and b has no URL). */
static int
batch_evictable(const struct shm *s, const struct rtab_batch *b,
    uint64_t *newest, int *polled)
{
	uint32_t r = b->first, n = 0;
	uint64_t w, wh;

	*newest = 0;
	*polled = b->url_units == 0;
	if (b->wh_mode == RTAB_WHMODE_BATCH) {
		w = CMM_LOAD_SHARED(b->whword);
		if (W_STATE(w) != RTAB_WH_NONE && W_STATE(w) != RTAB_WH_DELIVERED)
			return (0);
		*polled = 0;
	}
	while (r != RTAB_NONE && r < NREC(s) && n++ <= b->count) {
		const struct rtab_rec *rec = &s->recs[r];
		w = CMM_LOAD_SHARED(rec->word);
		wh = CMM_LOAD_SHARED(rec->whword);
		if (!st_final(W_STATE(w)))
			return (0);
		if (W_STATE(wh) != RTAB_WH_NONE && W_STATE(wh) != RTAB_WH_DELIVERED)
			return (0);
		if (W_STATE(wh) != RTAB_WH_NONE)
			*polled = 0;
		if (rec->t_finished > *newest)
			*newest = rec->t_finished;
		r = rec->next;
	}
	return (1);
}

static void
batch_free_locked(struct shm *s, uint32_t bi)
{
	struct rtab_batch *b = &s->batches[bi];
	uint32_t r = b->first, next, n = 0;

	hash_delete_locked(s, bi);
	order_remove_locked(s, bi);
	while (r != RTAB_NONE && r < NREC(s) && n++ <= b->count) {
		struct rtab_rec *rec = &s->recs[r];
		uint64_t w = uatomic_read(&rec->word);
		next = rec->next;
		uatomic_set(&rec->word, W_NEXT(w, RTAB_FREE, 0));
		uatomic_set(&rec->whword, 0);
		rtab_arena_free_locked(s, rec->data_unit, rec->data_units);
		rec->data_units = 0;
		rec->batch = RTAB_NONE;
		rec->next = RTAB_NONE;
		s->free_recs[s->rt->nfree_recs++] = r;
		r = next;
	}
	rtab_arena_free_locked(s, b->url_unit, b->url_units);
	b->url_units = 0;
	b->wh_mode = RTAB_WHMODE_SPECTRUM;
	uatomic_set(&b->whword, 0);
	CMM_STORE_SHARED(b->state, RTAB_B_FREE);
	s->free_batches[s->rt->nfree_batches++] = bi;
}

/*
 * Evict the oldest evictable batch (finished, webhooks none or delivered;
 * all finished before older_than when that is not 0).  0 done, -1 none.
 * For room (older_than 0), a polled batch (no webhook) younger than
 * -retention is not evictable: 21 of 59 polled batches were gone 15 s
 * after they were taken, under -retention 24h (issue 13).
 */
int
rtab_evict_one_locked(struct shm *s, uint64_t older_than)
{
	uint32_t i, best = RTAB_NONE, count, n = 0;
	uint64_t newest, now = tim_real(), keep = rtab_keep_polled_ns;
	int polled;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	/*
	 * Oldest first: usually the very first one goes.  For room (not the
	 * retention sweep), at most RTAB_EVICT_SCAN batches are looked at:
	 * when a full table holds only results within -retention (polling)
	 * or undelivered ones, a walk of every batch under the lock on each
	 * submit stalled every worker's HTTP thread for seconds (/health
	 * 4.5 s with 1M results); what the walk would find deeper is rare, and
	 * the master's once-a-second sweep reaches it.
	 */
	for (i = s->rt->oldest; i < NBATCH(s) && n++ < NBATCH(s) &&
	    (older_than != 0 || n <= RTAB_EVICT_SCAN);
	    i = s->batches[i].newer) {
		struct rtab_batch *b = &s->batches[i];
		if (b->state != RTAB_B_READY ||
		    !batch_evictable(s, b, &newest, &polled))
			continue;
		if (older_than != 0 && newest >= older_than)
			continue;
		if (older_than == 0 && polled && keep > 0 && newest + keep > now)
			continue;
		best = i;
		break;
	}
	if (best == RTAB_NONE)
		return (-1);
	count = s->batches[best].count;
	batch_free_locked(s, best);
	stat_add(STAT_results_evicted, count);
	return (0);
}

/* The READY list from the batches' seqs (after a crash under the lock). */
void
rtab_order_rebuild_locked(struct shm *s)
{
	struct seqidx *v;
	uint32_t i, n = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	v = imp_calloc(NBATCH(s), sizeof *v);
	for (i = 0; i < NBATCH(s); i++)
		if (s->batches[i].state == RTAB_B_READY) {
			v[n].seq = s->batches[i].seq;
			v[n++].idx = i;
		}
	qsort(v, n, sizeof *v, seqidx_cmp);
	s->rt->oldest = s->rt->newest = RTAB_NONE;
	for (i = 0; i < n; i++)
		rtab_order_append_locked(s, v[i].idx);
	imp_free(v);
}

/*==================================================================
 * Batch deliveries (webhook_mode batch, issue 18)
 */

/* Records of b not final yet, by its chain (bounded). */
uint32_t
rtab_batch_unfinished(const struct shm *s, const struct rtab_batch *b)
{
	uint32_t r = b->first, n = 0, left = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	while (r != RTAB_NONE && r < NREC(s) && n++ < b->count) {
		if (!st_final(W_STATE(CMM_LOAD_SHARED(s->recs[r].word))))
			left++;
		r = s->recs[r].next;
	}
	return (left);
}

/*
 * Batch bi's delivery becomes due if it is WAITING and all its records
 * are final: WAITING -> PENDING, pushed on the webhook ring.  1 when it
 * did (a delivery became due: rtab's caller wakes the webhook process).  Whoever sees the last
 * record final may call it; the CAS lets one of them through.
 */
int
rtab_batch_wh_ready(struct shm *s, uint32_t bi, uint64_t now)
{
	struct rtab_batch *b = &s->batches[bi];
	uint64_t wh = uatomic_read(&b->whword);

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (W_STATE(wh) != RTAB_WH_WAITING || rtab_batch_unfinished(s, b) != 0)
		return (0);
	b->t_done = now;
	b->wh_next = now;
	/* the CAS publishes t_done and wh_next (full barrier) */
	if (uatomic_cmpxchg(&b->whword, wh, W_MAKE(RTAB_WH_PENDING, 0, 0)) !=
	    wh)
		return (0);
	(void)ring_push(s->wh_ring, NREC(s) + bi);
	return (1);
}

/*
 * A record of batch bi became final.  bmode: the batch delivers itself,
 * read by the caller BEFORE the record's final CAS (afterwards a batch of
 * the other mode may be evicted and reused under it; one in batch mode is
 * kept by its undelivered webhook word).  1 when the webhook process is
 * to be woken.
 */
int
rtab_batch_rec_final(struct shm *s, uint32_t bi, int bmode, uint64_t now)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (!bmode)
		return (0);
	/* the last one in checks them all; a count left high by a process
	 * that died in between is caught by rtab_maintain's scan */
	if (uatomic_add_return(&s->batches[bi].unfinished, -1) != 0)
		return (0);
	return (rtab_batch_wh_ready(s, bi, now));
}

/*==================================================================
 * Lookup and cancel, under the lock
 */

int
rtab_batch_find(const struct shm *s, const char *id,
    struct rtab_batch_info *bi, uint32_t **recs)
{
	struct shm *ws = (struct shm *)(uintptr_t)s;
	int rc;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (s->ro)
		return (rtab_batch_find_ro(s, id, bi, recs));
	/* a batch evicted and its records reused under our walk would mix */
	rtab_lock(ws);
	rc = rtab_batch_find_ro(s, id, bi, recs);
	rtab_unlock(ws);
	return (rc);
}

int
rtab_batch_cancel(struct shm *s, const char *id, int *ncancelled,
    struct rtab_due *due)
{
	uint32_t bi, r, n = 0;
	int c = 0, bmode;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	memset(due, 0, sizeof *due);
	rtab_lock(s);
	bi = rtab_hash_find(s, id);
	if (bi == RTAB_NONE) {
		rtab_unlock(s);
		return (-1);
	}
	for (r = s->batches[bi].first; r != RTAB_NONE && r < NREC(s) &&
	    n++ < s->batches[bi].count; r = s->recs[r].next) {
		struct rtab_rec *rec = &s->recs[r];
		uint64_t w = uatomic_read(&rec->word), wh;

		if (W_STATE(w) != RTAB_QUEUED)
			continue;
		/* under the lock: the batch stays (no eviction meanwhile) */
		bmode = batch_whmode(s, bi);
		if (!rec_cas(rec, w, W_NEXT(w, RTAB_CANCELLED, 0)))
			continue;	/* a worker took it meanwhile */
		rec->t_finished = tim_real();
		uatomic_dec(&s->rt->active);
		wh = uatomic_read(&rec->whword);
		if (W_STATE(wh) == RTAB_WH_WAITING)
			wh_cas(rec, wh, W_MAKE(RTAB_WH_NONE, 0, 0));
		/* a batch delivery still reports the cancelled spectra */
		due->webhooks += rtab_batch_rec_final(s, bi, bmode,
		    rec->t_finished);
		c++;
	}
	rtab_unlock(s);
	stat_add(STAT_spectra_cancelled, (uint64_t)c);
	*ncancelled = c;
	return (0);
}
