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
 *
 * Cost: a result is rendered straight into the signed content, once per
 * attempt of its part.  The usual batch is one part, found so on the way.
 * A batch that has to be split is sized once (its first part's results
 * rendered twice) and its cut points kept in whk.cuts, so that every later
 * part renders only its own results: delivering N parts costs about two
 * renders of the batch, where rendering the whole batch per part cost N.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/check.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "render/render.h"
#include "state/rtab.h"
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

/* The size the packing counts for the envelope: as if split in n parts
 * (a bound, and the same for every part), and the closing "]}". */
static size_t
whk_batch_envlen(const struct rtab_view *v, int n)
{
	struct buf env;
	size_t len;

	buf_init(&env);
	whk_batch_env(&env, v, (uint32_t)n, (uint32_t)n);
	len = env.len + 2;
	buf_free(&env);
	return (len);
}

/* Append record rec's result object to b; -1 when it cannot be read. */
static int
whk_batch_one(struct whk *w, struct buf *b, uint32_t rec)
{
	struct rtab_view rv;

	if (rtab_view_get(w->shm, rec, 1, &rv) != 0)
		return (-1);
	render_result_cached(b, &rv, &w->rcache);
	rtab_view_free(&rv);
	STAT_INC(webhook_rendered);
	return (0);
}

/* The kept cuts of delivery v (of n records, at the current limit), or NULL. */
static struct whk_cuts *
whk_cuts_find(struct whk *w, const struct rtab_view *v, int n)
{
	struct whk_cuts *c = &w->cuts[v->rec % WHK_CUTS];

	if (c->start == NULL || c->item != v->rec || c->n != n ||
	    c->lim != w->batch_max || strcmp(c->id, v->result_id) != 0)
		return (NULL);
	return (c);
}

/*
 * Find and keep the cuts of delivery v: sz[0 .. known) are the sizes of
 * its first results, already rendered; the others are rendered here to
 * learn theirs.  NULL when a result cannot be read.
 */
static struct whk_cuts *
whk_cuts_make(struct whk *w, const struct rtab_view *v, const uint32_t *recs,
    int n, size_t *sz, int known)
{
	struct whk_cuts *c = &w->cuts[v->rec % WHK_CUTS];
	struct buf *one = &w->bone;
	size_t envlen = whk_batch_envlen(v, n), cur = envlen;
	uint32_t parts = 0;
	int i, ncur = 0;

	for (i = known; i < n; i++) {
		buf_reset(one);
		if (whk_batch_one(w, one, recs[i]) != 0)
			return (NULL);
		sz[i] = one->len;
	}
	if (one->cap > 64 * 1024)
		buf_free(one);
	imp_free(c->start);
	c->start = imp_malloc(sizeof *c->start * ((size_t)n + 1));
	for (i = 0; i < n; i++) {
		if (i == 0 || (ncur > 0 && cur + 1 + sz[i] > w->batch_max)) {
			c->start[parts++] = (uint32_t)i;
			ncur = 0;
			cur = envlen;
		}
		cur += (ncur > 0) + sz[i];
		ncur++;
	}
	c->start[parts] = (uint32_t)n;
	c->nparts = parts;
	c->item = v->rec;
	c->n = n;
	c->lim = w->batch_max;
	snprintf(c->id, sizeof c->id, "%s", v->result_id);
	return (c);
}

/* "<resid>.<ts>." then the envelope of part (0-based) of parts, into b. */
static void
whk_batch_head(struct whk_dlv *d, const struct rtab_view *v, uint32_t part,
    uint32_t parts, const char *tsb, size_t tslen)
{
	struct buf *b = &d->cbuf;

	d->part = part;
	d->parts = parts;
	if (parts > 1)
		snprintf(d->resid, sizeof d->resid, "%s-%u", v->result_id,
		    (unsigned)part + 1);
	else
		snprintf(d->resid, sizeof d->resid, "%s", v->result_id);
	buf_reset(b);
	buf_adds(b, d->resid);
	buf_addc(b, '.');
	buf_add(b, tsb, tslen);
	buf_addc(b, '.');
	d->prefix = b->len;
	whk_batch_env(b, v, part + 1, parts);
}

/*
 * Results recs[from .. to) into d's content, comma-separated, and the
 * closing "]}".  With sz (the one-part attempt), each result's size goes
 * to sz[i] and the packing is checked as they come: *cut becomes the first
 * that does not fit (to when all do).  -1 when a result cannot be read.
 */
static int
whk_batch_fill(struct whk *w, struct whk_dlv *d, const uint32_t *recs,
    int from, int to, size_t envlen, size_t *sz, int *cut)
{
	struct buf *b = &d->cbuf;
	size_t start, cur = envlen, room;
	int i;

	for (i = from; i < to; i++) {
		if (i > from)
			buf_addc(b, ',');
		start = b->len;
		if (whk_batch_one(w, b, recs[i]) != 0)
			return (-1);
		if (sz != NULL) {
			sz[i] = b->len - start;
			if (i > from && cur + 1 + sz[i] > w->batch_max) {
				*cut = i;
				return (0);
			}
			cur += (i > from) + sz[i];
		}
		/* one allocation for the rest, rather than doublings
		 * from 256 bytes (a body over 64 KiB is not kept between
		 * deliveries); a part stops near the limit */
		if (i == from) {
			room = (b->len - start + 1) * (size_t)(to - i) + 64;
			buf_need(b, room < w->batch_max + 64 ? room :
			    (size_t)w->batch_max + 64);
		}
	}
	buf_adds(b, "]}");
	if (cut != NULL)
		*cut = to;
	return (0);
}

/*
 * The signed content of batch delivery v (part v->wh_part) into d->cbuf:
 * "<id>.<ts>.<body>", with d->prefix the length before the body and
 * d->resid the webhook-id (the batch delivery's id, "-<part>" added when
 * split: stable across retries).  NULL ok, else why not.
 */
const char *
whk_batch_content(struct whk *w, struct whk_dlv *d, const struct rtab_view *v,
    const char *tsb, size_t tslen)
{
	struct whk_cuts *c;
	uint32_t *recs, want = v->wh_part;
	size_t *sz = NULL;
	int n, cut;
	const char *why = NULL;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	n = rtab_wh_batch_recs(w->shm, v->rec, &recs);
	if (n <= 0) {
		imp_free(recs);
		return ("the batch could not be read");
	}
	if ((c = whk_cuts_find(w, v, n)) == NULL) {
		/* one part, unless the packing cuts it on the way */
		sz = imp_malloc(sizeof *sz * (size_t)n);
		whk_batch_head(d, v, 0, 1, tsb, tslen);
		if (whk_batch_fill(w, d, recs, 0, n, whk_batch_envlen(v, n),
		    sz, &cut) != 0)
			why = "a result of the batch could not be read";
		else if (cut < n && (c = whk_cuts_make(w, v, recs, n, sz,
		    cut + 1)) == NULL)
			why = "a result of the batch could not be read";
		else if (cut == n && want > 0)
			why = "the batch has fewer parts than were delivered";
	}
	if (why == NULL && c != NULL) {
		if (want >= c->nparts)
			why = "the batch has fewer parts than were delivered";
		else {
			whk_batch_head(d, v, want, c->nparts, tsb, tslen);
			if (whk_batch_fill(w, d, recs, (int)c->start[want],
			    (int)c->start[want + 1], 0, NULL, NULL) != 0)
				why = "a result of the batch could not be read";
		}
	}
	imp_free(sz);
	imp_free(recs);
	return (why);
}

/* Forget the kept cuts (the process ends). */
void
whk_batch_fini(struct whk *w)
{
	int i;

	CHECK_OBJ_NOTNULL(w, WHK_MAGIC);

	for (i = 0; i < WHK_CUTS; i++) {
		imp_free(w->cuts[i].start);
		w->cuts[i].start = NULL;
	}
}
