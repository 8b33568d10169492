/*
 * impcore - the webhook process: durable, signed, retried delivery of
 * finished results.
 *
 * One process (role SHM_ROLE_WEBHOOK), forked and respawned by the master.
 * Work is found in the state file (records whose webhook is PENDING), so a
 * crash or kill -9 loses nothing: whatever was in flight is INFLIGHT with a
 * dead pid, and the master (rtab_reclaim_pid) or the next start
 * (rtab_recover) makes it PENDING again.  Wake-ups come through the
 * webhook ring and our eventfd; a scan every WHK_SCAN_MS catches the rest.
 *
 * Test knobs (environment of impsolverd, read here; not for production):
 *   IMP_WEBHOOK_TIMEOUT_MS	whole-attempt timeout; when set it wins over
 *				-webhook-timeout (default 30 s), and the connect
 *				timeout is min(-webhook-connect-timeout, this)
 *   IMP_WEBHOOK_BACKOFF_MS	first retry delay (default 1000), doubled
 *				per attempt up to 10 min, +-20% jitter
 *   IMP_WEBHOOK_BACKOFF_MAX_MS	that 10 min cap: a test that keeps its
 *				receiver down for a while, however slow the
 *				machine, sees it served soon after it returns
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "daemon/ctl_event.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "net/urlallow.h"
#include "state/ctl.h"
#include "state/shm.h"
#include "webhook/whk_priv.h"
#include "webhook/whk_sign.h"

#define WHK_TICK_MS	1000	/* heartbeat, and the scan clock */

/* A positive number of milliseconds from the environment, else def. */
static long
whk_env_ms(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return (def);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0) {
		log_warn("ignoring %s=%s: not a positive number of ms", name, s);
		return (def);
	}
	return (v);
}

/* The eventfd rang: new work on the webhook ring (or a command ran). */
static void
whk_wake(void *arg)
{
	whk_intake(arg);
}

static void
whk_intake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	whk_intake(arg);
}

static void
whk_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct whk *w = arg;
	uint64_t now = tim_mono();

	(void)fd;
	(void)what;
	shm_proc_heartbeat(w->ctx->proc);
	if (now >= w->next_scan) {
		w->next_scan = now + WHK_SCAN_MS * TIM_MS;
		whk_scan(w);
	}
}

static void
whk_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct whk *w = arg;

	(void)fd;
	(void)what;
	whk_http_abandon(w);
	event_base_loopexit(w->base, NULL);
}

/*
 * SIGTERM/SIGINT: start nothing new; give the attempts in flight a short
 * grace (bounded: the master escalates to SIGKILL after -drain-timeout),
 * then leave what is unfinished PENDING in the file and exit.
 */
static void
whk_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct whk *w = arg;
	struct timeval tv;
	uint64_t grace = WHK_DRAIN_MS * TIM_MS;

	(void)what;
	if (w->stopping)
		return;
	w->stopping = 1;
	shm_proc_set_state(w->ctx->proc, SHM_P_DRAINING);
	log_info("%s: stopping, %d attempt(s) in flight",
	    sig == SIGINT ? "SIGINT" : "SIGTERM", w->inflight);
	evtimer_del(&w->ev_tick);
	event_del(&w->ev_intake);
	evtimer_del(&w->ev_retry);
	if (w->inflight == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (w->ctx->cfg->drain_timeout != 0 &&
	    w->ctx->cfg->drain_timeout / 2 < grace)
		grace = w->ctx->cfg->drain_timeout / 2;
	tv.tv_sec = (time_t)(grace / TIM_SEC);
	tv.tv_usec = (suseconds_t)(grace % TIM_SEC / 1000);
	evtimer_add(&w->ev_drain, &tv);
}

static void
whk_usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	log_reopen();
}

/* SIGHUP is the master's (reload); a child must not die of it. */
static void
whk_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
}

/* Settings from the configuration and the test knobs. */
static void
whk_settings(struct whk *w, const struct cfg *c)
{
	const char *warn;

	w->default_url = c->webhook_url != NULL && *c->webhook_url != '\0' ?
	    c->webhook_url : NULL;
	w->key = whk_key_new(c->webhook_secret, &warn);
	if (warn != NULL)
		log_warn("%s", warn);
	w->max_age = c->webhook_max_age != 0 ? c->webhook_max_age :
	    24 * 3600 * TIM_SEC;
	/*
	 * The test knob simply wins over the flag (as it did over the old
	 * constant): a test sets it in the environment and needs no flag.
	 * cfg_load() has checked both durations are >= 1 ms; the connect
	 * timeout is clamped again for the knob's sake.
	 */
	w->timeout_ms = whk_env_ms("IMP_WEBHOOK_TIMEOUT_MS",
	    c->webhook_timeout >= TIM_MS ? (long)(c->webhook_timeout / TIM_MS) :
	    30000);
	w->connect_ms = c->webhook_connect_timeout >= TIM_MS ?
	    (long)(c->webhook_connect_timeout / TIM_MS) : 5000;
	if (w->connect_ms > w->timeout_ms)
		w->connect_ms = w->timeout_ms;
	w->max_redirs = c->webhook_redirects;
	w->batch_max = c->webhook_batch_max;
	/* only redirect hops need the list here (the workers check requests) */
	if (w->max_redirs > 0)
		w->allow = urlallow_new(c->webhook_allow);
	w->backoff_ns = (uint64_t)whk_env_ms("IMP_WEBHOOK_BACKOFF_MS",
	    WHK_BACKOFF_MS) * TIM_MS;
	w->backoff_max_ns = (uint64_t)whk_env_ms("IMP_WEBHOOK_BACKOFF_MAX_MS",
	    WHK_BACKOFF_MAX_MS) * TIM_MS;
	w->rng = tim_real() ^ ((uint64_t)getpid() << 32);
}

int
whk_main(struct child_ctx *ctx)
{
	struct timeval tick = { WHK_TICK_MS / 1000, WHK_TICK_MS % 1000 * 1000 };
	struct whk w;
	char tmo[32], ctmo[32], bo[32], age[32], redir[64];
	char dst[RTAB_URL_MAX + 16];

	CHECK_OBJ_NOTNULL(ctx, CHILD_CTX_MAGIC);

	memset(&w, 0, sizeof w);
	w.magic = WHK_MAGIC;
	w.ctx = ctx;
	w.shm = ctx->shm;
	w.pid = getpid();
	whk_settings(&w, ctx->cfg);
	/*
	 * Fitting first: when the CPUs are saturated, deliveries wait (they
	 * are durable, and a table full of undelivered results pushes back
	 * with 503) instead of taking a worker's share; with a CPU to spare
	 * the increment changes nothing.  Relative, so it adds to the nice
	 * the server was started with.
	 */
	if (ctx->cfg->webhook_nice > 0) {
		errno = 0;
		if (nice(ctx->cfg->webhook_nice) == -1 && errno != 0)
			log_warn("nice(%d): %s", ctx->cfg->webhook_nice,
			    strerror(errno));
	}

	w.base = event_base_new();
	if (w.base == NULL) {
		log_err("event_base_new() failed");
		whk_key_free(w.key);
		urlallow_free(w.allow);
		return (1);
	}
	whk_sched_init(&w);
	if (whk_http_init(&w) != 0) {
		log_err("curl_multi_init() failed");
		whk_sched_fini(&w);
		event_base_free(w.base);
		whk_key_free(w.key);
		urlallow_free(w.allow);
		return (1);
	}
	event_assign(&w.ev_intake, w.base, -1, 0, whk_intake_cb, &w);
	event_assign(&w.ev_tick, w.base, -1, EV_PERSIST, whk_tick_cb, &w);
	evtimer_assign(&w.ev_drain, w.base, whk_drain_cb, &w);
	w.ev_ctl = ctl_event_new(w.base, w.shm, ctx->slot, whk_wake, &w);
	w.ev_term = evsignal_new(w.base, SIGTERM, whk_stop_cb, &w);
	w.ev_int = evsignal_new(w.base, SIGINT, whk_stop_cb, &w);
	w.ev_usr1 = evsignal_new(w.base, SIGUSR1, whk_usr1_cb, &w);
	w.ev_hup = evsignal_new(w.base, SIGHUP, whk_hup_cb, &w);
	if (w.ev_ctl == NULL || w.ev_term == NULL || w.ev_int == NULL ||
	    w.ev_usr1 == NULL || w.ev_hup == NULL)
		log_fatalx("cannot set up the event loop");
	event_add(w.ev_term, NULL);
	event_add(w.ev_int, NULL);
	event_add(w.ev_usr1, NULL);
	event_add(w.ev_hup, NULL);
	evtimer_add(&w.ev_tick, &tick);

	shm_proc_set_state(ctx->proc, SHM_P_RUNNING);
	shm_proc_heartbeat(ctx->proc);
	/* the URL may hold a token: its scheme, host and port are enough here */
	if (w.default_url == NULL)
		snprintf(dst, sizeof dst, "per-request URLs only");
	else if (whk_target_key(w.default_url, dst, sizeof dst) != 0) {
		log_err("-webhook-url is not a usable http(s) URL");
		snprintf(dst, sizeof dst, "(unusable -webhook-url)");
	}
	if (w.max_redirs == 0)
		snprintf(redir, sizeof redir, "not followed");
	else
		snprintf(redir, sizeof redir, "up to %d followed (to the "
		    "target or -webhook-allow)", w.max_redirs);
	log_info("🌐 Webhook delivery to %s, signing %s, timeout %s (connect "
	    "%s), redirects %s, first retry %s, max age %s", dst,
	    w.key != NULL ? "on" : "off",
	    tim_format_duration((uint64_t)w.timeout_ms * TIM_MS, tmo, sizeof tmo),
	    tim_format_duration((uint64_t)w.connect_ms * TIM_MS, ctmo,
	    sizeof ctmo), redir,
	    tim_format_duration(w.backoff_ns, bo, sizeof bo),
	    tim_format_duration(w.max_age, age, sizeof age));

	/* what an earlier process left, then what is new */
	w.next_scan = tim_mono() + WHK_SCAN_MS * TIM_MS;
	whk_scan(&w);
	whk_intake(&w);

	event_base_dispatch(w.base);

	whk_http_fini(&w);
	whk_sched_fini(&w);
	event_del(&w.ev_intake);
	evtimer_del(&w.ev_tick);
	evtimer_del(&w.ev_drain);
	event_free(w.ev_ctl);
	event_free(w.ev_term);
	event_free(w.ev_int);
	event_free(w.ev_usr1);
	event_free(w.ev_hup);
	event_base_free(w.base);
	whk_key_free(w.key);
	urlallow_free(w.allow);
	stat_set(STAT_webhook_inflight, 0);
	return (0);
}
