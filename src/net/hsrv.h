/*
 * impcore - a small HTTP/1.1 server on libevent bufferevents.
 *
 * Why not evhttp: libevent 2.1's evhttp answers its own refusals in HTML,
 * rejects methods it does not know with 501 and reads (or refuses in HTML)
 * an oversized body before we can see it.  The API must answer everything
 * in JSON, 405 any method it does not serve and 413 as soon as the
 * Content-Length (or the chunked body so far) passes the limit.  This
 * server parses request line, headers and body (Content-Length or chunked,
 * "Expect: 100-continue" honoured), keeps connections alive, pipelines in
 * order, and hands each complete request to one handler, which may answer
 * at once or later (hreq_reply), once, or stream a large answer as the
 * client reads it (hreq_reply_stream).  Request smuggling is refused: one
 * framing only (a lone "chunked", or one Content-Length).
 */
#ifndef IMP_HSRV_H
#define IMP_HSRV_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct event_base;
struct hsrv;
struct hreq;

/*
 * Admission, before a body is read.  Called when a request's head is
 * parsed and a body follows (Content-Length > 0, or chunked), before
 * "100 Continue" is sent.  Returns:
 *   HSRV_ADMIT	read the body, then the handler runs as usual;
 *   HSRV_HOLD	read nothing more from this connection until
 *		hsrv_admit_again() asks again: the client's bytes wait in
 *		the kernel, so TCP pushes back and a refusal costs nothing;
 *   HSRV_ANSWERED  r was answered (hreq_reply) without reading its body;
 *		the connection closes after the answer.
 * The cheap way to refuse work that cannot be kept: no body is read,
 * buffered or parsed.
 */
enum { HSRV_ADMIT = 0, HSRV_HOLD, HSRV_ANSWERED };
typedef int hsrv_admit_fn(struct hreq *r, void *arg);

struct hsrv_opts {
	size_t		max_head;		/* request line + headers, bytes */
	size_t		max_body;		/* body, bytes (4 x this of
						   bodies at once, else 503) */
	int		idle_timeout_s;		/* keep-alive idle and read timeout */
	unsigned	body_timeout_ms;	/* a whole body, from its admission;
						   else 408 (0: 30 s) */
	int		write_timeout_s;
	hsrv_admit_fn	*admit;			/* NULL: every body is read */
	const char	*accept_what;		/* names accept() in the log lines
						   of its pauses (NULL: "accept()");
						   a literal, it is kept */
};

typedef void hsrv_handler_fn(struct hreq *req, void *arg);
/*
 * Errors found by the server itself (400 bad request line/headers, 413,
 * 431): fn must answer req with status (hreq_reply); msg says what is
 * wrong.  NULL: a plain JSON error.
 */
typedef void hsrv_error_fn(struct hreq *req, int status, const char *msg,
    void *arg);

/* Serve on listen_fd (not closed by hsrv_free unless hsrv_stop_accept ran). */
struct hsrv *hsrv_new(struct event_base *base, int listen_fd,
    const struct hsrv_opts *o, hsrv_handler_fn *fn, hsrv_error_fn *efn,
    void *arg);
/* Stop accepting (closes our copy of the listening socket). */
void hsrv_stop_accept(struct hsrv *s);
/* Stop accepting, close idle connections, close the others after their answer. */
void hsrv_drain(struct hsrv *s);
/* Open connections. */
int hsrv_connections(const struct hsrv *s);
/* Requests received and not yet answered. */
int hsrv_pending(const struct hsrv *s);
/* Requests held by admit (HSRV_HOLD). */
int hsrv_held(const struct hsrv *s);
/* Ask admit again about every held request, oldest first. */
void hsrv_admit_again(struct hsrv *s);
/* Close everything. */
void hsrv_free(struct hsrv *s);

/* --- a request ------------------------------------------------------------ */

const char *hreq_method(const struct hreq *r);		/* as sent: "GET", "PATCH", "FOO" */
const char *hreq_path(const struct hreq *r);		/* target without the query, not decoded */
const char *hreq_query(const struct hreq *r);		/* after '?', or NULL */
const char *hreq_header(const struct hreq *r, const char *name);	/* case-insensitive */
const char *hreq_body(const struct hreq *r, size_t *len);	/* NUL-terminated */
const char *hreq_peer(const struct hreq *r);		/* "127.0.0.1" */
int hreq_peer_is_loopback(const struct hreq *r);
uint64_t hreq_start(const struct hreq *r);		/* CLOCK_MONOTONIC ns at arrival */
uint64_t hreq_start_real(const struct hreq *r);		/* CLOCK_REALTIME ns at arrival */
/* Query parameter value (first match, not decoded), or NULL. */
const char *hreq_arg(struct hreq *r, const char *name, char *buf, size_t len);

void hreq_set_data(struct hreq *r, void *data);
void *hreq_get_data(const struct hreq *r);

/* Add a response header (before hreq_reply). */
void hreq_add_header(struct hreq *r, const char *name, const char *value);
/*
 * Send the answer (Content-Type application/json unless a header set one)
 * and release the request: r is invalid afterwards.
 */
void hreq_reply(struct hreq *r, int status, const char *body, size_t len);
/*
 * hreq_reply() with more response headers already formatted: llen bytes of
 * "Name: value\r\n" lines, none of them Content-Type, written straight
 * into the output after those of hreq_add_header() (the cheap way to add
 * many on every answer: no copy in the request, no allocation).
 */
void hreq_reply_lines(struct hreq *r, int status, const char *lines,
    size_t llen, const char *body, size_t len);
/*
 * A streamed answer, for bodies too large to build whole: status, headers
 * (as hreq_reply_lines), the first part of the body (first, flen), then
 * fill(b, arg) appends the next part to b (empty on entry) whenever the
 * connection's output has drained below a low watermark, and returns 1
 * while more follows, 0 with the last part.  So a client that does not
 * read holds at most a few hundred KB of rendered answer, and the
 * write timeout ends it.  Chunked for HTTP/1.1; an HTTP/1.0 answer ends
 * with the connection.  fini(arg) runs exactly once, when the answer is
 * complete, or the connection died (fill is then not called again), or at
 * once for HEAD.  r is invalid afterwards.
 */
typedef int hsrv_fill_fn(struct buf *b, void *arg);
typedef void hsrv_fini_fn(void *arg);
void hreq_reply_stream(struct hreq *r, int status, const char *lines,
    size_t llen, const char *first, size_t flen, hsrv_fill_fn *fill,
    hsrv_fini_fn *fini, void *arg);
/*
 * fill may also return HSRV_FILL_WAIT: nothing more to send yet (a line a
 * second: the profiler's /debug/stats).  fill is then called again after
 * hsrv_stream_wake(s, arg), with arg the one given to hreq_reply_stream
 * (none such, e.g. the client left and fini ran: nothing happens; a walk
 * over the connections, for a few long streams, not a request's path).
 */
#define HSRV_FILL_WAIT	2
void hsrv_stream_wake(struct hsrv *s, void *arg);
/*
 * 1 when the client of r, not answered yet, has closed its side or reset
 * (or the server went away).  Reading is off while a handler holds r, so
 * nothing else notices a client leaving a long deferred answer (a CPU
 * profile); a pipelined request is not a departure.
 */
int hreq_client_gone(const struct hreq *r);
/* The status text of a code ("Not Found"). */
const char *hsrv_status_text(int status);

#endif /* IMP_HSRV_H */
