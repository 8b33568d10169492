/*
 * impcore - the result table: spectra (records), batches, data arena.
 *
 * A record is one spectrum: its job (input, options) and then its result
 * and webhook state.  Its 64-bit state word {state:8, gen:24, pid:32} is the
 * truth and only changes by compare-and-swap; gen changes on every
 * transition, so a reader that sees the same word before and after copying
 * a record has a consistent copy.  Batches, the batch-id hash and the data
 * arena allocator are protected by one robust process-shared mutex; nothing
 * on the job path (take, finish) takes it.
 *
 * Lifetimes:
 *   FREE -> FILLING (submit, under the mutex) -> QUEUED -> RUNNING(pid, gen)
 *	-> DONE | FAILED;  QUEUED -> CANCELLED;  RUNNING(dead pid) -> QUEUED;
 *   DONE|FAILED|CANCELLED -> FREE (eviction, under the mutex, only when the
 *	webhook state is NONE or DELIVERED).
 * Webhook word {wh:8, attempts:24, pid:32}, also CAS only:
 *   NONE | PENDING -> INFLIGHT(pid) -> DELIVERED | PENDING (retry) | FAILED;
 *   INFLIGHT(dead pid) -> PENDING;  FAILED -> PENDING (retry by hand).
 * A batch in webhook_mode batch (issue 18) has one such word of its own
 * instead of its records' (theirs are NONE): WAITING until its last record
 * is final (done, failed or cancelled), then the same machine; a batch
 * sent in parts goes INFLIGHT -> PENDING once per part delivered
 * (rtab_wh_part_done).  Deliveries are numbered ("items"): 0 ..
 * nrecords - 1 are records, nrecords + b is batch b's.
 *
 * Unless noted, functions need a read-write mapping.  Functions marked
 * "read-only ok" work on impctl's PROT_READ mapping, without the mutex,
 * and bound every index they follow (they are rtab_read.c).
 *
 * The table wakes nobody: a function that makes jobs or deliveries due
 * pushes them on their ring and tells its caller (struct rtab_due, or as
 * its contract says), and the caller wakes the processes (ctl_wake_due).
 */
#ifndef IMP_RTAB_H
#define IMP_RTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct shm;

#define RTAB_ID_MAX		64	/* batch id: [A-Za-z0-9._:-]{1,64} */
#define RTAB_URL_MAX		512	/* webhook URL, bytes */
#define RTAB_CIRCUIT_MAX	127	/* circuit code, bytes (canonical form) */
#define RTAB_RESID_LEN		16	/* result id: 16 lower-case hex digits */
#define RTAB_ERR_MAX		128	/* error texts, including the NUL */
#define RTAB_PARAMS_MAX		64	/* = IMPFIT_MAX_PARAMS */
#define RTAB_NONE		UINT32_MAX

enum rtab_state {
	RTAB_FREE = 0,
	RTAB_FILLING,		/* being written by a submitter (holds the mutex) */
	RTAB_QUEUED,
	RTAB_RUNNING,		/* owner pid + gen = the lease */
	RTAB_DONE,		/* fitted (any fit_status but bad_input) */
	RTAB_FAILED,		/* the engine refused it (error set) */
	RTAB_CANCELLED
};

enum rtab_wh {
	RTAB_WH_NONE = 0,	/* no webhook: kept for polling only */
	RTAB_WH_WAITING,	/* has a webhook; the job is not finished yet */
	RTAB_WH_PENDING,	/* to deliver at wh_next */
	RTAB_WH_INFLIGHT,	/* a webhook process (pid) is delivering it */
	RTAB_WH_DELIVERED,
	RTAB_WH_FAILED		/* given up after -webhook-max-age; kept */
};

/*
 * What a call made due: jobs pushed on the job ring (the caller wakes as
 * many idle workers) and deliveries pushed on the webhook ring (the
 * caller wakes the webhook process).  Set whole by the functions that
 * take one, whatever they return.
 */
struct rtab_due {
	uint32_t	jobs;
	uint32_t	webhooks;
};

/* --- submitting ------------------------------------------------------------- */

/*
 * What a result carries beside the fit (issue 16), as asked for: the
 * Lin-KK test ("validate": "linkk") and the DRT ("drt": true).  Both are
 * computed when the result is rendered, from the stored spectrum.
 */
#define RTAB_VALIDATE_NONE	0
#define RTAB_VALIDATE_LINKK	1
struct rtab_extras {
	uint8_t		validate;	/* RTAB_VALIDATE_* */
	uint8_t		lk_type;	/* enum impfit_linkk_type */
	uint8_t		lk_add_cap;
	uint8_t		drt;
	uint16_t	lk_max_m;	/* 0: 50 */
	uint16_t	pad;
	uint32_t	pad2;
	double		lk_c;		/* mu cut-off */
	double		drt_lambda;	/* 0: the engine's default */
};

/* One spectrum, validated by the caller (finite, f > 0, n >= nparams ...). */
struct rtab_spec {
	int		iteration;
	int		n;			/* points */
	const double	*freq, *zre, *zim;
	const char	*circuit;		/* canonical code, <= RTAB_CIRCUIT_MAX */
	int		nparams;		/* of the circuit */
	int		method;			/* enum impfit_method */
	int		weighting;		/* enum impfit_weighting */
	int		max_iterations;		/* 0: engine default */
	uint32_t	timeout_ms;		/* fit time budget; 0: the server's default */
	int		ninit;			/* 0 or nparams */
	const double	*init;
	/* constraints (issue 15, part 3): 0 or nparams bounds each, NaN
	 * where none, lower == upper a constant (fit_options) */
	int		ncons;
	const double	*lower, *upper;
	const char	*webhook_url;		/* NULL: the batch's */
	struct rtab_extras extras;		/* Lin-KK, DRT */
};

#define RTAB_WHMODE_SPECTRUM	0	/* one delivery per result (default) */
#define RTAB_WHMODE_BATCH	1	/* one delivery per finished batch */

struct rtab_batch_in {
	const char		*id;		/* NULL: generate one */
	const char		*webhook_url;	/* NULL: none */
	int			webhook_mode;	/* RTAB_WHMODE_*; batch needs webhook_url */
	int			n;
	const struct rtab_spec	*spec;
	uint32_t		queue_limit;	/* queued+running may not exceed it */
	int			sync;		/* a POST /eis-data record: stored DONE by rtab_store_done */
};

enum rtab_rc {
	RTAB_OK = 0,
	RTAB_EXISTS,		/* batch id known, same spectra: nothing done, *batch set */
	RTAB_CONFLICT,		/* batch id known with other spectra: nothing done, *batch set */
	RTAB_FULL,		/* queue limit reached: 503 */
	RTAB_NOSPACE,		/* no record or arena room even after eviction: 503 */
	RTAB_TOOBIG,		/* more than the state file holds even empty: 413 */
	RTAB_NOTFOUND,
	RTAB_ERROR
};

/*
 * Accept a whole batch or nothing.  A batch id that is known already is
 * RTAB_EXISTS when the batch was posted with the same spectra and options
 * (a digest stored with the batch; the client's retry) and RTAB_CONFLICT
 * when not, both with *batch and id[] set and nothing queued.  On RTAB_OK the records are QUEUED and
 * pushed on the job ring (the caller then wakes workers, ctl_wake_workers),
 * *batch is the batch index and id[] the batch id.  May evict finished
 * results to make room (counted in results_evicted).
 */
enum rtab_rc rtab_submit(struct shm *shm, const struct rtab_batch_in *in,
    uint32_t *batch, char id[RTAB_ID_MAX + 1]);
/*
 * -retention, for this process's submits: results without a webhook that
 * finished less than ns ago are not evicted to make room (0: they are).
 */
void rtab_set_retention(uint64_t ns);
/* A worker, at start: this process's first touches of arena pages fault
 * them in one page at a time, without readahead (see rtab_arena.c). */
void rtab_arena_random(struct shm *shm);

/* Queued + running spectra (read-only ok). */
uint32_t rtab_queue_depth(const struct shm *shm);
/* Queued + running + undelivered webhooks, by a scan (read-only ok). */
uint64_t rtab_pending(const struct shm *shm);

/* --- the job path (workers) ------------------------------------------------- */

/*
 * A job taken by a worker.  The pointers point into the state file and stay
 * valid while the lease is held.
 */
struct rtab_job {
	uint32_t	rec;
	uint64_t	lease;		/* state word of our RUNNING state */
	int		iteration;
	int		n, nparams, ninit;
	const double	*freq, *zre, *zim, *init;
	const double	*lower, *upper;	/* NULL: no constraints */
	const char	*circuit;
	int		method, weighting, max_iterations;
	uint32_t	timeout_ms;	/* fit time budget; 0: the server's default */
};

/* What a fit produced. */
struct rtab_outcome {
	int		failed;		/* 1: FAILED with error, else DONE */
	int		fit_status;	/* enum impfit_status */
	int		nparams;
	const double	*params, *std_errors;
	double		chi_square;
	int		iterations, evaluations;
	uint64_t	fit_ns;
	const char	*error;		/* when failed */
};

/*
 * A job whose lease was lost to a dead process this many times is not
 * queued again but FAILED with RTAB_POISON_ERROR (jobs_poisoned): it is
 * what killed them, and retrying it for ever would kill workers for ever.
 */
#define RTAB_POISON_LOSSES	2
#define RTAB_POISON_ERROR	"fitting it killed a worker twice"
/*
 * A record whose fields do not fit (offsets, sizes, enums, texts: a
 * corrupt state file) is never followed: writers make it FAILED with this
 * error, readers see it so (rtab_view_get).
 */
#define RTAB_CORRUPT_ERROR	"corrupt record quarantined"

/*
 * Pop the job ring until a record is QUEUED and our CAS to RUNNING(pid)
 * wins (stale entries are dropped: jobs_stale).  0 with *job filled, -1 when
 * the ring is empty.  A corrupt record popped on the way is FAILED, which
 * may make deliveries due (*due, either way).
 */
int rtab_job_take(struct shm *shm, pid_t pid, struct rtab_job *job,
    struct rtab_due *due);

/*
 * Store the outcome and move RUNNING -> DONE/FAILED (webhook WAITING ->
 * PENDING, pushed on the webhook ring: *due; so may its batch's delivery
 * be).  0 ok; -1 when the lease was lost (the record changed hands:
 * result discarded, jobs_lost_lease).
 */
int rtab_job_finish(struct shm *shm, const struct rtab_job *job,
    const struct rtab_outcome *out, struct rtab_due *due);

/*
 * Synchronous POST /eis-data with a webhook: store an already fitted
 * spectrum as a one-record batch in state DONE/FAILED with its webhook
 * PENDING.  *rec receives the record; its result id is returned in resid.
 * On RTAB_OK its delivery is due (pushed): the caller wakes the webhook
 * process.
 */
enum rtab_rc rtab_store_done(struct shm *shm, const struct rtab_spec *spec,
    const char *webhook_url, const struct rtab_outcome *out, uint32_t *rec,
    char resid[RTAB_RESID_LEN + 1]);

/* --- reading ---------------------------------------------------------------- */

/* A consistent private copy of one record (read-only ok). */
struct rtab_view {
	uint32_t	rec;
	uint64_t	word;		/* state word at copy time */
	enum rtab_state	state;
	pid_t		owner;		/* RUNNING: lease holder */
	char		batch_id[RTAB_ID_MAX + 1];
	char		result_id[RTAB_RESID_LEN + 1];
	int		iteration;
	int		n, nparams, ninit;
	char		circuit[RTAB_CIRCUIT_MAX + 1];
	int		method, weighting, max_iterations;
	uint32_t	timeout_ms;	/* 0: the server's default */
	struct rtab_extras extras;
	int		lease_losses;	/* leases lost to a dead process */
	int		fit_status;
	double		chi_square;
	int		iterations, evaluations;
	uint64_t	fit_ns;
	uint64_t	t_accepted, t_started, t_finished;	/* REALTIME ns; 0: not yet */
	char		error[RTAB_ERR_MAX];
	enum rtab_wh	wh;
	int		wh_attempts;
	pid_t		wh_owner;
	uint64_t	wh_first, wh_last, wh_next;		/* REALTIME ns */
	char		wh_error[RTAB_ERR_MAX];
	char		url[RTAB_URL_MAX + 1];			/* "" when none */
	/*
	 * A batch delivery (item >= nrecords): result_id is its webhook-id,
	 * iteration -1, state DONE, t_finished when its last record
	 * finished, wh_part the parts delivered so far; no data.
	 */
	int		wh_batch;
	uint32_t	wh_part;
	/* imp_malloc'd copies (one block), NULL when with_data was 0 */
	double		*freq, *zre, *zim, *init, *params, *std_errors;
	double		*lower, *upper;	/* constraints; NULL: none */
};

/*
 * Copy record rec into v (and its arrays when with_data).  0 ok, -1 when
 * the record is FREE/FILLING or kept changing.  rtab_view_free() releases
 * the arrays.
 */
int rtab_view_get(const struct shm *shm, uint32_t rec, int with_data,
    struct rtab_view *v);
void rtab_view_free(struct rtab_view *v);

struct rtab_batch_info {
	uint32_t	batch;
	char		id[RTAB_ID_MAX + 1];
	char		url[RTAB_URL_MAX + 1];
	uint64_t	created;		/* REALTIME ns */
	int		count;			/* spectra */
	int		queued, running, done, failed, cancelled;
	int		wh_pending, wh_inflight, wh_delivered, wh_failed;
	int		wh_mode;		/* RTAB_WHMODE_*; batch: the counts
						   are of its one delivery */
};

/*
 * Look a batch up by id.  On success fills *bi (with the per-state
 * counts) and, if recs is not NULL, an imp_malloc'd array of its
 * bi->count record indexes in submission order.  0 ok, -1 not found.
 * rtab_batch_find takes the mutex on a read-write mapping, so the walk
 * sees no eviction; rtab_batch_find_ro never does (read-only ok: impctl),
 * its counts may then mix a batch evicted meanwhile with its successor.
 */
int rtab_batch_find(const struct shm *shm, const char *id,
    struct rtab_batch_info *bi, uint32_t **recs);
int rtab_batch_find_ro(const struct shm *shm, const char *id,
    struct rtab_batch_info *bi, uint32_t **recs);
/* Iterate over batches, oldest first (read-only ok).  fn returns non-zero to stop. */
void rtab_batch_foreach(const struct shm *shm,
    int (*fn)(const struct rtab_batch_info *bi, void *arg), void *arg);
/* Batch status word: "queued", "running", "completed", "partial", "cancelled", "failed". */
const char *rtab_batch_status(const struct rtab_batch_info *bi);

/* Records capacity, and a record's state word decoded (read-only ok). */
uint32_t rtab_nrecords(const struct shm *shm);
enum rtab_state rtab_state_of(const struct shm *shm, uint32_t rec, pid_t *owner);
/* Find a record by result id (read-only ok); RTAB_NONE when unknown. */
uint32_t rtab_find_result(const struct shm *shm, const char *resid);

/*
 * Cancel the QUEUED spectra of a batch (RUNNING ones finish).  0 with
 * *ncancelled set, -1 unknown batch.  A batch delivery waiting for them
 * may become due (*due, either way).
 */
int rtab_batch_cancel(struct shm *shm, const char *id, int *ncancelled,
    struct rtab_due *due);

const char *rtab_state_name(enum rtab_state s);	/* "queued" ... */
const char *rtab_wh_name(enum rtab_wh w);		/* "none", "pending" ... */

/* --- webhooks (the webhook process) ------------------------------------------ */

/* Delivery items: records, then one per batch (read-only ok). */
uint32_t rtab_wh_items(const struct shm *shm);
/*
 * The records of batch delivery item, in spectrum order, into an
 * imp_malloc'd *recs; their number, or -1 when item is not a batch in
 * webhook_mode batch.  The chain is stable while the delivery is not
 * DELIVERED (the batch cannot be evicted).  Read-only ok.
 */
int rtab_wh_batch_recs(const struct shm *shm, uint32_t item, uint32_t **recs);
/*
 * A part of a batch delivery was delivered and more follow: wh_part+1,
 * INFLIGHT -> PENDING due now with a fresh attempt count and max-age
 * window (each part is a delivery of its own).  0 ok, -1 not ours.
 */
int rtab_wh_part_done(struct shm *shm, uint32_t item, pid_t pid);

/*
 * Candidates: items whose webhook is PENDING and due (wh_next <= now).
 * Fills up to max indexes, oldest due first is NOT promised.  Scans the
 * table: use the webhook ring (shm_wh_ring) for new work and this at start
 * and every few seconds.  Read-only ok.
 */
int rtab_wh_due(const struct shm *shm, uint64_t now, uint32_t *out, int max);
/* PENDING -> INFLIGHT(pid), attempts+1, wh_first set on the first attempt.  0 ok, -1 lost race. */
int rtab_wh_begin(struct shm *shm, uint32_t rec, pid_t pid);
/* INFLIGHT -> DELIVERED.  0 ok, -1 not ours any more. */
int rtab_wh_delivered(struct shm *shm, uint32_t rec, pid_t pid);
/* INFLIGHT -> PENDING at next (REALTIME ns), with the error text. */
int rtab_wh_retry(struct shm *shm, uint32_t rec, pid_t pid, uint64_t next,
    const char *err);
/* INFLIGHT -> FAILED with the error text. */
int rtab_wh_failed(struct shm *shm, uint32_t rec, pid_t pid, const char *err);
/*
 * By hand (impctl webhook-retry): FAILED -> PENDING, due now, attempts
 * kept; 0 when it is due (pushed on the webhook ring).  impctl holds no
 * eventfd to wake the webhook process: its periodic scan finds it.
 */
int rtab_wh_retry_now(struct shm *shm, uint32_t rec);
/* The webhook URL of a record (its own, else its batch's); "" when none. */
int rtab_wh_url(const struct shm *shm, uint32_t rec, char url[RTAB_URL_MAX + 1]);

/* --- master --------------------------------------------------------------- */

/*
 * At start, on a kept file: rebuild the free lists, batch hash, arena
 * bitmap and both rings from the record states; QUEUED and RUNNING jobs are
 * queued again, INFLIGHT webhooks PENDING again, half-submitted batches
 * dropped.  On a new file: initialise.  0 ok, -1 with *cause.
 */
int rtab_recover(struct shm *shm, int fresh, char **cause);
/*
 * After a child died: its RUNNING jobs -> QUEUED (pushed again); its
 * INFLIGHT webhooks -> PENDING.  blame: the fit may have killed it (a
 * crash signal, or the watchdog found it hung): each such death counts a
 * lost lease on the jobs it held, and at the RTAB_POISON_LOSSES-th a job
 * is FAILED instead (logged, counted in jobs_poisoned, webhook WAITING ->
 * PENDING).  A kill from outside (kill -9, a reload's drain deadline, the
 * whole tree at once) blames no job.  Returns the number of jobs requeued;
 * *due: those and the deliveries made PENDING (the caller wakes).
 */
int rtab_reclaim_pid(struct shm *shm, pid_t dead, int blame,
    struct rtab_due *due);
/*
 * Periodic (about 1 s): push QUEUED records missing from the job ring for
 * more than grace_ns, and PENDING webhooks missing from the webhook ring;
 * evict results older than retention_ns (delivered or webhook-less).
 * Returns the number of jobs pushed again; *due: those and the deliveries
 * pushed again or made due (the caller wakes).
 */
int rtab_maintain(struct shm *shm, uint64_t now, uint64_t grace_ns,
    uint64_t retention_ns, struct rtab_due *due);

#endif /* IMP_RTAB_H */
