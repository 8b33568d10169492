/*
 * impcore - profiling inside every server process.
 *
 * The profiler process (src/profiler) drives the samplers of the other
 * processes with ctl commands (ctl.h); each process writes what it sampled
 * to a dump file in <state-dir>/prof/ and acknowledges; the profiler merges
 * the files into what go tool pprof reads (../shared/PPROF.md).  The handlers
 * are registered by a constructor in prof_ctl.c, so every child forked by
 * the master has them.  Contention recording for other modules is in
 * prof_cont.h.
 */
#ifndef IMP_PROF_H
#define IMP_PROF_H

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

#define PROF_CPU_HZ		100		/* SIGPROF per CPU second */
#define PROF_CPU_MAX_SECONDS	60		/* longest CPU profile */
#define PROF_HEAP_RATE		(512 * 1024)	/* mean bytes between heap samples (Go's MemProfileRate) */
#define PROF_DIR		"prof"		/* under the state dir */

/* Dump kinds, in the file names. */
#define PROF_KIND_CPU		"cpu"
#define PROF_KIND_HEAP		"heap"
#define PROF_KIND_BLOCK		"block"
#define PROF_KIND_MUTEX		"mutex"
#define PROF_KIND_STACK		"stack"

/*
 * Master, before the first fork (also run by a constructor, so calling it
 * is optional): registers the ctl handlers and warms the unwinder up (its
 * first call loads libgcc_s, which is not async-signal-safe).
 */
void prof_setup(void);

/*
 * In a process: start heap sampling (mem_hook, mean one sample every rate
 * bytes) and contention recording.  Idempotent.  rate 0: PROF_HEAP_RATE,
 * or $IMPCORE_HEAP_RATE when set ("off": no heap sampling).
 */
void prof_enable(uint64_t rate);
int prof_enabled(void);
uint64_t prof_heap_rate(void);
/* Which unwinder takes the samplers' stacks: "libunwind" or "libgcc". */
const char *prof_unwinder(void);

/*
 * "<state-dir>/prof/<kind>.<session>.<pid>" for the state file of shm.
 * Returns the length (like snprintf), -1 when it does not fit.
 */
int prof_dump_path(const struct shm *shm, const char *kind, uint64_t session,
    pid_t pid, char *buf, size_t len);

/*
 * The dumps of this process, written to path (the profiler calls these for
 * itself; the ctl handlers call them in the others).  0 ok, else an errno.
 * *nrec: records written.  The formats are the bodies of the legacy pprof
 * formats, without header and memory map (the profiler adds those):
 *   heap:  "<inuse_objs>: <inuse_bytes> [<alloc_objs>: <alloc_bytes>] @ 0x.. 0x.."
 *          lines after a first line "total <in_o> <in_b> <al_o> <al_b>"
 *   block, mutex: "<delay_ns> <count> @ 0x.. 0x.." lines after a first line
 *          "since <REALTIME ns of the start of recording>"
 *   cpu:   raw 64-bit words "1, n, pc[0..n-1]" per sample
 *   stack: text lines "0xADDR name+0xOFF (module)", the caller's stack
 *          without prof_stack_dump and skip more frames
 */
int prof_heap_dump(const char *path, uint64_t *nrec);
int prof_cont_dump(int kind, const char *path, uint64_t *nrec);
int prof_stack_dump(const char *path, int skip, uint64_t *nrec);

/* CPU sampler of this process (the ctl handlers use these). */
int prof_cpu_start(int hz, int max_seconds);
int prof_cpu_stop(const char *path, uint64_t *nrec);
int prof_cpu_running(void);

#endif /* IMP_PROF_H */
