/*
 * impcore - once-a-second samples of every server process.
 *
 * /proc/<pid>/stat (state, CPU, threads), statm (RSS), status (peak RSS,
 * swap, context switches) and io (where readable) of each live process of
 * the table, with its counter block, into a ring of PHIST_LEN samples in
 * the state file (state/phist.h): it outlives the profiler, and impctl
 * history shows it after the server died.  /debug/stats, /debug/info,
 * /metrics and the memory line read it.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu/system.h>

#include "lib/check.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "profiler/prf.h"
#include "state/ctl.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "state/stat_read.h"

/* Read a small file (a /proc one) into buf, NUL-terminated; bytes read or -1. */
ssize_t
prf_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return (-1);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return (n);
}

/* Value after "key" in a "Key:   value kB" file; 0 when absent. */
static uint64_t
prf_field(const char *text, const char *key, uint64_t mult)
{
	const char *p = strstr(text, key);

	if (p == NULL)
		return (0);
	p += strlen(key);
	while (*p == ' ' || *p == '\t' || *p == ':')
		p++;
	return (strtoull(p, NULL, 10) * mult);
}

int
prf_proc_read(struct prf *prf, pid_t pid, struct phist_proc *ps)
{
	char path[64], text[4096], *p;
	unsigned long long utime, stime, vsize;
	long long rss;
	int threads;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (prf_read_file(path, text, sizeof text) < 0)
		return (-1);
	/* the command name may hold spaces and ')': fields follow the last ')' */
	if ((p = strrchr(text, ')')) == NULL)
		return (-1);
	/* 3 state ... 14 utime 15 stime ... 20 num_threads ... 23 vsize 24 rss */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%*d %*d %*d %*d %d %*d %*u %llu %lld", &ps->state, &utime, &stime,
	    &threads, &vsize, &rss) != 6)
		return (-1);
	ps->utime_ns = utime * (1000000000ull / (uint64_t)prf->clk_tck);
	ps->stime_ns = stime * (1000000000ull / (uint64_t)prf->clk_tck);
	ps->threads = threads;
	ps->vsize = vsize;
	ps->rss = rss > 0 ? (uint64_t)rss * (uint64_t)prf->page_size : 0;

	snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
	if (prf_read_file(path, text, sizeof text) > 0) {
		unsigned long long size, res;

		if (sscanf(text, "%llu %llu", &size, &res) == 2)
			ps->rss = res * (uint64_t)prf->page_size;
	}
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if (prf_read_file(path, text, sizeof text) > 0) {
		ps->rss_peak = prf_field(text, "VmHWM", 1024);
		ps->swap = prf_field(text, "VmSwap", 1024);
		ps->vcsw = prf_field(text, "\nvoluntary_ctxt_switches", 1);
		ps->nvcsw = prf_field(text, "nonvoluntary_ctxt_switches", 1);
	}
	/* io needs ptrace-read rights: fine for our own children, else skip */
	snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
	if (prf_read_file(path, text, sizeof text) > 0) {
		ps->read_bytes = prf_field(text, "\nread_bytes", 1);
		ps->write_bytes = prf_field(text, "\nwrite_bytes", 1);
		ps->io_ok = 1;
	}
	return (0);
}

const struct phist_sample *
prf_hist_last(const struct prf *prf, int back)
{
	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	/* the writer's own reads: no copy, it never races itself */
	return (prf->hist != NULL ? phist_last(prf->hist, back) : NULL);
}

/* The same process in the previous sample (same slot and pid), or NULL. */
static const struct phist_proc *
prf_prev(const struct phist_sample *prev, const struct phist_proc *ps)
{
	int i;

	if (prev == NULL)
		return (NULL);
	for (i = 0; i < prev->nproc; i++)
		if (prev->p[i].slot == ps->slot && prev->p[i].pid == ps->pid)
			return (&prev->p[i]);
	return (NULL);
}

void
prf_proc_sample(struct prf *prf)
{
	const struct phist_sample *prev = prf_hist_last(prf, 0);
	struct phist_sample *s;
	struct shm_proc_info pi;
	int i, j;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	if (prf->hist == NULL)
		return;
	s = phist_begin(prf->hist);
	s->t_real = tim_real();
	s->t_mono = tim_mono();
	s->nproc = 0;
	s->left_out = 0;
	stat_sum_all(prf->shm, s->sum);
	s->queue_depth = rtab_queue_depth(prf->shm);
	for (i = 0; i < SHM_NPROC; i++) {
		struct phist_proc *ps = &s->p[s->nproc < PHIST_NPROC ? s->nproc : 0];
		const struct phist_proc *pp;
		struct stat_block *blk;

		if (shm_proc_get(prf->shm, i, &pi) != 0 || pi.pid <= 0 ||
		    !shm_proc_live(prf->shm, i))
			continue;
		if (s->nproc == PHIST_NPROC) {
			s->left_out++;
			continue;
		}
		memset(ps, 0, sizeof *ps);
		ps->slot = i;
		ps->pid = pi.pid;
		ps->role = pi.role;
		ps->index = pi.index;
		ps->pstate = pi.state;
		ps->inflight = pi.inflight;
		ps->busy = pi.busy;
		ps->idle = pi.idle;
		ps->t_start = pi.t_start;
		if (prf_proc_read(prf, pi.pid, ps) != 0)
			continue;	/* died meanwhile */
		blk = shm_proc_stats(prf->shm, i);
		if (blk != NULL && blk->magic == STAT_BLOCK_MAGIC)
			for (j = 0; j < STAT__N; j++)
				ps->c[j] = CMM_LOAD_SHARED(blk->c[j]);
		ps->heap_alloc = ps->c[STAT_heap_alloc_bytes];
		ps->heap_freed = ps->c[STAT_heap_freed_bytes];
		pp = prf_prev(prev, ps);
		if (pp != NULL && s->t_mono > prev->t_mono) {
			uint64_t used = (ps->utime_ns + ps->stime_ns) -
			    (pp->utime_ns + pp->stime_ns);

			ps->cpu_pct = 100.0 * (double)used /
			    (double)(s->t_mono - prev->t_mono);
		}
		s->nproc++;
	}
	phist_commit(prf->hist, s);
}

void
prf_sample_totals(const struct phist_sample *s, uint64_t *alloc,
    uint64_t *total_alloc, uint64_t *sys, int *tasks)
{
	int i;

	*alloc = *sys = 0;
	*tasks = 0;
	/* TotalAlloc: every block ever, dead processes included (monotonic) */
	*total_alloc = s->sum[STAT_heap_alloc_bytes];
	for (i = 0; i < s->nproc; i++) {
		const struct phist_proc *p = &s->p[i];

		if (p->heap_alloc > p->heap_freed)
			*alloc += p->heap_alloc - p->heap_freed;
		*sys += p->rss;
		/* Go's goroutines, C meaning: processes + requests + fits */
		*tasks += 1 + p->inflight + p->busy;
	}
}

uint64_t
prf_gc_count(const struct prf *prf)
{
	struct shm_proc *p;
	uint64_t n = 0;
	int i;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	/* each process's ack counter of the trim command counts its rounds */
	for (i = 0; i < SHM_NPROC; i++)
		if (shm_proc_live(prf->shm, i) &&
		    (p = shm_proc(prf->shm, i)) != NULL)
			n += *shm_proc_ctl_ack(p, CTL_CMD_TRIM);
	return (n);
}
