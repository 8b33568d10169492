/*
 * impcore - worker process internals (shared by src/worker/wrk_*.c only).
 *
 * A worker runs one libevent loop: the HTTP API on the inherited listening
 * socket, its slot's eventfd (wake-ups and ctl commands), and a "work"
 * event that fits one job per loop turn while the ring has jobs, so HTTP
 * stays responsive between fits.
 */
#ifndef IMP_WRK_PRIV_H
#define IMP_WRK_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "impfit.h"
#include "common/rtab.h"

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
	struct event		*ev_ctl, *ev_work, *ev_tick, *ev_drain;
	struct event		*ev_sig[4];
	struct fit_workspace	*ws;
	uint32_t		max_points;	/* min(-max-points, the state file's) */
	int			def_method;
	char			def_circuit[RTAB_CIRCUIT_MAX + 1];
	int			stopping;
	int			fitting;
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
	double		init[FIT_MAX_PARAMS];
	char		*webhook_url;		/* own or inherited; NULL none */
	int		own_url;		/* webhook_url set on the spectrum itself */
};

struct wrk_batch {
	char			*id;		/* NULL: generate */
	char			*webhook_url;	/* batch level (or -webhook-url) */
	int			n;
	struct wrk_spectrum	*spec;
};

/* 0 ok; -1 with *e filled (status 400 or 413). */
int wrk_parse_batch(const char *body, size_t len, struct wrk_batch *b,
    struct wrk_err *e);
int wrk_parse_single(const char *body, size_t len, struct wrk_spectrum *s,
    struct wrk_err *e);
void wrk_batch_free(struct wrk_batch *b);
void wrk_spectrum_free(struct wrk_spectrum *s);
/* -webhook-allow parsed with libcurl's URL API; 0 ok, -1 bad list (logged). */
int wrk_allow_init(const char *list);
int wrk_url_allowed(const char *url, char *why, size_t len);

/* --- wrk_fit.c: fitting ----------------------------------------------------- */

/* Parsed circuit for a canonical code (a small per-process cache); NULL + err when invalid. */
const struct fit_circuit *wrk_circuit(const char *code, char *err, size_t len);
/* Fit one job from the ring, if any.  1 fitted, 0 ring empty. */
int wrk_fit_next(void);
/*
 * Fit a spectrum now (POST /eis-data); fills res.  Counts and logs like a
 * queued job.
 */
void wrk_fit_sync(const struct wrk_spectrum *s, struct fit_result *res,
    uint64_t *fit_ns);
/* res as the result table stores it (pointers into res). */
void wrk_outcome(struct rtab_outcome *out, const struct fit_result *res,
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
void wrk_api_error(struct hreq *r, int status, const char *msg, void *arg);

#endif /* IMP_WRK_PRIV_H */
