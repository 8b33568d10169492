/*
 * impcore - the result table: records, batches, batch hash, data arena.
 *
 * The job path (take, finish) and the webhook path are lock-free: each is a
 * CAS on a record's state word or webhook word by the process that owns the
 * transition.  Allocation (records, batches, arena runs), the batch hash
 * and batch lists change under one robust process-shared mutex; a process
 * dying while holding it makes the next taker rebuild all of that from the
 * record states (rtab_repair_locked), which is also what the master does at
 * start.  See README.md for the invariants.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "impfit.h"		/* IMPFIT_BAD_INPUT: a poisoned job's verdict */
#include "state/ctl.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "state/ring.h"
#include "prof/prof_cont.h"	/* profiler: prof_mutex_lock */
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"
#include "lib/stat.h"
#include "lib/tim.h"

/* A record holds every parameter a fit can have; CAS words come first. */
_Static_assert(RTAB_PARAMS_MAX == IMPFIT_MAX_PARAMS, "RTAB_PARAMS_MAX is IMPFIT_MAX_PARAMS");
_Static_assert(offsetof(struct rtab_rec, word) == 0, "a record's state word comes first");

#define NREC(s)		((s)->head->nrecords)
#define NBATCH(s)	((s)->head->nbatches)

static void rtab_repair_locked(struct shm *s, int at_start);

/*==================================================================
 * Small helpers
 */

static int
rec_cas(struct rtab_rec *r, uint64_t old, uint64_t nw)
{
	return (uatomic_cmpxchg(&r->word, old, nw) == old);
}

static int
wh_cas(struct rtab_rec *r, uint64_t old, uint64_t nw)
{
	return (uatomic_cmpxchg(&r->whword, old, nw) == old);
}

static int
st_final(unsigned st)
{
	return (st == RTAB_DONE || st == RTAB_FAILED || st == RTAB_CANCELLED);
}

/*
 * Arena bytes of a record, in units: freq, zre, zim (n each), init
 * (ninit), params, std_errors (np each), lower, upper (ncons each), url.
 */
static uint32_t
rec_units(uint32_t n, uint32_t ninit, uint32_t np, uint32_t ncons,
    uint32_t url_len)
{
	uint64_t bytes = ((uint64_t)3 * n + ninit + 2 * (uint64_t)np +
	    2 * (uint64_t)ncons) * 8;

	if (url_len > 0)
		bytes += url_len + 1;
	if (bytes == 0)
		bytes = 1;
	return ((uint32_t)((bytes + RTAB_UNIT - 1) / RTAB_UNIT));
}

/* Is the record's arena run inside the arena (untrusted readers)? */
static int
rec_run_ok(const struct shm *s, const struct rtab_rec *r)
{
	uint64_t end = (uint64_t)r->data_unit + r->data_units;

	/* a quarantined record holds no data at all */
	if (r->data_units == 0 && r->n == 0 && r->ninit == 0 &&
	    r->nparams == 0 && r->url_len == 0 && r->ncons == 0)
		return (1);
	if (r->n > s->head->max_points || r->ninit > RTAB_PARAMS_MAX ||
	    r->nparams > RTAB_PARAMS_MAX || r->url_len > RTAB_URL_MAX)
		return (0);
	if (end > s->head->arena_units)
		return (0);
	if (r->ncons > RTAB_PARAMS_MAX)
		return (0);
	return (rec_units(r->n, r->ninit, r->nparams, r->ncons, r->url_len) <=
	    r->data_units);
}

/*
 * Why a copy of a non-FREE record cannot be followed or rendered, or NULL
 * when it can: everything a reader indexes with, every enum it names,
 * every text it prints.  Callers check one copy (or a record they own),
 * never fields re-read from the file.
 */
static const char *
rec_invalid(const struct shm *s, const struct rtab_rec *r)
{
	if (r->magic != RTAB_REC_MAGIC)
		return ("bad magic");
	if (W_STATE(r->word) > RTAB_CANCELLED)
		return ("bad state");
	if (W_STATE(r->whword) > RTAB_WH_FAILED)
		return ("bad webhook state");
	if (r->method > IMPFIT_METHOD_NM || r->weighting > IMPFIT_WEIGHT_PROPORTIONAL ||
	    r->fit_status < 0 || r->fit_status > IMPFIT_STATUS_LAST)
		return ("bad method, weighting or fit status");
	if (memchr(r->circuit, '\0', sizeof r->circuit) == NULL ||
	    memchr(r->resid, '\0', sizeof r->resid) == NULL ||
	    memchr(r->error, '\0', sizeof r->error) == NULL ||
	    memchr(r->wh_error, '\0', sizeof r->wh_error) == NULL)
		return ("unterminated text");
	if (r->ninit != 0 && r->ninit != r->nparams)
		return ("bad initial values");
	if (r->ncons != 0 && r->ncons != r->nparams)
		return ("bad constraints");
	if (!rec_run_ok(s, r))
		return ("data outside the arena");
	if (s->salvage_size != 0 && r->data_units > 0 &&
	    s->head->off_arena + ((uint64_t)r->data_unit + r->data_units) *
	    RTAB_UNIT > s->salvage_size)
		return ("its data was in the truncated part of the file");
	return (NULL);
}

static double *
rec_data(const struct shm *s, const struct rtab_rec *r)
{
	return ((double *)(void *)(s->arena + (uint64_t)r->data_unit * RTAB_UNIT));
}

static char *
rec_url(const struct shm *s, const struct rtab_rec *r)
{
	double *d = rec_data(s, r);

	return ((char *)(d + 3 * r->n + r->ninit + 2 * r->nparams +
	    2 * r->ncons));
}

static void
copy_str(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*==================================================================
 * Lock
 */

static void
rtab_lock(struct shm *s)
{
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

static void
rtab_unlock(struct shm *s)
{
	pthread_mutex_unlock(&s->rt->mtx);
}

/*==================================================================
 * Arena: a bitmap of 64-byte units, first fit from a rotating cursor.
 */

static int
bm_get(const struct shm *s, uint32_t u)
{
	return ((s->bitmap[u >> 6] >> (u & 63)) & 1);
}

static void
bm_run(struct shm *s, uint32_t u, uint32_t k, int set)
{
	uint32_t i;

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

static uint32_t
arena_alloc_locked(struct shm *s, uint32_t k)
{
	uint32_t total = s->head->arena_units, u, start = 0, run = 0;
	uint64_t scanned = 0;

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
		if (bm_get(s, u))
			run = 0;
		else {
			if (run == 0)
				start = u;
			if (++run == k) {
				bm_run(s, start, k, 1);
				s->rt->arena_cursor = start + k;
				return (start);
			}
		}
		u++;
		scanned++;
	}
	return (RTAB_NONE);
}

static void
arena_free_locked(struct shm *s, uint32_t u, uint32_t k)
{
	if (k > 0 && (uint64_t)u + k <= s->head->arena_units)
		bm_run(s, u, k, 0);
}

void
rtab_arena_random(struct shm *s)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)s->arena, e;

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

/*==================================================================
 * Batch hash: open addressing, linear probing, tombstones.
 */

static uint64_t
hash_str(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*p != '\0') {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ull;
	}
	return (h);
}

/* Find batch by id (works without the lock: bounded, validated). */
static uint32_t
hash_find(const struct shm *s, const char *id)
{
	uint32_t mask = s->head->nhash - 1, i, n, v;
	const struct rtab_batch *b;

	i = (uint32_t)hash_str(id) & mask;
	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		v = CMM_LOAD_SHARED(s->hash[i]);
		if (v == RTAB_HASH_EMPTY)
			return (RTAB_NONE);
		if (v == RTAB_HASH_TOMB || v > NBATCH(s))
			continue;
		b = &s->batches[v - 1];
		if (b->state == RTAB_B_READY &&
		    strncmp(b->id, id, RTAB_ID_MAX + 1) == 0)
			return (v - 1);
	}
	return (RTAB_NONE);
}

static void
hash_insert_locked(struct shm *s, uint32_t bi)
{
	uint32_t mask = s->head->nhash - 1, i, v;

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

static void
hash_rebuild_locked(struct shm *s)
{
	uint32_t i;

	memset(s->hash, 0, (size_t)s->head->nhash * sizeof(uint32_t));
	s->rt->hash_used = s->rt->hash_tombs = 0;
	for (i = 0; i < NBATCH(s); i++)
		if (s->batches[i].state == RTAB_B_READY)
			hash_insert_locked(s, i);
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
		hash_rebuild_locked(s);
}

/*==================================================================
 * Eviction (under the lock)
 */

/*
 * READY batches are kept in a list in creation order, so eviction finds
 * the oldest evictable batch from the old end instead of scanning the
 * whole batch table (which, table full, was a scan per new batch).
 */
static void
order_append_locked(struct shm *s, uint32_t bi)
{
	struct rtab_head *rt = s->rt;
	struct rtab_batch *b = &s->batches[bi];

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
		arena_free_locked(s, rec->data_unit, rec->data_units);
		rec->data_units = 0;
		rec->batch = RTAB_NONE;
		rec->next = RTAB_NONE;
		s->free_recs[s->rt->nfree_recs++] = r;
		r = next;
	}
	arena_free_locked(s, b->url_unit, b->url_units);
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
static int
evict_one_locked(struct shm *s, uint64_t older_than)
{
	uint32_t i, best = RTAB_NONE, count, n = 0;
	uint64_t newest, now = tim_real(), keep = rtab_keep_polled_ns;
	int polled;

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

struct seqidx {
	uint64_t	seq;
	uint32_t	idx;
};

static int
seqidx_cmp(const void *a, const void *b)
{
	const struct seqidx *x = a, *y = b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* The READY list from the batches' seqs (after a crash under the lock). */
static void
order_rebuild_locked(struct shm *s)
{
	struct seqidx *v;
	uint32_t i, n = 0;

	v = imp_calloc(NBATCH(s), sizeof *v);
	for (i = 0; i < NBATCH(s); i++)
		if (s->batches[i].state == RTAB_B_READY) {
			v[n].seq = s->batches[i].seq;
			v[n++].idx = i;
		}
	qsort(v, n, sizeof *v, seqidx_cmp);
	s->rt->oldest = s->rt->newest = RTAB_NONE;
	for (i = 0; i < n; i++)
		order_append_locked(s, v[i].idx);
	imp_free(v);
}

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
static int
rec_poison(struct shm *s, uint32_t i, uint64_t w)
{
	struct rtab_rec *r = &s->recs[i];
	const char *bid = "?";

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
static int
rec_wh_complete(struct shm *s, uint32_t i, uint64_t now)
{
	struct rtab_rec *r = &s->recs[i];
	uint64_t wh = uatomic_read(&r->whword);

	if (W_STATE(wh) != RTAB_WH_WAITING)
		return (0);
	r->wh_next = now;
	if (!wh_cas(r, wh, W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0)))
		return (0);
	(void)ring_push(s->wh_ring, i);
	return (1);
}

/*==================================================================
 * Batch deliveries (webhook_mode batch, issue 18)
 */

/* Is bi a live batch that delivers itself (as a whole)? */
static int
batch_whmode(const struct shm *s, uint32_t bi)
{
	return (bi < NBATCH(s) &&
	    CMM_LOAD_SHARED(s->batches[bi].state) == RTAB_B_READY &&
	    CMM_LOAD_SHARED(s->batches[bi].wh_mode) == RTAB_WHMODE_BATCH);
}

/* Records of b not final yet, by its chain (bounded). */
static uint32_t
batch_unfinished(const struct shm *s, const struct rtab_batch *b)
{
	uint32_t r = b->first, n = 0, left = 0;

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
 * did (the caller wakes the webhook process).  Whoever sees the last
 * record final may call it; the CAS lets one of them through.
 */
static int
batch_wh_ready(struct shm *s, uint32_t bi, uint64_t now)
{
	struct rtab_batch *b = &s->batches[bi];
	uint64_t wh = uatomic_read(&b->whword);

	if (W_STATE(wh) != RTAB_WH_WAITING || batch_unfinished(s, b) != 0)
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
static int
batch_rec_final(struct shm *s, uint32_t bi, int bmode, uint64_t now)
{
	if (!bmode)
		return (0);
	/* the last one in checks them all; a count left high by a process
	 * that died in between is caught by rtab_maintain's scan */
	if (uatomic_add_return(&s->batches[bi].unfinished, -1) != 0)
		return (0);
	return (batch_wh_ready(s, bi, now));
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
static void
rec_quarantine(struct shm *s, uint32_t i, const char *why)
{
	struct rtab_rec *r = &s->recs[i];
	uint64_t wh = uatomic_read(&r->whword);
	unsigned whs = W_STATE(wh);
	int has_url = r->batch < NBATCH(s) && s->batches[r->batch].url_units > 0 &&
	    s->batches[r->batch].wh_mode != RTAB_WHMODE_BATCH;

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
		if (bm_get(s, i))
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
	b->unfinished = batch_unfinished(s, b);
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
 * quarantine corrupt records (rec_invalid), rebuild the rings and the
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
		if (at_start && (why = rec_invalid(s, r)) != NULL) {
			rec_quarantine(s, i, why);
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
				bm_run(s, b->url_unit, b->url_units, 1);
		}
	}
	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *r = &s->recs[i];
		w = uatomic_read(&r->word);
		if (W_STATE(w) == RTAB_FREE || r->data_units == 0 ||
		    (uint64_t)r->data_unit + r->data_units > s->head->arena_units)
			continue;
		if (!bm_any(s, r->data_unit, r->data_units))
			bm_run(s, r->data_unit, r->data_units, 1);
		else if (at_start) {
			if (W_STATE(w) == RTAB_QUEUED)
				active--;
			rec_quarantine(s, i, "its data overlaps another record's");
			uatomic_set(&r->word, W_NEXT(w, RTAB_FAILED, 0));
		}
	}
	hash_rebuild_locked(s);
	order_rebuild_locked(s);
	if (at_start)
		uatomic_set(&rt->active, active);
}

int
rtab_recover(struct shm *s, int fresh, char **cause)
{
	struct rtab_head *rt = s->rt;
	pthread_mutexattr_t ma;
	uint32_t i;

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

/*==================================================================
 * Submitting
 */

static void
gen_id(struct shm *s, char *buf, size_t len, const char *prefix)
{
	snprintf(buf, len, "%s%016jx", prefix, (uintmax_t)shm_next_id(s));
}

/* Fill a FILLING record from spec (under the lock). */
static void
rec_fill(struct shm *s, struct rtab_rec *r, uint32_t bi,
    const struct rtab_spec *sp, uint32_t unit, uint32_t units, uint64_t now)
{
	double *d;
	size_t ul = sp->webhook_url != NULL ? strlen(sp->webhook_url) : 0;

	r->batch = bi;
	r->next = RTAB_NONE;
	r->iteration = sp->iteration;
	r->n = (uint32_t)sp->n;
	r->nparams = (uint32_t)sp->nparams;
	r->ninit = (uint32_t)sp->ninit;
	r->ncons = (uint32_t)sp->ncons;
	r->url_len = (uint32_t)ul;
	r->data_unit = unit;
	r->data_units = units;
	r->method = (uint8_t)sp->method;
	r->weighting = (uint8_t)sp->weighting;
	r->max_iterations = sp->max_iterations;
	r->timeout_ms = sp->timeout_ms;
	r->extras = sp->extras;
	r->losses = 0;
	r->sync_state = 0;
	r->fit_status = 0;
	r->iterations = r->evaluations = 0;
	r->chi2 = 0;
	r->fit_ns = 0;
	r->t_accepted = r->t_queued = now;
	r->t_started = r->t_finished = 0;
	r->wh_first = r->wh_last = 0;
	r->wh_next = now;
	copy_str(r->circuit, sp->circuit, sizeof r->circuit);
	gen_id(s, r->resid, sizeof r->resid, "");
	r->error[0] = '\0';
	r->wh_error[0] = '\0';
	d = rec_data(s, r);
	memcpy(d, sp->freq, sizeof(double) * (size_t)sp->n);
	memcpy(d + sp->n, sp->zre, sizeof(double) * (size_t)sp->n);
	memcpy(d + 2 * sp->n, sp->zim, sizeof(double) * (size_t)sp->n);
	if (sp->ninit > 0)
		memcpy(d + 3 * sp->n, sp->init, sizeof(double) * (size_t)sp->ninit);
	memset(d + 3 * sp->n + sp->ninit, 0, sizeof(double) * 2 * (size_t)sp->nparams);
	if (sp->ncons > 0) {
		d += 3 * sp->n + sp->ninit + 2 * sp->nparams;
		memcpy(d, sp->lower, sizeof(double) * (size_t)sp->ncons);
		memcpy(d + sp->ncons, sp->upper, sizeof(double) *
		    (size_t)sp->ncons);
	}
	if (ul > 0)
		memcpy(rec_url(s, r), sp->webhook_url, ul + 1);
}

/* Store an outcome into a record we own (lease or FILLING). */
static void
rec_outcome(struct shm *s, struct rtab_rec *r, const struct rtab_outcome *o,
    uint64_t now)
{
	double *d = rec_data(s, r) + 3 * r->n + r->ninit;
	uint32_t np = r->nparams, i;

	for (i = 0; i < np; i++) {
		d[i] = (int)i < o->nparams && o->params != NULL ? o->params[i] : 0;
		d[np + i] = (int)i < o->nparams && o->std_errors != NULL ?
		    o->std_errors[i] : 0;
	}
	r->fit_status = o->fit_status;
	r->chi2 = o->chi_square;
	r->iterations = o->iterations;
	r->evaluations = o->evaluations;
	r->fit_ns = o->fit_ns;
	r->t_finished = now;
	if (o->failed && o->error != NULL)
		copy_str(r->error, o->error, sizeof r->error);
	else
		r->error[0] = '\0';
}

/*
 * A digest of what a batch POST asks for: each spectrum's data and fit
 * options and the webhook URLs, in order; not the server's own limits
 * (timeout_ms), so a retry after a config reload is still the same batch.
 * Not cryptographic: it tells a client's retry from a client that reused
 * an id for other spectra (issue 17), nobody forges it against himself.
 */
static uint64_t
dg_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;		/* FNV-1a's prime, on words */
	return (h ^ (h >> 29));
}

static uint64_t
dg_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t w;

	h = dg_mix(h, len);
	for (; len >= 8; len -= 8, c += 8) {
		memcpy(&w, c, 8);
		h = dg_mix(h, w);
	}
	for (w = 0; len > 0; len--)
		w = (w << 8) | c[len - 1];
	return (dg_mix(h, w));
}

static uint64_t
dg_str(uint64_t h, const char *str)
{
	return (str == NULL ? dg_mix(h, UINT64_MAX) : dg_bytes(h, str, strlen(str)));
}

static uint64_t
rtab_digest(const struct rtab_batch_in *in)
{
	uint64_t h = 0xcbf29ce484222325ull;
	int i;

	h = dg_str(h, in->webhook_url);
	h = dg_mix(h, (uint64_t)in->n);
	for (i = 0; i < in->n; i++) {
		const struct rtab_spec *sp = &in->spec[i];
		const struct rtab_extras *x = &sp->extras;
		size_t n = (size_t)sp->n * sizeof(double);

		h = dg_mix(h, (uint64_t)(uint32_t)sp->iteration);
		h = dg_bytes(h, sp->freq, n);
		h = dg_bytes(h, sp->zre, n);
		h = dg_bytes(h, sp->zim, n);
		h = dg_str(h, sp->circuit);
		h = dg_mix(h, (uint64_t)sp->method << 32 | (uint32_t)sp->weighting);
		h = dg_mix(h, (uint64_t)(uint32_t)sp->max_iterations);
		h = dg_bytes(h, sp->init, (size_t)sp->ninit * sizeof(double));
		h = dg_bytes(h, sp->lower, (size_t)sp->ncons * sizeof(double));
		h = dg_bytes(h, sp->upper, (size_t)sp->ncons * sizeof(double));
		h = dg_str(h, sp->webhook_url);
		h = dg_mix(h, (uint64_t)x->validate | (uint64_t)x->lk_type << 8 |
		    (uint64_t)x->lk_add_cap << 16 | (uint64_t)x->drt << 24 |
		    (uint64_t)x->lk_max_m << 32);
		h = dg_bytes(h, &x->lk_c, sizeof x->lk_c);
		h = dg_bytes(h, &x->drt_lambda, sizeof x->drt_lambda);
	}
	return (h);
}

static enum rtab_rc
rtab_submit_locked(struct shm *s, const struct rtab_batch_in *in,
    const struct rtab_outcome *done, uint64_t digest, uint32_t *batch,
    char *id, uint32_t *recs_out)
{
	struct rtab_head *rt = s->rt;
	uint32_t *units, *unit, bi, i, url_units = 0, url_unit = RTAB_NONE, prev;
	size_t url_len = in->webhook_url != NULL ? strlen(in->webhook_url) : 0;
	uint64_t now = tim_real();
	struct rtab_batch *b;
	enum rtab_rc rc = RTAB_OK;
	uint32_t n = (uint32_t)in->n;
	int bmode;

	if (in->id != NULL) {
		bi = hash_find(s, in->id);
		if (bi != RTAB_NONE) {
			*batch = bi;
			copy_str(id, s->batches[bi].id, RTAB_ID_MAX + 1);
			return (s->batches[bi].digest == digest ?
			    RTAB_EXISTS : RTAB_CONFLICT);
		}
	}
	if (n == 0)
		return (RTAB_NOSPACE);
	/* more than the file holds even empty: no retry helps (413, not 503) */
	if (n > NREC(s) || (done == NULL && n > in->queue_limit))
		return (RTAB_TOOBIG);
	{
		uint64_t need = url_len > 0 ?
		    (url_len + 1 + RTAB_UNIT - 1) / RTAB_UNIT : 0;
		for (i = 0; i < n; i++)
			need += rec_units((uint32_t)in->spec[i].n,
			    (uint32_t)in->spec[i].ninit,
			    (uint32_t)in->spec[i].nparams,
			    (uint32_t)in->spec[i].ncons,
			    in->spec[i].webhook_url != NULL ?
			    (uint32_t)strlen(in->spec[i].webhook_url) : 0);
		if (need > s->head->arena_units)
			return (RTAB_TOOBIG);
	}
	if (done == NULL && (uint64_t)rtab_queue_depth(s) + n > in->queue_limit)
		return (RTAB_FULL);
	while (rt->nfree_recs < n || rt->nfree_batches < 1)
		if (evict_one_locked(s, 0) < 0)
			return (RTAB_NOSPACE);

	/* arena runs first: nothing is visible until they all fit */
	units = imp_calloc(n, sizeof *units);
	unit = imp_calloc(n, sizeof *unit);
	for (i = 0; i < n; i++)
		unit[i] = RTAB_NONE;
	if (url_len > 0)
		url_units = (uint32_t)((url_len + 1 + RTAB_UNIT - 1) / RTAB_UNIT);
	for (i = 0; i <= n; i++) {
		uint32_t k, u;
		if (i == n) {
			if (url_units == 0)
				break;
			k = url_units;
		} else {
			const struct rtab_spec *sp = &in->spec[i];
			k = units[i] = rec_units((uint32_t)sp->n, (uint32_t)sp->ninit,
			    (uint32_t)sp->nparams, (uint32_t)sp->ncons,
			    sp->webhook_url != NULL ?
			    (uint32_t)strlen(sp->webhook_url) : 0);
		}
		while ((u = arena_alloc_locked(s, k)) == RTAB_NONE)
			if (evict_one_locked(s, 0) < 0)
				break;
		if (u == RTAB_NONE) {
			rc = RTAB_NOSPACE;
			break;
		}
		if (i == n)
			url_unit = u;
		else
			unit[i] = u;
	}
	/* evictions may have taken records/batches from us? no: they only free */
	if (rc != RTAB_OK) {
		for (i = 0; i < n; i++)
			if (unit[i] != RTAB_NONE)
				arena_free_locked(s, unit[i], units[i]);
		imp_free(units);
		imp_free(unit);
		return (rc);
	}

	bi = s->free_batches[--rt->nfree_batches];
	b = &s->batches[bi];
	b->state = RTAB_B_BUILDING;
	b->seq = ++rt->batch_seq;
	b->created = now;
	b->digest = digest;
	b->count = n;
	b->first = b->last = RTAB_NONE;
	b->url_unit = url_unit == RTAB_NONE ? 0 : url_unit;
	b->url_units = url_units;
	b->url_len = (uint32_t)url_len;
	/* webhook_mode batch: one delivery of its own, due when all are final */
	bmode = done == NULL && url_len > 0 &&
	    in->webhook_mode == RTAB_WHMODE_BATCH;
	b->wh_mode = bmode ? RTAB_WHMODE_BATCH : RTAB_WHMODE_SPECTRUM;
	b->unfinished = n;
	b->wh_part = 0;
	b->t_done = b->wh_first = b->wh_last = 0;
	b->wh_next = now;
	b->wh_error[0] = '\0';
	gen_id(s, b->wh_id, sizeof b->wh_id, "");
	uatomic_set(&b->whword, W_MAKE(bmode ? RTAB_WH_WAITING : RTAB_WH_NONE,
	    0, 0));
	if (url_len > 0)
		memcpy(s->arena + (uint64_t)url_unit * RTAB_UNIT, in->webhook_url,
		    url_len + 1);
	if (in->id != NULL)
		copy_str(b->id, in->id, sizeof b->id);
	else
		gen_id(s, b->id, sizeof b->id, done != NULL ? "s-" : "b-");

	prev = RTAB_NONE;
	for (i = 0; i < n; i++) {
		const struct rtab_spec *sp = &in->spec[i];
		uint32_t ri = s->free_recs[--rt->nfree_recs];
		struct rtab_rec *r = &s->recs[ri];
		uint64_t w = uatomic_read(&r->word);
		int has_wh = (url_len > 0 && !bmode) || sp->webhook_url != NULL;

		uatomic_set(&r->word, W_NEXT(w, RTAB_FILLING, 0));
		rec_fill(s, r, bi, sp, unit[i], units[i], now);
		if (done != NULL) {
			rec_outcome(s, r, done, now);
			/* what a repair publishes if we die before we do */
			r->sync_state = done->failed ? RTAB_FAILED : RTAB_DONE;
		}
		uatomic_set(&r->whword, W_MAKE(has_wh ? (done != NULL ?
		    RTAB_WH_PENDING : RTAB_WH_WAITING) : RTAB_WH_NONE, 0, 0));
		if (prev == RTAB_NONE)
			b->first = ri;
		else
			s->recs[prev].next = ri;
		prev = ri;
		b->last = ri;
		recs_out[i] = ri;
	}
	/* commit point: the batch becomes visible */
	cmm_smp_wmb();
	CMM_STORE_SHARED(b->state, RTAB_B_READY);
	hash_insert_locked(s, bi);
	order_append_locked(s, bi);
	if (done == NULL)
		uatomic_add(&rt->active, n);
	for (i = 0; i < n; i++) {
		struct rtab_rec *r = &s->recs[recs_out[i]];
		uint64_t w = uatomic_read(&r->word);
		unsigned st = done == NULL ? RTAB_QUEUED :
		    (done->failed ? RTAB_FAILED : RTAB_DONE);
		uatomic_set(&r->word, W_NEXT(w, st, 0));
	}
	*batch = bi;
	copy_str(id, b->id, RTAB_ID_MAX + 1);
	imp_free(units);
	imp_free(unit);
	return (RTAB_OK);
}

enum rtab_rc
rtab_submit(struct shm *s, const struct rtab_batch_in *in, uint32_t *batch,
    char id[RTAB_ID_MAX + 1])
{
	uint32_t *recs, i;
	enum rtab_rc rc;
	uint64_t digest;

	digest = rtab_digest(in);	/* outside the mutex: ms for MBs */
	recs = imp_calloc((size_t)(in->n > 0 ? in->n : 1), sizeof *recs);
	rtab_lock(s);
	rc = rtab_submit_locked(s, in, NULL, digest, batch, id, recs);
	rtab_unlock(s);
	if (rc == RTAB_OK)
		for (i = 0; i < (uint32_t)in->n; i++)
			(void)ring_push(s->job_ring, recs[i]);	/* full: rtab_maintain pushes later */
	imp_free(recs);
	return (rc);
}

enum rtab_rc
rtab_store_done(struct shm *s, const struct rtab_spec *spec,
    const char *webhook_url, const struct rtab_outcome *out, uint32_t *rec,
    char resid[RTAB_RESID_LEN + 1])
{
	struct rtab_batch_in in;
	char id[RTAB_ID_MAX + 1];
	uint32_t bi, r = RTAB_NONE;
	enum rtab_rc rc;

	memset(&in, 0, sizeof in);
	in.webhook_url = webhook_url;
	in.n = 1;
	in.spec = spec;
	in.sync = 1;
	rtab_lock(s);
	rc = rtab_submit_locked(s, &in, out, 0, &bi, id, &r);
	if (rc == RTAB_OK)
		copy_str(resid, s->recs[r].resid, RTAB_RESID_LEN + 1);
	rtab_unlock(s);
	if (rc == RTAB_OK) {
		*rec = r;
		(void)ring_push(s->wh_ring, r);
		ctl_wake_role(s, SHM_ROLE_WEBHOOK);
	}
	return (rc);
}

uint32_t
rtab_queue_depth(const struct shm *s)
{
	int32_t a = (int32_t)CMM_LOAD_SHARED(s->rt->active);

	return (a < 0 ? 0 : (uint32_t)a);
}

uint64_t
rtab_pending(const struct shm *s)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < NREC(s); i++) {
		const struct rtab_rec *r = &s->recs[i];
		unsigned st = W_STATE(CMM_LOAD_SHARED(r->word));
		unsigned wh = W_STATE(CMM_LOAD_SHARED(r->whword));

		if (st == RTAB_QUEUED || st == RTAB_RUNNING || st == RTAB_FILLING)
			n++;
		else if (st != RTAB_FREE && (wh == RTAB_WH_WAITING ||
		    wh == RTAB_WH_PENDING || wh == RTAB_WH_INFLIGHT))
			n++;
	}
	for (i = 0; i < NBATCH(s); i++) {
		unsigned wh = W_STATE(CMM_LOAD_SHARED(s->batches[i].whword));

		if (batch_whmode(s, i) && (wh == RTAB_WH_PENDING ||
		    wh == RTAB_WH_INFLIGHT))
			n++;
	}
	return (n);
}

/*==================================================================
 * Job path
 */

int
rtab_job_take(struct shm *s, pid_t pid, struct rtab_job *job)
{
	uint32_t ri;

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
		if ((why = rec_invalid(s, r)) != NULL) {
			uint32_t bi = r->batch;
			int bmode = batch_whmode(s, bi);

			/* ours now: never follow it, fail it for all to see */
			rec_quarantine(s, ri, why);
			if (rec_cas(r, nw, W_NEXT(nw, RTAB_FAILED, 0))) {
				uatomic_dec(&s->rt->active);
				if (rec_wh_complete(s, ri, r->t_finished) +
				    batch_rec_final(s, bi, bmode, r->t_finished))
					ctl_wake_role(s, SHM_ROLE_WEBHOOK);
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
    const struct rtab_outcome *out)
{
	struct rtab_rec *r = &s->recs[job->rec];
	uint64_t wh, now = tim_real();
	uint32_t bi;
	int bmode;

	if (uatomic_read(&r->word) != job->lease) {
		STAT_INC(jobs_lost_lease);
		return (-1);
	}
	/* while we hold the lease the batch is there (see batch_rec_final) */
	bi = r->batch;
	bmode = batch_whmode(s, bi);
	rec_outcome(s, r, out, now);
	/* the CAS publishes what rec_outcome wrote (full barrier) */
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
			ctl_wake_role(s, SHM_ROLE_WEBHOOK);
		}
	}
	if (batch_rec_final(s, bi, bmode, now))
		ctl_wake_role(s, SHM_ROLE_WEBHOOK);
	return (0);
}

/*==================================================================
 * Reading
 */

/*
 * The delivery of batch item (webhook_mode batch) as a view: a copy taken
 * between two equal reads of its webhook word, texts bounded.  0 ok, -1
 * not such a batch (or it kept changing).
 */
static int
batch_wh_view(const struct shm *s, uint32_t item, struct rtab_view *v)
{
	const struct rtab_batch *b;
	uint32_t bi = item - NREC(s);
	uint64_t w1;
	int tries;

	if (bi >= NBATCH(s))
		return (-1);
	b = &s->batches[bi];
	for (tries = 0; tries < 16; tries++) {
		memset(v, 0, sizeof *v);
		if (!batch_whmode(s, bi))
			return (-1);
		w1 = CMM_LOAD_SHARED(b->whword);
		cmm_smp_rmb();
		v->rec = item;
		v->state = RTAB_DONE;
		v->wh_batch = 1;
		v->iteration = -1;
		copy_str(v->batch_id, b->id, sizeof v->batch_id);
		copy_str(v->result_id, b->wh_id, sizeof v->result_id);
		v->t_accepted = b->created;
		v->t_finished = b->t_done;
		v->wh = W_STATE(w1) <= RTAB_WH_FAILED ?
		    (enum rtab_wh)W_STATE(w1) : RTAB_WH_NONE;
		v->wh_attempts = (int)W_GEN(w1);
		v->wh_owner = W_PID(w1);
		v->wh_first = b->wh_first;
		v->wh_last = b->wh_last;
		v->wh_next = b->wh_next;
		v->wh_part = b->wh_part;
		copy_str(v->wh_error, b->wh_error, sizeof v->wh_error);
		if (b->url_units > 0 && b->url_len <= RTAB_URL_MAX &&
		    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units)
			copy_str(v->url, (const char *)s->arena +
			    (uint64_t)b->url_unit * RTAB_UNIT, sizeof v->url);
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(b->whword) == w1)
			return (0);
	}
	return (-1);
}

/*
 * One snapshot of the record (copied between two equal reads of its state
 * word), validated, and nothing but it used afterwards: sizes and offsets
 * re-read from the file could differ from the ones checked (a reader sized
 * its copy from one read and copied from another).  Only the arena bytes
 * are read from the file again, at the validated place, and the state word
 * once more after them.
 */
int
rtab_view_get(const struct shm *s, uint32_t ri, int with_data,
    struct rtab_view *v)
{
	const struct rtab_rec *r;
	struct rtab_rec snap;
	const struct rtab_batch *b = NULL;
	const char *why;
	uint64_t w1;
	unsigned st;
	int tries;

	memset(v, 0, sizeof *v);
	if (ri >= NREC(s))
		return (batch_wh_view(s, ri, v));
	r = &s->recs[ri];
	for (tries = 0; tries < 16; tries++) {
		w1 = CMM_LOAD_SHARED(r->word);
		cmm_smp_rmb();
		memcpy(&snap, r, sizeof snap);
		snap.whword = CMM_LOAD_SHARED(r->whword);
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(r->word) != w1)
			continue;
		snap.word = w1;
		st = W_STATE(w1);
		if (st == RTAB_FREE || st == RTAB_FILLING)
			return (-1);
		v->rec = ri;
		v->word = w1;
		if (snap.batch < NBATCH(s)) {
			b = &s->batches[snap.batch];
			copy_str(v->batch_id, b->id, sizeof v->batch_id);
		}
		if ((why = rec_invalid(s, &snap)) != NULL) {
			/*
			 * Not ours to repair (a reader; the master does at
			 * start, the worker that takes it): shown as what it
			 * will be, FAILED, with nothing of it followed.
			 */
			v->state = RTAB_FAILED;
			v->fit_status = IMPFIT_BAD_INPUT;
			copy_str(v->error, RTAB_CORRUPT_ERROR, sizeof v->error);
			v->wh = W_STATE(snap.whword) <= RTAB_WH_FAILED ?
			    (enum rtab_wh)W_STATE(snap.whword) : RTAB_WH_NONE;
			copy_str(v->result_id, snap.resid, sizeof v->result_id);
			copy_str(v->circuit, snap.circuit, sizeof v->circuit);
			v->iteration = snap.iteration;
			v->t_accepted = snap.t_accepted;
			v->t_finished = snap.t_finished;
			return (0);
		}
		v->state = (enum rtab_state)st;
		v->owner = st == RTAB_RUNNING ? W_PID(w1) : 0;
		copy_str(v->result_id, snap.resid, sizeof v->result_id);
		v->iteration = snap.iteration;
		v->n = (int)snap.n;
		v->nparams = (int)snap.nparams;
		v->ninit = (int)snap.ninit;
		copy_str(v->circuit, snap.circuit, sizeof v->circuit);
		v->method = snap.method;
		v->weighting = snap.weighting;
		v->max_iterations = snap.max_iterations;
		v->timeout_ms = snap.timeout_ms;
		v->extras = snap.extras;
		v->lease_losses = snap.losses;
		v->fit_status = snap.fit_status;
		v->chi_square = snap.chi2;
		v->iterations = snap.iterations;
		v->evaluations = snap.evaluations;
		v->fit_ns = snap.fit_ns;
		v->t_accepted = snap.t_accepted;
		v->t_started = snap.t_started;
		v->t_finished = snap.t_finished;
		copy_str(v->error, snap.error, sizeof v->error);
		v->wh = (enum rtab_wh)W_STATE(snap.whword);
		v->wh_attempts = (int)W_GEN(snap.whword);
		v->wh_owner = W_PID(snap.whword);
		v->wh_first = snap.wh_first;
		v->wh_last = snap.wh_last;
		v->wh_next = snap.wh_next;
		copy_str(v->wh_error, snap.wh_error, sizeof v->wh_error);
		if (snap.url_len > 0)
			copy_str(v->url, rec_url(s, &snap), snap.url_len + 1);
		else if (b != NULL && b->url_units > 0 &&
		    b->url_len <= RTAB_URL_MAX &&
		    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units)
			copy_str(v->url, (const char *)s->arena +
			    (uint64_t)b->url_unit * RTAB_UNIT,
			    sizeof v->url);
		if (with_data) {
			size_t nd = 3 * (size_t)snap.n + snap.ninit +
			    2 * (size_t)snap.nparams + 2 * (size_t)snap.ncons;
			double *d = imp_malloc(sizeof(double) * (nd ? nd : 1));
			memcpy(d, rec_data(s, &snap), sizeof(double) * nd);
			v->freq = d;
			v->zre = d + v->n;
			v->zim = d + 2 * v->n;
			v->init = v->ninit > 0 ? d + 3 * v->n : NULL;
			v->params = d + 3 * v->n + v->ninit;
			v->std_errors = v->params + v->nparams;
			v->lower = snap.ncons > 0 ? v->std_errors +
			    v->nparams : NULL;
			v->upper = snap.ncons > 0 ? v->lower + snap.ncons :
			    NULL;
		}
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(r->word) == w1)
			return (0);
		rtab_view_free(v);
		memset(v, 0, sizeof *v);
		b = NULL;
	}
	return (-1);
}

void
rtab_view_free(struct rtab_view *v)
{
	imp_free(v->freq);
	v->freq = v->zre = v->zim = v->init = v->params = v->std_errors = NULL;
}

static void
batch_info(const struct shm *s, uint32_t bi, struct rtab_batch_info *info,
    uint32_t **recs)
{
	const struct rtab_batch *b = &s->batches[bi];
	uint32_t r, n = 0, *out = NULL;

	memset(info, 0, sizeof *info);
	info->batch = bi;
	copy_str(info->id, b->id, sizeof info->id);
	if (b->url_units > 0 && b->url_len <= RTAB_URL_MAX &&
	    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units)
		copy_str(info->url, (const char *)s->arena +
		    (uint64_t)b->url_unit * RTAB_UNIT, sizeof info->url);
	info->created = b->created;
	if (recs != NULL)
		out = imp_calloc(b->count > 0 ? b->count : 1, sizeof *out);
	for (r = b->first; r != RTAB_NONE && r < NREC(s) && n < b->count &&
	    n <= NREC(s); r = s->recs[r].next) {
		uint64_t w = CMM_LOAD_SHARED(s->recs[r].word);
		uint64_t wh = CMM_LOAD_SHARED(s->recs[r].whword);

		switch (W_STATE(w)) {
		case RTAB_QUEUED:	info->queued++; break;
		case RTAB_RUNNING:	info->running++; break;
		case RTAB_DONE:		info->done++; break;
		case RTAB_FAILED:	info->failed++; break;
		case RTAB_CANCELLED:	info->cancelled++; break;
		default:		break;
		}
		switch (W_STATE(wh)) {
		case RTAB_WH_WAITING:
		case RTAB_WH_PENDING:	info->wh_pending++; break;
		case RTAB_WH_INFLIGHT:	info->wh_inflight++; break;
		case RTAB_WH_DELIVERED:	info->wh_delivered++; break;
		case RTAB_WH_FAILED:	info->wh_failed++; break;
		default:		break;
		}
		if (out != NULL)
			out[n] = r;
		n++;
	}
	info->count = (int)n;
	if (batch_whmode(s, bi)) {
		/* its records have no webhook of their own: count its one */
		info->wh_mode = RTAB_WHMODE_BATCH;
		info->wh_pending = info->wh_inflight = info->wh_delivered =
		    info->wh_failed = 0;
		switch (W_STATE(CMM_LOAD_SHARED(b->whword))) {
		case RTAB_WH_WAITING:
		case RTAB_WH_PENDING:	info->wh_pending = 1; break;
		case RTAB_WH_INFLIGHT:	info->wh_inflight = 1; break;
		case RTAB_WH_DELIVERED:	info->wh_delivered = 1; break;
		case RTAB_WH_FAILED:	info->wh_failed = 1; break;
		default:		break;
		}
	}
	if (recs != NULL)
		*recs = out;
}

int
rtab_batch_find(const struct shm *s, const char *id,
    struct rtab_batch_info *bi, uint32_t **recs)
{
	struct shm *ws = (struct shm *)(uintptr_t)s;
	uint32_t b;

	if (!s->ro)
		rtab_lock(ws);
	b = hash_find(s, id);
	if (b != RTAB_NONE)
		batch_info(s, b, bi, recs);
	if (!s->ro)
		rtab_unlock(ws);
	return (b == RTAB_NONE ? -1 : 0);
}

void
rtab_batch_foreach(const struct shm *s,
    int (*fn)(const struct rtab_batch_info *bi, void *arg), void *arg)
{
	struct seqidx *v;
	struct rtab_batch_info info;
	uint32_t i, n = 0;

	v = imp_calloc(NBATCH(s), sizeof *v);
	for (i = 0; i < NBATCH(s); i++)
		if (CMM_LOAD_SHARED(s->batches[i].state) == RTAB_B_READY) {
			v[n].seq = s->batches[i].seq;
			v[n++].idx = i;
		}
	qsort(v, n, sizeof *v, seqidx_cmp);
	for (i = 0; i < n; i++) {
		if (CMM_LOAD_SHARED(s->batches[v[i].idx].state) != RTAB_B_READY)
			continue;
		batch_info(s, v[i].idx, &info, NULL);
		if (fn(&info, arg) != 0)
			break;
	}
	imp_free(v);
}

const char *
rtab_batch_status(const struct rtab_batch_info *bi)
{
	if (bi->queued + bi->running > 0)
		return (bi->running + bi->done + bi->failed > 0 ? "running" : "queued");
	if (bi->count > 0 && bi->cancelled == bi->count)
		return ("cancelled");
	if (bi->count > 0 && bi->failed == bi->count)
		return ("failed");
	if (bi->done == bi->count)
		return ("completed");
	return ("partial");
}

uint32_t
rtab_nrecords(const struct shm *s)
{
	return (NREC(s));
}

enum rtab_state
rtab_state_of(const struct shm *s, uint32_t ri, pid_t *owner)
{
	uint64_t w;

	if (ri >= NREC(s))
		return (RTAB_FREE);
	w = CMM_LOAD_SHARED(s->recs[ri].word);
	if (owner != NULL)
		*owner = W_STATE(w) == RTAB_RUNNING ? W_PID(w) : 0;
	return (W_STATE(w) <= RTAB_CANCELLED ? (enum rtab_state)W_STATE(w) : RTAB_FREE);
}

uint32_t
rtab_find_result(const struct shm *s, const char *resid)
{
	uint32_t i;

	for (i = 0; i < NREC(s); i++) {
		unsigned st = W_STATE(CMM_LOAD_SHARED(s->recs[i].word));
		if (st != RTAB_FREE && st != RTAB_FILLING &&
		    strncmp(s->recs[i].resid, resid, RTAB_RESID_LEN + 1) == 0)
			return (i);
	}
	return (RTAB_NONE);
}

int
rtab_batch_cancel(struct shm *s, const char *id, int *ncancelled)
{
	uint32_t bi, r, n = 0;
	int c = 0, wake = 0, bmode;

	rtab_lock(s);
	bi = hash_find(s, id);
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
		wake |= batch_rec_final(s, bi, bmode, rec->t_finished);
		c++;
	}
	rtab_unlock(s);
	if (wake)
		ctl_wake_role(s, SHM_ROLE_WEBHOOK);
	stat_add(STAT_spectra_cancelled, (uint64_t)c);
	*ncancelled = c;
	return (0);
}

const char *
rtab_state_name(enum rtab_state st)
{
	static const char *const n[] = { "free", "filling", "queued", "running",
	    "done", "failed", "cancelled" };

	return ((unsigned)st <= RTAB_CANCELLED ? n[st] : "?");
}

const char *
rtab_wh_name(enum rtab_wh w)
{
	static const char *const n[] = { "none", "waiting", "pending",
	    "inflight", "delivered", "failed" };

	return ((unsigned)w <= RTAB_WH_FAILED ? n[w] : "?");
}

/*==================================================================
 * Webhooks
 */

/* Where an item's delivery state lives: a record's or a batch's fields. */
struct whref {
	uint64_t		*word;
	uint64_t		*first, *last, *next;
	char			*err;
	size_t			errlen;
	struct rtab_batch	*b;		/* NULL: a record */
};

static int
wh_ref(struct shm *s, uint32_t item, struct whref *x)
{
	if (item < NREC(s)) {
		struct rtab_rec *r = &s->recs[item];

		x->word = &r->whword;
		x->first = &r->wh_first;
		x->last = &r->wh_last;
		x->next = &r->wh_next;
		x->err = r->wh_error;
		x->errlen = sizeof r->wh_error;
		x->b = NULL;
		return (0);
	}
	item -= NREC(s);
	if (item >= NBATCH(s) || !batch_whmode(s, item))
		return (-1);
	x->b = &s->batches[item];
	x->word = &x->b->whword;
	x->first = &x->b->wh_first;
	x->last = &x->b->wh_last;
	x->next = &x->b->wh_next;
	x->err = x->b->wh_error;
	x->errlen = sizeof x->b->wh_error;
	return (0);
}

uint32_t
rtab_wh_items(const struct shm *s)
{
	return (NREC(s) + NBATCH(s));
}

int
rtab_wh_due(const struct shm *s, uint64_t now, uint32_t *out, int max)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < NREC(s) && n < max; i++) {
		const struct rtab_rec *r = &s->recs[i];
		uint64_t wh = CMM_LOAD_SHARED(r->whword);

		if (W_STATE(wh) != RTAB_WH_PENDING)
			continue;
		if (!st_final(W_STATE(CMM_LOAD_SHARED(r->word))))
			continue;
		if (CMM_LOAD_SHARED(r->wh_next) <= now)
			out[n++] = i;
	}
	for (i = 0; i < NBATCH(s) && n < max; i++) {
		const struct rtab_batch *b = &s->batches[i];

		if (batch_whmode(s, i) &&
		    W_STATE(CMM_LOAD_SHARED(b->whword)) == RTAB_WH_PENDING &&
		    CMM_LOAD_SHARED(b->wh_next) <= now)
			out[n++] = NREC(s) + i;
	}
	return (n);
}

int
rtab_wh_begin(struct shm *s, uint32_t ri, pid_t pid)
{
	struct whref x;
	uint64_t wh, now = tim_real();

	if (wh_ref(s, ri, &x) != 0)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_PENDING)
		return (-1);
	if (uatomic_cmpxchg(x.word, wh, W_MAKE(RTAB_WH_INFLIGHT, W_GEN(wh) + 1,
	    pid)) != wh)
		return (-1);
	if (*x.first == 0)
		*x.first = now;
	*x.last = now;
	return (0);
}

static int
wh_end(struct shm *s, uint32_t ri, pid_t pid, unsigned st, uint64_t next,
    const char *err)
{
	struct whref x;
	uint64_t wh;

	if (wh_ref(s, ri, &x) != 0)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_INFLIGHT || W_PID(wh) != pid)
		return (-1);
	if (err != NULL)
		copy_str(x.err, err, x.errlen);
	else if (st == RTAB_WH_DELIVERED)
		x.err[0] = '\0';
	if (st == RTAB_WH_PENDING)
		*x.next = next;
	return (uatomic_cmpxchg(x.word, wh, W_MAKE(st, W_GEN(wh), 0)) == wh ?
	    0 : -1);
}

int
rtab_wh_delivered(struct shm *s, uint32_t ri, pid_t pid)
{
	return (wh_end(s, ri, pid, RTAB_WH_DELIVERED, 0, NULL));
}

int
rtab_wh_retry(struct shm *s, uint32_t ri, pid_t pid, uint64_t next,
    const char *err)
{
	return (wh_end(s, ri, pid, RTAB_WH_PENDING, next, err));
}

int
rtab_wh_failed(struct shm *s, uint32_t ri, pid_t pid, const char *err)
{
	return (wh_end(s, ri, pid, RTAB_WH_FAILED, 0, err));
}

int
rtab_wh_part_done(struct shm *s, uint32_t item, pid_t pid)
{
	struct whref x;
	uint64_t wh;

	if (wh_ref(s, item, &x) != 0 || x.b == NULL)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_INFLIGHT || W_PID(wh) != pid)
		return (-1);
	/*
	 * Written before the CAS: if we die in between, the master makes it
	 * PENDING and the next part goes (the one before was delivered).
	 */
	x.b->wh_part++;
	x.b->wh_first = 0;
	x.b->wh_error[0] = '\0';
	x.b->wh_next = tim_real();
	if (uatomic_cmpxchg(x.word, wh, W_MAKE(RTAB_WH_PENDING, 0, 0)) != wh)
		return (-1);
	(void)ring_push(s->wh_ring, item);
	return (0);
}

int
rtab_wh_retry_now(struct shm *s, uint32_t ri)
{
	struct whref x;
	uint64_t wh;

	if (wh_ref(s, ri, &x) != 0)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_FAILED)
		return (-1);
	*x.next = tim_real();
	/*
	 * A hand retry starts a fresh max-age window (rtab_wh_begin sets
	 * wh_first again): with the old one, already over, a retry that
	 * failed once more would be FAILED after a single attempt.
	 */
	*x.first = 0;
	if (uatomic_cmpxchg(x.word, wh, W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0)) !=
	    wh)
		return (-1);
	(void)ring_push(s->wh_ring, ri);
	ctl_wake_role(s, SHM_ROLE_WEBHOOK);
	return (0);
}

int
rtab_wh_batch_recs(const struct shm *s, uint32_t item, uint32_t **recs)
{
	const struct rtab_batch *b;
	uint32_t r, n = 0, *out;

	*recs = NULL;
	if (item < NREC(s) || item - NREC(s) >= NBATCH(s) ||
	    !batch_whmode(s, item - NREC(s)))
		return (-1);
	b = &s->batches[item - NREC(s)];
	out = imp_calloc(b->count > 0 && b->count <= NREC(s) ? b->count : 1,
	    sizeof *out);
	for (r = b->first; r != RTAB_NONE && r < NREC(s) && n < b->count &&
	    n < NREC(s); r = s->recs[r].next)
		out[n++] = r;
	*recs = out;
	return ((int)n);
}

int
rtab_wh_url(const struct shm *s, uint32_t ri, char url[RTAB_URL_MAX + 1])
{
	struct rtab_view v;

	url[0] = '\0';
	if (rtab_view_get(s, ri, 0, &v) < 0)
		return (-1);
	memcpy(url, v.url, RTAB_URL_MAX + 1);
	return (0);
}

/*==================================================================
 * Master
 */

int
rtab_reclaim_pid(struct shm *s, pid_t dead, int blame)
{
	uint32_t i;
	int n = 0, nwh = 0;
	uint64_t now = tim_real();

	for (i = 0; i < NREC(s); i++) {
		struct rtab_rec *r = &s->recs[i];
		uint64_t w = uatomic_read(&r->word), wh;

		if (W_STATE(w) == RTAB_RUNNING && W_PID(w) == dead) {
			uint32_t bi = r->batch;
			int bmode = batch_whmode(s, bi);

			if (blame && rec_poison(s, i, w)) {
				STAT_INC(jobs_poisoned);
				nwh += rec_wh_complete(s, i, now);
				nwh += batch_rec_final(s, bi, bmode, now);
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
	if (n > 0) {
		stat_add(STAT_jobs_requeued, (uint64_t)n);
		ctl_wake_workers(s, n);
	}
	if (nwh > 0)
		ctl_wake_role(s, SHM_ROLE_WEBHOOK);
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
    uint64_t retention_ns)
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
		if (W_STATE(wh) == RTAB_WH_WAITING && batch_wh_ready(s, i, now)) {
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
	if (n > 0) {
		stat_add(STAT_jobs_requeued, (uint64_t)n);
		ctl_wake_workers(s, n);
	}
	if (nwh > 0)
		ctl_wake_role(s, SHM_ROLE_WEBHOOK);
	if (retention_ns > 0 && now > retention_ns) {
		rtab_lock(s);
		while (evict_one_locked(s, now - retention_ns) == 0)
			;
		rtab_unlock(s);
	}
	return (n);
}
