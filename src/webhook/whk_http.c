/*
 * impcore - one webhook attempt: body, Standard Webhooks headers, libcurl.
 *
 * libcurl's multi interface driven by our libevent loop: libcurl tells us
 * which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
 * (CURLMOPT_TIMERFUNCTION); we hand events back with
 * curl_multi_socket_action().  Every attempt is one easy handle; spare
 * handles are kept with their options, header nodes and body buffer, and
 * connections stay in the multi handle's cache, so a busy target is
 * served over kept-alive connections and an attempt costs no setup but
 * its own body, headers and URL.
 *
 * Redirects (-webhook-redirects=N) are followed here, hop by hop, not by
 * libcurl: on a 301/302/303/307/308 we read the resolved Location
 * (CURLINFO_REDIRECT_URL), check it against the same rule the workers
 * apply to a request's webhook_url (net/urlallow.c) and only then send
 * the POST again, on the same easy handle.  Why not CURLOPT_FOLLOWLOCATION
 * with a CURLOPT_PREREQFUNCTION check: that callback runs once the
 * connection to the next hop is made (TLS handshake included), so a
 * target the operator did not allow would still be dialled; it needs
 * libcurl >= 7.80 and the effective URL read inside it; and libcurl's POST
 * rules per status (CURLOPT_POSTREDIR) and its per-transfer timeouts would
 * have to be bent to "keep the POST" and "one timeout for the attempt".
 * Done by hand, a hop that is not allowed is never connected to, every
 * hop is the same POST (body, headers, signature: it covers
 * id.timestamp.body, not the URL), and all hops share -webhook-timeout.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "net/urlallow.h"
#include "render/render.h"
#include "state/rtab.h"
#include "webhook/whk_priv.h"
#include "webhook/whk_sign.h"

#define WHK_UA		"impcore-webhook/" PACKAGE_VERSION

static void whk_check_multi(struct whk *w);

/*===================================================================
 * libcurl <-> libevent
 */

static void
whk_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct whk_sock *ws = arg;
	struct whk *w = ws->w;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* ws may be freed by the socket callback inside this call */
	curl_multi_socket_action(w->multi, fd, flags, &running);
	whk_check_multi(w);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what libcurl wants, or stop. */
static int
whk_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct whk *w = userp;
	struct whk_sock *ws = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ws != NULL) {
			if (ws->added)
				event_del(&ws->ev);
			LIST_REMOVE(ws, link);
			imp_free(ws);
			curl_multi_assign(w->multi, s, NULL);
		}
		return (0);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ws == NULL) {
		ws = imp_calloc(1, sizeof *ws);
		ws->w = w;
		ws->fd = s;
		LIST_INSERT_HEAD(&w->socks, ws, link);
		curl_multi_assign(w->multi, s, ws);
	} else if (ws->added) {
		/* told again what it already watches: two epoll_ctl saved */
		if (event_get_events(&ws->ev) == kind)
			return (0);
		event_del(&ws->ev);
		ws->added = 0;
	}
	event_assign(&ws->ev, w->base, s, kind, whk_sock_event, ws);
	if (event_add(&ws->ev, NULL) == 0)
		ws->added = 1;
	return (0);
}

static void
whk_curl_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct whk *w = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	whk_check_multi(w);
}

/*
 * CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle.  A 0
 * timeout is not acted on here: libcurl must not be re-entered from its
 * own callback, so the loop fires it on its next turn.
 */
static int
whk_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct whk *w = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(&w->ev_curl);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(&w->ev_curl, &tv);
	return (0);
}

/* Body of the answer: not used; the status line decides. */
static size_t
whk_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return (size * n);
}

/*===================================================================
 * Attempts
 */

/*
 * A spare's content buffer is kept for its next attempt (no malloc and no
 * realloc chain per body) unless it grew past this: a usual body is a few
 * KiB, and spectra of hundreds of points should not leave every spare
 * holding their size.  At most WHK_MAX_INFLIGHT spares exist, as many as
 * bodies were in flight at once.
 */
#define WHK_KEEP_BUF	(64 * 1024)

/*
 * The options every attempt of every handle shares, set once per easy
 * handle: a spare keeps them (no curl_easy_reset, which would cost a
 * dozen setopts per attempt to undo), and only what changes per attempt
 * (URL, body, timeouts) is set again in whk_prepare.  A redirect hop
 * changes only those too.
 */
static CURLcode
whk_easy_setup(struct whk_dlv *d)
{
	CURL *e = d->easy;
	CURLcode rc = CURLE_OK;

#define SET(opt, val)	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_PRIVATE, d);
	SET(CURLOPT_ERRORBUFFER, d->errbuf);
	/* our own nodes, relinked per attempt (whk_prepare) */
	SET(CURLOPT_HTTPHEADER, d->hdr);
	SET(CURLOPT_USERAGENT, WHK_UA);
	/* never to anything but the URL we were given: libcurl follows no
	 * redirect (we may, see the top of the file), no scheme but
	 * http(s), not even through a proxy's say-so */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: the _STR forms; the others are deprecated */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* no SIGALRM for DNS timeouts: we are a libevent process */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_WRITEFUNCTION, whk_discard);
	SET(CURLOPT_WRITEDATA, d);
#undef SET
	d->easy_ready = rc == CURLE_OK;
	return (rc);
}

static struct whk_dlv *
whk_dlv_get(struct whk *w)
{
	struct whk_dlv *d = LIST_FIRST(&w->spare);

	/* a spare keeps its handle's options, and the connection and DNS
	 * caches are the multi's */
	if (d != NULL)
		LIST_REMOVE(d, link);
	else {
		d = imp_calloc(1, sizeof *d);
		d->magic = WHK_DLV_MAGIC;
		buf_init(&d->cbuf);
		d->easy = curl_easy_init();
		if (d->easy == NULL)
			log_fatalx("curl_easy_init() failed");
	}
	d->errbuf[0] = '\0';
	return (d);
}

static void
whk_dlv_put(struct whk *w, struct whk_dlv *d)
{
	if (d->cbuf.cap > WHK_KEEP_BUF)
		buf_free(&d->cbuf);
	else
		buf_reset(&d->cbuf);
	d->content = NULL;
	imp_free(d->url);
	d->url = NULL;
	d->hops = 0;
	d->tgt = NULL;
	LIST_INSERT_HEAD(&w->spare, d, link);
}

/* dst = name followed by the NUL-terminated value v (both fit: WHK_HDR_LINE). */
static char *
whk_hdr_line(char *dst, const char *name, size_t nlen, const char *v,
    size_t vlen)
{
	memcpy(dst, name, nlen);
	memcpy(dst + nlen, v, vlen);
	dst[nlen + vlen] = '\0';
	return (dst);
}

/*
 * Render the body and the headers of d's attempt and configure its easy
 * handle.  now: REALTIME ns, the attempt's webhook-timestamp.  NULL ok,
 * else why it cannot be sent.
 */
static const char *
whk_prepare(struct whk *w, struct whk_dlv *d, const struct rtab_view *v,
    const char *url, uint64_t now)
{
	char sig[WHK_SIG_MAX], tsb[BUF_INT_MAX];
	uint64_t ts = now / TIM_SEC;
	size_t idlen = strlen(v->result_id), tslen;
	struct buf *b = &d->cbuf;
	CURL *e = d->easy;
	CURLcode rc = CURLE_OK;
	const char *why;
	int nh = 0, i;

	if (!d->easy_ready && (rc = whk_easy_setup(d)) != CURLE_OK)
		return (curl_easy_strerror(rc));
	tslen = (size_t)(buf_int_at(tsb, (long long)ts) - tsb);
	if (idlen > RTAB_RESID_LEN)
		return ("could not render the result");

	/*
	 * The signed content is "<id>.<timestamp>.<body>": render the body
	 * right after that prefix so signing needs no copy, and post only
	 * the part after it.
	 */
	if (v->wh_batch) {
		if ((why = whk_batch_content(w, d, v, tsb, tslen)) != NULL)
			return (why);
		idlen = strlen(d->resid);
	} else {
		buf_reset(b);
		buf_add(b, v->result_id, idlen);
		buf_addc(b, '.');
		buf_add(b, tsb, tslen);
		buf_addc(b, '.');
		d->prefix = b->len;
		render_result_cached(b, v, &w->rcache);
		STAT_INC(webhook_rendered);
	}
	d->content = b->p;
	d->len = b->len;
	if (d->content == NULL || d->len <= d->prefix)
		return ("could not render the result");

	/* curl_slist's data is not const; curl only reads these */
	static char ctype[] = "Content-Type: application/json";
	static char noexpect[] = "Expect:";

#define HDR(s)	(d->hdr[nh++].data = (s))
	HDR(ctype);
	HDR(whk_hdr_line(d->hdr_id, "webhook-id: ", 12, d->resid, idlen));
	HDR(whk_hdr_line(d->hdr_ts, "webhook-timestamp: ", 19, tsb, tslen));
	if (w->key != NULL) {
		if (whk_sign(w->key, d->content, d->len, sig) != 0)
			return ("HMAC-SHA256 signing failed");
		HDR(whk_hdr_line(d->hdr_sig, "webhook-signature: ", 19, sig,
		    strlen(sig)));
	}
	/* no "Expect: 100-continue" round trip before larger bodies */
	HDR(noexpect);
#undef HDR
	for (i = 0; i < nh; i++)
		d->hdr[i].next = i + 1 < nh ? &d->hdr[i + 1] : NULL;

#define SET(opt, val)	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(d->len - d->prefix));
	SET(CURLOPT_POSTFIELDS, d->content + d->prefix);
	/* a redirect hop of the previous attempt may have shortened them */
	SET(CURLOPT_CONNECTTIMEOUT_MS, w->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, w->timeout_ms);
#undef SET
	if (rc != CURLE_OK)
		return (curl_easy_strerror(rc));
	return (NULL);
}

int
whk_http_start(struct whk *w, struct whk_target *tgt, uint32_t rec)
{
	const char *why = NULL, *url;
	struct rtab_view v;
	struct whk_dlv *d;
	CURLMcode mc;
	uint64_t now;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	if (rtab_wh_begin(w->shm, rec, w->pid) != 0)
		return (-1);
	STAT_INC(webhook_attempts);
	d = whk_dlv_get(w);
	d->rec = rec;
	d->tgt = tgt;
	d->t0 = tim_mono();
	d->attempt = 1;
	d->hops = 0;
	d->first = now = tim_real();
	memcpy(d->resid, "?", 2);
	d->batch = 0;
	d->part = 0;
	d->parts = 1;

	/* the record is ours (INFLIGHT, our pid): this view cannot change */
	if (rtab_view_get(w->shm, rec, 1, &v) != 0) {
		why = "the record could not be read";
	} else {
		snprintf(d->resid, sizeof d->resid, "%s", v.result_id);
		d->batch = v.wh_batch;
		if (v.wh_attempts > 0)
			d->attempt = v.wh_attempts;
		if (v.wh_first != 0)
			d->first = v.wh_first;
		if ((url = whk_url_of(w, &v)) == NULL)
			why = "no webhook URL";
		else {
			d->url = imp_strdup(url);
			why = whk_prepare(w, d, &v, url, now);
		}
		rtab_view_free(&v);
	}
	if (why == NULL) {
		mc = curl_multi_add_handle(w->multi, d->easy);
		if (mc != CURLM_OK)
			why = curl_multi_strerror(mc);
	}
	if (why != NULL) {
		whk_outcome(w, d, 0, why);
		whk_dlv_put(w, d);
		return (-1);
	}
	LIST_INSERT_HEAD(&w->flying, d, link);
	w->mark[rec] = WHK_M_FLIGHT;
	return (0);
}

/*===================================================================
 * Redirects
 */

/* The statuses whose Location is followed (always with the same POST). */
static bool
whk_is_redirect(long code)
{
	return (code == 301 || code == 302 || code == 303 || code == 307 ||
	    code == 308);
}

/*
 * May d follow its redirect to loc?  Only to an allowed target, by the
 * rule a request's own webhook_url is held to: the delivery target itself
 * (same scheme, host and port) or a URL under a -webhook-allow prefix.
 * 1 yes, with loc as it may be shown in show; 0 no, with the reason in
 * why.  URLs are shown without their userinfo and query (they may hold
 * credentials).
 */
static int
whk_hop_allowed(struct whk *w, struct whk_dlv *d, const char *loc, char *why,
    size_t len, char *show, size_t showlen)
{
	struct urlparts p, o;
	int ok = 0;

	if (urlparts_get(loc, &p) < 0) {
		snprintf(why, len, "redirect to an invalid URL not allowed");
		return (0);
	}
	if (!urlparts_http(&p)) {
		snprintf(why, len, "redirect to %s://%s:%ld%s not allowed: "
		    "scheme must be http or https", p.scheme, p.host, p.port,
		    p.path);
		goto out;
	}
	if (d->url != NULL && urlparts_get(d->url, &o) == 0) {
		ok = urlparts_same_origin(&p, &o);
		urlparts_free(&o);
	}
	if (!ok)
		ok = urlallow_match(w->allow, &p);
	if (!ok)
		snprintf(why, len, "redirect to %s://%s:%ld%s not allowed: not "
		    "the delivery target (%s) and %s", p.scheme, p.host, p.port,
		    p.path, d->tgt->key, urlallow_count(w->allow) == 0 ?
		    "no -webhook-allow list is configured" :
		    "matches no -webhook-allow prefix");
	else
		snprintf(show, showlen, "%s://%s:%ld%s", p.scheme, p.host,
		    p.port, p.path);
out:
	urlparts_free(&p);
	return (ok);
}

/*
 * Send d's POST again, to loc (already allowed): same body and headers,
 * within what is left of -webhook-timeout.  d's handle is out of the
 * multi handle.  0: in flight again; -1 not, with the reason in why.
 */
static int
whk_hop(struct whk *w, struct whk_dlv *d, const char *loc, char *why,
    size_t len)
{
	long left = w->timeout_ms - (long)((tim_mono() - d->t0) / TIM_MS);
	CURLcode rc = CURLE_OK;
	CURLMcode mc;

	if (left <= 0) {
		snprintf(why, len, "timed out after %ld ms, %d redirect(s) "
		    "followed (-webhook-timeout)", w->timeout_ms, d->hops);
		return (-1);
	}
	d->errbuf[0] = '\0';
	rc = curl_easy_setopt(d->easy, CURLOPT_URL, loc);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, left);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT_MS,
		    w->connect_ms < left ? w->connect_ms : left);
	if (rc != CURLE_OK) {
		snprintf(why, len, "redirect: %s", curl_easy_strerror(rc));
		return (-1);
	}
	mc = curl_multi_add_handle(w->multi, d->easy);
	if (mc != CURLM_OK) {
		snprintf(why, len, "redirect: %s", curl_multi_strerror(mc));
		return (-1);
	}
	d->hops++;
	return (0);
}

/*
 * d's transfer answered code, a redirect.  0: following it (in flight
 * again); -1: the attempt ends, failed, with the reason in why.
 */
static int
whk_redirect(struct whk *w, struct whk_dlv *d, long code, const char *loc,
    char *why, size_t len)
{
	char show[2 * RTAB_URL_MAX];

	/* -webhook-redirects=0: a failed attempt, as any other non-2xx */
	if (w->max_redirs == 0) {
		snprintf(why, len, "HTTP %ld", code);
		return (-1);
	}
	if (d->hops >= w->max_redirs) {
		snprintf(why, len, "HTTP %ld: too many redirects (%d followed, "
		    "-webhook-redirects=%d)", code, d->hops, w->max_redirs);
		return (-1);
	}
	if (loc == NULL || *loc == '\0') {
		snprintf(why, len, "HTTP %ld without a usable Location", code);
		return (-1);
	}
	if (!whk_hop_allowed(w, d, loc, why, len, show, sizeof show))
		return (-1);
	if (whk_hop(w, d, loc, why, len) != 0)
		return (-1);
	log_req("🌐 Webhook[%s] ↪: HTTP %ld, redirect %d/%d to %s", d->resid,
	    code, d->hops, w->max_redirs, show);
	return (0);
}

/* Collect the attempts libcurl has finished, then start what may start. */
static void
whk_check_multi(struct whk *w)
{
	char why[CURL_ERROR_SIZE + 2 * RTAB_URL_MAX];
	struct whk_dlv *d;
	CURLMsg *msg;
	CURLcode res;
	CURL *easy;
	char *loc;
	long code;
	int left, ok;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg dies with the handle's removal: copy first */
		easy = msg->easy_handle;
		res = msg->data.result;
		d = NULL;
		code = 0;
		loc = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&d);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		/* the handle's: copied before the handle runs again */
		if (res == CURLE_OK && whk_is_redirect(code) &&
		    curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &loc) ==
		    CURLE_OK && loc != NULL)
			loc = imp_strdup(loc);
		else
			loc = NULL;
		curl_multi_remove_handle(w->multi, easy);
		if (d == NULL || d->magic != WHK_DLV_MAGIC) {
			imp_free(loc);
			continue;	/* XXX cannot happen */
		}
		ok = res == CURLE_OK && code >= 200 && code <= 299;
		if (res != CURLE_OK)
			snprintf(why, sizeof why, "%s", d->errbuf[0] != '\0' ?
			    d->errbuf : curl_easy_strerror(res));
		else if (whk_is_redirect(code)) {
			if (whk_redirect(w, d, code, loc, why, sizeof why) == 0) {
				imp_free(loc);
				continue;	/* in flight again, still on w->flying */
			}
		} else
			snprintf(why, sizeof why, "HTTP %ld", code);
		imp_free(loc);
		LIST_REMOVE(d, link);
		whk_done(w, d, ok, why);
		whk_dlv_put(w, d);
	}
	whk_pump(w);
	if (w->stopping && w->inflight == 0)
		event_base_loopexit(w->base, NULL);
}

/*
 * Stopping, and the grace is over: give each attempt still in flight back
 * to the file as PENDING, due now, for the next webhook process (it may
 * have reached the target: delivery is at-least-once).
 */
void
whk_http_abandon(struct whk *w)
{
	struct whk_dlv *d;
	uint64_t now = tim_real();
	int n = 0;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	while ((d = LIST_FIRST(&w->flying)) != NULL) {
		LIST_REMOVE(d, link);
		curl_multi_remove_handle(w->multi, d->easy);
		rtab_wh_retry(w->shm, d->rec, w->pid, now,
		    "interrupted: the webhook process stopped");
		w->mark[d->rec] = WHK_M_NONE;
		d->tgt->inflight--;
		w->inflight--;
		whk_dlv_put(w, d);
		n++;
	}
	if (n > 0)
		log_info("stopped with %d attempt(s) in flight, left "
		    "pending", n);
	stat_set(STAT_webhook_inflight, 0);
}

int
whk_http_init(struct whk *w)
{
	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	LIST_INIT(&w->flying);
	LIST_INIT(&w->spare);
	LIST_INIT(&w->socks);
	w->multi = curl_multi_init();
	if (w->multi == NULL)
		return (-1);
	evtimer_assign(&w->ev_curl, w->base, whk_curl_timeout, w);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, whk_sock_cb);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, whk_timer_cb);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	/* enough kept-alive connections for every attempt we allow */
	curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)WHK_MAX_INFLIGHT);
	return (0);
}

void
whk_http_fini(struct whk *w)
{
	struct whk_dlv *d;
	struct whk_sock *ws;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	whk_http_abandon(w);
	while ((d = LIST_FIRST(&w->spare)) != NULL) {
		LIST_REMOVE(d, link);
		curl_easy_cleanup(d->easy);
		buf_free(&d->cbuf);
		imp_free(d);
	}
	render_cache_free(&w->rcache);
	buf_free(&w->bone);
	whk_batch_fini(w);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	w->multi = NULL;
	evtimer_del(&w->ev_curl);
	/* sockets libcurl did not say goodbye to */
	while ((ws = LIST_FIRST(&w->socks)) != NULL) {
		LIST_REMOVE(ws, link);
		if (ws->added)
			event_del(&ws->ev);
		imp_free(ws);
	}
}
