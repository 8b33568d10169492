/*
 * impcore - worker process: the HTTP thread's loop.
 *
 * The loop serves HTTP, runs ctl commands, and turns the slot's wake-ups
 * into kicks of the fitting thread (wrk_fit.c), which fits.  The heartbeat
 * the master's watchdog reads says that this loop turns and that the
 * running fit, if any, is within its budget: a long fit is not a hung
 * process, a fit far past -fit-timeout is.
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

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "daemon/ctl_event.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "state/ctl.h"
#include "state/shm.h"
#include "worker/wrk_priv.h"

struct wrk	wrk;

static void
wake_cb(void *arg)
{
	(void)arg;
	if (!wrk.stopping)
		wrk_fit_kick();
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
	wrk_fit_ring_off();
	shm_proc_set_idle(wrk.proc, 0);
	shm_proc_set_state(wrk.proc, SHM_P_DRAINING);
	hsrv_drain(wrk.http);
	/* held and parked batch POSTs: answered 503 now (they see stopping) */
	wrk_api_admit_again();
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
	static int told;
	uint64_t ran = wrk_fit_running_ns(tim_mono());

	/*
	 * A fit far past its budget is a bug (the engine checks its clock):
	 * stop the heartbeat so that the watchdog replaces this worker.
	 */
	if (ran > wrk.cfg->fit_timeout + WRK_FIT_GRACE_NS) {
		if (!told++)
			log_err("a fit has run %.0f s, past -fit-timeout: no more "
			    "heartbeats", (double)ran / 1e9);
	} else
		shm_proc_heartbeat(wrk.proc);
	/* a lost wake-up costs at most a second: look at the ring anyway */
	if (!wrk.stopping)
		wrk_fit_kick();
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

	CHECK_OBJ_NOTNULL(ctx, CHILD_CTX_MAGIC);

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
	m = impfit_method_parse(wrk.cfg->method);
	wrk.def_method = m < 0 ? IMPFIT_METHOD_LM : m;
	wrk_allow_init(wrk.cfg->webhook_allow);
	/* polled results are kept -retention, not evicted for room */
	rtab_set_retention(wrk.cfg->retention);
	rtab_arena_random(wrk.shm);
	wrk.ws = impfit_workspace_new((int)wrk.max_points, IMPFIT_MAX_PARAMS);
	if (wrk.ws == NULL) {
		log_err("impfit_workspace_new(%u points) failed", wrk.max_points);
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
		struct timeval poll_after = { 0, 1000 };

		event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		/*
		 * Look for new events after 1 ms of callbacks, and serve
		 * heads before bodies (three priorities: hsrv's hconn_demote
		 * puts a connection with a body to parse at the lowest), so
		 * that /health is not queued behind every ready batch.
		 */
		event_config_set_max_dispatch_interval(ecfg, &poll_after, -1, 0);
		wrk.base = event_base_new_with_config(ecfg);
		event_config_free(ecfg);
	}
	if (wrk.base == NULL || event_base_priority_init(wrk.base, 3) < 0) {
		log_err("event_base_new() failed");
		return (1);
	}
	memset(&ho, 0, sizeof ho);
	ho.max_head = 16384;
	ho.max_body = wrk.cfg->body_max;
	ho.idle_timeout_s = (int)(wrk.cfg->idle_timeout / TIM_SEC);
	ho.body_timeout_ms = (unsigned)(wrk.cfg->body_timeout / TIM_MS);
	ho.write_timeout_s = 60;
	ho.admit = wrk_api_admit;
	wrk.http = hsrv_new(wrk.base, ctx->api_fd, &ho, wrk_api_request,
	    wrk_api_error, NULL);
	if (wrk.http == NULL) {
		log_err("cannot listen on the API socket");
		return (1);
	}
	wrk.ev_ctl = ctl_event_new(wrk.base, wrk.shm, ctx->slot, wake_cb, NULL);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		wrk.ev_sig[i] = evsignal_new(wrk.base, sigs[i], sig_cb, NULL);
		event_add(wrk.ev_sig[i], NULL);
	}
	wrk.ev_tick = event_new(wrk.base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(wrk.ev_tick, &tv);

	if (wrk_fit_start() < 0)
		return (1);
	shm_proc_set_state(wrk.proc, SHM_P_RUNNING);
	wrk_fit_kick();
	event_base_dispatch(wrk.base);

	/* drained: release everything (sanitizer builds check it) */
	shm_proc_set_idle(wrk.proc, 0);
	hsrv_free(wrk.http);
	wrk.http = NULL;
	wrk_fit_stop();
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		event_free(wrk.ev_sig[i]);
	event_free(wrk.ev_tick);
	if (wrk.ev_admit != NULL)
		event_free(wrk.ev_admit);
	if (wrk.ev_drain != NULL)
		event_free(wrk.ev_drain);
	if (wrk.ev_ctl != NULL)
		event_free(wrk.ev_ctl);
	event_base_free(wrk.base);
	impfit_workspace_free(wrk.ws);
	if (wrk.bench_fd >= 0)
		close(wrk.bench_fd);
	return (0);
}
