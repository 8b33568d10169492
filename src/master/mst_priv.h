/*
 * impcore - master process internals (src/master/mst_*.c only).
 */
#ifndef IMP_MST_PRIV_H
#define IMP_MST_PRIV_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/cfg.h"

struct shm;

/* The master's state: one per program. */
struct mst {
	struct cfg		cfg;		/* live configuration */
	int			argc;
	char			**argv;
	struct shm		*shm;
	int			slot;		/* the master's process slot */
	int			api_fd;
	int			profile_fd;
	int			api_port;	/* the port really bound */
	unsigned		generation;	/* bumped by each reload */
	uint64_t		start_real;
	int			stopping;
	uint64_t		stop_at;	/* CLOCK_MONOTONIC ns */
	char			*pidfile;
	char			*portfile;
};

extern struct mst	mst;

/* Signal flags, set by the handlers only (mst_main.c). */
extern volatile sig_atomic_t	mst_sig_chld, mst_sig_term, mst_sig_hup,
				mst_sig_usr1;

/* mst_child.c: the child kinds, spawning, reaping, respawn, reload. */
void mst_child_reconcile(uint64_t now);
void mst_child_reap(void);
void mst_child_stop_all(int sig);
int mst_child_count(void);
void mst_child_signal_all(int sig);
void mst_child_reload(void);
void mst_child_check(uint64_t now);

/* mst_listen.c: sockets bound before forking. */
int mst_listen(const char *addr, int port, int *bound_port, char **cause);

#endif /* IMP_MST_PRIV_H */
