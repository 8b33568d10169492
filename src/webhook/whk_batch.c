/*
 * impcore - the body of a batch delivery (webhook_mode batch, issue 18).
 *
 * {"batch_id": ..., "time": ..., ["part": k, "parts": N,] "results": [...]}
 * with the result objects a per-spectrum delivery sends, in spectrum order.
 * A batch whose body would pass -webhook-batch-max goes in parts, each its
 * own delivery: results are packed greedily in order, a part taking the
 * next result while its body stays within the limit (and always at least
 * one).  The packing depends only on the rendered sizes and the limit, so
 * a retry or the next webhook process cuts the same parts.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/render.h"
#include "common/rtab.h"
#include "common/tim.h"
#include "webhook/whk_priv.h"

/* The envelope before the results ("part"/"parts" only when split). */
static void
whk_batch_env(struct buf *b, const struct rtab_view *v, uint32_t part,
    uint32_t parts)
{
	char ts[48];

	buf_adds(b, "{\"batch_id\":");
	buf_json_str(b, v->batch_id);
	buf_adds(b, ",\"time\":");
	buf_json_str(b, tim_rfc3339(v->t_finished, 1, ts, sizeof ts));
	if (parts > 1)
		buf_printf(b, ",\"part\":%u,\"parts\":%u", part, parts);
	buf_adds(b, ",\"results\":[");
}

/*
 * Render part v->wh_part (0-based) of batch delivery v: its results into
 * res (comma-separated, no brackets), the number of parts into *parts.
 * NULL ok, else why the body cannot be made.
 *
 * XXX every attempt renders the whole batch to find the cut: a batch of
 * N parts costs N whole renders over its delivery.  The usual batch is one
 * part; keep the cut points per batch if big ones become common.
 */
static const char *
whk_batch_results(struct whk *w, const struct rtab_view *v, struct buf *res,
    uint32_t *parts)
{
	struct buf *one = &w->bone, env;
	struct rtab_view rv;
	uint32_t *recs, part = 0, want = v->wh_part;
	size_t envlen, cur, lim = w->batch_max;
	int i, n, ncur = 0;
	const char *why = NULL;

	n = rtab_wh_batch_recs(w->shm, v->rec, &recs);
	if (n <= 0) {
		imp_free(recs);
		return ("the batch could not be read");
	}
	/* the envelope's size as if split in n parts: a bound, and fixed */
	buf_init(&env);
	whk_batch_env(&env, v, (uint32_t)n, (uint32_t)n);
	envlen = env.len + 2;	/* and "]}" */
	buf_free(&env);
	cur = envlen;
	for (i = 0; i < n; i++) {
		if (rtab_view_get(w->shm, recs[i], 1, &rv) != 0) {
			why = "a result of the batch could not be read";
			break;
		}
		buf_reset(one);
		render_result_cached(one, &rv, &w->rcache);
		rtab_view_free(&rv);
		if (ncur > 0 && cur + 1 + one->len > lim) {
			part++;
			ncur = 0;
			cur = envlen;
		}
		if (part == want) {
			if (ncur > 0)
				buf_addc(res, ',');
			buf_add(res, one->p, one->len);
		}
		cur += (ncur > 0) + one->len;
		ncur++;
	}
	imp_free(recs);
	if (one->cap > 64 * 1024)
		buf_free(one);
	*parts = part + 1;
	if (why == NULL && want > part)
		why = "the batch has fewer parts than were delivered";
	return (why);
}

/*
 * The signed content of batch delivery v into b: "<id>.<ts>.<body>", with
 * d->prefix the length before the body and d->resid the webhook-id (the
 * batch delivery's id, "-<part>" added when split: stable across retries).
 */
const char *
whk_batch_content(struct whk *w, struct whk_dlv *d, const struct rtab_view *v,
    const char *tsb, size_t tslen)
{
	struct buf *b = &d->cbuf, *res = &w->bres;
	uint32_t parts = 1;
	const char *why;

	buf_reset(res);
	if ((why = whk_batch_results(w, v, res, &parts)) != NULL)
		return (why);
	d->part = v->wh_part;
	d->parts = parts;
	if (parts > 1)
		snprintf(d->resid, sizeof d->resid, "%s-%u", v->result_id,
		    (unsigned)v->wh_part + 1);
	else
		snprintf(d->resid, sizeof d->resid, "%s", v->result_id);
	buf_reset(b);
	buf_adds(b, d->resid);
	buf_addc(b, '.');
	buf_add(b, tsb, tslen);
	buf_addc(b, '.');
	d->prefix = b->len;
	whk_batch_env(b, v, v->wh_part + 1, parts);
	buf_add(b, res->p, res->len);
	buf_adds(b, "]}");
	if (res->cap > 64 * 1024)
		buf_free(res);
	return (NULL);
}
