/*
 * impcore - the profiler's history of the server's processes, kept in the
 * state file: once a second, /proc/<pid>/{stat,statm,status,io} of every
 * live process with its counter block, PHIST_LEN samples in a ring.  The
 * profiler process writes it; it and impctl read it, impctl after the
 * server died too (`impctl history`).
 *
 * One writer (the profiler), so no lock: each sample carries a sequence
 * number, odd while it is written, and readers copy a sample and check
 * the number did not move (phist_read).
 */
#ifndef IMP_PHIST_H
#define IMP_PHIST_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/stat.h"
#include "state/shm.h"

#define PHIST_MAGIC	0x54534948u	/* "HIST" */
#define PHIST_LEN	300		/* samples: 5 minutes at 1 Hz */
#define PHIST_NPROC	64		/* processes a sample holds at most */

/* One process in one sample. */
struct phist_proc {
	int		slot;
	pid_t		pid;
	enum shm_role	role;
	int		index;
	enum shm_pstate	pstate;
	char		state;			/* /proc state letter: R, S, D ... */
	int		threads;
	int		inflight, busy, idle;
	uint64_t	t_start;		/* CLOCK_REALTIME ns */
	uint64_t	utime_ns, stime_ns;	/* CPU used so far */
	double		cpu_pct;		/* over the last interval */
	uint64_t	rss, vsize, rss_peak, swap;	/* bytes */
	uint64_t	vcsw, nvcsw;		/* context switches */
	uint64_t	read_bytes, write_bytes;	/* /proc/<pid>/io, 0 if unreadable */
	int		io_ok;
	uint64_t	heap_alloc, heap_freed;	/* from the counter block */
	uint64_t	c[STAT__N];		/* the process's counters */
};

/* One sample: every live process of the table at one time. */
struct phist_sample {
	uint64_t		seq;		/* odd while being written */
	uint64_t		t_real, t_mono;
	int			nproc;
	int			left_out;	/* live processes past PHIST_NPROC */
	uint32_t		queue_depth;
	uint64_t		sum[STAT__N];	/* counters summed over all blocks */
	struct phist_proc	p[PHIST_NPROC];
};

struct phist {
	uint32_t		magic;
	uint32_t		len, nproc, ncounters;	/* this build's sizes */
	uint64_t		n;		/* samples written (ring index n % len) */
	struct phist_sample	s[PHIST_LEN];
};

/* The history in shm's state file (NULL when its header is not this
 * build's). */
struct phist *shm_phist(const struct shm *shm);
/* A fresh state file's: empty. */
void phist_init(struct phist *h);
/* Writer: the sample to fill next, marked as being written. */
struct phist_sample *phist_begin(struct phist *h);
/* Writer: the sample of phist_begin is complete. */
void phist_commit(struct phist *h, struct phist_sample *s);
/* The sample back samples before the last one, or NULL (none, or being
 * written: only for the writer's own process, which never races itself). */
const struct phist_sample *phist_last(const struct phist *h, int back);
/* Any reader: a copy of that sample; 0, or -1 (none, or overwritten). */
int phist_read(const struct phist *h, int back, struct phist_sample *out);

#endif /* IMP_PHIST_H */
