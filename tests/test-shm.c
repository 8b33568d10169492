/*
 * impcore - the state file and result table (src/state/shm.c, rtab_*.c)
 * without the daemon: all-or-nothing submit and the queue limit, the job
 * path, eviction of delivered results only, the robust mutex repaired
 * after its holder died mid-submit (EOWNERDEAD), leases of a dead pid
 * reclaimed, and recovery from the file after everything died.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mem.h"
#include "state/phist.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"
#include "state/state.h"

static int	fails;

#define CHECK(cond, ...) do {						\
	if (cond)							\
		printf("ok: " __VA_ARGS__);				\
	else {								\
		printf("FAIL (%s:%d): ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		fails++;						\
	}								\
	printf("\n");							\
} while (0)

static double	freq[20], zre[20], zim[20];
/* what the last call made due, and the deliveries run_all made due */
static struct rtab_due due;
static uint32_t	wh_due;

static void
spec_init(struct rtab_spec *sp, int it)
{
	memset(sp, 0, sizeof *sp);
	sp->iteration = it;
	sp->n = 20;
	sp->freq = freq;
	sp->zre = zre;
	sp->zim = zim;
	sp->circuit = "R(RC)";
	sp->nparams = 3;
}

static enum rtab_rc
submit(struct shm *s, const char *id, int n, const char *url, uint32_t limit)
{
	struct rtab_spec sp[64];
	struct rtab_batch_in in;
	char bid[RTAB_ID_MAX + 1];
	uint32_t b;
	int i;

	for (i = 0; i < n; i++)
		spec_init(&sp[i], i);
	memset(&in, 0, sizeof in);
	in.id = id;
	in.webhook_url = url;
	in.n = n;
	in.spec = sp;
	in.queue_limit = limit;
	return (rtab_submit(s, &in, &b, bid));
}

/* Take and finish every job; returns how many. */
static int
run_all(struct shm *s)
{
	struct rtab_job j;
	struct rtab_outcome o;
	double p[3] = { 1, 2, 3 }, e[3] = { 0, 0, 0 };
	int n = 0;

	memset(&o, 0, sizeof o);
	o.nparams = 3;
	o.params = p;
	o.std_errors = e;
	wh_due = 0;
	while (rtab_job_take(s, getpid(), &j, &due) == 0) {
		if (rtab_job_finish(s, &j, &o, &due) == 0)
			n++;
		wh_due += due.webhooks;
	}
	return (n);
}

int
main(void)
{
	char dir[] = "/tmp/test-shm.XXXXXX", *cause = NULL;
	struct shm_geom g = { 10, 20, 64, 0 };
	struct rtab_batch_info bi;
	struct rtab_job j;
	struct shm *s;
	uint32_t *recs;
	uint64_t before;
	int i, rec, st;
	pid_t pid;

	for (i = 0; i < 20; i++) {
		freq[i] = 1000.0 / (i + 1);
		zre[i] = 10;
		zim[i] = -1;
	}
	if (mkdtemp(dir) == NULL)
		return (1);
	CHECK(state_open(dir, &g, &s, &rec, &cause) == 0 && rec == 0,
	    "new state file (%s)", cause ? cause : "");

	/*
	 * A handle whose magic is wrong (a stale or stray pointer) is refused
	 * at the entry point: one line naming it, then abort (lib/check.h).
	 */
	{
		struct rlimit nocore = { 0, 0 };
		char line[512] = "";
		int fd[2], wst = 0;
		ssize_t n;

		if (pipe(fd) != 0)
			return (1);
		pid = fork();
		if (pid == 0) {
			setrlimit(RLIMIT_CORE, &nocore);
			dup2(fd[1], STDERR_FILENO);
			s->magic = 0xdeadbeefu;
			printf("not refused: %s\n", shm_path(s));
			_exit(0);
		}
		close(fd[1]);
		n = read(fd[0], line, sizeof line - 1);
		line[n > 0 ? n : 0] = '\0';
		close(fd[0]);
		waitpid(pid, &wst, 0);
		CHECK(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGABRT &&
		    strstr(line, "bad object s in shm_path") != NULL &&
		    strstr(line, "magic 0xdeadbeef") != NULL,
		    "a handle with a wrong magic aborts at shm_path (%s)",
		    strtok(line, "\n") != NULL ? line : "no line");
	}

	/* the task count: live slots only, up to the high-water mark */
	{
		int a, b, c;

		CHECK(shm_tasks(s) == 0, "no process: 0 tasks (%d)", shm_tasks(s));
		a = shm_proc_alloc(s, SHM_ROLE_MASTER, -1, 0);
		b = shm_proc_alloc(s, SHM_ROLE_WORKER, 0, 0);
		c = shm_proc_alloc(s, SHM_ROLE_WORKER, 1, 0);
		CHECK(a == 0 && b == 1 && c == 2 && s->head->proc_hw == 3,
		    "slots 0-2 taken, high-water 3 (%u)", s->head->proc_hw);
		shm_proc_set_inflight(shm_proc(s, c), 4);
		shm_proc_set_busy(shm_proc(s, c), 1);
		CHECK(shm_tasks(s) == 8, "3 processes + 4 requests + 1 fit (%d)",
		    shm_tasks(s));
		shm_proc_set_dead(s, b);
		CHECK(shm_tasks(s) == 7, "a dead slot left out (%d)", shm_tasks(s));
		CHECK(shm_proc_alloc(s, SHM_ROLE_WORKER, 0, 1) == b &&
		    s->head->proc_hw == 3, "its slot reused, high-water kept");
		/* a file from before the field: 0, every slot scanned */
		s->head->proc_hw = 0;
		CHECK(shm_proc_alloc(s, SHM_ROLE_WEBHOOK, -1, 0) == 3 &&
		    s->head->proc_hw == 0, "unknown high-water stays unknown");
		CHECK(shm_tasks(s) == 9, "and every live slot counted (%d)",
		    shm_tasks(s));
		s->head->proc_hw = 4;
		for (i = 0; i < 4; i++)
			shm_proc_set_dead(s, i);
		CHECK(shm_tasks(s) == 0, "all dead: 0 tasks (%d)", shm_tasks(s));
	}

	/* the profiler's history: a sample a profiler died writing is not
	 * taken for complete, the next one is */
	{
		struct phist *ph = shm_phist(s);
		struct phist_sample *ps, copy;

		CHECK(ph != NULL && phist_read(ph, 0, &copy) < 0,
		    "history: there, and empty");
		ps = phist_begin(ph);		/* ... and the writer dies */
		ps->t_real = 1;
		CHECK(phist_read(ph, 0, &copy) < 0, "nothing committed: no sample");
		ps = phist_begin(ph);		/* the next profiler, same slot */
		CHECK((ps->seq & 1) == 1, "still marked as being written");
		ps->t_real = 2;
		ps->nproc = 0;
		phist_commit(ph, ps);
		CHECK(phist_read(ph, 0, &copy) == 0 && copy.t_real == 2 &&
		    (copy.seq & 1) == 0, "committed: read back");
		CHECK(phist_read(ph, 1, &copy) < 0, "one sample only");
	}

	/* queue limit: all or nothing */
	CHECK(submit(s, "a", 6, NULL, 10) == RTAB_OK, "6 spectra accepted");
	CHECK(submit(s, "b", 5, NULL, 10) == RTAB_FULL, "5 more: queue full");
	CHECK(rtab_batch_find(s, "b", &bi, NULL) < 0, "refused batch not stored");
	CHECK(submit(s, "a", 6, NULL, 10) == RTAB_EXISTS, "same id, same spectra: exists");
	CHECK(submit(s, "a", 1, NULL, 10) == RTAB_CONFLICT, "same id, other spectra: conflict");
	CHECK(submit(s, "a", 6, "http://x/", 10) == RTAB_CONFLICT, "same id, other webhook: conflict");
	CHECK(rtab_queue_depth(s) == 6, "queue depth 6 (%u)", rtab_queue_depth(s));

	/* a dead worker's lease goes back to the queue */
	CHECK(rtab_job_take(s, 424242, &j, &due) == 0, "job taken by pid 424242");
	CHECK(rtab_reclaim_pid(s, 424242, 0, &due) == 1 && due.jobs == 1 &&
	    due.webhooks == 0, "its lease reclaimed: 1 job due (%u)", due.jobs);
	CHECK(run_all(s) == 6 && wh_due == 0, "6 jobs fitted once each");
	CHECK(rtab_batch_find(s, "a", &bi, &recs) == 0 && bi.done == 6,
	    "batch a: %d done", bi.done);
	imp_free(recs);

	/* records: queue_size + results = 30; undelivered results are never evicted */
	CHECK(submit(s, "w1", 10, "http://127.0.0.1:9/h", 10) == RTAB_OK, "w1 with webhook");
	CHECK(run_all(s) == 10 && wh_due == 10,
	    "w1 fitted: its 10 deliveries due (%u)", wh_due);
	CHECK(submit(s, "c", 10, NULL, 10) == RTAB_OK, "c accepted");
	CHECK(run_all(s) == 10, "c fitted");
	CHECK(submit(s, "d", 10, NULL, 10) == RTAB_OK, "d accepted (evicts a)");
	CHECK(rtab_batch_find(s, "a", &bi, NULL) < 0, "a evicted, oldest first");
	CHECK(rtab_batch_find(s, "w1", &bi, NULL) == 0 && bi.wh_pending == 10,
	    "w1 kept: %d pending webhooks", bi.wh_pending);
	CHECK(run_all(s) == 10, "d fitted");
	CHECK(submit(s, "e", 10, "http://127.0.0.1:9/h", 10) == RTAB_OK, "e accepted (evicts c)");
	CHECK(run_all(s) == 10, "e fitted");
	CHECK(submit(s, "f", 10, "http://127.0.0.1:9/h", 10) == RTAB_OK, "f accepted (evicts d)");
	CHECK(run_all(s) == 10, "f fitted");
	CHECK(submit(s, "g0", 1, NULL, 10) == RTAB_NOSPACE,
	    "no space: everything awaits delivery");
	/* deliver w1: it becomes evictable */
	rtab_batch_find(s, "w1", &bi, &recs);
	for (i = 0; i < bi.count; i++) {
		rtab_wh_begin(s, recs[i], getpid());
		rtab_wh_delivered(s, recs[i], getpid());
	}
	imp_free(recs);
	CHECK(submit(s, "g0", 1, NULL, 10) == RTAB_OK, "accepted after delivery");
	CHECK(rtab_batch_find(s, "w1", &bi, NULL) < 0, "delivered w1 evicted");
	before = rtab_pending(s);

	/* the lock holder dies in the middle of a submit */
	pid = fork();
	if (pid == 0) {
		struct rtab_rec *r;
		uint32_t k;
		pthread_mutex_lock(&s->rt->mtx);
		/* a half-built batch: one record FILLING, batch BUILDING */
		for (k = 0; k < s->head->nrecords; k++)
			if (W_STATE(s->recs[k].word) == RTAB_FREE)
				break;
		r = &s->recs[k];
		r->batch = s->free_batches[s->rt->nfree_batches - 1];
		s->batches[r->batch].state = RTAB_B_BUILDING;
		r->word = W_MAKE(RTAB_FILLING, 77, 0);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECK(submit(s, "g", 1, NULL, 10) == RTAB_OK,
	    "submit after the lock holder died (EOWNERDEAD repaired)");
	CHECK(rtab_pending(s) == before + 1, "no FILLING record left over "
	    "(pending %ju, before %ju)", (uintmax_t)rtab_pending(s),
	    (uintmax_t)before);

	/*
	 * A synchronous POST /eis-data record (stored fitted, DONE) whose
	 * submitter died right after the commit, before publishing it: the
	 * repair must publish it DONE, not queue it to be fitted again.
	 */
	{
		struct rtab_outcome o;
		struct rtab_spec sp;
		double p[3] = { 1, 2, 3 }, e[3] = { 0, 0, 0 };
		char resid[RTAB_RESID_LEN + 1];
		uint32_t r0, depth = rtab_queue_depth(s);
		unsigned gen;

		spec_init(&sp, 0);
		memset(&o, 0, sizeof o);
		o.nparams = 3;
		o.params = p;
		o.std_errors = e;
		CHECK(rtab_store_done(s, &sp, "http://127.0.0.1:9/h", &o, &r0,
		    resid) == RTAB_OK, "sync result stored");
		pid = fork();
		if (pid == 0) {
			/* the submitter, dying between commit and publish */
			pthread_mutex_lock(&s->rt->mtx);
			gen = W_GEN(s->recs[r0].word);
			s->recs[r0].word = W_MAKE(RTAB_FILLING, gen, 0);
			_exit(0);
		}
		waitpid(pid, &st, 0);
		CHECK(rtab_batch_find(s, "g", &bi, NULL) == 0,
		    "the next lock taker repairs (EOWNERDEAD)");
		CHECK(rtab_state_of(s, r0, NULL) == RTAB_DONE,
		    "the sync record published DONE (%s), not queued",
		    rtab_state_name(rtab_state_of(s, r0, NULL)));
		CHECK(rtab_queue_depth(s) == depth, "nothing queued (%u, was %u)",
		    rtab_queue_depth(s), depth);
		/* the same at start, after everything died */
		gen = W_GEN(s->recs[r0].word);
		s->recs[r0].word = W_MAKE(RTAB_FILLING, gen, 0);
		shm_close(s);
		CHECK(state_open(dir, &g, &s, &rec, &cause) == 0 && rec == 1 &&
		    rtab_state_of(s, r0, NULL) == RTAB_DONE,
		    "at start too: DONE (%s)",
		    rtab_state_name(rtab_state_of(s, r0, NULL)));
		CHECK(rtab_queue_depth(s) == depth, "nothing queued (%u, was %u)",
		    rtab_queue_depth(s), depth);
	}

	/* everything dies: jobs running and queued come back at the next start */
	CHECK(rtab_job_take(s, 555555, &j, &due) == 0, "a job left RUNNING by pid 555555");
	shm_close(s);
	CHECK(state_open(dir, &g, &s, &rec, &cause) == 0 && rec == 1, "state file recovered");
	CHECK(rtab_queue_depth(s) == 2, "2 jobs queued again (%u)", rtab_queue_depth(s));
	CHECK(run_all(s) == 2, "and fitted");

	/*
	 * A job RUNNING at two deaths of the whole tree is queued again: a fit
	 * cannot kill the master, so that says nothing about the job.  Two
	 * crashes of its worker (reclaimed with blame) make it a poison pill.
	 */
	CHECK(submit(s, "pp", 1, "http://127.0.0.1:9/h", 10) == RTAB_OK, "pp accepted");
	CHECK(rtab_job_take(s, 666666, &j, &due) == 0, "pp RUNNING at the first death");
	shm_close(s);
	CHECK(state_open(dir, &g, &s, &rec, &cause) == 0 && rec == 1,
	    "recovered: pp queued again");
	CHECK(rtab_job_take(s, 666667, &j, &due) == 0, "pp RUNNING at the second death");
	shm_close(s);
	CHECK(state_open(dir, &g, &s, &rec, &cause) == 0 && rec == 1 &&
	    rtab_queue_depth(s) == 1, "recovered: pp queued again, not poisoned");
	CHECK(rtab_job_take(s, 666668, &j, &due) == 0 &&
	    rtab_reclaim_pid(s, 666668, 0, &due) == 1, "killed from outside: requeued");
	CHECK(rtab_job_take(s, 666669, &j, &due) == 0 &&
	    rtab_reclaim_pid(s, 666669, 1, &due) == 1, "a first crash: requeued");
	CHECK(rtab_job_take(s, 666670, &j, &due) == 0 &&
	    rtab_reclaim_pid(s, 666670, 1, &due) == 0 && due.jobs == 0 &&
	    due.webhooks == 1, "a second crash: not requeued, its delivery due");
	{
		struct rtab_view v;
		uint32_t r0;

		CHECK(rtab_batch_find(s, "pp", &bi, &recs) == 0 && bi.failed == 1 &&
		    bi.wh_pending == 1, "pp failed, its webhook pending");
		r0 = recs[0];
		imp_free(recs);
		CHECK(rtab_view_get(s, r0, 0, &v) == 0 &&
		    strcmp(v.error, RTAB_POISON_ERROR) == 0 && v.lease_losses == 2,
		    "error: %s (losses %d)", v.error, v.lease_losses);
		CHECK(rtab_queue_depth(s) == 0 && run_all(s) == 0, "not queued again");
	}
	CHECK(rtab_batch_find(s, "e", &bi, NULL) == 0 && bi.done == 10 &&
	    bi.wh_pending == 10, "finished results and webhooks kept");
	shm_close(s);

	/*
	 * A file of another build of the same layout version (a counter row
	 * appended without a bump, say: its layout_hash differs) is refused
	 * while it holds work, never read with this build's layout nor
	 * recreated; with the writer's descriptor back it opens, work intact.
	 */
	{
		struct shm_head hd;
		char path[256];
		uint64_t mine;
		int fd;

		snprintf(path, sizeof path, "%s/%s", dir, SHM_FILE);
		fd = open(path, O_RDWR);
		CHECK(fd >= 0 && pread(fd, &hd, sizeof hd, 0) == sizeof hd,
		    "read the head");
		mine = hd.layout_hash;
		hd.layout_hash ^= 0x10;
		/* what the master's maintenance publishes (no master here) */
		hd.pre.pending = 10;
		CHECK(pwrite(fd, &hd, sizeof hd, 0) == sizeof hd, "another build's "
		    "descriptor written");
		cause = NULL;
		CHECK(state_open(dir, &g, &s, &rec, &cause) < 0 && cause != NULL &&
		    strstr(cause, "another build") != NULL &&
		    strstr(cause, "pending") != NULL, "refused: %s",
		    cause != NULL ? cause : "(opened)");
		imp_free(cause);
		cause = NULL;
		CHECK(state_open_ro(dir, &s, &cause) < 0, "impctl's open refuses it "
		    "too: %s", cause != NULL ? cause : "(opened)");
		imp_free(cause);
		cause = NULL;
		hd.layout_hash = mine;
		hd.pre.pending = 0;
		CHECK(pwrite(fd, &hd, sizeof hd, 0) == sizeof hd, "descriptor back");
		close(fd);
		CHECK(state_open(dir, &g, &s, &rec, &cause) == 0 &&
		    rtab_batch_find(s, "e", &bi, NULL) == 0 && bi.done == 10,
		    "opens again, batch e intact");
		shm_close(s);
	}

	/* another geometry: kept while work is pending */
	g.queue_size = 12;
	CHECK(state_open(dir, &g, &s, &rec, &cause) == 0, "reopen with a new geometry");
	{
		struct shm_geom h;
		shm_geom_get(s, &h);
		CHECK(h.queue_size == 10, "pending webhooks: geometry kept (%u)", h.queue_size);
	}
	shm_close(s);
	CHECK(state_open_ro(dir, &s, &cause) == 0, "read-only open");
	CHECK(rtab_batch_find(s, "e", &bi, NULL) == 0, "read-only batch lookup");
	shm_close(s);
	/*
	 * impctl's opens check the rings too (state.c, above shm.c): a ring
	 * whose head is garbage is refused, never indexed.
	 */
	{
		struct shm_head hd;
		char path[256];
		uint32_t magic, bad = 0xdeadbeef;
		int fd;

		snprintf(path, sizeof path, "%s/%s", dir, SHM_FILE);
		fd = open(path, O_RDWR);
		CHECK(fd >= 0 && pread(fd, &hd, sizeof hd, 0) == sizeof hd &&
		    pread(fd, &magic, sizeof magic, (off_t)hd.off_wh_ring) ==
		    sizeof magic && pwrite(fd, &bad, sizeof bad,
		    (off_t)hd.off_wh_ring) == sizeof bad, "webhook ring spoilt");
		cause = NULL;
		CHECK(state_open_ro(dir, &s, &cause) < 0 && cause != NULL &&
		    strstr(cause, "rings are corrupt") != NULL, "read-only open "
		    "refuses it: %s", cause != NULL ? cause : "(opened)");
		imp_free(cause);
		cause = NULL;
		CHECK(state_open_rw(dir, &s, &cause) < 0 && cause != NULL &&
		    strstr(cause, "rings are corrupt") != NULL, "read-write open "
		    "refuses it: %s", cause != NULL ? cause : "(opened)");
		imp_free(cause);
		cause = NULL;
		CHECK(pwrite(fd, &magic, sizeof magic, (off_t)hd.off_wh_ring) ==
		    sizeof magic, "ring mended");
		close(fd);
		CHECK(state_open_ro(dir, &s, &cause) == 0, "opens again");
		shm_close(s);
	}
	/*
	 * Another geometry and nothing pending: recreated, laid out for the
	 * new one, its sections initialised (state_open decides, shm.c
	 * lays out), and then kept as it is.
	 */
	{
		char dir2[] = "/tmp/test-shm.XXXXXX";
		struct shm_geom g2 = { 10, 20, 64, 0 }, h;
		uint32_t cap;

		CHECK(mkdtemp(dir2) != NULL, "second directory");
		CHECK(state_open(dir2, &g2, &s, &rec, &cause) == 0 && rec == 0,
		    "new state file");
		shm_close(s);
		g2.queue_size = 40;
		g2.results = 30;
		CHECK(state_open(dir2, &g2, &s, &rec, &cause) == 0 && rec == 0,
		    "idle file of another geometry: recreated (recovered %d)", rec);
		shm_geom_get(s, &h);
		cap = ring_capacity(shm_job_ring(s));
		CHECK(h.queue_size == 40 && h.results == 30 && cap >= 80 &&
		    rtab_pending(s) == 0 && phist_last(s->phist, 0) == NULL,
		    "laid out anew: queue-size %u, results %u, job ring %u",
		    h.queue_size, h.results, cap);
		shm_close(s);
		CHECK(state_open(dir2, &g2, &s, &rec, &cause) == 0 && rec == 1,
		    "the same geometry again: kept");
		shm_close(s);
		{
			char cmd[256];
			snprintf(cmd, sizeof cmd, "rm -rf %s", dir2);
			if (system(cmd) != 0)
				return (1);
		}
	}
	{
		char cmd[256];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return (1);
	}
	printf("%s\n", fails ? "FAIL" : "PASS");
	return (fails ? 1 : 0);
}
