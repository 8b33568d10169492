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
	struct evconnlistener	*lev;
	struct event		*ev;		/* ends the pause */
	int			paused;
	uint64_t		logged;		/* tim_mono() of the last line */
	unsigned		unlogged;	/* pauses since */
};

/* Watch lev (not owned); -1 when out of memory. */
int lpause_init(struct lpause *lp, struct event_base *base,
    struct evconnlistener *lev);
/*
 * From the listener's error callback, errno err: 1 when it was a shortage
 * of descriptors or memory (paused, counted, maybe logged), else 0 (the
 * caller logs it).  nconns: connections open, for the log line (-1: not
 * known).
 */
int lpause_error(struct lpause *lp, int err, int nconns);
/* Accept again now (a descriptor was freed); no-op unless paused. */
void lpause_resume(struct lpause *lp);
/* Before the listener is freed: no resume may touch it after. */
void lpause_fini(struct lpause *lp);

#endif /* IMP_LPAUSE_H */
