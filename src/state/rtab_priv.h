/*
 * impcore - result table layout, and what the rtab_*.c files share.  NB:
 * THIS IS NOT A PUBLIC API (see shm_priv.h).  Single writers and locking
 * rules are noted per field.
 *
 * The job path (take, finish) and the webhook path are lock-free: each is a
 * CAS on a record's state word or webhook word by the process that owns the
 * transition.  Allocation (records, batches, arena runs), the batch hash
 * and batch lists change under one robust process-shared mutex; a process
 * dying while holding it makes the next taker rebuild all of that from the
 * record states (rtab_repair_locked), which is also what the master does at
 * start.  See README.md for the invariants.
 *
 *   rtab_read.c	what impctl's read-only mapping may call: no mutex, no store
 *   rtab_submit.c	whole batches in, the batch digest
 *   rtab_job.c		take and finish (workers), poison pills
 *   rtab_whk.c		the webhook word's transitions (the webhook process)
 *   rtab_batch.c	batch hash, eviction, batch deliveries, cancel
 *   rtab_arena.c	the data arena's bitmap
 *   rtab_repair.c	the mutex, repair and recovery
 *   rtab_master.c	a dead process's leases, the once-a-second upkeep
 *
 * None of them wakes a process: a function that makes jobs or deliveries
 * due says so to its caller, who owns the wake-up (ctl).
 */
#ifndef IMP_RTAB_PRIV_H
#define IMP_RTAB_PRIV_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "state/rtab.h"
#include "state/shm_priv.h"

#define RTAB_EVICT_SCAN	1024	/* batches an eviction for room looks at */
#define RTAB_HEAD_MAGIC		0x52544142u	/* "RTAB" */
#define RTAB_REC_MAGIC		0x52454331u	/* "REC1" */
#define RTAB_BATCH_MAGIC	0x42415431u	/* "BAT1" */
#define RTAB_UNIT		64		/* arena allocation unit, bytes */
#define RTAB_HASH_EMPTY		0u
#define RTAB_HASH_TOMB		UINT32_MAX

enum rtab_bstate { RTAB_B_FREE = 0, RTAB_B_BUILDING, RTAB_B_READY };

/* Shared head of the table.  Fields marked [M] only change under mtx. */
struct rtab_head {
	uint32_t	magic;
	uint32_t	pad;
	pthread_mutex_t	mtx;		/* robust, process-shared */
	uint32_t	nfree_recs;	/* [M] entries in the free-record stack */
	uint32_t	nfree_batches;	/* [M] */
	uint32_t	hash_used;	/* [M] live entries */
	uint32_t	hash_tombs;	/* [M] */
	uint32_t	arena_cursor;	/* [M] next unit to try */
	uint32_t	arena_free;	/* [M] free units */
	uint32_t	active;		/* queued + running (atomic) */
	uint32_t	pad2;
	uint64_t	batch_seq;	/* [M] creation order */
	uint32_t	oldest, newest;	/* [M] READY batches by seq (eviction) */
};

/*
 * One spectrum.  word and whword change by CAS only.  The other fields are
 * written while the writer owns the record: FILLING (the submitter),
 * RUNNING (the lease holder: results), webhook INFLIGHT (the webhook
 * process: wh_*), or under mtx for FREE records.
 */
struct rtab_rec {
	uint64_t	word;		/* {state:8, gen:24, pid:32} */
	uint64_t	whword;		/* {wh:8, attempts:24, pid:32} */
	uint32_t	magic;
	uint32_t	batch;		/* index, RTAB_NONE when FREE */
	uint32_t	next;		/* next record of the batch, RTAB_NONE */
	int32_t		iteration;
	uint32_t	n, nparams, ninit, url_len;
	uint32_t	data_unit, data_units;	/* arena run */
	uint8_t		method, weighting;
	uint8_t		losses;		/* leases lost to a dead process (master) */
	uint8_t		sync_state;	/* a sync record's final state, else 0 */
	int32_t		max_iterations;
	int32_t		fit_status;
	int32_t		iterations, evaluations;
	uint32_t	timeout_ms;	/* fit budget, 0: server default (layout 5) */
	uint32_t	ncons;		/* 0 or nparams: bounds after std_errors */
	uint32_t	pad;
	struct rtab_extras extras;	/* Lin-KK, DRT (layout 5) */
	double		chi2;
	uint64_t	fit_ns;
	uint64_t	t_accepted, t_queued, t_started, t_finished;
	uint64_t	wh_first, wh_last, wh_next;
	char		circuit[RTAB_CIRCUIT_MAX + 1];
	char		resid[RTAB_RESID_LEN + 8];
	char		error[RTAB_ERR_MAX];
	char		wh_error[RTAB_ERR_MAX];
};

/*
 * A batch.  In webhook_mode batch (issue 18) it carries its own delivery:
 * whword {wh:8, attempts:24, pid:32} changes by CAS only, as a record's
 * does; wh_* and wh_part are written by whoever owns the transition (the
 * INFLIGHT webhook process, the finisher that makes it PENDING, the
 * master for a dead pid).  unfinished counts the records not yet final
 * and is only a hint: the one who brings it to 0 checks the records
 * (rtab_batch_wh_ready); rtab_maintain and recovery check them too.
 */
struct rtab_batch {
	uint32_t	magic;
	uint32_t	state;		/* enum rtab_bstate, [M] */
	uint64_t	seq;
	uint64_t	created;
	uint64_t	whword;		/* webhook_mode batch: the delivery */
	uint64_t	t_done;		/* REALTIME ns: its last record finished */
	uint64_t	wh_first, wh_last, wh_next;
	uint32_t	wh_mode;	/* RTAB_WHMODE_*, set at submit */
	uint32_t	unfinished;	/* records not final (atomic, a hint) */
	uint32_t	wh_part;	/* parts delivered (the INFLIGHT owner) */
	uint32_t	pad;
	char		wh_id[RTAB_RESID_LEN + 8];	/* the delivery's webhook-id */
	char		wh_error[RTAB_ERR_MAX];
	uint32_t	count;
	uint32_t	first, last;	/* records */
	uint32_t	url_unit, url_units, url_len;
	uint32_t	older, newer;	/* [M] the READY list, RTAB_NONE at ends */
	uint64_t	digest;		/* of what was posted: rtab_digest (layout 5) */
	char		id[RTAB_ID_MAX + 8];
};

/* State word helpers. */
#define W_STATE(w)	((unsigned)((w) & 0xff))
#define W_GEN(w)	((unsigned)(((w) >> 8) & 0xffffff))
#define W_PID(w)	((pid_t)(uint32_t)((w) >> 32))
#define W_MAKE(st, gen, pid) \
	((uint64_t)(st) | ((uint64_t)((gen) & 0xffffff) << 8) | \
	    ((uint64_t)(uint32_t)(pid) << 32))
#define W_NEXT(w, st, pid)	W_MAKE((st), W_GEN(w) + 1, (pid))

/*==================================================================
 * Helpers every rtab_*.c file may use (read-only ok unless they store)
 */

#define NREC(s)		((s)->head->nrecords)
#define NBATCH(s)	((s)->head->nbatches)

static inline int
rec_cas(struct rtab_rec *r, uint64_t old, uint64_t nw)
{
	return (uatomic_cmpxchg(&r->word, old, nw) == old);
}

static inline int
wh_cas(struct rtab_rec *r, uint64_t old, uint64_t nw)
{
	return (uatomic_cmpxchg(&r->whword, old, nw) == old);
}

static inline int
st_final(unsigned st)
{
	return (st == RTAB_DONE || st == RTAB_FAILED || st == RTAB_CANCELLED);
}

/*
 * Arena bytes of a record, in units: freq, zre, zim (n each), init
 * (ninit), params, std_errors (np each), lower, upper (ncons each), url.
 */
static inline uint32_t
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

static inline double *
rec_data(const struct shm *s, const struct rtab_rec *r)
{
	return ((double *)(void *)(s->arena + (uint64_t)r->data_unit * RTAB_UNIT));
}

static inline char *
rec_url(const struct shm *s, const struct rtab_rec *r)
{
	double *d = rec_data(s, r);

	return ((char *)(d + 3 * r->n + r->ninit + 2 * r->nparams +
	    2 * r->ncons));
}

static inline void
copy_str(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static inline uint64_t
hash_str(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*p != '\0') {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ull;
	}
	return (h);
}

struct seqidx {
	uint64_t	seq;
	uint32_t	idx;
};

static inline int
seqidx_cmp(const void *a, const void *b)
{
	const struct seqidx *x = a, *y = b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Is bi a live batch that delivers itself (as a whole)? */
static inline int
batch_whmode(const struct shm *s, uint32_t bi)
{
	return (bi < NBATCH(s) &&
	    CMM_LOAD_SHARED(s->batches[bi].state) == RTAB_B_READY &&
	    CMM_LOAD_SHARED(s->batches[bi].wh_mode) == RTAB_WHMODE_BATCH);
}

/*==================================================================
 * Shared between the rtab_*.c files ("_locked": the caller holds the mutex)
 */

/* rtab_read.c (read-only ok) */
const char *rtab_rec_invalid(const struct shm *s, const struct rtab_rec *r);
uint32_t rtab_hash_find(const struct shm *s, const char *id);

/* rtab_repair.c */
void rtab_lock(struct shm *s);
void rtab_unlock(struct shm *s);
void rtab_rec_quarantine(struct shm *s, uint32_t i, const char *why);

/* rtab_arena.c */
int rtab_bm_get(const struct shm *s, uint32_t u);
void rtab_bm_run(struct shm *s, uint32_t u, uint32_t k, int set);
uint32_t rtab_arena_alloc_locked(struct shm *s, uint32_t k);
void rtab_arena_free_locked(struct shm *s, uint32_t u, uint32_t k);

/* rtab_batch.c */
void rtab_hash_insert_locked(struct shm *s, uint32_t bi);
void rtab_hash_rebuild_locked(struct shm *s);
void rtab_order_append_locked(struct shm *s, uint32_t bi);
void rtab_order_rebuild_locked(struct shm *s);
int rtab_evict_one_locked(struct shm *s, uint64_t older_than);
uint32_t rtab_batch_unfinished(const struct shm *s, const struct rtab_batch *b);
int rtab_batch_wh_ready(struct shm *s, uint32_t bi, uint64_t now);
int rtab_batch_rec_final(struct shm *s, uint32_t bi, int bmode, uint64_t now);

/* rtab_job.c */
int rtab_rec_poison(struct shm *s, uint32_t i, uint64_t w);
int rtab_rec_wh_complete(struct shm *s, uint32_t i, uint64_t now);

/* rtab_submit.c */
void rtab_rec_outcome(struct shm *s, struct rtab_rec *r,
    const struct rtab_outcome *o, uint64_t now);

#endif /* IMP_RTAB_PRIV_H */
