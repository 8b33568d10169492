/*
 * impcore - a small HTTP/1.1 server on libevent bufferevents (see hsrv.h).
 *
 * One connection is a small state machine: HEAD (collect the request line
 * and headers), HELD (admission said wait: reading off, see hsrv_admit_fn),
 * BODY or CHUNK* (collect the body), HANDLER (reading off,
 * waiting for hreq_reply), WRITING (answer queued, or being rendered as
 * the output drains: hreq_reply_stream; when the output drained the
 * connection goes back to HEAD, or closes).  A body must be whole within
 * body_timeout_ms of its admission (body_timer_*).  A connection is freed
 * only from the write, event or body timer callbacks, never under the
 * handler.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/buf.h"
#include "net/hsrv.h"
#include "lib/log.h"
#include "net/lpause.h"
#include "lib/mem.h"
#include "lib/tim.h"

#define HSRV_MAX_HEADERS	100
#define HSRV_MAX_WRITE		(1024 * 1024)	/* bytes per writev; the kernel takes less */
#define HSRV_MAX_DISCARD	(1024 * 1024)	/* refused bodies skipped to keep the connection */
#define HSRV_WRITE_NOW		(64 * 1024)	/* answers up to this are written at once */
#define HSRV_RECV_CHUNK		(256 * 1024)	/* bytes per recv of a body (conn_recv) */
/* a streamed answer is rendered while its output is under HIGH, and
 * rendering resumes when the output drained to LOW */
#define HSRV_STREAM_HIGH	(256 * 1024)
#define HSRV_STREAM_LOW		(64 * 1024)
#define HREQ_MAGIC		0x48524551u
#define HCONN_MAGIC		0x48434f4eu

enum cstate {
	C_HEAD, C_BODY, C_CHUNK_SIZE, C_CHUNK_DATA, C_CHUNK_CRLF,
	C_CHUNK_TRAILER, C_HANDLER, C_WRITING, C_LINGER, C_HELD, C_DISCARD
};

struct hdr {
	const char	*name, *value;
};

struct hconn;

struct hreq {
	unsigned	magic;
	struct hconn	*c;
	char		*head;		/* the head block, split in place */
	const char	*method, *path, *query;
	int		minor;		/* HTTP/1.x */
	struct hdr	hdrs[HSRV_MAX_HEADERS];
	int		nhdrs;
	char		*body;
	size_t		body_len;
	struct buf	extra;		/* response headers */
	int		has_ctype;	/* extra sets Content-Type */
	uint64_t	t0, t0real;
	void		*data;
	int		keepalive;
	int		is_head;
};

struct hconn {
	unsigned		magic;
	TAILQ_ENTRY(hconn)	link;
	TAILQ_ENTRY(hconn)	hlink;		/* s->held, when held */
	int			held;
	int			low;		/* at the base's lowest priority (conn_demote) */
	enum cstate		body_st;	/* where the body starts, after admission */
	int			expect100;	/* send 100 Continue once admitted */
	size_t			discard;	/* refused body to skip after the answer */
	struct hsrv		*s;
	struct bufferevent	*bev;
	char			peer[INET6_ADDRSTRLEN];
	int			loopback;
	enum cstate		st;
	struct hreq		*req;
	size_t			toread;
	struct evbuffer		*body;
	int			close_after;
	int			dead;		/* peer gone while the handler runs */
	unsigned		nreq;		/* requests answered */
	int			linger;		/* error answer: drain before closing */
	size_t			lingered;
	size_t			body_bytes;	/* counted in s->body_bytes */
	uint64_t		head_t0;	/* tim_mono() at the head's first byte */
	struct event		*body_ev;	/* the body's deadline (body_timer_*) */
	/* a streamed answer being written (hreq_reply_stream) */
	hsrv_fill_fn		*sfill;		/* NULL: none */
	hsrv_fini_fn		*sfini;
	void			*sarg;
	int			schunked;
	struct buf		sbuf;
};

struct hsrv {
	struct event_base	*base;
	struct evconnlistener	*lev;
	struct hsrv_opts	o;
	hsrv_handler_fn		*fn;
	hsrv_error_fn		*efn;
	void			*arg;
	TAILQ_HEAD(, hconn)	conns;
	TAILQ_HEAD(, hconn)	held;		/* oldest first */
	int			nconns;
	int			nheld;
	int			npending;
	int			draining;
	struct lpause		pause;		/* accept() out of descriptors */
	size_t			body_bytes;	/* bodies being received */
	size_t			max_bodies;	/* 4 x max_body: then 503 */
};

static void conn_read(struct bufferevent *bev, void *arg);
static void conn_write(struct bufferevent *bev, void *arg);
static void conn_event(struct bufferevent *bev, short what, void *arg);
static void conn_error(struct hconn *c, int status, const char *msg);
static void conn_free(struct hconn *c);

/*==================================================================
 * Connections
 */

static void
req_free(struct hreq *r)
{
	if (r == NULL)
		return;
	imp_free(r->head);
	imp_free(r->body);
	buf_free(&r->extra);
	r->magic = 0;
	imp_free(r);
}

/* c's body is no longer being received (dispatched, refused, closed). */
static void
body_release(struct hconn *c)
{
	c->s->body_bytes -= c->body_bytes;
	c->body_bytes = 0;
}

static void
unhold(struct hconn *c)
{
	if (!c->held)
		return;
	TAILQ_REMOVE(&c->s->held, c, hlink);
	c->s->nheld--;
	c->held = 0;
}

/*
 * A body has a deadline: -body-timeout from its admission (the end of the
 * head, or the end of a hold), for the whole of it.  The read timeout
 * restarts with every byte, so a body dribbled a byte every 2 s kept its
 * connection for ever, and four such took the 4 x max_body budget: every
 * other POST was 503 (issue 13).  A timer, not a check on each read: a
 * client that sends nothing at all must be caught too.
 */
static void
body_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *c = arg;

	(void)fd;
	(void)what;
	switch (c->st) {
	case C_BODY:
	case C_CHUNK_SIZE:
	case C_CHUNK_DATA:
	case C_CHUNK_CRLF:
	case C_CHUNK_TRAILER:
		conn_error(c, 408, "request body not complete within "
		    "the body timeout");
		break;
	case C_DISCARD:
		/* a refused body, already answered: nothing to say */
		conn_free(c);
		break;
	default:
		break;
	}
}

static void
body_timer_start(struct hconn *c)
{
	struct timeval tv;
	unsigned ms = c->s->o.body_timeout_ms;

	if (c->body_ev == NULL)
		c->body_ev = evtimer_new(c->s->base, body_timeout_cb, c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->body_ev, &tv);
}

static void
body_timer_stop(struct hconn *c)
{
	if (c->body_ev != NULL)
		evtimer_del(c->body_ev);
}

static void
conn_free(struct hconn *c)
{
	struct hsrv *s = c->s;

	body_release(c);
	if (c->body_ev != NULL)
		event_free(c->body_ev);
	if (c->sfini != NULL) {
		/* the client left in the middle of a streamed answer */
		hsrv_fini_fn *fini = c->sfini;
		c->sfill = NULL;
		c->sfini = NULL;
		fini(c->sarg);
	}
	buf_free(&c->sbuf);
	unhold(c);
	TAILQ_REMOVE(&s->conns, c, link);
	s->nconns--;
	/* a descriptor is free again: accept() may succeed */
	lpause_resume(&s->pause);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->body != NULL)
		evbuffer_free(c->body);
	if (c->req != NULL) {
		/* only when no handler holds it */
		req_free(c->req);
	}
	c->magic = 0;
	imp_free(c);
}

static struct hreq *
req_new(struct hconn *c)
{
	struct hreq *r = imp_calloc(1, sizeof *r);

	r->magic = HREQ_MAGIC;
	r->c = c;
	r->method = "";
	r->path = "";
	r->minor = 1;
	r->t0 = tim_mono();
	r->t0real = tim_real();
	buf_init(&r->extra);
	return (r);
}

static void
listener_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct hsrv *s = arg;
	struct hconn *c;
	struct timeval rtv, wtv;
	int one = 1;

	(void)lev;
	(void)salen;
	c = imp_calloc(1, sizeof *c);
	c->magic = HCONN_MAGIC;
	c->s = s;
	c->st = C_HEAD;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, c->peer, sizeof c->peer);
		c->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, c->peer, sizeof c->peer);
		c->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	} else {
		snprintf(c->peer, sizeof c->peer, "local");
		c->loopback = 1;
	}
	/*
	 * Each answer is written whole, so Nagle only delays it: without
	 * TCP_NODELAY the tail of an answer split over several segments on a
	 * kept-alive connection waits for the client's delayed ACK (~40 ms).
	 */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		imp_free(c);
		return;
	}
	/* one writev for the whole answer, not 16 KB (libevent's default) */
	bufferevent_set_max_single_write(c->bev, HSRV_MAX_WRITE);
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nconns++;
	rtv.tv_sec = s->o.idle_timeout_s;
	rtv.tv_usec = 0;
	wtv.tv_sec = s->o.write_timeout_s;
	wtv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &rtv, &wtv);

	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
listener_error(struct evconnlistener *lev, void *arg)
{
	struct hsrv *s = arg;

	(void)lev;
	/* out of descriptors: pause, do not spin (lpause.h) */
	lpause_error(&s->pause, EVUTIL_SOCKET_ERROR(), s->nconns);
}

struct hsrv *
hsrv_new(struct event_base *base, int listen_fd, const struct hsrv_opts *o,
    hsrv_handler_fn *fn, hsrv_error_fn *efn, void *arg)
{
	struct hsrv *s = imp_calloc(1, sizeof *s);

	s->base = base;
	s->o = *o;
	if (s->o.max_head == 0)
		s->o.max_head = 16384;
	/* many clients uploading large bodies together must not run the
	 * process out of memory (body_add) */
	s->max_bodies = s->o.max_body > SIZE_MAX / 4 ? SIZE_MAX :
	    4 * s->o.max_body;
	if (s->o.idle_timeout_s <= 0)
		s->o.idle_timeout_s = 60;
	if (s->o.write_timeout_s <= 0)
		s->o.write_timeout_s = 60;
	if (s->o.body_timeout_ms == 0)
		s->o.body_timeout_ms = 30000;
	s->fn = fn;
	s->efn = efn;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->held);
	/* no LEV_OPT_REUSEABLE games: the master bound it, we only accept */
	s->lev = evconnlistener_new(base, listener_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd);
	if (s->lev == NULL) {
		imp_free(s);
		return (NULL);
	}
	evconnlistener_set_error_cb(s->lev, listener_error);
	if (lpause_init(&s->pause, base, s->lev, o->accept_what != NULL ?
	    o->accept_what : "accept()") < 0) {
		evconnlistener_free(s->lev);
		imp_free(s);
		return (NULL);
	}
	return (s);
}

void
hsrv_stop_accept(struct hsrv *s)
{
	if (s->lev != NULL) {
		lpause_fini(&s->pause);
		evconnlistener_free(s->lev);
		s->lev = NULL;
	}
}

void
hsrv_drain(struct hsrv *s)
{
	struct hconn *c, *next;

	struct timeval tv = { 5, 0 };

	hsrv_stop_accept(s);
	s->draining = 1;
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->st != C_HEAD ||
		    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			continue;
		if (c->nreq > 0) {
			/* idle keep-alive: close (a client retries on a reused connection) */
			conn_free(c);
			continue;
		}
		/*
		 * Accepted, request not read yet: closing would reset a client
		 * that did nothing wrong (seen during reloads).  Serve its
		 * request (answered with Connection: close), but do not wait
		 * long for a silent one.
		 */
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
}

int
hsrv_connections(const struct hsrv *s)
{
	return (s->nconns);
}

int
hsrv_pending(const struct hsrv *s)
{
	return (s->npending);
}

int
hsrv_held(const struct hsrv *s)
{
	return (s->nheld);
}

void
hsrv_free(struct hsrv *s)
{
	struct hconn *c;

	hsrv_stop_accept(s);
	while ((c = TAILQ_FIRST(&s->conns)) != NULL) {
		if (c->st == C_HANDLER) {
			/* a handler still owns the request: detach it */
			c->req->c = NULL;
			c->req = NULL;
		}
		conn_free(c);
	}
	imp_free(s);
}

/*==================================================================
 * Parsing
 */

static int
is_tchar(int ch)
{
	return (isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL));
}

/* Split the head block in place.  0 ok, else an HTTP status with *msg. */
static int
parse_head(struct hreq *r, const char **msg)
{
	char *p = r->head, *eol, *sp, *target, *colon, *v;

	while (*p == '\r' || *p == '\n')
		p++;
	eol = strchr(p, '\n');
	if (eol == NULL) {
		*msg = "bad request line";
		return (400);
	}
	if (eol > p && eol[-1] == '\r')
		eol[-1] = '\0';
	*eol = '\0';
	/* METHOD SP target SP HTTP/1.x */
	sp = strchr(p, ' ');
	if (sp == NULL || sp == p) {
		*msg = "bad request line";
		return (400);
	}
	*sp = '\0';
	for (v = p; *v != '\0'; v++)
		if (!is_tchar((unsigned char)*v)) {
			*msg = "bad method";
			return (400);
		}
	r->method = p;
	target = sp + 1;
	sp = strchr(target, ' ');
	if (sp == NULL) {
		*msg = "bad request line";
		return (400);
	}
	*sp = '\0';
	if (strncmp(sp + 1, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)sp[8]) ||
	    sp[9] != '\0') {
		*msg = "unsupported HTTP version";
		return (400);
	}
	/* HTTP/1.2 and up are 1.1 to us (RFC 9112 2.3): we answer as 1.1,
	 * never with a version we do not speak */
	r->minor = sp[8] == '0' ? 0 : 1;
	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
		/* absolute form: keep the path */
		static char root[] = "/";	/* read only: it has no '?' */
		char *slash = strchr(strstr(target, "//") + 2, '/');

		target = slash != NULL ? slash : root;
	}
	if (*target != '/' && strcmp(target, "*") != 0) {
		*msg = "bad request target";
		return (400);
	}
	/* no control bytes: the path goes into logs and answers */
	for (v = target; *v != '\0'; v++)
		if ((unsigned char)*v < 0x21 || (unsigned char)*v == 0x7f) {
			*msg = "bad request target";
			return (400);
		}
	v = strchr(target, '?');
	if (v != NULL) {
		*v = '\0';
		r->query = v + 1;
	}
	r->path = target;

	p = eol + 1;
	while (*p != '\0' && *p != '\r' && *p != '\n') {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		else {
			if (eol > p && eol[-1] == '\r')
				eol[-1] = '\0';
			*eol++ = '\0';
		}
		if (*p == ' ' || *p == '\t') {
			*msg = "obsolete header folding";
			return (400);
		}
		colon = strchr(p, ':');
		if (colon == NULL || colon == p) {
			*msg = "bad header line";
			return (400);
		}
		*colon = '\0';
		for (v = p; *v != '\0'; v++)
			if (!is_tchar((unsigned char)*v)) {
				*msg = "bad header name";
				return (400);
			}
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		{
			char *e = v + strlen(v);
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
		}
		if (r->nhdrs == HSRV_MAX_HEADERS) {
			*msg = "too many headers";
			return (431);
		}
		r->hdrs[r->nhdrs].name = p;
		r->hdrs[r->nhdrs].value = v;
		r->nhdrs++;
		p = eol;
	}
	return (0);
}

/*==================================================================
 * Answers
 */

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
	p = buf_int_at(p, r->minor);
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
		req_free(r);
		return (NULL);
	}
	c->s->npending--;
	c->req = NULL;
	if (c->dead) {
		req_free(r);
		conn_free(c);
		return (NULL);
	}
	return (c);
}

void
hreq_reply(struct hreq *r, int status, const char *body, size_t len)
{
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
	req_free(r);
	/*
	 * An answer the socket takes whole (nearly all: a refusal, /health)
	 * is written now, and conn_write runs deferred, in this loop turn:
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
	/* conn_write runs when the output has drained */
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
	/* back to "drained" meaning empty: conn_write ends the answer */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (fini != NULL)
		fini(arg);
}

/*
 * Render the next parts of a streamed answer while its output is below
 * HSRV_STREAM_HIGH.  Called at the start and from conn_write, which the
 * bufferevent runs when the output drained to HSRV_STREAM_LOW.
 */
static void
stream_pump(struct hconn *c)
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

	if ((c = req_detach(r)) == NULL) {
		fini(arg);
		return;
	}
	s = c->s;
	/* without chunked (HTTP/1.0), the end of the body is the close */
	c->schunked = r->minor >= 1;
	keep = r->keepalive && !c->close_after && !s->draining && c->schunked;
	if (!keep)
		c->close_after = 1;
	reply_head(bufferevent_get_output(c->bev), r, status, keep,
	    c->schunked ? FR_CHUNKED : FR_CLOSE, lines, llen, NULL, 0);
	c->st = C_WRITING;
	c->nreq++;
	if (r->is_head) {
		req_free(r);
		fini(arg);
	} else {
		req_free(r);
		stream_add(c, first, flen);
		c->sfill = fill;
		c->sfini = fini;
		c->sarg = arg;
		buf_init(&c->sbuf);
		bufferevent_setwatermark(c->bev, EV_WRITE, HSRV_STREAM_LOW, 0);
		stream_pump(c);
	}
	bufferevent_enable(c->bev, EV_WRITE);
}

/* An error found by the server: the answer closes the connection. */
static void
conn_error(struct hconn *c, int status, const char *msg)
{
	struct hsrv *s = c->s;
	struct hreq *r = c->req;

	if (r == NULL) {
		r = req_new(c);
		c->req = r;
	}
	body_release(c);
	body_timer_stop(c);
	c->close_after = 1;
	c->linger = 1;
	c->st = C_HANDLER;
	bufferevent_disable(c->bev, EV_READ);
	s->npending++;
	if (s->efn != NULL)
		s->efn(r, status, msg, s->arg);
	else {
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"success\":false,\"error\":");
		buf_json_str(&b, msg);
		buf_addc(&b, '}');
		hreq_reply(r, status, b.p, b.len);
		buf_free(&b);
	}
}

/*
 * n more bytes of c's body arrived.  0, or -1 when they would take the
 * bodies being received past max_bodies: answered 503 (the refused body is
 * not kept; the others go on).  Counted as they arrive, not reserved from
 * the Content-Length: heads alone, without bytes, cannot block uploads.
 */
static int
body_add(struct hconn *c, size_t n)
{
	struct hsrv *s = c->s;

	if (n > s->max_bodies - s->body_bytes) {
		conn_error(c, 503, "busy: other request bodies being received "
		    "fill this worker's memory budget; retry later");
		return (-1);
	}
	s->body_bytes += n;
	c->body_bytes += n;
	return (0);
}

static void
conn_dispatch(struct hconn *c)
{
	struct hsrv *s = c->s;
	struct hreq *r = c->req;

	bufferevent_disable(c->bev, EV_READ);
	body_release(c);
	body_timer_stop(c);
	if (c->body != NULL) {
		size_t n = evbuffer_get_length(c->body);
		r->body = imp_malloc(n + 1);
		evbuffer_remove(c->body, r->body, n);
		r->body[n] = '\0';
		r->body_len = n;
		evbuffer_free(c->body);
		c->body = NULL;
	} else {
		r->body = imp_strdup("");
		r->body_len = 0;
	}
	c->st = C_HANDLER;
	s->npending++;
	s->fn(r, s->arg);
}

/*
 * Priorities (when the base has three or more, as a worker's has): a
 * connection reading a head is at the default priority, one with a body
 * to read and parse at the lowest.  libevent runs one priority a loop turn,
 * highest first, and the worker's base polls again after 1 ms of
 * callbacks: a short GET (/health) waits for one body's parse at most, not
 * for every ready batch's (under 128 connections a loop turn parsed
 * dozens: 30 ms, and /health p99 was 40-90 ms).  conn_demote returns 1
 * when c is low now (its reading then goes on in a deferred callback, at
 * that priority), 0 when the base has no priorities.
 */
static int
conn_demote(struct hconn *c)
{
	int np = event_base_get_npriorities(c->s->base);

	if (np < 3 || c->bev == NULL)
		return (0);
	if (!c->low && bufferevent_priority_set(c->bev, np - 1) == 0)
		c->low = 1;
	return (c->low);
}

static void
conn_promote(struct hconn *c)
{
	if (c->low && c->bev != NULL && bufferevent_priority_set(c->bev,
	    event_base_get_npriorities(c->s->base) / 2) == 0)
		c->low = 0;
}

/* Run conn_read for c later in this loop turn or the next, at its priority. */
static void
conn_read_later(struct hconn *c)
{
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
	    BEV_TRIG_IGNORE_WATERMARKS);
}

/*
 * Ask the admission hook about c's request, whose body has not been read.
 * 0: admitted, the body comes next (c->st is its first state); 1: held,
 * reading off; -1: answered.
 */
static int
admit_ask(struct hconn *c)
{
	struct hsrv *s = c->s;
	int rc, close0 = c->close_after;

	if (s->o.admit != NULL) {
		/*
		 * As a handler would hold it: an answer goes through hreq_reply.
		 * A refused body the client sends anyway (no 100-continue) of a
		 * known, modest length is skipped after the answer, unparsed, and
		 * the connection lives on: a refusal then costs a read, not a
		 * new connection.  Else the answer closes the connection.
		 */
		c->st = C_HANDLER;
		if (c->body_st == C_BODY && !c->expect100 && !s->draining &&
		    c->toread <= HSRV_MAX_DISCARD)
			c->discard = c->toread;
		else {
			c->close_after = 1;
			c->linger = 1;
		}
		s->npending++;
		rc = s->o.admit(c->req, s->arg);
		if (rc == HSRV_ANSWERED) {
			unhold(c);
			/*
			 * Read nothing more until the answer is out: the
			 * bufferevent would copy the refused body into our
			 * input 4 KiB a turn, which C_DISCARD then drops
			 * off the socket uncopied (conn_write enables it).
			 */
			if (c->bev != NULL)
				bufferevent_disable(c->bev, EV_READ);
			return (-1);
		}
		s->npending--;
		c->close_after = close0;
		c->linger = 0;
		c->discard = 0;
		if (rc == HSRV_HOLD) {
			c->st = C_HELD;
			if (!c->held) {
				TAILQ_INSERT_TAIL(&s->held, c, hlink);
				c->held = 1;
				s->nheld++;
			}
			bufferevent_disable(c->bev, EV_READ);
			return (1);
		}
	}
	unhold(c);
	c->st = c->body_st;
	body_timer_start(c);
	if (c->expect100) {
		c->expect100 = 0;
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
		bufferevent_enable(c->bev, EV_WRITE);
	}
	return (0);
}

void
hsrv_admit_again(struct hsrv *s)
{
	struct hconn *c, *next;

	for (c = TAILQ_FIRST(&s->held); c != NULL; c = next) {
		next = TAILQ_NEXT(c, hlink);
		if (admit_ask(c) != 0)
			continue;
		/* the body (some of it may be buffered already), each in a
		 * callback of its own: one turn here admitted dozens */
		bufferevent_enable(c->bev, EV_READ);
		if (conn_demote(c))
			conn_read_later(c);
		else
			conn_read(c->bev, c);
	}
}

/* Head parsed: decide how the body comes.  0 go on, -1 answered. */
static int
conn_head_done(struct hconn *c)
{
	struct hsrv *s = c->s;
	struct hreq *r = c->req;
	const char *te, *cl, *conn, *expect;
	char *end;
	unsigned long long n;
	int i, ncl = 0, nte = 0;

	conn = hreq_header(r, "Connection");
	if (r->minor >= 1)
		r->keepalive = conn == NULL || strcasestr(conn, "close") == NULL;
	else
		r->keepalive = conn != NULL && strcasestr(conn, "keep-alive") != NULL;
	r->is_head = strcmp(r->method, "HEAD") == 0;
	for (i = 0; i < r->nhdrs; i++) {
		if (strcasecmp(r->hdrs[i].name, "Content-Length") == 0)
			ncl++;
		else if (strcasecmp(r->hdrs[i].name, "Transfer-Encoding") == 0)
			nte++;
	}
	te = hreq_header(r, "Transfer-Encoding");
	cl = hreq_header(r, "Content-Length");
	/*
	 * Request smuggling (RFC 9112 6.1, 6.3): where a proxy in front of us
	 * and we disagree on where a body ends, the rest of it is read as a
	 * request of its own, which the proxy never saw.  Only the first of
	 * two Transfer-Encoding headers was read here, and "identity" with a
	 * Content-Length was taken for none.  Take no guess: the one framing
	 * we accept besides Content-Length is a single "chunked", alone; any
	 * other is a 400, and the connection closes after it (conn_error),
	 * so nothing after the head is ever parsed as a request.
	 */
	if (nte > 1) {
		conn_error(c, 400, "more than one Transfer-Encoding header");
		return (-1);
	}
	if (te != NULL && cl != NULL) {
		conn_error(c, 400, "Transfer-Encoding with Content-Length");
		return (-1);
	}
	if (te != NULL) {
		if (strcasecmp(te, "chunked") != 0) {
			conn_error(c, 400, "unsupported Transfer-Encoding "
			    "(only a single \"chunked\" is accepted)");
			return (-1);
		}
		/* RFC 9112 6.1: an HTTP/1.0 message with it is to close */
		if (r->minor == 0)
			r->keepalive = 0;
		c->st = C_CHUNK_SIZE;
		c->body = evbuffer_new();
	} else if (cl != NULL) {
		if (ncl > 1 || !isdigit((unsigned char)*cl)) {
			conn_error(c, 400, "bad Content-Length");
			return (-1);
		}
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (*end != '\0' || errno != 0) {
			conn_error(c, 400, "bad Content-Length");
			return (-1);
		}
		if (n > s->o.max_body) {
			/* answered now: the body is never read */
			conn_error(c, 413, "request body too large");
			return (-1);
		}
		if (n == 0) {
			conn_dispatch(c);
			return (-1);
		}
		c->toread = (size_t)n;
		c->st = C_BODY;
		c->body = evbuffer_new();
	} else {
		conn_dispatch(c);
		return (-1);
	}
	expect = hreq_header(r, "Expect");
	c->expect100 = expect != NULL && r->minor >= 1 &&
	    strcasecmp(expect, "100-continue") == 0;
	c->body_st = c->st;
	return (admit_ask(c) == 0 ? 0 : -1);
}

/*
 * Read up to want bytes of c's socket into dst, in one recv(2) when the
 * socket holds them: libevent 2.1's own reads take 4 KiB at most, each
 * after an ioctl(FIONREAD), so a 40 KB body cost ten reads, ten ioctls and
 * ten loop turns.  Returns the bytes read; 0 at EOF, on errors and when
 * nothing is there (the bufferevent's next read sees EOF and errors: the
 * socket stays readable).
 */
static size_t
conn_recv(struct hconn *c, struct evbuffer *dst, size_t want)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	size_t got = 0, ask;
	ssize_t r;

	/* the bufferevent freezes its input's end outside its own reads */
	if (dst == in)
		evbuffer_unfreeze(in, 0);
	while (want > 0) {
		ask = want < HSRV_RECV_CHUNK ? want : HSRV_RECV_CHUNK;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)ask, &v, 1) != 1)
			break;
		if (v.iov_len > ask)
			v.iov_len = ask;
		r = recv(bufferevent_getfd(c->bev), v.iov_base, v.iov_len,
		    MSG_DONTWAIT);
		if (r <= 0)
			break;		/* nothing reserved is committed */
		v.iov_len = (size_t)r;
		evbuffer_commit_space(dst, &v, 1);
		got += (size_t)r;
		want -= (size_t)r;
		if ((size_t)r < ask)
			break;		/* the socket is empty: spare an EAGAIN */
	}
	if (dst == in)
		evbuffer_freeze(in, 0);
	return (got);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;
	struct hsrv *s = c->s;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr pos;
	const char *msg = NULL;
	char *line;
	size_t len, n;
	ssize_t head_end;
	int st;

	/*
	 * A chunked body is parsed from the input buffer: take what the
	 * socket has now, no further than this chunk can use plus the next
	 * head (a pipelining client must not grow our input by megabytes).
	 * Heads and Content-Length bodies read as they need (conn_recv).
	 */
	if (c->st == C_CHUNK_SIZE || c->st == C_CHUNK_DATA ||
	    c->st == C_CHUNK_CRLF || c->st == C_CHUNK_TRAILER) {
		size_t want = s->o.max_head + 1024, have = evbuffer_get_length(in);

		if (c->st == C_CHUNK_DATA)
			want += c->toread;
		if (want > have)
			(void)conn_recv(c, in, want - have);
	}

	for (;;) {
		switch (c->st) {
		case C_HEAD:
			len = evbuffer_get_length(in);
			if (len == 0)
				return;
			/*
			 * The head ends at the first blank line, CRLF or bare LF
			 * (tolerated): whichever comes first, or a body holding
			 * the other marker would be read as headers.
			 */
			head_end = -1;
			pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
			if (pos.pos >= 0)
				head_end = (ssize_t)pos.pos + 4;
			pos = evbuffer_search(in, "\n\n", 2, NULL);
			if (pos.pos >= 0 && (head_end < 0 || pos.pos + 2 < head_end))
				head_end = (ssize_t)pos.pos + 2;
			/*
			 * Not there yet: wait for more.  (An end offset, not
			 * the search's -1: once "not found" was mistaken for a
			 * bare-LF end near the start, and a head that came in
			 * two TCP segments was answered 400.)
			 */
			if (head_end < 0) {
				/* the bufferevent read 4 KiB at most: more? */
				if (len <= s->o.max_head &&
				    conn_recv(c, in, s->o.max_head + 1024 - len) > 0)
					continue;
				if (len > s->o.max_head) {
					conn_error(c, 431, "request head too large");
					return;
				}
				/*
				 * The read timeout restarts with every byte: a
				 * client sending one a minute would hold the
				 * connection for ever (slowloris).  The whole
				 * head gets the idle timeout from its first byte.
				 */
				if (c->head_t0 == 0)
					c->head_t0 = tim_mono();
				else if (tim_mono() - c->head_t0 >
				    (uint64_t)s->o.idle_timeout_s * 1000000000u) {
					conn_error(c, 408, "request head not "
					    "complete within the idle timeout");
					return;
				}
				return;
			}
			c->head_t0 = 0;
			n = (size_t)head_end;
			if (n > s->o.max_head + 4) {
				conn_error(c, 431, "request head too large");
				return;
			}
			c->req = req_new(c);
			c->req->head = imp_malloc(n + 1);
			evbuffer_remove(in, c->req->head, n);
			c->req->head[n] = '\0';
			/* a NUL would end header parsing early (smuggling) */
			st = memchr(c->req->head, '\0', n) != NULL ? 400 :
			    parse_head(c->req, &msg);
			if (st == 400 && msg == NULL)
				msg = "NUL byte in request head";
			if (st != 0) {
				conn_error(c, st, msg);
				return;
			}
			if (conn_head_done(c) < 0)
				return;
			/* a body to read and parse: at the lowest priority */
			if (!c->low && conn_demote(c)) {
				conn_read_later(c);
				return;
			}
			break;
		case C_BODY:
			/* what came with the head, then straight off the socket */
			n = evbuffer_get_length(in);
			if (n > c->toread)
				n = c->toread;
			if (n > 0) {
				if (body_add(c, n) < 0)
					return;
				evbuffer_remove_buffer(in, c->body, n);
				c->toread -= n;
			}
			if (c->toread > 0) {
				size_t ask = c->toread < HSRV_RECV_CHUNK ?
				    c->toread : HSRV_RECV_CHUNK;

				if ((n = conn_recv(c, c->body, ask)) == 0)
					return;
				if (body_add(c, n) < 0)
					return;
				c->toread -= n;
				if (c->toread > 0 && n < ask)
					return;		/* the socket is empty for now */
			}
			if (c->toread == 0) {
				conn_dispatch(c);
				return;
			}
			break;
		case C_CHUNK_SIZE:
			/*
			 * evbuffer_readln allocates with libevent's allocator,
			 * imp_malloc in every child (hooks_install): so
			 * imp_free, or heap_freed_bytes never sees the line and
			 * a sampled one stays live in the heap profile.
			 */
			line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
			if (line == NULL) {
				if (evbuffer_get_length(in) > 1024)
					conn_error(c, 400, "bad chunk size");
				return;
			}
			{
				char *end;
				unsigned long long sz;
				errno = 0;
				sz = strtoull(line, &end, 16);
				/* strtoull takes blanks, signs and "0x": HTTP does not */
				if (!isxdigit((unsigned char)line[0]) ||
				    (line[0] == '0' && (line[1] == 'x' || line[1] == 'X')) ||
				    end == line || errno != 0 ||
				    (*end != '\0' && *end != ';' && *end != ' ')) {
					imp_free(line);
					conn_error(c, 400, "bad chunk size");
					return;
				}
				imp_free(line);
				if (sz == 0) {
					c->st = C_CHUNK_TRAILER;
					break;
				}
				if (sz > s->o.max_body ||
				    evbuffer_get_length(c->body) + sz > s->o.max_body) {
					conn_error(c, 413, "request body too large");
					return;
				}
				c->toread = (size_t)sz;
				c->st = C_CHUNK_DATA;
			}
			break;
		case C_CHUNK_DATA:
			n = evbuffer_get_length(in);
			if (n == 0)
				return;
			if (n > c->toread)
				n = c->toread;
			if (body_add(c, n) < 0)
				return;
			evbuffer_remove_buffer(in, c->body, n);
			c->toread -= n;
			if (c->toread == 0)
				c->st = C_CHUNK_CRLF;
			break;
		case C_CHUNK_CRLF:
			line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
			if (line == NULL) {
				if (evbuffer_get_length(in) > 1024)
					conn_error(c, 400, "bad chunk");
				return;
			}
			imp_free(line);
			if (len != 0) {
				conn_error(c, 400, "bad chunk");
				return;
			}
			c->st = C_CHUNK_SIZE;
			break;
		case C_CHUNK_TRAILER:
			line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
			if (line == NULL) {
				/* trailers are ignored, but not without limit */
				if (evbuffer_get_length(in) > s->o.max_head)
					conn_error(c, 431, "request trailer too large");
				return;
			}
			imp_free(line);
			if (len == 0) {
				conn_dispatch(c);
				return;
			}
			break;
		case C_DISCARD:
			/* what was read with the head, then straight off the
			 * socket: MSG_TRUNC drops TCP data without copying it */
			n = evbuffer_get_length(in);
			if (n > c->toread)
				n = c->toread;
			evbuffer_drain(in, n);
			c->toread -= n;
			while (c->toread > 0) {
				ssize_t r = recv(bufferevent_getfd(bev), NULL,
				    c->toread, MSG_TRUNC | MSG_DONTWAIT);
				if (r <= 0)
					break;	/* EOF and errors: the bufferevent sees them */
				c->toread -= (size_t)r < c->toread ? (size_t)r : c->toread;
			}
			if (c->toread > 0)
				return;
			body_timer_stop(c);
			c->st = C_HEAD;
			break;
		case C_HANDLER:
		case C_WRITING:
		case C_LINGER:
		case C_HELD:
			return;
		}
	}
}

/*
 * Lingering close after an error answer (nginx's lingering_close): the
 * client may still be sending the body we refused; closing with unread
 * data makes the kernel send RST, and the client may lose our answer.
 * Shut our side, read and discard for a while, then close.
 */
static void
linger_read(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->lingered += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->lingered > ((size_t)64 << 20))
		conn_free(c);
}

static void
linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void
linger_start(struct hconn *c)
{
	struct timeval tv = { 2, 0 };

	c->st = C_LINGER;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_setcb(c->bev, linger_read, NULL, linger_event, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;

	if (c->sfill != NULL) {
		/* drained to the low watermark: the next parts */
		stream_pump(c);
		return;
	}
	if (c->st != C_WRITING || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (c->close_after || c->s->draining) {
		/*
		 * Always a lingering close: bytes the client sent after the
		 * request we answered last (a pipelined request on an HTTP/1.0
		 * or "Connection: close" connection) would make the kernel
		 * reset the connection, and the client could lose our answer
		 * (t-srv-httpfuzz saw ENOTCONN at its shutdown()).
		 */
		linger_start(c);
		return;
	}
	c->st = C_HEAD;
	c->toread = 0;
	conn_promote(c);
	if (c->discard > 0) {
		/* the body of a request answered unread (admit_ask) */
		c->st = C_DISCARD;
		c->toread = c->discard;
		c->discard = 0;
		body_timer_start(c);
	}
	bufferevent_enable(bev, EV_READ);
	/* a pipelined request may already be buffered */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		conn_read(bev, c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct hconn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (c->st == C_HANDLER) {
		/* the handler still holds c->req: free when it answers */
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->dead = 1;
		return;
	}
	conn_free(c);
}

/*==================================================================
 * Request accessors
 */

const char *
hreq_method(const struct hreq *r)
{
	return (r->method);
}

const char *
hreq_path(const struct hreq *r)
{
	return (r->path);
}

const char *
hreq_query(const struct hreq *r)
{
	return (r->query);
}

const char *
hreq_header(const struct hreq *r, const char *name)
{
	int i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return (r->hdrs[i].value);
	return (NULL);
}

const char *
hreq_body(const struct hreq *r, size_t *len)
{
	if (len != NULL)
		*len = r->body_len;
	return (r->body != NULL ? r->body : "");
}

const char *
hreq_peer(const struct hreq *r)
{
	return (r->c != NULL ? r->c->peer : "");
}

int
hreq_peer_is_loopback(const struct hreq *r)
{
	return (r->c != NULL && r->c->loopback);
}

uint64_t
hreq_start(const struct hreq *r)
{
	return (r->t0);
}

uint64_t
hreq_start_real(const struct hreq *r)
{
	return (r->t0real);
}

const char *
hreq_arg(struct hreq *r, const char *name, char *buf, size_t len)
{
	const char *q = r->query, *e;
	size_t nl = strlen(name), vl;

	while (q != NULL && *q != '\0') {
		e = strchr(q, '&');
		if (strncmp(q, name, nl) == 0 && (q[nl] == '=' || q[nl] == '&' ||
		    q[nl] == '\0')) {
			const char *v = q[nl] == '=' ? q + nl + 1 : q + nl;
			vl = e != NULL ? (size_t)(e - v) : strlen(v);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return (buf);
		}
		q = e != NULL ? e + 1 : NULL;
	}
	return (NULL);
}

void
hreq_set_data(struct hreq *r, void *data)
{
	r->data = data;
}

void *
hreq_get_data(const struct hreq *r)
{
	return (r->data);
}

/*==================================================================
 * Long answers: a stream that waits for its parts, a client that left
 */

void
hsrv_stream_wake(struct hsrv *s, void *arg)
{
	struct hconn *c;

	TAILQ_FOREACH(c, &s->conns, link)
		if (c->sfill != NULL && c->sarg == arg) {
			stream_pump(c);
			return;
		}
}

int
hreq_client_gone(const struct hreq *r)
{
	struct pollfd pfd;

	if (r->c == NULL || r->c->dead || r->c->bev == NULL)
		return (1);
	if ((pfd.fd = bufferevent_getfd(r->c->bev)) < 0)
		return (0);
	/* a pipelined request is POLLIN without POLLRDHUP: still there */
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return (0);
	return ((pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
}
