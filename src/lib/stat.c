/*
 * impcore - counters: tables generated from counters.def, this process's
 * writer side.  The summing readers are state/stat_read.c (they walk the
 * state file's process table, a layer above).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <urcu/system.h>

#include "lib/stat.h"

#define STAT_KIND_counter	STAT_COUNTER
#define STAT_KIND_gauge		STAT_GAUGE
#define STAT_UNIT_count		STAT_UNIT_COUNT
#define STAT_UNIT_bytes		STAT_UNIT_BYTES
#define STAT_UNIT_ns		STAT_UNIT_NS

const char *const stat_name[STAT__N] = {
#define C(name, kind, unit, help)	#name,
#include "lib/counters.def"
};
const char *const stat_help[STAT__N] = {
#define C(name, kind, unit, help)	help,
#include "lib/counters.def"
};
const enum stat_kind stat_kinds[STAT__N] = {
#define C(name, kind, unit, help)	STAT_KIND_##kind,
#include "lib/counters.def"
};
const enum stat_unit stat_units[STAT__N] = {
#define C(name, kind, unit, help)	STAT_UNIT_##unit,
#include "lib/counters.def"
};
/* the HTTP status of a CS() row, 0 for the others */
const int stat_status[STAT__N] = {
#define C(name, kind, unit, help)	0,
#define CS(code)			code,
#include "lib/counters.def"
};
const char *const stat_hist_name[STAT_H__N] = {
#define H(name, unit, help)	#name,
#include "lib/counters.def"
};
const char *const stat_hist_help[STAT_H__N] = {
#define H(name, unit, help)	help,
#include "lib/counters.def"
};

static struct stat_block	stat_private = { .magic = STAT_BLOCK_MAGIC, .ncounters = STAT__N };
struct stat_block		*stat_self = &stat_private;

void
stat_block_init(struct stat_block *b)
{
	memset(b, 0, sizeof *b);
	b->magic = STAT_BLOCK_MAGIC;
	b->ncounters = STAT__N;
}

void
stat_attach(struct stat_block *b)
{
	stat_self = b != NULL ? b : &stat_private;
}

void
stat_gauges_clear(struct stat_block *b)
{
	int i;

	for (i = 0; i < STAT__N; i++)
		if (stat_kinds[i] == STAT_GAUGE)
			CMM_STORE_SHARED(b->c[i], 0);
}

enum stat_id
stat_status_id(int status)
{
	switch (status) {
#define CS(code)	case code: return (STAT_http_status_##code);
#include "lib/counters.def"
	default:
		return (STAT_http_status_other);
	}
}

int
stat_hist_bucket(uint64_t v)
{
	int b;

	if (v < 2)
		return (0);
	b = 63 - __builtin_clzll(v);
	return (b >= STAT_HIST_BUCKETS ? STAT_HIST_BUCKETS - 1 : b);
}

void
stat_hist_add(enum stat_hist h, uint64_t v)
{
	/* atomic: a worker's HTTP and fitting threads share its block */
	__atomic_fetch_add(&stat_self->h[h][stat_hist_bucket(v)], 1,
	    __ATOMIC_RELAXED);
	__atomic_fetch_add(&stat_self->hsum[h], v, __ATOMIC_RELAXED);
}

double
stat_hist_quantile(const uint64_t b[STAT_HIST_BUCKETS], double q)
{
	uint64_t total = 0, acc = 0, want;
	int i;

	for (i = 0; i < STAT_HIST_BUCKETS; i++)
		total += b[i];
	if (total == 0)
		return (0);
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < STAT_HIST_BUCKETS; i++) {
		if (acc + b[i] > want) {
			/* linear inside the bucket [2^i, 2^(i+1)) */
			double lo = i == 0 ? 0 : (double)(1ull << i);
			double hi = (double)(1ull << (i + 1));
			double f = b[i] ? (double)(want - acc) / (double)b[i] : 0;
			return (lo + f * (hi - lo));
		}
		acc += b[i];
	}
	return ((double)(1ull << (STAT_HIST_BUCKETS - 1)));
}

int
stat_prom_name(enum stat_id id, char *buf, size_t len)
{
	char base[64];
	size_t l;

	snprintf(base, sizeof base, "%s", stat_name[id]);
	l = strlen(base);
	/* fit_ns -> fit_seconds, heap_alloc_bytes stays */
	if (stat_units[id] == STAT_UNIT_NS && l > 3 &&
	    strcmp(base + l - 3, "_ns") == 0) {
		base[l - 3] = '\0';
		strncat(base, "_seconds", sizeof base - strlen(base) - 1);
	} else if (stat_units[id] == STAT_UNIT_NS)
		strncat(base, "_seconds", sizeof base - strlen(base) - 1);
	if (stat_kinds[id] == STAT_COUNTER)
		return (snprintf(buf, len, "impcore_%s_total", base));
	return (snprintf(buf, len, "impcore_%s", base));
}

double
stat_prom_scale(enum stat_id id)
{
	return (stat_units[id] == STAT_UNIT_NS ? 1e-9 : 1.0);
}

int
stat_hist_prom_name(enum stat_hist h, char *buf, size_t len)
{
	return (snprintf(buf, len, "impcore_%s_seconds", stat_hist_name[h]));
}

const char *
stat_kind_name(enum stat_kind k)
{
	return (k == STAT_GAUGE ? "gauge" : "counter");
}

const char *
stat_unit_name(enum stat_unit u)
{
	switch (u) {
	case STAT_UNIT_BYTES:	return ("bytes");
	case STAT_UNIT_NS:	return ("ns");
	default:		return ("count");
	}
}
