/*
 * impcore - impsolverd, the master process.
 *
 * Parses the configuration, binds the sockets, creates or recovers the
 * state file, forks the children (mst_child.c) and supervises them.  The
 * master never serves a request.  Its loop is ppoll() on its own eventfd
 * with the signals unblocked only inside ppoll (handlers set flags; all
 * the work happens here, in the loop).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "impfit.h"

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "daemon/prof_ctl.h"
#include "daemon/sdnotify.h"
#include "lib/log.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "master/mst_priv.h"
#include "net/urlallow.h"
#include "state/ctl.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "state/stat_read.h"
#include "state/state.h"

struct mst	mst;

volatile sig_atomic_t	mst_sig_chld, mst_sig_term, mst_sig_hup, mst_sig_usr1;

/* One table: signal, what the master does (the init script uses the same verbs). */
static const struct {
	int			sig;
	const char		*verb;
	volatile sig_atomic_t	*flag;
} mst_signals[] = {
	{ SIGCHLD,	"reap",		&mst_sig_chld },
	{ SIGTERM,	"stop",		&mst_sig_term },
	{ SIGINT,	"stop",		&mst_sig_term },
	{ SIGHUP,	"reload",	&mst_sig_hup },
	{ SIGUSR1,	"reopen",	&mst_sig_usr1 },
};
#define NSIGNALS	(sizeof mst_signals / sizeof mst_signals[0])

static void
sig_handler(int sig)
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		if (mst_signals[i].sig == sig)
			*mst_signals[i].flag = 1;
}

static void
signals_setup(sigset_t *blocked)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	sigemptyset(blocked);
	for (i = 0; i < NSIGNALS; i++) {
		sigaction(mst_signals[i].sig, &sa, NULL);
		sigaddset(blocked, mst_signals[i].sig);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_BLOCK, blocked, NULL);
}

static int
write_file_atomic(const char *path, const char *text)
{
	char *tmp;
	int fd, rc = -1;

	imp_asprintf(&tmp, "%s.tmp", path);
	/*
	 * We may be root, in a directory the service user can write: a
	 * link planted as the temporary name must not be followed (it
	 * truncated and wrote any file), so the temporary is always new.
	 * unlink() removes a link itself, never what it points to.
	 */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
		    close(fd) == 0 && rename(tmp, path) == 0)
			rc = 0;
		else
			unlink(tmp);
	}
	if (rc < 0)
		log_syserr("cannot write %s", path);
	imp_free(tmp);
	return (rc);
}

static int
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return (0);
	if (geteuid() != 0) {
		log_warn("-user=%s ignored: not started as root", user);
		return (0);
	}
	pw = getpwnam(user);
	if (pw == NULL) {
		log_err("-user: no user '%s'", user);
		return (-1);
	}
	/*
	 * The state file and directory must stay writable after the drop:
	 * given away through what we opened, never through a path (a link
	 * planted there would hand its target to the service user).
	 */
	{
		int dfd = open(mst.cfg.state_dir, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0 || fchown(dfd, pw->pw_uid, pw->pw_gid) < 0 ||
		    shm_fchown(mst.shm, pw->pw_uid, pw->pw_gid) < 0)
			log_syserr("chown(%s)", mst.cfg.state_dir);
		if (dfd >= 0)
			close(dfd);
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_syserr("dropping privileges to %s", user);
		return (-1);
	}
	log_info("running as %s (uid %d)", user, (int)pw->pw_uid);
	return (0);
}

/* Detach; the parent waits for the child's word on readiness.  Returns the pipe's write end. */
static int
daemonize(void)
{
	int p[2], fd;
	pid_t pid;
	char c = 1;

	if (pipe(p) < 0)
		log_fatal("pipe()");
	pid = fork();
	if (pid < 0)
		log_fatal("fork()");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 1;
		_exit(c == 0 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (mst.cfg.log == NULL)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return (p[1]);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
log_cfg_line(const char *key, const char *value, void *arg)
{
	struct {
		char	*p;
		size_t	len, cap;
	} *b = arg;
	size_t n = strlen(key) + strlen(value) + 3;

	if (*value == '\0')
		return;
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = imp_realloc(b->p, b->cap);
	}
	b->len += (size_t)snprintf(b->p + b->len, b->cap - b->len, " %s=%s",
	    key, value);
}

static void
log_config(const char *what)
{
	struct {
		char	*p;
		size_t	len, cap;
	} b = { NULL, 0, 0 };

	cfg_foreach(&mst.cfg, log_cfg_line, &b);
	log_info("%s:%s", what, b.p != NULL ? b.p : "");
	imp_free(b.p);
}

/* Check what the children would otherwise refuse at every request. */
static int
cfg_check(const struct cfg *c, char **cause)
{
	char err[160];
	struct impfit_circuit *fc;

	if (impfit_method_parse(c->method) < 0) {
		imp_asprintf(cause, "-method: unknown method '%s'", c->method);
		return (-1);
	}
	fc = impfit_circuit_parse(c->code, err, sizeof err);
	if (fc == NULL) {
		imp_asprintf(cause, "-code: bad circuit '%s': %s", c->code, err);
		return (-1);
	}
	impfit_circuit_free(fc);
	if (strlen(c->code) > RTAB_CIRCUIT_MAX) {
		imp_asprintf(cause, "-code: circuit code too long");
		return (-1);
	}
	/*
	 * A default webhook nobody can deliver to would park every result
	 * until someone reads the log: refuse to start (or to reload).
	 */
	if (c->webhook_url != NULL &&
	    urlparts_usable(c->webhook_url, err, sizeof err) < 0) {
		char shown[3 * 256 + 1];

		/* the URL as the operator wrote it, less its secrets */
		mask_text(c->webhook_url, strnlen(c->webhook_url, 256), shown,
		    sizeof shown);
		imp_asprintf(cause, "-webhook-url '%s' is not usable: %s", shown,
		    err);
		return (-1);
	}
	/* an allow-list entry that cannot match would refuse its targets
	 * quietly, request after request */
	if (urlallow_check(c->webhook_allow, err, sizeof err) < 0) {
		imp_asprintf(cause, "-webhook-allow: %s", err);
		return (-1);
	}
	return (0);
}

/*==================================================================
 * Readiness for systemd (Type=notify)
 */

/*
 * Are all -threads workers of the current generation running their loops
 * (and so answering: they set RUNNING once they serve)?  Before that the
 * API socket only queues connections; after a reload, old workers still
 * draining do not count.
 */
static int
mst_workers_ready(void)
{
	struct shm_proc_info pi;
	int slot, n = 0;

	for (slot = 0; slot < SHM_NPROC; slot++)
		if (shm_proc_get(mst.shm, slot, &pi) == 0 &&
		    pi.role == SHM_ROLE_WORKER && pi.state == SHM_P_RUNNING &&
		    pi.generation == mst.generation)
			n++;
	return (n >= mst.cfg.threads);
}

static void
mst_notify(const char *state)
{
	if (sdn_notify(state) != 0)
		log_syserr("sd_notify(%s) to $NOTIFY_SOCKET", state);
}

/*==================================================================
 * Reload (SIGHUP)
 */

static void
reload(void)
{
	struct cfg nc;
	char *cause = NULL;
	struct shm_geom g;

	memset(&nc, 0, sizeof nc);
	if (cfg_load(&nc, mst.argc, mst.argv, &cause) != 0 ||
	    cfg_check(&nc, &cause) < 0) {
		log_err("reload: %s: keeping the running configuration",
		    cause != NULL ? cause : "bad configuration");
		imp_free(cause);
		cfg_free(&nc);
		return;
	}
	/* what is fixed at start stays as it is */
#define KEEP_STR(f, flag) do {						\
	if ((nc.f == NULL) != (mst.cfg.f == NULL) ||			\
	    (nc.f != NULL && strcmp(nc.f, mst.cfg.f) != 0))		\
		log_warn("reload: -%s changes need a restart", flag);	\
	imp_free(nc.f);							\
	nc.f = mst.cfg.f != NULL ? imp_strdup(mst.cfg.f) : NULL;	\
} while (0)
#define KEEP_NUM(f, flag) do {						\
	if (nc.f != mst.cfg.f)						\
		log_warn("reload: -%s changes need a restart", flag);	\
	nc.f = mst.cfg.f;						\
} while (0)
	KEEP_STR(bind, "bind");
	KEEP_STR(state_dir, "state-dir");
	KEEP_STR(user, "user");
	KEEP_STR(pidfile, "pidfile");
	KEEP_STR(profile_bind, "profile-bind");
	KEEP_NUM(port, "port");
	KEEP_NUM(profile_port, "profile-port");
	KEEP_NUM(queue_size, "queue-size");
	KEEP_NUM(results, "results");
	KEEP_NUM(arena_size, "arena-size");
	KEEP_NUM(daemon, "daemon");
#undef KEEP_STR
#undef KEEP_NUM
	shm_geom_get(mst.shm, &g);
	if (nc.max_points > g.max_points) {
		log_warn("reload: -max-points %u exceeds the state file's %u: "
		    "needs a restart", nc.max_points, g.max_points);
		nc.max_points = g.max_points;
	}
	if (nc.profile && mst.profile_fd < 0) {
		int port;
		mst.profile_fd = mst_listen(nc.profile_bind, nc.profile_port,
		    &port, &cause);
		if (mst.profile_fd < 0) {
			log_err("reload: profiler socket: %s", cause);
			imp_free(cause);
			cause = NULL;
			nc.profile = 0;
		}
	}
	if ((nc.log == NULL) != (mst.cfg.log == NULL) ||
	    (nc.log != NULL && strcmp(nc.log, mst.cfg.log) != 0)) {
		if (log_open(nc.log, &cause) < 0) {
			log_err("reload: -log: %s", cause);
			imp_free(cause);
			cause = NULL;
		}
	}
	cfg_free(&mst.cfg);
	mst.cfg = nc;
	log_set_quiet(mst.cfg.quiet);
	/* the children forked from here on inherit it */
	log_set_format(mst.cfg.log_format);
	STAT_INC(reloads);
	mst_child_reload();
	log_config("reloaded");
}

/*==================================================================
 * Periodic work
 */

static void
memory_line(void)
{
	uint64_t res[CTL_RES_WORDS] = { 0, 0, 0, 0 };
	struct shm_proc_info pi;
	char line[256], path[64];
	int i;

	for (i = 0; i < SHM_NPROC; i++) {
		struct stat_block *b;
		FILE *f;
		unsigned long sz, rss;

		if (!shm_proc_live(mst.shm, i) || shm_proc_get(mst.shm, i, &pi) < 0)
			continue;
		/* Alloc: the heap in use of the live processes (ctl.c,
		 * ctl_trim_fn, says what that is) */
		b = shm_proc_stats(mst.shm, i);
		if (b != NULL)
			res[0] += b->c[STAT_heap_alloc_bytes] - b->c[STAT_heap_freed_bytes];
		res[3] += *shm_proc_ctl_ack(shm_proc(mst.shm, i), CTL_CMD_TRIM);
		snprintf(path, sizeof path, "/proc/%d/statm", (int)pi.pid);
		f = fopen(path, "re");
		if (f != NULL) {
			if (fscanf(f, "%lu %lu", &sz, &rss) == 2)
				res[2] += (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
			fclose(f);
		}
	}
	/* TotalAlloc: every byte ever allocated, by dead processes too, as
	 * /debug/info's memory_total (the counters outlive their process) */
	res[1] = stat_sum(mst.shm, STAT_heap_alloc_bytes);
	ctl_memory_line(line, sizeof line, res, shm_tasks(mst.shm));
	log_req("%s", line);
}

static void
tick(uint64_t now, uint64_t *last_sec, uint64_t *last_mem)
{
	struct rtab_due due;

	if (now - *last_sec >= TIM_SEC) {
		*last_sec = now;
		shm_proc_heartbeat(shm_proc(mst.shm, mst.slot));
		rtab_maintain(mst.shm, tim_real(), TIM_SEC, mst.cfg.retention,
		    &due);
		ctl_wake_due(mst.shm, due.jobs, due.webhooks);
		mst_child_check(now);
	}
	if (mst.cfg.profile && now - *last_mem >= 30 * TIM_SEC) {
		*last_mem = now;
		memory_line();
	}
	mst_child_reconcile(now);
}

/*==================================================================
 * Start
 */

/*
 * Read the configuration into mst.cfg and check it.  Returns 0 to go on,
 * or -1 with *code what main() exits with: 0 when it only printed (help,
 * version), 2 for a bad configuration.
 */
static int
start_config(int argc, char **argv, int *code)
{
	char *cause = NULL;
	int rc;

	memset(&mst, 0, sizeof mst);
	mst.api_fd = mst.profile_fd = -1;
	mst.argc = argc;
	/*
	 * ps shows argv's memory: overwrite the secrets in it before anything
	 * else, and parse (now and at every SIGHUP) a private copy.  What ps
	 * showed until here is why the docs say -api-token-file.
	 */
	mst.argv = cfg_argv_dup(argc, argv);
	cfg_argv_scrub(argc, argv);
	rc = cfg_load(&mst.cfg, argc, mst.argv, &cause);
	if (rc == 1) {
		cfg_free(&mst.cfg);
		cfg_argv_free(mst.argv);
		*code = 0;
		return (-1);
	}
	if (rc < 0 || cfg_check(&mst.cfg, &cause) < 0) {
		fprintf(stderr, "impsolverd: %s\n", cause);
		imp_free(cause);
		cfg_free(&mst.cfg);
		cfg_argv_free(mst.argv);
		*code = 2;
		return (-1);
	}
	log_set_quiet(mst.cfg.quiet);
	log_set_format(mst.cfg.log_format);
	if (getenv("IMPCORE_DEBUG") != NULL)
		log_set_debug(1);
	return (0);
}

/* Make the state dir (and -log) absolute paths: -daemon changes to /. */
static int
start_paths(void)
{
	char *dir;

	if (mkdir(mst.cfg.state_dir, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "impsolverd: mkdir(%s): %s\n", mst.cfg.state_dir,
		    strerror(errno));
		return (-1);
	}
	dir = realpath(mst.cfg.state_dir, NULL);
	if (dir != NULL) {
		imp_free(mst.cfg.state_dir);
		mst.cfg.state_dir = imp_strdup(dir);
		free(dir);
	}
	if (mst.cfg.log != NULL && mst.cfg.log[0] != '/') {
		char *cwd = getcwd(NULL, 0), *abs;
		if (cwd != NULL) {
			imp_asprintf(&abs, "%s/%s", cwd, mst.cfg.log);
			imp_free(mst.cfg.log);
			mst.cfg.log = abs;
			free(cwd);
		}
	}
	return (0);
}

/*
 * Create or recover the state file, then open the listeners and take the
 * master's slot in it; *g is the state file's geometry.  Exits on failure.
 */
static void
start_state(struct shm_geom *g, int *recovered)
{
	char *cause = NULL;

	g->queue_size = mst.cfg.queue_size;
	g->results = mst.cfg.results;
	g->max_points = mst.cfg.max_points;
	g->arena_bytes = mst.cfg.arena_size;
	if (mst.cfg.user != NULL && geteuid() == 0) {
		struct passwd *pw = getpwnam(mst.cfg.user);
		if (pw != NULL)
			shm_set_owner(pw->pw_uid);	/* it owns the file after a drop */
	}
	shm_set_lock_wait((mst.cfg.drain_timeout ? mst.cfg.drain_timeout :
	    30 * TIM_SEC) + 5 * TIM_SEC);
	if (state_open(mst.cfg.state_dir, g, &mst.shm, recovered, &cause) < 0)
		log_fatalx("state file: %s", cause);
	shm_geom_get(mst.shm, g);
	/*
	 * Listen only now, holding the state file's lock: the children of a
	 * master killed alone still hold the listening sockets while they
	 * drain, and bind() failed on them ("Address already in use").  They
	 * hold the lock as long, so state_open waited for them to go.
	 */
	mst.api_fd = mst_listen(mst.cfg.bind, mst.cfg.port, &mst.api_port, &cause);
	if (mst.api_fd < 0)
		log_fatalx("API listener: %s", cause);
	if (mst.cfg.profile) {
		int port;
		mst.profile_fd = mst_listen(mst.cfg.profile_bind,
		    mst.cfg.profile_port, &port, &cause);
		if (mst.profile_fd < 0)
			log_fatalx("profiler listener: %s", cause);
	}
	if (mst.cfg.max_points > g->max_points)
		mst.cfg.max_points = g->max_points;
	if (ctl_setup(SHM_NPROC, &cause) < 0)
		log_fatalx("%s", cause);
	ctl_register_builtin();
	/* the profiler's commands, inherited by every child we fork */
	prof_ctl_register();
	mst.slot = shm_proc_alloc(mst.shm, SHM_ROLE_MASTER, -1, 0);
	stat_attach(shm_proc_stats(mst.shm, mst.slot));
	shm_proc_set_pid(mst.shm, mst.slot, getpid());
	shm_set_master(mst.shm, getpid());
	mst.start_real = shm_birth(mst.shm);
}

/*
 * The files beside the state file: the port file, -pidfile (exits if it
 * cannot be written), and with -benchmark the timing CSV's header.
 */
static void
start_files(void)
{
	char txt[64];

	imp_asprintf(&mst.portfile, "%s/impsolverd.port", mst.cfg.state_dir);
	snprintf(txt, sizeof txt, "%d\n", mst.api_port);
	write_file_atomic(mst.portfile, txt);
	if (mst.cfg.pidfile != NULL) {
		mst.pidfile = imp_strdup(mst.cfg.pidfile);
		snprintf(txt, sizeof txt, "%d\n", (int)getpid());
		if (write_file_atomic(mst.pidfile, txt) < 0)
			log_fatalx("cannot write the pid file %s", mst.pidfile);
	}
	if (mst.cfg.benchmark) {
		char *p;
		int fd;
		imp_asprintf(&p, "%s/concurrent_timing_results.csv", mst.cfg.state_dir);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd >= 0) {
			static const char hdr[] = "timestamp,worker,pid,batch_id,"
			    "iteration,circuit,method,fit_ms,queue_wait_ms,points,"
			    "chi_square,fit_status\n";
			if (write(fd, hdr, sizeof hdr - 1) < 0)
				log_syserr("write(%s)", p);
			close(fd);
		}
		imp_free(p);
	}
}

static void
start_log(const struct shm_geom *g, int recovered)
{
	log_info("impsolverd %s: API on %s:%d, %d workers, state %s (%s; "
	    "queue-size %u, results %u, max-points %u, %.1f MB)%s",
	    PACKAGE_VERSION, mst.cfg.bind, mst.api_port, mst.cfg.threads,
	    shm_path(mst.shm), recovered ? "recovered" : "new", g->queue_size,
	    g->results, g->max_points, (double)shm_size(mst.shm) / 1048576.0,
	    mst.cfg.profile ? ", profiling on" : "");
	if (recovered && rtab_queue_depth(mst.shm) > 0)
		log_info("recovered %u queued spectra", rtab_queue_depth(mst.shm));
	log_config("configuration");
}

/* Tell the parent of -daemon that we started (it exits 0). */
static void
start_ready(int ready_fd)
{
	char ok = 0;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &ok, 1) < 0)
		log_syserr("write(ready pipe)");
	close(ready_fd);
}

/*==================================================================
 * The loop: what each signal's flag asks for
 */

static void
on_term(void)
{
	mst_sig_term = 0;
	mst.stopping = 1;
	mst.stop_at = tim_mono();
	log_info("stopping: finishing in-flight work");
	mst_notify("STOPPING=1");
	shm_proc_set_state(shm_proc(mst.shm, mst.slot), SHM_P_DRAINING);
	mst_child_stop_all(SIGTERM);
}

/* Reload unless stopping; READY=1 is due again when it did. */
static void
on_hup(int *ready_sent)
{
	char nmsg[64];

	mst_sig_hup = 0;
	if (!mst.stopping) {
		log_info("SIGHUP: reloading");
		/* READY=1 again when the new workers all run */
		snprintf(nmsg, sizeof nmsg,
		    "RELOADING=1\nMONOTONIC_USEC=%ju",
		    (uintmax_t)(tim_mono() / 1000));
		mst_notify(nmsg);
		reload();
		*ready_sent = 0;
	}
}

static void
on_ready(int *ready_sent)
{
	/*
	 * The master runs once its workers do: it read
	 * "starting" for ever in impctl, /debug/info and the
	 * goroutine labels (issue 17, item 4).  A reload
	 * leaves it running.
	 */
	shm_proc_set_state(shm_proc(mst.shm, mst.slot),
	    SHM_P_RUNNING);
	mst_notify("READY=1");
	*ready_sent = 1;
}

/*
 * Supervise until stopped and every child gone; now is when the children
 * were first started.  Signals are blocked (signals_setup()) except inside
 * ppoll.
 */
static void
master_loop(uint64_t now)
{
	struct pollfd pfd;
	struct timespec ts;
	sigset_t none;
	uint64_t last_sec = 0, last_mem = now;
	int ready_sent;

	sigemptyset(&none);
	pfd.fd = ctl_fd(mst.slot);
	pfd.events = POLLIN;
	/* READY=1 is sent by the loop once the workers answer */
	ready_sent = 0;
	for (;;) {
		ts.tv_sec = 0;
		ts.tv_nsec = 100 * 1000 * 1000;
		/* signals are delivered only here: no race with the flags */
		if (ppoll(&pfd, 1, &ts, &none) > 0 && (pfd.revents & POLLIN))
			ctl_dispatch(mst.shm, mst.slot);
		if (mst_sig_chld) {
			mst_sig_chld = 0;
			mst_child_reap();
		}
		if (mst_sig_term && !mst.stopping)
			on_term();
		if (mst_sig_hup)
			on_hup(&ready_sent);
		if (mst_sig_usr1) {
			mst_sig_usr1 = 0;
			log_reopen();
			mst_child_signal_all(SIGUSR1);
		}
		if (!ready_sent && !mst.stopping && mst_workers_ready())
			on_ready(&ready_sent);
		now = tim_mono();
		tick(now, &last_sec, &last_mem);
		if (mst.stopping && mst_child_count() == 0)
			break;
	}
}

/* After the loop: the queue stays in the state file for the next start. */
static void
master_exit(void)
{
	struct rtab_due due;

	rtab_maintain(mst.shm, tim_real(), TIM_SEC, 0, &due);
	ctl_wake_due(mst.shm, due.jobs, due.webhooks);
	log_info("stopped: %u spectra queued for the next start",
	    rtab_queue_depth(mst.shm));
	shm_proc_set_dead(mst.shm, mst.slot);
	if (mst.pidfile != NULL)
		unlink(mst.pidfile);
	unlink(mst.portfile);
	stat_attach(NULL);
	shm_close(mst.shm);
	imp_free(mst.pidfile);
	imp_free(mst.portfile);
	cfg_free(&mst.cfg);
	cfg_argv_free(mst.argv);
	close(mst.api_fd);
	if (mst.profile_fd >= 0)
		close(mst.profile_fd);
}

/*==================================================================
 * main
 */

int
main(int argc, char **argv)
{
	struct shm_geom g;
	sigset_t blocked;
	char *cause = NULL;
	uint64_t now;
	int code, recovered, ready_fd = -1;

	log_set_role("master", -1);
	if (start_config(argc, argv, &code) < 0)
		return (code);
	if (start_paths() < 0)
		return (1);
	if (mst.cfg.daemon)
		ready_fd = daemonize();
	if (log_open(mst.cfg.log, &cause) < 0) {
		log_err("-log: %s", cause);
		return (1);
	}
	raise_nofile();
	start_state(&g, &recovered);
	start_files();
	if (drop_privileges(mst.cfg.user) < 0)
		return (1);
	start_log(&g, recovered);

	signals_setup(&blocked);
	now = tim_mono();
	mst_child_reconcile(now);
	start_ready(ready_fd);
	master_loop(now);
	master_exit();
	return (0);
}
