/*
 * impcore - master: the child kinds, and the mechanics of forking,
 * reaping, respawning and replacing them.
 *
 * The master keeps, for each kind and index, one current child of the
 * current generation.  mst_child_reconcile() runs every tick and makes the
 * world so: it starts what is missing (with backoff after crashes), and
 * during a reload (generation bumped) starts one new child at a time and
 * retires the old one with the same kind and index once the new one serves.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "daemon/hooks.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "master/mst_priv.h"
#include "prof/prof.h"	/* profiler: prof_enable */
#include "state/ctl.h"
#include "state/rtab.h"
#include "state/shm.h"

/*==================================================================
 * The kinds.  To add one: a row here and its main function.
 */

struct mst_kind {
	const char	*name;
	enum shm_role	role;
	int		(*count)(const struct cfg *c);
	int		(*main)(struct child_ctx *ctx);
	int		indexed;	/* log as name[index] */
};

/*
 * Weak: a build without a kind's sources (say, while the profiler is being
 * written) still links; that kind is then skipped with a warning.
 */
#pragma weak whk_main
#pragma weak prf_main

static int kind_workers(const struct cfg *c) { return (c->threads); }
static int kind_one(const struct cfg *c) { (void)c; return (1); }
static int kind_profile(const struct cfg *c) { return (c->profile ? 1 : 0); }

static const struct mst_kind mst_kinds[] = {
	{ "worker",	SHM_ROLE_WORKER,	kind_workers,	wrk_main,	1 },
	/* always on: it idles when there is nothing to deliver */
	{ "webhook",	SHM_ROLE_WEBHOOK,	kind_one,	whk_main,	0 },
	{ "profiler",	SHM_ROLE_PROFILER,	kind_profile,	prf_main,	0 },
};
#define NKINDS		(sizeof mst_kinds / sizeof mst_kinds[0])
#define MAXINDEX	(CFG_THREADS_MAX + 1)

/*==================================================================
 * Children
 */

struct mst_child {
	const struct mst_kind	*kind;
	int			index;
	pid_t			pid;
	int			slot;
	unsigned		gen;
	int			stopping;	/* SIGTERM sent */
	int			hung;		/* the watchdog killed it */
	uint64_t		t_start;	/* CLOCK_MONOTONIC */
	uint64_t		t_term;
	struct mst_child	*next;
};

static struct mst_child	*children;
static int		nchildren;

/* Respawn backoff per kind and index. */
static struct {
	int		fails;
	uint64_t	next_at;
} backoff[NKINDS][MAXINDEX];

static void __attribute__((noreturn))
child_run(const struct mst_kind *k, int index, int slot)
{
	struct child_ctx ctx;
	struct sigaction sa;
	sigset_t all;
	int sig, rc;

	stat_attach(shm_proc_stats(mst.shm, slot));
	log_set_child(1);
	log_set_role(k->name, k->indexed ? index : -1);
	/* fork hygiene: default handlers, SIGPIPE ignored, nothing blocked */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* the master died (kill -9): stop too, so a new one can take the file */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1 || getppid() != (pid_t)shm_master_pid(mst.shm))
		_exit(0);
	hooks_install();
	/* profiler: sample the heap and waits from the first allocation on */
	if (mst.cfg.profile)
		prof_enable(0);

	memset(&ctx, 0, sizeof ctx);
	ctx.magic = CHILD_CTX_MAGIC;
	ctx.kind = k->name;
	ctx.role = k->role;
	ctx.index = index;
	ctx.generation = mst.generation;
	ctx.shm = mst.shm;
	ctx.slot = slot;
	ctx.proc = shm_proc(mst.shm, slot);
	ctx.cfg = &mst.cfg;
	ctx.ctl_fd = ctl_fd(slot);
	ctx.api_fd = mst.api_fd;
	ctx.profile_fd = mst.profile_fd;
	ctx.master_pid = getppid();
	ctx.master_start = mst.start_real;
	shm_proc_set_pid(mst.shm, slot, getpid());
	shm_proc_heartbeat(ctx.proc);
	rc = k->main(&ctx);
	/* no exit(): atexit handlers and leak reports belong to the master */
	_exit(rc);
}

static struct mst_child *
spawn(const struct mst_kind *k, int index)
{
	struct mst_child *c;
	sigset_t all, old;
	pid_t pid;
	int slot;

	slot = shm_proc_alloc(mst.shm, k->role, index, mst.generation);
	if (slot < 0) {
		log_err("process table full: cannot start %s[%d]", k->name, index);
		return (NULL);
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_run(k, index, slot);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_syserr("fork()");
		shm_proc_set_dead(mst.shm, slot);
		return (NULL);
	}
	shm_proc_set_pid(mst.shm, slot, pid);
	c = imp_calloc(1, sizeof *c);
	c->kind = k;
	c->index = index;
	c->pid = pid;
	c->slot = slot;
	c->gen = mst.generation;
	c->t_start = tim_mono();
	c->next = children;
	children = c;
	nchildren++;
	STAT_INC(child_starts);
	log_debug("%s: started %s[%d] pid %d slot %d gen %u", __func__, k->name,
	    index, (int)pid, slot, mst.generation);
	return (c);
}

static void
child_term(struct mst_child *c, int sig)
{
	if (sig == SIGTERM) {
		if (c->stopping)
			return;
		c->stopping = 1;
		c->t_term = tim_mono();
	}
	if (kill(c->pid, sig) < 0 && errno != ESRCH)
		log_syserr("kill(%d, %d)", (int)c->pid, sig);
}

static int
kind_idx(const struct mst_kind *k)
{
	return ((int)(k - mst_kinds));
}

/*
 * Make the set of children match the configuration (see the file comment).
 */
void
mst_child_reconcile(uint64_t now)
{
	struct mst_child *c, *cur, *old;
	size_t ki;
	int i, n, starting = 0;

	if (mst.stopping)
		return;
	for (c = children; c != NULL; c = c->next) {
		struct shm_proc_info pi;
		if (!c->stopping && c->gen == mst.generation &&
		    shm_proc_get(mst.shm, c->slot, &pi) == 0 &&
		    pi.state == SHM_P_STARTING && now - c->t_start < 10 * TIM_SEC)
			starting++;
	}
	for (ki = 0; ki < NKINDS; ki++) {
		const struct mst_kind *k = &mst_kinds[ki];

		n = k->count(&mst.cfg);
		if (n > 0 && k->main == NULL) {
			static int warned[NKINDS];
			if (!warned[ki]++)
				log_warn("%s processes not built in: skipped", k->name);
			continue;
		}
		/* retire what the configuration no longer wants */
		for (c = children; c != NULL; c = c->next)
			if (c->kind == k && !c->stopping && c->index >= n) {
				log_info("retiring %s[%d] (pid %d)", k->name,
				    c->index, (int)c->pid);
				child_term(c, SIGTERM);
			}
		for (i = 0; i < n && i < MAXINDEX; i++) {
			cur = old = NULL;
			for (c = children; c != NULL; c = c->next) {
				if (c->kind != k || c->index != i || c->stopping)
					continue;
				if (c->gen == mst.generation)
					cur = c;
				else
					old = c;
			}
			if (cur != NULL) {
				struct shm_proc_info pi;
				if (old != NULL && (now - cur->t_start > 5 * TIM_SEC ||
				    (shm_proc_get(mst.shm, cur->slot, &pi) == 0 &&
				    pi.state == SHM_P_RUNNING))) {
					/* the new one serves: retire the old one */
					child_term(old, SIGTERM);
				}
				continue;
			}
			if (old != NULL) {
				/* reload: one replacement at a time */
				if (starting > 0)
					continue;
				if (spawn(k, i) != NULL)
					starting++;
				continue;
			}
			if (backoff[ki][i].next_at > now)
				continue;
			if (spawn(k, i) != NULL && backoff[ki][i].fails > 0)
				STAT_INC(child_restarts);
		}
	}
}

/*
 * Could the fit it held have killed this child?  A crash signal, or the
 * watchdog's kill of a hung loop (a fit far past -fit-timeout stops the
 * heartbeat): yes.  SIGKILL or SIGTERM from anyone else (an operator, a
 * chaos test, a drain deadline): no, or a job held twice by chance would
 * fail for nothing.
 */
static int
child_blames_fit(const struct mst_child *c, int status)
{
	if (c->hung)
		return (1);
	if (!WIFSIGNALED(status))
		return (0);
	switch (WTERMSIG(status)) {
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGABRT:
	case SIGSYS:
	case SIGTRAP:
		return (1);
	default:
		return (0);
	}
}

static void
obituary(struct mst_child *c, int status)
{
	struct shm_proc_info pi;
	struct rtab_due due;
	char what[96];
	int expected = c->stopping || mst.stopping;
	int n;

	if (WIFEXITED(status))
		snprintf(what, sizeof what, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(what, sizeof what, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(what, sizeof what, "status 0x%x", status);
	if (expected && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("%s[%d] (pid %d) %s", c->kind->name, c->index,
		    (int)c->pid, what);
	else {
		log_warn("%s[%d] (pid %d) %s", c->kind->name, c->index,
		    (int)c->pid, what);
		if (shm_proc_get(mst.shm, c->slot, &pi) == 0 &&
		    pi.last_words[0] != '\0')
			log_warn("%s[%d] (pid %d) said: %s", c->kind->name,
			    c->index, (int)c->pid, pi.last_words);
	}
	/* whatever it held goes back to the queue (or fails as poison) */
	n = rtab_reclaim_pid(mst.shm, c->pid, child_blames_fit(c, status), &due);
	ctl_wake_due(mst.shm, due.jobs, due.webhooks);
	if (n > 0)
		log_warn("requeued %d job%s held by pid %d", n, n == 1 ? "" : "s",
		    (int)c->pid);
	shm_proc_set_dead(mst.shm, c->slot);
	if (!expected) {
		int ki = kind_idx(c->kind);
		uint64_t now = tim_mono(), delay;
		int f;

		STAT_INC(child_died);
		if (c->index < MAXINDEX && c->gen == mst.generation) {
			/* a child that lived 10 s is not crash-looping */
			if (now - c->t_start > 10 * TIM_SEC)
				backoff[ki][c->index].fails = 0;
			f = ++backoff[ki][c->index].fails;
			delay = f <= 1 ? 0 : (100 * TIM_MS) << (f - 2 > 20 ? 20 : f - 2);
			if (delay > mst.cfg.respawn_max_delay)
				delay = mst.cfg.respawn_max_delay;
			backoff[ki][c->index].next_at = now + delay;
			if (delay > 0)
				log_warn("restarting %s[%d] in %.3fs", c->kind->name,
				    c->index, (double)delay / 1e9);
		}
	}
}

void
mst_child_reap(void)
{
	struct mst_child **pp, *c;
	pid_t pid;
	int status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		for (pp = &children; (c = *pp) != NULL; pp = &c->next)
			if (c->pid == pid)
				break;
		if (c == NULL) {
			log_warn("reaped unknown pid %d", (int)pid);
			continue;
		}
		obituary(c, status);
		*pp = c->next;
		nchildren--;
		imp_free(c);
	}
}

void
mst_child_stop_all(int sig)
{
	struct mst_child *c;

	for (c = children; c != NULL; c = c->next)
		child_term(c, sig);
}

void
mst_child_signal_all(int sig)
{
	struct mst_child *c;

	for (c = children; c != NULL; c = c->next)
		if (kill(c->pid, sig) < 0 && errno != ESRCH)
			log_syserr("kill(%d)", (int)c->pid);
}

int
mst_child_count(void)
{
	return (nchildren);
}

void
mst_child_reload(void)
{
	size_t ki;
	int i;

	mst.generation++;
	/* a reload is a fresh start: forget crash backoff */
	for (ki = 0; ki < NKINDS; ki++)
		for (i = 0; i < MAXINDEX; i++)
			backoff[ki][i].fails = 0, backoff[ki][i].next_at = 0;
}

/*
 * Every second: kill children that stopped answering (no heartbeat for
 * 60 s) or do not finish draining; escalate TERM to KILL.
 */
void
mst_child_check(uint64_t now)
{
	struct mst_child *c;
	struct shm_proc_info pi;
	uint64_t real = tim_real(), limit;

	limit = (mst.cfg.drain_timeout ? mst.cfg.drain_timeout : 30 * TIM_SEC) +
	    5 * TIM_SEC;
	for (c = children; c != NULL; c = c->next) {
		if (c->stopping) {
			if (now - c->t_term > limit) {
				log_warn("%s[%d] (pid %d) did not stop in time: "
				    "SIGKILL", c->kind->name, c->index, (int)c->pid);
				child_term(c, SIGKILL);
				c->t_term = now;
			}
			continue;
		}
		if (shm_proc_get(mst.shm, c->slot, &pi) == 0 &&
		    pi.state == SHM_P_RUNNING && pi.heartbeat != 0 &&
		    real > pi.heartbeat + 60 * TIM_SEC) {
			log_warn("%s[%d] (pid %d) is not answering (no heartbeat "
			    "for %.0fs): SIGKILL", c->kind->name, c->index,
			    (int)c->pid, (double)(real - pi.heartbeat) / 1e9);
			c->hung = 1;
			kill(c->pid, SIGKILL);
		}
	}
}
