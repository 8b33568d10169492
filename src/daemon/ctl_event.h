/*
 * impcore - the libevent side of ctl.h: an event on our slot's eventfd.
 */
#ifndef IMP_DAEMON_CTL_EVENT_H
#define IMP_DAEMON_CTL_EVENT_H

struct event;
struct event_base;
struct shm;

/*
 * An event on our slot's eventfd that dispatches commands and then calls
 * wake(arg) (may be NULL).  Persistent; free with event_free().
 */
struct event *ctl_event_new(struct event_base *base, struct shm *shm,
    int slot, void (*wake)(void *arg), void *arg);

#endif /* IMP_DAEMON_CTL_EVENT_H */
