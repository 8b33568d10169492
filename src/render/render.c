/*
 * impcore - the result object of DESIGN section 5, as JSON.
 *
 * Hand-written writer: a batch of thousands of results is rendered per
 * request, and a jansson tree of it would cost several allocations per
 * number.  Numbers go through buf_json_num (shortest exact form, null when
 * not finite).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "impfit.h"

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "render/render.h"
#include "state/rtab.h"

/* Spectra up to this many points need no allocation (2 x 4 KiB of stack). */
#define RENDER_STACK_POINTS	512

/* Append the literal s (its length known at compile time). */
#define ADDLIT(b, s)	buf_add((b), (s), sizeof(s) - 1)

/*
 * The text of the last number written, to copy when the next one is the
 * same double (bit for bit): a resistor's impedance is one value at every
 * frequency, and its imaginary part 0.  Copying BUF_NUM_MAX bytes is one
 * fixed-size move, where formatting costs the shortest-digits search.
 */
struct nmemo {
	uint64_t	bits;
	int		ok;
	int		len;
	char		txt[BUF_NUM_MAX];
};

/* v's text at o (BUF_NUM_MAX bytes of room), from m when it is m's value. */
static inline char *
num_memo_at(char *o, double v, struct nmemo *m)
{
	uint64_t bits;
	char *e;

	memcpy(&bits, &v, sizeof bits);
	if (m->ok && m->bits == bits) {
		memcpy(o, m->txt, sizeof m->txt);
		return (o + m->len);
	}
	e = buf_num_at(o, v);
	m->len = (int)(e - o);
	/* BUF_NUM_MAX bytes of room are the caller's (what follows the
	 * text is not used): a fixed-size move, not a libc call */
	memcpy(m->txt, o, sizeof m->txt);
	m->bits = bits;
	m->ok = 1;
	return (e);
}

/*
 * A JSON array of numbers.  The hot loop of a result's rendering (the
 * webhook process renders one per delivery), so each number is written in
 * place after one room check, comma included.
 */
static void
num_array(struct buf *b, const double *v, int n)
{
	struct nmemo m;
	char *o;
	int i;

	m.ok = 0;
	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		buf_need(b, BUF_NUM_MAX + 1);
		o = b->p + b->len;
		if (i > 0)
			*o++ = ',';
		o = num_memo_at(o, v[i], &m);
		b->len = (size_t)(o - b->p);
	}
	buf_addc(b, ']');
}

/* {"real":re,"imag":im} in place, with a comma before it unless first. */
static void
complex_obj(struct buf *b, double re, double im, int first,
    struct nmemo *mre, struct nmemo *mim)
{
	char *o;

	buf_need(b, 2 * BUF_NUM_MAX + 20);
	o = b->p + b->len;
	if (!first)
		*o++ = ',';
	memcpy(o, "{\"real\":", 8);
	o = num_memo_at(o + 8, re, mre);
	memcpy(o, ",\"imag\":", 8);
	o = num_memo_at(o + 8, im, mim);
	*o++ = '}';
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

/*
 * The frequencies as a JSON array, from rc's copy when they are the last
 * ones (the text is the same: it depends on nothing else).
 */
#define RENDER_FREQ_CACHE	4096	/* points; larger spectra are rare */

static void
freq_array(struct buf *b, const struct rtab_view *v, struct render_cache *rc)
{
	size_t start = b->len, sz = sizeof(double) * (size_t)v->n;

	if (rc != NULL && rc->ftext != NULL && rc->nfreq == v->n &&
	    memcmp(rc->freq, v->freq, sz) == 0) {
		buf_add(b, rc->ftext, rc->ftext_len);
		return;
	}
	num_array(b, v->freq, v->n);
	if (rc == NULL || v->n > RENDER_FREQ_CACHE)
		return;
	imp_free(rc->freq);
	imp_free(rc->ftext);
	rc->freq = imp_malloc(sz);
	memcpy(rc->freq, v->freq, sz);
	rc->nfreq = v->n;
	rc->ftext_len = b->len - start;
	rc->ftext = imp_malloc(rc->ftext_len);
	memcpy(rc->ftext, b->p + start, rc->ftext_len);
}

/* ,"k": of a literal key (ours, nothing to escape). */
#define KEY(b, k)	ADDLIT((b), ",\"" k "\":")

/* Parameters the fit moved: all but the held ones (constants). */
static int
render_nfree(const struct rtab_view *v)
{
	int i, n = v->nparams;

	if (v->lower != NULL && v->upper != NULL)
		for (i = 0; i < v->nparams; i++)
			if (v->lower[i] == v->upper[i])
				n--;
	return (n);
}

/* The model (elem < 0) or element elem of c at v's frequencies, with
 * rc's evaluator when there is one. */
static void
render_eval(struct render_cache *rc, const struct impfit_circuit *c, int elem,
    const struct rtab_view *v, double *zre, double *zim)
{
	if (rc != NULL && rc->ev == NULL)
		rc->ev = impfit_evaluator_new();
	if (rc != NULL && rc->ev != NULL)
		(void)impfit_evaluator_eval(rc->ev, c, elem, v->params, v->freq,
		    v->n, zre, zim);
	else if (elem < 0)
		impfit_circuit_eval(c, v->params, v->freq, v->n, zre, zim);
	else
		impfit_element_eval(c, elem, v->params, v->freq, v->n, zre, zim);
}

/* v's circuit parsed, from rc when it holds it; NULL when it does not parse. */
static struct impfit_circuit *
render_circuit(const struct rtab_view *v, struct render_cache *rc)
{
	struct impfit_circuit *c;
	char err[128];

	if (rc != NULL && rc->c != NULL && strcmp(rc->circuit, v->circuit) == 0)
		return (rc->c);
	c = impfit_circuit_parse(v->circuit, err, sizeof err);
	if (rc != NULL && c != NULL) {
		render_cache_free(rc);
		memcpy(rc->circuit, v->circuit, sizeof rc->circuit);
		rc->c = c;
	}
	return (c);
}

/*
 * The statistics of a fitted result (issue 15, part 4), recomputed from
 * its parameters, standard errors and data rather than stored: residuals
 * relative to |Z|, dof, rmse, aic, bic and the 95 % confidence intervals.
 * zre/zim hold the model at v's frequencies (impfit_circuit_eval), and are
 * overwritten with the residuals.
 */
static void
render_stats(struct buf *b, const struct rtab_view *v, double *zre,
    double *zim, struct render_cache *rc)
{
	struct impfit_stats st;
	double lo[IMPFIT_MAX_PARAMS], hi[IMPFIT_MAX_PARAMS], h, t95;
	int i, nfree = render_nfree(v), dof = 2 * v->n - nfree;

	if (v->zre == NULL || v->zim == NULL || v->nparams > IMPFIT_MAX_PARAMS)
		return;
	/* the quantile's iteration is as dear as the rest of the statistics,
	 * and the same for every spectrum of a size */
	if (rc != NULL && rc->t95_ok && rc->t95_dof == dof)
		t95 = rc->t95;
	else {
		t95 = impfit_t95(dof);
		if (rc != NULL) {
			rc->t95_ok = 1;
			rc->t95_dof = dof;
			rc->t95 = t95;
		}
	}
	if (impfit_stats_model(zre, zim, nfree, v->zre, v->zim, v->n,
	    (enum impfit_weighting)v->weighting, t95, zre, zim, &st) != 0)
		return;
	KEY(b, "residuals_real");
	num_array(b, zre, v->n);
	KEY(b, "residuals_imag");
	num_array(b, zim, v->n);
	KEY(b, "dof");
	buf_json_int(b, st.dof);
	KEY(b, "rmse");
	buf_json_num(b, st.rmse);
	KEY(b, "aic");
	buf_json_num(b, st.aic);
	KEY(b, "bic");
	buf_json_num(b, st.bic);
	/* A held parameter, or an error that could not be computed: null
	 * (buf_json_num writes NaN so). */
	for (i = 0; i < v->nparams; i++) {
		h = st.t95 * v->std_errors[i];
		lo[i] = v->params[i] - h;
		hi[i] = v->params[i] + h;
	}
	KEY(b, "ci95_low");
	num_array(b, lo, v->nparams);
	KEY(b, "ci95_high");
	num_array(b, hi, v->nparams);
}

void
render_cache_free(struct render_cache *rc)
{
	if (rc->c != NULL)
		impfit_circuit_free(rc->c);
	rc->c = NULL;
	rc->circuit[0] = '\0';
	rc->t95_ok = 0;
	impfit_evaluator_free(rc->ev);
	rc->ev = NULL;
	imp_free(rc->freq);
	imp_free(rc->ftext);
	rc->freq = NULL;
	rc->ftext = NULL;
	rc->nfreq = 0;
	rc->ftext_len = 0;
}

void
render_result(struct buf *b, const struct rtab_view *v)
{
	render_result_cached(b, v, NULL);
}

static void render_extras(struct buf *b, const struct rtab_view *v);

void
render_result_cached(struct buf *b, const struct rtab_view *v,
    struct render_cache *rc)
{
	struct impfit_circuit *c = NULL;
	char ts[48];
	uint64_t t;
	int i, ne, finished;

	t = v->t_finished ? v->t_finished : v->t_accepted;
	ADDLIT(b, "{\"id\":");
	buf_json_str(b, v->result_id);
	KEY(b, "time");
	buf_json_str(b, tim_rfc3339(t, 1, ts, sizeof ts));
	KEY(b, "batch_id");
	buf_json_str(b, v->batch_id);
	KEY(b, "iteration");
	buf_json_int(b, v->iteration);
	KEY(b, "status");
	buf_json_str(b, rtab_state_name(v->state));
	KEY(b, "circuit_type");
	buf_json_str(b, v->circuit);
	KEY(b, "method");
	buf_json_str(b, impfit_method_name((enum impfit_method)v->method));
	KEY(b, "weighting");
	buf_json_str(b, impfit_weighting_name((enum impfit_weighting)v->weighting));
	KEY(b, "points");
	buf_json_int(b, v->n);
	finished = v->state == RTAB_DONE || v->state == RTAB_FAILED;
	if (v->state == RTAB_FAILED) {
		KEY(b, "error");
		buf_json_str(b, v->error);
	}
	if (finished) {
		KEY(b, "fit_status");
		buf_json_str(b, impfit_status_name((enum impfit_status)v->fit_status));
	}
	if (v->state == RTAB_DONE && v->params != NULL) {
		KEY(b, "chi_square");
		buf_json_num(b, v->chi_square);
		KEY(b, "parameters");
		num_array(b, v->params, v->nparams);
		KEY(b, "std_errors");
		num_array(b, v->std_errors, v->nparams);
		c = render_circuit(v, rc);
	}
	if (c != NULL && impfit_circuit_nparams(c) == v->nparams) {
		/* model impedances: on the stack for the usual spectrum */
		double zbuf[2 * RENDER_STACK_POINTS], *zre, *zim;

		if (v->n <= RENDER_STACK_POINTS) {
			zre = zbuf;
			zim = zbuf + RENDER_STACK_POINTS;
		} else {
			zre = imp_malloc(sizeof(double) * 2 * (size_t)v->n);
			zim = zre + v->n;
		}

		KEY(b, "element_names");
		buf_addc(b, '[');
		for (i = 0; i < v->nparams; i++) {
			if (i > 0)
				buf_addc(b, ',');
			buf_json_str(b, impfit_circuit_param_name(c, i));
		}
		buf_addc(b, ']');
		KEY(b, "frequencies");
		freq_array(b, v, rc);
		render_eval(rc, c, -1, v, zre, zim);
		KEY(b, "real_impedance");
		num_array(b, zre, v->n);
		KEY(b, "imaginary_impedance");
		num_array(b, zim, v->n);
		render_stats(b, v, zre, zim, rc);
		KEY(b, "element_impedances");
		buf_addc(b, '[');
		ne = impfit_circuit_nelements(c);
		for (i = 0; i < ne; i++) {
			struct nmemo mre, mim;
			int k;

			mre.ok = mim.ok = 0;
			if (i > 0)
				buf_addc(b, ',');
			render_eval(rc, c, i, v, zre, zim);
			ADDLIT(b, "{\"name\":");
			buf_json_str(b, impfit_circuit_element_name(c, i));
			ADDLIT(b, ",\"impedances\":[");
			for (k = 0; k < v->n; k++)
				complex_obj(b, zre[k], zim[k], k == 0, &mre,
				    &mim);
			ADDLIT(b, "]}");
		}
		buf_addc(b, ']');
		if (zre != zbuf)
			imp_free(zre);
	} else if (v->freq != NULL) {
		KEY(b, "frequencies");
		freq_array(b, v, rc);
	}
	if (finished) {
		KEY(b, "iterations");
		buf_json_int(b, v->iterations);
		KEY(b, "evaluations");
		buf_json_int(b, v->evaluations);
		KEY(b, "fit_ms");
		buf_json_num(b, (double)v->fit_ns / 1e6);
	}
	if (finished && v->freq != NULL)
		render_extras(b, v);
	if (c != NULL && (rc == NULL || rc->c != c))
		impfit_circuit_free(c);
	buf_addc(b, '}');
}

/*
 * The "linkk" and "drt" objects of a finished result that asked for them
 * (issue 16), computed here from the stored spectrum: a few ms at most for
 * 100 points, and the workers cache a finished result's JSON.  A test that
 * cannot run (bad data) gives {"error": ...} rather than no object.
 */
static void
render_extras(struct buf *b, const struct rtab_view *v)
{
	const struct rtab_extras *x = &v->extras;
	struct impfit_linkk_options lo;
	struct impfit_linkk_result lr;
	struct impfit_drt_options dopt;
	struct impfit_drt_result dr;
	double *blk;
	int nd;

	if (x->validate != RTAB_VALIDATE_LINKK && !x->drt)
		return;
	nd = impfit_drt_npoints(v->n);
	blk = imp_malloc(sizeof *blk * (2 * (size_t)v->n + 2 * (size_t)nd));
	if (x->validate == RTAB_VALIDATE_LINKK) {
		impfit_linkk_options_default(&lo);
		lo.c = x->lk_c;
		lo.max_m = x->lk_max_m > 0 ? x->lk_max_m : lo.max_m;
		lo.type = x->lk_type;
		lo.add_cap = x->lk_add_cap;
		KEY(b, "linkk");
		if (impfit_linkk(v->freq, v->zre, v->zim, v->n, &lo, &lr, blk,
		    blk + v->n) != 0)
			ADDLIT(b, "{\"error\":\"Lin-KK test failed\"}");
		else {
			ADDLIT(b, "{\"fit_type\":");
			buf_json_str(b, impfit_linkk_type_name(lo.type));
			ADDLIT(b, ",\"add_cap\":");
			buf_adds(b, lo.add_cap ? "true" : "false");
			ADDLIT(b, ",\"c\":");
			buf_json_num(b, lo.c);
			ADDLIT(b, ",\"max_m\":");
			buf_json_int(b, lo.max_m);
			ADDLIT(b, ",\"M\":");
			buf_json_int(b, lr.m);
			ADDLIT(b, ",\"mu\":");
			buf_json_num(b, lr.mu);
			ADDLIT(b, ",\"pseudo_chi_square\":");
			buf_json_num(b, lr.pseudo_chi_square);
			ADDLIT(b, ",\"residuals_real\":");
			num_array(b, blk, v->n);
			ADDLIT(b, ",\"residuals_imag\":");
			num_array(b, blk + v->n, v->n);
			buf_addc(b, '}');
		}
	}
	if (x->drt) {
		impfit_drt_options_default(&dopt);
		if (x->drt_lambda > 0)
			dopt.lambda = x->drt_lambda;
		KEY(b, "drt");
		/* tau, gamma after the two impedance arrays */
		if (impfit_drt(v->freq, v->zre, v->zim, v->n, &dopt, &dr,
		    blk + 2 * v->n, blk + 2 * v->n + nd, blk, blk + v->n) != 0)
			ADDLIT(b, "{\"error\":\"DRT failed (fewer than 3 "
			    "points or one frequency)\"}");
		else {
			ADDLIT(b, "{\"lambda\":");
			buf_json_num(b, dr.lambda);
			ADDLIT(b, ",\"R_inf\":");
			buf_json_num(b, dr.r_inf);
			ADDLIT(b, ",\"L\":");
			buf_json_num(b, dr.l);
			ADDLIT(b, ",\"R_pol\":");
			buf_json_num(b, dr.r_pol);
			ADDLIT(b, ",\"tau\":");
			num_array(b, blk + 2 * v->n, dr.npoints);
			ADDLIT(b, ",\"gamma\":");
			num_array(b, blk + 2 * v->n + nd, dr.npoints);
			ADDLIT(b, ",\"real_impedance\":");
			num_array(b, blk, v->n);
			ADDLIT(b, ",\"imaginary_impedance\":");
			num_array(b, blk + v->n, v->n);
			buf_addc(b, '}');
		}
	}
	imp_free(blk);
}

char *
render_result_str(const struct rtab_view *v, size_t *len)
{
	struct buf b;

	buf_init(&b);
	render_result(&b, v);
	return (buf_steal(&b, len));
}
