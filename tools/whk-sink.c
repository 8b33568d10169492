/*
 * impcore - whk-sink: the cheapest webhook receiver we can write, for
 * tools/bench-webhook.sh.
 *
 * The benchmark measures the webhook process, and this receiver shares the
 * machine with it, so every cycle spent here is taken from what is
 * measured.  Hence no HTTP library: raw keep-alive HTTP/1.1 on nonblocking
 * sockets driven by libevent's plain events.  Per request we find the end
 * of the headers, read Content-Length by hand (the only framing supported:
 * Transfer-Encoding is answered 400 and the connection closed), skip the
 * body without looking at it, and once it is in answer a fixed 200 with
 * no body.  Other headers are not parsed, only scanned for their first
 * letter.
 *
 * Every POST is counted; GET (any path, /count by convention) answers
 * {"posts": N, "first": T, "last": T} (times of the first and last POST,
 * CLOCK_REALTIME seconds), so a benchmark can compute a delivery rate.
 *
 *   whk-sink [-p port] [-f port-file]	(port 0: any; the port is written
 *					to port-file once bound)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

/* Room for one request's headers (and the start of its body). */
#define SINK_IBUF	16384
/* Answers not yet written: a client that pipelines and does not read. */
#define SINK_OBUF	4096

#define SINK_POST	1
#define SINK_GET	2

static const char ok_200[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
static const char bad_400[] = "HTTP/1.1 400 Bad Request\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char bad_405[] = "HTTP/1.1 405 Method Not Allowed\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char bad_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

struct conn {
	int		fd;
	struct event	ev;
	int		closing;	/* answer written, then close */
	int		want;		/* the request read: SINK_POST, SINK_GET, 0 none */
	uint64_t	skip;		/* its body bytes still to discard */
	size_t		ilen, olen, ooff;
	char		ibuf[SINK_IBUF];
	char		obuf[SINK_OBUF];
};

static struct event_base *sink_base;
static uint64_t	sink_posts;
static double	sink_first, sink_last;

static double
sink_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
conn_close(struct conn *c)
{
	event_del(&c->ev);
	close(c->fd);
	free(c);
}

/* Queue an answer; 0 ok, -1 no room (the client pipelines without reading). */
static int
conn_out(struct conn *c, const char *p, size_t n)
{
	if (c->olen + n > sizeof c->obuf)
		return (-1);
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return (0);
}

/*
 * Does the header line [p, e) name h (lower case, with its colon)?  If so,
 * where its value starts, blanks skipped.
 */
static const char *
hdr_is(const char *p, const char *e, const char *h, size_t hl)
{
	if ((size_t)(e - p) < hl || strncasecmp(p, h, hl) != 0)
		return (NULL);
	for (p += hl; p < e && (*p == ' ' || *p == '\t'); p++)
		;
	return (p);
}

/*
 * The headers of one request are ibuf[0, hlen): note what it is and how
 * long its body is (c->want, c->skip).  0 ok, -1 refused: the answer saying
 * so is queued and the connection closes.
 */
static int
conn_request(struct conn *c, size_t hlen)
{
	const char *p = c->ibuf, *end = c->ibuf + hlen, *nl, *v;
	uint64_t clen = 0;

	if (hlen >= 5 && memcmp(p, "POST ", 5) == 0)
		c->want = SINK_POST;
	else if (hlen >= 4 && memcmp(p, "GET ", 4) == 0)
		c->want = SINK_GET;
	else {
		(void)conn_out(c, bad_405, sizeof bad_405 - 1);
		return (-1);
	}
	/* header lines, after the request line; only the first letter of
	 * most of them is looked at */
	for (p = memchr(p, '\n', (size_t)(end - p)); p != NULL && ++p < end;
	    p = nl) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		switch (*p) {
		case 'c':
		case 'C':
			if ((v = hdr_is(p, nl, "content-length:", 15)) != NULL) {
				if (v >= nl || *v < '0' || *v > '9')
					goto bad;
				for (clen = 0; v < nl && *v >= '0' && *v <= '9';
				    v++) {
					if (clen > (UINT64_MAX - 9) / 10)
						goto bad;
					clen = clen * 10 + (uint64_t)(*v - '0');
				}
			} else if ((v = hdr_is(p, nl, "connection:", 11)) !=
			    NULL && nl - v >= 5 && strncasecmp(v, "close", 5) == 0)
				c->closing = 1;
			break;
		case 't':
		case 'T':
			/* chunked (or any other coding): not supported */
			if (hdr_is(p, nl, "transfer-encoding:", 18) != NULL)
				goto bad;
			break;
		default:
			break;
		}
	}
	c->skip = clen;
	return (0);
bad:
	c->want = 0;
	(void)conn_out(c, bad_400, sizeof bad_400 - 1);
	return (-1);
}

/*
 * The request and its body are in: count it and answer.  Not before the
 * body is: an answer while it is still being sent makes libcurl give up
 * the connection.  0 ok, -1 the connection closes after the answer.
 */
static int
conn_answer(struct conn *c)
{
	char js[128], hd[128];
	int n, hn;

	if (c->want == SINK_POST) {
		sink_last = sink_now();
		if (sink_posts++ == 0)
			sink_first = sink_last;
		if (conn_out(c, ok_200, sizeof ok_200 - 1) != 0)
			return (-1);
	} else {
		n = snprintf(js, sizeof js, "{\"posts\": %ju, \"first\": %.6f, "
		    "\"last\": %.6f}\n", (uintmax_t)sink_posts, sink_first,
		    sink_last);
		hn = snprintf(hd, sizeof hd, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		    n);
		if (conn_out(c, hd, (size_t)hn) != 0 ||
		    conn_out(c, js, (size_t)n) != 0)
			return (-1);
	}
	c->want = 0;
	return (c->closing ? -1 : 0);
}

/* Consume what ibuf holds: bodies skipped, requests answered. */
static int
conn_parse(struct conn *c)
{
	size_t off = 0, n;
	const char *e;
	int rc = 0;

	for (;;) {
		if (c->skip > 0) {
			n = c->ilen - off;
			if (n > c->skip)
				n = (size_t)c->skip;
			c->skip -= n;
			off += n;
			if (c->skip > 0)
				break;		/* the rest of the body to come */
		}
		if (c->want != 0 && conn_answer(c) != 0) {
			rc = -1;
			break;
		}
		if (off >= c->ilen)
			break;
		e = memmem(c->ibuf + off, c->ilen - off, "\r\n\r\n", 4);
		if (e == NULL) {
			if (off == 0 && c->ilen == sizeof c->ibuf) {
				(void)conn_out(c, bad_431, sizeof bad_431 - 1);
				rc = -1;
			}
			break;
		}
		n = (size_t)(e + 4 - (c->ibuf + off));
		if (off > 0) {
			memmove(c->ibuf, c->ibuf + off, c->ilen - off);
			c->ilen -= off;
			off = 0;
		}
		if (conn_request(c, n) != 0) {
			rc = -1;
			break;
		}
		off = n;
	}
	if (off > 0) {
		memmove(c->ibuf, c->ibuf + off, c->ilen - off);
		c->ilen -= off;
	}
	return (rc);
}

/* Write what is queued.  1 all written, 0 the rest waits, -1 error. */
static int
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->ooff < c->olen) {
		n = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1);
		}
		c->ooff += (size_t)n;
	}
	c->olen = c->ooff = 0;
	return (1);
}

static void
conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;
	int f;

	(void)fd;
	if (what & EV_READ) {
		n = recv(c->fd, c->ibuf + c->ilen, sizeof c->ibuf - c->ilen, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR &&
		    errno != EWOULDBLOCK)) {
			conn_close(c);
			return;
		}
		if (n > 0) {
			c->ilen += (size_t)n;
			if (conn_parse(c) != 0)
				c->closing = 1;
		}
	}
	if (c->olen == 0) {
		if (c->closing)
			conn_close(c);
		return;
	}
	f = conn_flush(c);
	if (f < 0 || (f > 0 && c->closing)) {
		conn_close(c);
		return;
	}
	/* a client that does not read: stop reading it until it does */
	if ((f == 0) != ((event_get_events(&c->ev) & EV_WRITE) != 0)) {
		event_del(&c->ev);
		event_assign(&c->ev, sink_base, c->fd, EV_PERSIST |
		    (f == 0 ? EV_WRITE : EV_READ), conn_event, c);
		event_add(&c->ev, NULL);
	}
}

static void
sink_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct conn *c;
	int fd, one = 1;

	(void)what;
	(void)arg;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
	    0) {
		/* answers are single small writes: never hold them back */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = malloc(sizeof *c);
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->closing = 0;
		c->want = 0;
		c->skip = 0;
		c->ilen = c->olen = c->ooff = 0;
		event_assign(&c->ev, sink_base, fd, EV_READ | EV_PERSIST,
		    conn_event, c);
		event_add(&c->ev, NULL);
	}
}

static void
sink_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	struct event *ev, *lev;
	const char *pfile = NULL;
	int c, lfd, one = 1, port = 0;
	FILE *f;

	while ((c = getopt(argc, argv, "p:f:")) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'f':
			pfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: whk-sink [-p port] [-f port-file]\n");
			return (2);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sink_base = event_base_new();
	if (sink_base == NULL)
		return (1);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return (1);
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(lfd, 1024) != 0) {
		fprintf(stderr, "whk-sink: cannot bind 127.0.0.1:%d\n", port);
		return (1);
	}
	if (getsockname(lfd, (struct sockaddr *)&sin, &sl) != 0)
		return (1);
	if (pfile != NULL) {
		char tmp[4096];

		snprintf(tmp, sizeof tmp, "%s.tmp", pfile);
		f = fopen(tmp, "w");
		if (f == NULL || fprintf(f, "%d\n", ntohs(sin.sin_port)) < 0 ||
		    fclose(f) != 0 || rename(tmp, pfile) != 0) {
			perror(pfile);
			return (1);
		}
	} else {
		printf("%d\n", ntohs(sin.sin_port));
		fflush(stdout);
	}
	lev = event_new(sink_base, lfd, EV_READ | EV_PERSIST, sink_accept, NULL);
	ev = evsignal_new(sink_base, SIGTERM, sink_stop, sink_base);
	if (lev == NULL || ev == NULL)
		return (1);
	event_add(lev, NULL);
	event_add(ev, NULL);
	event_base_dispatch(sink_base);
	event_free(ev);
	event_free(lev);
	close(lfd);
	event_base_free(sink_base);
	return (0);
}
