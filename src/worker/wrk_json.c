/*
 * impcore - worker: parse and validate request bodies (jansson).
 *
 * Accepts the Go server's batch format as is (DESIGN section 4): impedance
 * wins, else magnitude + phase (degrees); unknown fields are ignored.  Every
 * refusal names the JSON path of the culprit, e.g.
 * "spectra[3].impedance_data.frequencies[2]", also for syntax errors (the
 * path at the parser's error position).
 */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "impfit.h"

#include "common/cfg.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/rtab.h"
#include "master/children.h"
#include "worker/wrk_priv.h"

struct path {
	char	b[256];
	size_t	len;
};

static size_t
path_key(struct path *p, const char *k)
{
	size_t old = p->len;
	int n;

	n = snprintf(p->b + p->len, sizeof p->b - p->len, "%s%s",
	    p->len > 0 ? "." : "", k);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof p->b ? p->len + (size_t)n :
		    sizeof p->b - 1;
	return (old);
}

static size_t
path_idx(struct path *p, size_t i)
{
	size_t old = p->len;
	int n;

	n = snprintf(p->b + p->len, sizeof p->b - p->len, "[%zu]", i);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof p->b ? p->len + (size_t)n :
		    sizeof p->b - 1;
	return (old);
}

static void
path_pop(struct path *p, size_t old)
{
	p->len = old;
	p->b[old] = '\0';
}

static int __attribute__((format(printf, 4, 5)))
fail(struct wrk_err *e, int status, const struct path *p, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->field, sizeof e->field, "%s", p != NULL ? p->b : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return (-1);
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return ("an object");
	case JSON_ARRAY:	return ("an array");
	case JSON_STRING:	return ("a string");
	case JSON_INTEGER:
	case JSON_REAL:		return ("a number");
	case JSON_TRUE:
	case JSON_FALSE:	return ("a boolean");
	default:		return ("null");
	}
}

/*
 * The JSON path at byte pos of text, for syntax errors: a tolerant scan
 * that tracks object keys and array indexes.
 */
static void
path_at(const char *t, size_t len, size_t pos, struct path *out)
{
	struct {
		int	arr;
		size_t	idx;
		char	key[64];
		int	want_key;
	} st[32];
	int depth = -1, i;
	size_t k;

	if (pos > len)
		pos = len;
	for (k = 0; k < pos; k++) {
		char c = t[k];
		if (c == '{' || c == '[') {
			if (depth + 1 < (int)(sizeof st / sizeof st[0])) {
				depth++;
				st[depth].arr = c == '[';
				st[depth].idx = 0;
				st[depth].key[0] = '\0';
				st[depth].want_key = c == '{';
			}
		} else if (c == '}' || c == ']') {
			if (depth >= 0)
				depth--;
		} else if (c == ',') {
			if (depth >= 0) {
				if (st[depth].arr)
					st[depth].idx++;
				else {
					st[depth].want_key = 1;
					st[depth].key[0] = '\0';
				}
			}
		} else if (c == ':') {
			if (depth >= 0)
				st[depth].want_key = 0;
		} else if (c == '"') {
			size_t s = ++k, n;
			while (k < len && t[k] != '"') {
				if (t[k] == '\\')
					k++;
				k++;
			}
			if (depth >= 0 && !st[depth].arr && st[depth].want_key) {
				n = k - s < sizeof st[0].key - 1 ? k - s :
				    sizeof st[0].key - 1;
				memcpy(st[depth].key, t + s, n);
				st[depth].key[n] = '\0';
			}
		}
	}
	out->len = 0;
	out->b[0] = '\0';
	for (i = 0; i <= depth; i++) {
		if (st[i].arr)
			path_idx(out, st[i].idx);
		else if (st[i].key[0] != '\0')
			path_key(out, st[i].key);
	}
}

static json_t *
load(const char *body, size_t len, struct wrk_err *e)
{
	json_error_t je;
	json_t *root;
	struct path p;
	size_t i;

	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len) {
		fail(e, 400, NULL, "empty body: a JSON object is required");
		return (NULL);
	}
	root = json_loadb(body, len, 0, &je);
	if (root == NULL) {
		path_at(body, len, (size_t)(je.position > 0 ? je.position - 1 : 0), &p);
		fail(e, 400, &p, "invalid JSON: %s (line %d, column %d)",
		    je.text, je.line, je.column);
		return (NULL);
	}
	if (!json_is_object(root)) {
		fail(e, 400, NULL, "the body must be a JSON object, not %s",
		    type_name(root));
		json_decref(root);
		return (NULL);
	}
	return (root);
}

/*==================================================================
 * Options: circuit, method, weighting, initial_values, webhook_url,
 * max_iterations (batch level, overridable per spectrum).
 */

struct opts {
	char		circuit[RTAB_CIRCUIT_MAX + 1];
	char		circuit_field[256];
	int		nparams;
	int		method, weighting, max_iterations;
	int		ninit;
	double		init[FIT_MAX_PARAMS];
	char		init_field[256];
	const char	*url;		/* borrowed from the JSON tree or cfg */
	int		own_url;
};

static int
opts_circuit(struct opts *o, const char *code, const struct path *p,
    struct wrk_err *e)
{
	const struct fit_circuit *c;
	char err[160];

	if (strlen(code) > RTAB_CIRCUIT_MAX)
		return (fail(e, 400, p, "circuit code too long (%zu characters, "
		    "at most %d)", strlen(code), RTAB_CIRCUIT_MAX));
	c = wrk_circuit(code, err, sizeof err);
	if (c == NULL)
		return (fail(e, 400, p, "bad circuit '%s': %s", code, err));
	snprintf(o->circuit, sizeof o->circuit, "%s", fit_circuit_code(c));
	o->nparams = fit_circuit_nparams(c);
	snprintf(o->circuit_field, sizeof o->circuit_field, "%s", p->b);
	return (0);
}

static int
opts_parse(json_t *obj, struct path *p, struct opts *o, struct wrk_err *e)
{
	json_t *v;
	size_t old, i;
	int m, has_circuit = 0;

	v = json_object_get(obj, "circuit");
	if (v == NULL || json_is_null(v))
		v = json_object_get(obj, "circuit_type");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(p, json_object_get(obj, "circuit") != NULL ?
		    "circuit" : "circuit_type");
		if (!json_is_string(v))
			return (fail(e, 400, p, "must be a string (a circuit code "
			    "like \"R(QR)\"), not %s", type_name(v)));
		if (opts_circuit(o, json_string_value(v), p, e) < 0)
			return (-1);
		path_pop(p, old);
		has_circuit = 1;
		/* inherited initial values belonged to another circuit */
		o->ninit = 0;
	}
	v = json_object_get(obj, "method");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(p, "method");
		if (!json_is_string(v))
			return (fail(e, 400, p, "must be a string, not %s", type_name(v)));
		m = fit_method_parse(json_string_value(v));
		if (m < 0)
			return (fail(e, 400, p, "unknown method '%s' (use "
			    "levenberg-marquardt or nelder-mead)",
			    json_string_value(v)));
		o->method = m;
		path_pop(p, old);
	}
	v = json_object_get(obj, "weighting");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(p, "weighting");
		if (!json_is_string(v))
			return (fail(e, 400, p, "must be a string, not %s", type_name(v)));
		m = fit_weighting_parse(json_string_value(v));
		if (m < 0)
			return (fail(e, 400, p, "unknown weighting '%s' (use "
			    "modulus, unity or proportional)",
			    json_string_value(v)));
		o->weighting = m;
		path_pop(p, old);
	}
	v = json_object_get(obj, "max_iterations");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(p, "max_iterations");
		/*
		 * Bounded: a synchronous fit runs inside the worker's event
		 * loop, and 1e5 Nelder-Mead steps on max-points points is
		 * already about a second of it.
		 */
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > WRK_MAX_ITERATIONS)
			return (fail(e, 400, p, "must be an integer from 1 to 100000"));
		o->max_iterations = (int)json_integer_value(v);
		path_pop(p, old);
	}
	v = json_object_get(obj, "initial_values");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(p, "initial_values");
		if (!json_is_array(v))
			return (fail(e, 400, p, "must be an array of numbers, not %s",
			    type_name(v)));
		if (json_array_size(v) > FIT_MAX_PARAMS)
			return (fail(e, 400, p, "too many values (%zu)",
			    json_array_size(v)));
		o->ninit = (int)json_array_size(v);
		for (i = 0; i < json_array_size(v); i++) {
			json_t *x = json_array_get(v, i);
			size_t o2 = path_idx(p, i);
			if (!json_is_number(x))
				return (fail(e, 400, p, "must be a number, not %s",
				    type_name(x)));
			o->init[i] = json_number_value(x);
			if (!isfinite(o->init[i]) || o->init[i] <= 0)
				return (fail(e, 400, p, "must be a finite number > 0"));
			path_pop(p, o2);
		}
		snprintf(o->init_field, sizeof o->init_field, "%s", p->b);
		path_pop(p, old);
	}
	v = json_object_get(obj, "webhook_url");
	if (v != NULL && !json_is_null(v)) {
		char why[160];
		old = path_key(p, "webhook_url");
		if (!json_is_string(v))
			return (fail(e, 400, p, "must be a string, not %s", type_name(v)));
		if (strlen(json_string_value(v)) > RTAB_URL_MAX)
			return (fail(e, 400, p, "URL too long (at most %d bytes)",
			    RTAB_URL_MAX));
		if (!wrk_url_allowed(json_string_value(v), why, sizeof why))
			return (fail(e, 400, p, "webhook_url not allowed: %s", why));
		o->url = json_string_value(v);
		o->own_url = 1;
		path_pop(p, old);
	}
	(void)has_circuit;
	return (0);
}

static void
opts_defaults(struct opts *o)
{
	struct path p;
	struct wrk_err e;

	memset(o, 0, sizeof *o);
	p.len = 0;
	snprintf(p.b, sizeof p.b, "circuit");
	if (opts_circuit(o, wrk.def_circuit, &p, &e) < 0)
		snprintf(o->circuit, sizeof o->circuit, "%s", wrk.def_circuit);
	o->circuit_field[0] = '\0';
	o->method = wrk.def_method;
	o->weighting = FIT_WEIGHT_MODULUS;
	o->url = wrk.cfg->webhook_url;
}

/*==================================================================
 * Spectra
 */

static int
num_at(json_t *a, size_t i, struct path *p, double *out, int positive,
    struct wrk_err *e)
{
	json_t *x = json_array_get(a, i);
	size_t old = path_idx(p, i);

	if (!json_is_number(x))
		return (fail(e, 400, p, "must be a number, not %s%s", type_name(x),
		    json_is_string(x) ? " (NaN and Infinity are not allowed)" : ""));
	*out = json_number_value(x);
	if (!isfinite(*out))
		return (fail(e, 400, p, "must be a finite number"));
	if (positive && *out <= 0)
		return (fail(e, 400, p, "must be > 0 (got %g)", *out));
	path_pop(p, old);
	return (0);
}

static json_t *
want_array(json_t *obj, const char *key, struct path *p, struct wrk_err *e,
    int required)
{
	json_t *v = json_object_get(obj, key);
	size_t old;

	if (v == NULL || json_is_null(v)) {
		if (required) {
			old = path_key(p, key);
			fail(e, 400, p, "missing (an array of numbers is required)");
			path_pop(p, old);
		}
		return (NULL);
	}
	if (!json_is_array(v)) {
		old = path_key(p, key);
		fail(e, 400, p, "must be an array, not %s", type_name(v));
		path_pop(p, old);
		e->status = 400;
		return ((json_t *)-1);
	}
	return (v);
}

/*
 * One spectrum: data from imp (an impedance_data object), options from
 * outer (the spectrum object, may equal imp) on top of inherited ones.
 */
static int
spectrum_parse(json_t *outer, struct path *po, json_t *imp, struct path *pi,
    const struct opts *inherit, int iteration, struct wrk_spectrum *s,
    struct wrk_err *e)
{
	struct opts o = *inherit;
	json_t *fa, *za, *ma, *pa, *v;
	size_t n, i, old;
	int k;

	memset(s, 0, sizeof *s);
	/* a URL set at batch level is the batch's, stored once with it */
	o.own_url = 0;
	if (opts_parse(outer, po, &o, e) < 0)
		return (-1);
	if (imp != outer && opts_parse(imp, pi, &o, e) < 0)
		return (-1);
	v = json_object_get(outer, "iteration");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(po, "iteration");
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 2147483647)
			return (fail(e, 400, po, "must be a non-negative integer"));
		iteration = (int)json_integer_value(v);
		path_pop(po, old);
	}
	s->iteration = iteration;

	fa = want_array(imp, "frequencies", pi, e, 1);
	if (fa == NULL || fa == (json_t *)-1)
		return (-1);
	n = json_array_size(fa);
	old = path_key(pi, "frequencies");
	if (n == 0)
		return (fail(e, 400, pi, "no points"));
	if (n > wrk.max_points)
		return (fail(e, 413, pi, "spectrum has %zu points, the limit is "
		    "%u (-max-points)", n, wrk.max_points));
	if ((int)n < o.nparams)
		return (fail(e, 400, pi, "%zu points are fewer than the %d "
		    "parameters of circuit %s", n, o.nparams, o.circuit));
	path_pop(pi, old);

	za = want_array(imp, "impedance", pi, e, 0);
	if (za == (json_t *)-1)
		return (-1);
	if (za != NULL && json_array_size(za) == 0)
		za = NULL;	/* the Go clients send [] with magnitude/phase */
	ma = pa = NULL;
	if (za == NULL) {
		ma = want_array(imp, "magnitude", pi, e, 0);
		if (ma == (json_t *)-1)
			return (-1);
		pa = want_array(imp, "phase", pi, e, 0);
		if (pa == (json_t *)-1)
			return (-1);
		if (ma == NULL || pa == NULL) {
			old = path_key(pi, "impedance");
			return (fail(e, 400, pi, "missing: give impedance "
			    "([{\"real\": .., \"imag\": ..}]), or magnitude and "
			    "phase"));
		}
	}
#define LEN_CHECK(arr, key) do {					\
	if (json_array_size(arr) != n) {				\
		old = path_key(pi, key);				\
		return (fail(e, 400, pi, "has %zu entries, frequencies "	\
		    "has %zu", json_array_size(arr), n));		\
	}								\
} while (0)
	if (za != NULL)
		LEN_CHECK(za, "impedance");
	else {
		LEN_CHECK(ma, "magnitude");
		LEN_CHECK(pa, "phase");
	}
#undef LEN_CHECK

	s->n = (int)n;
	s->freq = imp_malloc(sizeof(double) * 3 * n);
	s->zre = s->freq + n;
	s->zim = s->freq + 2 * n;
	old = path_key(pi, "frequencies");
	for (i = 0; i < n; i++)
		if (num_at(fa, i, pi, &s->freq[i], 1, e) < 0)
			return (-1);
	path_pop(pi, old);
	if (za != NULL) {
		old = path_key(pi, "impedance");
		for (i = 0; i < n; i++) {
			json_t *z = json_array_get(za, i), *re, *im;
			size_t o2 = path_idx(pi, i);
			if (json_is_array(z) && json_array_size(z) == 2) {
				if (num_at(z, 0, pi, &s->zre[i], 0, e) < 0 ||
				    num_at(z, 1, pi, &s->zim[i], 0, e) < 0)
					return (-1);
				path_pop(pi, o2);
				continue;
			}
			if (!json_is_object(z))
				return (fail(e, 400, pi, "must be an object "
				    "{\"real\": .., \"imag\": ..}, not %s",
				    type_name(z)));
			re = json_object_get(z, "real");
			im = json_object_get(z, "imag");
			if (re == NULL || im == NULL)
				return (fail(e, 400, pi, "needs \"real\" and "
				    "\"imag\""));
			{
				size_t o3 = path_key(pi, "real");
				if (!json_is_number(re))
					return (fail(e, 400, pi, "must be a number, "
					    "not %s", type_name(re)));
				s->zre[i] = json_number_value(re);
				if (!isfinite(s->zre[i]))
					return (fail(e, 400, pi, "must be finite"));
				path_pop(pi, o3);
				o3 = path_key(pi, "imag");
				if (!json_is_number(im))
					return (fail(e, 400, pi, "must be a number, "
					    "not %s", type_name(im)));
				s->zim[i] = json_number_value(im);
				if (!isfinite(s->zim[i]))
					return (fail(e, 400, pi, "must be finite"));
				path_pop(pi, o3);
			}
			path_pop(pi, o2);
		}
		path_pop(pi, old);
	} else {
		double mag, ph;
		for (i = 0; i < n; i++) {
			old = path_key(pi, "magnitude");
			if (num_at(ma, i, pi, &mag, 0, e) < 0)
				return (-1);
			if (mag < 0)
				return (fail(e, 400, pi, "must be >= 0"));
			path_pop(pi, old);
			old = path_key(pi, "phase");
			if (num_at(pa, i, pi, &ph, 0, e) < 0)
				return (-1);
			path_pop(pi, old);
			s->zre[i] = mag * cos(ph * M_PI / 180.0);
			s->zim[i] = mag * sin(ph * M_PI / 180.0);
		}
	}

	snprintf(s->circuit, sizeof s->circuit, "%s", o.circuit);
	s->nparams = o.nparams;
	s->method = o.method;
	s->weighting = o.weighting;
	s->max_iterations = o.max_iterations;
	if (o.ninit > 0 && o.ninit != o.nparams) {
		struct path pf;
		snprintf(pf.b, sizeof pf.b, "%s", o.init_field);
		pf.len = strlen(pf.b);
		return (fail(e, 400, &pf, "has %d values, circuit %s has %d "
		    "parameters", o.ninit, o.circuit, o.nparams));
	}
	if (o.ninit > 0) {
		const struct fit_circuit *c = wrk_circuit(o.circuit, NULL, 0);
		for (k = 0; k < o.ninit; k++)
			if (c != NULL && fit_circuit_param_is_exponent(c, k) &&
			    o.init[k] > 1) {
				struct path pf;
				snprintf(pf.b, sizeof pf.b, "%.200s[%d]", o.init_field, k);
				pf.len = strlen(pf.b);
				return (fail(e, 400, &pf, "%s is an exponent: it "
				    "must be in (0, 1]",
				    fit_circuit_param_name(c, k)));
			}
		memcpy(s->init, o.init, sizeof(double) * (size_t)o.ninit);
	}
	s->ninit = o.ninit;
	s->webhook_url = o.url != NULL ? imp_strdup(o.url) : NULL;
	s->own_url = o.own_url;
	return (0);
}

void
wrk_spectrum_free(struct wrk_spectrum *s)
{
	imp_free(s->freq);
	imp_free(s->webhook_url);
	s->freq = s->zre = s->zim = NULL;
	s->webhook_url = NULL;
}

void
wrk_batch_free(struct wrk_batch *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		wrk_spectrum_free(&b->spec[i]);
	imp_free(b->spec);
	imp_free(b->id);
	imp_free(b->webhook_url);
	memset(b, 0, sizeof *b);
}

static int
batch_id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > RTAB_ID_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && strchr("._:-", id[i]) == NULL)
			return (0);
	return (1);
}

int
wrk_parse_batch(const char *body, size_t len, struct wrk_batch *b,
    struct wrk_err *e)
{
	struct path p, pi;
	struct opts base;
	json_t *root, *v, *spectra;
	size_t i, n, old;
	int rc = -1;

	memset(b, 0, sizeof *b);
	root = load(body, len, e);
	if (root == NULL)
		return (-1);
	p.len = 0;
	p.b[0] = '\0';
	v = json_object_get(root, "batch_id");
	if (v != NULL && !json_is_null(v)) {
		old = path_key(&p, "batch_id");
		if (!json_is_string(v)) {
			fail(e, 400, &p, "must be a string, not %s", type_name(v));
			goto out;
		}
		if (!batch_id_ok(json_string_value(v))) {
			fail(e, 400, &p, "must be 1 to %d characters of "
			    "A-Z a-z 0-9 . _ : -", RTAB_ID_MAX);
			goto out;
		}
		b->id = imp_strdup(json_string_value(v));
		path_pop(&p, old);
	}
	opts_defaults(&base);
	if (opts_parse(root, &p, &base, e) < 0)
		goto out;
	spectra = json_object_get(root, "spectra");
	old = path_key(&p, "spectra");
	if (spectra == NULL || json_is_null(spectra)) {
		fail(e, 400, &p, "missing (an array of spectra is required)");
		goto out;
	}
	if (!json_is_array(spectra)) {
		fail(e, 400, &p, "must be an array, not %s", type_name(spectra));
		goto out;
	}
	n = json_array_size(spectra);
	if (n == 0) {
		fail(e, 400, &p, "no spectra");
		goto out;
	}
	{
		struct shm_geom g;
		shm_geom_get(wrk.shm, &g);
		if (n > g.queue_size) {
			fail(e, 413, &p, "batch has %zu spectra, the queue holds "
			    "at most %u (-queue-size)", n, g.queue_size);
			goto out;
		}
	}
	b->webhook_url = base.url != NULL ? imp_strdup(base.url) : NULL;
	b->spec = imp_calloc(n, sizeof *b->spec);
	for (i = 0; i < n; i++) {
		json_t *sp = json_array_get(spectra, i), *imp;
		size_t o2 = path_idx(&p, i);

		if (!json_is_object(sp)) {
			fail(e, 400, &p, "must be an object, not %s", type_name(sp));
			goto out;
		}
		imp = json_object_get(sp, "impedance_data");
		pi = p;
		if (imp == NULL || json_is_null(imp)) {
			/* a flat spectrum object is fine too */
			if (json_object_get(sp, "frequencies") == NULL) {
				path_key(&pi, "impedance_data");
				fail(e, 400, &pi, "missing");
				goto out;
			}
			imp = sp;
		} else {
			path_key(&pi, "impedance_data");
			if (!json_is_object(imp)) {
				fail(e, 400, &pi, "must be an object, not %s",
				    type_name(imp));
				goto out;
			}
		}
		if (spectrum_parse(sp, &p, imp, &pi, &base, (int)i, &b->spec[i],
		    e) < 0) {
			b->n = (int)i + 1;
			goto out;
		}
		b->n = (int)i + 1;
		path_pop(&p, o2);
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		wrk_batch_free(b);
	return (rc);
}

int
wrk_parse_single(const char *body, size_t len, struct wrk_spectrum *s,
    struct wrk_err *e)
{
	struct path p, pi;
	struct opts base;
	json_t *root, *imp;
	int rc;

	memset(s, 0, sizeof *s);
	root = load(body, len, e);
	if (root == NULL)
		return (-1);
	p.len = 0;
	p.b[0] = '\0';
	pi = p;
	opts_defaults(&base);
	imp = json_object_get(root, "impedance_data");
	if (imp != NULL && !json_is_null(imp)) {
		path_key(&pi, "impedance_data");
		if (!json_is_object(imp)) {
			fail(e, 400, &pi, "must be an object, not %s", type_name(imp));
			json_decref(root);
			return (-1);
		}
	} else
		imp = root;
	rc = spectrum_parse(root, &p, imp, &pi, &base, 0, s, e);
	json_decref(root);
	if (rc < 0)
		wrk_spectrum_free(s);
	return (rc);
}

/*==================================================================
 * Webhook allow-list: scheme, host, port and path prefix, compared on the
 * parsed URL (never as strings: "http://good.example@evil.example/" must not
 * pass for "http://good.example").
 */

static int
url_parts(const char *url, char **scheme, char **host, long *port, char **path)
{
	CURLU *u = curl_url();
	char *sport = NULL;
	int rc = -1;

	*scheme = *host = *path = NULL;
	if (u == NULL)
		return (-1);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &sport, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	*port = strtol(sport, NULL, 10);
	if (curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK)
		goto out;
	rc = 0;
out:
	curl_free(sport);
	if (rc < 0) {
		curl_free(*scheme);
		curl_free(*host);
		curl_free(*path);
		*scheme = *host = *path = NULL;
	}
	curl_url_cleanup(u);
	return (rc);
}

int
wrk_allow_init(const char *list)
{
	char *copy, *tok, *save = NULL;

	wrk.nallow = 0;
	if (list == NULL || *list == '\0')
		return (0);
	copy = imp_strdup(list);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		char *scheme, *host, *path;
		long port;
		struct wrk_allow *a;

		if (url_parts(tok, &scheme, &host, &port, &path) < 0) {
			log_warn("-webhook-allow: cannot parse '%s': ignored", tok);
			continue;
		}
		wrk.allow = imp_realloc(wrk.allow, sizeof *wrk.allow *
		    (size_t)(wrk.nallow + 1));
		a = &wrk.allow[wrk.nallow++];
		a->scheme = imp_strdup(scheme);
		a->host = imp_strdup(host);
		a->path = imp_strdup(path);
		a->port = port;
		curl_free(scheme);
		curl_free(host);
		curl_free(path);
	}
	imp_free(copy);
	return (0);
}

int
wrk_url_allowed(const char *url, char *why, size_t len)
{
	char *scheme, *host, *path;
	long port;
	int i, ok = 0;

	if (url_parts(url, &scheme, &host, &port, &path) < 0) {
		snprintf(why, len, "not a valid URL");
		return (0);
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		snprintf(why, len, "scheme must be http or https");
		goto out;
	}
	if (wrk.cfg->webhook_url != NULL && strcmp(url, wrk.cfg->webhook_url) == 0) {
		ok = 1;
		goto out;
	}
	if (wrk.nallow == 0) {
		snprintf(why, len, "no -webhook-allow list is configured");
		goto out;
	}
	for (i = 0; i < wrk.nallow && !ok; i++) {
		struct wrk_allow *a = &wrk.allow[i];
		size_t pl = strlen(a->path);

		if (strcasecmp(a->scheme, scheme) != 0 ||
		    strcasecmp(a->host, host) != 0 || a->port != port)
			continue;
		/* path prefix on a segment boundary */
		if (strncmp(path, a->path, pl) == 0 &&
		    (pl == 0 || a->path[pl - 1] == '/' || path[pl] == '\0' ||
		    path[pl] == '/'))
			ok = 1;
	}
	if (!ok)
		snprintf(why, len, "%s://%s:%ld%s matches no -webhook-allow "
		    "prefix", scheme, host, port, path);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	return (ok);
}
