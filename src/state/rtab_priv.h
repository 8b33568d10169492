/*
 * impcore - result table layout.  NB: THIS IS NOT A PUBLIC API (see
 * shm_priv.h).  Single writers and locking rules are noted per field.
 */
#ifndef IMP_RTAB_PRIV_H
#define IMP_RTAB_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "state/rtab.h"

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

#endif /* IMP_RTAB_PRIV_H */
