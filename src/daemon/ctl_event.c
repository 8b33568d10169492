/*
 * impcore - a process's event loop watches its slot's eventfd (ctl.h).
 *
 * Here rather than in state/ctl.c: the state layer does not link libevent
 * (impctl sends commands and waits for acks without an event loop).
 */
#include "config.h"

#include <event2/event.h>

#include "daemon/ctl_event.h"
#include "state/ctl.h"

struct ctl_ev {
	struct shm	*shm;
	int		slot;
	void		(*wake)(void *);
	void		*arg;
};

static void
ctl_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_ev *ce = arg;

	(void)fd;
	(void)what;
	ctl_dispatch(ce->shm, ce->slot);
	if (ce->wake != NULL)
		ce->wake(ce->arg);
}

struct event *
ctl_event_new(struct event_base *base, struct shm *shm, int slot,
    void (*wake)(void *arg), void *arg)
{
	/* one small allocation per process lifetime, freed by the process exit */
	static struct ctl_ev ce;
	struct event *ev;

	ce.shm = shm;
	ce.slot = slot;
	ce.wake = wake;
	ce.arg = arg;
	ev = event_new(base, ctl_fd(slot), EV_READ | EV_PERSIST, ctl_ev_cb, &ce);
	if (ev != NULL)
		event_add(ev, NULL);
	return (ev);
}
