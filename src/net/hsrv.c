/*
 * impcore - a small HTTP/1.1 server on libevent bufferevents (see hsrv.h):
 * the server (listening, draining, admission asked again) and the
 * request's accessors.  Connections are in hsrv_conn.c, bodies in
 * hsrv_body.c, answers in hsrv_reply.c, the head's parser in hsrv_parse.c;
 * hsrv_priv.h has the state machine they share.
 */
#include "config.h"

#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/hsrv_priv.h"

/* Free r: its head, body and response headers. */
void
hreq_free(struct hreq *r)
{
	if (r == NULL)
		return;
	imp_free(r->head);
	imp_free(r->body);
	buf_free(&r->extra);
	r->magic = 0;
	imp_free(r);
}

/* A request on c, empty until its head is parsed, stamped with the time. */
struct hreq *
hreq_new(struct hconn *c)
{
	struct hreq *r = imp_calloc(1, sizeof *r);

	r->magic = HREQ_MAGIC;
	r->c = c;
	hsrv_head_init(&r->h);
	r->t0 = tim_mono();
	r->t0real = tim_real();
	buf_init(&r->extra);
	return (r);
}

/* A new connection: its peer, TCP_NODELAY, a bufferevent reading heads. */
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

	bufferevent_setcb(c->bev, hconn_read, hconn_write, hconn_event, c);
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
	 * process out of memory (hsrv_body.c's body_add) */
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
			hconn_free(c);
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
		hconn_free(c);
	}
	imp_free(s);
}

void
hsrv_admit_again(struct hsrv *s)
{
	struct hconn *c, *next;

	for (c = TAILQ_FIRST(&s->held); c != NULL; c = next) {
		next = TAILQ_NEXT(c, hlink);
		if (hconn_admit(c) != 0)
			continue;
		/* the body (some of it may be buffered already), each in a
		 * callback of its own: one turn here admitted dozens */
		bufferevent_enable(c->bev, EV_READ);
		if (hconn_demote(c))
			hconn_read_later(c);
		else
			hconn_read(c->bev, c);
	}
}

const char *
hreq_method(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->h.method);
}

const char *
hreq_path(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->h.path);
}

const char *
hreq_query(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->h.query);
}

const char *
hreq_header(const struct hreq *r, const char *name)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (hsrv_head_header(&r->h, name));
}

const char *
hreq_body(const struct hreq *r, size_t *len)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	if (len != NULL)
		*len = r->body_len;
	return (r->body != NULL ? r->body : "");
}

const char *
hreq_peer(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->c != NULL ? r->c->peer : "");
}

int
hreq_peer_is_loopback(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->c != NULL && r->c->loopback);
}

uint64_t
hreq_start(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->t0);
}

uint64_t
hreq_start_real(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	return (r->t0real);
}

const char *
hreq_arg(struct hreq *r, const char *name, char *buf, size_t len)
{
	const char *q, *e;
	size_t nl = strlen(name), vl;

	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	q = r->h.query;
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
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

	r->data = data;
}

void *
hreq_get_data(const struct hreq *r)
{
	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

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
			hstream_pump(c);
			return;
		}
}

int
hreq_client_gone(const struct hreq *r)
{
	struct pollfd pfd;

	CHECK_OBJ_NOTNULL(r, HREQ_MAGIC);

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
