/*
 * impcore - /metrics: the Prometheus text format (version 0.0.4), from the
 * state file.
 *
 * Every counter and gauge comes from the one counter table
 * (lib/counters.def, through stat.h: names, help, kind, unit, scale);
 * the CS() rows of that table make one family with a `code` label.  The
 * per-process families are labelled by role and index, not pid: a series
 * must survive the respawn of worker 2 (a new pid), or every restart
 * starts a new series and rate() sees none of them whole.  Their figures
 * come from the process table (start time, to the nanosecond), the
 * process's counter block (heap) and /proc/<pid>/stat (CPU, memory,
 * threads), read at scrape time: no sampler needs to run.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <urcu/system.h>

#include "lib/buf.h"
#include "lib/stat.h"
#include "render/prom.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "state/stat_read.h"

/* One live process as the per-process families show it. */
struct prom_proc {
	struct shm_proc_info	pi;
	int			stat_ok;	/* /proc/<pid>/stat was read */
	uint64_t		cpu_ns, rss, vsize;
	int			threads;
	uint64_t		heap;
};

/* HELP text: backslash and newline escaped, as the format wants. */
static void
prom_help(struct buf *b, const char *name, const char *help, const char *type)
{
	const char *p;

	buf_printf(b, "# HELP %s ", name);
	for (p = help; *p != '\0'; p++) {
		if (*p == '\\')
			buf_adds(b, "\\\\");
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *p);
	}
	buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* A value and the end of its line: integers as such, others with the
 * shortest digits that read back exactly (%.9g lost the seconds of a
 * 10-digit time and the nanoseconds of a _seconds_total). */
static void
prom_value(struct buf *b, double v)
{
	if (v >= 0 && v < 9007199254740992.0 && v == (double)(uint64_t)v)
		buf_printf(b, "%" PRIu64 "\n", (uint64_t)v);
	else {
		buf_json_num(b, v);
		buf_addc(b, '\n');
	}
}

/* ns since the epoch as seconds, every digit kept (a double has 16). */
static void
prom_time(struct buf *b, uint64_t ns)
{
	buf_printf(b, "%" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u,
	    ns % 1000000000u);
}

/* /proc/<pid>/stat: CPU, threads, vsize, rss; 0, or -1 (gone, unreadable). */
static int
prom_proc_stat(struct prom_proc *pp)
{
	static long tck, page;
	char path[64], text[1024], *p;
	unsigned long long utime, stime, vsize;
	long long rss;
	char state;
	ssize_t n;
	int fd, threads;

	if (tck <= 0) {
		tck = sysconf(_SC_CLK_TCK);
		page = sysconf(_SC_PAGESIZE);
		if (tck <= 0 || page <= 0)
			return (-1);
	}
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pp->pi.pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return (-1);
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	text[n] = '\0';
	/* the command name may hold spaces and ')': fields follow the last ')' */
	if ((p = strrchr(text, ')')) == NULL || p[1] == '\0')
		return (-1);
	/* 3 state ... 14 utime 15 stime ... 20 num_threads ... 23 vsize 24 rss */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%*d %*d %*d %*d %d %*d %*u %llu %lld", &state, &utime, &stime,
	    &threads, &vsize, &rss) != 6)
		return (-1);
	pp->cpu_ns = (utime + stime) * (1000000000ull / (uint64_t)tck);
	pp->threads = threads;
	pp->vsize = vsize;
	pp->rss = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
	return (0);
}

/*
 * The live processes, one per (role, index): while a reload overlaps two
 * generations, worker 0 is two processes for a moment; the series is the
 * newest one's (its counters restart, which a counter may do).
 */
static int
prom_procs(const struct shm *shm, struct prom_proc *out)
{
	struct shm_proc_info pi;
	int slot, i, n = 0;

	for (slot = 0; slot < SHM_NPROC; slot++) {
		struct stat_block *sb;

		if (!shm_proc_live(shm, slot) || shm_proc_get(shm, slot, &pi) < 0 ||
		    pi.pid <= 0)
			continue;
		/* the master is -1 in the table ("not indexed"): one of its kind */
		if (pi.index < 0)
			pi.index = 0;
		for (i = 0; i < n; i++)
			if (out[i].pi.role == pi.role && out[i].pi.index == pi.index)
				break;
		if (i < n && out[i].pi.t_start >= pi.t_start)
			continue;
		if (i == n)
			n++;
		memset(&out[i], 0, sizeof out[i]);
		out[i].pi = pi;
		out[i].stat_ok = prom_proc_stat(&out[i]) == 0;
		sb = shm_proc_stats(shm, slot);
		if (sb != NULL && CMM_LOAD_SHARED(sb->magic) == STAT_BLOCK_MAGIC) {
			uint64_t a = CMM_LOAD_SHARED(sb->c[STAT_heap_alloc_bytes]);
			uint64_t f = CMM_LOAD_SHARED(sb->c[STAT_heap_freed_bytes]);
			out[i].heap = a > f ? a - f : 0;
		}
	}
	return (n);
}

enum prom_pfig { PF_START, PF_CPU, PF_RSS, PF_VSIZE, PF_THREADS, PF_HEAP };

static const struct {
	enum prom_pfig	fig;
	const char	*name, *type, *help;
	int		from_proc;	/* needs /proc/<pid>/stat */
} prom_pfigs[] = {
	{ PF_START, "impcore_process_start_time_seconds", "gauge",
	    "start time of a server process, seconds since the epoch", 0 },
	{ PF_CPU, "impcore_process_cpu_seconds_total", "counter",
	    "user and system CPU time of a server process", 1 },
	{ PF_RSS, "impcore_process_resident_memory_bytes", "gauge",
	    "resident set size of a server process", 1 },
	{ PF_VSIZE, "impcore_process_virtual_memory_bytes", "gauge",
	    "virtual memory size of a server process", 1 },
	{ PF_THREADS, "impcore_process_threads", "gauge",
	    "threads of a server process", 1 },
	{ PF_HEAP, "impcore_process_heap_inuse_bytes", "gauge",
	    "heap bytes in use through imp_malloc and the library hooks "
	    "(heap_alloc_bytes - heap_freed_bytes of the process)", 0 },
};

static void
prom_per_process(struct buf *b, const struct prom_proc *pp, int n)
{
	size_t f;
	int i;

	prom_help(b, "impcore_process_info", "a live server process: its pid "
	    "(the other per-process families are labelled by role and index "
	    "only, so that a respawn continues the series)", "gauge");
	for (i = 0; i < n; i++)
		buf_printf(b, "impcore_process_info{role=\"%s\",index=\"%d\","
		    "pid=\"%ld\"} 1\n", shm_role_name(pp[i].pi.role),
		    pp[i].pi.index, (long)pp[i].pi.pid);
	for (f = 0; f < sizeof prom_pfigs / sizeof prom_pfigs[0]; f++) {
		prom_help(b, prom_pfigs[f].name, prom_pfigs[f].help,
		    prom_pfigs[f].type);
		for (i = 0; i < n; i++) {
			if (prom_pfigs[f].from_proc && !pp[i].stat_ok)
				continue;
			buf_printf(b, "%s{role=\"%s\",index=\"%d\"} ",
			    prom_pfigs[f].name, shm_role_name(pp[i].pi.role),
			    pp[i].pi.index);
			switch (prom_pfigs[f].fig) {
			case PF_START:
				prom_time(b, pp[i].pi.t_start);
				break;
			case PF_CPU:
				prom_value(b, (double)pp[i].cpu_ns / 1e9);
				break;
			case PF_RSS:
				prom_value(b, (double)pp[i].rss);
				break;
			case PF_VSIZE:
				prom_value(b, (double)pp[i].vsize);
				break;
			case PF_THREADS:
				prom_value(b, pp[i].threads);
				break;
			case PF_HEAP:
				prom_value(b, (double)pp[i].heap);
				break;
			}
		}
	}
}

/* The counters of the table; the CS() rows as one family at the first. */
static void
prom_counters(struct buf *b, const struct shm *shm)
{
	uint64_t sum[STAT__N];
	char name[128];
	int i, j, codes_done = 0;

	stat_sum_all(shm, sum);
	for (i = 0; i < STAT__N; i++) {
		if (stat_status[i] != 0 || i == STAT_http_status_other) {
			if (codes_done)
				continue;
			codes_done = 1;
			prom_help(b, "impcore_http_responses_total", "API answers "
			    "by HTTP status code (impctl: http_status_<code>; "
			    "code \"other\": any status without a row of its own)",
			    "counter");
			for (j = i; j < STAT__N; j++) {
				if (stat_status[j] != 0)
					buf_printf(b, "impcore_http_responses_total"
					    "{code=\"%d\"} ", stat_status[j]);
				else if (j == STAT_http_status_other)
					buf_adds(b, "impcore_http_responses_total"
					    "{code=\"other\"} ");
				else
					continue;
				prom_value(b, (double)sum[j]);
			}
			continue;
		}
		stat_prom_name((enum stat_id)i, name, sizeof name);
		prom_help(b, name, stat_help[i], stat_kind_name(stat_kinds[i]));
		buf_adds(b, name);
		buf_addc(b, ' ');
		prom_value(b, (double)sum[i] * stat_prom_scale((enum stat_id)i));
	}
}

/* Log2 histograms become Prometheus histograms with le = 2^(i+1) ns. */
static void
prom_histograms(struct buf *b, const struct shm *shm)
{
	uint64_t hb[STAT_HIST_BUCKETS], cum;
	char name[128];
	int i, j;

	for (i = 0; i < STAT_H__N; i++) {
		stat_hist_prom_name((enum stat_hist)i, name, sizeof name);
		stat_hist_sum(shm, (enum stat_hist)i, hb);
		prom_help(b, name, stat_hist_help[i], "histogram");
		for (j = 0, cum = 0; j < STAT_HIST_BUCKETS; j++) {
			cum += hb[j];
			buf_printf(b, "%s_bucket{le=\"", name);
			buf_json_num(b, (double)(1ull << (j + 1)) * 1e-9);
			buf_printf(b, "\"} %" PRIu64 "\n", cum);
		}
		buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
		buf_printf(b, "%s_sum ", name);
		prom_value(b, (double)stat_hist_total(shm, (enum stat_hist)i) * 1e-9);
		buf_printf(b, "%s_count %" PRIu64 "\n", name, cum);
	}
}

void
prom_render(struct buf *b, const struct shm *shm)
{
	struct prom_proc pp[SHM_NPROC];
	struct shm_geom g;
	int i, r, n, k;

	prom_counters(b, shm);
	prom_histograms(b, shm);

	n = prom_procs(shm, pp);
	prom_help(b, "impcore_processes", "live server processes by role", "gauge");
	for (r = SHM_ROLE_MASTER; r < SHM_ROLE__N; r++) {
		for (i = 0, k = 0; i < SHM_NPROC; i++)
			k += shm_proc_live(shm, i) &&
			    shm_proc_role(shm, i) == (enum shm_role)r;
		buf_printf(b, "impcore_processes{role=\"%s\"} %d\n",
		    shm_role_name((enum shm_role)r), k);
	}
	prom_per_process(b, pp, n);

	prom_help(b, "impcore_tasks", "live server tasks: processes, requests "
	    "being handled and fits running (Go's goroutines)", "gauge");
	buf_printf(b, "impcore_tasks %d\n", shm_tasks(shm));
	shm_geom_get(shm, &g);
	prom_help(b, "impcore_queue_depth", "spectra queued or running", "gauge");
	buf_printf(b, "impcore_queue_depth %u\n", rtab_queue_depth(shm));
	prom_help(b, "impcore_queue_capacity", "spectra the state file can hold "
	    "queued or running (-queue-size)", "gauge");
	buf_printf(b, "impcore_queue_capacity %u\n", g.queue_size);
	prom_help(b, "impcore_start_time_seconds", "start time of the master, "
	    "seconds since the epoch", "gauge");
	buf_adds(b, "impcore_start_time_seconds ");
	prom_time(b, shm_birth(shm));
	prom_help(b, "impcore_build_info", "version of the running server", "gauge");
	buf_printf(b, "impcore_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}
