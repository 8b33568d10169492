/*
 * impcore - whk-sink: the fastest webhook receiver we can write, for
 * tools/bench-webhook.sh.
 *
 * libevent evhttp on 127.0.0.1: every POST is answered 200 at once and
 * counted; GET /count answers {"posts": N, "first": T, "last": T} (times of
 * the first and last POST, CLOCK_REALTIME seconds), so a benchmark can
 * compute a delivery rate without a Python receiver being the bottleneck.
 *
 *   whk-sink [-p port] [-f port-file]	(port 0: any; the port is written
 *					to port-file once bound)
 */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

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
sink_req(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	(void)arg;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		sink_last = sink_now();
		if (sink_posts++ == 0)
			sink_first = sink_last;
		evbuffer_add(out, "{}", 2);
	} else {
		evbuffer_add_printf(out, "{\"posts\": %ju, \"first\": %.6f, "
		    "\"last\": %.6f}\n", (uintmax_t)sink_posts, sink_first,
		    sink_last);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", out);
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
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	struct event_base *base;
	struct event *ev;
	struct evhttp *http;
	const char *pfile = NULL;
	int c, port = 0;
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
	base = event_base_new();
	http = evhttp_new(base);
	if (base == NULL || http == NULL)
		return (1);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(http, sink_req, NULL);
	bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port);
	if (bs == NULL) {
		fprintf(stderr, "whk-sink: cannot bind 127.0.0.1:%d\n", port);
		return (1);
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	    &sl) != 0)
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
	} else
		printf("%d\n", ntohs(sin.sin_port));
	ev = evsignal_new(base, SIGTERM, sink_stop, base);
	event_add(ev, NULL);
	event_base_dispatch(base);
	event_free(ev);
	evhttp_free(http);
	event_base_free(base);
	return (0);
}
