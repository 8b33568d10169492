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
#include <stdio.h>
#include <string.h>

#include "impfit.h"

#include "common/buf.h"
#include "common/mem.h"
#include "common/render.h"
#include "common/rtab.h"
#include "common/tim.h"

static void
num_array(struct buf *b, const double *v, int n)
{
	int i;

	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_json_num(b, v[i]);
	}
	buf_addc(b, ']');
}

static void
key(struct buf *b, const char *k)
{
	buf_addc(b, ',');
	buf_json_str(b, k);
	buf_addc(b, ':');
}

void
render_result(struct buf *b, const struct rtab_view *v)
{
	struct fit_circuit *c = NULL;
	char ts[48], err[128];
	uint64_t t;
	int i, ne, finished;

	t = v->t_finished ? v->t_finished : v->t_accepted;
	buf_adds(b, "{\"id\":");
	buf_json_str(b, v->result_id);
	key(b, "time");
	buf_json_str(b, tim_rfc3339(t, 1, ts, sizeof ts));
	key(b, "batch_id");
	buf_json_str(b, v->batch_id);
	key(b, "iteration");
	buf_json_int(b, v->iteration);
	key(b, "status");
	buf_json_str(b, rtab_state_name(v->state));
	key(b, "circuit_type");
	buf_json_str(b, v->circuit);
	key(b, "method");
	buf_json_str(b, fit_method_name((enum fit_method)v->method));
	key(b, "weighting");
	buf_json_str(b, fit_weighting_name((enum fit_weighting)v->weighting));
	key(b, "points");
	buf_json_int(b, v->n);
	finished = v->state == RTAB_DONE || v->state == RTAB_FAILED;
	if (v->state == RTAB_FAILED) {
		key(b, "error");
		buf_json_str(b, v->error);
	}
	if (finished) {
		key(b, "fit_status");
		buf_json_str(b, fit_status_name((enum fit_status)v->fit_status));
	}
	if (v->state == RTAB_DONE && v->params != NULL) {
		key(b, "chi_square");
		buf_json_num(b, v->chi_square);
		key(b, "parameters");
		num_array(b, v->params, v->nparams);
		key(b, "std_errors");
		num_array(b, v->std_errors, v->nparams);
		c = fit_circuit_parse(v->circuit, err, sizeof err);
	}
	if (c != NULL && fit_circuit_nparams(c) == v->nparams) {
		double *zre = imp_malloc(sizeof(double) * (size_t)(v->n > 0 ? v->n : 1));
		double *zim = imp_malloc(sizeof(double) * (size_t)(v->n > 0 ? v->n : 1));

		key(b, "element_names");
		buf_addc(b, '[');
		for (i = 0; i < v->nparams; i++) {
			if (i > 0)
				buf_addc(b, ',');
			buf_json_str(b, fit_circuit_param_name(c, i));
		}
		buf_addc(b, ']');
		key(b, "frequencies");
		num_array(b, v->freq, v->n);
		fit_circuit_eval(c, v->params, v->freq, v->n, zre, zim);
		key(b, "real_impedance");
		num_array(b, zre, v->n);
		key(b, "imaginary_impedance");
		num_array(b, zim, v->n);
		key(b, "element_impedances");
		buf_addc(b, '[');
		ne = fit_circuit_nelements(c);
		for (i = 0; i < ne; i++) {
			int k;
			if (i > 0)
				buf_addc(b, ',');
			fit_element_eval(c, i, v->params, v->freq, v->n, zre, zim);
			buf_adds(b, "{\"name\":");
			buf_json_str(b, fit_circuit_element_name(c, i));
			buf_adds(b, ",\"impedances\":[");
			for (k = 0; k < v->n; k++) {
				if (k > 0)
					buf_addc(b, ',');
				buf_adds(b, "{\"real\":");
				buf_json_num(b, zre[k]);
				buf_adds(b, ",\"imag\":");
				buf_json_num(b, zim[k]);
				buf_addc(b, '}');
			}
			buf_adds(b, "]}");
		}
		buf_addc(b, ']');
		imp_free(zre);
		imp_free(zim);
	} else if (v->freq != NULL) {
		key(b, "frequencies");
		num_array(b, v->freq, v->n);
	}
	if (finished) {
		key(b, "iterations");
		buf_json_int(b, v->iterations);
		key(b, "evaluations");
		buf_json_int(b, v->evaluations);
		key(b, "fit_ms");
		buf_json_num(b, (double)v->fit_ns / 1e6);
	}
	if (c != NULL)
		fit_circuit_free(c);
	buf_addc(b, '}');
}

char *
render_result_str(const struct rtab_view *v, size_t *len)
{
	struct buf b;

	buf_init(&b);
	render_result(&b, v);
	return (buf_steal(&b, len));
}
