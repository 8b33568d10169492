/*
 * impcore - the HTTP server's answers: the head written without printf,
 * a whole answer (written at once when the socket takes it) and a
 * streamed one rendered as the client reads it.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/check.h"
#include "lib/mem.h"
#include "net/hsrv_priv.h"

const char *
hsrv_status_text(int st)
{
	switch (st) {
	case 100: return ("Continue");
	case 200: return ("OK");
	case 201: return ("Created");
	case 202: return ("Accepted");
	case 204: return ("No Content");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 411: return ("Length Required");
	case 413: return ("Payload Too Large");
	case 415: return ("Unsupported Media Type");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	default:  return ("Unknown");
	}
}

void
hreq_add_header(struct hreq *r, const char *name, const char *value)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	buf_printf(&r->extra, "%s: %s\r\n", name, value);
	if (strcasecmp(name, "Content-Type") == 0)
		r->has_ctype = 1;
}

enum framing { FR_LENGTH, FR_CHUNKED, FR_CLOSE };

/*
 * The answer's head (status line, Content-Type unless a header set one,
 * Content-Length, Connection, the extra header lines, the blank line) and
 * its body (NULL: none, as for HEAD), written without printf: every answer
 * passes here, and three evbuffer_add_printf() calls were a tenth of a
 * GET /health.  A small answer goes out as one block (one evbuffer chain).
 * fr: Content-Length, chunked, or (streamed to HTTP/1.0) none.
 */
static void
reply_head(struct evbuffer *out, const struct hreq *r, int status, int keep,
    enum framing fr, const char *lines, size_t llen, const char *body,
    size_t len)
{
	char head[2048], *p = head;
	const char *txt = hsrv_status_text(status);
	size_t tl = strnlen(txt, 64), blen = body != NULL ? len : 0;

	p = BUF_LIT_AT(p, "HTTP/1.");
	p = buf_int_at(p, r->h.minor);
	*p++ = ' ';
	p = buf_int_at(p, status);
	*p++ = ' ';
	memcpy(p, txt, tl);
	p += tl;
	p = BUF_LIT_AT(p, "\r\n");
	if (!r->has_ctype)
		p = BUF_LIT_AT(p, "Content-Type: application/json\r\n");
	if (fr == FR_LENGTH) {
		p = BUF_LIT_AT(p, "Content-Length: ");
		p = buf_int_at(p, (long long)len);
		p = BUF_LIT_AT(p, "\r\n");
	} else if (fr == FR_CHUNKED)
		p = BUF_LIT_AT(p, "Transfer-Encoding: chunked\r\n");
	if (keep)
		p = BUF_LIT_AT(p, "Connection: keep-alive\r\n");
	else
		p = BUF_LIT_AT(p, "Connection: close\r\n");
	/* at most 200 bytes so far */
	if (r->extra.len + llen + 2 + blen <= sizeof head - (size_t)(p - head)) {
		if (r->extra.len > 0) {
			memcpy(p, r->extra.p, r->extra.len);
			p += r->extra.len;
		}
		if (llen > 0) {
			memcpy(p, lines, llen);
			p += llen;
		}
		p = BUF_LIT_AT(p, "\r\n");
		if (blen > 0) {
			memcpy(p, body, blen);
			p += blen;
		}
		evbuffer_add(out, head, (size_t)(p - head));
		return;
	}
	evbuffer_add(out, head, (size_t)(p - head));
	if (r->extra.len > 0)
		evbuffer_add(out, r->extra.p, r->extra.len);
	if (llen > 0)
		evbuffer_add(out, lines, llen);
	evbuffer_add(out, "\r\n", 2);
	if (blen > 0)
		evbuffer_add(out, body, blen);
}

/*
 * The connection r is answered on, detached from r (one answer pending the
 * fewer); NULL when there is none to answer on: the server went away under
 * an async handler, or the connection died meanwhile (freed here).  r is
 * freed then too.
 */
static struct hconn *
req_detach(struct hreq *r)
{
	struct hconn *c = r->c;

	if (c == NULL) {
		hreq_free(r);
		return (NULL);
	}
	c->s->npending--;
	c->req = NULL;
	if (c->dead) {
		hreq_free(r);
		hconn_free(c);
		return (NULL);
	}
	return (c);
}

void
hreq_reply(struct hreq *r, int status, const char *body, size_t len)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	hreq_reply_lines(r, status, NULL, 0, body, len);
}

void
hreq_reply_lines(struct hreq *r, int status, const char *lines, size_t llen,
    const char *body, size_t len)
{
	struct hconn *c;
	struct hsrv *s;
	struct evbuffer *out;
	int keep;

	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	if ((c = req_detach(r)) == NULL)
		return;
	s = c->s;
	keep = r->keepalive && !c->close_after && !s->draining;
	if (!keep)
		c->close_after = 1;
	out = bufferevent_get_output(c->bev);
	reply_head(out, r, status, keep, FR_LENGTH, lines, llen,
	    r->is_head ? NULL : body, len);
	c->st = C_WRITING;
	c->nreq++;
	hreq_free(r);
	/*
	 * An answer the socket takes whole (nearly all: a refusal, /health)
	 * is written now, and hconn_write runs deferred, in this loop turn:
	 * waiting for EPOLLOUT cost a loop turn and two epoll_ctl a request.
	 * EV_WRITE stays off until something is queued again (hreq_reply,
	 * hreq_reply_stream and 100 Continue enable it).
	 */
	if (evbuffer_get_length(out) <= HSRV_WRITE_NOW &&
	    evbuffer_write(out, bufferevent_getfd(c->bev)) >= 0 &&
	    evbuffer_get_length(out) == 0) {
		bufferevent_disable(c->bev, EV_WRITE);
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	/* hconn_write runs when the output has drained */
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Append n bytes of a streamed answer's body, framed. */
static void
stream_add(struct hconn *c, const char *p, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char sz[24];
	int k;

	if (n == 0)
		return;
	if (!c->schunked) {
		evbuffer_add(out, p, n);
		return;
	}
	k = snprintf(sz, sizeof sz, "%zx\r\n", n);
	evbuffer_add(out, sz, (size_t)k);
	evbuffer_add(out, p, n);
	evbuffer_add(out, "\r\n", 2);
}

/* The streamed answer is complete (or abandoned): fini, once. */
static void
stream_end(struct hconn *c)
{
	hsrv_fini_fn *fini = c->sfini;
	void *arg = c->sarg;

	c->sfill = NULL;
	c->sfini = NULL;
	c->sarg = NULL;
	buf_free(&c->sbuf);
	/* back to "drained" meaning empty: hconn_write ends the answer */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (fini != NULL)
		fini(arg);
}

/*
 * Render the next parts of a streamed answer while its output is below
 * HSRV_STREAM_HIGH.  Called at the start and from hconn_write, which the
 * bufferevent runs when the output drained to HSRV_STREAM_LOW.
 */
void
hstream_pump(struct hconn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int more;

	while (c->sfill != NULL && evbuffer_get_length(out) < HSRV_STREAM_HIGH) {
		buf_reset(&c->sbuf);
		more = c->sfill(&c->sbuf, c->sarg);
		stream_add(c, c->sbuf.p, c->sbuf.len);
		if (more == HSRV_FILL_WAIT)
			break;		/* hsrv_stream_wake asks again */
		if (!more) {
			if (c->schunked)
				evbuffer_add(out, "0\r\n\r\n", 5);
			stream_end(c);
		}
	}
}

void
hreq_reply_stream(struct hreq *r, int status, const char *lines, size_t llen,
    const char *first, size_t flen, hsrv_fill_fn *fill, hsrv_fini_fn *fini,
    void *arg)
{
	struct hconn *c;
	struct hsrv *s;
	int keep;

	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	if ((c = req_detach(r)) == NULL) {
		fini(arg);
		return;
	}
	s = c->s;
	/* without chunked (HTTP/1.0), the end of the body is the close */
	c->schunked = r->h.minor >= 1;
	keep = r->keepalive && !c->close_after && !s->draining && c->schunked;
	if (!keep)
		c->close_after = 1;
	reply_head(bufferevent_get_output(c->bev), r, status, keep,
	    c->schunked ? FR_CHUNKED : FR_CLOSE, lines, llen, NULL, 0);
	c->st = C_WRITING;
	c->nreq++;
	if (r->is_head) {
		hreq_free(r);
		fini(arg);
	} else {
		hreq_free(r);
		stream_add(c, first, flen);
		c->sfill = fill;
		c->sfini = fini;
		c->sarg = arg;
		buf_init(&c->sbuf);
		bufferevent_setwatermark(c->bev, EV_WRITE, HSRV_STREAM_LOW, 0);
		hstream_pump(c);
	}
	bufferevent_enable(c->bev, EV_WRITE);
}
