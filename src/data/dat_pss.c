/*
 * impcore - dat_pss.c: PalmSens PSTrace session files (.pssession).
 *
 * UTF-16 (dat_read made it UTF-8) holding one JSON object: "Measurements"
 * is an array; a measurement's "DataSet" has a "Type" (an EIS one names
 * EIS: "PalmSens.Data.DataSetEIS") and "Values", an array of data arrays,
 * each with a "Unit" whose "Type" says what it holds (...Units.Hertz,
 * ...Units.ZRe, ...Units.ZIm: -Z'') and "DataValues", objects whose "V"
 * is the value.  Each EIS measurement is a spectrum; others are skipped.
 *
 * No JSON tree is built: jansson would take tens of bytes per number of a
 * 10 MB body.  The text is checked once (dat_pss_skip, an iterative
 * scanner with a depth limit, so no input can recurse the stack), then
 * walked in place: a key's value is found by skipping the values before
 * it.  Bytes after the object (PSTrace ends the file with another byte
 * order mark) are ignored.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/dat_priv.h"

#define DAT_PSS_DEPTH	64	/* nesting; PSTrace 5.9 writes 10 */

static const char *
dat_pss_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return (p);
}

/* After the string at p ('"'), or NULL. */
static const char *
dat_pss_str(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return (NULL);
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return (p + 1);
	}
	return (NULL);
}

/* After the number or literal at p, or NULL. */
static const char *
dat_pss_scalar(const char *p, const char *end)
{
	static const char *const lit[] = { "true", "false", "null" };
	const char	*q = p;
	size_t		 i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(lit[i]);
		if ((size_t)(end - p) >= n && memcmp(p, lit[i], n) == 0)
			return (p + n);
	}
	if (q < end && *q == '-')
		q++;
	if (q == end || *q < '0' || *q > '9')
		return (NULL);
	while (q < end && ((*q >= '0' && *q <= '9') || *q == '.' ||
	    *q == 'e' || *q == 'E' || *q == '+' || *q == '-'))
		q++;
	return (q);
}

/*
 * After the JSON value at p (blanks before it skipped), or NULL when it
 * is not one (*why says what was expected, *at where).
 */
static const char *
dat_pss_skip(const char *p, const char *end, const char **why,
    const char **at)
{
	const char *q;
	char	 stack[DAT_PSS_DEPTH];
	int	 d = 0;

	*why = "a value";
value:
	p = dat_pss_ws(p, end);
	if (p >= end)
		return (*at = p, NULL);
	switch (*p) {
	case '{':
	case '[':
		if (d == DAT_PSS_DEPTH) {
			*why = "less nesting";
			return (*at = p, NULL);
		}
		stack[d++] = *p == '{' ? '}' : ']';
		p = dat_pss_ws(p + 1, end);
		if (p < end && *p == stack[d - 1]) {
			p++;
			d--;
			goto after;
		}
		if (stack[d - 1] == ']')
			goto value;
		goto key;
	case '"':
		if ((q = dat_pss_str(p, end)) == NULL) {
			*why = "the end of a string";
			return (*at = p, NULL);
		}
		p = q;
		goto after;
	default:
		if ((q = dat_pss_scalar(p, end)) == NULL)
			return (*at = p, NULL);
		p = q;
		goto after;
	}
key:
	p = dat_pss_ws(p, end);
	if ((q = dat_pss_str(p, end)) == NULL) {
		*why = "a key";
		return (*at = p, NULL);
	}
	p = q;
	p = dat_pss_ws(p, end);
	if (p >= end || *p != ':') {
		*why = "':'";
		return (*at = p, NULL);
	}
	p++;
	goto value;
after:
	if (d == 0)
		return (p);
	p = dat_pss_ws(p, end);
	if (p < end && *p == ',') {
		p++;
		if (stack[d - 1] == '}')
			goto key;
		goto value;
	}
	if (p < end && *p == stack[d - 1]) {
		p++;
		d--;
		goto after;
	}
	*why = stack[d - 1] == '}' ? "',' or '}'" : "',' or ']'";
	return (*at = p, NULL);
}

/* The walk below runs on checked JSON: its skips cannot fail. */
static const char *
dat_pss_next(const char *p, const char *end)
{
	const char *why, *at;

	return (dat_pss_skip(p, end, &why, &at));
}

/* The value of key in the object at obj ('{'), or NULL. */
static const char *
dat_pss_get(const char *obj, const char *end, const char *key)
{
	const char	*p, *k, *v;
	size_t		 n = strlen(key);

	if (obj == NULL || *obj != '{')
		return (NULL);
	p = dat_pss_ws(obj + 1, end);
	while (p < end && *p == '"') {
		k = p + 1;
		if ((p = dat_pss_str(p, end)) == NULL)
			return (NULL);
		v = dat_pss_ws(dat_pss_ws(p, end) + 1, end);	/* past ':' */
		if ((size_t)(p - 1 - k) == n && memcmp(k, key, n) == 0)
			return (v);
		if ((p = dat_pss_next(v, end)) == NULL)
			return (NULL);
		p = dat_pss_ws(p, end);
		if (p < end && *p == ',')
			p = dat_pss_ws(p + 1, end);
	}
	return (NULL);
}

/*
 * The elements of the array at *p: call with *p at '[' and i 0, then
 * with what it set; each call gives the next element's start, or NULL
 * after the last.
 */
static const char *
dat_pss_elem(const char **p, const char *end, size_t i)
{
	const char	*q = *p;

	if (q == NULL)
		return (NULL);
	if (i == 0) {
		if (*q != '[')
			return (NULL);
		q = dat_pss_ws(q + 1, end);
	} else {
		if ((q = dat_pss_next(q, end)) == NULL)
			return (NULL);
		q = dat_pss_ws(q, end);
		if (q >= end || *q != ',')
			return (*p = NULL);
		q = dat_pss_ws(q + 1, end);
	}
	if (q >= end || *q == ']')
		return (*p = NULL);
	return (*p = q);
}

/* Does the string at v end with suffix (after the last '.')? */
static int
dat_pss_type(const char *v, const char *end, const char *suffix)
{
	const char	*e, *s;
	size_t		 n = strlen(suffix);

	if (v == NULL || *v != '"' || (e = dat_pss_str(v, end)) == NULL)
		return (0);
	e--;		/* the closing quote */
	for (s = e; s > v + 1 && s[-1] != '.'; s--)
		;
	return ((size_t)(e - s) == n && memcmp(s, suffix, n) == 0);
}

static size_t
dat_pss_line(const struct dat_ctx *ctx, const char *p)
{
	size_t	no = 1;
	const char *q;

	for (q = ctx->text; q < p; q++)
		no += *q == '\n';
	return (no);
}

/* One EIS measurement's spectrum; 0, or -1 (ctx status set). */
static int
dat_pss_spectrum(struct dat_ctx *ctx, const char *vals, const char *end,
    size_t m)
{
	static const char *const units[3] = { "Hertz", "ZRe", "ZIm" };
	const char	*arr[3] = { NULL, NULL, NULL }, *it, *e, *cur[3];
	const char	*v, *num;
	double		 x[3];
	size_t		 i, k, nv = 0, len;

	for (it = vals, i = 0; (e = dat_pss_elem(&it, end, i)) != NULL; i++)
		for (k = 0; k < 3; k++)
			if (arr[k] == NULL && dat_pss_type(dat_pss_get(
			    dat_pss_get(e, end, "Unit"), end, "Type"), end,
			    units[k])) {
				arr[k] = dat_pss_get(e, end, "DataValues");
				if (arr[k] == NULL || *arr[k] != '[')
					return (dat_fail(ctx, DAT_BROKEN,
					    dat_pss_line(ctx, e), "palmsens: "
					    "Measurements[%zu].DataSet.Values"
					    "[%zu]: expected an array "
					    "DataValues", m, i));
			}
	for (k = 0; k < 3; k++)
		if (arr[k] == NULL)
			return (dat_fail(ctx, DAT_BROKEN, dat_pss_line(ctx,
			    vals), "palmsens: Measurements[%zu].DataSet."
			    "Values: expected an array of Unit Type %s, found "
			    "none", m, units[k]));
	for (k = 0; k < 3; k++)
		cur[k] = arr[k];
	for (i = 0;; i++) {
		for (k = 0, nv = 0; k < 3; k++)
			nv += dat_pss_elem(&cur[k], end, i) != NULL;
		if (nv == 0)
			break;
		for (k = 0; k < 3; k++) {
			if (cur[k] == NULL)
				return (dat_fail(ctx, DAT_BROKEN,
				    dat_pss_line(ctx, arr[k]), "palmsens: "
				    "Measurements[%zu]: %zu values of %s, "
				    "more of the others", m, i, units[k]));
			num = dat_pss_get(cur[k], end, "V");
			v = num == NULL ? NULL : dat_pss_scalar(num, end);
			len = v == NULL ? 0 : (size_t)(v - num);
			if (len == 0 || dat_num(num, len, '.', &x[k]) != len ||
			    !isfinite(x[k]))
				return (dat_fail(ctx, DAT_BROKEN,
				    dat_pss_line(ctx, cur[k]), "palmsens: "
				    "Measurements[%zu] %s DataValues[%zu].V: "
				    "expected a number", m, units[k], i));
		}
		if (!(x[0] > 0))
			return (dat_fail(ctx, DAT_BROKEN, dat_pss_line(ctx,
			    cur[0]), "palmsens: Measurements[%zu] Hertz "
			    "DataValues[%zu].V: expected a frequency > 0, "
			    "found %g", m, i, x[0]));
		/* ZIm holds -Z'' (its Unit's "Q" says so) */
		if (dat_push(ctx, x[0], x[1], -x[2], ctx->key, 0) != 0)
			return (-1);
	}
	if (i == 0)
		return (dat_fail(ctx, DAT_BROKEN, dat_pss_line(ctx, arr[0]),
		    "palmsens: Measurements[%zu]: no points", m));
	dat_new_spectrum(ctx);
	return (0);
}

int
dat_pss_probe(const char *t, size_t len)
{
	struct dat_line	l = { t, len, 1 };

	if (dat_starts(&l, "{") && dat_contains(t, len, "PalmSens."))
		return (100);
	if (dat_starts(&l, "{") && dat_contains(t, len, "\"Measurements\""))
		return (60);
	return (0);
}

int
dat_pss_read(struct dat_ctx *ctx)
{
	const char	*end = ctx->text + ctx->len, *top, *at, *why, *bol;
	const char	*ms, *it, *m, *ds, *vals, *ty, *te;
	size_t		 i, eis = 0;

	top = dat_pss_ws(ctx->text, end);
	if (top >= end || *top != '{')
		return (dat_fail(ctx, DAT_BROKEN, 1, "palmsens: expected a "
		    "JSON object"));
	if (dat_pss_skip(top, end, &why, &at) == NULL) {
		for (bol = at; bol > ctx->text && bol[-1] != '\n'; bol--)
			;
		return (dat_fail(ctx, DAT_BROKEN, dat_pss_line(ctx, at),
		    "palmsens: invalid JSON at column %zu: expected %s",
		    (size_t)(at - bol) + 1, why));
	}
	ms = dat_pss_get(top, end, "Measurements");
	if (ms == NULL || *ms != '[')
		return (dat_fail(ctx, DAT_BROKEN, 0, "palmsens: expected an "
		    "array \"Measurements\""));
	for (it = ms, i = 0; (m = dat_pss_elem(&it, end, i)) != NULL; i++) {
		/* a measurement of another technique is skipped: one
		 * without a DataSet, or whose DataSet Type does not name EIS
		 * (PalmSens.Data.DataSetEIS) */
		ds = dat_pss_get(m, end, "DataSet");
		ty = dat_pss_get(ds, end, "Type");
		if (ty == NULL || (te = dat_pss_str(ty, end)) == NULL ||
		    !dat_contains(ty, (size_t)(te - ty), "EIS"))
			continue;
		eis++;
		vals = dat_pss_get(ds, end, "Values");
		if (vals == NULL || *vals != '[')
			return (dat_fail(ctx, DAT_BROKEN, dat_pss_line(ctx, ds),
			    "palmsens: Measurements[%zu].DataSet: expected an "
			    "array Values", i));
		if (dat_pss_spectrum(ctx, vals, end, i) < 0)
			return (-1);
	}
	if (eis == 0)
		return (dat_fail(ctx, DAT_BROKEN, 0, "palmsens: expected an "
		    "EIS measurement (DataSet Type ...DataSetEIS), found none "
		    "in %zu measurements", i));
	return (0);
}
