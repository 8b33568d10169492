/*
 * impcore - impctl webhooks and webhook-retry: deliveries waiting, in
 * flight or given up, and putting given-up ones back in the queue.
 *
 * webhook-retry is the one command that writes to the state file: it maps
 * it read-write (state_open_rw, which neither locks nor recovers anything)
 * and moves each FAILED webhook word to PENDING with rtab_wh_retry_now(), a
 * CAS that cannot disturb the server.  impctl holds no eventfd to wake the
 * webhook process; that process rescans the table for due deliveries every
 * few seconds (rtab_wh_due), which is what picks the retried ones up.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "impctl/impctl.h"
#include "lib/buf.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "state/state.h"

static int	cli_webhooks_exec(struct cli_ctx *, int, char **);
static int	cli_webhook_retry_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_webhooks_entry = {
	.name = "webhooks",
	.usage = "[--failed | -a] [--json]",
	.help = "webhook deliveries pending, in flight, failed",
	.map = CLI_MAP_RO,
	.exec = cli_webhooks_exec,
};

const struct cli_cmd cli_webhook_retry_entry = {
	.name = "webhook-retry",
	.usage = "ID | --all-failed",
	.help = "deliver failed webhooks again (result/batch id)",
	.map = CLI_MAP_RW,
	.exec = cli_webhook_retry_exec,
};

/* Which deliveries a scan keeps. */
enum cli_wh_filter {
	CLI_WH_OPEN,		/* pending, inflight, failed */
	CLI_WH_FAILED,
	CLI_WH_ALL		/* every record with a webhook */
};

static int
cli_wh_wanted(enum rtab_wh wh, enum cli_wh_filter f)
{
	switch (f) {
	case CLI_WH_FAILED:
		return (wh == RTAB_WH_FAILED);
	case CLI_WH_ALL:
		return (wh != RTAB_WH_NONE);
	default:
		return (wh == RTAB_WH_PENDING || wh == RTAB_WH_INFLIGHT ||
		    wh == RTAB_WH_FAILED);
	}
}

/*
 * Call fn for each delivery (a record's, or a batch's in webhook_mode
 * batch) that passes the filter, from a copy (no lock).  Records that are free, or change for too long, are skipped.
 */
static void
cli_wh_scan(const struct shm *shm, enum cli_wh_filter f,
    void (*fn)(const struct rtab_view *v, void *arg), void *arg)
{
	struct rtab_view v;
	uint32_t rec, nrec = rtab_nrecords(shm), n = rtab_wh_items(shm);

	/* records, then the batches that deliver themselves (rtab.h) */
	for (rec = 0; rec < n; rec++) {
		/* cheap test of the state word first: most records are free */
		if (rec < nrec && rtab_state_of(shm, rec, NULL) == RTAB_FREE)
			continue;
		if (rtab_view_get(shm, rec, 0, &v) != 0)
			continue;
		if (cli_wh_wanted(v.wh, f))
			fn(&v, arg);
	}
}

/*==================================================================== webhooks */

struct cli_wh_list {
	uint64_t	now;
	int		n[RTAB_WH_FAILED + 1];
	struct buf	*json;		/* --json: the array so far */
};

/* A CLOCK_REALTIME ns time as RFC 3339, null for none. */
static void
cli_wh_json_time(struct buf *b, const char *name, uint64_t t)
{
	char ts[48];

	buf_printf(b, ",\"%s\":", name);
	if (t == 0)
		buf_adds(b, "null");
	else
		buf_json_str(b, tim_rfc3339(t, 1, ts, sizeof ts));
}

/* One delivery as a JSON object, the columns of the table by name. */
static void
cli_wh_json(const struct rtab_view *v, struct cli_wh_list *l, int first)
{
	struct buf *b = l->json;

	buf_adds(b, first ? "\n{\"result_id\":" : ",\n{\"result_id\":");
	buf_json_str(b, v->result_id);
	buf_adds(b, ",\"state\":");
	buf_json_str(b, rtab_wh_name(v->wh));
	buf_printf(b, ",\"attempts\":%d", v->wh_attempts);
	cli_wh_json_time(b, "first_attempt", v->wh_first);
	cli_wh_json_time(b, "last_attempt", v->wh_last);
	cli_wh_json_time(b, "next_attempt",
	    v->wh == RTAB_WH_PENDING ? v->wh_next : 0);
	if (v->wh_batch)
		buf_printf(b, ",\"kind\":\"batch\",\"parts_delivered\":%u",
		    (unsigned)v->wh_part);
	else
		buf_printf(b, ",\"kind\":\"result\",\"iteration\":%d",
		    v->iteration);
	buf_adds(b, ",\"batch_id\":");
	buf_json_str(b, v->batch_id);
	buf_adds(b, ",\"url\":");
	buf_json_str(b, v->url);
	buf_adds(b, ",\"last_error\":");
	if (v->wh_error[0] != '\0')
		buf_json_str(b, v->wh_error);
	else
		buf_adds(b, "null");
	buf_addc(b, '}');
}

static void
cli_wh_line(const struct rtab_view *v, void *arg)
{
	struct cli_wh_list *l = arg;
	char first[32], last[32], next[32], url[3 * RTAB_URL_MAX + 1];
	char err[3 * RTAB_ERR_MAX + 1], iter[16];
	int n = l->n[RTAB_WH_NONE] + l->n[RTAB_WH_WAITING] +
	    l->n[RTAB_WH_PENDING] + l->n[RTAB_WH_INFLIGHT] +
	    l->n[RTAB_WH_DELIVERED] + l->n[RTAB_WH_FAILED];

	l->n[v->wh]++;
	if (l->json != NULL) {
		cli_wh_json(v, l, n == 0);
		return;
	}
	cli_fmt_age(v->wh_first, l->now, first, sizeof first);
	cli_fmt_age(v->wh_last, l->now, last, sizeof last);
	if (v->wh == RTAB_WH_PENDING)
		cli_fmt_age(v->wh_next, l->now, next, sizeof next);
	else
		snprintf(next, sizeof next, "-");
	/* the URL (and an error quoting one) without passwords or query values */
	mask_text(v->url, strnlen(v->url, sizeof v->url), url, sizeof url);
	mask_text(v->wh_error, strnlen(v->wh_error, sizeof v->wh_error), err,
	    sizeof err);
	/* a batch delivery (webhook_mode batch) has no iteration */
	if (v->wh_batch)
		snprintf(iter, sizeof iter, "batch");
	else
		snprintf(iter, sizeof iter, "%d", v->iteration);
	printf("%-16s %-9s %8d %14s %14s %14s %5s %s %s\n", v->result_id,
	    rtab_wh_name(v->wh), v->wh_attempts, first, last, next,
	    iter, v->batch_id, url);
	if (v->wh_error[0] != '\0' && v->wh != RTAB_WH_DELIVERED)
		printf("%16s last error: %s\n", "", err);
}

static int
cli_webhooks_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "failed",	no_argument,	NULL, 'f' },
		{ "all",	no_argument,	NULL, 'a' },
		{ "json",	no_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	enum cli_wh_filter f = CLI_WH_OPEN;
	struct cli_wh_list l;
	struct buf json;
	int c, js = 0;

	while ((c = getopt_long(argc, argv, "fa", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			f = CLI_WH_FAILED;
			break;
		case 'a':
			f = CLI_WH_ALL;
			break;
		case 'j':
			js = 1;
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	memset(&l, 0, sizeof l);
	l.now = tim_real();
	if (js) {
		buf_init(&json);
		buf_adds(&json, "{\"webhooks\":[");
		l.json = &json;
		cli_wh_scan(ctx->shm, f, cli_wh_line, &l);
		buf_printf(&json, "],\n\"pending\":%d,\"inflight\":%d,"
		    "\"failed\":%d", l.n[RTAB_WH_PENDING],
		    l.n[RTAB_WH_INFLIGHT], l.n[RTAB_WH_FAILED]);
		if (f == CLI_WH_ALL)
			buf_printf(&json, ",\"waiting\":%d,\"delivered\":%d",
			    l.n[RTAB_WH_WAITING], l.n[RTAB_WH_DELIVERED]);
		buf_addc(&json, '}');
		puts(json.p);
		buf_free(&json);
		return (CLI_EXIT_OK);
	}
	printf("%-16s %-9s %8s %14s %14s %14s %5s %s %s\n", "RESULT_ID",
	    "STATE", "ATTEMPTS", "FIRST_ATTEMPT", "LAST_ATTEMPT",
	    "NEXT_ATTEMPT", "ITER", "BATCH", "URL");
	cli_wh_scan(ctx->shm, f, cli_wh_line, &l);
	printf("%d pending, %d inflight, %d failed", l.n[RTAB_WH_PENDING],
	    l.n[RTAB_WH_INFLIGHT], l.n[RTAB_WH_FAILED]);
	if (f == CLI_WH_ALL)
		printf(", %d waiting for their fit, %d delivered",
		    l.n[RTAB_WH_WAITING], l.n[RTAB_WH_DELIVERED]);
	printf("\n");
	return (CLI_EXIT_OK);
}

/*=============================================================== webhook-retry */

struct cli_wh_retry {
	struct shm	*shm;
	const char	*id;		/* NULL: every failed one */
	int		matched;	/* records of id, any webhook state */
	enum rtab_wh	seen;		/* webhook state of the first one */
	int		retried, lost;
};

static void
cli_wh_retry_one(const struct rtab_view *v, void *arg)
{
	struct cli_wh_retry *r = arg;

	if (r->id != NULL && strcmp(v->result_id, r->id) != 0 &&
	    strcmp(v->batch_id, r->id) != 0)
		return;
	if (r->matched++ == 0)
		r->seen = v->wh;
	if (v->wh != RTAB_WH_FAILED)
		return;
	/* the CAS fails only if the record changed since our copy */
	if (rtab_wh_retry_now(r->shm, v->rec) == 0) {
		if (v->wh_batch)
			printf("re-queued %s (batch %s, as a whole, %d attempt%s "
			    "so far)\n", v->result_id, v->batch_id,
			    v->wh_attempts, v->wh_attempts == 1 ? "" : "s");
		else
			printf("re-queued %s (batch %s, iteration %d, %d "
			    "attempt%s so far)\n", v->result_id, v->batch_id,
			    v->iteration, v->wh_attempts,
			    v->wh_attempts == 1 ? "" : "s");
		r->retried++;
	} else
		r->lost++;
}

static int
cli_webhook_retry_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all-failed",	no_argument,	NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_wh_retry r;
	char *cause = NULL, why[160];
	pid_t master;
	int c, all = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'A':
			all = 1;
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (all ? optind != argc : optind != argc - 1)
		return (cli_usage(ctx));

	if (state_open_rw(ctx->state_dir, &ctx->shm, &cause) != 0) {
		cli_err("%s", cause != NULL ? cause : "cannot open the state file");
		imp_free(cause);
		return (CLI_EXIT_USAGE);
	}
	memset(&r, 0, sizeof r);
	r.shm = ctx->shm;
	r.id = all ? NULL : argv[optind];
	/* the scan keeps every webhook so a wrong id and a delivered one differ */
	cli_wh_scan(ctx->shm, all ? CLI_WH_FAILED : CLI_WH_ALL,
	    cli_wh_retry_one, &r);

	if (r.lost > 0)
		cli_err("%d deliver%s changed state meanwhile: not re-queued",
		    r.lost, r.lost == 1 ? "y" : "ies");
	if (r.retried == 0) {
		if (all)
			cli_err("no failed delivery");
		else if (r.matched == 0)
			cli_err("no result or batch %s with a webhook", r.id);
		else
			cli_err("no failed delivery for %s (webhook %s)", r.id,
			    r.matched == 1 ? rtab_wh_name(r.seen) :
			    "states: impctl webhooks -a");
		return (CLI_EXIT_FAIL);
	}
	printf("%d deliver%s re-queued", r.retried,
	    r.retried == 1 ? "y" : "ies");
	if (cli_master(ctx->shm, &master, why, sizeof why) == 0)
		printf(": the webhook process picks %s up at its next scan "
		    "(a few seconds)\n", r.retried == 1 ? "it" : "them");
	else
		printf(", but the server is down (%s): %s when it starts\n",
		    why, r.retried == 1 ? "it is delivered" : "they are delivered");
	return (CLI_EXIT_OK);
}
