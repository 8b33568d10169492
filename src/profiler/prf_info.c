/*
 * impcore - /debug/info and /debug/stats.
 *
 * Everything here reads the state file (process table, counters) and the
 * profiler's history of /proc samples.  Secrets never leave: the config
 * comes from cfg_foreach (secrets as "(set)") and is masked again by key
 * name, and URLs are masked too (lib/mask.h: passwords, query values).
 */
#include "config.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <gnu/libc-version.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "lib/buf.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "prof/prof.h"
#include "profiler/prf.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "state/stat_read.h"

/* ==== /debug/info ========================================================== */

static json_t *
prf_proc_json(const struct phist_proc *p, uint64_t now)
{
	json_t *o = json_object();
	uint64_t inuse = p->heap_alloc > p->heap_freed ?
	    p->heap_alloc - p->heap_freed : 0;

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "role", json_string(shm_role_name(p->role)));
	json_object_set_new(o, "index", json_integer(p->index));
	json_object_set_new(o, "slot", json_integer(p->slot));
	json_object_set_new(o, "state", json_string(shm_pstate_name(p->pstate)));
	json_object_set_new(o, "proc_state", json_stringn(&p->state, 1));
	json_object_set_new(o, "uptime_s", json_real(p->t_start != 0 &&
	    now > p->t_start ? (double)(now - p->t_start) / 1e9 : 0));
	json_object_set_new(o, "rss_bytes", json_integer((json_int_t)p->rss));
	json_object_set_new(o, "rss_peak_bytes", json_integer((json_int_t)p->rss_peak));
	json_object_set_new(o, "vsize_bytes", json_integer((json_int_t)p->vsize));
	json_object_set_new(o, "swap_bytes", json_integer((json_int_t)p->swap));
	json_object_set_new(o, "cpu_percent", json_real(p->cpu_pct));
	json_object_set_new(o, "cpu_user_s", json_real((double)p->utime_ns / 1e9));
	json_object_set_new(o, "cpu_system_s", json_real((double)p->stime_ns / 1e9));
	json_object_set_new(o, "threads", json_integer(p->threads));
	json_object_set_new(o, "heap_inuse_bytes", json_integer((json_int_t)inuse));
	json_object_set_new(o, "heap_alloc_bytes", json_integer((json_int_t)p->heap_alloc));
	json_object_set_new(o, "inflight", json_integer(p->inflight));
	json_object_set_new(o, "busy", json_boolean(p->busy));
	json_object_set_new(o, "idle", json_boolean(p->idle));
	json_object_set_new(o, "ctx_switches_voluntary", json_integer((json_int_t)p->vcsw));
	json_object_set_new(o, "ctx_switches_involuntary", json_integer((json_int_t)p->nvcsw));
	if (p->io_ok) {
		json_object_set_new(o, "io_read_bytes", json_integer((json_int_t)p->read_bytes));
		json_object_set_new(o, "io_write_bytes", json_integer((json_int_t)p->write_bytes));
	}
	return (o);
}

static void
prf_cfg_cb(const char *key, const char *value, void *arg)
{
	json_t *o = arg;
	char masked[3 * 1024 + 1];

	/* cfg_foreach hides secrets already; a new secret key must not slip by */
	if (mask_secret_key(key)) {
		json_object_set_new(o, key, json_string(value != NULL &&
		    *value != '\0' && strcmp(value, "(none)") != 0 ? "(set)" : ""));
		return;
	}
	if (value == NULL) {
		json_object_set_new(o, key, json_null());
		return;
	}
	mask_text(value, strnlen(value, 1024), masked, sizeof masked);
	json_object_set_new(o, key, json_string(masked));
}

/* Base names of the shared objects mapped: the exact library builds in use. */
static json_t *
prf_mapped_libs(void)
{
	json_t *a = json_array();
	struct buf b;
	const char *p, *nl, *slash;

	buf_init(&b);
	prf_add_maps(&b);
	for (p = b.p; p != NULL && *p != '\0'; p = *nl ? nl + 1 : nl) {
		char name[256];
		size_t i;
		int dup = 0;

		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		slash = memchr(p, '/', (size_t)(nl - p));
		if (slash == NULL || memmem(slash, (size_t)(nl - slash), ".so", 3) == NULL)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(nl - slash), slash);
		slash = strrchr(name, '/');
		for (i = 0; i < json_array_size(a); i++)
			if (strcmp(json_string_value(json_array_get(a, i)), slash + 1) == 0)
				dup = 1;
		if (!dup)
			json_array_append_new(a, json_string(slash + 1));
	}
	buf_free(&b);
	return (a);
}

void
prf_info(struct prf *prf, struct hreq *req)
{
	const struct phist_sample *s = prf_hist_last(prf, 0);
	json_t *root = json_object(), *o, *a;
	uint64_t now = tim_real(), alloc = 0, total = 0, sys = 0, birth;
	uint64_t sum[STAT__N];
	struct shm_geom g;
	char ts[64], *text;
	int i, tasks, nproc, inflight, busy, stale;
	size_t len;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	stat_sum_all(prf->shm, sum);
	if (s != NULL)
		prf_sample_totals(s, &alloc, &total, &sys, &stale);
	/* the tasks now, as the X- headers count them (shm.h, shm_tasks):
	 * this request is one; the sample's are up to a second old */
	tasks = shm_tasks_split(prf->shm, &nproc, &inflight, &busy);
	birth = shm_birth(prf->shm);
	if (birth == 0)
		birth = prf->ctx->master_start;

	json_object_set_new(root, "name", json_string(PACKAGE_NAME));
	json_object_set_new(root, "version", json_string(PACKAGE_VERSION));
	o = json_object();
	json_object_set_new(o, "compiler", json_string(__VERSION__));
	json_object_set_new(o, "date", json_string(__DATE__ " " __TIME__));
#ifdef IMP_SANITIZERS
	json_object_set_new(o, "sanitizers", json_string("address,undefined"));
#else
	json_object_set_new(o, "sanitizers", json_string(""));
#endif
	json_object_set_new(root, "build", o);

	o = json_object();
	json_object_set_new(o, "glibc", json_string(gnu_get_libc_version()));
	json_object_set_new(o, "libevent", json_string(event_get_version()));
	json_object_set_new(o, "jansson", json_string(jansson_version_str()));
	json_object_set_new(o, "libcurl",
	    json_string(curl_version_info(CURLVERSION_NOW)->version));
	json_object_set_new(o, "openssl", json_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_set_new(o, "mapped", prf_mapped_libs());
	json_object_set_new(root, "libraries", o);

	json_object_set_new(root, "num_cpu", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(root, "num_cpu_configured",
	    json_integer(sysconf(_SC_NPROCESSORS_CONF)));
	json_object_set_new(root, "master_pid", json_integer(prf->ctx->master_pid));
	json_object_set_new(root, "started", json_string(tim_rfc3339(birth, 0, ts,
	    sizeof ts)));
	json_object_set_new(root, "uptime_s", json_real(now > birth ?
	    (double)(now - birth) / 1e9 : 0));
	json_object_set_new(root, "time", json_string(tim_rfc3339(now, 1, ts,
	    sizeof ts)));
	/*
	 * The keys a Go server's runtime info has at the top level, so the
	 * guide's jq '.goroutines' works (issue 17, item 2); their C
	 * meanings are those of the 📊 line and of "memory" and "tasks"
	 * below, from the same sample: goroutines the server's tasks
	 * (processes + requests in flight + running fits), memory_alloc the
	 * heap in use (bytes allocated minus freed through our hooks, live
	 * processes), memory_total every byte ever allocated, memory_sys
	 * the RSS of all processes, gc_cycles the malloc_trim rounds
	 * (GET /debug/gc).
	 */
	json_object_set_new(root, "goroutines", json_integer(tasks));
	json_object_set_new(root, "memory_alloc", json_integer((json_int_t)alloc));
	json_object_set_new(root, "memory_total", json_integer((json_int_t)total));
	json_object_set_new(root, "memory_sys", json_integer((json_int_t)sys));
	json_object_set_new(root, "gc_cycles", json_integer((json_int_t)prf_gc_count(prf)));
	json_object_set_new(root, "state_file", json_string(shm_path(prf->shm)));
	json_object_set_new(root, "layout_version",
	    json_integer(shm_layout_version(prf->shm)));

	a = json_array();
	for (i = 0; s != NULL && i < s->nproc; i++)
		json_array_append_new(a, prf_proc_json(&s->p[i], now));
	json_object_set_new(root, "processes", a);

	o = json_object();
	json_object_set_new(o, "alloc_bytes", json_integer((json_int_t)alloc));
	json_object_set_new(o, "total_alloc_bytes", json_integer((json_int_t)total));
	json_object_set_new(o, "sys_bytes", json_integer((json_int_t)sys));
	json_object_set_new(o, "heap_allocs", json_integer((json_int_t)sum[STAT_heap_allocs]));
	json_object_set_new(o, "heap_sample_rate", json_integer((json_int_t)prof_heap_rate()));
	json_object_set_new(o, "heap_unwinder", json_string(prof_unwinder()));
	json_object_set_new(o, "gc", json_integer((json_int_t)prf_gc_count(prf)));
	json_object_set_new(root, "memory", o);

	o = json_object();
	json_object_set_new(o, "total", json_integer(tasks));
	json_object_set_new(o, "processes", json_integer(nproc));
	json_object_set_new(o, "inflight_requests", json_integer(inflight));
	json_object_set_new(o, "running_fits", json_integer(busy));
	/* not tasks: the webhook process's transfers (counter webhook_inflight) */
	json_object_set_new(o, "webhook_deliveries",
	    json_integer((json_int_t)sum[STAT_webhook_inflight]));
	json_object_set_new(root, "tasks", o);

	shm_geom_get(prf->shm, &g);
	o = json_object();
	json_object_set_new(o, "depth", json_integer(rtab_queue_depth(prf->shm)));
	json_object_set_new(o, "capacity", json_integer(g.queue_size));
	json_object_set_new(o, "results", json_integer(g.results));
	json_object_set_new(o, "max_points", json_integer(g.max_points));
	json_object_set_new(root, "queue", o);

	o = json_object();
	for (i = 0; i < STAT__N; i++)
		json_object_set_new(o, stat_name[i], json_integer((json_int_t)sum[i]));
	json_object_set_new(root, "counters", o);

	o = json_object();
	cfg_foreach(prf->cfg, prf_cfg_cb, o);
	json_object_set_new(root, "config", o);

	text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	json_decref(root);
	if (text == NULL) {
		prf_reply_json_error(req, 500, "cannot render /debug/info");
		return;
	}
	len = strlen(text);
	text = imp_realloc(text, len + 2);
	text[len++] = '\n';
	prf_reply(req, 200, "application/json", text, len);
	/* jansson allocates through our hooks (imp_malloc) */
	imp_free(text);
}

/* ==== /debug/stats ========================================================= */

/*
 * A stream is an hsrv streamed answer whose fill waits (HSRV_FILL_WAIT):
 * the timer makes a line a second into pend and wakes the answer, fill
 * hands pend over.  It lives until hsrv calls prf_stream_fini: after the
 * last line, or when the client left (a write failed), or at hsrv_free.
 */
struct prf_stream {
	struct prf		*prf;
	struct event		*timer;
	int			left;		/* lines still to make */
	uint64_t		prev_mono;
	uint64_t		prev[STAT__N];
	struct buf		pend;		/* made, not handed to hsrv yet */
	struct prf_stream	*next;
};

static void
prf_stream_unlink(struct prf_stream *st)
{
	struct prf_stream **pp;

	for (pp = &st->prf->streams; *pp != NULL; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			st->prf->nstreams--;
			prf_inflight_sync(0);
			break;
		}
}

/* hsrv_fini_fn: the answer is complete, or its client left. */
static void
prf_stream_fini(void *arg)
{
	struct prf_stream *st = arg;

	prf_stream_unlink(st);
	if (st->timer != NULL)
		event_free(st->timer);
	buf_free(&st->pend);
	imp_free(st);
}

/* hsrv_fill_fn: the lines made since the last call; 0 after the last. */
static int
prf_stream_fill(struct buf *b, void *arg)
{
	struct prf_stream *st = arg;

	if (st->pend.len > 0) {	/* p is NULL until the first line */
		buf_add(b, st->pend.p, st->pend.len);
		buf_reset(&st->pend);
	}
	return (st->left > 0 ? HSRV_FILL_WAIT : 0);
}

/*
 * Make no more lines: the answer ends once hsrv has taken those made
 * (at once, unless the client is not reading; hsrv_free ends it then).
 * st may be freed on return.
 */
static void
prf_stream_end(struct prf_stream *st)
{
	st->left = 0;
	if (st->timer != NULL)
		evtimer_del(st->timer);
	hsrv_stream_wake(st->prf->http, st);
}

/*
 * One /debug/stats line: the processes of sample s, the counters sum[] at
 * time (real, mono), and per-second rates against prev[] taken at
 * prev_mono.
 */
static void
prf_stats_line(struct prf *prf, struct buf *b, const struct phist_sample *s,
    const uint64_t sum[STAT__N], uint64_t real, uint64_t mono,
    const uint64_t prev[STAT__N], uint64_t prev_mono, uint32_t depth, int live)
{
	uint64_t alloc = 0, total = 0, sys = 0;
	double dt = (double)(mono - prev_mono) / 1e9, cpu = 0;
	char ts[64], name[96];
	int i, tasks = 0, inflight = 0, busy = 0, first = 1;

	if (mono <= prev_mono || dt <= 0)
		dt = 1;
	if (s != NULL) {
		prf_sample_totals(s, &alloc, &total, &sys, &tasks);
		for (i = 0; i < s->nproc; i++) {
			cpu += s->p[i].cpu_pct;
			inflight += s->p[i].inflight;
			busy += s->p[i].busy;
		}
	}
	/* a live line counts the tasks now, as the X- headers do (shm.h) */
	if (live)
		tasks = shm_tasks_split(prf->shm, NULL, &inflight, &busy);
	/* a sample of the server's previous life (the history is kept in
	 * the state file) is from before this master's birth: uptime 0 */
	buf_printf(b, "{\"time\": \"%s\", \"uptime_s\": %.3f, ",
	    tim_rfc3339(real, 1, ts, sizeof ts), real > shm_birth(prf->shm) ?
	    (double)(real - shm_birth(prf->shm)) / 1e9 : 0.0);
	buf_printf(b, "\"processes\": %d, \"tasks\": %d, \"inflight\": %d, "
	    "\"fitting\": %d, \"queue_depth\": %u, \"cpu_percent\": %.1f, "
	    "\"rss_bytes\": %" PRIu64 ", \"heap_inuse_bytes\": %" PRIu64 ", "
	    "\"heap_total_alloc_bytes\": %" PRIu64 ", "
	    "\"webhook_deliveries\": %" PRIu64 ", ",
	    s != NULL ? s->nproc : 0, tasks, inflight, busy, depth, cpu, sys,
	    alloc, total, sum[STAT_webhook_inflight]);
	/* every counter of the table, and the rate of each monotonic one */
	buf_adds(b, "\"counters\": {");
	for (i = 0; i < STAT__N; i++)
		buf_printf(b, "%s\"%s\": %" PRIu64, i ? ", " : "", stat_name[i],
		    sum[i]);
	buf_adds(b, "}, \"rates\": {");
	for (i = 0; i < STAT__N; i++) {
		if (stat_kinds[i] != STAT_COUNTER)
			continue;
		snprintf(name, sizeof name, "%s_per_s", stat_name[i]);
		buf_printf(b, "%s\"%s\": %.3f", first ? "" : ", ", name,
		    sum[i] >= prev[i] ? (double)(sum[i] - prev[i]) / dt : 0.0);
		first = 0;
	}
	buf_adds(b, "}, \"per_process\": [");
	for (i = 0; s != NULL && i < s->nproc; i++) {
		const struct phist_proc *p = &s->p[i];

		buf_printf(b, "%s{\"pid\": %ld, \"role\": \"%s\", \"index\": %d, "
		    "\"rss_bytes\": %" PRIu64 ", \"cpu_percent\": %.1f, "
		    "\"heap_inuse_bytes\": %" PRIu64 ", \"inflight\": %d, "
		    "\"busy\": %d, \"threads\": %d}", i ? ", " : "", (long)p->pid,
		    shm_role_name(p->role), p->index, p->rss, p->cpu_pct,
		    p->heap_alloc > p->heap_freed ? p->heap_alloc - p->heap_freed : 0,
		    p->inflight, p->busy, p->threads);
	}
	buf_adds(b, "]}\n");
}

static void
prf_stream_line(struct prf_stream *st, struct buf *b)
{
	struct prf *prf = st->prf;
	uint64_t sum[STAT__N], mono = tim_mono();

	stat_sum_all(prf->shm, sum);
	prf_stats_line(prf, b, prf_hist_last(prf, 0), sum, tim_real(), mono,
	    st->prev, st->prev_mono, rtab_queue_depth(prf->shm), 1);
	memcpy(st->prev, sum, sizeof sum);
	st->prev_mono = mono;
}

/* ?history=N: the last N once-a-second samples at once, oldest first. */
static void
prf_stats_history(struct prf *prf, struct hreq *req, long n)
{
	const struct phist_sample *s, *prev;
	struct buf b;
	long i;

	buf_init(&b);
	for (i = n - 1; i >= 0; i--) {
		if ((s = prf_hist_last(prf, (int)i)) == NULL)
			continue;
		prev = prf_hist_last(prf, (int)i + 1);
		prf_stats_line(prf, &b, s, s->sum, s->t_real, s->t_mono,
		    prev != NULL ? prev->sum : s->sum,
		    prev != NULL ? prev->t_mono : s->t_mono, s->queue_depth, 0);
	}
	prf_reply_buf(req, 200, "application/x-ndjson", &b);
	buf_free(&b);
}

static void
prf_stream_tick(evutil_socket_t fd, short what, void *arg)
{
	struct prf_stream *st = arg;

	(void)fd;
	(void)what;
	prf_stream_line(st, &st->pend);
	if (--st->left <= 0)
		prf_stream_end(st);
	else
		hsrv_stream_wake(st->prf->http, st);
}

void
prf_stats(struct prf *prf, struct hreq *req)
{
	struct timeval one = { 1, 0 };
	struct prf_stream *st;
	char v[32];
	long sec = 30;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	if (prf_arg(req, "history", v, sizeof v) != NULL) {
		char *end;

		sec = strtol(v, &end, 10);
		if (end == v || *end != '\0' || sec <= 0 || sec > PHIST_LEN) {
			prf_reply_json_error(req, 400, "history: a whole number "
			    "from 1 to 300");
			return;
		}
		prf_stats_history(prf, req, sec);
		return;
	}
	if (prf_arg(req, "seconds", v, sizeof v) != NULL) {
		char *end;

		sec = strtol(v, &end, 10);
		if (end == v || *end != '\0' || sec <= 0 || sec > PRF_STATS_MAX_S) {
			prf_reply_json_error(req, 400, "seconds: a whole number "
			    "from 1 to 3600");
			return;
		}
	}
	if (prf->stopping) {
		prf_reply_json_error(req, 503, "server is stopping");
		return;
	}
	/* each stream is a timer and a line a second: keep them bounded */
	if (prf->nstreams >= PRF_STATS_MAX_STREAMS) {
		prf_reply_json_error(req, 503, "too many /debug/stats streams");
		return;
	}
	st = imp_calloc(1, sizeof *st);
	st->prf = prf;
	st->left = (int)sec;
	st->prev_mono = tim_mono();
	buf_init(&st->pend);
	stat_sum_all(prf->shm, st->prev);
	st->next = prf->streams;
	prf->streams = st;
	prf->nstreams++;
	prf_inflight_sync(1);
	st->timer = event_new(prf->base, -1, EV_PERSIST, prf_stream_tick, st);
	event_add(st->timer, &one);
	hreq_add_header(req, "Content-Type", "application/x-ndjson");
	hreq_add_header(req, "Cache-Control", "no-store");
	/* st is hsrv's from here: prf_stream_fini may already have run (HEAD) */
	hreq_reply_stream(req, 200, NULL, 0, NULL, 0, prf_stream_fill,
	    prf_stream_fini, st);
}

void
prf_stats_stop_all(struct prf *prf)
{
	struct prf_stream *st, *next;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	/* next first: prf_stream_end may free st */
	for (st = prf->streams; st != NULL; st = next) {
		next = st->next;
		prf_stream_end(st);
	}
}
