/*
 * impcore - the profiler process: set-up, event loop, once-a-second tick.
 *
 * Started by the master with -profile (a row of its kind table, respawned
 * like the others) on the -profile-port socket the master bound.  Each
 * second it samples every server process (prf_proc.c), tells processes it
 * has not seen yet to start their heap and contention samplers.  (The
 * Go server's 📊 Memory line every 30 s is the master's: mst_main.c.)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "daemon/ctl_event.h"
#include "daemon/prof_ctl.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "prof/prof.h"
#include "profiler/prf.h"
#include "state/ctl.h"
#include "state/shm.h"

/* How long a SIGTERM waits for a running profile or stream to wind up. */
#define PRF_STOP_GRACE_MS	3000

/*
 * Session numbers name dump files: unique across profiler restarts (the
 * pid is in the high bits), so a late file of a dead profiler is never
 * taken for ours.
 */
uint64_t
prf_next_session(struct prf *prf)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	return (((uint64_t)getpid() << 24) | (++prf->session & 0xffffff));
}

/* Tell every live process we have not told yet to start its samplers. */
static void
prf_enable_new(struct prf *prf)
{
	struct shm_proc_info pi;
	int i;

	for (i = 0; i < SHM_NPROC; i++) {
		if (shm_proc_get(prf->shm, i, &pi) != 0 || pi.pid <= 0 ||
		    (pi.state != SHM_P_STARTING && pi.state != SHM_P_RUNNING &&
		    pi.state != SHM_P_DRAINING)) {
			prf->enabled[i] = 0;
			continue;
		}
		/* the master never samples (its children would inherit it); we
		 * enabled ourselves at start */
		if (pi.role == SHM_ROLE_MASTER || pi.role == SHM_ROLE_PROFILER ||
		    prf->enabled[i] == pi.pid)
			continue;
		if (ctl_send(prf->shm, i, PROF_CMD_ENABLE, 0) != 0)
			prf->enabled[i] = pi.pid;
	}
}

static void
prf_tick(evutil_socket_t fd, short what, void *arg)
{
	struct prf *prf = arg;

	(void)fd;
	(void)what;
	shm_proc_heartbeat(prf->ctx->proc);
	prf_proc_sample(prf);
	prf_enable_new(prf);
}

static void
prf_stop_check(evutil_socket_t fd, short what, void *arg)
{
	struct prf *prf = arg;
	static uint64_t deadline;

	(void)fd;
	(void)what;
	if (deadline == 0)
		deadline = tim_mono() + PRF_STOP_GRACE_MS * 1000000ull;
	if ((!prf->cpu_busy && prf->streams == NULL) || tim_mono() >= deadline) {
		event_base_loopexit(prf->base, NULL);
		return;
	}
	/* poll: the running profile finishes on its own, streams end now */
	{
		struct timeval tv = { 0, 50000 };

		event_base_once(prf->base, -1, EV_TIMEOUT, prf_stop_check, prf, &tv);
	}
}

static void
prf_signal(evutil_socket_t sig, short what, void *arg)
{
	struct prf *prf = arg;

	(void)what;
	switch (sig) {
	case SIGUSR1:
		log_reopen();
		return;
	case SIGHUP:
		/* the master replaces us on a reload; nothing to re-read here */
		return;
	default:
		break;
	}
	if (prf->stopping)
		return;
	prf->stopping = 1;
	log_info("stopping (signal %d)", (int)sig);
	shm_proc_set_state(prf->ctx->proc, SHM_P_DRAINING);
	prf_stats_stop_all(prf);
	prf_pprof_stop(prf);
	prf_stop_check(-1, 0, prf);
}

static void
prf_banner(struct prf *prf)
{
	static const struct {
		const char	*what, *path;
	} eps[] = {
		{ "CPU Profile", "/debug/pprof/profile" },
		{ "Heap Profile", "/debug/pprof/heap" },
		{ "Goroutines", "/debug/pprof/goroutine" },
		{ "Block Profile", "/debug/pprof/block" },
		{ "Mutex Profile", "/debug/pprof/mutex" },
		{ "Full Index", "/debug/pprof/" },
		{ "Runtime Info", "/debug/info" },
		{ "Runtime Stats", "/debug/stats" },
		{ "Metrics", "/metrics" },
	};
	const char *host = prf->cfg->profile_bind;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int port = prf->cfg->profile_port;
	size_t i;

	/* -profile-port=0: say the port the master got (tests read it here) */
	if (getsockname(prf->ctx->profile_fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}

	/* the Go server printed localhost; so do we unless bound elsewhere */
	if (host == NULL || strcmp(host, "127.0.0.1") == 0 ||
	    strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	    strcmp(host, "::1") == 0 || *host == '\0')
		host = "localhost";
	/* the guide's lines, to the byte after the level, its names and
	 * its column of URLs: operators grep for "📈 Profiling endpoints:"
	 * and "  - CPU Profile:" (Metrics is ours, after the guide's) */
	log_info("📊 Starting profiling server on port %d", port);
	log_info("📈 Profiling endpoints:");
	for (i = 0; i < sizeof eps / sizeof eps[0]; i++) {
		char label[32];

		snprintf(label, sizeof label, "%s:", eps[i].what);
		log_info("  - %-15s http://%s:%d%s", label, host, port,
		    eps[i].path);
	}
}

static int
prf_dir_setup(struct prf *prf)
{
	char path[4096];
	char *slash;

	if (prof_dump_path(prf->shm, "x", 0, 0, path, sizeof path) < 0)
		return (-1);
	slash = strrchr(path, '/');
	*slash = '\0';
	snprintf(prf->dir, sizeof prf->dir, "%s", path);
	if (mkdir(prf->dir, 0700) < 0 && errno != EEXIST) {
		log_syserr("mkdir(%s)", prf->dir);
		return (-1);
	}
	prf_dumps_clean(prf);
	return (0);
}

static struct event *
prf_sig_new(struct prf *prf, int sig)
{
	struct event *ev = evsignal_new(prf->base, sig, prf_signal, prf);

	if (ev != NULL)
		event_add(ev, NULL);
	return (ev);
}

int
prf_main(struct child_ctx *ctx)
{
	struct timeval one = { 1, 0 };
	struct prf *prf;
	int rc = 0;

	CHECK_OBJ_NOTNULL(ctx, CHILD_CTX_MAGIC);
	if (ctx->profile_fd < 0) {
		log_err("no listening socket for -profile-port");
		return (1);
	}
	prf = imp_calloc(1, sizeof *prf);
	prf->magic = PRF_MAGIC;
	prf->ctx = ctx;
	prf->shm = ctx->shm;
	prf->hist = shm_phist(prf->shm);
	prf->cfg = ctx->cfg;
	prf->t_start_real = tim_real();
	prf->t_start_mono = tim_mono();
	prf->clk_tck = sysconf(_SC_CLK_TCK);
	prf->page_size = sysconf(_SC_PAGESIZE);
	if (prf->clk_tck <= 0)
		prf->clk_tck = 100;
	if (prf_dir_setup(prf) < 0) {
		imp_free(prf);
		return (1);
	}
	/* our own allocations and waits count too */
	prof_enable(0);

	prf->base = event_base_new();
	if (prf->base == NULL) {
		log_err("event_base_new failed");
		rc = 1;
		goto out;
	}
	/* hsrv pauses accept() when out of descriptors (lpause.h) */
	if (prf_http_setup(prf, ctx->profile_fd) < 0) {
		log_err("cannot serve the debug port");
		rc = 1;
		goto out;
	}
	prf->ctl_ev = ctl_event_new(prf->base, prf->shm, ctx->slot, NULL, NULL);
	prf->sig_term = prf_sig_new(prf, SIGTERM);
	prf->sig_int = prf_sig_new(prf, SIGINT);
	prf->sig_usr1 = prf_sig_new(prf, SIGUSR1);
	prf->sig_hup = prf_sig_new(prf, SIGHUP);
	prf->tick_ev = event_new(prf->base, -1, EV_PERSIST, prf_tick, prf);
	event_add(prf->tick_ev, &one);

	prf_banner(prf);
	prf_proc_sample(prf);
	prf_enable_new(prf);
	shm_proc_set_state(ctx->proc, SHM_P_RUNNING);
	event_base_dispatch(prf->base);

out:
	/* streams the client did not take the end of are ended by hsrv_free */
	prf_stats_stop_all(prf);
	if (prf->http != NULL)
		hsrv_free(prf->http);
	if (prf->tick_ev != NULL)
		event_free(prf->tick_ev);
	if (prf->ctl_ev != NULL)
		event_free(prf->ctl_ev);
	if (prf->sig_term != NULL)
		event_free(prf->sig_term);
	if (prf->sig_int != NULL)
		event_free(prf->sig_int);
	if (prf->sig_usr1 != NULL)
		event_free(prf->sig_usr1);
	if (prf->sig_hup != NULL)
		event_free(prf->sig_hup);
	if (prf->base != NULL)
		event_base_free(prf->base);
	prf_dumps_clean(prf);
	prf_sym_free();
	imp_free(prf);
	return (rc);
}
