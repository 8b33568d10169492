/*
 * impcore - the HTTP server's connections (hsrv_priv.h has the state
 * machine): reading a request head and running each state's reader,
 * admission, errors, dispatch to the handler, priorities, lingering
 * close, and what the bufferevent's write and event callbacks do.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/hsrv_priv.h"
#include "net/lpause.h"

/* c is no longer on the server's held list (admission asked again). */
static void
unhold(struct hconn *c)
{
	if (!c->held)
		return;
	TAILQ_REMOVE(&c->s->held, c, hlink);
	c->s->nheld--;
	c->held = 0;
}

/* Close c and free it, with its request unless a handler holds that. */
void
hconn_free(struct hconn *c)
{
	struct hsrv *s = c->s;

	hbody_release(c);
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
		hreq_free(c->req);
	}
	c->magic = 0;
	imp_free(c);
}

/* An error found by the server: the answer closes the connection. */
void
hconn_error(struct hconn *c, int status, const char *msg)
{
	struct hsrv *s = c->s;
	struct hreq *r = c->req;

	if (r == NULL) {
		r = hreq_new(c);
		c->req = r;
	}
	hbody_release(c);
	hbody_timer_stop(c);
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

/* c's request is whole: hand it (and its body) to the handler. */
void
hconn_dispatch(struct hconn *c)
{
	struct hsrv *s = c->s;
	struct hreq *r = c->req;

	bufferevent_disable(c->bev, EV_READ);
	hbody_release(c);
	hbody_timer_stop(c);
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
 * dozens: 30 ms, and /health p99 was 40-90 ms).  hconn_demote returns 1
 * when c is low now (its reading then goes on in a deferred callback, at
 * that priority), 0 when the base has no priorities.
 */
int
hconn_demote(struct hconn *c)
{
	int np = event_base_get_npriorities(c->s->base);

	if (np < 3 || c->bev == NULL)
		return (0);
	if (!c->low && bufferevent_priority_set(c->bev, np - 1) == 0)
		c->low = 1;
	return (c->low);
}

/* Back to the default priority, for the next head (hconn_demote). */
static void
conn_promote(struct hconn *c)
{
	if (c->low && c->bev != NULL && bufferevent_priority_set(c->bev,
	    event_base_get_npriorities(c->s->base) / 2) == 0)
		c->low = 0;
}

/* Run hconn_read for c later in this loop turn or the next, at its priority. */
void
hconn_read_later(struct hconn *c)
{
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
	    BEV_TRIG_IGNORE_WATERMARKS);
}

/*
 * Ask the admission hook about c's request, whose body has not been read.
 * 0: admitted, the body comes next (c->st is its first state); 1: held,
 * reading off; -1: answered.
 */
int
hconn_admit(struct hconn *c)
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
			 * off the socket uncopied (hconn_write enables it).
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
	hbody_timer_start(c);
	if (c->expect100) {
		c->expect100 = 0;
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
		bufferevent_enable(c->bev, EV_WRITE);
	}
	return (0);
}

/* Head parsed: decide how the body comes.  0 go on, -1 answered. */
static int
conn_head_done(struct hconn *c)
{
	struct hsrv *s = c->s;
	struct hreq *r = c->req;
	struct hsrv_frame f;
	const char *msg = NULL;
	int st;

	st = hsrv_parse_frame(&r->h, s->o.max_body, &f, &msg);
	r->keepalive = f.keepalive;
	r->is_head = f.is_head;
	if (st != 0) {
		hconn_error(c, st, msg);
		return (-1);
	}
	switch (f.body) {
	case HSRV_BODY_CHUNKED:
		c->st = C_CHUNK_SIZE;
		break;
	case HSRV_BODY_LENGTH:
		c->toread = (size_t)f.length;
		c->st = C_BODY;
		break;
	case HSRV_BODY_NONE:
		hconn_dispatch(c);
		return (-1);
	}
	c->body = evbuffer_new();
	c->expect100 = f.expect100;
	c->body_st = c->st;
	return (hconn_admit(c) == 0 ? 0 : -1);
}

/*
 * Read up to want bytes of c's socket into dst, in one recv(2) when the
 * socket holds them: libevent 2.1's own reads take 4 KiB at most, each
 * after an ioctl(FIONREAD), so a 40 KB body cost ten reads, ten ioctls and
 * ten loop turns.  Returns the bytes read; 0 at EOF, on errors and when
 * nothing is there (the bufferevent's next read sees EOF and errors: the
 * socket stays readable).
 */
size_t
hconn_recv(struct hconn *c, struct evbuffer *dst, size_t want)
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

/*
 * Where the head in in ends (after its blank line), or -1 when it has not
 * come whole yet.  The head ends at the first blank line, CRLF or bare LF
 * (tolerated): whichever comes first, or a body holding the other marker
 * would be read as headers.
 */
static ssize_t
head_end(struct evbuffer *in)
{
	struct evbuffer_ptr pos;
	ssize_t end = -1;

	pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (pos.pos >= 0)
		end = (ssize_t)pos.pos + 4;
	pos = evbuffer_search(in, "\n\n", 2, NULL);
	if (pos.pos >= 0 && (end < 0 || pos.pos + 2 < end))
		end = (ssize_t)pos.pos + 2;
	return (end);
}

/* A head not whole yet (len bytes of it): read more, refuse, or wait. */
static int
head_wait(struct hconn *c, struct evbuffer *in, size_t len)
{
	struct hsrv *s = c->s;

	/* the bufferevent read 4 KiB at most: more? */
	if (len <= s->o.max_head &&
	    hconn_recv(c, in, s->o.max_head + 1024 - len) > 0)
		return (RD_MORE);
	if (len > s->o.max_head) {
		hconn_error(c, 431, "request head too large");
		return (RD_STOP);
	}
	/*
	 * The read timeout restarts with every byte: a client sending one a
	 * minute would hold the connection for ever (slowloris).  The whole
	 * head gets the idle timeout from its first byte.
	 */
	if (c->head_t0 == 0)
		c->head_t0 = tim_mono();
	else if (tim_mono() - c->head_t0 >
	    (uint64_t)s->o.idle_timeout_s * 1000000000u)
		hconn_error(c, 408, "request head not complete within the idle "
		    "timeout");
	return (RD_STOP);
}

/* C_HEAD: the request line and headers, parsed; then how the body comes. */
static int
read_head(struct hconn *c, struct evbuffer *in)
{
	struct hsrv *s = c->s;
	const char *msg = NULL;
	size_t len, n;
	ssize_t end;
	int st;

	len = evbuffer_get_length(in);
	if (len == 0)
		return (RD_STOP);
	/*
	 * Not there yet: wait for more.  (An end offset, not the search's -1:
	 * once "not found" was mistaken for a bare-LF end near the start, and
	 * a head that came in two TCP segments was answered 400.)
	 */
	if ((end = head_end(in)) < 0)
		return (head_wait(c, in, len));
	c->head_t0 = 0;
	n = (size_t)end;
	if (n > s->o.max_head + 4) {
		hconn_error(c, 431, "request head too large");
		return (RD_STOP);
	}
	c->req = hreq_new(c);
	c->req->head = imp_malloc(n + 1);
	evbuffer_remove(in, c->req->head, n);
	c->req->head[n] = '\0';
	st = hsrv_parse_head(c->req->head, n, &c->req->h, &msg);
	if (st != 0) {
		hconn_error(c, st, msg);
		return (RD_STOP);
	}
	if (conn_head_done(c) < 0)
		return (RD_STOP);
	/* a body to read and parse: at the lowest priority */
	if (!c->low && hconn_demote(c)) {
		hconn_read_later(c);
		return (RD_STOP);
	}
	return (RD_MORE);
}

/* What reads in each state; NULL: nothing is read (reading is off). */
static int (*const conn_readers[])(struct hconn *, struct evbuffer *) = {
	[C_HEAD] = read_head,
	[C_BODY] = hbody_read,
	[C_CHUNK_SIZE] = hbody_read_chunk_size,
	[C_CHUNK_DATA] = hbody_read_chunk_data,
	[C_CHUNK_CRLF] = hbody_read_chunk_crlf,
	[C_CHUNK_TRAILER] = hbody_read_chunk_trailer,
	[C_DISCARD] = hbody_read_discard,
	[C_HANDLER] = NULL,
	[C_WRITING] = NULL,
	[C_LINGER] = NULL,
	[C_HELD] = NULL,
};

static int
state_is_chunked(enum cstate st)
{
	return (st == C_CHUNK_SIZE || st == C_CHUNK_DATA ||
	    st == C_CHUNK_CRLF || st == C_CHUNK_TRAILER);
}

/* The bufferevent's read callback: run c's state readers while they read. */
void
hconn_read(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	/*
	 * A chunked body is parsed from the input buffer: take what the
	 * socket has now, no further than this chunk can use plus the next
	 * head (a pipelining client must not grow our input by megabytes).
	 * Heads and Content-Length bodies read as they need (hconn_recv).
	 */
	if (state_is_chunked(c->st)) {
		size_t want = c->s->o.max_head + 1024, have = evbuffer_get_length(in);

		if (c->st == C_CHUNK_DATA)
			want += c->toread;
		if (want > have)
			(void)hconn_recv(c, in, want - have);
	}
	while (conn_readers[c->st] != NULL && conn_readers[c->st](c, in) == RD_MORE)
		;
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
		hconn_free(c);
}

static void
linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	hconn_free(arg);
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

/*
 * The output drained (or a streamed answer's to its low watermark): render
 * more, close, or read the next request (maybe pipelined, already here).
 */
void
hconn_write(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;

	if (c->sfill != NULL) {
		/* drained to the low watermark: the next parts */
		hstream_pump(c);
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
		/* the body of a request answered unread (hconn_admit) */
		c->st = C_DISCARD;
		c->toread = c->discard;
		c->discard = 0;
		hbody_timer_start(c);
	}
	bufferevent_enable(bev, EV_READ);
	/* a pipelined request may already be buffered */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		hconn_read(bev, c);
}

/* EOF, an error or a timeout on c: free it, or mark it dead under a handler. */
void
hconn_event(struct bufferevent *bev, short what, void *arg)
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
	hconn_free(c);
}
