/*
 * impcore - impctl batches and batch ID: recent batches and their
 * progress, and every spectrum of one batch with its result.  Records are
 * read with rtab_view_get() (a copy checked against the state word), never
 * under the result table's mutex.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "impctl/impctl.h"
#include "lib/buf.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "render/render.h"
#include "state/rtab.h"
#include "impfit.h"
#include "plot/plot.h"
#include "render/plot_view.h"

static int	cli_batches_exec(struct cli_ctx *, int, char **);
static int	cli_batch_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_batches_entry = {
	.name = "batches",
	.usage = "[-a | -n N] [--json]",
	.help = "batches and their progress",
	.map = CLI_MAP_RO,
	.exec = cli_batches_exec,
};

const struct cli_cmd cli_batch_entry = {
	.name = "batch",
	.usage = "[--json] [--plot DIR] BATCH_ID",
	.help = "every spectrum of a batch and its result (--plot: SVGs)",
	.map = CLI_MAP_RO,
	.exec = cli_batch_exec,
};

/* A record may be changing under us (a worker finishing it): try again. */
#define CLI_VIEW_TRIES	100

/*===================================================================== batches */

struct cli_batches {
	int			max;		/* 0: print as we go (all) */
	struct buf		*json;		/* --json: the array so far */
	int			total;
	struct rtab_batch_info	*last;		/* ring of the last max batches */
	uint64_t		now;
};

static void
cli_batches_line(const struct rtab_batch_info *bi, uint64_t now)
{
	char age[32];

	printf("%-9s %7d %6d %7d %6d %6d %9d %-10s %3d/%d/%d/%d  %s\n",
	    cli_fmt_dur(now > bi->created ? now - bi->created : 0, age,
	    sizeof age), bi->count, bi->queued, bi->running, bi->done,
	    bi->failed, bi->cancelled, rtab_batch_status(bi), bi->wh_pending,
	    bi->wh_inflight, bi->wh_delivered, bi->wh_failed, bi->id);
}

/* One batch as a JSON object, the columns of the table by name. */
static void
cli_batches_json(struct buf *b, const struct rtab_batch_info *bi, int first)
{
	char ts[48];

	buf_adds(b, first ? "\n{\"batch_id\":" : ",\n{\"batch_id\":");
	buf_json_str(b, bi->id);
	buf_adds(b, ",\"status\":");
	buf_json_str(b, rtab_batch_status(bi));
	buf_adds(b, ",\"created\":");
	buf_json_str(b, tim_rfc3339(bi->created, 0, ts, sizeof ts));
	buf_printf(b, ",\"spectra\":%d,\"queued\":%d,\"running\":%d,"
	    "\"done\":%d,\"failed\":%d,\"cancelled\":%d,\"webhook\":"
	    "{\"pending\":%d,\"inflight\":%d,\"delivered\":%d,\"failed\":%d}}",
	    bi->count, bi->queued, bi->running, bi->done, bi->failed,
	    bi->cancelled, bi->wh_pending, bi->wh_inflight, bi->wh_delivered,
	    bi->wh_failed);
}

static void
cli_batches_emit(struct cli_batches *cb, const struct rtab_batch_info *bi,
    int first)
{
	if (cb->json != NULL)
		cli_batches_json(cb->json, bi, first);
	else
		cli_batches_line(bi, cb->now);
}

static int
cli_batches_one(const struct rtab_batch_info *bi, void *arg)
{
	struct cli_batches *cb = arg;

	if (cb->max == 0)
		cli_batches_emit(cb, bi, cb->total == 0);
	else
		cb->last[cb->total % cb->max] = *bi;
	cb->total++;
	return (0);
}

static int
cli_batches_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_batches cb;
	struct buf json;
	char *end;
	int c, i, first;

	memset(&cb, 0, sizeof cb);
	cb.max = 20;
	cb.now = tim_real();
	while ((c = getopt_long(argc, argv, "an:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			cb.json = &json;
			break;
		case 'a':
			cb.max = 0;
			break;
		case 'n':
			cb.max = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || cb.max < 1)
				return (cli_usage(ctx));
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	if (cb.json != NULL) {
		buf_init(&json);
		buf_adds(&json, "{\"batches\":[");
	} else
		printf("%-9s %7s %6s %7s %6s %6s %9s %-10s %-13s %s\n", "AGE",
		    "SPECTRA", "QUEUED", "RUNNING", "DONE", "FAILED",
		    "CANCELLED", "STATUS", "WEBHOOK p/i/d/f", "BATCH");
	if (cb.max > 0)
		cb.last = imp_calloc((size_t)cb.max, sizeof *cb.last);
	rtab_batch_foreach(ctx->shm, cli_batches_one, &cb);
	if (cb.max > 0) {
		/* oldest first, like the table itself */
		first = cb.total > cb.max ? cb.total - cb.max : 0;
		for (i = first; i < cb.total; i++)
			cli_batches_emit(&cb, &cb.last[i % cb.max], i == first);
		imp_free(cb.last);
	}
	if (cb.json != NULL) {
		/* total: in the table; the array holds the last -n of them */
		buf_printf(&json, "],\n\"total\":%d}", cb.total);
		puts(json.p);
		buf_free(&json);
		return (CLI_EXIT_OK);
	}
	printf("%d batch%s in the table%s\n", cb.total, cb.total == 1 ? "" : "es",
	    cb.max > 0 && cb.total > cb.max ? " (older ones: -a)" : "");
	return (CLI_EXIT_OK);
}

/*======================================================================= batch */

/* rtab_view_get() with retries; 0 ok, -1 evicted or never settled. */
static int
cli_view(const struct shm *shm, uint32_t rec, int with_data,
    struct rtab_view *v)
{
	int i;

	for (i = 0; i < CLI_VIEW_TRIES; i++)
		if (rtab_view_get(shm, rec, with_data, v) == 0)
			return (0);
	return (-1);
}

/* "R0=10.1 R1=99.8 C0=0.0001" (names from the circuit) or the error. */
static void
cli_batch_params(const struct rtab_view *v, struct buf *b)
{
	struct impfit_circuit *circ;
	char err[128];
	int i;

	if (v->state == RTAB_FAILED) {
		buf_printf(b, "error: %s", v->error);
		return;
	}
	if (v->params == NULL || v->state != RTAB_DONE)
		return;
	circ = impfit_circuit_parse(v->circuit, err, sizeof err);
	for (i = 0; i < v->nparams; i++) {
		if (circ != NULL && i < impfit_circuit_nparams(circ))
			buf_printf(b, "%s%s=%.6g", i ? " " : "",
			    impfit_circuit_param_name(circ, i), v->params[i]);
		else
			buf_printf(b, "%sp%d=%.6g", i ? " " : "", i,
			    v->params[i]);
	}
	if (circ != NULL)
		impfit_circuit_free(circ);
}

static void
cli_batch_table(const struct shm *shm, const struct rtab_batch_info *bi,
    const uint32_t *recs)
{
	struct rtab_view v;
	struct buf b;
	char ts[40], chi[32], ms[32], owner[16], url[3 * RTAB_URL_MAX + 1];
	int i;

	printf("batch %s: %s, %d spectra (queued %d, running %d, done %d, "
	    "failed %d, cancelled %d), created %s\n", bi->id,
	    rtab_batch_status(bi), bi->count, bi->queued, bi->running,
	    bi->done, bi->failed, bi->cancelled,
	    tim_rfc3339(bi->created, 0, ts, sizeof ts));
	/* whoever can read the state file must not learn the URL's secrets */
	mask_text(bi->url, strnlen(bi->url, sizeof bi->url), url, sizeof url);
	if (bi->url[0] != '\0')
		printf("webhook %s: pending %d, inflight %d, delivered %d, "
		    "failed %d\n", url, bi->wh_pending, bi->wh_inflight,
		    bi->wh_delivered, bi->wh_failed);
	printf("%4s %5s %-16s %-9s %-14s %-10s %12s %6s %9s %-10s %7s %s\n", "#",
	    "ITER", "RESULT_ID", "STATE", "FIT_STATUS", "CIRCUIT", "CHI_SQUARE",
	    "ITERS", "FIT_MS", "WEBHOOK", "OWNER", "PARAMETERS");
	buf_init(&b);
	for (i = 0; i < bi->count; i++) {
		if (cli_view(shm, recs[i], 1, &v) != 0) {
			printf("%4d %5s %-16s %-9s (record evicted or changing)\n",
			    i, "?", "?", "?");
			continue;
		}
		buf_reset(&b);
		cli_batch_params(&v, &b);
		if (v.state == RTAB_DONE) {
			snprintf(chi, sizeof chi, "%.4g", v.chi_square);
			snprintf(ms, sizeof ms, "%.3f", v.fit_ns / 1e6);
		} else {
			snprintf(chi, sizeof chi, "-");
			snprintf(ms, sizeof ms, "-");
		}
		/* who holds the lease: the pid to look at (or to kill) */
		if (v.state == RTAB_RUNNING)
			snprintf(owner, sizeof owner, "%d", (int)v.owner);
		else
			snprintf(owner, sizeof owner, "-");
		printf("%4d %5d %-16s %-9s %-14s %-10s %12s %6d %9s %-10s %7s %s\n",
		    i, v.iteration, v.result_id, rtab_state_name(v.state),
		    v.state == RTAB_DONE ?
		    impfit_status_name((enum impfit_status)v.fit_status) : "-",
		    v.circuit, chi, v.iterations, ms, rtab_wh_name(v.wh),
		    owner, b.len ? b.p : "");
		rtab_view_free(&v);
	}
	buf_free(&b);
}

/* The body of GET /eis-data/batch/{id}, result objects by render_result(). */
static int
cli_batch_json(const struct shm *shm, const struct rtab_batch_info *bi,
    const uint32_t *recs)
{
	struct rtab_view v;
	struct buf b;
	int i, n = 0, missing = 0;

	buf_init(&b);
	buf_adds(&b, "{\"batch_id\": ");
	buf_json_str(&b, bi->id);
	buf_adds(&b, ", \"status\": ");
	buf_json_str(&b, rtab_batch_status(bi));
	buf_printf(&b, ", \"spectra\": %d, \"done\": %d, \"failed\": %d, "
	    "\"results\": [", bi->count, bi->done, bi->failed);
	for (i = 0; i < bi->count; i++) {
		if (cli_view(shm, recs[i], 1, &v) != 0) {
			missing++;
			continue;
		}
		buf_adds(&b, n++ ? ",\n  " : "\n  ");
		render_result(&b, &v);
		rtab_view_free(&v);
	}
	buf_adds(&b, "]}\n");
	fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
	if (missing > 0) {
		cli_err("%d record%s of batch %s evicted or changing: left out",
		    missing, missing == 1 ? "" : "s", bi->id);
		return (CLI_EXIT_FAIL);
	}
	return (CLI_EXIT_OK);
}

/*
 * --plot DIR: DIR/<batch>-<N>.svg for each spectrum N of the batch (its
 * place in the batch, as in GET .../plot.svg?spectrum=N), with the DRT;
 * from the state file alone, so it works on a dead server's too.
 */
static int
cli_batch_plot(const struct shm *shm, const struct rtab_batch_info *bi,
    const uint32_t *recs, const char *dir)
{
	struct rtab_view v;
	char path[4096], *svg;
	size_t len;
	FILE *fp;
	int i, rc = CLI_EXIT_OK;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		cli_err("mkdir %s: %s", dir, strerror(errno));
		return (CLI_EXIT_FAIL);
	}
	for (i = 0; i < bi->count; i++) {
		if (cli_view(shm, recs[i], 1, &v) != 0) {
			cli_err("batch %s: spectrum %d is gone", bi->id, i);
			rc = CLI_EXIT_FAIL;
			continue;
		}
		svg = plot_view_svg(&v, PLOT_ALL, &len);
		rtab_view_free(&v);
		if (svg == NULL) {
			cli_err("batch %s: spectrum %d: nothing to draw", bi->id,
			    i);
			rc = CLI_EXIT_FAIL;
			continue;
		}
		snprintf(path, sizeof path, "%s/%s-%d.svg", dir, bi->id, i);
		if ((fp = fopen(path, "w")) == NULL ||
		    fwrite(svg, 1, len, fp) != len || fclose(fp) != 0) {
			cli_err("%s: %s", path, strerror(errno));
			rc = CLI_EXIT_FAIL;
		} else
			printf("%s\n", path);
		free(svg);
	}
	return (rc);
}

static int
cli_batch_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "plot",	required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct rtab_batch_info bi;
	uint32_t *recs = NULL;
	const char *plot = NULL;
	int c, json = 0, rc = CLI_EXIT_OK;

	while ((c = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'p':
			plot = optarg;
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc - 1)
		return (cli_usage(ctx));
	if (rtab_batch_find_ro(ctx->shm, argv[optind], &bi, &recs) != 0) {
		cli_err("no batch %s in %s", argv[optind], ctx->state_dir);
		return (CLI_EXIT_FAIL);
	}
	if (plot != NULL)
		rc = cli_batch_plot(ctx->shm, &bi, recs, plot);
	else if (json)
		rc = cli_batch_json(ctx->shm, &bi, recs);
	else
		cli_batch_table(ctx->shm, &bi, recs);
	imp_free(recs);
	return (rc);
}
