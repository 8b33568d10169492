/*
 * impcore - what the master hands a child at fork (Varnish heritage.h),
 * and the entry points of the child kinds.
 *
 * A child kind is one row of the table in mst_child.c: {name, role,
 * how many, main function, enabled predicate}.  To add a kind, add a row
 * and a main function; the master forks, supervises and respawns it, gives
 * it a process slot (counters block, control word) and its eventfd.
 *
 * A main function runs its own libevent loop and returns an exit status
 * when it has finished (SIGTERM: finish in-flight work first).  The master's
 * fork wrapper then frees what it set up and calls _exit(): children never
 * run atexit handlers, so a sanitizer leak report never looks like a crash.
 */
#ifndef IMP_CHILDREN_H
#define IMP_CHILDREN_H

#include <sys/types.h>

#include "state/shm.h"

struct cfg;
struct shm;
struct shm_proc;

#define CHILD_CTX_MAGIC		0x43484c44u	/* "CHLD" */

struct child_ctx {
	unsigned		magic;
	const char		*kind;		/* "worker", "webhook", "profiler" */
	enum shm_role		role;
	int			index;		/* 0.. among children of its kind */
	unsigned		generation;	/* master's reload generation */
	struct shm		*shm;		/* the state file, read-write */
	int			slot;		/* our process slot */
	struct shm_proc		*proc;		/* = shm_proc(shm, slot) */
	const struct cfg	*cfg;		/* our copy of the configuration */
	int			ctl_fd;		/* our slot's eventfd (also in ctl_fd(slot)) */
	int			api_fd;		/* listening socket of the API port */
	int			profile_fd;	/* listening socket of -profile-port, or -1 */
	pid_t			master_pid;
	uint64_t		master_start;	/* CLOCK_REALTIME ns */
};

/*
 * On entry: signals are unblocked with default dispositions, SIGPIPE
 * ignored, log_set_role() done, stat_attach() done, mem_install_lib_hooks()
 * done, process state STARTING.  Set RUNNING when serving.  Exit cleanly on
 * SIGTERM/SIGINT (finish in-flight work), reopen logs on SIGUSR1 (log_reopen).
 */
int wrk_main(struct child_ctx *ctx);
int whk_main(struct child_ctx *ctx);
int prf_main(struct child_ctx *ctx);

#endif /* IMP_CHILDREN_H */
