/*
 * impcore - impload: load generator for impsolverd's batch API.
 *
 * Posts batches in the Go clients' format (synthetic R(RC) spectra with known
 * parameters) to POST /eis-data/batch over N keep-alive connections, backs off
 * on 503 + Retry-After, then polls GET /eis-data/batch/{id} until every
 * accepted spectrum is done or failed, and reports acceptance rate, POST
 * latency percentiles and end-to-end throughput.  With -H it measures
 * GET /health instead (wrk remains the reference for that), with a raw
 * keep-alive client of its own rather than evhttp: see "Health mode".
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

/* Truth of the synthetic spectra: R0 + R1 || C0; R1 varies a little per
 * iteration so a mixed-up result (wrong iteration) shows in verification. */
#define TRUE_R0		10.0
#define TRUE_R1		100.0
#define TRUE_C0		1e-4
#define VERIFY_RTOL	0.01
#define MAX_CODE	600
#define HBUF_SIZE	16384	/* -H: a /health answer's headers fit */
#define HTIMEOUT_S	30	/* -H: as evhttp_connection_set_timeout */

enum phase { PH_POST, PH_POLL, PH_END };

struct batch {
	char		 id[64];
	int		 spectra;	/* accepted by the server */
	int		 done, failed;
	bool		 complete;
	bool		 lost;		/* 404 while polling: evicted */
};

struct load;

/* One client connection; at most one request in flight on it. */
struct conn {
	struct load		*ld;
	struct evhttp_connection *evcon;
	struct event		*backoff;	/* Retry-After wait */
	size_t			 batch;		/* batch being posted/polled */
	struct timespec		 t0;
	bool			 busy;		/* a request is in flight */
	bool			 resend;	/* backoff ends in a re-post */

	/* -H only: the raw keep-alive connection */
	int			 fd;		/* -1: not connected */
	struct event		*rev, *wev;
	bool			 connecting;
	bool			 reused;	/* has answered a request */
	bool			 retried;	/* this request resent once */
	size_t			 wpos;		/* request bytes written */
	char			*hbuf;		/* answer read so far */
	size_t			 hlen;
	size_t			 hscan;		/* no header end before it */
	int			 hcode;		/* > 0: headers parsed */
	bool			 hclose;	/* Connection: close */
	long long		 hskip;		/* body bytes still to come */
};

struct load {
	/* options */
	const char	*url;
	char		*host, *prefix;
	int		 port;
	int		 conc;
	long		 max_n;		/* batches (or requests with -H) */
	double		 duration;	/* seconds; 0: use max_n */
	double		 timeout;	/* whole run */
	double		 poll_ms;
	const char	*token, *circuit;
	char		*circuit_json;	/* the circuit as a JSON string */
	int		 nspectra, npoints;
	bool		 health, json, verify, no_verify;

	struct event_base *base;
	struct conn	*conns;
	struct event	*deadline, *poll_timer;
	enum phase	 phase;
	char		*spectra_json;	/* the constant "spectra" array */
	size_t		 spectra_len;
	char		 run_id[32];
	char		*hreq;		/* -H: the request, built once */
	size_t		 hreq_len;
	struct sockaddr_storage haddr;	/* -H: the server, resolved once */
	socklen_t	 haddr_len;	/* 0: did not resolve */
	struct timespec	 start;
	double		 post_end, done_at;
	bool		 timed_out;

	struct batch	*batches;
	size_t		 nbatches, cap_batches;
	long		 started;	/* requests issued (not counting retries) */

	/* poll rounds: the oldest incomplete batches, one per conn */
	size_t		*round;
	size_t		 round_len, round_pos, round_done;
	size_t		 poll_from;	/* batches before it are complete */

	/* results */
	double		*lat;
	size_t		 nlat, cap_lat;
	long		 codes[MAX_CODE];
	long		 n503, errors, accepted, spectra_accepted;
	long		 spectra_done, spectra_failed, lost;
	long		 verified, mismatched;
};

static void	conn_next(struct conn *);

static void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("impload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *
xrealloc(void *p, size_t n, size_t size)
{
	if (n != 0 && size > SIZE_MAX / n)
		fatalx("allocation overflow");
	if ((p = realloc(p, n * size)) == NULL)
		fatalx("out of memory");
	return (p);
}

static double
since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9);
}

static struct timeval
to_tv(double s)
{
	struct timeval tv;

	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	return (tv);
}

/*======================================================================
 * The synthetic batch
 */

/* Build the "spectra" array once; every batch reuses it verbatim. */
static char *
make_spectra(int nspectra, int npoints)
{
	json_t *arr = json_array();
	char *s;
	int i, k;

	for (i = 0; i < nspectra; i++) {
		json_t *f = json_array(), *m = json_array(), *p = json_array();
		json_t *z = json_array(), *data, *spec;
		double r1 = TRUE_R1 * (1.0 + 0.01 * i);

		/* 100 kHz down to 0.1 Hz, log-spaced, as instruments sweep */
		for (k = 0; k < npoints; k++) {
			double fr = pow(10.0, 5.0 - 6.0 * k / (npoints - 1));
			double w = 2.0 * M_PI * fr, a = w * r1 * TRUE_C0;
			double re = TRUE_R0 + r1 / (1.0 + a * a);
			double im = -r1 * a / (1.0 + a * a);

			json_array_append_new(f, json_real(fr));
			json_array_append_new(m, json_real(hypot(re, im)));
			json_array_append_new(p, json_real(atan2(im, re) * 180.0 / M_PI));
			json_array_append_new(z, json_pack("{s:f,s:f}", "real", re, "imag", im));
		}
		data = json_pack("{s:s,s:o,s:o,s:o,s:o}",
		    "timestamp", "2025-01-01T12:00:00Z", "frequencies", f,
		    "magnitude", m, "phase", p, "impedance", z);
		spec = json_pack("{s:i,s:o}", "iteration", i, "impedance_data", data);
		json_array_append_new(arr, spec);
	}
	s = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(12));
	json_decref(arr);
	if (s == NULL)
		fatalx("json_dumps failed");
	return (s);
}

/*======================================================================
 * HTTP plumbing
 */

static void
add_headers(struct load *ld, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char buf[512];

	snprintf(buf, sizeof buf, strchr(ld->host, ':') ? "[%s]:%d" : "%s:%d",
	    ld->host, ld->port);
	evhttp_add_header(h, "Host", buf);
	evhttp_add_header(h, "User-Agent", "impload/" PACKAGE_VERSION);
	evhttp_add_header(h, "Connection", "keep-alive");
	if (ld->token != NULL) {
		snprintf(buf, sizeof buf, "Bearer %s", ld->token);
		evhttp_add_header(h, "Authorization", buf);
	}
}

static void
record_latency(struct load *ld, double ms)
{
	if (ld->nlat == ld->cap_lat) {
		ld->cap_lat = ld->cap_lat ? 2 * ld->cap_lat : 4096;
		ld->lat = xrealloc(ld->lat, ld->cap_lat, sizeof *ld->lat);
	}
	ld->lat[ld->nlat++] = ms;
}

/* The response body as JSON, or NULL. */
static json_t *
body_json(struct evhttp_request *req)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	const char *p;

	if (len == 0 || (p = (const char *)evbuffer_pullup(b, -1)) == NULL)
		return (NULL);
	return (json_loadb(p, len, 0, NULL));
}

/* Response code, or 0 when the request failed below HTTP (reset, timeout). */
static int
response_code(struct evhttp_request *req)
{
	int code;

	if (req == NULL)
		return (0);
	code = evhttp_request_get_response_code(req);
	return (code > 0 && code < MAX_CODE ? code : 0);
}

/* Stop issuing work once the phase ends: every conn goes idle, then the
 * last one to finish moves the run on. */
static bool
post_stopping(struct load *ld)
{
	if (ld->timed_out)
		return (true);
	if (ld->duration > 0)
		return (since(&ld->start) >= ld->duration);
	return (ld->started >= ld->max_n);
}

static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct load *ld = arg;

	(void)fd; (void)ev;
	ld->timed_out = true;
	ld->phase = PH_END;
	event_base_loopbreak(ld->base);
}

/* A request that got no HTTP answer: count it, and move on only after a
 * short pause, so a refused connection is neither a busy loop nor (when
 * libevent fails synchronously) a recursion. */
static void
transport_error(struct conn *c)
{
	struct timeval tv = { 0, 10000 };

	c->busy = false;
	c->ld->errors++;
	c->ld->codes[0]++;
	c->resend = false;
	evtimer_add(c->backoff, &tv);
}

static void
start_request(struct conn *c, struct evhttp_request *req,
    enum evhttp_cmd_type type, const char *path)
{
	evutil_socket_t fd;
	int one = 1;

	c->busy = true;
	/* on failure libevent may or may not have run the callback already;
	 * busy tells which */
	if (evhttp_make_request(c->evcon, req, type, path) != 0) {
		if (c->busy)
			transport_error(c);
		return;
	}
	/* evhttp writes a large body in 16 KB pieces; with Nagle the last
	 * one waits for the server's delayed ACK: 40 ms per POST.  The
	 * socket exists once make_request has (re)connected; set it every
	 * time, as a reconnect may well reuse the old descriptor number. */
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon));
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/*======================================================================
 * POST phase
 */

static void	post_done_cb(struct evhttp_request *, void *);

static void
send_post(struct conn *c)
{
	struct load *ld = c->ld;
	struct evhttp_request *req;
	struct evbuffer *out;
	char path[512];

	req = evhttp_request_new(post_done_cb, c);
	add_headers(ld, req);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	out = evhttp_request_get_output_buffer(req);
	evbuffer_add_printf(out, "{\"batch_id\": \"%s\", "
	    "\"timestamp\": \"2025-01-01T12:00:00Z\", ",
	    ld->batches[c->batch].id);
	if (ld->circuit_json != NULL)
		evbuffer_add_printf(out, "\"circuit\": %s, ", ld->circuit_json);
	evbuffer_add(out, "\"spectra\": ", 11);
	evbuffer_add(out, ld->spectra_json, ld->spectra_len);
	evbuffer_add(out, "}", 1);
	snprintf(path, sizeof path, "%s/eis-data/batch", ld->prefix);
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	start_request(c, req, EVHTTP_REQ_POST, path);
}

static void
backoff_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;
	struct load *ld = c->ld;

	(void)fd; (void)ev;
	/* a refused batch is retried until accepted, except past -d: then it
	 * stays unaccepted, so a full server cannot stretch the run */
	if (c->resend && ld->phase == PH_POST && !ld->timed_out &&
	    (ld->duration == 0 || since(&ld->start) < ld->duration)) {
		send_post(c);
		return;
	}
	if (c->resend)
		ld->batches[c->batch].complete = true;	/* nothing to poll */
	conn_next(c);
}

static void
post_done_cb(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;
	struct load *ld = c->ld;
	struct batch *b = &ld->batches[c->batch];
	int code = response_code(req);
	json_t *j;

	c->busy = false;
	if (ld->phase == PH_END)
		return;
	if (code == 0) {
		ld->batches[c->batch].complete = true;	/* nothing to poll */
		transport_error(c);
		return;
	}
	record_latency(ld, since(&c->t0) * 1e3);
	ld->codes[code]++;
	if (code == 202 || code == 200) {
		/* 200: the id already existed (a re-post); poll it all the same */
		j = body_json(req);
		json_t *n = json_object_get(j, "spectra");
		b->spectra = json_is_integer(n) ? (int)json_integer_value(n) :
		    ld->nspectra;
		json_decref(j);
		ld->accepted++;
		ld->spectra_accepted += b->spectra;
	} else if (code == 503) {
		/* full: honour Retry-After (capped so a run stays bounded) and
		 * post the same batch again; a polite client does exactly this */
		const char *ra = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Retry-After");
		double wait = ra != NULL ? atof(ra) : 1.0;
		struct timeval tv;

		ld->n503++;
		if (!(wait > 0.0) || wait > 5.0)
			wait = wait > 5.0 ? 5.0 : 1.0;
		tv = to_tv(wait);
		c->resend = true;
		evtimer_add(c->backoff, &tv);
		return;
	} else {
		ld->errors++;
		b->complete = true;	/* nothing to poll */
	}
	conn_next(c);
}

/*======================================================================
 * Poll phase
 */

static void	poll_done_cb(struct evhttp_request *, void *);

static void
send_poll(struct conn *c)
{
	struct load *ld = c->ld;
	struct evhttp_request *req = evhttp_request_new(poll_done_cb, c);
	char path[512];

	add_headers(ld, req);
	snprintf(path, sizeof path, "%s/eis-data/batch/%s", ld->prefix,
	    ld->batches[c->batch].id);
	start_request(c, req, EVHTTP_REQ_GET, path);
}

/*
 * The poll answers are the big ones (every result with its model curves,
 * ~4.5 KB per spectrum), and parsing them whole with jansson cost this
 * process as much CPU as the server spent rendering them, on the same two
 * cores.  Our own server writes them, so a scan for the few fields we
 * need is enough: the batch counts (before "results") and, per result,
 * "iteration", "status" and "parameters".
 */
static const char *
body_text(struct evhttp_request *req)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);

	if (evbuffer_get_length(b) == 0 || evbuffer_add(b, "", 1) != 0)
		return (NULL);
	return ((const char *)evbuffer_pullup(b, -1));
}

/* The integer after "key": before the first result, or -1. */
static long
head_int(const char *s, const char *results, const char *key)
{
	char k[32];
	const char *p;

	snprintf(k, sizeof k, "\"%s\":", key);
	p = strstr(s, k);
	if (p == NULL || (results != NULL && p > results))
		return (-1);
	return (strtol(p + strlen(k), NULL, 10));
}

/* Check the fitted parameters of R(RC) results against the truth. */
static void
verify_results(struct load *ld, const char *results)
{
	static const char kit[] = "\"iteration\":", kst[] = "\"status\":\"",
	    kpar[] = "\"parameters\":[";
	const char *q = results, *next, *st, *pp;
	char *e;

	while ((q = strstr(q, kit)) != NULL) {
		long it = strtol(q + sizeof kit - 1, &e, 10);
		double want[3], r1;
		bool ok = true;
		int k;

		next = strstr(e, kit);
		st = strstr(e, kst);
		q = next != NULL ? next : e;
		if (st == NULL || (next != NULL && st > next) ||
		    strncmp(st + sizeof kst - 1, "done\"", 5) != 0)
			continue;
		r1 = TRUE_R1 * (1.0 + 0.01 * (double)it);
		want[0] = TRUE_R0; want[1] = r1; want[2] = TRUE_C0;
		pp = strstr(st, kpar);
		if (pp == NULL || (next != NULL && pp > next))
			ok = false;
		else
			pp += sizeof kpar - 1;
		for (k = 0; ok && k < 3; k++) {
			double v = strtod(pp, &e);

			ok = e != pp && *e == (k < 2 ? ',' : ']') &&
			    fabs(v - want[k]) <= VERIFY_RTOL * want[k];
			pp = e + 1;
		}
		if (ok)
			ld->verified++;
		else
			ld->mismatched++;
	}
}

static void
poll_done_cb(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;
	struct load *ld = c->ld;
	struct batch *b = &ld->batches[c->batch];
	int code = response_code(req);
	const char *t;

	c->busy = false;
	if (ld->phase == PH_END)
		return;
	if (code == 0) {
		transport_error(c);	/* polled again next round */
		return;
	}
	if (code == 200 && (t = body_text(req)) != NULL &&
	    head_int(t, NULL, "spectra") >= 0) {
		const char *res = strstr(t, "\"results\":");
		long n = head_int(t, res, "spectra");
		long done = head_int(t, res, "done");
		long failed = head_int(t, res, "failed");

		if (n >= 0)
			b->spectra = (int)n;
		if (done >= 0 && failed >= 0 && done + failed >= b->spectra) {
			b->complete = true;
			ld->round_done++;
			b->done = (int)done;
			b->failed = (int)failed;
			ld->spectra_done += done;
			ld->spectra_failed += failed;
			if (ld->verify && res != NULL)
				verify_results(ld, res);
		}
	} else if (code == 404) {
		/* evicted before we looked (results table full) */
		b->complete = b->lost = true;
		ld->round_done++;
		ld->lost += b->spectra;
	} else if (code != 503) {
		/* a 503 is retried next round; anything else is an error */
		ld->errors++;
		ld->codes[code]++;
	}
	conn_next(c);
}

static void
poll_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct load *ld = arg;
	size_t i;
	int k;

	(void)fd; (void)ev;
	/* Batches finish roughly in the order they were queued: polling
	 * the oldest incomplete ones, not all of them every round, keeps the
	 * status requests from loading the server being measured. */
	while (ld->poll_from < ld->nbatches &&
	    ld->batches[ld->poll_from].complete)
		ld->poll_from++;
	ld->round_len = ld->round_pos = ld->round_done = 0;
	for (i = ld->poll_from; i < ld->nbatches &&
	    ld->round_len < (size_t)ld->conc; i++)
		if (!ld->batches[i].complete)
			ld->round[ld->round_len++] = i;
	if (ld->round_len == 0) {
		ld->done_at = since(&ld->start);
		ld->phase = PH_END;
		event_base_loopbreak(ld->base);
		return;
	}
	for (k = 0; k < ld->conc; k++)
		if (!ld->conns[k].busy)
			conn_next(&ld->conns[k]);
}

/*======================================================================
 * Health mode
 *
 * GET /health costs the server so little that on a small machine the
 * client's cost per request sets the rate as much as the server's does.
 * evhttp parsed every response header into a list, so each header the
 * server added (-profile adds nine) slowed the load generator, and the
 * benchmark blamed the server.  This is a minimal HTTP/1.1 keep-alive
 * client instead: one request built once, the answer read into a buffer
 * per connection, only the status code, Content-Length and Connection
 * looked at, the body skipped.
 */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0
#endif

static void	health_read_cb(evutil_socket_t, short, void *);
static void	health_write_cb(evutil_socket_t, short, void *);
static void	health_start(struct conn *);

static const struct timeval htimeout = { HTIMEOUT_S, 0 };

/* The request, and the server's address: once per run. */
static void
health_setup(struct load *ld)
{
	struct addrinfo hints, *res;
	char host[512], port[16];
	int n;

	snprintf(host, sizeof host, strchr(ld->host, ':') ? "[%s]:%d" : "%s:%d",
	    ld->host, ld->port);
	n = asprintf(&ld->hreq, "GET %s/health HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: impload/" PACKAGE_VERSION "\r\n%s%s%s\r\n",
	    ld->prefix, host, ld->token != NULL ? "Authorization: Bearer " : "",
	    ld->token != NULL ? ld->token : "", ld->token != NULL ? "\r\n" : "");
	if (n < 0)
		fatalx("out of memory");
	ld->hreq_len = (size_t)n;

	/* a name that does not resolve fails every request, as with evhttp */
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", ld->port);
	if (getaddrinfo(ld->host, port, &hints, &res) != 0)
		return;
	if (res->ai_addrlen <= sizeof ld->haddr) {
		memcpy(&ld->haddr, res->ai_addr, res->ai_addrlen);
		ld->haddr_len = (socklen_t)res->ai_addrlen;
	}
	freeaddrinfo(res);
}

static void
health_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	event_free(c->rev);
	event_free(c->wev);
	c->rev = c->wev = NULL;
	close(c->fd);
	c->fd = -1;
	c->connecting = c->reused = false;
}

static int
health_connect(struct conn *c)
{
	struct load *ld = c->ld;
	evutil_socket_t fd;
	int one = 1;

	if (ld->haddr_len == 0)
		return (-1);
	fd = socket(ld->haddr.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return (-1);
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0) {
		close(fd);
		return (-1);
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->connecting = false;
	if (connect(fd, (struct sockaddr *)&ld->haddr, ld->haddr_len) != 0) {
		if (errno != EINPROGRESS) {
			close(fd);
			return (-1);
		}
		c->connecting = true;
	}
	c->fd = fd;
	c->rev = event_new(ld->base, fd, EV_READ | EV_PERSIST, health_read_cb, c);
	c->wev = event_new(ld->base, fd, EV_WRITE, health_write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		fatalx("event_new failed");
	return (0);
}

/* No answer: counted as a transport error, except that a keep-alive
 * connection the server closed before this request saw a byte of answer
 * is reopened and the request sent once more, as evhttp does. */
static void
health_fail(struct conn *c)
{
	bool again = c->reused && !c->retried && c->hlen == 0 &&
	    c->hcode == 0;

	health_close(c);
	if (c->ld->phase == PH_END) {
		c->busy = false;
		return;
	}
	if (again) {
		c->retried = true;
		health_start(c);
		return;
	}
	transport_error(c);
}

static void
health_done(struct conn *c)
{
	struct load *ld = c->ld;
	int code = c->hcode;

	c->busy = false;
	if (c->hclose)
		health_close(c);
	else
		c->reused = true;
	if (ld->phase == PH_END)
		return;
	record_latency(ld, since(&c->t0) * 1e3);
	ld->codes[code]++;
	if (code != 200)
		ld->errors++;
	conn_next(c);
}

static void
health_write(struct conn *c)
{
	struct load *ld = c->ld;
	ssize_t n;

	while (c->wpos < ld->hreq_len) {
		n = send(c->fd, ld->hreq + c->wpos, ld->hreq_len - c->wpos,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				event_add(c->wev, &htimeout);
			else
				health_fail(c);
			return;
		}
		c->wpos += (size_t)n;
	}
	event_add(c->rev, &htimeout);
}

static void
health_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;
	socklen_t len;
	int err = 0;

	if (ev & EV_TIMEOUT) {
		health_fail(c);
		return;
	}
	if (c->connecting) {
		len = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0) {
			health_fail(c);
			return;
		}
		c->connecting = false;
	}
	health_write(c);
}

/*
 * The answer's head, once complete: 1, with hcode, hskip (body bytes
 * still unread) and hclose set; 0 while incomplete; -1 if it is not HTTP.
 * Only lines starting with 'c' get a second look, so what the other
 * header lines say costs a memchr.
 */
static int
health_parse(struct conn *c)
{
	const char *p = c->hbuf, *end, *line, *eol, *v;
	size_t from = c->hscan > 3 ? c->hscan - 3 : 0;
	long long cl = -1;

	end = memmem(p + from, c->hlen - from, "\r\n\r\n", 4);
	if (end == NULL) {
		c->hscan = c->hlen;
		return (0);
	}
	end += 2;	/* just past the last header line's CRLF */
	if (end - p < 14 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9')
		return (-1);
	c->hcode = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	c->hclose = false;
	for (line = memchr(p, '\n', (size_t)(end - p)) + 1; line < end;
	    line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if ((line[0] | 0x20) != 'c')
			continue;
		if (eol - line > 15 && strncasecmp(line, "content-length:", 15) == 0) {
			for (v = line + 15; *v == ' ' || *v == '\t'; v++)
				continue;
			if (*v < '0' || *v > '9')
				return (-1);
			for (cl = 0; *v >= '0' && *v <= '9'; v++) {
				if (cl > (LLONG_MAX - 9) / 10)
					return (-1);
				cl = cl * 10 + (*v - '0');
			}
		} else if (eol - line > 11 &&
		    strncasecmp(line, "connection:", 11) == 0) {
			for (v = line + 11; *v == ' ' || *v == '\t'; v++)
				continue;
			c->hclose = strncasecmp(v, "close", 5) == 0;
		}
	}
	/* our server always sends a length; without one the body would run
	 * to the close, which a keep-alive benchmark does not want */
	if (cl < 0)
		return (-1);
	c->hskip = cl - (long long)(c->hlen - (size_t)(end + 2 - p));
	return (1);
}

static void
health_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	if (!c->busy) {
		/* idle after the run: the server closed, or the timer ran */
		health_close(c);
		return;
	}
	if (ev & EV_TIMEOUT) {
		health_fail(c);
		return;
	}
	/* the head goes after what was read before; body bytes are only
	 * counted, over the buffer's start */
	n = recv(fd, c->hbuf + c->hlen, HBUF_SIZE - c->hlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		health_fail(c);
		return;
	}
	if (c->hcode == 0) {
		int r;

		c->hlen += (size_t)n;
		r = health_parse(c);
		if (r == 0 && c->hlen == HBUF_SIZE)
			r = -1;		/* a head this big is not /health's */
		if (r < 0 || c->hcode >= MAX_CODE) {
			c->hlen = 0;	/* no retry: the server did answer */
			c->hcode = 0;
			c->reused = false;
			health_fail(c);
			return;
		}
		if (r == 0)
			return;
		c->hlen = 0;
	} else
		c->hskip -= n;
	/* hskip < 0 (more than the body) cannot happen without pipelining;
	 * the extra bytes are dropped */
	if (c->hskip <= 0)
		health_done(c);
}

/* Send the request on c's connection, opening it first if need be. */
static void
health_start(struct conn *c)
{
	c->wpos = c->hlen = c->hscan = 0;
	c->hcode = 0;
	c->hclose = false;
	c->hskip = 0;
	if (c->fd < 0 && health_connect(c) != 0) {
		health_fail(c);
		return;
	}
	if (c->connecting)
		event_add(c->wev, &htimeout);
	else
		health_write(c);
}

static void
send_health(struct conn *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	c->busy = true;
	c->retried = false;
	health_start(c);
}

/*======================================================================
 * Scheduling
 */

static bool
any_busy(struct load *ld)
{
	int k;

	for (k = 0; k < ld->conc; k++)
		if (ld->conns[k].busy ||
		    evtimer_pending(ld->conns[k].backoff, NULL))
			return (true);
	return (false);
}

/* Give conn c its next request, or let it idle; the last conn to go idle
 * ends the phase. */
static void
conn_next(struct conn *c)
{
	struct load *ld = c->ld;

	if (ld->phase == PH_POST) {
		if (!post_stopping(ld)) {
			ld->started++;
			if (ld->health) {
				send_health(c);
				return;
			}
			if (ld->nbatches == ld->cap_batches) {
				ld->cap_batches = ld->cap_batches ?
				    2 * ld->cap_batches : 256;
				ld->batches = xrealloc(ld->batches,
				    ld->cap_batches, sizeof *ld->batches);
			}
			c->batch = ld->nbatches++;
			memset(&ld->batches[c->batch], 0, sizeof(struct batch));
			snprintf(ld->batches[c->batch].id,
			    sizeof ld->batches[c->batch].id, "impload-%s-%zu",
			    ld->run_id, c->batch);
			send_post(c);
			return;
		}
		if (any_busy(ld))
			return;
		ld->post_end = since(&ld->start);
		if (ld->health) {
			ld->phase = PH_END;
			event_base_loopbreak(ld->base);
			return;
		}
		ld->phase = PH_POLL;
		ld->round = xrealloc(NULL, (size_t)ld->conc, sizeof *ld->round);
		event_active(ld->poll_timer, EV_TIMEOUT, 0);
		return;
	}
	if (ld->phase != PH_POLL)
		return;
	if (ld->round_pos < ld->round_len) {
		c->batch = ld->round[ld->round_pos++];
		send_poll(c);
		return;
	}
	if (!any_busy(ld)) {
		/* round over: go on at once while every batch polled was
		 * complete, else pause so a busy server is not hammered */
		struct timeval tv = to_tv(ld->round_done == ld->round_len ?
		    0 : ld->poll_ms / 1e3);

		evtimer_add(ld->poll_timer, &tv);
	}
}

/*======================================================================
 * Report
 */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static double
pct(const struct load *ld, double p)
{
	size_t i;

	if (ld->nlat == 0)
		return (0.0);
	i = (size_t)ceil(p / 100.0 * (double)ld->nlat);
	return (ld->lat[i == 0 ? 0 : i - 1]);
}

static bool
report(struct load *ld)
{
	double mean = 0, post_s = ld->post_end > 0 ? ld->post_end : 1e-9;
	bool all_done = !ld->health && !ld->timed_out && ld->done_at > 0;
	bool ok;
	json_t *o, *codes, *lat;
	size_t i;
	char key[8];

	if (ld->nlat > 0)
		qsort(ld->lat, ld->nlat, sizeof *ld->lat, cmp_double);
	for (i = 0; i < ld->nlat; i++)
		mean += ld->lat[i];
	if (ld->nlat)
		mean /= (double)ld->nlat;
	ok = ld->errors == 0 && !ld->timed_out;
	if (!ld->health)
		ok = ok && all_done && ld->spectra_failed == 0 &&
		    ld->lost == 0 && ld->mismatched == 0;

	if (ld->json) {
		codes = json_object();
		for (i = 0; i < MAX_CODE; i++)
			if (ld->codes[i]) {
				snprintf(key, sizeof key, "%zu", i);
				json_object_set_new(codes, key,
				    json_integer(ld->codes[i]));
			}
		lat = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "p50", pct(ld, 50),
		    "p90", pct(ld, 90), "p99", pct(ld, 99), "p999",
		    pct(ld, 99.9), "max", pct(ld, 100), "mean", mean);
		o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:f,s:o,s:o,s:b,s:b}",
		    "mode", ld->health ? "health" : "batch", "url", ld->url,
		    "concurrency", ld->conc, "requests", (json_int_t)ld->nlat,
		    "errors", (json_int_t)ld->errors, "seconds", ld->post_end,
		    "codes", codes, "latency_ms", lat, "timed_out",
		    ld->timed_out, "ok", ok);
		if (ld->health) {
			json_object_set_new(o, "requests_per_s",
			    json_real((double)ld->nlat / post_s));
		} else {
			json_t *b = json_pack("{s:I,s:I,s:I,s:f,s:I,s:I,s:I,"
			    "s:I,s:b,s:f,s:f}",
			    "batches_sent", (json_int_t)ld->nbatches,
			    "batches_accepted", (json_int_t)ld->accepted,
			    "spectra_accepted", (json_int_t)ld->spectra_accepted,
			    "accepted_spectra_per_s",
			    (double)ld->spectra_accepted / post_s,
			    "http_503", (json_int_t)ld->n503,
			    "spectra_done", (json_int_t)ld->spectra_done,
			    "spectra_failed", (json_int_t)ld->spectra_failed,
			    "spectra_lost", (json_int_t)ld->lost,
			    "all_done", all_done,
			    "done_seconds", ld->done_at,
			    "e2e_spectra_per_s", all_done ?
			    (double)ld->spectra_done / ld->done_at : 0.0);

			json_object_update(o, b);
			json_decref(b);
			if (ld->verify) {
				json_object_set_new(o, "verified",
				    json_integer(ld->verified));
				json_object_set_new(o, "mismatched",
				    json_integer(ld->mismatched));
			}
		}
		char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
		puts(s);
		free(s);
		json_decref(o);
		return (ok);
	}

	if (ld->health) {
		printf("impload: GET http://%s:%d%s/health, %d connections\n",
		    ld->host, ld->port, ld->prefix, ld->conc);
		printf("  requests:   %zu in %.3f s, %.1f requests/s, errors %ld\n",
		    ld->nlat, ld->post_end, (double)ld->nlat / post_s, ld->errors);
	} else {
		printf("impload: POST http://%s:%d%s/eis-data/batch, %d "
		    "connections, %d spectra x %d points per batch\n", ld->host,
		    ld->port, ld->prefix, ld->conc, ld->nspectra, ld->npoints);
		printf("  batches:    sent %zu, accepted %ld (%ld spectra), "
		    "503s %ld, errors %ld\n", ld->nbatches, ld->accepted,
		    ld->spectra_accepted, ld->n503, ld->errors);
		printf("  posting:    %.3f s, %.1f accepted spectra/s\n",
		    ld->post_end, (double)ld->spectra_accepted / post_s);
	}
	printf("  latency:    p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
	    "max %.2f ms, mean %.2f ms\n", pct(ld, 50), pct(ld, 90),
	    pct(ld, 99), pct(ld, 100), mean);
	printf("  codes:     ");
	for (i = 0; i < MAX_CODE; i++)
		if (ld->codes[i])
			printf(" %s%zu: %ld", i ? "" : "(no response) ", i,
			    ld->codes[i]);
	printf("\n");
	if (!ld->health) {
		printf("  completion: %ld done, %ld failed, %ld lost; ",
		    ld->spectra_done, ld->spectra_failed, ld->lost);
		if (all_done)
			printf("all done after %.3f s, %.1f spectra/s end to end\n",
			    ld->done_at, (double)ld->spectra_done / ld->done_at);
		else
			printf("NOT all done (run timed out after %g s)\n",
			    ld->timeout);
		if (ld->verify)
			printf("  verified:   %ld fits within %.0f%% of the truth, "
			    "%ld off\n", ld->verified, VERIFY_RTOL * 100,
			    ld->mismatched);
	}
	else if (ld->timed_out)
		printf("  TIMED OUT after %g s\n", ld->timeout);
	return (ok);
}

/*======================================================================
 * Main
 */

static void
usage(void)
{
	fprintf(stderr,
"usage: impload [-H] [--json] [-c conns] [-n count | -d seconds] [-u url]\n"
"               [-t token] [-k circuit] [-s spectra] [-p points]\n"
"               [-T timeout] [-i poll-ms]\n"
"  -u URL     server base (default http://127.0.0.1:8080)\n"
"  -c N       concurrent connections (default 4)\n"
"  -n N       batches to post (default 100; requests with -H: 10000)\n"
"  -d S       post for S seconds instead of -n\n"
"  -t TOKEN   API token (Authorization: Bearer; default $IMP_API_TOKEN)\n"
"  -k CDC     circuit to request (default: the server's; fits are only\n"
"             verified against the truth for R(RC))\n"
"  -s N, -p N spectra per batch (12), points per spectrum (23)\n"
"  -T S       give up after S seconds in all (default 120)\n"
"  -i MS      pause between status poll rounds (default 20)\n"
"  -H         measure GET /health instead of posting batches\n"
"  --no-verify  do not check fitted parameters against the truth\n"
"  --json     one JSON line instead of the human report\n"
"exit: 0 all accepted spectra done without errors, 1 otherwise, 2 usage\n");
	exit(2);
}

static double
num_arg(const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		fatalx("bad number '%s' (want %g..%g)", s, lo, hi);
	return (v);
}

static void
parse_url(struct load *ld)
{
	struct evhttp_uri *u = evhttp_uri_parse(ld->url);
	const char *sch, *h, *p;
	size_t n;

	if (u == NULL)
		fatalx("bad URL '%s'", ld->url);
	sch = evhttp_uri_get_scheme(u);
	h = evhttp_uri_get_host(u);
	if (sch == NULL || strcmp(sch, "http") != 0 || h == NULL || *h == '\0') {
		evhttp_uri_free(u);
		fatalx("bad URL '%s' (want http://host[:port][/prefix])",
		    ld->url);
	}
	ld->host = strdup(h);
	ld->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	p = evhttp_uri_get_path(u);
	ld->prefix = strdup(p != NULL ? p : "");
	/* "http://h:8080/" and "http://h:8080" mean the same base */
	n = strlen(ld->prefix);
	while (n > 0 && ld->prefix[n - 1] == '/')
		ld->prefix[--n] = '\0';
	evhttp_uri_free(u);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'J' },
		{ "health",	no_argument,	NULL, 'H' },
		{ "no-verify",	no_argument,	NULL, 'N' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct load ld = {
		.url = "http://127.0.0.1:8080", .conc = 4, .max_n = -1,
		.timeout = 120, .poll_ms = 20, .nspectra = 12, .npoints = 23,
	};
	struct timeval tv;
	bool ok;
	int ch, k;

	ld.token = getenv("IMP_API_TOKEN");
	while ((ch = getopt_long(argc, argv, "c:d:Hhi:k:n:p:s:T:t:u:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': ld.conc = (int)num_arg(optarg, 1, 10000); break;
		case 'd': ld.duration = num_arg(optarg, 0.001, 1e6); break;
		case 'H': ld.health = true; break;
		case 'i': ld.poll_ms = num_arg(optarg, 0, 60000); break;
		case 'J': ld.json = true; break;
		case 'k': ld.circuit = optarg; break;
		case 'N': ld.no_verify = true; break;
		case 'n': ld.max_n = (long)num_arg(optarg, 1, 1e12); break;
		case 'p': ld.npoints = (int)num_arg(optarg, 2, 100000); break;
		case 's': ld.nspectra = (int)num_arg(optarg, 1, 100000); break;
		case 'T': ld.timeout = num_arg(optarg, 0.1, 1e7); break;
		case 't': ld.token = optarg; break;
		case 'u': ld.url = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (ld.max_n < 0)
		ld.max_n = ld.health ? 10000 : 100;
	if (ld.token != NULL && *ld.token == '\0')
		ld.token = NULL;
	ld.verify = !ld.health && !ld.no_verify && (ld.circuit == NULL ||
	    strcasecmp(ld.circuit, "R(RC)") == 0);
	parse_url(&ld);
	if (ld.circuit != NULL) {
		json_t *js = json_string(ld.circuit);

		if (js == NULL)
			fatalx("circuit is not UTF-8");
		ld.circuit_json = json_dumps(js, JSON_ENCODE_ANY);
		json_decref(js);
	}
	/* batch ids unique across runs: a re-used id would return the old
	 * batch's status instead of creating work */
	snprintf(ld.run_id, sizeof ld.run_id, "%ld-%ld", (long)time(NULL),
	    (long)getpid());
	if (!ld.health) {
		ld.spectra_json = make_spectra(ld.nspectra, ld.npoints);
		ld.spectra_len = strlen(ld.spectra_json);
	}

	if ((ld.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (ld.health)
		health_setup(&ld);
	ld.conns = xrealloc(NULL, (size_t)ld.conc, sizeof *ld.conns);
	for (k = 0; k < ld.conc; k++) {
		struct conn *c = &ld.conns[k];

		memset(c, 0, sizeof *c);
		c->ld = &ld;
		c->fd = -1;
		c->backoff = evtimer_new(ld.base, backoff_cb, c);
		if (ld.health) {
			c->hbuf = xrealloc(NULL, HBUF_SIZE, 1);
			continue;
		}
		c->evcon = evhttp_connection_base_new(ld.base, NULL, ld.host,
		    (ev_uint16_t)ld.port);
		if (c->evcon == NULL)
			fatalx("cannot connect to %s:%d", ld.host, ld.port);
		evhttp_connection_set_timeout(c->evcon, 30);
	}
	ld.deadline = evtimer_new(ld.base, deadline_cb, &ld);
	ld.poll_timer = evtimer_new(ld.base, poll_timer_cb, &ld);
	tv = to_tv(ld.timeout);
	evtimer_add(ld.deadline, &tv);

	clock_gettime(CLOCK_MONOTONIC, &ld.start);
	ld.phase = PH_POST;
	for (k = 0; k < ld.conc; k++)
		conn_next(&ld.conns[k]);
	event_base_dispatch(ld.base);
	if (ld.post_end == 0)
		ld.post_end = since(&ld.start);

	ok = report(&ld);

	/* free everything, so ASan builds stay quiet */
	for (k = 0; k < ld.conc; k++) {
		if (ld.conns[k].evcon != NULL)
			evhttp_connection_free(ld.conns[k].evcon);
		health_close(&ld.conns[k]);
		free(ld.conns[k].hbuf);
		event_free(ld.conns[k].backoff);
	}
	event_free(ld.deadline);
	event_free(ld.poll_timer);
	event_base_free(ld.base);
	free(ld.conns);
	free(ld.batches);
	free(ld.round);
	free(ld.lat);
	free(ld.spectra_json);
	free(ld.circuit_json);
	free(ld.hreq);
	free(ld.host);
	free(ld.prefix);
	return (ok ? 0 : 1);
}
