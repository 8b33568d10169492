/*
 * impcore - the profiler's HTTP side: routes, access check, answers.
 *
 * Our own HTTP server (net/hsrv.h) on the -profile-port socket, as the
 * workers': the same body budget, JSON refusals (400, 408, 413, 431),
 * slow-client timeouts, keep-alive rules and accept() pauses.  Paths and
 * answers follow Go's net/http/pprof, so `go tool pprof
 * http://host:6060/debug/pprof/...` and scripts written for the Go server
 * work unchanged.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "lib/buf.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "profiler/prf.h"
#include "state/shm.h"

typedef void prf_route_fn(struct prf *prf, struct hreq *req);

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

void
prf_reply(struct hreq *req, int status, const char *ctype,
    const void *body, size_t len)
{
	if (ctype != NULL)
		hreq_add_header(req, "Content-Type", ctype);
	hreq_add_header(req, "Cache-Control", "no-store");
	hreq_reply(req, status, body, len);
}

void
prf_reply_buf(struct hreq *req, int status, const char *ctype,
    struct buf *b)
{
	prf_reply(req, status, ctype, b->p, b->len);
}

void
prf_reply_pprof_error(struct hreq *req, int status,
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
	hreq_add_header(req, "X-Go-Pprof", "1");
	hreq_add_header(req, "X-Content-Type-Options", "nosniff");
	prf_reply(req, status, "text/plain; charset=utf-8", msg, (size_t)n);
}

void
prf_reply_json_error(struct hreq *req, int status, const char *msg)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"success\": false, \"error\": ");
	buf_json_str(&b, msg);
	buf_adds(&b, "}\n");
	prf_reply_buf(req, status, "application/json", &b);
	buf_free(&b);
}

static int
prf_hexval(int c)
{
	return (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
}

/*
 * hreq_arg's value, %XX decoded ('+' stays, as evhttp's query parser left
 * it): "seconds=%33" is 3, as it was before the profiler moved to hsrv.
 */
const char *
prf_arg(struct hreq *req, const char *name, char *out, size_t len)
{
	char *p, *q;

	if (hreq_arg(req, name, out, len) == NULL)
		return (NULL);
	for (p = q = out; *p != '\0'; p++) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			*q++ = (char)(prf_hexval((unsigned char)p[1]) << 4 |
			    prf_hexval((unsigned char)p[2]));
			p += 2;
		} else
			*q++ = *p;
	}
	*q = '\0';
	return (out);
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

void
prf_defer_init(struct prf_defer *d, struct hreq *req)
{
	d->req = req;
	d->held = 1;
	prf_held++;
}

int
prf_defer_client_gone(const struct prf_defer *d)
{
	return (d->req == NULL || hreq_client_gone(d->req));
}

struct hreq *
prf_defer_take(struct prf_defer *d)
{
	struct hreq *req = d->req;

	d->req = NULL;
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
prf_authorized(struct prf *prf, struct hreq *req)
{
	const char *tok = prf->cfg->api_token, *h, *colon;
	char dec[512];
	int n;

	if (tok == NULL || *tok == '\0')
		return (1);
	h = hreq_header(req, "Authorization");
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

static void prf_http_dispatch(struct prf *prf, struct hreq *req,
    const char *path, const char *m);

static void
prf_http_cb(struct hreq *req, void *arg)
{
	struct prf *prf = arg;
	const char *path = hreq_path(req);

	if (path == NULL || *path == '\0')
		path = "/";
	/* this request is a task while its handler runs, longer if deferred */
	prf_inflight_sync(1);
	prf_http_dispatch(prf, req, path, hreq_method(req));
	prf_inflight_sync(0);
}

/* Refusals hsrv makes itself (400, 408, 413, 431, 503): JSON, as ours. */
static void
prf_http_error(struct hreq *req, int status, const char *msg, void *arg)
{
	(void)arg;
	prf_reply_json_error(req, status, msg);
}

static void
prf_http_dispatch(struct prf *prf, struct hreq *req, const char *path,
    const char *m)
{
	size_t i;

	if (!prf_authorized(prf, req)) {
		hreq_add_header(req, "WWW-Authenticate",
		    "Bearer realm=\"impcore debug\"");
		prf_reply_pprof_error(req, 401, "unauthorized: the debug port "
		    "needs the API token (Authorization: Bearer, or as the "
		    "password of http://user:TOKEN@host/)");
		return;
	}
	for (i = 0; i < sizeof prf_routes / sizeof prf_routes[0]; i++) {
		const struct prf_route *r = &prf_routes[i];

		if (strcmp(path, r->path) != 0)
			continue;
		if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
		    !(r->post && strcmp(m, "POST") == 0)) {
			/* any other method, known or not (evhttp said 501) */
			hreq_add_header(req, "Allow",
			    r->post ? "GET, HEAD, POST" : "GET, HEAD");
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

int
prf_http_setup(struct prf *prf, int listen_fd)
{
	struct hsrv_opts ho;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	memset(&ho, 0, sizeof ho);
	ho.max_head = 64 << 10;
	/* symbol lookups are the only bodies: small */
	ho.max_body = 1 << 20;
	/*
	 * The workers' slow-client limits.  A CPU profile keeps its request
	 * up to PROF_CPU_MAX_SECONDS, but no timeout runs then: hsrv reads
	 * nothing while a handler holds the request, and the write timeout
	 * counts only while an answer waits for the client.
	 */
	ho.idle_timeout_s = (int)(prf->cfg->idle_timeout / TIM_SEC);
	ho.body_timeout_ms = (unsigned)(prf->cfg->body_timeout / TIM_MS);
	ho.write_timeout_s = 60;
	/* operators (and t-srv-fdlimit) tell the two listeners apart by it */
	ho.accept_what = "accept() on the debug port";
	prf->http = hsrv_new(prf->base, listen_fd, &ho, prf_http_cb,
	    prf_http_error, prf);
	if (prf->http == NULL)
		return (-1);
	prf_http_prf = prf;
	return (0);
}
