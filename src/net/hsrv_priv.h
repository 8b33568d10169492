/*
 * impcore - the HTTP server's insides, shared by its files (NB: not an
 * API; other modules use hsrv.h): hsrv.c the server and the request's
 * accessors, hsrv_conn.c a connection's states and reading, hsrv_body.c
 * the body states (Content-Length, chunked, a refused body skipped),
 * hsrv_reply.c the answers, hsrv_parse.c the request head (pure).
 *
 * One connection is a small state machine: HEAD (collect the request line
 * and headers), HELD (admission said wait: reading off, see hsrv_admit_fn),
 * BODY or CHUNK* (collect the body), HANDLER (reading off,
 * waiting for hreq_reply), WRITING (answer queued, or being rendered as
 * the output drains or as its parts come: hreq_reply_stream,
 * HSRV_FILL_WAIT; when the output drained the connection goes back to
 * HEAD, to DISCARD (a refused body skipped, hconn_admit), or to LINGER
 * (closing: the client's bytes read and dropped)).  A body must be whole within
 * body_timeout_ms of its admission (hbody_timer_*).  A connection is freed
 * only from the write, event or body timer callbacks, never under the
 * handler.
 */
#ifndef IMP_HSRV_PRIV_H
#define IMP_HSRV_PRIV_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "lib/buf.h"
#include "net/hsrv.h"
#include "net/hsrv_parse.h"
#include "net/lpause.h"

struct bufferevent;
struct event;
struct evbuffer;
struct evconnlistener;

#define HSRV_MAX_WRITE		(1024 * 1024)	/* bytes per writev; the kernel takes less */
#define HSRV_MAX_DISCARD	(1024 * 1024)	/* refused bodies skipped to keep the connection */
#define HSRV_WRITE_NOW		(64 * 1024)	/* answers up to this are written at once */
#define HSRV_RECV_CHUNK		(256 * 1024)	/* bytes per recv of a body (hconn_recv) */
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

struct hconn;

struct hreq {
	unsigned	magic;
	struct hconn	*c;
	char		*head;		/* the head block, split in place */
	struct hsrv_head h;		/* pointers into head */
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
	int			low;		/* at the base's lowest priority (hconn_demote) */
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
	struct event		*body_ev;	/* the body's deadline (hbody_timer_*) */
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

/*
 * Reading, one function a state (hconn_read runs them from a table): each
 * takes what it can from in (c's input) and returns RD_MORE when c's
 * (possibly new) state should read on now, RD_STOP when it must wait for
 * bytes or c was answered, handed to the handler or freed.
 */
enum { RD_STOP, RD_MORE };

/* hsrv.c */
struct hreq *hreq_new(struct hconn *c);
void hreq_free(struct hreq *r);

/* hsrv_conn.c: the bufferevent's callbacks, and what the others call */
void hconn_read(struct bufferevent *bev, void *arg);
void hconn_write(struct bufferevent *bev, void *arg);
void hconn_event(struct bufferevent *bev, short what, void *arg);
void hconn_free(struct hconn *c);
void hconn_error(struct hconn *c, int status, const char *msg);
void hconn_dispatch(struct hconn *c);
int hconn_admit(struct hconn *c);
int hconn_demote(struct hconn *c);
void hconn_read_later(struct hconn *c);
size_t hconn_recv(struct hconn *c, struct evbuffer *dst, size_t want);

/* hsrv_body.c: the body's budget and deadline, and its state readers */
void hbody_release(struct hconn *c);
void hbody_timer_start(struct hconn *c);
void hbody_timer_stop(struct hconn *c);
int hbody_read(struct hconn *c, struct evbuffer *in);
int hbody_read_chunk_size(struct hconn *c, struct evbuffer *in);
int hbody_read_chunk_data(struct hconn *c, struct evbuffer *in);
int hbody_read_chunk_crlf(struct hconn *c, struct evbuffer *in);
int hbody_read_chunk_trailer(struct hconn *c, struct evbuffer *in);
int hbody_read_discard(struct hconn *c, struct evbuffer *in);

/* hsrv_reply.c */
void hstream_pump(struct hconn *c);

#endif /* IMP_HSRV_PRIV_H */
