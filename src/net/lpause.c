/*
 * impcore - pause a listener that ran out of descriptors (lpause.h).
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <string.h>

#include "lib/log.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "net/lpause.h"

#define LPAUSE_LOG_NS	(60 * 1000000000ull)

static void
lpause_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lpause_resume(arg);
}

int
lpause_init(struct lpause *lp, struct event_base *base,
    struct evconnlistener *lev, const char *what)
{
	memset(lp, 0, sizeof *lp);
	lp->what = what;
	lp->lev = lev;
	lp->ev = evtimer_new(base, lpause_timer, lp);
	return (lp->ev != NULL ? 0 : -1);
}

void
lpause_error(struct lpause *lp, int err, int nconns)
{
	struct timeval tv = { 0, LPAUSE_MS * 1000 };
	uint64_t now;

	/* (libevent filters these already; cheap to be sure) */
	if (err == EAGAIN || err == EINTR || err == ECONNABORTED)
		return;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_msg(LOG_ERR, "%s: %s", lp->what, strerror(err));
		return;
	}
	if (lp->lev == NULL)
		return;
	evconnlistener_disable(lp->lev);
	lp->paused = 1;
	evtimer_add(lp->ev, &tv);
	STAT_INC(http_accept_paused);
	now = tim_mono();
	if (lp->logged != 0 && now - lp->logged < LPAUSE_LOG_NS) {
		lp->unlogged++;
		return;
	}
	log_msg(LOG_ERR, "%s: %s: not accepting for %d ms, %d connections "
	    "open (%u more pauses in the last minute; raise the open files "
	    "limit, ulimit -n)", lp->what, strerror(err), LPAUSE_MS, nconns,
	    lp->unlogged);
	lp->logged = now;
	lp->unlogged = 0;
}

void
lpause_resume(struct lpause *lp)
{
	if (!lp->paused)
		return;
	lp->paused = 0;
	evtimer_del(lp->ev);
	if (lp->lev != NULL)
		evconnlistener_enable(lp->lev);
}

void
lpause_fini(struct lpause *lp)
{
	if (lp->ev != NULL)
		event_free(lp->ev);
	lp->ev = NULL;
	lp->lev = NULL;
	lp->paused = 0;
}
