/*
 * impcore - the HTTP server's request bodies: a Content-Length body, a
 * chunked one, a refused one skipped unread; the budget of bodies being
 * received at once and each body's deadline.  The readers answer
 * RD_MORE or RD_STOP (hsrv_priv.h) to hconn_read, which runs them.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/mem.h"
#include "net/hsrv_priv.h"

/* c's body is no longer being received (dispatched, refused, closed). */
void
hbody_release(struct hconn *c)
{
	c->s->body_bytes -= c->body_bytes;
	c->body_bytes = 0;
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
		hconn_error(c, 408, "request body not complete within "
		    "the body timeout");
		break;
	case C_DISCARD:
		/* a refused body, already answered: nothing to say */
		hconn_free(c);
		break;
	default:
		break;
	}
}

/* (Re)arm c's body deadline: body_timeout_ms from now. */
void
hbody_timer_start(struct hconn *c)
{
	struct timeval tv;
	unsigned ms = c->s->o.body_timeout_ms;

	if (c->body_ev == NULL)
		c->body_ev = evtimer_new(c->s->base, body_timeout_cb, c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->body_ev, &tv);
}

/* The body is whole, refused or skipped: no deadline. */
void
hbody_timer_stop(struct hconn *c)
{
	if (c->body_ev != NULL)
		evtimer_del(c->body_ev);
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
		hconn_error(c, 503, "busy: other request bodies being received "
		    "fill this worker's memory budget; retry later");
		return (-1);
	}
	s->body_bytes += n;
	c->body_bytes += n;
	return (0);
}

/* C_BODY: a Content-Length body, what came with the head, then straight
 * off the socket. */
int
hbody_read(struct hconn *c, struct evbuffer *in)
{
	size_t n, ask;

	n = evbuffer_get_length(in);
	if (n > c->toread)
		n = c->toread;
	if (n > 0) {
		if (body_add(c, n) < 0)
			return (RD_STOP);
		evbuffer_remove_buffer(in, c->body, n);
		c->toread -= n;
	}
	if (c->toread > 0) {
		ask = c->toread < HSRV_RECV_CHUNK ? c->toread : HSRV_RECV_CHUNK;
		if ((n = hconn_recv(c, c->body, ask)) == 0)
			return (RD_STOP);
		if (body_add(c, n) < 0)
			return (RD_STOP);
		c->toread -= n;
		if (c->toread > 0 && n < ask)
			return (RD_STOP);	/* the socket is empty for now */
	}
	if (c->toread == 0) {
		hconn_dispatch(c);
		return (RD_STOP);
	}
	return (RD_MORE);
}

/*
 * C_CHUNK_SIZE: a chunk-size line.  evbuffer_readln allocates with
 * libevent's allocator, imp_malloc in every child (mem_install_lib_hooks):
 * so imp_free, or heap_freed_bytes never sees the line and a sampled one
 * stays live in the heap profile (here and in the other chunk states).
 */
int
hbody_read_chunk_size(struct hconn *c, struct evbuffer *in)
{
	struct hsrv *s = c->s;
	char *line;
	size_t len;
	uint64_t sz;
	int rc;

	line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > 1024)
			hconn_error(c, 400, "bad chunk size");
		return (RD_STOP);
	}
	rc = hsrv_parse_chunk_size(line, &sz);
	imp_free(line);
	if (rc < 0) {
		hconn_error(c, 400, "bad chunk size");
		return (RD_STOP);
	}
	if (sz == 0) {
		c->st = C_CHUNK_TRAILER;
		return (RD_MORE);
	}
	if (sz > s->o.max_body ||
	    evbuffer_get_length(c->body) + sz > s->o.max_body) {
		hconn_error(c, 413, "request body too large");
		return (RD_STOP);
	}
	c->toread = (size_t)sz;
	c->st = C_CHUNK_DATA;
	return (RD_MORE);
}

/* C_CHUNK_DATA: a chunk's bytes, from the input buffer. */
int
hbody_read_chunk_data(struct hconn *c, struct evbuffer *in)
{
	size_t n;

	n = evbuffer_get_length(in);
	if (n == 0)
		return (RD_STOP);
	if (n > c->toread)
		n = c->toread;
	if (body_add(c, n) < 0)
		return (RD_STOP);
	evbuffer_remove_buffer(in, c->body, n);
	c->toread -= n;
	if (c->toread == 0)
		c->st = C_CHUNK_CRLF;
	return (RD_MORE);
}

/* C_CHUNK_CRLF: the empty line after a chunk's bytes. */
int
hbody_read_chunk_crlf(struct hconn *c, struct evbuffer *in)
{
	char *line;
	size_t len;

	line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > 1024)
			hconn_error(c, 400, "bad chunk");
		return (RD_STOP);
	}
	imp_free(line);
	if (len != 0) {
		hconn_error(c, 400, "bad chunk");
		return (RD_STOP);
	}
	c->st = C_CHUNK_SIZE;
	return (RD_MORE);
}

/* C_CHUNK_TRAILER: trailer lines, ignored, up to the empty one. */
int
hbody_read_chunk_trailer(struct hconn *c, struct evbuffer *in)
{
	char *line;
	size_t len;

	line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		/* trailers are ignored, but not without limit */
		if (evbuffer_get_length(in) > c->s->o.max_head)
			hconn_error(c, 431, "request trailer too large");
		return (RD_STOP);
	}
	imp_free(line);
	if (len == 0) {
		hconn_dispatch(c);
		return (RD_STOP);
	}
	return (RD_MORE);
}

/*
 * C_DISCARD: a refused body (hconn_admit), what was read with the head, then
 * straight off the socket: MSG_TRUNC drops TCP data without copying it.
 */
int
hbody_read_discard(struct hconn *c, struct evbuffer *in)
{
	size_t n;
	ssize_t r;

	n = evbuffer_get_length(in);
	if (n > c->toread)
		n = c->toread;
	evbuffer_drain(in, n);
	c->toread -= n;
	while (c->toread > 0) {
		r = recv(bufferevent_getfd(c->bev), NULL, c->toread,
		    MSG_TRUNC | MSG_DONTWAIT);
		if (r <= 0)
			break;	/* EOF and errors: the bufferevent sees them */
		c->toread -= (size_t)r < c->toread ? (size_t)r : c->toread;
	}
	if (c->toread > 0)
		return (RD_STOP);
	hbody_timer_stop(c);
	c->st = C_HEAD;
	return (RD_MORE);
}
