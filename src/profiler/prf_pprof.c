/*
 * impcore - /debug/pprof/ endpoints: profiles of all server processes in
 * the formats go tool pprof reads (../shared/PPROF.md).
 *
 * Each profile is a job (prf_collect.c): the processes write their dumps,
 * we merge them under one header and append /proc/self/maps, which is
 * valid for all of them because they are forked from one master without
 * exec.  That legacy text (or binary, for the CPU) is what ?legacy=1
 * answers; by default it is turned into a gzipped profile.proto whose
 * locations our own symbolizer names, with files, lines and inlined
 * frames (prf_pb.c, issue 17 item 7), as Go serves its profiles.  pprof
 * names the legacy formats from the binary's DWARF and asks
 * /debug/pprof/symbol for the rest (dladdr).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "daemon/prof_ctl.h"
#include "lib/buf.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "prof/prof.h"
#include "prof/prof_cont.h"
#include "profiler/prf.h"
#include "state/ctl.h"
#include "state/phist.h"
#include "state/shm.h"

#define PRF_DUMP_TIMEOUT_MS	3000	/* a busy worker answers between two fits */
#define PRF_WATCH_MS		200	/* how soon a CPU profile sees its client go */
#define PRF_CPU_MAX_DEPTH	256	/* frames kept per CPU sample (the samplers keep 64) */

/* A profile request waiting for its job. */
struct prf_op {
	struct prf		*prf;
	struct prf_defer	d;
	int			debug;
	int			seconds;
	int			kind;		/* PROF_BLOCK / PROF_MUTEX */
	int			left;		/* the client went before the answer */
	int			allocs;		/* /allocs: alloc_space first */
	int			legacy;		/* ?legacy=1: the legacy format */
	uint64_t		t0;		/* tim_mono() at the request */
	struct event		*timer;
	struct event		*watch;		/* is the client still there? */
};

static struct prf_op *
prf_op_new(struct prf *prf, struct hreq *req)
{
	struct prf_op *op = imp_calloc(1, sizeof *op);
	char v[32];

	op->prf = prf;
	op->debug = prf_arg(req, "debug", v, sizeof v) != NULL ? atoi(v) : 0;
	op->legacy = prf_arg(req, "legacy", v, sizeof v) != NULL &&
	    (v[0] == '\0' || atoi(v) > 0 || strcmp(v, "true") == 0);
	prf_defer_init(&op->d, req);
	return (op);
}

static void
prf_op_free(struct prf_op *op)
{
	if (op->timer != NULL)
		event_free(op->timer);
	if (op->watch != NULL)
		event_free(op->watch);
	(void)prf_defer_take(&op->d);
	imp_free(op);
}

/* "name+0xoff" of an address in our (= every process's) layout. */
static void
prf_symbolize(uintptr_t pc, char *out, size_t len, const char **module)
{
	uintptr_t off = 0;
	const char *name = prf_sym_name(pc, &off, module);

	if (name != NULL)
		snprintf(out, len, "%s+%#lx", name, (unsigned long)off);
	else
		snprintf(out, len, "?");
}

/* debug=1 comment lines under a sample line: "#\t0xADDR\tname+0xoff\tmodule" */
static void
prf_add_frames_comment(struct buf *b, const char *line)
{
	const char *at = strchr(line, '@');
	char sym[256];
	const char *mod;
	char *end;

	if (at == NULL)
		return;
	for (at++;;) {
		unsigned long long pc = strtoull(at, &end, 16);

		if (end == at || pc == 0)
			break;
		prf_symbolize((uintptr_t)pc - 1, sym, sizeof sym, &mod);
		buf_printf(b, "#\t%#llx\t%s\t%s\n", pc, sym, mod);
		at = end;
	}
}

/* ==== index ================================================================ */

void
prf_pprof_index(struct prf *prf, struct hreq *req)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	static const struct {
		const char	*name, *href, *desc;
	} profs[] = {
		{ "allocs", "allocs?debug=1", "A sampling of past memory allocations of every server process (the heap profile, opening as alloc_space)." },
		{ "block", "block?debug=1", "Stack traces of waits between processes: full or empty job ring, webhook queue." },
		{ "cmdline", "cmdline", "The command line of the server, secrets masked." },
		{ "goroutine", "goroutine?debug=1", "Every server process and thread with its role and state; debug=2 adds stacks." },
		{ "heap", "heap?debug=1", "A sampling of live allocations of every process (imp_malloc, jansson, libevent, libcurl). Add ?gc=1 to trim the heaps first." },
		{ "mutex", "mutex?debug=1", "Stack traces of waits on the result table's robust mutex." },
		{ "profile", "profile", "CPU profile of all processes. Add ?seconds=N (default 30, at most 60). Then run go tool pprof on the file." },
		{ "symbol", "symbol", "Names of addresses, for go tool pprof (POST 0xADDR+0xADDR)." },
		{ "threadcreate", "threadcreate?debug=1", "Threads of every server process (a worker has two: its loop and its fitting thread), one line per process at its main function." },
		{ "trace", "trace", "Go's execution trace: Go-only, answered 501." },
	};
	struct buf b;
	size_t i;
	/* the tasks now, this request included, as everywhere (shm.h) */
	int tasks = shm_tasks(prf->shm);

	buf_init(&b);
	buf_adds(&b, "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n"
	    ".profile-name{\n\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n"
	    "</head>\n<body>\n/debug/pprof/<br>\n<br>\n"
	    "Types of profiles available (impcore " PACKAGE_VERSION
	    ", all server processes):\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n");
	for (i = 0; i < sizeof profs / sizeof profs[0]; i++) {
		if (strcmp(profs[i].name, "goroutine") == 0)
			buf_printf(&b, "<tr><td>%d</td>", tasks);
		else
			buf_adds(&b, "<tr><td></td>");
		buf_printf(&b, "<td><a href='%s'>%s</a></td></tr>\n",
		    profs[i].href, profs[i].name);
	}
	buf_adds(&b, "</table>\n<a href=\"goroutine?debug=2\">full goroutine "
	    "stack dump</a>\n<br>\n<a href=\"/debug/info\">/debug/info</a> "
	    "<a href=\"/debug/stats?seconds=5\">/debug/stats</a> "
	    "<a href=\"/debug/stats?history=60\">(last minute)</a> "
	    "<a href=\"/metrics\">/metrics</a>\n<p>\nProfile Descriptions:\n<ul>\n");
	for (i = 0; i < sizeof profs / sizeof profs[0]; i++)
		buf_printf(&b, "<li><div class=profile-name>%s: </div> %s</li>\n",
		    profs[i].name, profs[i].desc);
	buf_adds(&b, "</ul>\n</p>\n</body>\n</html>\n");
	prf_reply_buf(req, 200, "text/html; charset=utf-8", &b);
	buf_free(&b);
}

/* ==== CPU profile ========================================================== */

static struct prf_op	*prf_cpu_op;	/* the running CPU profile */

/*
 * The workers' CPU records as profile.proto, as Go's: samples/count and
 * cpu/nanoseconds, each sample labelled with its process's role and pid
 * (go tool pprof -tagfocus=role=worker, -tags).  0, or -1 on failure
 * (the legacy binary is served then).
 */
static int
prf_cpu_pb(struct prf_op *op, struct prf_job *job, struct buf *out)
{
	const int64_t period = 1000000000 / PROF_CPU_HZ;
	struct prf_pb *pb = prf_pb_new();
	struct shm_proc_info pi;
	const struct buf *d;
	uint64_t a[PRF_CPU_MAX_DEPTH], now = tim_real();
	struct buf maps;
	int i, j, rc;

	prf_pb_sample_type(pb, "samples", "count");
	prf_pb_sample_type(pb, "cpu", "nanoseconds");
	prf_pb_period(pb, "cpu", "nanoseconds", period);
	prf_pb_time(pb, (int64_t)(now - (tim_mono() - op->t0)),
	    (int64_t)(tim_mono() - op->t0));
	for (i = 0; i < prf_job_count(job); i++) {
		const uint64_t *w;
		size_t nw, k;
		const char *role = NULL;

		if ((d = prf_job_data(job, i)) == NULL || d->len < 16)
			continue;
		if (shm_proc_get(op->prf->shm, prf_job_slot(job, i), &pi) == 0)
			role = shm_role_name(pi.role);
		w = (const uint64_t *)(const void *)d->p;
		nw = d->len / 8;
		/* records: count, n, pc[0] .. pc[n-1] */
		for (k = 0; k + 2 <= nw && w[k + 1] <= nw - k - 2; ) {
			uint64_t n = w[k + 1];
			int64_t val[2];

			for (j = 0; j < (int)n && j < PRF_CPU_MAX_DEPTH; j++)
				/* pc[0] was interrupted; the rest are returns */
				a[j] = j == 0 || w[k + 2 + j] == 0 ? w[k + 2 + j] :
				    w[k + 2 + j] - 1;
			val[0] = (int64_t)w[k];
			val[1] = (int64_t)w[k] * period;
			if (n > 0)
				prf_pb_sample(pb, a, j, val, role,
				    (long)prf_job_pid(job, i));
			k += 2 + n;
		}
	}
	buf_init(&maps);
	prf_add_maps(&maps);
	rc = prf_pb_finish(pb, maps.p, 1, out);
	buf_free(&maps);
	return (rc);
}

static void
prf_cpu_stopped(struct prf_job *job, void *arg)
{
	struct prf_op *op = arg;
	struct hreq *req = prf_defer_take(&op->d);
	uint64_t hdr[5] = { 0, 3, 0, 1000000 / PROF_CPU_HZ, 0 };
	uint64_t trailer[3] = { 0, 1, 0 };
	const struct buf *d;
	struct buf b;
	int i, nproc = 0;
	uint64_t nsamples = 0;

	prf_cpu_op = NULL;
	op->prf->cpu_busy = 0;
	if (op->left && req != NULL) {
		/* nobody reads it: hsrv drops it when the write fails, and must
		 * still be given it to free the request */
		log_info("CPU profile: the client left after %.1f s, "
		    "stopped", (double)(tim_mono() - op->t0) / TIM_SEC);
	}
	buf_init(&b);
	buf_add(&b, hdr, sizeof hdr);
	for (i = 0; i < prf_job_count(job); i++) {
		if ((d = prf_job_data(job, i)) == NULL || d->len < 8)
			continue;	/* no sample: an idle process */
		/* whole records only: a dump is a multiple of 8 bytes */
		buf_add(&b, d->p, d->len & ~(size_t)7);
		nsamples += (uint64_t)(prf_job_res(job, i, 1) > 0 ?
		    prf_job_res(job, i, 1) : 0);
		nproc++;
	}
	buf_add(&b, trailer, sizeof trailer);
	prf_add_maps(&b);
	log_info("CPU profile of %d s: %" PRIu64 " samples from %d "
	    "process(es)%s", op->seconds, nsamples, nproc,
	    req == NULL || op->left ? " (client left)" : "");
	if (req != NULL && !op->legacy) {
		struct buf pb;

		buf_init(&pb);
		if (prf_cpu_pb(op, job, &pb) == 0) {
			buf_free(&b);
			b = pb;
		} else
			buf_free(&pb);
	}
	if (req != NULL) {
		hreq_add_header(req, "Content-Disposition", "attachment; filename=\"profile\"");
		hreq_add_header(req, "X-Content-Type-Options", "nosniff");
		prf_reply_buf(req, 200, "application/octet-stream", &b);
	}
	buf_free(&b);
	prf_op_free(op);
}

static void
prf_cpu_timer(evutil_socket_t fd, short what, void *arg)
{
	struct prf_op *op = arg;

	(void)fd;
	(void)what;
	prf_job_start(op->prf, PROF_CMD_CPU_STOP, PROF_KIND_CPU, 0,
	    PRF_DUMP_TIMEOUT_MS + 2000, prf_cpu_stopped, op);
}

static void
prf_cpu_started(struct prf_job *job, void *arg)
{
	struct prf_op *op = arg;
	struct timeval tv = { op->seconds, 0 };
	int i, ok = 0;

	for (i = 0; i < prf_job_count(job); i++) {
		int64_t err = prf_job_res(job, i, 0);

		if (err == 0)
			ok++;
		else if (err > 0)
			log_warn("pid %ld could not start CPU profiling: %s",
			    (long)prf_job_pid(job, i), strerror((int)err));
	}
	log_info("CPU profile of %d s started in %d process(es)",
	    op->seconds, ok);
	op->timer = evtimer_new(op->prf->base, prf_cpu_timer, op);
	if (op->prf->stopping || op->d.req == NULL || op->left)
		tv.tv_sec = 0;	/* stopping, or the client left meanwhile */
	evtimer_add(op->timer, &tv);
}

/* Stop the running CPU profile now, if it is sampling. */
static void
prf_cpu_stop_now(void)
{
	if (prf_cpu_op != NULL && prf_cpu_op->timer != NULL &&
	    evtimer_pending(prf_cpu_op->timer, NULL)) {
		evtimer_del(prf_cpu_op->timer);
		event_active(prf_cpu_op->timer, EV_TIMEOUT, 0);
	}
}

/*
 * The client of the CPU profile left (Ctrl-C on go tool pprof): stop
 * sampling now, as Go's handler does, instead of blocking every other
 * profile with "already in use" for the rest of its seconds (issue 17,
 * item 3).  Before the start's acks (no timer yet) prf_cpu_started sees
 * the client gone and stops at once.
 */
static void
prf_cpu_gone(void *arg)
{
	struct prf_op *op = arg;

	op->left = 1;
	if (op->watch != NULL)
		evtimer_del(op->watch);
	if (op == prf_cpu_op)
		prf_cpu_stop_now();
}

/* Every PRF_WATCH_MS while a CPU profile runs: has its client gone? */
static void
prf_cpu_watch(evutil_socket_t fd, short what, void *arg)
{
	struct prf_op *op = arg;

	(void)fd;
	(void)what;
	if (!op->left && prf_defer_client_gone(&op->d))
		prf_cpu_gone(op);
}

/* SIGTERM during a profile: stop sampling now and answer with what we have. */
void
prf_pprof_stop(struct prf *prf)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	(void)prf;
	prf_cpu_stop_now();
}

void
prf_pprof_profile(struct prf *prf, struct hreq *req)
{
	struct prf_op *op;
	char v[32];
	long sec = 30;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	/*
	 * A missing or non-positive value means 30 (net/http/pprof); one
	 * that is no integer is a 400, not a silent 30 s (issue 17, item 3).
	 */
	if (prf_arg(req, "seconds", v, sizeof v) != NULL && v[0] != '\0') {
		char *end;

		errno = 0;
		sec = strtol(v, &end, 10);
		if (end == v || *end != '\0' || errno != 0) {
			prf_reply_pprof_error(req, 400, "invalid value for "
			    "\"seconds\": want an integer number of seconds");
			return;
		}
		if (sec <= 0)
			sec = 30;
	}
	if (sec > PROF_CPU_MAX_SECONDS) {
		prf_reply_pprof_error(req, 400, "profile duration exceeds the "
		    "server's limit of %d seconds", PROF_CPU_MAX_SECONDS);
		return;
	}
	if (prf->cpu_busy) {
		prf_reply_pprof_error(req, 500, "Could not enable CPU profiling: "
		    "cpu profiling already in use");
		return;
	}
	if (prf->stopping) {
		prf_reply_pprof_error(req, 503, "server is stopping");
		return;
	}
	prf->cpu_busy = 1;
	op = prf_op_new(prf, req);
	op->seconds = (int)sec;
	op->t0 = tim_mono();
	{
		struct timeval tv = { 0, PRF_WATCH_MS * 1000 };
		op->watch = event_new(prf->base, -1, EV_PERSIST, prf_cpu_watch, op);
		evtimer_add(op->watch, &tv);
	}
	prf_cpu_op = op;
	prf_job_start(prf, PROF_CMD_CPU_START, NULL,
	    ((uint64_t)PROF_CPU_HZ << 32) | (uint64_t)sec, PRF_DUMP_TIMEOUT_MS,
	    prf_cpu_started, op);
}

/* ==== heap ================================================================= */

/* Sum the "total" line of one dump into t[5]; returns the lines after it. */
static const char *
prf_heap_totals(const struct buf *d, unsigned long long t[5])
{
	unsigned long long v[5];
	const char *nl;

	if (d == NULL || d->len == 0 || d->p == NULL)
		return (NULL);
	if (sscanf(d->p, "total %llu %llu %llu %llu %llu", &v[0], &v[1],
	    &v[2], &v[3], &v[4]) != 5)
		return (NULL);
	t[0] += v[0];
	t[1] += v[1];
	t[2] += v[2];
	t[3] += v[3];
	if (t[4] == 0)
		t[4] = v[4];
	nl = strchr(d->p, '\n');
	return (nl != NULL ? nl + 1 : d->p + d->len);
}

static void
prf_add_lines(struct buf *b, const char *p, int debug)
{
	const char *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		buf_add(b, p, (size_t)(nl - p));
		buf_addc(b, '\n');
		if (debug > 0) {
			char line[4096];
			size_t n = (size_t)(nl - p) < sizeof line - 1 ?
			    (size_t)(nl - p) : sizeof line - 1;

			memcpy(line, p, n);
			line[n] = '\0';
			prf_add_frames_comment(b, line);
		}
		p = *nl != '\0' ? nl + 1 : nl;
	}
}

static void
prf_heap_done(struct prf_job *job, void *arg)
{
	struct prf_op *op = arg;
	struct prf *prf = op->prf;
	struct hreq *req = prf_defer_take(&op->d);
	unsigned long long t[5] = { 0, 0, 0, 0, 0 };
	struct buf self, b, lines;
	char path[4096];
	const char *rest;
	uint64_t nrec, session;
	int i;

	if (req == NULL) {
		prf_op_free(op);
		return;
	}
	buf_init(&b);
	buf_init(&lines);
	buf_init(&self);
	/* our own heap: the profiler's allocations are the server's too */
	session = prf_next_session(prf);
	if (prof_dump_path(prf->shm, PROF_KIND_HEAP, session, getpid(), path,
	    sizeof path) > 0 && prof_heap_dump(path, &nrec) == 0 &&
	    prf_job_read(prf, session, PROF_KIND_HEAP, getpid(), &self) == 0 &&
	    (rest = prf_heap_totals(&self, t)) != NULL)
		prf_add_lines(&lines, rest, op->debug);
	for (i = 0; i < prf_job_count(job); i++)
		if ((rest = prf_heap_totals(prf_job_data(job, i), t)) != NULL)
			prf_add_lines(&lines, rest, op->debug);
	if (t[4] == 0)
		t[4] = prof_heap_rate() ? prof_heap_rate() : PROF_HEAP_RATE;
	/*
	 * pprof offers the alloc_* views only when the bracketed totals differ
	 * (as strings) from the in-use ones; when nothing sampled was freed
	 * yet they are equal, and a profile without the views cannot be used
	 * as -base for a later one.  A leading zero keeps the value and the
	 * views.
	 */
	if ((t[2] != t[0] && t[2] != 0) || (t[3] != t[1] && t[3] != 0))
		buf_printf(&b, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%llu\n",
		    t[0], t[1], t[2], t[3], t[4]);
	else
		buf_printf(&b, "heap profile: %llu: %llu [%llu: 0%llu] @ heap_v2/%llu\n",
		    t[0], t[1], t[2], t[3], t[4]);
	if (lines.len > 0)
		buf_add(&b, lines.p, lines.len);
	if (op->debug > 0) {
		uint64_t alloc = 0, total = 0, sys = 0;
		int tasks = 0;
		const struct phist_sample *s = prf_hist_last(prf, 0);

		if (s != NULL)
			prf_sample_totals(s, &alloc, &total, &sys, &tasks);
		/* like Go's "# runtime.MemStats" trailer */
		buf_printf(&b, "\n# impcore memory (all processes)\n"
		    "# Alloc = %" PRIu64 "\n# TotalAlloc = %" PRIu64 "\n"
		    "# Sys = %" PRIu64 "\n# Processes = %d\n"
		    "# SampleRate = %llu\n", alloc, total, sys,
		    s != NULL ? s->nproc : 0, t[4]);
	}
	buf_adds(&b, "\nMAPPED_LIBRARIES:\n");
	prf_add_maps(&b);
	if (!op->legacy && op->debug <= 0) {
		struct buf pb;

		buf_init(&pb);
		if (prf_heap_pb(b.p, op->allocs ? "alloc_space" : "inuse_space",
		    &pb) == 0) {
			hreq_add_header(req, "Content-Disposition", op->allocs ?
			    "attachment; filename=\"allocs\"" :
			    "attachment; filename=\"heap\"");
			prf_reply_buf(req, 200, "application/octet-stream", &pb);
			buf_free(&pb);
			goto out;
		}
		buf_free(&pb);
	}
	prf_reply_buf(req, 200, "text/plain; charset=utf-8", &b);
out:
	buf_free(&b);
	buf_free(&lines);
	buf_free(&self);
	prf_op_free(op);
}

static void
prf_heap_start(struct prf *prf, struct hreq *req, int allocs)
{
	struct shm_proc_info pi;
	struct prf_op *op;
	char v[32];
	int i;

	/* ?gc=1: Go collects first; we return free heap to the OS everywhere */
	if (prf_arg(req, "gc", v, sizeof v) != NULL && atoi(v) > 0) {
		for (i = 0; i < SHM_NPROC; i++)
			if (shm_proc_get(prf->shm, i, &pi) == 0 && pi.pid > 0 &&
			    shm_proc_live(prf->shm, i) &&
			    pi.role != SHM_ROLE_MASTER && i != prf->ctx->slot)
				(void)ctl_send(prf->shm, i, CTL_CMD_TRIM, 0);
		(void)mem_trim();
	}
	op = prf_op_new(prf, req);
	op->allocs = allocs;
	prf_job_start(prf, PROF_CMD_HEAP_DUMP, PROF_KIND_HEAP, 0,
	    PRF_DUMP_TIMEOUT_MS, prf_heap_done, op);
}

void
prf_pprof_heap(struct prf *prf, struct hreq *req)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	prf_heap_start(prf, req, 0);
}

/*
 * The same samples as /heap, but opening as alloc_space like Go's allocs
 * (issue 17, item 6): a legacy heap always opens as inuse_space, so this
 * one is served in profile.proto with default_sample_type (prf_pb.c);
 * debug=1 stays the legacy text.
 */
void
prf_pprof_allocs(struct prf *prf, struct hreq *req)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	prf_heap_start(prf, req, 1);
}

/* ==== threadcreate, trace ================================================= */

int main(int, char **);

/*
 * Threads per process, in the legacy count format pprof reads
 * ("threadcreate profile: total N", "n @ pc"): a process's threads are
 * counted at its kind's main function, as nothing records where a thread
 * was created.  The pc is one past the entry, as pprof takes it for a
 * return address and moves it back by one.
 */
void
prf_pprof_threadcreate(struct prf *prf, struct hreq *req)
{
	const struct phist_sample *s = prf_hist_last(prf, 0);
	struct buf b, lines;
	int i, total = 0;
	char v[16];
	int debug = prf_arg(req, "debug", v, sizeof v) != NULL ? atoi(v) : 0;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	buf_init(&b);
	buf_init(&lines);
	for (i = 0; s != NULL && i < s->nproc; i++) {
		const struct phist_proc *p = &s->p[i];
		uintptr_t pc;

		switch (p->role) {
		case SHM_ROLE_WORKER:	pc = (uintptr_t)wrk_main; break;
		case SHM_ROLE_WEBHOOK:	pc = (uintptr_t)whk_main; break;
		case SHM_ROLE_PROFILER:	pc = (uintptr_t)prf_main; break;
		default:		pc = (uintptr_t)main; break;
		}
		total += p->threads;
		buf_printf(&lines, "%d @ %#jx\n", p->threads, (uintmax_t)pc + 1);
		if (debug > 0)
			buf_printf(&lines, "# labels: {\"role\":\"%s\", "
			    "\"index\":\"%d\", \"pid\":\"%ld\"}\n\n",
			    shm_role_name(p->role), p->index, (long)p->pid);
	}
	buf_printf(&b, "threadcreate profile: total %d\n", total);
	if (lines.len > 0)
		buf_add(&b, lines.p, lines.len);
	if (debug <= 0) {
		buf_adds(&b, "--- Memory map: ---\n");
		prf_add_maps(&b);
	}
	prf_reply_buf(req, 200, "text/plain; charset=utf-8", &b);
	buf_free(&b);
	buf_free(&lines);
}

/* An execution trace is the Go runtime's own: say so (issue 17, item 6). */
void
prf_pprof_trace(struct prf *prf, struct hreq *req)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	(void)prf;
	prf_reply_json_error(req, 501, "/debug/pprof/trace is Go-only: an "
	    "execution trace records the Go runtime's scheduler, and impcore "
	    "is C; use /debug/pprof/profile (CPU), /debug/pprof/goroutine?"
	    "debug=2 (what every process and thread does) or /debug/stats");
}

/* ==== block and mutex ===================================================== */

static void
prf_cont_done(struct prf_job *job, void *arg)
{
	struct prf_op *op = arg;
	struct hreq *req = prf_defer_take(&op->d);
	const struct buf *d;
	struct buf b, lines;
	unsigned long long since, first = 0;
	uint64_t now = tim_real();
	const char *nl;
	int i;

	if (req == NULL) {
		prf_op_free(op);
		return;
	}
	buf_init(&b);
	buf_init(&lines);
	for (i = 0; i < prf_job_count(job); i++) {
		d = prf_job_data(job, i);
		if (d == NULL || d->len == 0 ||
		    sscanf(d->p, "since %llu", &since) != 1)
			continue;
		if (first == 0 || since < first)
			first = since;
		nl = strchr(d->p, '\n');
		if (nl != NULL)
			prf_add_lines(&lines, nl + 1, op->debug);
	}
	if (first == 0 || first > now)
		first = now;
	/* legacy contentionz: with 1e9 cycles/second the delays are ns */
	buf_printf(&b, "--- contentionz 1 ---\ncycles/second = 1000000000\n"
	    "sampling period = 1\nms since reset = %llu\n",
	    (unsigned long long)((now - first) / 1000000u));
	if (lines.len > 0)
		buf_add(&b, lines.p, lines.len);
	buf_adds(&b, "--- Memory map: ---\n");
	prf_add_maps(&b);
	if (!op->legacy && op->debug <= 0) {
		struct buf pb;

		buf_init(&pb);
		if (prf_cont_pb(b.p, &pb) == 0) {
			hreq_add_header(req, "Content-Disposition", op->kind == PROF_MUTEX ?
			    "attachment; filename=\"mutex\"" :
			    "attachment; filename=\"block\"");
			prf_reply_buf(req, 200, "application/octet-stream", &pb);
			buf_free(&pb);
			goto out;
		}
		buf_free(&pb);
	}
	prf_reply_buf(req, 200, "text/plain; charset=utf-8", &b);
out:
	buf_free(&b);
	buf_free(&lines);
	prf_op_free(op);
}

void
prf_pprof_block(struct prf *prf, struct hreq *req)
{
	struct prf_op *op = prf_op_new(prf, req);

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	op->kind = PROF_BLOCK;
	prf_job_start(prf, PROF_CMD_BLOCK_DUMP, PROF_KIND_BLOCK, 0,
	    PRF_DUMP_TIMEOUT_MS, prf_cont_done, op);
}

void
prf_pprof_mutex(struct prf *prf, struct hreq *req)
{
	struct prf_op *op = prf_op_new(prf, req);

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	op->kind = PROF_MUTEX;
	prf_job_start(prf, PROF_CMD_MUTEX_DUMP, PROF_KIND_MUTEX, 0,
	    PRF_DUMP_TIMEOUT_MS, prf_cont_done, op);
}

/* ==== goroutine: processes and threads ===================================== */

static const char *
prf_syscall_name(long nr)
{
#if defined(__x86_64__)
	switch (nr) {
	case 0:		return ("read");
	case 1:		return ("write");
	case 7:		return ("poll");
	case 23:	return ("select");
	case 35:	return ("nanosleep");
	case 42:	return ("connect");
	case 44:	return ("sendto");
	case 45:	return ("recvfrom");
	case 61:	return ("wait4");
	case 130:	return ("rt_sigsuspend");
	case 202:	return ("futex");
	case 230:	return ("clock_nanosleep");
	case 232:	return ("epoll_wait");
	case 270:	return ("pselect6");
	case 271:	return ("ppoll");
	case 281:	return ("epoll_pwait");
	case 288:	return ("accept4");
	default:	break;
	}
#else
	(void)nr;
#endif
	return (NULL);
}

/* Read a small /proc file into buf (NUL-terminated, trailing newline cut). */
static int
prf_read_small(const char *path, char *buf, size_t len)
{
	ssize_t n = prf_read_file(path, buf, len);

	if (n < 0)
		return (-1);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (0);
}

struct prf_thread {
	pid_t		tid;
	char		comm[32];
	char		state[32];		/* "S (sleeping)" */
	char		wchan[64];
	char		syscall[48];		/* "epoll_wait" / "running" */
	uintptr_t	pc;			/* user pc in the syscall, 0 if unknown */
};

static int
prf_threads(pid_t pid, struct prf_thread *t, int max)
{
	char path[128], line[512], *p;
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL && n < max) {
		struct prf_thread *x = &t[n];
		long nr;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		memset(x, 0, sizeof *x);
		x->tid = (pid_t)atol(de->d_name);
		snprintf(path, sizeof path, "/proc/%ld/task/%ld/comm",
		    (long)pid, (long)x->tid);
		if (prf_read_small(path, x->comm, sizeof x->comm) < 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/task/%ld/status",
		    (long)pid, (long)x->tid);
		if (prf_read_small(path, line, sizeof line) == 0 &&
		    (p = strstr(line, "State:")) != NULL) {
			p += 6;
			while (*p == ' ' || *p == '\t')
				p++;
			snprintf(x->state, sizeof x->state, "%.*s",
			    (int)strcspn(p, "\n"), p);
		}
		snprintf(path, sizeof path, "/proc/%ld/task/%ld/wchan",
		    (long)pid, (long)x->tid);
		if (prf_read_small(path, x->wchan, sizeof x->wchan) < 0 ||
		    strcmp(x->wchan, "0") == 0)
			x->wchan[0] = '\0';
		/* "nr arg1..arg6 sp pc", "running", or unreadable */
		snprintf(path, sizeof path, "/proc/%ld/task/%ld/syscall",
		    (long)pid, (long)x->tid);
		if (prf_read_small(path, line, sizeof line) == 0) {
			if (strcmp(line, "running") == 0)
				snprintf(x->syscall, sizeof x->syscall, "running");
			else if (sscanf(line, "%ld", &nr) == 1 && nr >= 0) {
				const char *nm = prf_syscall_name(nr);
				char *last = strrchr(line, ' ');

				if (nm != NULL)
					snprintf(x->syscall, sizeof x->syscall, "%s", nm);
				else
					snprintf(x->syscall, sizeof x->syscall,
					    "syscall %ld", nr);
				if (last != NULL)
					x->pc = (uintptr_t)strtoull(last + 1, NULL, 16);
			}
		}
		n++;
	}
	closedir(d);
	return (n);
}

/* One process's stack from its "stack" dump: addresses, and text. */
struct prf_stack {
	int		n;
	uintptr_t	pc[64];
	const char	*text;		/* dump lines "0xADDR name+off (module)" */
	size_t		len;
};

static void
prf_stack_parse(const struct buf *d, struct prf_stack *st)
{
	const char *p;
	char *end;

	memset(st, 0, sizeof *st);
	if (d == NULL || d->p == NULL)
		return;
	st->text = d->p;
	st->len = d->len;
	for (p = d->p; *p != '\0' && st->n < 64;) {
		unsigned long long pc = strtoull(p, &end, 16);

		if (end != p && pc != 0)
			st->pc[st->n++] = (uintptr_t)pc;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
}

static const char *
prf_task_state(const struct shm_proc_info *pi)
{
	switch (pi->state) {
	case SHM_P_STARTING:	return ("starting");
	case SHM_P_DRAINING:	return ("draining");
	case SHM_P_RUNNING:	break;
	default:		return (shm_pstate_name(pi->state));
	}
	if (pi->busy)
		return ("fitting");
	if (pi->inflight > 0)
		return ("serving");
	if (pi->idle)
		return ("idle, waiting for jobs");
	return ("running");
}

static void
prf_role_name(const struct shm_proc_info *pi, char *out, size_t len)
{
	if (pi->role == SHM_ROLE_WORKER)
		snprintf(out, len, "%s[%d]", shm_role_name(pi->role), pi->index);
	else
		snprintf(out, len, "%s", shm_role_name(pi->role));
}

/*
 * One thread in the debug=2 text: a goroutine header with its state, the
 * process's labels as a comment, and its stack (the process's dumped one
 * for its main thread, the pc in its system call for the others).
 */
static void
prf_goroutine_thread_text(struct buf *body, const char *role,
    const struct shm_proc_info *pi, int slot, const struct prf_thread *t,
    const struct prf_stack *st)
{
	char sym[256];
	const char *mod;
	int j, main_thread = t->tid == pi->pid;

	buf_printf(body, "goroutine %ld [%s%s%s]:\n",
	    (long)t->tid, main_thread ?
	    prf_task_state(pi) : "thread",
	    t->syscall[0] ? ", " : "", t->syscall);
	buf_printf(body, "# %s pid=%ld tid=%ld slot=%d "
	    "generation=%u state=%s comm=%s inflight=%d "
	    "busy=%d wchan=%s\n", role, (long)pi->pid,
	    (long)t->tid, slot, pi->generation,
	    t->state, t->comm, pi->inflight, pi->busy,
	    t->wchan[0] ? t->wchan : "-");
	if (main_thread && st->n > 0) {
		for (j = 0; j < st->n; j++) {
			prf_symbolize(st->pc[j] - (j > 0), sym,
			    sizeof sym, &mod);
			buf_printf(body, "%s()\n\t%s %#lx\n",
			    sym, mod, (unsigned long)st->pc[j]);
		}
	} else if (t->pc != 0) {
		prf_symbolize(t->pc, sym, sizeof sym, &mod);
		buf_printf(body, "%s()\n\t%s %#lx (in %s)\n",
		    sym, mod, (unsigned long)t->pc,
		    t->syscall);
	} else
		buf_adds(body, "(no stack: not answering "
		    "control commands)\n");
	buf_addc(body, '\n');
}

/*
 * One thread in the Go count format (debug 0 and 1): "1 @ pcs", its
 * labels, and with debug=1 the symbolized stack as comments.
 */
static void
prf_goroutine_thread_count(struct buf *body, const char *role,
    const struct shm_proc_info *pi, const struct prf_thread *t,
    const struct prf_stack *st, int debug)
{
	char sym[256];
	const char *mod;
	int j, main_thread = t->tid == pi->pid;

	if (main_thread && st->n > 0) {
		buf_adds(body, "1 @");
		for (j = 0; j < st->n; j++)
			buf_printf(body, " %#lx", (unsigned long)st->pc[j]);
	} else if (t->pc != 0)
		buf_printf(body, "1 @ %#lx", (unsigned long)t->pc + 1);
	else
		buf_adds(body, "1 @ 0x1");
	buf_printf(body, "\n# labels: {\"role\":\"%s\", "
	    "\"pid\":\"%ld\", \"tid\":\"%ld\", \"state\":\"%s\", "
	    "\"thread\":\"%s\", \"wchan\":\"%s\", \"syscall\":\"%s\"}\n",
	    role, (long)pi->pid, (long)t->tid,
	    prf_task_state(pi), t->state,
	    t->wchan[0] ? t->wchan : "-",
	    t->syscall[0] ? t->syscall : "-");
	if (debug >= 1 && main_thread && st->n > 0)
		for (j = 0; j < st->n; j++) {
			prf_symbolize(st->pc[j] - 1, sym, sizeof sym, &mod);
			buf_printf(body, "#\t%#lx\t%s\t%s\n",
			    (unsigned long)st->pc[j], sym, mod);
		}
	buf_addc(body, '\n');
}

/*
 * The threads of the process in slot i, in the format of debug, added to
 * body; self is the profiler's own stack dump.  Returns how many threads
 * were written: 0 for a free slot or a process gone since the table said
 * live.
 */
static int
prf_goroutine_proc(struct buf *body, struct prf *prf, struct prf_job *job,
    int i, const struct buf *self, int debug)
{
	struct prf_thread th[64];
	struct shm_proc_info pi;
	struct prf_stack st;
	const struct buf *d = NULL;
	char role[48];
	int j, k, nth;

	if (shm_proc_get(prf->shm, i, &pi) != 0 || pi.pid <= 0 ||
	    !shm_proc_live(prf->shm, i))
		return (0);
	for (j = 0; j < prf_job_count(job); j++)
		if (prf_job_slot(job, j) == i && prf_job_pid(job, j) == pi.pid)
			d = prf_job_data(job, j);
	if (i == prf->ctx->slot)
		d = self;
	prf_stack_parse(d, &st);
	prf_role_name(&pi, role, sizeof role);
	nth = prf_threads(pi.pid, th, 64);
	for (k = 0; k < nth; k++) {
		if (debug >= 2)
			prf_goroutine_thread_text(body, role, &pi, i, &th[k],
			    &st);
		else
			prf_goroutine_thread_count(body, role, &pi, &th[k],
			    &st, debug);
	}
	return (nth);
}

/*
 * The profiler's own stack: it answers no control command to itself, so
 * it dumps it here, through the same file the others write.
 */
static void
prf_goroutine_self(struct prf *prf, struct buf *self)
{
	char path[4096];
	uint64_t nrec, session;

	session = prf_next_session(prf);
	if (prof_dump_path(prf->shm, PROF_KIND_STACK, session, getpid(), path,
	    sizeof path) > 0 && prof_stack_dump(path, 0, &nrec) == 0)
		(void)prf_job_read(prf, session, PROF_KIND_STACK, getpid(), self);
}

static void
prf_goroutine_done(struct prf_job *job, void *arg)
{
	struct prf_op *op = arg;
	struct prf *prf = op->prf;
	struct hreq *req = prf_defer_take(&op->d);
	struct buf b, body, self;
	int i, total = 0;

	if (req == NULL) {
		prf_op_free(op);
		return;
	}
	buf_init(&b);
	buf_init(&body);
	buf_init(&self);
	prf_goroutine_self(prf, &self);
	for (i = 0; i < SHM_NPROC; i++)
		total += prf_goroutine_proc(&body, prf, job, i, &self,
		    op->debug);
	if (op->debug < 2)
		buf_printf(&b, "goroutine profile: total %d\n", total);
	if (body.len > 0)
		buf_add(&b, body.p, body.len);
	if (op->debug < 2) {
		buf_adds(&b, "--- Memory map: ---\n");
		prf_add_maps(&b);
	}
	prf_reply_buf(req, 200, "text/plain; charset=utf-8", &b);
	buf_free(&b);
	buf_free(&body);
	buf_free(&self);
	prf_op_free(op);
}

void
prf_pprof_goroutine(struct prf *prf, struct hreq *req)
{
	struct prf_op *op = prf_op_new(prf, req);

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	prf_job_start(prf, PROF_CMD_STACK, PROF_KIND_STACK, 0, 1000,
	    prf_goroutine_done, op);
}

/* ==== cmdline and symbol =================================================== */

void
prf_pprof_cmdline(struct prf *prf, struct hreq *req)
{
	char path[64], raw[65536], masked[3 * 4096 + 1];
	struct buf b;
	ssize_t n = -1;
	size_t off;
	int fd, first = 1, mask_next = 0;
	pid_t mp = prf->ctx->master_pid;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)mp);
	if (mp <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, raw, sizeof raw - 1);
		close(fd);
	}
	if (n <= 0) {
		prf_reply_pprof_error(req, 500, "cannot read the command line");
		return;
	}
	raw[n] = '\0';
	buf_init(&b);
	for (off = 0; off < (size_t)n; off += strlen(raw + off) + 1) {
		const char *a = raw + off, *name, *eq;
		char key[64];

		if (!first)
			buf_addc(&b, '\0');
		first = 0;
		if (mask_next) {
			buf_adds(&b, "(set)");
			mask_next = 0;
			continue;
		}
		name = a;
		while (*name == '-')
			name++;
		eq = strchr(name, '=');
		snprintf(key, sizeof key, "%.*s",
		    (int)(eq != NULL ? (size_t)(eq - name) : strlen(name)), name);
		if (name != a && mask_secret_key(key)) {
			/* -api-token=T, or -api-token T: the value never leaves */
			buf_add(&b, a, (size_t)(name - a) + strlen(key));
			if (eq != NULL)
				buf_adds(&b, "=(set)");
			else
				mask_next = 1;
			continue;
		}
		buf_add(&b, masked, mask_text(a, strnlen(a, 4096), masked,
		    sizeof masked));
	}
	hreq_add_header(req, "X-Content-Type-Options", "nosniff");
	prf_reply(req, 200, "text/plain; charset=utf-8", b.p, b.len);
	buf_free(&b);
}

void
prf_pprof_symbol(struct prf *prf, struct hreq *req)
{
	const char *q, *p;
	struct buf b;
	uintptr_t off;
	const char *name;
	char *end;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	(void)prf;
	buf_init(&b);
	/* pprof only cares whether this is 0 (no symbols) or more */
	buf_adds(&b, "num_symbols: 1\n");
	/* the body is NUL-terminated: the addresses end at a NUL, as before */
	if (strcmp(hreq_method(req), "POST") == 0)
		q = hreq_body(req, NULL);
	else
		q = hreq_query(req);
	for (p = q; p != NULL && *p != '\0';) {
		unsigned long long pc = strtoull(p, &end, 0);

		if (end == p)
			break;
		if (pc != 0 && (name = prf_sym_name((uintptr_t)pc, &off,
		    NULL)) != NULL)
			buf_printf(&b, "%#llx %s\n", pc, name);
		p = end;
		while (*p == '+' || *p == ' ' || *p == '\n' || *p == '\r')
			p++;
	}
	hreq_add_header(req, "X-Content-Type-Options", "nosniff");
	prf_reply_buf(req, 200, "text/plain; charset=utf-8", &b);
	buf_free(&b);
}
