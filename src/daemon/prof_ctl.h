/*
 * impcore - the profiler's ctl commands, run in every server process.
 *
 * The profiler process (src/profiler) sends these to the others (ctl.h);
 * each process runs the samplers of prof/prof.h and writes a dump file.
 */
#ifndef IMP_DAEMON_PROF_CTL_H
#define IMP_DAEMON_PROF_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "state/ctl.h"

struct shm;

/*
 * ctl commands (numbers from CTL_CMD_EXT on).  arg is the profiler's
 * session number; dump files are <state-dir>/prof/<kind>.<session>.<pid>.
 * res[0] is 0 or an errno, res[1] the number of records written.
 */
enum prof_cmd {
	PROF_CMD_ENABLE = CTL_CMD_EXT,	/* arg: heap sample rate (bytes); starts heap + contention sampling */
	PROF_CMD_CPU_START,		/* arg: hz << 32 | max seconds: arm the SIGPROF sampler */
	PROF_CMD_CPU_STOP,		/* disarm; write "cpu" dump */
	PROF_CMD_HEAP_DUMP,		/* write "heap" dump */
	PROF_CMD_BLOCK_DUMP,		/* write "block" dump */
	PROF_CMD_MUTEX_DUMP,		/* write "mutex" dump */
	PROF_CMD_STACK,			/* write "stack" dump: a symbolized backtrace */
	PROF_CMD__END
};

/*
 * Master, before the first fork (nothing else registers them): registers
 * the ctl handlers and warms the unwinder up (its first call loads
 * libgcc_s, which is not async-signal-safe).  Runs once; later calls do
 * nothing.
 */
void prof_ctl_register(void);

/*
 * "<state-dir>/prof/<kind>.<session>.<pid>" for the state file of shm.
 * Returns the length (like snprintf), -1 when it does not fit.
 */
int prof_dump_path(const struct shm *shm, const char *kind, uint64_t session,
    pid_t pid, char *buf, size_t len);

#endif /* IMP_DAEMON_PROF_CTL_H */
