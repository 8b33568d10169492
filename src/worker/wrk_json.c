/*
 * impcore - worker: parse and validate request bodies.
 *
 * Accepts the Go server's batch format as is (DESIGN section 4): impedance
 * wins, else magnitude + phase (degrees); unknown fields are ignored.  Every
 * refusal names the JSON path of the culprit, e.g.
 * "spectra[3].impedance_data.frequencies[2]", also for syntax errors (the
 * path at the parser's error position).
 *
 * Bodies are read from a token array (wrk_jtok.c), not a jansson
 * tree: a batch holds thousands of numbers, and a json_t per number plus a
 * hash table per {"real", "imag"} was most of a worker's CPU.  jtok accepts
 * exactly the texts json_loadb accepts and gives the same values; for a
 * text it refuses, json_loadb is still asked, for the same message and
 * position as always (bad input is rare; its time does not matter, but its
 * memory does: see jb_malloc).
 */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "impfit.h"

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "net/urlallow.h"
#include "state/rtab.h"
#include "worker/wrk_jtok.h"
#include "worker/wrk_priv.h"

/* This worker's tokens: one request at a time, reused (and trimmed after). */
static struct jtok	*jt;
int			wrk_test_jtok_refuse;
/* A body re-encoded by jansson, see load(); freed with the next request. */
static char		*reencoded;

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

/* Token v of a member or element: -1 stands for an absent one. */
static int
present(int v)
{
	return (v >= 0 && jtok_type(jt, v) != JT_NULL);
}

static int
is_number(int v)
{
	return (jtok_type(jt, v) == JT_INTEGER || jtok_type(jt, v) == JT_REAL);
}

static const char *
type_name(int v)
{
	switch (jtok_type(jt, v)) {
	case JT_OBJECT:		return ("an object");
	case JT_ARRAY:		return ("an array");
	case JT_STRING:		return ("a string");
	case JT_INTEGER:
	case JT_REAL:		return ("a number");
	case JT_TRUE:
	case JT_FALSE:		return ("a boolean");
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

/*
 * json_loadb, asked why a body is bad, first builds a tree of the text up
 * to the error: some 40 bytes a value, so a 60 MB body of "0,0,0,..." with
 * a bad last byte took 1.2 GB of the worker to say where.  Its allocations
 * (and only its: a worker has one thread) get a budget of live bytes; over
 * it jansson gives up, without a message or a position (its error is left
 * as initialised), and the answer says only that the text is bad.
 */
#define JB_BUDGET	((size_t)32 << 20)
static size_t	jb_live;
static int	jb_over;

static void *
jb_malloc(size_t n)
{
	void *p;

	if (n > JB_BUDGET || jb_live > JB_BUDGET - n) {
		jb_over = 1;
		return (NULL);
	}
	p = imp_malloc(n);
	jb_live += malloc_usable_size(p);
	return (p);
}

static void
jb_free(void *p)
{
	if (p == NULL)
		return;
	jb_live -= malloc_usable_size(p);
	imp_free(p);
}

/* The body as tokens (the root object is token 0); -1 with *e filled. */
static int
load(const char *body, size_t len, struct wrk_err *e)
{
	json_error_t je;
	json_t *root;
	struct path p;
	size_t i, n;

	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len)
		return (fail(e, 400, NULL, "empty body: a JSON object is required"));
	if (jt == NULL)
		jt = jtok_new();
	imp_free(reencoded);
	reencoded = NULL;
	if (wrk_test_jtok_refuse || jtok_parse(jt, body, len) < 0) {
		jb_live = 0;
		jb_over = 0;
		json_set_alloc_funcs(jb_malloc, jb_free);
		root = json_loadb(body, len, 0, &je);
		json_set_alloc_funcs(imp_malloc, imp_free);
		if (root == NULL && jb_over)
			return (fail(e, 400, NULL, "invalid JSON (the body is "
			    "too large to tell where the error is)"));
		if (root == NULL) {
			path_at(body, len, (size_t)(je.position > 0 ?
			    je.position - 1 : 0), &p);
			return (fail(e, 400, &p, "invalid JSON: %s (line %d, "
			    "column %d)", je.text, je.line, je.column));
		}
		/*
		 * jtok refused a text jansson takes: a bug that
		 * tests/test-jtok-fuzz hunts for.  Rather than refuse a valid
		 * body, parse jansson's compact encoding of it (reals with 17
		 * digits, so the same doubles).
		 */
		log_msg(LOG_WARN, "request body of %zu bytes: the tokenizer "
		    "refused what jansson accepts; re-encoded", len);
		n = json_dumpb(root, NULL, 0, JSON_COMPACT);
		reencoded = imp_malloc(n + 1);
		n = json_dumpb(root, reencoded, n, JSON_COMPACT);
		json_decref(root);
		if (jtok_parse(jt, reencoded, n) < 0)
			return (fail(e, 400, NULL, "invalid JSON: cannot parse "
			    "the body"));
	}
	if (jtok_type(jt, 0) != JT_OBJECT)
		return (fail(e, 400, NULL, "the body must be a JSON object, "
		    "not %s", type_name(0)));
	return (0);
}

/* After a request: give back what a large body took. */
static void
unload(void)
{
	if (jt != NULL)
		jtok_trim(jt);
	imp_free(reencoded);
	reencoded = NULL;
}

/*==================================================================
 * Options: circuit, method, weighting, initial_values, webhook_url,
 * max_iterations, timeout (batch level, overridable per spectrum).
 */

/* A constant or a bound by parameter name, resolved with the circuit. */
#define OPTS_CONS_MAX	16
struct opt_cons {
	char		name[24];
	double		lo, hi;
};

struct opts {
	char		circuit[RTAB_CIRCUIT_MAX + 1];
	char		circuit_field[256];
	int		nparams;
	int		method, weighting, max_iterations;
	uint64_t	timeout_ns;
	int		ninit;
	double		init[IMPFIT_MAX_PARAMS];
	char		init_field[256];
	const char	*url;		/* borrowed from the tokens' strings or cfg */
	int		own_url;
	/* constants, bounds: [0] and [1]; a spectrum's replace the batch's */
	int		ncons[2];
	struct opt_cons	cons[2][OPTS_CONS_MAX];
	char		cons_field[2][128];
	struct rtab_extras extras;	/* validate, linkk_*, drt, drt_lambda */
};

/*
 * "constants": {"R0": 0.02} (k = 0) or "bounds": {"Q0.n": [0.5, 1]}
 * (k = 1) at p, into o; the names are checked against the circuit later
 * (opts_cons_resolve), the numbers here.
 */
static int
opts_cons(int v, int k, struct path *p, struct opts *o, struct wrk_err *e)
{
	struct opt_cons *c;
	const char *name;
	int key, val, x, i, n;
	size_t o2;

	if (jtok_type(jt, v) != JT_OBJECT)
		return (fail(e, 400, p, "must be an object of parameter names "
		    "and %s, not %s", k ? "[low, high] pairs" : "numbers",
		    type_name(v)));
	n = jtok_len(jt, v);
	if (n > OPTS_CONS_MAX)
		return (fail(e, 400, p, "too many parameters (%d, at most %d)",
		    n, OPTS_CONS_MAX));
	snprintf(o->cons_field[k], sizeof o->cons_field[k], "%.100s", p->b);
	o->ncons[k] = n;
	for (i = 0, key = jtok_first(jt, v); i < n; i++, key = jtok_next(jt,
	    key)) {
		c = &o->cons[k][i];
		val = key + 1;
		name = jtok_str(jt, key);
		o2 = path_key(p, name);
		if (strlen(name) >= sizeof c->name)
			return (fail(e, 400, p, "no such parameter"));
		snprintf(c->name, sizeof c->name, "%s", name);
		if (k == 0) {
			if (!is_number(val))
				return (fail(e, 400, p, "must be a number, not "
				    "%s", type_name(val)));
			c->lo = c->hi = jtok_num(jt, val);
		} else {
			if (jtok_type(jt, val) != JT_ARRAY ||
			    jtok_len(jt, val) != 2 ||
			    !is_number(x = jtok_first(jt, val)) ||
			    !is_number(jtok_next(jt, x)))
				return (fail(e, 400, p, "must be [low, high], "
				    "two numbers"));
			c->lo = jtok_num(jt, x);
			c->hi = jtok_num(jt, jtok_next(jt, x));
		}
		if (!isfinite(c->lo) || !isfinite(c->hi))
			return (fail(e, 400, p, "must be finite"));
		path_pop(p, o2);
	}
	return (0);
}

/*
 * Resolve o's constants and bounds against its circuit into s: a name
 * the circuit lacks, or a bound outside the parameter's domain, is a 400
 * naming it.  Bounds first, so that a constant wins over a bound.
 */
static int
opts_cons_resolve(const struct opts *o, struct wrk_spectrum *s,
    struct wrk_err *e)
{
	const struct impfit_circuit *c;
	const struct opt_cons *oc;
	struct path pf;
	char why[160];
	int k, i, j;

	s->ncons = 0;
	if (o->ncons[0] + o->ncons[1] == 0)
		return (0);
	if ((c = wrk_circuit(o->circuit, NULL, 0)) == NULL)
		return (0);	/* (checked when the circuit was parsed) */
	for (j = 0; j < o->nparams; j++)
		s->lower[j] = s->upper[j] = NAN;
	for (k = 1; k >= 0; k--)
		for (i = 0; i < o->ncons[k]; i++) {
			oc = &o->cons[k][i];
			snprintf(pf.b, sizeof pf.b, "%.100s.%s",
			    o->cons_field[k], oc->name);
			pf.len = strlen(pf.b);
			if ((j = impfit_circuit_param_index(c, oc->name)) < 0)
				return (fail(e, 400, &pf, "circuit %s has no "
				    "parameter %s", o->circuit, oc->name));
			if (impfit_bound_check(c, j, oc->lo, oc->hi, why,
			    sizeof why) != 0)
				return (fail(e, 400, &pf, "%s", why));
			s->lower[j] = oc->lo;
			s->upper[j] = oc->hi;
		}
	s->ncons = o->nparams;
	return (0);
}

static int
opts_circuit(struct opts *o, const char *code, const struct path *p,
    struct wrk_err *e)
{
	const struct impfit_circuit *c;
	char err[160];

	if (strlen(code) > RTAB_CIRCUIT_MAX)
		return (fail(e, 400, p, "circuit code too long (%zu characters, "
		    "at most %d)", strlen(code), RTAB_CIRCUIT_MAX));
	c = wrk_circuit(code, err, sizeof err);
	if (c == NULL)
		return (fail(e, 400, p, "bad circuit '%s': %s", code, err));
	snprintf(o->circuit, sizeof o->circuit, "%s", impfit_circuit_code(c));
	o->nparams = impfit_circuit_nparams(c);
	snprintf(o->circuit_field, sizeof o->circuit_field, "%s", p->b);
	return (0);
}

/* the longest budget a request may give: what a bare number may say in the flags */
#define WRK_TIMEOUT_MAX_S	1e10

/*
 * Token v as a fit's time budget: a JSON number of seconds, or a duration
 * string as the flags take them ("500ms", "2s", "1m30s"; tim.c).  0 and
 * *ns > 0; -1 when it is neither, or not a budget (0 or less, NaN, beyond
 * WRK_TIMEOUT_MAX_S seconds, under a nanosecond).
 */
static int
timeout_get(int v, uint64_t *ns)
{
	double sec;

	switch (jtok_type(jt, v)) {
	case JT_INTEGER:
	case JT_REAL:
		sec = jtok_num(jt, v);
		if (!(sec > 0) || sec > WRK_TIMEOUT_MAX_S)
			return (-1);
		*ns = (uint64_t)(sec * 1e9);
		break;
	case JT_STRING:
		if (tim_parse_duration(jtok_str(jt, v), ns) < 0 ||
		    *ns > (uint64_t)(WRK_TIMEOUT_MAX_S * 1e9))
			return (-1);
		break;
	default:
		return (-1);
	}
	return (*ns > 0 ? 0 : -1);
}

/*
 * The issue 16 fields: "validate": "linkk" with linkk_c, linkk_max_m,
 * linkk_fit_type, linkk_add_cap; "drt": true with drt_lambda.  Batch level,
 * overridable per spectrum, like the others.
 */
static int
opts_extras(int obj, struct path *p, struct opts *o, struct wrk_err *e)
{
	struct rtab_extras *x = &o->extras;
	const char *s;
	size_t old;
	int v, t;

	if (present(v = jtok_get(jt, obj, "validate"))) {
		old = path_key(p, "validate");
		if (jtok_type(jt, v) == JT_NULL || (jtok_type(jt, v) ==
		    JT_STRING && strcmp(jtok_str(jt, v), "none") == 0))
			x->validate = RTAB_VALIDATE_NONE;
		else if (jtok_type(jt, v) == JT_STRING &&
		    strcmp(jtok_str(jt, v), "linkk") == 0)
			x->validate = RTAB_VALIDATE_LINKK;
		else
			return (fail(e, 400, p, "must be \"linkk\" or \"none\""));
		path_pop(p, old);
	}
	if (present(v = jtok_get(jt, obj, "linkk_c"))) {
		old = path_key(p, "linkk_c");
		if (!is_number(v) || !(jtok_num(jt, v) >= 0) ||
		    !(jtok_num(jt, v) < 1))
			return (fail(e, 400, p, "must be a number from 0 to 1 "
			    "(0: always linkk_max_m RC elements)"));
		x->lk_c = jtok_num(jt, v);
		path_pop(p, old);
	}
	if (present(v = jtok_get(jt, obj, "linkk_max_m"))) {
		old = path_key(p, "linkk_max_m");
		if (jtok_type(jt, v) != JT_INTEGER || jtok_int(jt, v) < 1 ||
		    jtok_int(jt, v) > IMPFIT_LINKK_MAX_M)
			return (fail(e, 400, p, "must be an integer from 1 to %d",
			    IMPFIT_LINKK_MAX_M));
		x->lk_max_m = (uint16_t)jtok_int(jt, v);
		path_pop(p, old);
	}
	if (present(v = jtok_get(jt, obj, "linkk_fit_type"))) {
		old = path_key(p, "linkk_fit_type");
		if (jtok_type(jt, v) != JT_STRING ||
		    (t = impfit_linkk_type_parse(s = jtok_str(jt, v))) < 0)
			return (fail(e, 400, p, "must be \"real\", \"imag\" or "
			    "\"complex\""));
		x->lk_type = (uint8_t)t;
		path_pop(p, old);
	}
	if (present(v = jtok_get(jt, obj, "linkk_add_cap"))) {
		old = path_key(p, "linkk_add_cap");
		if (jtok_type(jt, v) != JT_TRUE && jtok_type(jt, v) != JT_FALSE)
			return (fail(e, 400, p, "must be true or false"));
		x->lk_add_cap = jtok_type(jt, v) == JT_TRUE;
		path_pop(p, old);
	}
	if (present(v = jtok_get(jt, obj, "drt"))) {
		old = path_key(p, "drt");
		if (jtok_type(jt, v) != JT_TRUE && jtok_type(jt, v) != JT_FALSE)
			return (fail(e, 400, p, "must be true or false"));
		x->drt = jtok_type(jt, v) == JT_TRUE;
		path_pop(p, old);
	}
	if (present(v = jtok_get(jt, obj, "drt_lambda"))) {
		old = path_key(p, "drt_lambda");
		if (!is_number(v) || !(jtok_num(jt, v) > 0) ||
		    !(jtok_num(jt, v) <= 1e6))
			return (fail(e, 400, p, "must be a number > 0 and <= 1e6"));
		x->drt_lambda = jtok_num(jt, v);
		path_pop(p, old);
	}
	return (0);
}

static int
opts_parse(int obj, struct path *p, struct opts *o, struct wrk_err *e)
{
	const char *s;
	size_t old, i;
	int v, x, m, n, has_circuit = 0;

	v = jtok_get(jt, obj, "circuit");
	if (!present(v))
		v = jtok_get(jt, obj, "circuit_type");
	if (present(v)) {
		old = path_key(p, jtok_get(jt, obj, "circuit") >= 0 ?
		    "circuit" : "circuit_type");
		if (jtok_type(jt, v) != JT_STRING)
			return (fail(e, 400, p, "must be a string (a circuit code "
			    "like \"R(QR)\"), not %s", type_name(v)));
		if (opts_circuit(o, jtok_str(jt, v), p, e) < 0)
			return (-1);
		path_pop(p, old);
		has_circuit = 1;
		/* inherited initial values belonged to another circuit */
		o->ninit = 0;
	}
	v = jtok_get(jt, obj, "method");
	if (present(v)) {
		old = path_key(p, "method");
		if (jtok_type(jt, v) != JT_STRING)
			return (fail(e, 400, p, "must be a string, not %s", type_name(v)));
		s = jtok_str(jt, v);
		m = impfit_method_parse(s);
		if (m < 0)
			return (fail(e, 400, p, "unknown method '%s' (use "
			    "levenberg-marquardt or nelder-mead)", s));
		o->method = m;
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "weighting");
	if (present(v)) {
		old = path_key(p, "weighting");
		if (jtok_type(jt, v) != JT_STRING)
			return (fail(e, 400, p, "must be a string, not %s", type_name(v)));
		s = jtok_str(jt, v);
		m = impfit_weighting_parse(s);
		if (m < 0)
			return (fail(e, 400, p, "unknown weighting '%s' (use "
			    "modulus, unity or proportional)", s));
		o->weighting = m;
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "max_iterations");
	if (present(v)) {
		old = path_key(p, "max_iterations");
		/*
		 * Bounded: a synchronous fit runs inside the worker's event
		 * loop, and 1e5 Nelder-Mead steps on max-points points is
		 * already about a second of it.
		 */
		if (jtok_type(jt, v) != JT_INTEGER || jtok_int(jt, v) < 1 ||
		    jtok_int(jt, v) > WRK_MAX_ITERATIONS)
			return (fail(e, 400, p, "must be an integer from 1 to 100000"));
		o->max_iterations = (int)jtok_int(jt, v);
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "timeout");
	if (present(v)) {
		old = path_key(p, "timeout");
		if (timeout_get(v, &o->timeout_ns) < 0)
			return (fail(e, 400, p, "must be a number of seconds > 0 "
			    "or a duration like \"500ms\" or \"2s\" (at most "
			    "%.0f s)", WRK_TIMEOUT_MAX_S));
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "initial_values");
	if (present(v)) {
		old = path_key(p, "initial_values");
		if (jtok_type(jt, v) != JT_ARRAY)
			return (fail(e, 400, p, "must be an array of numbers, not %s",
			    type_name(v)));
		n = jtok_len(jt, v);
		if (n > IMPFIT_MAX_PARAMS)
			return (fail(e, 400, p, "too many values (%zu)", (size_t)n));
		o->ninit = n;
		for (i = 0, x = jtok_first(jt, v); i < (size_t)n;
		    i++, x = jtok_next(jt, x)) {
			size_t o2 = path_idx(p, i);
			if (!is_number(x))
				return (fail(e, 400, p, "must be a number, not %s",
				    type_name(x)));
			o->init[i] = jtok_num(jt, x);
			if (!isfinite(o->init[i]) || o->init[i] <= 0)
				return (fail(e, 400, p, "must be a finite number > 0"));
			path_pop(p, o2);
		}
		snprintf(o->init_field, sizeof o->init_field, "%s", p->b);
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "constants");
	if (present(v)) {
		old = path_key(p, "constants");
		if (opts_cons(v, 0, p, o, e) < 0)
			return (-1);
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "bounds");
	if (present(v)) {
		old = path_key(p, "bounds");
		if (opts_cons(v, 1, p, o, e) < 0)
			return (-1);
		path_pop(p, old);
	}
	v = jtok_get(jt, obj, "webhook_url");
	if (present(v)) {
		char why[160];
		old = path_key(p, "webhook_url");
		if (jtok_type(jt, v) != JT_STRING)
			return (fail(e, 400, p, "must be a string, not %s", type_name(v)));
		s = jtok_str(jt, v);
		if (strlen(s) > RTAB_URL_MAX)
			return (fail(e, 400, p, "URL too long (at most %d bytes)",
			    RTAB_URL_MAX));
		if (!wrk_url_allowed(s, why, sizeof why))
			return (fail(e, 400, p, "webhook_url not allowed: %s", why));
		o->url = s;
		o->own_url = 1;
		path_pop(p, old);
	}
	(void)has_circuit;
	return (opts_extras(obj, p, o, e));
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
	o->extras.lk_c = 0.85;
	o->extras.lk_max_m = 50;
	o->method = wrk.def_method;
	o->weighting = IMPFIT_WEIGHT_MODULUS;
	o->url = wrk.cfg->webhook_url;
}

/*==================================================================
 * Spectra
 */

/* A finite number in token x (the loops' fast path: no path is built). */
static inline bool
num_ok(int x, double *out)
{
	enum jt_type t = jtok_type(jt, x);

	if (t != JT_INTEGER && t != JT_REAL)
		return (false);
	*out = jtok_num(jt, x);
	return (isfinite(*out));
}

/*
 * Element x, the i-th of its array.  The path is built only for an error:
 * snprintf per number was a quarter of a batch's parse.
 */
static int
num_at(int x, size_t i, struct path *p, double *out, int positive,
    struct wrk_err *e)
{
	size_t old;

	if (num_ok(x, out) && (!positive || *out > 0))
		return (0);
	old = path_idx(p, i);
	if (!is_number(x))
		return (fail(e, 400, p, "must be a number, not %s%s", type_name(x),
		    jtok_type(jt, x) == JT_STRING ?
		    " (NaN and Infinity are not allowed)" : ""));
	*out = jtok_num(jt, x);
	if (!isfinite(*out))
		return (fail(e, 400, p, "must be a finite number"));
	if (positive && *out <= 0)
		return (fail(e, 400, p, "must be > 0 (got %g)", *out));
	path_pop(p, old);
	return (0);
}

/* Member key of obj: its token, -1 absent (or null), -2 not an array (*e filled). */
static int
want_array(int obj, const char *key, struct path *p, struct wrk_err *e,
    int required)
{
	int v = jtok_get(jt, obj, key);
	size_t old;

	if (!present(v)) {
		if (required) {
			old = path_key(p, key);
			fail(e, 400, p, "missing (an array of numbers is required)");
			path_pop(p, old);
		}
		return (-1);
	}
	if (jtok_type(jt, v) != JT_ARRAY) {
		old = path_key(p, key);
		fail(e, 400, p, "must be an array, not %s", type_name(v));
		path_pop(p, old);
		e->status = 400;
		return (-2);
	}
	return (v);
}

/*
 * One spectrum: data from imp (an impedance_data object), options from
 * outer (the spectrum object, may equal imp) on top of inherited ones.
 */
static int
spectrum_parse(int outer, struct path *po, int imp, struct path *pi,
    const struct opts *inherit, int iteration, struct wrk_spectrum *s,
    struct wrk_err *e)
{
	struct opts o = *inherit;
	int fa, za, ma, pa, v, x, y;
	size_t n, i, old;
	int k;

	memset(s, 0, sizeof *s);
	/* a URL set at batch level is the batch's, stored once with it */
	o.own_url = 0;
	if (opts_parse(outer, po, &o, e) < 0)
		return (-1);
	if (imp != outer && opts_parse(imp, pi, &o, e) < 0)
		return (-1);
	v = jtok_get(jt, outer, "iteration");
	if (present(v)) {
		old = path_key(po, "iteration");
		if (jtok_type(jt, v) != JT_INTEGER || jtok_int(jt, v) < 0 ||
		    jtok_int(jt, v) > 2147483647)
			return (fail(e, 400, po, "must be a non-negative integer"));
		iteration = (int)jtok_int(jt, v);
		path_pop(po, old);
	}
	s->iteration = iteration;

	fa = want_array(imp, "frequencies", pi, e, 1);
	if (fa < 0)
		return (-1);
	n = (size_t)jtok_len(jt, fa);
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
	if (za == -2)
		return (-1);
	if (za >= 0 && jtok_len(jt, za) == 0)
		za = -1;	/* the Go clients send [] with magnitude/phase */
	ma = pa = -1;
	if (za < 0) {
		ma = want_array(imp, "magnitude", pi, e, 0);
		if (ma == -2)
			return (-1);
		pa = want_array(imp, "phase", pi, e, 0);
		if (pa == -2)
			return (-1);
		if (ma < 0 || pa < 0) {
			old = path_key(pi, "impedance");
			return (fail(e, 400, pi, "missing: give impedance "
			    "([{\"real\": .., \"imag\": ..}]), or magnitude and "
			    "phase"));
		}
	}
#define LEN_CHECK(arr, key) do {					\
	if ((size_t)jtok_len(jt, arr) != n) {				\
		old = path_key(pi, key);				\
		return (fail(e, 400, pi, "has %zu entries, frequencies "	\
		    "has %zu", (size_t)jtok_len(jt, arr), n));		\
	}								\
} while (0)
	if (za >= 0)
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
	/* arrays are walked in order: the next element is O(1) away */
	old = path_key(pi, "frequencies");
	for (i = 0, x = jtok_first(jt, fa); i < n; i++, x = jtok_next(jt, x))
		if (num_at(x, i, pi, &s->freq[i], 1, e) < 0)
			return (-1);
	path_pop(pi, old);
	if (za >= 0) {
		old = path_key(pi, "impedance");
		for (i = 0, x = jtok_first(jt, za); i < n; i++, x = jtok_next(jt, x)) {
			int re, im;
			size_t o2;
			/* the fast path; what fails it is told below */
			if (jtok_type(jt, x) == JT_OBJECT &&
			    (re = jtok_get(jt, x, "real")) >= 0 &&
			    (im = jtok_get(jt, x, "imag")) >= 0 &&
			    num_ok(re, &s->zre[i]) && num_ok(im, &s->zim[i]))
				continue;
			o2 = path_idx(pi, i);
			if (jtok_type(jt, x) == JT_ARRAY && jtok_len(jt, x) == 2) {
				y = jtok_first(jt, x);
				if (num_at(y, 0, pi, &s->zre[i], 0, e) < 0 ||
				    num_at(jtok_next(jt, y), 1, pi, &s->zim[i], 0,
				    e) < 0)
					return (-1);
				path_pop(pi, o2);
				continue;
			}
			if (jtok_type(jt, x) != JT_OBJECT)
				return (fail(e, 400, pi, "must be an object "
				    "{\"real\": .., \"imag\": ..}, not %s",
				    type_name(x)));
			re = jtok_get(jt, x, "real");
			im = jtok_get(jt, x, "imag");
			if (re < 0 || im < 0)
				return (fail(e, 400, pi, "needs \"real\" and "
				    "\"imag\""));
			{
				size_t o3 = path_key(pi, "real");
				if (!is_number(re))
					return (fail(e, 400, pi, "must be a number, "
					    "not %s", type_name(re)));
				s->zre[i] = jtok_num(jt, re);
				if (!isfinite(s->zre[i]))
					return (fail(e, 400, pi, "must be finite"));
				path_pop(pi, o3);
				o3 = path_key(pi, "imag");
				if (!is_number(im))
					return (fail(e, 400, pi, "must be a number, "
					    "not %s", type_name(im)));
				s->zim[i] = jtok_num(jt, im);
				if (!isfinite(s->zim[i]))
					return (fail(e, 400, pi, "must be finite"));
				path_pop(pi, o3);
			}
			path_pop(pi, o2);
		}
		path_pop(pi, old);
	} else {
		double mag, ph;
		x = jtok_first(jt, ma);
		y = jtok_first(jt, pa);
		for (i = 0; i < n; i++, x = jtok_next(jt, x), y = jtok_next(jt, y)) {
			if (!num_ok(x, &mag) || mag < 0) {
				old = path_key(pi, "magnitude");
				if (num_at(x, i, pi, &mag, 0, e) < 0)
					return (-1);
				return (fail(e, 400, pi, "must be >= 0"));
			}
			if (!num_ok(y, &ph)) {
				old = path_key(pi, "phase");
				if (num_at(y, i, pi, &ph, 0, e) < 0)
					return (-1);
				path_pop(pi, old);
			}
			s->zre[i] = mag * cos(ph * M_PI / 180.0);
			s->zim[i] = mag * sin(ph * M_PI / 180.0);
		}
	}

	snprintf(s->circuit, sizeof s->circuit, "%s", o.circuit);
	s->nparams = o.nparams;
	s->method = o.method;
	s->weighting = o.weighting;
	s->max_iterations = o.max_iterations;
	s->timeout_ns = o.timeout_ns;
	s->extras = o.extras;
	if (o.ninit > 0 && o.ninit != o.nparams) {
		struct path pf;
		snprintf(pf.b, sizeof pf.b, "%s", o.init_field);
		pf.len = strlen(pf.b);
		return (fail(e, 400, &pf, "has %d values, circuit %s has %d "
		    "parameters", o.ninit, o.circuit, o.nparams));
	}
	if (o.ninit > 0) {
		const struct impfit_circuit *c = wrk_circuit(o.circuit, NULL, 0);
		for (k = 0; k < o.ninit; k++)
			if (c != NULL && impfit_circuit_param_is_exponent(c, k) &&
			    o.init[k] > 1) {
				struct path pf;
				snprintf(pf.b, sizeof pf.b, "%.200s[%d]", o.init_field, k);
				pf.len = strlen(pf.b);
				return (fail(e, 400, &pf, "%s is an exponent: it "
				    "must be in (0, 1]",
				    impfit_circuit_param_name(c, k)));
			}
		memcpy(s->init, o.init, sizeof(double) * (size_t)o.ninit);
	}
	s->ninit = o.ninit;
	if (opts_cons_resolve(&o, s, e) < 0)
		return (-1);
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

/*
 * A batch id is a path segment of its status URL, /eis-data/batch/{id}: "."
 * and ".." would be read as the directory itself or its parent by clients
 * and proxies that normalise paths, so they are refused.
 */
static int
batch_id_dots(const char *id)
{
	return (strcmp(id, ".") == 0 || strcmp(id, "..") == 0);
}

static bool
batch_id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > RTAB_ID_MAX)
		return (false);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && strchr("._:-", id[i]) == NULL)
			return (false);
	return (true);
}

const char *
wrk_batch_id_why(const char *id)
{
	if (batch_id_dots(id))
		return ("must not be \".\" or \"..\" (it is a segment of the "
		    "status URL)");
	if (!batch_id_ok(id))
		return ("must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
	return (NULL);
}

int
wrk_parse_batch(const char *body, size_t len, struct wrk_batch *b,
    struct wrk_err *e)
{
	struct path p, pi;
	struct opts base;
	const char *id;
	int v, spectra, sp, imp;
	size_t i, n, old;
	int rc = -1;

	memset(b, 0, sizeof *b);
	if (load(body, len, e) < 0)
		goto out;
	p.len = 0;
	p.b[0] = '\0';
	v = jtok_get(jt, 0, "batch_id");
	if (present(v)) {
		old = path_key(&p, "batch_id");
		if (jtok_type(jt, v) != JT_STRING) {
			fail(e, 400, &p, "must be a string, not %s", type_name(v));
			goto out;
		}
		id = jtok_str(jt, v);
		if (batch_id_dots(id)) {
			fail(e, 400, &p, "must not be \".\" or \"..\" (it is a "
			    "segment of the status URL)");
			goto out;
		}
		if (!batch_id_ok(id)) {
			fail(e, 400, &p, "must be 1 to %d characters of "
			    "A-Z a-z 0-9 . _ : -", RTAB_ID_MAX);
			goto out;
		}
		b->id = imp_strdup(id);
		path_pop(&p, old);
	}
	/* issue 18: batch level only; not given: -webhook-mode (wrk_api.c) */
	v = jtok_get(jt, 0, "webhook_mode");
	if (present(v)) {
		old = path_key(&p, "webhook_mode");
		id = jtok_type(jt, v) == JT_STRING ? jtok_str(jt, v) : "";
		if (strcmp(id, "spectrum") != 0 && strcmp(id, "batch") != 0) {
			fail(e, 400, &p, "must be \"spectrum\" or \"batch\"");
			goto out;
		}
		b->webhook_mode = id[0] == 'b' ? WRK_WHMODE_BATCH :
		    WRK_WHMODE_SPECTRUM;
		path_pop(&p, old);
	}
	opts_defaults(&base);
	if (opts_parse(0, &p, &base, e) < 0)
		goto out;
	spectra = jtok_get(jt, 0, "spectra");
	old = path_key(&p, "spectra");
	if (!present(spectra)) {
		fail(e, 400, &p, "missing (an array of spectra is required)");
		goto out;
	}
	if (jtok_type(jt, spectra) != JT_ARRAY) {
		fail(e, 400, &p, "must be an array, not %s", type_name(spectra));
		goto out;
	}
	n = (size_t)jtok_len(jt, spectra);
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
	for (i = 0, sp = jtok_first(jt, spectra); i < n;
	    i++, sp = jtok_next(jt, sp)) {
		size_t o2 = path_idx(&p, i);

		if (jtok_type(jt, sp) != JT_OBJECT) {
			fail(e, 400, &p, "must be an object, not %s", type_name(sp));
			goto out;
		}
		imp = jtok_get(jt, sp, "impedance_data");
		pi = p;
		if (!present(imp)) {
			/* a flat spectrum object is fine too */
			if (jtok_get(jt, sp, "frequencies") < 0) {
				path_key(&pi, "impedance_data");
				fail(e, 400, &pi, "missing");
				goto out;
			}
			imp = sp;
		} else {
			path_key(&pi, "impedance_data");
			if (jtok_type(jt, imp) != JT_OBJECT) {
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
	unload();
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
	int imp, rc;

	memset(s, 0, sizeof *s);
	if (load(body, len, e) < 0) {
		unload();
		return (-1);
	}
	p.len = 0;
	p.b[0] = '\0';
	pi = p;
	opts_defaults(&base);
	imp = jtok_get(jt, 0, "impedance_data");
	if (present(imp)) {
		path_key(&pi, "impedance_data");
		if (jtok_type(jt, imp) != JT_OBJECT) {
			fail(e, 400, &pi, "must be an object, not %s", type_name(imp));
			unload();
			return (-1);
		}
	} else
		imp = 0;
	rc = spectrum_parse(0, &p, imp, &pi, &base, 0, s, e);
	unload();
	if (rc < 0)
		wrk_spectrum_free(s);
	return (rc);
}

/*==================================================================
 * Webhook allow-list: scheme, host, port and path prefix, compared on the
 * parsed URL (never as strings: "http://good.example@evil.example/" must not
 * pass for "http://good.example").  The matcher is net/urlallow.c, shared
 * with the webhook process (which checks redirect hops with it).
 */

static struct urlallow *wrk_allow_list;

int
wrk_allow_init(const char *list)
{
	char why[200];
	int rc = 0;

	/* the master refuses such a list at start and reload: this is a
	 * second line, for a caller that did not ask it */
	if (urlallow_check(list, why, sizeof why) < 0) {
		log_err("-webhook-allow: %s", why);
		rc = -1;
	}
	urlallow_free(wrk_allow_list);
	wrk_allow_list = urlallow_new(list);
	return (rc);
}

int
wrk_url_allowed(const char *url, char *why, size_t len)
{
	struct urlparts p;
	int ok = 0;

	if (urlparts_get(url, &p) < 0) {
		snprintf(why, len, "not a valid URL");
		return (0);
	}
	if (!urlparts_http(&p)) {
		snprintf(why, len, "scheme must be http or https");
		goto out;
	}
	if (wrk.cfg->webhook_url != NULL && strcmp(url, wrk.cfg->webhook_url) == 0) {
		ok = 1;
		goto out;
	}
	if (urlallow_count(wrk_allow_list) == 0) {
		snprintf(why, len, "no -webhook-allow list is configured");
		goto out;
	}
	ok = urlallow_match(wrk_allow_list, &p);
	if (!ok)
		snprintf(why, len, "%s://%s:%ld%s matches no -webhook-allow "
		    "prefix", p.scheme, p.host, p.port, p.path);
out:
	urlparts_free(&p);
	return (ok);
}
