/*
 * impcore - run one profiling command in every other server process.
 *
 * ctl_send() posts the command to each live process's slot and wakes it;
 * each answers from its own event loop (daemon/prof_ctl.c) by writing a
 * dump file and acknowledging.  We poll the acks from a timer, so our loop
 * keeps serving while a worker finishes a fit, and give up on a process
 * after the timeout (a process that died counts as answered: ctl_acked).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/children.h"
#include "daemon/prof_ctl.h"
#include "lib/buf.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "prof/prof.h"
#include "profiler/prf.h"
#include "state/ctl.h"
#include "state/shm.h"

#define PRF_JOB_POLL_US		2000	/* first poll; doubles up to 20 ms */

struct prf_target {
	int		slot;
	pid_t		pid;
	uint64_t	ack;		/* wait for ack >= this */
	int		acked;		/* 1 answered, -1 gone, 0 not (yet) */
	int		have;		/* data holds its dump file */
	struct buf	data;
};

struct prf_waiter {
	prf_job_done_fn		*done;
	void			*arg;
	struct prf_waiter	*next;
};

struct prf_job {
	struct prf		*prf;
	int			cmd;
	const char		*kind;		/* dump file kind, NULL: none */
	uint64_t		session;
	uint64_t		deadline;	/* CLOCK_MONOTONIC ns */
	int			poll_us;
	struct event		*timer;
	struct prf_waiter	*waiters;
	int			n;
	struct prf_target	t[SHM_NPROC];
};

/*
 * The job of each command in flight.  ctl keeps one argument per command
 * and slot, so two jobs of one command at once would mix their sessions:
 * a second request joins the running job instead and gets the same data.
 */
static struct prf_job	*prf_jobs[CTL_CMD_MAX];

int
prf_job_count(const struct prf_job *job)
{
	return (job->n);
}

pid_t
prf_job_pid(const struct prf_job *job, int i)
{
	return (job->t[i].pid);
}

int
prf_job_slot(const struct prf_job *job, int i)
{
	return (job->t[i].slot);
}

int64_t
prf_job_res(const struct prf_job *job, int i, int w)
{
	struct shm_proc *p;

	if (!job->t[i].acked || w < 0 || w >= CTL_RES_WORDS)
		return (-1);
	p = shm_proc(job->prf->shm, job->t[i].slot);
	if (p == NULL)
		return (-1);
	return ((int64_t)shm_proc_ctl_res(p, job->cmd)[w]);
}

uint64_t
prf_job_session(const struct prf_job *job)
{
	return (job->session);
}

const struct buf *
prf_job_data(const struct prf_job *job, int i)
{
	return (job->t[i].have ? &job->t[i].data : NULL);
}

static void
prf_job_finish(struct prf_job *job)
{
	struct prf_waiter *w, *next;
	int i;

	prf_jobs[job->cmd] = NULL;
	event_free(job->timer);
	for (i = 0; i < job->n; i++) {
		struct prf_target *t = &job->t[i];

		buf_init(&t->data);
		/* a process that missed the deadline may still write: ignore it */
		if (job->kind != NULL && t->acked == 1 &&
		    prf_job_read(job->prf, job->session, job->kind, t->pid,
		    &t->data) == 0)
			t->have = 1;
	}
	for (w = job->waiters; w != NULL; w = next) {
		next = w->next;
		w->done(job, w->arg);
		imp_free(w);
	}
	for (i = 0; i < job->n; i++)
		buf_free(&job->t[i].data);
	imp_free(job);
}

static void
prf_job_poll(evutil_socket_t fd, short what, void *arg)
{
	struct prf_job *job = arg;
	struct shm_proc_info pi;
	struct timeval tv;
	int i, waiting = 0;

	(void)fd;
	(void)what;
	for (i = 0; i < job->n; i++) {
		struct prf_target *t = &job->t[i];

		if (t->acked)
			continue;
		/* a slot reused by another process will never answer for the old one */
		if (shm_proc_get(job->prf->shm, t->slot, &pi) != 0 ||
		    pi.pid != t->pid) {
			t->acked = -1;
			continue;
		}
		if (ctl_acked(job->prf->shm, t->slot, job->cmd, t->ack)) {
			/* "acked" also when the process died meanwhile */
			t->acked = shm_proc_live(job->prf->shm, t->slot) ? 1 : -1;
			continue;
		}
		waiting++;
	}
	if (waiting == 0 || tim_mono() >= job->deadline) {
		if (waiting != 0)
			log_warn("%d process(es) did not answer %s in time",
			    waiting, ctl_name(job->cmd));
		prf_job_finish(job);
		return;
	}
	tv.tv_sec = 0;
	tv.tv_usec = job->poll_us;
	if (job->poll_us < 20000)
		job->poll_us *= 2;
	evtimer_add(job->timer, &tv);
}

void
prf_job_start(struct prf *prf, int cmd, const char *kind, uint64_t arg,
    int timeout_ms, prf_job_done_fn *done, void *donearg)
{
	struct prf_waiter *w = imp_calloc(1, sizeof *w);
	struct prf_job *job;
	struct shm_proc_info pi;
	struct timeval tv = { 0, 0 };
	int i;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	w->done = done;
	w->arg = donearg;
	if ((job = prf_jobs[cmd]) != NULL) {
		w->next = job->waiters;
		job->waiters = w;
		return;
	}
	job = imp_calloc(1, sizeof *job);
	prf_jobs[cmd] = job;
	job->waiters = w;
	job->prf = prf;
	job->cmd = cmd;
	job->kind = kind;
	job->session = prf_next_session(prf);
	job->deadline = tim_mono() + (uint64_t)timeout_ms * 1000000ull;
	job->poll_us = PRF_JOB_POLL_US;
	job->timer = evtimer_new(prf->base, prf_job_poll, job);
	for (i = 0; i < SHM_NPROC; i++) {
		if (i == prf->ctx->slot || shm_proc_get(prf->shm, i, &pi) != 0 ||
		    pi.pid <= 0 || !shm_proc_live(prf->shm, i))
			continue;
		/*
		 * The master answers commands too, but never samples itself:
		 * children forked during a profile would inherit its state
		 * (PPROF.md).  Its stack is fine to ask for.
		 */
		if ((pi.role == SHM_ROLE_MASTER && cmd != PROF_CMD_STACK) ||
		    pi.role == SHM_ROLE_PROFILER)
			continue;
		job->t[job->n].slot = i;
		job->t[job->n].pid = pi.pid;
		job->t[job->n].ack = ctl_send(prf->shm, i, cmd,
		    kind != NULL ? job->session : arg);
		if (job->t[job->n].ack == 0)
			continue;	/* died between the two looks */
		job->n++;
	}
	/* first look right away: an idle worker answers within microseconds */
	evtimer_add(job->timer, &tv);
}

int
prf_job_read(struct prf *prf, uint64_t session, const char *kind, pid_t pid,
    struct buf *b)
{
	char path[4096], chunk[16384];
	ssize_t n;
	int fd;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	if (prof_dump_path(prf->shm, kind, session, pid, path, sizeof path) < 0)
		return (-1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (-1);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(b, chunk, (size_t)n);
	close(fd);
	(void)unlink(path);
	return (n < 0 ? -1 : 0);
}

/* Remove every dump file: ours at exit, a dead profiler's at start. */
void
prf_dumps_clean(struct prf *prf)
{
	char path[4096 + 256];
	struct dirent *de;
	DIR *d;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	d = opendir(prf->dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", prf->dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
}
