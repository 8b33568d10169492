/*
 * impcore - submitting to the result table: a whole batch or nothing,
 * written under the mutex and published by its commit point; the batch
 * digest that tells a client's retry from a conflict.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "lib/check.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"

/*==================================================================
 * Submitting
 */

static void
gen_id(struct shm *s, char *buf, size_t len, const char *prefix)
{
	snprintf(buf, len, "%s%016jx", prefix, (uintmax_t)shm_next_id(s));
}

/* Fill a FILLING record from spec (under the lock). */
static void
rec_fill(struct shm *s, struct rtab_rec *r, uint32_t bi,
    const struct rtab_spec *sp, uint32_t unit, uint32_t units, uint64_t now)
{
	double *d;
	size_t ul = sp->webhook_url != NULL ? strlen(sp->webhook_url) : 0;

	r->batch = bi;
	r->next = RTAB_NONE;
	r->iteration = sp->iteration;
	r->n = (uint32_t)sp->n;
	r->nparams = (uint32_t)sp->nparams;
	r->ninit = (uint32_t)sp->ninit;
	r->ncons = (uint32_t)sp->ncons;
	r->url_len = (uint32_t)ul;
	r->data_unit = unit;
	r->data_units = units;
	r->method = (uint8_t)sp->method;
	r->weighting = (uint8_t)sp->weighting;
	r->max_iterations = sp->max_iterations;
	r->timeout_ms = sp->timeout_ms;
	r->extras = sp->extras;
	r->losses = 0;
	r->sync_state = 0;
	r->fit_status = 0;
	r->iterations = r->evaluations = 0;
	r->chi2 = 0;
	r->fit_ns = 0;
	r->t_accepted = r->t_queued = now;
	r->t_started = r->t_finished = 0;
	r->wh_first = r->wh_last = 0;
	r->wh_next = now;
	copy_str(r->circuit, sp->circuit, sizeof r->circuit);
	gen_id(s, r->resid, sizeof r->resid, "");
	r->error[0] = '\0';
	r->wh_error[0] = '\0';
	d = rec_data(s, r);
	memcpy(d, sp->freq, sizeof(double) * (size_t)sp->n);
	memcpy(d + sp->n, sp->zre, sizeof(double) * (size_t)sp->n);
	memcpy(d + 2 * sp->n, sp->zim, sizeof(double) * (size_t)sp->n);
	if (sp->ninit > 0)
		memcpy(d + 3 * sp->n, sp->init, sizeof(double) * (size_t)sp->ninit);
	memset(d + 3 * sp->n + sp->ninit, 0, sizeof(double) * 2 * (size_t)sp->nparams);
	if (sp->ncons > 0) {
		d += 3 * sp->n + sp->ninit + 2 * sp->nparams;
		memcpy(d, sp->lower, sizeof(double) * (size_t)sp->ncons);
		memcpy(d + sp->ncons, sp->upper, sizeof(double) *
		    (size_t)sp->ncons);
	}
	if (ul > 0)
		memcpy(rec_url(s, r), sp->webhook_url, ul + 1);
}

/* Store an outcome into a record we own (lease or FILLING). */
void
rtab_rec_outcome(struct shm *s, struct rtab_rec *r, const struct rtab_outcome *o,
    uint64_t now)
{
	double *d = rec_data(s, r) + 3 * r->n + r->ninit;
	uint32_t np = r->nparams, i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < np; i++) {
		d[i] = (int)i < o->nparams && o->params != NULL ? o->params[i] : 0;
		d[np + i] = (int)i < o->nparams && o->std_errors != NULL ?
		    o->std_errors[i] : 0;
	}
	r->fit_status = o->fit_status;
	r->chi2 = o->chi_square;
	r->iterations = o->iterations;
	r->evaluations = o->evaluations;
	r->fit_ns = o->fit_ns;
	r->t_finished = now;
	if (o->failed && o->error != NULL)
		copy_str(r->error, o->error, sizeof r->error);
	else
		r->error[0] = '\0';
}

/*
 * A digest of what a batch POST asks for: each spectrum's data and fit
 * options and the webhook URLs, in order; not the server's own limits
 * (timeout_ms), so a retry after a config reload is still the same batch.
 * Not cryptographic: it tells a client's retry from a client that reused
 * an id for other spectra (issue 17), nobody forges it against himself.
 */
static uint64_t
dg_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;		/* FNV-1a's prime, on words */
	return (h ^ (h >> 29));
}

static uint64_t
dg_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t w;

	h = dg_mix(h, len);
	for (; len >= 8; len -= 8, c += 8) {
		memcpy(&w, c, 8);
		h = dg_mix(h, w);
	}
	for (w = 0; len > 0; len--)
		w = (w << 8) | c[len - 1];
	return (dg_mix(h, w));
}

static uint64_t
dg_str(uint64_t h, const char *str)
{
	return (str == NULL ? dg_mix(h, UINT64_MAX) : dg_bytes(h, str, strlen(str)));
}

static uint64_t
rtab_digest(const struct rtab_batch_in *in)
{
	uint64_t h = 0xcbf29ce484222325ull;
	int i;

	h = dg_str(h, in->webhook_url);
	h = dg_mix(h, (uint64_t)in->n);
	for (i = 0; i < in->n; i++) {
		const struct rtab_spec *sp = &in->spec[i];
		const struct rtab_extras *x = &sp->extras;
		size_t n = (size_t)sp->n * sizeof(double);

		h = dg_mix(h, (uint64_t)(uint32_t)sp->iteration);
		h = dg_bytes(h, sp->freq, n);
		h = dg_bytes(h, sp->zre, n);
		h = dg_bytes(h, sp->zim, n);
		h = dg_str(h, sp->circuit);
		h = dg_mix(h, (uint64_t)sp->method << 32 | (uint32_t)sp->weighting);
		h = dg_mix(h, (uint64_t)(uint32_t)sp->max_iterations);
		h = dg_bytes(h, sp->init, (size_t)sp->ninit * sizeof(double));
		h = dg_bytes(h, sp->lower, (size_t)sp->ncons * sizeof(double));
		h = dg_bytes(h, sp->upper, (size_t)sp->ncons * sizeof(double));
		h = dg_str(h, sp->webhook_url);
		h = dg_mix(h, (uint64_t)x->validate | (uint64_t)x->lk_type << 8 |
		    (uint64_t)x->lk_add_cap << 16 | (uint64_t)x->drt << 24 |
		    (uint64_t)x->lk_max_m << 32);
		h = dg_bytes(h, &x->lk_c, sizeof x->lk_c);
		h = dg_bytes(h, &x->drt_lambda, sizeof x->drt_lambda);
	}
	return (h);
}

static enum rtab_rc
rtab_submit_locked(struct shm *s, const struct rtab_batch_in *in,
    const struct rtab_outcome *done, uint64_t digest, uint32_t *batch,
    char *id, uint32_t *recs_out)
{
	struct rtab_head *rt = s->rt;
	uint32_t *units, *unit, bi, i, url_units = 0, url_unit = RTAB_NONE, prev;
	size_t url_len = in->webhook_url != NULL ? strlen(in->webhook_url) : 0;
	uint64_t now = tim_real();
	struct rtab_batch *b;
	enum rtab_rc rc = RTAB_OK;
	uint32_t n = (uint32_t)in->n;
	int bmode;

	if (in->id != NULL) {
		bi = rtab_hash_find(s, in->id);
		if (bi != RTAB_NONE) {
			*batch = bi;
			copy_str(id, s->batches[bi].id, RTAB_ID_MAX + 1);
			return (s->batches[bi].digest == digest ?
			    RTAB_EXISTS : RTAB_CONFLICT);
		}
	}
	if (n == 0)
		return (RTAB_NOSPACE);
	/* more than the file holds even empty: no retry helps (413, not 503) */
	if (n > NREC(s) || (done == NULL && n > in->queue_limit))
		return (RTAB_TOOBIG);
	{
		uint64_t need = url_len > 0 ?
		    (url_len + 1 + RTAB_UNIT - 1) / RTAB_UNIT : 0;
		for (i = 0; i < n; i++)
			need += rec_units((uint32_t)in->spec[i].n,
			    (uint32_t)in->spec[i].ninit,
			    (uint32_t)in->spec[i].nparams,
			    (uint32_t)in->spec[i].ncons,
			    in->spec[i].webhook_url != NULL ?
			    (uint32_t)strlen(in->spec[i].webhook_url) : 0);
		if (need > s->head->arena_units)
			return (RTAB_TOOBIG);
	}
	if (done == NULL && (uint64_t)rtab_queue_depth(s) + n > in->queue_limit)
		return (RTAB_FULL);
	while (rt->nfree_recs < n || rt->nfree_batches < 1)
		if (rtab_evict_one_locked(s, 0) < 0)
			return (RTAB_NOSPACE);

	/* arena runs first: nothing is visible until they all fit */
	units = imp_calloc(n, sizeof *units);
	unit = imp_calloc(n, sizeof *unit);
	for (i = 0; i < n; i++)
		unit[i] = RTAB_NONE;
	if (url_len > 0)
		url_units = (uint32_t)((url_len + 1 + RTAB_UNIT - 1) / RTAB_UNIT);
	for (i = 0; i <= n; i++) {
		uint32_t k, u;
		if (i == n) {
			if (url_units == 0)
				break;
			k = url_units;
		} else {
			const struct rtab_spec *sp = &in->spec[i];
			k = units[i] = rec_units((uint32_t)sp->n, (uint32_t)sp->ninit,
			    (uint32_t)sp->nparams, (uint32_t)sp->ncons,
			    sp->webhook_url != NULL ?
			    (uint32_t)strlen(sp->webhook_url) : 0);
		}
		while ((u = rtab_arena_alloc_locked(s, k)) == RTAB_NONE)
			if (rtab_evict_one_locked(s, 0) < 0)
				break;
		if (u == RTAB_NONE) {
			rc = RTAB_NOSPACE;
			break;
		}
		if (i == n)
			url_unit = u;
		else
			unit[i] = u;
	}
	/* evictions may have taken records/batches from us? no: they only free */
	if (rc != RTAB_OK) {
		for (i = 0; i < n; i++)
			if (unit[i] != RTAB_NONE)
				rtab_arena_free_locked(s, unit[i], units[i]);
		imp_free(units);
		imp_free(unit);
		return (rc);
	}

	bi = s->free_batches[--rt->nfree_batches];
	b = &s->batches[bi];
	b->state = RTAB_B_BUILDING;
	b->seq = ++rt->batch_seq;
	b->created = now;
	b->digest = digest;
	b->count = n;
	b->first = b->last = RTAB_NONE;
	b->url_unit = url_unit == RTAB_NONE ? 0 : url_unit;
	b->url_units = url_units;
	b->url_len = (uint32_t)url_len;
	/* webhook_mode batch: one delivery of its own, due when all are final */
	bmode = done == NULL && url_len > 0 &&
	    in->webhook_mode == RTAB_WHMODE_BATCH;
	b->wh_mode = bmode ? RTAB_WHMODE_BATCH : RTAB_WHMODE_SPECTRUM;
	b->unfinished = n;
	b->wh_part = 0;
	b->t_done = b->wh_first = b->wh_last = 0;
	b->wh_next = now;
	b->wh_error[0] = '\0';
	gen_id(s, b->wh_id, sizeof b->wh_id, "");
	uatomic_set(&b->whword, W_MAKE(bmode ? RTAB_WH_WAITING : RTAB_WH_NONE,
	    0, 0));
	if (url_len > 0)
		memcpy(s->arena + (uint64_t)url_unit * RTAB_UNIT, in->webhook_url,
		    url_len + 1);
	if (in->id != NULL)
		copy_str(b->id, in->id, sizeof b->id);
	else
		gen_id(s, b->id, sizeof b->id, done != NULL ? "s-" : "b-");

	prev = RTAB_NONE;
	for (i = 0; i < n; i++) {
		const struct rtab_spec *sp = &in->spec[i];
		uint32_t ri = s->free_recs[--rt->nfree_recs];
		struct rtab_rec *r = &s->recs[ri];
		uint64_t w = uatomic_read(&r->word);
		int has_wh = (url_len > 0 && !bmode) || sp->webhook_url != NULL;

		uatomic_set(&r->word, W_NEXT(w, RTAB_FILLING, 0));
		rec_fill(s, r, bi, sp, unit[i], units[i], now);
		if (done != NULL) {
			rtab_rec_outcome(s, r, done, now);
			/* what a repair publishes if we die before we do */
			r->sync_state = done->failed ? RTAB_FAILED : RTAB_DONE;
		}
		uatomic_set(&r->whword, W_MAKE(has_wh ? (done != NULL ?
		    RTAB_WH_PENDING : RTAB_WH_WAITING) : RTAB_WH_NONE, 0, 0));
		if (prev == RTAB_NONE)
			b->first = ri;
		else
			s->recs[prev].next = ri;
		prev = ri;
		b->last = ri;
		recs_out[i] = ri;
	}
	/* commit point: the batch becomes visible */
	cmm_smp_wmb();
	CMM_STORE_SHARED(b->state, RTAB_B_READY);
	rtab_hash_insert_locked(s, bi);
	rtab_order_append_locked(s, bi);
	if (done == NULL)
		uatomic_add(&rt->active, n);
	for (i = 0; i < n; i++) {
		struct rtab_rec *r = &s->recs[recs_out[i]];
		uint64_t w = uatomic_read(&r->word);
		unsigned st = done == NULL ? RTAB_QUEUED :
		    (done->failed ? RTAB_FAILED : RTAB_DONE);
		uatomic_set(&r->word, W_NEXT(w, st, 0));
	}
	*batch = bi;
	copy_str(id, b->id, RTAB_ID_MAX + 1);
	imp_free(units);
	imp_free(unit);
	return (RTAB_OK);
}

enum rtab_rc
rtab_submit(struct shm *s, const struct rtab_batch_in *in, uint32_t *batch,
    char id[RTAB_ID_MAX + 1])
{
	uint32_t *recs, i;
	enum rtab_rc rc;
	uint64_t digest;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	digest = rtab_digest(in);	/* outside the mutex: ms for MBs */
	recs = imp_calloc((size_t)(in->n > 0 ? in->n : 1), sizeof *recs);
	rtab_lock(s);
	rc = rtab_submit_locked(s, in, NULL, digest, batch, id, recs);
	rtab_unlock(s);
	if (rc == RTAB_OK)
		for (i = 0; i < (uint32_t)in->n; i++)
			(void)ring_push(s->job_ring, recs[i]);	/* full: rtab_maintain pushes later */
	imp_free(recs);
	return (rc);
}

enum rtab_rc
rtab_store_done(struct shm *s, const struct rtab_spec *spec,
    const char *webhook_url, const struct rtab_outcome *out, uint32_t *rec,
    char resid[RTAB_RESID_LEN + 1])
{
	struct rtab_batch_in in;
	char id[RTAB_ID_MAX + 1];
	uint32_t bi, r = RTAB_NONE;
	enum rtab_rc rc;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	memset(&in, 0, sizeof in);
	in.webhook_url = webhook_url;
	in.n = 1;
	in.spec = spec;
	in.sync = 1;
	rtab_lock(s);
	rc = rtab_submit_locked(s, &in, out, 0, &bi, id, &r);
	if (rc == RTAB_OK)
		copy_str(resid, s->recs[r].resid, RTAB_RESID_LEN + 1);
	rtab_unlock(s);
	if (rc == RTAB_OK) {
		*rec = r;
		(void)ring_push(s->wh_ring, r);
	}
	return (rc);
}
