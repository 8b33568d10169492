/*
 * impcore - a listener that runs out of descriptors pauses instead of
 * spinning.
 *
 * When accept() fails with EMFILE or ENFILE (or ENOBUFS, ENOMEM), the
 * connection stays in the backlog and the socket stays readable, so
 * libevent calls accept() again at once, forever: a worker spun at full
 * CPU and wrote a million log lines in three seconds.  lpause_error()
 * disables the listener for LPAUSE_MS (or until lpause_resume(): a
 * connection closed, a descriptor is free), counts the pause
 * (http_accept_paused) and logs it once a minute at most, as nginx does.
 */
#ifndef IMP_LPAUSE_H
#define IMP_LPAUSE_H

#include <stdint.h>

#define LPAUSE_MS	100

struct event;
struct event_base;
struct evconnlistener;

struct lpause {
	const char		*what;		/* names the listener in logs */
	struct evconnlistener	*lev;
	struct event		*ev;		/* ends the pause */
	int			paused;
	uint64_t		logged;		/* tim_mono() of the last line */
	unsigned		unlogged;	/* pauses since */
};

/* Watch lev (not owned); what names it in logs ("accept()").  -1 when
 * out of memory. */
int lpause_init(struct lpause *lp, struct event_base *base,
    struct evconnlistener *lev, const char *what);
/*
 * The listener's error callback calls this with errno: a shortage of
 * descriptors or memory pauses (counted, logged once a minute), another
 * error is logged, a transient one ignored.  nconns: connections open, for
 * the log line (-1: not known).
 */
void lpause_error(struct lpause *lp, int err, int nconns);
/* Accept again now (a descriptor was freed); no-op unless paused. */
void lpause_resume(struct lpause *lp);
/* Before the listener is freed: no resume may touch it after. */
void lpause_fini(struct lpause *lp);

#endif /* IMP_LPAUSE_H */
