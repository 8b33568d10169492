/*
 * impcore - profiling inside every server process.
 *
 * The profiler process (src/profiler) drives the samplers of the other
 * processes with ctl commands (ctl.h); each process writes what it sampled
 * to a dump file in <state-dir>/prof/ and acknowledges; the profiler merges
 * the files into what go tool pprof reads (../shared/PPROF.md).  This layer
 * is the samplers alone (it sits below the state file: the result table
 * records its mutex waits through prof_cont.h); the ctl commands and their
 * handlers are daemon/prof_ctl.h.
 */
#ifndef IMP_PROF_H
#define IMP_PROF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
 * In a process: start heap sampling (mem_hook, mean one sample every rate
 * bytes) and contention recording.  Idempotent.  rate 0: PROF_HEAP_RATE,
 * or $IMPCORE_HEAP_RATE when set ("off": no heap sampling).
 */
void prof_enable(uint64_t rate);
int prof_enabled(void);
uint64_t prof_heap_rate(void);
/* Warm the unwinder up (loads libgcc_s): before forking, never in a handler. */
void prof_backtrace_init(void);
/* Which unwinder takes the samplers' stacks: "libunwind" or "libgcc". */
const char *prof_unwinder(void);

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
