/*
 * impcore - worker process internals (shared by src/worker/wrk_*.c only).
 *
 * A worker has two threads.  The HTTP thread runs the libevent loop: the
 * API on the inherited listening socket, its slot's eventfd (wake-ups and
 * ctl commands), signals and the heartbeat.  The fitting thread (wrk_fit.c)
 * fits jobs from the ring and the synchronous spectra the HTTP thread hands
 * it, so no fit, however long, delays an answer or the heartbeat.
 *
 * What the threads share: the state file (lock-free by design), the
 * counters (atomic adds, stat.h), the sync queue and done list of wrk_fit.c
 * (a mutex).  Everything else belongs to one thread: struct wrk is written
 * by the HTTP thread only (after wrk_fit_start, the fitting thread only
 * reads its constants), the workspace is the fitting thread's, and the
 * parsed-circuit cache is per thread.
 */
#ifndef IMP_WRK_PRIV_H
#define IMP_WRK_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "impfit.h"
#include "state/rtab.h"

struct cfg;
struct child_ctx;
struct event;
struct event_base;
struct hreq;
struct hsrv;
struct shm;
struct shm_proc;

#define WRK_MAGIC	0x57524b21u
#define WRK_MAX_ITERATIONS	100000	/* largest max_iterations a request may ask */
#define WRK_FIT_GRACE_NS	(30ull * 1000000000)	/* a fit past its budget + this is hung */
#define WRK_ADMIT_POLL_US	2000	/* held batch POSTs ask again this often */

struct wrk {
	unsigned		magic;
	struct child_ctx	*ctx;
	const struct cfg	*cfg;
	struct shm		*shm;
	struct shm_proc		*proc;
	int			index;
	pid_t			pid;		/* getpid() is a system call each time */
	struct event_base	*base;
	struct hsrv		*http;
	struct event		*ev_ctl, *ev_tick, *ev_drain, *ev_admit;
	struct event		*ev_sig[4];
	struct impfit_workspace	*ws;		/* the fitting thread's */
	uint32_t		max_points;	/* min(-max-points, the state file's) */
	int			def_method;
	char			def_circuit[RTAB_CIRCUIT_MAX + 1];
	int			stopping;
	int			batch_est;	/* spectra in the last batch posted here */
	int			bench_fd;
	uint64_t		drain_deadline;	/* CLOCK_MONOTONIC ns */
};

extern struct wrk	wrk;

/* --- wrk_json.c: request bodies -------------------------------------------- */

/* A validation failure: HTTP status, message, JSON path of the culprit. */
struct wrk_err {
	int	status;
	char	msg[256];
	char	field[256];
};

struct wrk_spectrum {
	int		iteration;
	int		n;
	double		*freq, *zre, *zim;	/* imp_malloc'd, one block */
	char		circuit[RTAB_CIRCUIT_MAX + 1];	/* canonical */
	int		nparams;
	int		method, weighting, max_iterations;
	uint64_t	timeout_ns;		/* the fit's time budget; 0: not given */
	int		ninit;
	double		init[IMPFIT_MAX_PARAMS];
	/* constants and bounds (issue 15, part 3): 0 or nparams each, NaN
	 * where none, lower == upper a constant */
	int		ncons;
	double		lower[IMPFIT_MAX_PARAMS], upper[IMPFIT_MAX_PARAMS];
	char		*webhook_url;		/* own or inherited; NULL none */
	int		own_url;		/* webhook_url set on the spectrum itself */
	struct rtab_extras extras;		/* validate, drt (issue 16) */
};

/* "webhook_mode" of a batch (issue 18); not given: -webhook-mode */
#define WRK_WHMODE_DEFAULT	0
#define WRK_WHMODE_SPECTRUM	1
#define WRK_WHMODE_BATCH	2

struct wrk_batch {
	char			*id;		/* NULL: generate */
	char			*webhook_url;	/* batch level (or -webhook-url) */
	int			webhook_mode;	/* WRK_WHMODE_* */
	int			n;
	struct wrk_spectrum	*spec;
};

/* 0 ok; -1 with *e filled (status 400 or 413). */
int wrk_parse_batch(const char *body, size_t len, struct wrk_batch *b,
    struct wrk_err *e);
int wrk_parse_single(const char *body, size_t len, struct wrk_spectrum *s,
    struct wrk_err *e);
void wrk_batch_free(struct wrk_batch *b);
/* NULL when id is a valid batch id, else what is wrong with it. */
const char *wrk_batch_id_why(const char *id);
void wrk_spectrum_free(struct wrk_spectrum *s);
/* -webhook-allow parsed with libcurl's URL API; 0 ok, -1 bad list (logged). */
int wrk_allow_init(const char *list);
int wrk_url_allowed(const char *url, char *why, size_t len);

/* --- wrk_file.c: POST /eis-data/file ------------------------------------ */

/* The request's file and query parameters as a batch: 0, or -1 with *e
 * (400 broken file or bad parameter, 413 past a limit, 415 unknown format). */
int wrk_file_batch(struct hreq *r, struct wrk_batch *b, struct wrk_err *e);

/* --- wrk_fit.c: the fitting thread ---------------------------------------- */

/* Parsed circuit for a canonical code (a small per-thread cache); NULL + err when invalid. */
const struct impfit_circuit *wrk_circuit(const char *code, char *err, size_t len);
/* Free this thread's parsed circuits (at thread exit). */
void wrk_circuit_flush(void);

/* A POST /eis-data spectrum handed to the fitting thread. */
struct wrk_sync {
	struct wrk_sync		*next;
	struct wrk_spectrum	s;
	struct impfit_result	res;
	uint64_t		fit_ns;
	int64_t			mem0;	/* mem_in_use() when the request came */
	/* runs in the fitting thread after the fit (the answer's heavy
	 * part: Lin-KK, DRT, rendering); NULL none */
	void			(*fitted)(struct wrk_sync *j);
	/* runs in the HTTP thread once fitted (also at exit, to free j) */
	void			(*done)(struct wrk_sync *j);
};

/*
 * The 🔍 line of a spectrum (-profile, not -quiet): its fit time, the heap
 * bytes its whole handling allocated minus freed, the tasks, the heap in
 * use and the RSS.
 */
void wrk_spectrum_log(uint64_t fit_ns, int64_t mem_delta);
/* Start the fitting thread (after the loop's base exists).  0 ok, -1 logged. */
int wrk_fit_start(void);
/* The ring may have jobs (a wake-up, the tick). */
void wrk_fit_kick(void);
/* Fit j before any further ring job; j->done runs in the loop afterwards. */
void wrk_fit_submit(struct wrk_sync *j);
/* Draining: take no more ring jobs (queued sync spectra are still fitted). */
void wrk_fit_ring_off(void);
/* After the loop: finish the running fit and the sync queue, join, run done. */
void wrk_fit_stop(void);
/* ns the running fit has taken so far (0: none running). */
uint64_t wrk_fit_running_ns(uint64_t now);
/* The budget of a fit: the request's timeout, capped by -fit-timeout (ns). */
uint64_t wrk_fit_budget(uint64_t asked_ns);
/* res as the result table stores it (pointers into res). */
void wrk_outcome(struct rtab_outcome *out, const struct impfit_result *res,
    uint64_t fit_ns);
/* IMPCORE_TEST_FIT_DELAY_US: tests only, a pause after each fit. */
extern long	wrk_test_delay_us;
/* IMPCORE_TEST_JTOK_REFUSE: tests only, the tokenizer refuses every body,
 * so the re-encode fallback of wrk_json.c load() runs. */
extern int	wrk_test_jtok_refuse;
/* Live server tasks: processes + in-flight requests + running fits
 * ("goroutines"); now is tim_mono() (a scan at most once a millisecond). */
int wrk_tasks(uint64_t now);

/* --- wrk_api.c: HTTP -------------------------------------------------------- */

void wrk_api_request(struct hreq *r, void *arg);
/* hsrv's admission hook: the token, and room in the queue, before a body is read. */
int wrk_api_admit(struct hreq *r, void *arg);
/* Held and parked batch POSTs: submit what fits now, refuse what waited too long. */
void wrk_api_admit_again(void);
void wrk_api_error(struct hreq *r, int status, const char *msg, void *arg);

#endif /* IMP_WRK_PRIV_H */
