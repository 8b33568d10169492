/*
 * impcore - worker: the fitting thread.
 *
 * It fits jobs from the ring and the synchronous spectra of POST /eis-data,
 * which the HTTP thread queues here (wrk_fit_submit) and which go before
 * the next ring job.  A fitted sync spectrum goes back on the done list and
 * an eventfd wakes the loop, which answers it.  When the ring is empty the
 * thread marks the worker idle in its process slot (producers then signal
 * the slot's eventfd; the loop turns that into wrk_fit_kick) and sleeps on
 * a condition variable.
 *
 * Why a thread and not the loop: a fit is microseconds to a minute (a
 * large circuit, Nelder-Mead, 1024 points); inside the loop one long fit
 * silenced /health and the heartbeat until the watchdog killed the worker.
 * Why not more fitting threads: -threads workers are the unit of fitting
 * parallelism already, one per core.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "impfit.h"

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "state/ctl.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "worker/wrk_priv.h"

/*
 * Parsed circuits by code.  Parse once, evaluate many times: a batch
 * usually has one circuit, a worker sees a handful.  One cache per thread
 * (the HTTP thread validates codes, the fitting thread fits them): no lock.
 */
#define WRK_NCIRC	16

static __thread struct {
	char			code[RTAB_CIRCUIT_MAX + 1];
	struct impfit_circuit	*c;
	uint64_t		used;
} wrk_circ[WRK_NCIRC];
static __thread uint64_t	wrk_circ_clock;

void
wrk_circuit_flush(void)
{
	int i;

	for (i = 0; i < WRK_NCIRC; i++)
		if (wrk_circ[i].c != NULL) {
			impfit_circuit_free(wrk_circ[i].c);
			wrk_circ[i].c = NULL;
		}
}

const struct impfit_circuit *
wrk_circuit(const char *code, char *err, size_t len)
{
	char e[160];
	int i, victim = 0;
	struct impfit_circuit *c;

	for (i = 0; i < WRK_NCIRC; i++)
		if (wrk_circ[i].c != NULL && strcmp(wrk_circ[i].code, code) == 0) {
			wrk_circ[i].used = ++wrk_circ_clock;
			return (wrk_circ[i].c);
		}
	c = impfit_circuit_parse(code, e, sizeof e);
	if (c == NULL) {
		if (err != NULL)
			snprintf(err, len, "%s", e);
		return (NULL);
	}
	if (strlen(code) > RTAB_CIRCUIT_MAX) {
		/* not cacheable; callers reject long codes before asking */
		impfit_circuit_free(c);
		if (err != NULL)
			snprintf(err, len, "circuit code too long");
		return (NULL);
	}
	for (i = 1; i < WRK_NCIRC; i++)
		if (wrk_circ[i].used < wrk_circ[victim].used)
			victim = i;
	if (wrk_circ[victim].c != NULL)
		impfit_circuit_free(wrk_circ[victim].c);
	snprintf(wrk_circ[victim].code, sizeof wrk_circ[victim].code, "%s", code);
	wrk_circ[victim].c = c;
	wrk_circ[victim].used = ++wrk_circ_clock;
	return (c);
}

long	wrk_test_delay_us;


/*
 * What a fit produced, as the result table stores it.  The pointers point
 * into res, which must outlive out.
 */
void
wrk_outcome(struct rtab_outcome *out, const struct impfit_result *res,
    uint64_t fit_ns)
{
	memset(out, 0, sizeof *out);
	out->failed = res->status == IMPFIT_BAD_INPUT;
	out->fit_status = res->status;
	out->nparams = res->nparams;
	out->params = res->params;
	out->std_errors = res->std_errors;
	out->chi_square = res->chi_square;
	out->iterations = res->iterations;
	out->evaluations = res->evaluations;
	out->fit_ns = fit_ns;
	out->error = res->error;
}

/*
 * The task count ("goroutines"): the processes and their requests and fits
 * in flight.  -profile asks for it twice a request and once a fit, and the
 * scan of the process table (shm_tasks: the slots ever used, their cache
 * lines written by the other processes) is what costs, so it is done at
 * most once a millisecond of the caller's clock: the count is a snapshot
 * of other processes anyway.  The caller passes a tim_mono() it has read
 * already (a request's start or end): reading a clock here, even
 * libevent's cached one, cost as much as the cached answer saves.
 */
#define WRK_TASKS_MAX_AGE_NS	1000000

int
wrk_tasks(uint64_t now)
{
	/* per thread: both threads log with -profile */
	static __thread uint64_t when;
	static __thread int n, valid;

	if (valid && now >= when && now - when < WRK_TASKS_MAX_AGE_NS)
		return (n);
	when = now;
	valid = 1;
	n = shm_tasks(wrk.shm);
	return (n);
}

static void
wrk_account(const struct impfit_result *res, uint64_t ns)
{
	if (res->status == IMPFIT_BAD_INPUT)
		STAT_INC(spectra_failed);
	else
		STAT_INC(spectra_fitted);
	if (res->status == IMPFIT_TIMEOUT)
		STAT_INC(fit_timeouts);
	STAT_ADD(fit_ns, ns);
	STAT_ADD(fit_iterations, (uint64_t)(res->iterations > 0 ? res->iterations : 0));
	STAT_ADD(fit_evaluations, (uint64_t)(res->evaluations > 0 ? res->evaluations : 0));
	stat_hist_add(STAT_H_fit_time, ns);
}

/*
 * This process's RSS, read from /proc at most every 100 ms per thread: the
 * line below is written per spectrum.
 */
static uint64_t
wrk_rss(uint64_t now)
{
	static __thread uint64_t when, rss;

	if (rss == 0 || now < when || now - when >= 100 * TIM_MS) {
		when = now;
		rss = mem_rss();
	}
	return (rss);
}

void
wrk_spectrum_log(uint64_t fit_ns, int64_t mem_delta)
{
	uint64_t now;

	/* log_req() drops the line with -quiet, but only after its arguments
	 * (a process table scan) were computed */
	if (!wrk.cfg->log_spectra || log_quiet())
		return;
	now = tim_mono();
	/*
	 * memory: the heap bytes allocated minus freed by this process over
	 * the spectrum's whole handling (issue 17, item 5: around the fit
	 * alone it is 0, the engine allocates nothing); heap and rss: what
	 * an operator watches grow, the process's heap in use (the same
	 * figure as heap_inuse_bytes) and its resident set.
	 */
	{
		int tasks = wrk_tasks(now);
		long long heap = (long long)mem_in_use();
		uint64_t rss = wrk_rss(now);
		struct log_field f[] = {
			LOG_FI("worker", wrk.index),
			LOG_FN("duration_ms", (double)fit_ns / 1e6),
			LOG_FI("memory_delta_bytes", mem_delta),
			LOG_FI("goroutines", tasks),
			LOG_FI("heap_bytes", heap),
			LOG_FI("rss_bytes", rss),
		};

		log_req_fields(f, (int)(sizeof f / sizeof f[0]),
		    "\xf0\x9f\x94\x8d Worker[%d] eis-processing: %.3fms, "
		    "memory: %+lld bytes, goroutines: %d, heap: %lld bytes, "
		    "rss: %llu bytes", wrk.index, (double)fit_ns / 1e6,
		    (long long)mem_delta, tasks, heap, (unsigned long long)rss);
	}
}

static void
wrk_bench(const char *batch, int iteration, int n, const char *circuit,
    int method, uint64_t wait_ns, uint64_t fit_ns, const struct impfit_result *res)
{
	char line[512], ts[48];
	int len;

	if (wrk.bench_fd < 0)
		return;
	len = snprintf(line, sizeof line, "%s,%d,%d,%s,%d,%s,%s,%.6f,%.6f,%d,%.9g,%s\n",
	    tim_rfc3339(tim_real(), 1, ts, sizeof ts), wrk.index, (int)wrk.pid,
	    batch, iteration, circuit, impfit_method_name((enum impfit_method)method),
	    (double)fit_ns / 1e6, (double)wait_ns / 1e6, n,
	    res->chi_square, impfit_status_name(res->status));
	/* one write(2) per line: O_APPEND keeps lines whole across workers */
	if (len > 0 && write(wrk.bench_fd, line, (size_t)len) < 0)
		log_syserr("write(benchmark csv)");
}

uint64_t
wrk_fit_budget(uint64_t asked_ns)
{
	return (asked_ns > 0 && asked_ns < wrk.cfg->fit_timeout ? asked_ns :
	    wrk.cfg->fit_timeout);
}

static uint64_t	fit_t0;		/* tim_mono() at the running fit's start; 0: none (atomic) */

static void
wrk_fit_run(const struct impfit_circuit *c, const double *freq, const double *zre,
    const double *zim, int n, int method, int weighting, int max_it,
    uint64_t budget_ns, const double *init, const double *lower,
    const double *upper, struct impfit_result *res, uint64_t *ns)
{
	struct impfit_options o;
	uint64_t t0;

	impfit_options_default(&o);
	o.method = (enum impfit_method)method;
	o.weighting = (enum impfit_weighting)weighting;
	o.max_iterations = max_it;
	o.init = init;
	o.lower = lower;	/* constants and bounds (issue 15, part 3) */
	o.upper = upper;
	o.max_seconds = (double)budget_ns / 1e9;
	shm_proc_set_busy(wrk.proc, 1);
	t0 = tim_mono();
	__atomic_store_n(&fit_t0, t0, __ATOMIC_RELAXED);
	impfit_run(c, freq, zre, zim, n, &o, wrk.ws, res);
	*ns = tim_mono() - t0;
	/* test knob: slow fits down so tests can kill workers mid-job */
	if (wrk_test_delay_us > 0)
		usleep((useconds_t)wrk_test_delay_us);
	__atomic_store_n(&fit_t0, 0, __ATOMIC_RELAXED);
	shm_proc_set_busy(wrk.proc, 0);
}

uint64_t
wrk_fit_running_ns(uint64_t now)
{
	uint64_t t0 = __atomic_load_n(&fit_t0, __ATOMIC_RELAXED);

	return (t0 != 0 && now > t0 ? now - t0 : 0);
}

/* Fit one job from the ring, if any.  1 fitted, 0 ring empty. */
static int
wrk_fit_next(void)
{
	struct rtab_job job;
	struct rtab_outcome out;
	struct impfit_result res;
	const struct impfit_circuit *c;
	char err[160];
	uint64_t ns = 0, t_start = tim_real();
	int64_t mem0 = mem_in_use();
	struct rtab_view v;
	struct rtab_due due;
	int taken;

	taken = rtab_job_take(wrk.shm, wrk.pid, &job, &due) == 0;
	/* a corrupt record failed on the way may have made deliveries due */
	ctl_wake_due(wrk.shm, 0, due.webhooks);
	if (!taken)
		return (0);
	memset(&res, 0, sizeof res);
	c = wrk_circuit(job.circuit, err, sizeof err);
	if (c == NULL || impfit_circuit_nparams(c) != job.nparams ||
	    job.n > (int)wrk.max_points) {
		res.status = IMPFIT_BAD_INPUT;
		snprintf(res.error, sizeof res.error, "%.120s", c == NULL ? err :
		    "spectrum does not match its circuit");
	} else
		wrk_fit_run(c, job.freq, job.zre, job.zim, job.n, job.method,
		    job.weighting, job.max_iterations,
		    wrk_fit_budget((uint64_t)job.timeout_ms * TIM_MS),
		    job.ninit > 0 ? job.init : NULL, job.lower, job.upper,
		    &res, &ns);
	wrk_outcome(&out, &res, ns);
	if (rtab_job_finish(wrk.shm, &job, &out, &due) < 0) {
		log_warn("job %u: lease lost, result discarded", job.rec);
		return (1);
	}
	ctl_wake_due(wrk.shm, 0, due.webhooks);
	wrk_account(&res, ns);
	if (wrk.bench_fd >= 0 && rtab_view_get(wrk.shm, job.rec, 0, &v) == 0) {
		wrk_bench(v.batch_id, job.iteration, job.n, job.circuit, job.method,
		    v.t_started > v.t_accepted ? v.t_started - v.t_accepted : 0,
		    ns, &res);
		(void)t_start;
	}
	/* from before the take to after the store (and the benchmark line) */
	wrk_spectrum_log(ns, mem_in_use() - mem0);
	return (1);
}

/* Fit a POST /eis-data spectrum; counted and logged like a queued job. */
static void
wrk_fit_sync(const struct wrk_spectrum *s, struct impfit_result *res,
    uint64_t *fit_ns)
{
	const struct impfit_circuit *c;
	char err[160];

	memset(res, 0, sizeof *res);
	*fit_ns = 0;
	c = wrk_circuit(s->circuit, err, sizeof err);
	if (c == NULL) {
		res->status = IMPFIT_BAD_INPUT;
		snprintf(res->error, sizeof res->error, "%.120s", err);
		return;
	}
	wrk_fit_run(c, s->freq, s->zre, s->zim, s->n, s->method, s->weighting,
	    s->max_iterations, wrk_fit_budget(s->timeout_ns),
	    s->ninit > 0 ? s->init : NULL, s->ncons > 0 ? s->lower : NULL,
	    s->ncons > 0 ? s->upper : NULL, res, fit_ns);
	STAT_INC(spectra_sync);
	/* logged by the loop once answered (wrk_spectrum_log) */
	wrk_account(res, *fit_ns);
	wrk_bench("", s->iteration, s->n, s->circuit, s->method, 0, *fit_ns, res);
}

/*==================================================================
 * The thread
 */

static struct {
	pthread_t	tid;
	int		started;
	pthread_mutex_t	mu;
	pthread_cond_t	cv;
	/* under mu */
	int		kick;		/* the ring may have jobs */
	int		ring_off;	/* draining: no more ring jobs */
	int		exit;
	struct wrk_sync	*sync, **sync_tail;	/* to fit, first in first out */
	struct wrk_sync	*done, **done_tail;	/* fitted, for the loop */
	int		nsync;		/* queued sync spectra (atomic read) */
	/* the loop's */
	int		done_fd;	/* eventfd: the done list has entries */
	struct event	*ev_done;
} ft = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.done_fd = -1,
};

static int
sync_waiting(void)
{
	return (__atomic_load_n(&ft.nsync, __ATOMIC_RELAXED) > 0);
}

/*
 * Fit ring jobs until the ring is empty (then the worker is marked idle),
 * a sync spectrum waits or we drain.  1 when stopped early with jobs
 * possibly left, 0 when idle.
 */
static int
ring_run(void)
{
	for (;;) {
		if (sync_waiting() || __atomic_load_n(&ft.ring_off, __ATOMIC_RELAXED))
			return (1);
		if (wrk_fit_next())
			continue;
		/* about to sleep: say so, then look once more (see shm_proc_set_idle) */
		shm_proc_set_idle(wrk.proc, 1);
		if (!wrk_fit_next())
			return (0);
		shm_proc_set_idle(wrk.proc, 0);
	}
}

static void
done_push(struct wrk_sync *j)
{
	uint64_t one = 1;

	j->next = NULL;
	*ft.done_tail = j;
	ft.done_tail = &j->next;
	if (write(ft.done_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_syserr("write(done eventfd)");
}

static void *
fit_main(void *arg)
{
	struct wrk_sync *j;
	int idle = 0;

	(void)arg;
	/*
	 * Serving before fitting: on saturated CPUs the HTTP thread, which
	 * sleeps most of the time, must get a core the moment a request comes,
	 * not after the fitting threads' time slices (measured under 128
	 * connections: /health p50 15-50 ms at the same nice, 2 ms at +5).
	 * Linux gives each thread its own nice value.
	 */
	if (wrk.cfg->fit_nice > 0) {
		id_t tid = (id_t)syscall(SYS_gettid);
		int cur;

		errno = 0;
		cur = getpriority(PRIO_PROCESS, tid);
		if ((cur == -1 && errno != 0) || setpriority(PRIO_PROCESS, tid,
		    cur + wrk.cfg->fit_nice > 19 ? 19 : cur + wrk.cfg->fit_nice) < 0)
			log_syserr("setpriority(fitting thread, +%d)",
			    wrk.cfg->fit_nice);
	}
	pthread_mutex_lock(&ft.mu);
	for (;;) {
		while (ft.sync == NULL && !ft.exit && !(ft.kick && !ft.ring_off))
			pthread_cond_wait(&ft.cv, &ft.mu);
		/* awake for any reason: not idle (a producer may have cleared it) */
		if (idle) {
			shm_proc_set_idle(wrk.proc, 0);
			idle = 0;
		}
		if ((j = ft.sync) != NULL) {
			if ((ft.sync = j->next) == NULL)
				ft.sync_tail = &ft.sync;
			pthread_mutex_unlock(&ft.mu);
			wrk_fit_sync(&j->s, &j->res, &j->fit_ns);
			if (j->fitted != NULL)
				j->fitted(j);
			pthread_mutex_lock(&ft.mu);
			__atomic_sub_fetch(&ft.nsync, 1, __ATOMIC_RELAXED);
			done_push(j);
			continue;
		}
		if (ft.exit)
			break;
		ft.kick = 0;
		pthread_mutex_unlock(&ft.mu);
		idle = ring_run() == 0;
		pthread_mutex_lock(&ft.mu);
		if (!idle)
			ft.kick = 1;	/* interrupted: come back to the ring */
	}
	pthread_mutex_unlock(&ft.mu);
	wrk_circuit_flush();
	return (NULL);
}

/* The loop: answer what the fitting thread finished. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk_sync *j, *next;
	uint64_t v;

	(void)what;
	(void)arg;
	if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_syserr("read(done eventfd)");
	pthread_mutex_lock(&ft.mu);
	j = ft.done;
	ft.done = NULL;
	ft.done_tail = &ft.done;
	pthread_mutex_unlock(&ft.mu);
	for (; j != NULL; j = next) {
		next = j->next;
		j->done(j);
	}
}

int
wrk_fit_start(void)
{
	sigset_t block, old;
	int e;

	ft.sync_tail = &ft.sync;
	ft.done_tail = &ft.done;
	ft.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ft.done_fd < 0) {
		log_syserr("eventfd");
		return (-1);
	}
	ft.ev_done = event_new(wrk.base, ft.done_fd, EV_READ | EV_PERSIST,
	    done_cb, NULL);
	event_add(ft.ev_done, NULL);
	/*
	 * The loop handles the process's signals (libevent's evsignal): keep
	 * them off the fitting thread.  SIGPROF stays open, so CPU profiles
	 * see the fits.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	e = pthread_create(&ft.tid, NULL, fit_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		errno = e;
		log_syserr("pthread_create(fitting thread)");
		return (-1);
	}
	ft.started = 1;
	return (0);
}

void
wrk_fit_kick(void)
{
	pthread_mutex_lock(&ft.mu);
	if (!ft.kick) {
		ft.kick = 1;
		pthread_cond_signal(&ft.cv);
	}
	pthread_mutex_unlock(&ft.mu);
}

void
wrk_fit_submit(struct wrk_sync *j)
{
	j->next = NULL;
	pthread_mutex_lock(&ft.mu);
	*ft.sync_tail = j;
	ft.sync_tail = &j->next;
	__atomic_add_fetch(&ft.nsync, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&ft.cv);
	pthread_mutex_unlock(&ft.mu);
}

void
wrk_fit_ring_off(void)
{
	pthread_mutex_lock(&ft.mu);
	ft.ring_off = 1;
	pthread_mutex_unlock(&ft.mu);
}

void
wrk_fit_stop(void)
{
	if (ft.started) {
		pthread_mutex_lock(&ft.mu);
		ft.exit = 1;
		ft.ring_off = 1;
		pthread_cond_signal(&ft.cv);
		pthread_mutex_unlock(&ft.mu);
		pthread_join(ft.tid, NULL);
		ft.started = 0;
	}
	/* answers to connections that are gone: frees them */
	if (ft.done_fd >= 0) {
		done_cb(ft.done_fd, EV_READ, NULL);
		event_free(ft.ev_done);
		close(ft.done_fd);
		ft.done_fd = -1;
	}
	wrk_circuit_flush();
}
