/*
 * impcore - impctl stats: every counter of counters.def, summed and per
 * process, as a table (default), "name value description" lines (-1) or
 * one JSON object (--json).  Names, units and descriptions come from the
 * generated stat_* arrays only.
 *
 * Per-process values are per process slot: a slot's block keeps what
 * earlier occupants counted (so sums never go backwards), and the
 * per-process lines of one output add up to its totals.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "impctl/impctl.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "state/shm.h"

static int	cli_stats_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_stats_entry = {
	.name = "stats",
	.usage = "[-1 | --json]",
	.help = "every counter, total and per process",
	.map = CLI_MAP_RO,
	.exec = cli_stats_exec,
};

/* Quantiles shown for each histogram (name suffix, fraction). */
static const struct {
	const char	*name;
	double		q;
} cli_quantiles[] = {
	{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 },
};
#define CLI_NQ	(sizeof cli_quantiles / sizeof cli_quantiles[0])

/* Per-process columns of the table: live slots, then dead ones summed. */
#define CLI_COLS	6

static uint64_t
cli_hist_count(const uint64_t b[STAT_HIST_BUCKETS])
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < STAT_HIST_BUCKETS; i++)
		n += b[i];
	return (n);
}

/* Is this slot worth a line of its own (used, or counted something)? */
static int
cli_stats_shown(const struct cli_snap_proc *p)
{
	int i;

	if (p->pi.state != SHM_P_FREE)
		return (1);
	for (i = 0; i < STAT__N; i++)
		if (p->c[i] != 0)
			return (1);
	return (0);
}

/*===================================================================== -1 lines */

static void
cli_stats_oneshot(const struct cli_snap *s)
{
	const struct cli_snap_proc *p;
	char label[32];
	int i, k;
	size_t q;

	for (i = 0; i < STAT__N; i++)
		printf("%s %ju %s\n", stat_name[i], (uintmax_t)s->c[i],
		    stat_help[i]);
	for (i = 0; i < STAT_H__N; i++) {
		printf("%s.count %ju %s: samples\n", stat_hist_name[i],
		    (uintmax_t)cli_hist_count(s->h[i]), stat_hist_help[i]);
		for (q = 0; q < CLI_NQ; q++)
			printf("%s.%s %.0f %s: %s, %s\n", stat_hist_name[i],
			    cli_quantiles[q].name,
			    stat_hist_quantile(s->h[i], cli_quantiles[q].q),
			    stat_hist_help[i], cli_quantiles[q].name,
			    cli_hist_unit[i]);
	}
	/* role.index.pid.name (master.pid.name): unique, greppable by role */
	for (k = 0; k < s->nproc; k++) {
		p = &s->p[k];
		if (!cli_stats_shown(p))
			continue;
		cli_proc_label(p->pi.role, p->pi.index, label, sizeof label);
		for (i = 0; i < STAT__N; i++)
			printf("%s.%ld.%s %ju %s\n", label, (long)p->pi.pid,
			    stat_name[i], (uintmax_t)p->c[i], stat_help[i]);
	}
}

/*========================================================================= JSON */

static void
cli_stats_json_counters(struct buf *b, const uint64_t c[STAT__N])
{
	int i;

	buf_addc(b, '{');
	for (i = 0; i < STAT__N; i++) {
		if (i > 0)
			buf_adds(b, ", ");
		buf_json_str(b, stat_name[i]);
		buf_printf(b, ": %ju", (uintmax_t)c[i]);
	}
	buf_addc(b, '}');
}

static void
cli_stats_json(const struct cli_snap *s)
{
	const struct cli_snap_proc *p;
	struct buf b;
	int i, j, k, first = 1;
	size_t q;

	buf_init(&b);
	buf_adds(&b, "{\"counters\": ");
	cli_stats_json_counters(&b, s->c);
	buf_adds(&b, ",\n \"help\": {");
	for (i = 0; i < STAT__N; i++) {
		buf_adds(&b, i > 0 ? ", " : "");
		buf_json_str(&b, stat_name[i]);
		buf_adds(&b, ": ");
		buf_json_str(&b, stat_help[i]);
	}
	buf_adds(&b, "},\n \"histograms\": {");
	for (i = 0; i < STAT_H__N; i++) {
		buf_adds(&b, i > 0 ? ", " : "");
		buf_json_str(&b, stat_hist_name[i]);
		buf_adds(&b, ": {\"unit\": ");
		buf_json_str(&b, cli_hist_unit[i]);
		buf_printf(&b, ", \"count\": %ju",
		    (uintmax_t)cli_hist_count(s->h[i]));
		for (q = 0; q < CLI_NQ; q++)
			buf_printf(&b, ", \"%s\": %.0f", cli_quantiles[q].name,
			    stat_hist_quantile(s->h[i], cli_quantiles[q].q));
		buf_adds(&b, ", \"buckets\": [");
		for (j = 0; j < STAT_HIST_BUCKETS; j++)
			buf_printf(&b, "%s%ju", j > 0 ? ", " : "",
			    (uintmax_t)s->h[i][j]);
		buf_adds(&b, "]}");
	}
	buf_adds(&b, "},\n \"processes\": [");
	for (k = 0; k < s->nproc; k++) {
		p = &s->p[k];
		if (!cli_stats_shown(p))
			continue;
		buf_printf(&b, "%s\n  {\"slot\": %d, \"pid\": %ld, \"role\": ",
		    first ? "" : ",", p->pi.slot, (long)p->pi.pid);
		buf_json_str(&b, shm_role_name(p->pi.role));
		buf_printf(&b, ", \"index\": %d, \"state\": ", p->pi.index);
		buf_json_str(&b, shm_pstate_name(p->pi.state));
		buf_adds(&b, ", \"counters\": ");
		cli_stats_json_counters(&b, p->c);
		buf_addc(&b, '}');
		first = 0;
	}
	buf_adds(&b, "]}\n");
	fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
}

/*======================================================================== table */

/* A value for people: bytes and ns scaled, counts as they are. */
static char *
cli_stats_human(int id, uint64_t v, char *buf, size_t len)
{
	switch (stat_units[id]) {
	case STAT_UNIT_BYTES:
		return (cli_fmt_bytes(v, buf, len));
	case STAT_UNIT_NS:
		return (cli_fmt_ns((double)v, buf, len));
	default:
		snprintf(buf, len, "%ju", (uintmax_t)v);
		return (buf);
	}
}

/* One group of at most CLI_COLS per-process columns. */
static void
cli_stats_group(const struct cli_snap_proc *const *col, int ncol)
{
	char v[32], label[32];
	int i, k, any;

	printf("\n%-22s", "PER PROCESS");
	for (k = 0; k < ncol; k++)
		printf(" %12s", col[k]->pi.slot < 0 ? "dead slots" :
		    cli_proc_label(col[k]->pi.role, col[k]->pi.index, label,
		    sizeof label));
	printf("\n%-22s", "pid");
	for (k = 0; k < ncol; k++) {
		if (col[k]->pi.slot < 0)
			printf(" %12s", "-");
		else
			printf(" %12ld", (long)col[k]->pi.pid);
	}
	printf("\n");
	for (i = 0; i < STAT__N; i++) {
		for (k = any = 0; k < ncol; k++)
			any |= col[k]->c[i] != 0;
		if (!any)
			continue;
		printf("%-22s", stat_name[i]);
		for (k = 0; k < ncol; k++)
			printf(" %12s", cli_stats_human(i, col[k]->c[i], v,
			    sizeof v));
		printf("\n");
	}
}

static void
cli_stats_table(const struct cli_snap *s)
{
	const struct cli_snap_proc *col[SHM_NPROC + 1];
	struct cli_snap_proc *dead;
	char v[32], qs[CLI_NQ][32];
	int i, k, ncol = 0, ndead = 0;
	size_t q;

	printf("%-22s %12s  %s\n", "COUNTER", "TOTAL", "DESCRIPTION");
	for (i = 0; i < STAT__N; i++)
		printf("%-22s %12s  %s\n", stat_name[i],
		    cli_stats_human(i, s->c[i], v, sizeof v), stat_help[i]);

	printf("\n%-22s %12s %10s %10s %10s  %s\n", "HISTOGRAM", "COUNT",
	    "P50", "P90", "P99", "DESCRIPTION");
	for (i = 0; i < STAT_H__N; i++) {
		for (q = 0; q < CLI_NQ; q++) {
			if (cli_hist_count(s->h[i]) == 0)
				snprintf(qs[q], sizeof qs[q], "-");
			else if (strcmp(cli_hist_unit[i], "ns") == 0)
				cli_fmt_ns(stat_hist_quantile(s->h[i],
				    cli_quantiles[q].q), qs[q], sizeof qs[q]);
			else
				snprintf(qs[q], sizeof qs[q], "%.0f",
				    stat_hist_quantile(s->h[i],
				    cli_quantiles[q].q));
		}
		printf("%-22s %12ju %10s %10s %10s  %s\n", stat_hist_name[i],
		    (uintmax_t)cli_hist_count(s->h[i]), qs[0], qs[1], qs[2],
		    stat_hist_help[i]);
	}

	/* dead slots would make a column per crash: one summed column */
	dead = imp_calloc(1, sizeof *dead);
	dead->pi.slot = -1;
	for (k = 0; k < s->nproc; k++) {
		if (cli_snap_live(&s->p[k]))
			col[ncol++] = &s->p[k];
		else if (cli_stats_shown(&s->p[k])) {
			for (i = 0; i < STAT__N; i++)
				dead->c[i] += s->p[k].c[i];
			ndead++;
		}
	}
	if (ndead > 0)
		col[ncol++] = dead;
	for (k = 0; k < ncol; k += CLI_COLS)
		cli_stats_group(col + k, ncol - k < CLI_COLS ? ncol - k : CLI_COLS);
	imp_free(dead);
}

static int
cli_stats_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "one-shot",	no_argument,	NULL, '1' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_snap *s;
	int c, mode = 0;

	while ((c = getopt_long(argc, argv, "1j", longopts, NULL)) != -1) {
		switch (c) {
		case '1':
		case 'j':
			if (mode != 0 && mode != c)
				return (cli_usage(ctx));
			mode = c;
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	s = imp_malloc(sizeof *s);
	cli_snap_take(ctx->shm, s);
	if (mode == '1')
		cli_stats_oneshot(s);
	else if (mode == 'j')
		cli_stats_json(s);
	else
		cli_stats_table(s);
	imp_free(s);
	return (CLI_EXIT_OK);
}
