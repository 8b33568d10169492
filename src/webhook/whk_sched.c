/*
 * impcore - webhook scheduling: which record is attempted when, and where.
 *
 * The state file is the queue: a record whose webhook is PENDING and due is
 * work, wherever we learn about it (the webhook ring, a scan of the file,
 * our own retry timer).  Locally we only keep indexes in arrays sized to
 * the record table (a mark per record, intrusive FIFO links per target, a
 * heap of retry times), so nothing here can fill up and nothing is ever
 * dropped: at worst a record waits for the next scan.
 *
 * Attempts are bounded in total (WHK_MAX_INFLIGHT) and per destination
 * host:port (WHK_MAX_PER_TARGET).  A target at its bound keeps its records
 * in its FIFO and is not looked at until one of its attempts ends; targets
 * with work and room take turns (round robin over whk.ready).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon/children.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "prof/prof_cont.h"	/* profiler: queue waits */
#include "state/ring.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "webhook/whk_priv.h"

#define WHK_HBUCKETS	256u		/* target hash buckets (power of two) */
#define WHK_SLACK_NS	(1 * TIM_MS)	/* "due" tolerance: timers round */

static void whk_retry_arm(struct whk *w);
static void whk_retry_cb(evutil_socket_t fd, short what, void *arg);

/*===================================================================
 * Targets
 */

/*
 * "scheme://host:port" of an http(s) URL, parsed by libcurl's URL API (the
 * same parser that will connect), so the bound applies to what is really
 * dialled.  0 ok, -1 not a usable http(s) URL.
 */
int
whk_target_key(const char *url, char *key, size_t len)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u;
	int rc = -1;

	u = curl_url();
	if (u == NULL)
		return (-1);
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
		snprintf(key, len, "%s://%s:%s", scheme, host, port);
		rc = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return (rc);
}

static uint32_t
whk_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h);
}

/* The target of url, created on first use; NULL when url is not usable. */
static struct whk_target *
whk_target_get(struct whk *w, const char *url)
{
	struct whk_target *t, **tp;
	char key[RTAB_URL_MAX + 16];

	/* nearly every record goes to the same URL: skip the parse */
	if (w->url_cache != NULL && strcmp(w->url_cache, url) == 0)
		return (w->tgt_cache);
	if (whk_target_key(url, key, sizeof key) != 0)
		return (NULL);
	tp = &w->htab[whk_hash(key) & w->hmask];
	for (t = *tp; t != NULL; t = t->hnext)
		if (strcmp(t->key, key) == 0)
			break;
	if (t == NULL) {
		t = imp_calloc(1, sizeof *t);
		t->magic = WHK_TARGET_MAGIC;
		t->key = imp_strdup(key);
		t->qhead = t->qtail = RTAB_NONE;
		t->hnext = *tp;
		*tp = t;
	}
	imp_free(w->url_cache);
	w->url_cache = imp_strdup(url);
	w->tgt_cache = t;
	return (t);
}

static void
whk_target_free(struct whk *w, struct whk_target *t)
{
	struct whk_target **tp;

	for (tp = &w->htab[whk_hash(t->key) & w->hmask]; *tp != t;
	    tp = &(*tp)->hnext)
		;
	*tp = t->hnext;
	if (w->tgt_cache == t) {
		imp_free(w->url_cache);
		w->url_cache = NULL;
		w->tgt_cache = NULL;
	}
	imp_free(t->key);
	t->magic = 0;
	imp_free(t);
}

/*
 * Keep the invariant: t is on the ready list iff it has queued records and
 * room under its bound; an idle target is freed (URLs given per request
 * would otherwise pile up targets for the life of the process).
 */
static void
whk_target_update(struct whk *w, struct whk_target *t)
{
	int want = t->qlen > 0 && t->inflight < WHK_MAX_PER_TARGET;

	if (want && !t->in_ready) {
		TAILQ_INSERT_TAIL(&w->ready, t, rlink);
		t->in_ready = 1;
	} else if (!want && t->in_ready) {
		TAILQ_REMOVE(&w->ready, t, rlink);
		t->in_ready = 0;
	}
	if (t->qlen == 0 && t->inflight == 0)
		whk_target_free(w, t);
}

static void
whk_enqueue(struct whk *w, struct whk_target *t, uint32_t rec)
{
	w->qnext[rec] = RTAB_NONE;
	if (t->qtail == RTAB_NONE)
		t->qhead = rec;
	else
		w->qnext[t->qtail] = rec;
	t->qtail = rec;
	t->qlen++;
	w->waiting++;
	w->mark[rec] = WHK_M_WAIT;
	/* profiler: the queue wait starts (due_at is unused while WHK_M_WAIT) */
	w->due_at[rec] = prof_wait_begin();
	whk_target_update(w, t);
}

static uint32_t
whk_dequeue(struct whk *w, struct whk_target *t)
{
	uint32_t rec = t->qhead;

	t->qhead = w->qnext[rec];
	if (t->qhead == RTAB_NONE)
		t->qtail = RTAB_NONE;
	t->qlen--;
	w->waiting--;
	w->mark[rec] = WHK_M_NONE;
	prof_wait_end(PROF_BLOCK, w->due_at[rec]);	/* profiler: queue wait */
	return (rec);
}

/*===================================================================
 * Retry timers: a min-heap of (time, record); one libevent timer for the
 * earliest.  An entry counts only while the record is still WHK_M_TIMER
 * with the same due_at (stale entries are skipped when they surface).
 */

static void
whk_heap_push(struct whk *w, uint64_t at, uint32_t rec)
{
	struct whk_due e = { at, rec };
	uint32_t i, p;

	if (w->nheap == w->heapcap) {
		w->heapcap = w->heapcap ? w->heapcap * 2 : 64;
		w->heap = imp_realloc(w->heap, w->heapcap * sizeof *w->heap);
	}
	for (i = w->nheap++; i > 0; i = p) {
		p = (i - 1) / 2;
		if (w->heap[p].at <= at)
			break;
		w->heap[i] = w->heap[p];
	}
	w->heap[i] = e;
}

static struct whk_due
whk_heap_pop(struct whk *w)
{
	struct whk_due top = w->heap[0], last = w->heap[--w->nheap];
	uint32_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= w->nheap)
			break;
		if (c + 1 < w->nheap && w->heap[c + 1].at < w->heap[c].at)
			c++;
		if (last.at <= w->heap[c].at)
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->nheap > 0)
		w->heap[i] = last;
	return (top);
}

/* Look at rec again at time at (REALTIME ns). */
static void
whk_timer_at(struct whk *w, uint32_t rec, uint64_t at)
{
	w->mark[rec] = WHK_M_TIMER;
	w->due_at[rec] = at;
	whk_heap_push(w, at, rec);
	whk_retry_arm(w);
}

static void
whk_retry_arm(struct whk *w)
{
	struct timeval tv;
	uint64_t now, d;

	if (w->stopping || w->nheap == 0) {
		evtimer_del(&w->ev_retry);
		w->retry_armed = 0;
		return;
	}
	if (w->retry_armed == w->heap[0].at)
		return;
	now = tim_real();
	d = w->heap[0].at > now ? w->heap[0].at - now : 0;
	/* round up: firing early would only re-arm */
	d = (d + 999) / 1000;
	tv.tv_sec = (time_t)(d / 1000000);
	tv.tv_usec = (suseconds_t)(d % 1000000);
	evtimer_add(&w->ev_retry, &tv);
	w->retry_armed = w->heap[0].at;
}

/*===================================================================
 * Intake
 */

/*
 * The URL a record's webhook goes to: its own or its batch's (the view
 * carries what rtab_wh_url() returns, without a second copy of the
 * record), else -webhook-url.  NULL when there is none.
 */
const char *
whk_url_of(struct whk *w, const struct rtab_view *v)
{
	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	if (v->url[0] != '\0')
		return (v->url);
	return (w->default_url);
}

/* A record we cannot deliver in this process: left PENDING for one that can. */
static void
whk_park(struct whk *w, uint32_t rec, const char *why)
{
	/* one line per process, not one per record */
	if (w->parked++ == 0)
		log_warn("webhooks pending with %s: left pending until the "
		    "server runs with a usable -webhook-url", why);
	w->mark[rec] = WHK_M_PARKED;
}

/*
 * The Go server's line of an attempt, "🌐 Webhook[id] ✅: 1.234ms" or
 * "❌: ...: why"; in JSON lines its parts are fields too.  parts 0: not a
 * part of a split batch.
 */
static void
whk_log_attempt(const char *resid, int ok, uint64_t dur, const char *why,
    unsigned part, unsigned parts)
{
	struct log_field f[] = {
		LOG_FS("webhook_id", resid),
		LOG_FS("outcome", ok ? "delivered" : "failed"),
		LOG_FN("duration_ms", (double)dur / 1e6),
		LOG_FS("error", ok ? NULL : why),
	};

	if (ok && parts > 0)
		log_req_fields(f, 3, "🌐 Webhook[%s] ✅: %.3fms (part %u of %u)",
		    resid, (double)dur / 1e6, part, parts);
	else if (ok)
		log_req_fields(f, 3, "🌐 Webhook[%s] ✅: %.3fms", resid,
		    (double)dur / 1e6);
	else
		log_req_fields(f, 4, "🌐 Webhook[%s] ❌: %.3fms: %s", resid,
		    (double)dur / 1e6, why);
}

/*
 * A record's own URL that libcurl cannot use (the worker validated it at
 * submission, so this "cannot happen"): give up on it now, kept FAILED and
 * visible, instead of retrying for -webhook-max-age.
 */
static void
whk_refuse(struct whk *w, uint32_t rec, const char *resid, const char *why)
{
	if (rtab_wh_begin(w->shm, rec, w->pid) != 0)
		return;
	STAT_INC(webhook_attempts);
	if (rtab_wh_failed(w->shm, rec, w->pid, why) == 0)
		STAT_INC(webhook_failed);
	whk_log_attempt(resid, 0, 0, why, 0, 0);
}

/*
 * Look at rec, learnt from the ring, a scan or a retry timer: if its
 * webhook is PENDING and due, queue it on its target; if it is PENDING but
 * not due, set a timer; otherwise forget it (someone else has it).
 */
static void
whk_consider(struct whk *w, uint32_t rec, uint64_t now)
{
	struct whk_target *t;
	struct rtab_view v;
	const char *url;

	if (rec >= w->nrec)
		return;
	switch (w->mark[rec]) {
	case WHK_M_WAIT:
	case WHK_M_FLIGHT:
	case WHK_M_PARKED:
		return;
	default:
		break;
	}
	if (rtab_view_get(w->shm, rec, 0, &v) != 0) {
		w->mark[rec] = WHK_M_NONE;
		return;
	}
	rtab_view_free(&v);
	if (v.wh != RTAB_WH_PENDING) {
		w->mark[rec] = WHK_M_NONE;
		return;
	}
	if (v.wh_next > now + WHK_SLACK_NS) {
		if (w->mark[rec] != WHK_M_TIMER || w->due_at[rec] != v.wh_next)
			whk_timer_at(w, rec, v.wh_next);
		return;
	}
	w->mark[rec] = WHK_M_NONE;
	if ((url = whk_url_of(w, &v)) == NULL) {
		whk_park(w, rec, "no URL of their own and no -webhook-url");
		return;
	}
	t = whk_target_get(w, url);
	if (t == NULL) {
		if (url == w->default_url)
			whk_park(w, rec, "an unusable -webhook-url");
		else
			whk_refuse(w, rec, v.result_id,
			    "webhook URL is not a usable http(s) URL");
		return;
	}
	whk_enqueue(w, t, rec);
}

void
whk_intake(struct whk *w)
{
	struct ring *r = shm_wh_ring(w->shm);
	uint64_t now = tim_real();
	uint32_t rec;
	int n;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	if (w->stopping)
		return;
	for (n = 0; n < WHK_INTAKE_BATCH && ring_pop(r, &rec) == 0; n++)
		whk_consider(w, rec, now);
	/* a flood of finishes: take the rest on the next loop turn, so the
	 * attempts already in flight keep being served meanwhile */
	if (n == WHK_INTAKE_BATCH)
		event_active(&w->ev_intake, EV_TIMEOUT, 0);
	whk_pump(w);
}

void
whk_scan(struct whk *w)
{
	uint64_t now = tim_real();
	int i, n;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	if (w->stopping)
		return;
	n = rtab_wh_due(w->shm, now, w->scan, (int)w->nrec);
	for (i = 0; i < n; i++)
		whk_consider(w, w->scan[i], now);
	/* the gauge: everything PENDING in the file, due or not */
	n = rtab_wh_due(w->shm, UINT64_MAX, w->scan, (int)w->nrec);
	stat_set(STAT_webhook_pending, (uint64_t)(n > 0 ? n : 0));
	whk_pump(w);
}

static void
whk_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct whk *w = arg;
	struct whk_due e;
	uint64_t now = tim_real();

	(void)fd;
	(void)what;
	w->retry_armed = 0;
	while (w->nheap > 0 && w->heap[0].at <= now + WHK_SLACK_NS) {
		e = whk_heap_pop(w);
		if (w->mark[e.rec] != WHK_M_TIMER || w->due_at[e.rec] != e.at)
			continue;	/* stale */
		w->mark[e.rec] = WHK_M_NONE;
		whk_consider(w, e.rec, now);
	}
	whk_retry_arm(w);
	whk_pump(w);
}

/*===================================================================
 * Starting and ending attempts
 */

/* Start as many queued records as the bounds allow, targets in turn. */
void
whk_pump(struct whk *w)
{
	struct whk_target *t;
	uint32_t rec;

	while (!w->stopping && w->inflight < WHK_MAX_INFLIGHT &&
	    (t = TAILQ_FIRST(&w->ready)) != NULL) {
		/* off the list and back at its tail: round robin */
		TAILQ_REMOVE(&w->ready, t, rlink);
		t->in_ready = 0;
		rec = whk_dequeue(w, t);
		t->inflight++;
		w->inflight++;
		if (whk_http_start(w, t, rec) != 0) {
			/* lost to another process, or failed (and rescheduled) */
			t->inflight--;
			w->inflight--;
		}
		whk_target_update(w, t);
	}
	/* not the process's inflight: that counts HTTP requests (shm.h) */
	stat_set(STAT_webhook_inflight, (uint64_t)w->inflight);
}

/* Next attempt after a failed attempt number n: base x 2^(n-1), capped, +-jitter. */
static uint64_t
whk_backoff(struct whk *w, int n)
{
	uint64_t d = w->backoff_ns, cap = w->backoff_max_ns, z;
	double u;
	int i;

	for (i = 1; i < n && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* splitmix64: good enough to spread retries, no libc state shared */
	z = (w->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	u = (double)(z >> 11) * 0x1.0p-53;	/* [0, 1) */
	return ((uint64_t)((double)d * (1.0 - WHK_JITTER + 2 * WHK_JITTER * u)));
}

/*
 * An attempt ended (ok: 2xx; else why says what went wrong): record it in
 * the file (DELIVERED, PENDING at the next time, or FAILED past
 * -webhook-max-age), log it in the Go server's shape, count it.  Touches
 * neither the bounds nor d's target (whk_done does).
 */
void
whk_outcome(struct whk *w, struct whk_dlv *d, int ok, const char *why)
{
	uint64_t dur = tim_mono() - d->t0, now = tim_real(), next, last;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	STAT_ADD(webhook_latency_ns, dur);
	stat_hist_add(STAT_H_webhook_time, dur);
	w->mark[d->rec] = WHK_M_NONE;
	if (ok && d->batch && d->part + 1 < d->parts) {
		/* a part of a batch: the next one is a delivery of its own */
		if (rtab_wh_part_done(w->shm, d->rec, w->pid) == 0) {
			STAT_INC(webhook_delivered);
			event_active(&w->ev_intake, EV_TIMEOUT, 0);
		}
		whk_log_attempt(d->resid, 1, dur, NULL, (unsigned)d->part + 1,
		    (unsigned)d->parts);
		return;
	}
	if (ok) {
		if (rtab_wh_delivered(w->shm, d->rec, w->pid) == 0)
			STAT_INC(webhook_delivered);
		whk_log_attempt(d->resid, 1, dur, NULL, 0, 0);
		return;
	}
	whk_log_attempt(d->resid, 0, dur, why, 0, 0);
	last = d->first + w->max_age;
	if (now >= last) {
		if (rtab_wh_failed(w->shm, d->rec, w->pid, why) == 0) {
			STAT_INC(webhook_failed);
			log_warn("webhook %s given up after %d attempts "
			    "(-webhook-max-age): %s", d->resid, d->attempt, why);
		}
		return;
	}
	/* one last attempt at the deadline rather than none */
	next = now + whk_backoff(w, d->attempt);
	if (next > last)
		next = last;
	if (rtab_wh_retry(w->shm, d->rec, w->pid, next, why) == 0) {
		STAT_INC(webhook_retried);
		whk_timer_at(w, d->rec, next);
	}
}

/*
 * An attempt that was in flight ended: its outcome, then its place under
 * the bounds is free again (d's target may be freed).  The caller recycles
 * d and calls whk_pump() afterwards.
 */
void
whk_done(struct whk *w, struct whk_dlv *d, int ok, const char *why)
{
	struct whk_target *t = d->tgt;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	whk_outcome(w, d, ok, why);
	t->inflight--;
	w->inflight--;
	d->tgt = NULL;
	whk_target_update(w, t);
	/* not the process's inflight: that counts HTTP requests (shm.h) */
	stat_set(STAT_webhook_inflight, (uint64_t)w->inflight);
}

/*===================================================================
 * Life
 */

int
whk_sched_init(struct whk *w)
{
	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	/* records and batch deliveries: one index space (rtab.h) */
	w->nrec = rtab_wh_items(w->shm);
	w->mark = imp_calloc(w->nrec, sizeof *w->mark);
	w->qnext = imp_calloc(w->nrec, sizeof *w->qnext);
	w->due_at = imp_calloc(w->nrec, sizeof *w->due_at);
	w->scan = imp_calloc(w->nrec, sizeof *w->scan);
	w->hmask = WHK_HBUCKETS - 1;
	w->htab = imp_calloc(WHK_HBUCKETS, sizeof *w->htab);
	TAILQ_INIT(&w->ready);
	evtimer_assign(&w->ev_retry, w->base, whk_retry_cb, w);
	return (0);
}

void
whk_sched_fini(struct whk *w)
{
	struct whk_target *t;
	uint32_t i;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	evtimer_del(&w->ev_retry);
	for (i = 0; i <= w->hmask; i++)
		while ((t = w->htab[i]) != NULL) {
			w->htab[i] = t->hnext;
			imp_free(t->key);
			imp_free(t);
		}
	imp_free(w->htab);
	imp_free(w->url_cache);
	imp_free(w->heap);
	imp_free(w->mark);
	imp_free(w->qnext);
	imp_free(w->due_at);
	imp_free(w->scan);
}
