/*
 * impcore - /metrics: the Prometheus text format (version 0.0.4).
 *
 * Every counter and gauge comes from the one counter table
 * (common/counters.def, through stat.h: names, help, kind, unit, scale);
 * no name is written here by hand except the per-process gauges, which
 * come from /proc and are not in the table.  Log2 histograms become
 * Prometheus histograms with le = 2^(i+1) ns.
 */
#include "config.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/rtab.h"
#include "common/shm.h"
#include "common/stat.h"
#include "common/tim.h"
#include "master/children.h"
#include "profiler/prf.h"

/* HELP text: backslash and newline escaped, as the format wants. */
static void
prf_help(struct buf *b, const char *name, const char *help, const char *type)
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

static void
prf_value(struct buf *b, double v)
{
	if (v == (double)(uint64_t)v && v < 9007199254740992.0)
		buf_printf(b, "%" PRIu64 "\n", (uint64_t)v);
	else
		buf_printf(b, "%.9g\n", v);
}

/* One per-process metric: a line per live process of the last sample. */
static void
prf_proc_metric(struct buf *b, const struct phist_sample *s, const char *name,
    const char *type, const char *help,
    double (*get)(const struct phist_proc *))
{
	int i;

	if (s == NULL || s->nproc == 0)
		return;
	prf_help(b, name, help, type);
	for (i = 0; i < s->nproc; i++) {
		buf_printf(b, "%s{role=\"%s\",index=\"%d\",pid=\"%ld\"} ", name,
		    shm_role_name(s->p[i].role), s->p[i].index, (long)s->p[i].pid);
		prf_value(b, get(&s->p[i]));
	}
}

static double
get_rss(const struct phist_proc *p)
{
	return ((double)p->rss);
}

static double
get_vsize(const struct phist_proc *p)
{
	return ((double)p->vsize);
}

static double
get_cpu(const struct phist_proc *p)
{
	return ((double)(p->utime_ns + p->stime_ns) / 1e9);
}

static double
get_threads(const struct phist_proc *p)
{
	return (p->threads);
}

static double
get_start(const struct phist_proc *p)
{
	return ((double)p->t_start / 1e9);
}

static double
get_heap(const struct phist_proc *p)
{
	return (p->heap_alloc > p->heap_freed ?
	    (double)(p->heap_alloc - p->heap_freed) : 0);
}

void
prf_metrics(struct prf *prf, struct evhttp_request *req)
{
	const struct phist_sample *s = prf_hist_last(prf, 0);
	uint64_t sum[STAT__N], hb[STAT_HIST_BUCKETS], cum;
	char name[128];
	struct shm_geom g;
	struct buf b;
	int i, j, r, n, tasks = 0;
	uint64_t alloc, total, sys;

	buf_init(&b);
	stat_sum_all(prf->shm, sum);
	for (i = 0; i < STAT__N; i++) {
		stat_prom_name((enum stat_id)i, name, sizeof name);
		prf_help(&b, name, stat_help[i], stat_kind_name(stat_kinds[i]));
		buf_adds(&b, name);
		buf_addc(&b, ' ');
		prf_value(&b, (double)sum[i] * stat_prom_scale((enum stat_id)i));
	}
	for (i = 0; i < STAT_H__N; i++) {
		stat_hist_prom_name((enum stat_hist)i, name, sizeof name);
		stat_hist_sum(prf->shm, (enum stat_hist)i, hb);
		prf_help(&b, name, stat_hist_help[i], "histogram");
		for (j = 0, cum = 0; j < STAT_HIST_BUCKETS; j++) {
			cum += hb[j];
			buf_printf(&b, "%s_bucket{le=\"%.9g\"} %" PRIu64 "\n", name,
			    (double)(1ull << (j + 1)) * 1e-9, cum);
		}
		buf_printf(&b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
		buf_printf(&b, "%s_sum %.9g\n", name,
		    (double)stat_hist_total(prf->shm, (enum stat_hist)i) * 1e-9);
		buf_printf(&b, "%s_count %" PRIu64 "\n", name, cum);
	}

	/* the process table and /proc: not counters of the table */
	prf_help(&b, "impcore_processes", "live server processes by role", "gauge");
	for (r = SHM_ROLE_MASTER; r < SHM_ROLE__N; r++) {
		for (j = 0, n = 0; s != NULL && j < s->nproc; j++)
			n += s->p[j].role == (enum shm_role)r;
		buf_printf(&b, "impcore_processes{role=\"%s\"} %d\n",
		    shm_role_name((enum shm_role)r), n);
	}
	prf_proc_metric(&b, s, "impcore_process_resident_memory_bytes", "gauge",
	    "resident set size of a server process", get_rss);
	prf_proc_metric(&b, s, "impcore_process_virtual_memory_bytes", "gauge",
	    "virtual memory size of a server process", get_vsize);
	prf_proc_metric(&b, s, "impcore_process_cpu_seconds_total", "counter",
	    "user and system CPU time of a server process", get_cpu);
	prf_proc_metric(&b, s, "impcore_process_threads", "gauge",
	    "threads of a server process", get_threads);
	prf_proc_metric(&b, s, "impcore_process_heap_inuse_bytes", "gauge",
	    "heap bytes in use through imp_malloc and the library hooks", get_heap);
	prf_proc_metric(&b, s, "impcore_process_start_time_seconds", "gauge",
	    "start time of a server process, seconds since the epoch", get_start);
	if (s != NULL)
		prf_sample_totals(s, &alloc, &total, &sys, &tasks);
	prf_help(&b, "impcore_tasks", "live server tasks: processes, requests "
	    "being handled and fits running (Go's goroutines)", "gauge");
	buf_printf(&b, "impcore_tasks %d\n", tasks);
	shm_geom_get(prf->shm, &g);
	prf_help(&b, "impcore_queue_depth", "spectra queued or running", "gauge");
	buf_printf(&b, "impcore_queue_depth %u\n", rtab_queue_depth(prf->shm));
	prf_help(&b, "impcore_queue_capacity", "spectra the state file can hold "
	    "queued or running (-queue-size)", "gauge");
	buf_printf(&b, "impcore_queue_capacity %u\n", g.queue_size);
	prf_help(&b, "impcore_start_time_seconds", "start time of the master, "
	    "seconds since the epoch", "gauge");
	buf_printf(&b, "impcore_start_time_seconds %.3f\n",
	    (double)shm_birth(prf->shm) / 1e9);
	prf_help(&b, "impcore_build_info", "version of the running server", "gauge");
	buf_printf(&b, "impcore_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	prf_reply_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
	buf_free(&b);
}
