/*
 * impcore - the profiler's HTTP side: routes, access check, answers.
 *
 * evhttp on the -profile-port socket.  Paths and answers follow Go's
 * net/http/pprof, so `go tool pprof http://host:6060/debug/pprof/...` and
 * scripts written for the Go server work unchanged.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "daemon/cfg.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "state/shm.h"
#include "daemon/children.h"
#include "profiler/prf.h"

typedef void prf_route_fn(struct prf *prf, struct evhttp_request *req);

static const struct prf_route {
	const char	*path;
	prf_route_fn	*fn;
	int		post;		/* POST allowed too (symbol lookups) */
} prf_routes[] = {
	{ "/debug/pprof/",		prf_pprof_index,	0 },
	{ "/debug/pprof",		prf_pprof_index,	0 },
	{ "/debug/pprof/profile",	prf_pprof_profile,	0 },
	{ "/debug/pprof/heap",		prf_pprof_heap,		0 },
	{ "/debug/pprof/allocs",	prf_pprof_allocs,	0 },
	{ "/debug/pprof/threadcreate",	prf_pprof_threadcreate,	0 },
	{ "/debug/pprof/trace",		prf_pprof_trace,	0 },
	{ "/debug/pprof/block",		prf_pprof_block,	0 },
	{ "/debug/pprof/mutex",		prf_pprof_mutex,	0 },
	{ "/debug/pprof/goroutine",	prf_pprof_goroutine,	0 },
	{ "/debug/pprof/cmdline",	prf_pprof_cmdline,	0 },
	{ "/debug/pprof/symbol",	prf_pprof_symbol,	1 },
	{ "/debug/info",		prf_info,		0 },
	{ "/debug/stats",		prf_stats,		0 },
	{ "/metrics",			prf_metrics,		0 },
	{ "/",				prf_pprof_index,	0 },
};

static const char *
prf_reason(int status)
{
	switch (status) {
	case 200:	return ("OK");
	case 400:	return ("Bad Request");
	case 401:	return ("Unauthorized");
	case 404:	return ("Not Found");
	case 405:	return ("Method Not Allowed");
	case 500:	return ("Internal Server Error");
	case 501:	return ("Not Implemented");
	case 503:	return ("Service Unavailable");
	default:	return ("Unknown");
	}
}

void
prf_reply(struct evhttp_request *req, int status, const char *ctype,
    const void *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *eb = evbuffer_new();

	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (eb != NULL && len > 0)
		evbuffer_add(eb, body, len);
	evhttp_send_reply(req, status, prf_reason(status), eb);
	if (eb != NULL)
		evbuffer_free(eb);
}

void
prf_reply_buf(struct evhttp_request *req, int status, const char *ctype,
    struct buf *b)
{
	prf_reply(req, status, ctype, b->p, b->len);
}

void
prf_reply_pprof_error(struct evhttp_request *req, int status,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg - 1)
		n = (int)sizeof msg - 2;
	msg[n++] = '\n';
	/* Go's pprof handlers mark their own errors with this header */
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Go-Pprof", "1");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Content-Type-Options", "nosniff");
	prf_reply(req, status, "text/plain; charset=utf-8", msg, (size_t)n);
}

void
prf_reply_json_error(struct evhttp_request *req, int status, const char *msg)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"success\": false, \"error\": ");
	buf_json_str(&b, msg);
	buf_adds(&b, "}\n");
	prf_reply_buf(req, status, "application/json", &b);
	buf_free(&b);
}

const char *
prf_arg(struct evhttp_request *req, const char *name, char *out, size_t len)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *q = u != NULL ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq args;
	const char *v;

	if (q == NULL)
		return (NULL);
	memset(&args, 0, sizeof args);	/* evhttp_parse_query_str initialises it */
	if (evhttp_parse_query_str(q, &args) != 0) {
		evhttp_clear_headers(&args);
		return (NULL);
	}
	v = evhttp_find_header(&args, name);
	if (v != NULL)
		snprintf(out, len, "%s", v);
	evhttp_clear_headers(&args);
	return (v != NULL ? out : NULL);
}

void
prf_add_maps(struct buf *b)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(b, chunk, (size_t)n);
	close(fd);
}

/* ---- requests in our hands ------------------------------------------------ */

static struct prf	*prf_http_prf;
static int		prf_held;	/* deferred requests not yet answered */

void
prf_inflight_sync(int extra)
{
	struct prf *prf = prf_http_prf;

	if (prf != NULL && prf->ctx != NULL && prf->ctx->proc != NULL)
		shm_proc_set_inflight(prf->ctx->proc, prf_held +
		    prf->nstreams + extra);
}

static void
prf_defer_release(struct prf_defer *d)
{
	if (d->held) {
		d->held = 0;
		prf_held--;
		prf_inflight_sync(0);
	}
}

/* ---- deferred answers ---------------------------------------------------- */

static void
prf_defer_closed(struct evhttp_connection *evcon, void *arg)
{
	struct prf_defer *d = arg;

	(void)evcon;
	/*
	 * The client left.  libevent 2.1 detaches a request whose handler is
	 * not done from its dying connection (req->evcon = NULL) and leaves
	 * it to us; when the whole server is freed the request goes with the
	 * connection.  Either way we must not answer it any more.
	 */
	if (d->req != NULL && evhttp_request_get_connection(d->req) == NULL)
		evhttp_request_free(d->req);
	d->req = NULL;
	d->evcon = NULL;
	prf_defer_release(d);
	if (d->gone != NULL)
		d->gone(d->gone_arg);
}

void
prf_defer_init(struct prf_defer *d, struct evhttp_request *req)
{
	d->gone = NULL;
	d->gone_arg = NULL;
	d->req = req;
	d->held = 1;
	prf_held++;
	d->evcon = evhttp_request_get_connection(req);
	if (d->evcon != NULL)
		evhttp_connection_set_closecb(d->evcon, prf_defer_closed, d);
}

int
prf_defer_client_gone(const struct prf_defer *d)
{
	struct bufferevent *bev;
	struct pollfd pfd;

	if (d->req == NULL || d->evcon == NULL)
		return (1);
	if ((bev = evhttp_connection_get_bufferevent(d->evcon)) == NULL ||
	    (pfd.fd = bufferevent_getfd(bev)) < 0)
		return (0);
	/* a pipelined request is POLLIN without POLLRDHUP: still there */
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return (0);
	return ((pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
}

struct evhttp_request *
prf_defer_take(struct prf_defer *d)
{
	struct evhttp_request *req = d->req;

	if (d->evcon != NULL)
		evhttp_connection_set_closecb(d->evcon, NULL, NULL);
	d->req = NULL;
	d->evcon = NULL;
	prf_defer_release(d);
	return (req);
}

/* ---- access -------------------------------------------------------------- */

/* Compare without an early exit: the time taken does not leak the token. */
static int
prf_token_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), i;
	unsigned char d = (unsigned char)(alen != blen);

	for (i = 0; i < alen && i < blen; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return (d == 0);
}

static int
prf_b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/* Decode base64 into out (NUL-terminated); length or -1. */
static int
prf_b64_decode(const char *in, char *out, size_t len)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, v;

	for (; *in != '\0' && *in != '='; in++) {
		if ((v = prf_b64_val((unsigned char)*in)) < 0)
			return (-1);
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= len)
				return (-1);
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	return ((int)n);
}

/*
 * With -api-token set, the debug port wants it too (there is no separate
 * profile token): "Authorization: Bearer T", or HTTP Basic with T as the
 * password, which is what go tool pprof and browsers send for
 * http://any:T@host:6060/debug/pprof/heap (pprof cannot add headers).
 */
static int
prf_authorized(struct prf *prf, struct evhttp_request *req)
{
	const char *tok = prf->cfg->api_token, *h, *colon;
	char dec[512];
	int n;

	if (tok == NULL || *tok == '\0')
		return (1);
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL)
		return (0);
	if (strncasecmp(h, "Bearer ", 7) == 0)
		return (prf_token_eq(h + 7, strlen(h + 7), tok));
	if (strncasecmp(h, "Basic ", 6) == 0) {
		n = prf_b64_decode(h + 6, dec, sizeof dec);
		if (n < 0 || (colon = strchr(dec, ':')) == NULL)
			return (0);
		return (prf_token_eq(colon + 1, strlen(colon + 1), tok));
	}
	return (0);
}

/* ---- dispatch ------------------------------------------------------------ */

static void prf_http_dispatch(struct prf *prf, struct evhttp_request *req,
    const char *path, enum evhttp_cmd_type m);

static void
prf_http_cb(struct evhttp_request *req, void *arg)
{
	struct prf *prf = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	if (path == NULL || *path == '\0')
		path = "/";
	/* this request is a task while its handler runs, longer if deferred */
	prf_inflight_sync(1);
	prf_http_dispatch(prf, req, path, m);
	prf_inflight_sync(0);
}

static void
prf_http_dispatch(struct prf *prf, struct evhttp_request *req,
    const char *path, enum evhttp_cmd_type m)
{
	size_t i;

	if (!prf_authorized(prf, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"impcore debug\"");
		prf_reply_pprof_error(req, 401, "unauthorized: the debug port "
		    "needs the API token (Authorization: Bearer, or as the "
		    "password of http://user:TOKEN@host/)");
		return;
	}
	for (i = 0; i < sizeof prf_routes / sizeof prf_routes[0]; i++) {
		const struct prf_route *r = &prf_routes[i];

		if (strcmp(path, r->path) != 0)
			continue;
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD &&
		    !(r->post && m == EVHTTP_REQ_POST)) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Allow", r->post ? "GET, HEAD, POST" : "GET, HEAD");
			prf_reply_pprof_error(req, 405, "method not allowed");
			return;
		}
		r->fn(prf, req);
		return;
	}
	if (strncmp(path, "/debug/pprof/", 13) == 0) {
		prf_reply_pprof_error(req, 404, "Unknown profile");
		return;
	}
	prf_reply_pprof_error(req, 404, "404 page not found");
}

void
prf_http_setup(struct prf *prf)
{
	evhttp_set_allowed_methods(prf->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE);
	/* a CPU profile keeps its request PROF_CPU_MAX_SECONDS + a few */
	evhttp_set_timeout(prf->http, 120);
	evhttp_set_max_body_size(prf->http, 1 << 20);
	evhttp_set_max_headers_size(prf->http, 64 << 10);
	evhttp_set_gencb(prf->http, prf_http_cb, prf);
	prf_http_prf = prf;
}
