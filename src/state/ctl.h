/*
 * impcore - cross-process control and wake-ups.
 *
 * The master creates one eventfd per process slot before it forks anything,
 * so every child holds every slot's eventfd and any process can wake any
 * other.  A requester sets a command bit (and argument) in the target
 * slot's control word in the state file, then signals the slot's eventfd;
 * the target's event loop (ctl_event_new) reads the eventfd, runs the
 * handler of each pending command, bumps that command's ack counter and
 * then calls the loop's own wake-up function (workers look at the job ring,
 * the webhook process at its ring).  A signal without a command is a plain
 * wake-up.
 *
 * Handlers are registered per command number in a process-local table.
 * Register them before the master forks (an explicit call from the
 * master's start-up, as prof_ctl_register; not a constructor, which a
 * static archive links only if something pulls its object in) so every
 * child inherits them;
 * commands from CTL_CMD_EXT on are free for other modules (the profiler:
 * cpu profile start/stop, heap dump ...) without touching this file.
 */
#ifndef IMP_CTL_H
#define IMP_CTL_H

#include <stddef.h>
#include <stdint.h>

struct shm;

enum ctl_cmd {
	CTL_CMD_NONE = 0,
	CTL_CMD_TRIM = 1,	/* malloc_trim(0); res = heap in use before, after, RSS before, after */
	CTL_CMD_MEMLOG = 2,	/* log the memory line; res = in use, allocated, RSS, trims */
	CTL_CMD_EXT = 8,	/* first number for other modules */
	CTL_CMD_MAX = 32
};
#define CTL_RES_WORDS	4

/*
 * A handler: runs in the target process, inside its event loop.  arg is
 * what the requester passed; res has CTL_RES_WORDS words in the slot the
 * requester can read after the ack moved.
 */
typedef void ctl_fn(struct shm *shm, int slot, int cmd, uint64_t arg,
    uint64_t *res, void *priv);

/* Register fn for cmd in this process (and in children forked later). 0 ok, -1 taken/bad. */
int ctl_register(int cmd, const char *name, ctl_fn *fn, void *priv);
const char *ctl_name(int cmd);

/* Master, before the first fork: one eventfd per slot.  0 ok, -1 with *cause. */
int ctl_setup(int nslots, char **cause);
/* The eventfd of a slot (-1 when none). */
int ctl_fd(int slot);

/* Plain wake-up of slot (write 1 to its eventfd). */
void ctl_wake(int slot);
/*
 * After pushing n jobs: wake up to n idle workers (clearing their idle flag
 * with CAS first, so each sleeping worker gets one signal).  Returns how
 * many were woken.
 */
int ctl_wake_workers(struct shm *shm, int n);
/* Wake every live process of a role (the webhook process after a finish). */
void ctl_wake_role(struct shm *shm, int role);
/*
 * What a result table call made due (struct rtab_due): wake up to jobs
 * idle workers, and the webhook process when webhooks > 0.  The table
 * itself wakes nobody; its callers do, through this.
 */
void ctl_wake_due(struct shm *shm, uint32_t jobs, uint32_t webhooks);

/*
 * Post cmd with arg to slot.  Returns the ack value to wait for (the
 * command is done when *shm_proc_ctl_ack() >= it), or 0 when the slot is
 * not live.
 */
uint64_t ctl_send(struct shm *shm, int slot, int cmd, uint64_t arg);
/* Has slot acknowledged up to ack? */
int ctl_acked(struct shm *shm, int slot, int cmd, uint64_t ack);

/*
 * In the target: read the eventfd, run pending commands of our slot.  Returns
 * the number of commands run.  Called by the event made by ctl_event_new
 * (daemon/ctl_event.h).
 */
int ctl_dispatch(struct shm *shm, int slot);

/*
 * Register the built-in commands (TRIM, MEMLOG).  The master calls it before
 * the first fork.  MEMLOG's arg is the task count to print ("Goroutines").
 */
void ctl_register_builtin(void);
/* The Go-shaped memory line from MEMLOG's results (res[0..3]). */
void ctl_memory_line(char *buf, size_t len, const uint64_t res[CTL_RES_WORDS],
    int tasks);

#endif /* IMP_CTL_H */
