/*
 * impcore - worker process: HTTP API and fitting loop.
 *
 * The loop serves HTTP and fits one job per turn while the ring has jobs
 * (the "work" event re-arms itself with a zero timeout), so a request never
 * waits for more than one fit.  With nothing to do the worker marks itself idle in
 * its process slot and sleeps in the loop; a producer wakes it through the
 * slot's eventfd (ctl.h).
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "impfit.h"

#include "common/cfg.h"
#include "common/ctl.h"
#include "common/hsrv.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/shm.h"
#include "common/tim.h"
#include "master/children.h"
#include "worker/wrk_priv.h"

struct wrk	wrk;

/*
 * Run work_cb on the next loop turn, after the loop polled the sockets.  Not
 * event_active(): libevent runs events activated from a callback in the
 * same pass, before it polls again, so HTTP would starve behind a queue.
 */
static void
work_kick(void)
{
	static const struct timeval zero = { 0, 0 };

	if (!evtimer_pending(wrk.ev_work, NULL))
		evtimer_add(wrk.ev_work, &zero);
}

static void
work_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (wrk.stopping)
		return;
	if (wrk_fit_next()) {
		work_kick();
		return;
	}
	/* about to sleep: say so, then look once more (see shm_proc_set_idle) */
	shm_proc_set_idle(wrk.proc, 1);
	if (wrk_fit_next()) {
		shm_proc_set_idle(wrk.proc, 0);
		work_kick();
	}
}

static void
wake_cb(void *arg)
{
	(void)arg;
	if (!wrk.stopping)
		work_kick();
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if ((hsrv_connections(wrk.http) == 0 && hsrv_pending(wrk.http) == 0) ||
	    tim_mono() > wrk.drain_deadline) {
		if (hsrv_connections(wrk.http) > 0)
			log_warn("drain timeout: closing %d connections",
			    hsrv_connections(wrk.http));
		event_base_loopbreak(wrk.base);
	}
}

static void
stop(void)
{
	struct timeval tv = { 0, 20000 };

	if (wrk.stopping)
		return;
	wrk.stopping = 1;
	shm_proc_set_idle(wrk.proc, 0);
	shm_proc_set_state(wrk.proc, SHM_P_DRAINING);
	hsrv_drain(wrk.http);
	wrk.drain_deadline = tim_mono() + (wrk.cfg->drain_timeout ?
	    wrk.cfg->drain_timeout : 30 * TIM_SEC);
	wrk.ev_drain = event_new(wrk.base, -1, EV_PERSIST, drain_check, NULL);
	event_add(wrk.ev_drain, &tv);
	/* jobs still queued stay in the ring for the other workers */
	if (shm_proc_count(wrk.shm, SHM_ROLE_WORKER) > 1)
		ctl_wake_workers(wrk.shm, 1);
}

static void
sig_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		stop();
		break;
	case SIGUSR1:
		log_reopen();
		break;
	default:
		break;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	shm_proc_heartbeat(wrk.proc);
	/* a lost wake-up costs at most a second: look at the ring anyway */
	if (!wrk.stopping)
		work_kick();
}

int
wrk_main(struct child_ctx *ctx)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct hsrv_opts ho;
	struct event_config *ecfg;
	struct shm_geom g;
	struct timeval tv = { 1, 0 };
	size_t i;
	int m;

	memset(&wrk, 0, sizeof wrk);
	wrk.magic = WRK_MAGIC;
	wrk.ctx = ctx;
	wrk.cfg = ctx->cfg;
	wrk.shm = ctx->shm;
	wrk.proc = ctx->proc;
	wrk.index = ctx->index;
	wrk.pid = getpid();
	wrk.bench_fd = -1;
	if (getenv("IMPCORE_TEST_FIT_DELAY_US") != NULL)
		wrk_test_delay_us = atol(getenv("IMPCORE_TEST_FIT_DELAY_US"));
	wrk_test_jtok_refuse = getenv("IMPCORE_TEST_JTOK_REFUSE") != NULL;
	if (ctx->profile_fd >= 0)
		close(ctx->profile_fd);

	shm_geom_get(wrk.shm, &g);
	wrk.max_points = wrk.cfg->max_points < g.max_points ?
	    wrk.cfg->max_points : g.max_points;
	snprintf(wrk.def_circuit, sizeof wrk.def_circuit, "%s", wrk.cfg->code);
	m = fit_method_parse(wrk.cfg->method);
	wrk.def_method = m < 0 ? FIT_METHOD_LM : m;
	wrk_allow_init(wrk.cfg->webhook_allow);
	wrk.ws = fit_workspace_new((int)wrk.max_points, FIT_MAX_PARAMS);
	if (wrk.ws == NULL) {
		log_err("fit_workspace_new(%u points) failed", wrk.max_points);
		return (1);
	}
	if (wrk.cfg->benchmark) {
		char *p;
		imp_asprintf(&p, "%s/concurrent_timing_results.csv",
		    wrk.cfg->state_dir);
		wrk.bench_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (wrk.bench_fd < 0)
			log_syserr("open(%s)", p);
		imp_free(p);
	}

	/*
	 * hsrv turns reading off and writing on around every request; with
	 * the change list, the changes made in one loop turn reach epoll as
	 * one epoll_ctl per fd instead of one each.  (Its caveat, fds dup'ed
	 * inside one base, does not apply: every fd here is our own.)
	 */
	if ((ecfg = event_config_new()) != NULL) {
		event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		wrk.base = event_base_new_with_config(ecfg);
		event_config_free(ecfg);
	}
	if (wrk.base == NULL) {
		log_err("event_base_new() failed");
		return (1);
	}
	memset(&ho, 0, sizeof ho);
	ho.max_head = 16384;
	ho.max_body = wrk.cfg->body_max;
	ho.idle_timeout_s = (int)(wrk.cfg->idle_timeout / TIM_SEC);
	ho.write_timeout_s = 60;
	wrk.http = hsrv_new(wrk.base, ctx->api_fd, &ho, wrk_api_request,
	    wrk_api_error, NULL);
	if (wrk.http == NULL) {
		log_err("cannot listen on the API socket");
		return (1);
	}
	wrk.ev_ctl = ctl_event_new(wrk.base, wrk.shm, ctx->slot, wake_cb, NULL);
	wrk.ev_work = evtimer_new(wrk.base, work_cb, NULL);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		wrk.ev_sig[i] = evsignal_new(wrk.base, sigs[i], sig_cb, NULL);
		event_add(wrk.ev_sig[i], NULL);
	}
	wrk.ev_tick = event_new(wrk.base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(wrk.ev_tick, &tv);

	shm_proc_set_state(wrk.proc, SHM_P_RUNNING);
	work_kick();
	event_base_dispatch(wrk.base);

	/* drained: release everything (sanitizer builds check it) */
	shm_proc_set_idle(wrk.proc, 0);
	hsrv_free(wrk.http);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		event_free(wrk.ev_sig[i]);
	event_free(wrk.ev_tick);
	event_free(wrk.ev_work);
	if (wrk.ev_drain != NULL)
		event_free(wrk.ev_drain);
	if (wrk.ev_ctl != NULL)
		event_free(wrk.ev_ctl);
	event_base_free(wrk.base);
	fit_workspace_free(wrk.ws);
	if (wrk.bench_fd >= 0)
		close(wrk.bench_fd);
	return (0);
}
