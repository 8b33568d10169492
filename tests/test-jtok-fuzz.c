/*
 * impcore - the request-body tokenizer (src/worker/wrk_jtok.c) against
 * jansson's json_loadb(text, len, 0), which it replaces on the hot path.
 *
 * Valid batch bodies (as tools/impload and the Go clients send them, with
 * escapes, Unicode, duplicate keys, integers, odd spacing) go through
 * random mutations: byte flips, deletions, insertions of structural
 * characters and whitespace, truncations, bad escapes and surrogates, bad
 * UTF-8, NUL bytes, huge and tiny numbers, deep nesting.  For every text:
 * jtok_parse accepts it exactly when json_loadb does, and for accepted
 * texts the two agree on every value (types, strings byte for byte,
 * numbers bit for bit, object members with the last duplicate winning).
 * Then: ns per batch body for json_loadb and for jtok_parse, each reading
 * all the numbers.
 * Runs about 3 seconds (IMPCORE_TEST_SECONDS to change it), half from a
 * fixed seed and half from a random one it prints (IMPCORE_TEST_SEED
 * replays it).
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker/wrk_jtok.h"

static long	nfail, ntexts, naccepted;
#define FUZZ_SEED	0x243f6a8885a308d3ull
#include "fuzz.h"

static void
show(const char *why, const char *t, size_t len)
{
	fuzz_show(&nfail, why, "text", t, len);
}

/* Does token t hold what jansson's j holds?  NULL ok, else what differs. */
static const char *
same(struct jtok *jt, int t, json_t *j)
{
	int i, n, k, distinct;
	const char *why;
	double a, b;

	switch (jtok_type(jt, t)) {
	case JT_OBJECT:
		if (!json_is_object(j))
			return ("object type");
		n = jtok_len(jt, t);
		distinct = 0;
		for (i = 0, k = jtok_first(jt, t); i < n; i++, k = jtok_next(jt, k)) {
			const char *key = jtok_str(jt, k);
			json_t *jv = json_object_get(j, key);
			if (jv == NULL)
				return ("key missing in jansson");
			if (!jtok_streq(jt, k, key))
				return ("jtok_streq");
			/* only the last of duplicate keys counts */
			if (jtok_get(jt, t, key) != k + 1)
				continue;
			distinct++;
			if ((why = same(jt, k + 1, jv)) != NULL)
				return (why);
		}
		if ((size_t)distinct != json_object_size(j))
			return ("member count");
		return (NULL);
	case JT_ARRAY:
		if (!json_is_array(j) || json_array_size(j) != (size_t)jtok_len(jt, t))
			return ("array type or size");
		n = jtok_len(jt, t);
		for (i = 0, k = jtok_first(jt, t); i < n; i++, k = jtok_next(jt, k))
			if ((why = same(jt, k, json_array_get(j, (size_t)i))) != NULL)
				return (why);
		return (NULL);
	case JT_STRING: {
		const char *s = jtok_str(jt, t);
		if (!json_is_string(j) || strlen(s) != json_string_length(j) ||
		    memcmp(s, json_string_value(j), strlen(s)) != 0)
			return ("string");
		return (NULL);
	}
	case JT_INTEGER:
		if (!json_is_integer(j) || jtok_int(jt, t) != json_integer_value(j))
			return ("integer");
		/* FALLTHROUGH */
	case JT_REAL:
		if (!json_is_number(j) || (json_is_integer(j) &&
		    jtok_type(jt, t) == JT_REAL))
			return ("number type");
		a = jtok_num(jt, t);
		b = json_number_value(j);
		if (memcmp(&a, &b, sizeof a) != 0)
			return ("number value");
		return (NULL);
	case JT_TRUE:
		return (json_is_true(j) ? NULL : "true");
	case JT_FALSE:
		return (json_is_false(j) ? NULL : "false");
	case JT_NULL:
		return (json_is_null(j) ? NULL : "null");
	}
	return ("token type");
}

static void
compare(struct jtok *jt, const char *t, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(t, len, 0, &je);
	int mine = jtok_parse(jt, t, len) == 0;
	const char *why;
	char msg[300];

	ntexts++;
	if (mine != (j != NULL)) {
		snprintf(msg, sizeof msg, "jtok %s, jansson %s%s", mine ?
		    "accepts" : "refuses", j != NULL ? "accepts" : "refuses: ",
		    j != NULL ? "" : je.text);
		show(msg, t, len);
	} else if (mine) {
		naccepted++;
		if ((why = same(jt, 0, j)) != NULL) {
			snprintf(msg, sizeof msg, "values differ: %s", why);
			show(msg, t, len);
		}
	}
	json_decref(j);
	jtok_trim(jt);
}

/*==================================================================
 * Valid bodies
 */

struct text {
	char	*p;
	size_t	len, cap;
};

static void
put(struct text *x, const char *s, size_t n)
{
	if (x->len + n + 1 > x->cap) {
		x->cap = (x->len + n + 1) * 2;
		x->p = realloc(x->p, x->cap);
	}
	memcpy(x->p + x->len, s, n);
	x->len += n;
	x->p[x->len] = '\0';
}

static void
puts_(struct text *x, const char *s)
{
	put(x, s, strlen(s));
}

/* tools/impload's batch: 12 spectra x 23 points, %.12g, compact. */
static char *
impload_body(int nspec, int npts, int flags)
{
	json_t *root = json_object(), *arr = json_array();
	char *s;
	int i, k;

	for (i = 0; i < nspec; i++) {
		json_t *f = json_array(), *m = json_array(), *p = json_array();
		json_t *z = json_array(), *data, *spec;
		double r1 = 100.0 * (1.0 + 0.01 * i);

		for (k = 0; k < npts; k++) {
			double fr = pow(10.0, 5.0 - 6.0 * k / (npts - 1));
			double w = 2.0 * M_PI * fr, a = w * r1 * 1e-5;
			double re = 10.0 + r1 / (1.0 + a * a);
			double im = -r1 * a / (1.0 + a * a);

			json_array_append_new(f, json_real(fr));
			json_array_append_new(m, json_real(hypot(re, im)));
			json_array_append_new(p, json_real(atan2(im, re) * 180.0 / M_PI));
			json_array_append_new(z, json_pack("{s:f,s:f}", "real", re,
			    "imag", im));
		}
		data = json_pack("{s:s,s:o,s:o,s:o,s:o}",
		    "timestamp", "2025-01-01T12:00:00Z", "frequencies", f,
		    "magnitude", m, "phase", p, "impedance", z);
		spec = json_pack("{s:i,s:o}", "iteration", i, "impedance_data", data);
		json_array_append_new(arr, spec);
	}
	json_object_set_new(root, "batch_id", json_string("csv-batch-1755808031"));
	json_object_set_new(root, "timestamp", json_string("2025-01-01T12:00:00Z"));
	json_object_set_new(root, "spectra", arr);
	s = json_dumps(root, flags);
	json_decref(root);
	return (s);
}

/* Hand-written bodies for what jansson's encoder never writes. */
static const char *handmade[] = {
	"{\"batch_id\":\"b\\u0041\\n\\t\\\"\\\\\\/\\b\\f\\r\",\"circuit\":\"R(RC)\","
	    "\"circ\\u0075it\":\"R(QR)\",\"spectra\":[{\"iteration\":3,"
	    "\"impedance_data\":{\"frequencies\":[1000,100,10,1.5e0,-0,0.1E-1],"
	    "\"impedance\":[[1,2],{\"real\":1,\"imag\":-2,\"real\":3},"
	    "{\"imag\":0,\"real\":-0.0}],\"x\":{\"y\":[true,false,null,{}],"
	    "\"\\ud83d\\ude00\\u00e9\\u20ac\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}}}]}",
	" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } , \"c\" : [ ] , \"d\" : \"\" } \n",
	"[1, -1, 0, 9223372036854775807, -9223372036854775808, 1e308, -1e-400, "
	    "4.9e-324, 1.7976931348623157e308, 0.30000000000000004, 1E+2, 1e-2]",
	"{\"spectra\":[{\"frequencies\":[1,2,3],\"magnitude\":[1,2,3],"
	    "\"phase\":[0,-45,-90],\"impedance\":[],\"weighting\":\"unity\","
	    "\"initial_values\":[1,2,3],\"max_iterations\":500}],"
	    "\"spectra\":[{\"frequencies\":[5]}]}",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	"{\"\":\"\",\"\\u0000x\":1}",
	"{\"k\":\"\\ud800\\udc00\\udbff\\udfff\\u0001\\u007f\\u0080\\u07ff\\u0800\\uffff\"}",
};

/* Replacement snippets: structure, escapes, UTF-8, numbers. */
static const char *snippets[] = {
	"{", "}", "[", "]", ",", ":", "\"", "\\", " ", "\n", "\t", "\r", "\f",
	"\v", "\x01", "\x1f", "\x7f", "{}", "[]", ",,", "::", "\"\"", "\"a\":",
	"\\u", "\\u12", "\\u123g", "\\ud800", "\\udc00", "\\ud800\\u0041",
	"\\ud800\\udc00", "\\u0000", "\\x", "\\'", "\\U0041", "\\0", "\\\"",
	"\xc0\x80", "\xc1\xbf", "\xc2\x80", "\xdf\xbf", "\xe0\x80\x80",
	"\xe0\xa0\x80", "\xed\xa0\x80", "\xed\x9f\xbf", "\xef\xbf\xbf",
	"\xf0\x80\x80\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80", "\xbf",
	"\xe2\x82", "\xe2", "\xf0\x9f\x98", "\0", "true", "false", "null",
	"tru", "nul", "True", "NaN", "Infinity", "-Infinity", "nan", "inf",
	"1e999", "-1e999", "1e308", "1.7976931348623159e308",
	"1.7976931348623158e308", "1e-999", "4.9e-325", "2.4703282292062328e-324",
	"123456789012345678901234567890", "9223372036854775807",
	"9223372036854775808", "-9223372036854775808", "-9223372036854775809",
	"99999999999999999999", "0.1e-99999999999999999999", "1e+", "1e", "1.",
	".5", "-", "--1", "+1", "01", "00", "-01", "0x1F", "1.5e3.2", "1e5e5",
	"0.000000000000000000000000000000000000001234567890123456789",
	"9007199254740993", "9007199254740993.0", "1.00000000000000011102230246251565404236316680908203125",
	"-0", "-0.0", "0e0", "1E2", "1e-2", "/", "'", "a", "\xef\xbb\xbf",
};

static void
mutate(struct text *out, const char *src, size_t len)
{
	int nmut = 1 + (int)(rnd() % 3), m;
	size_t k, n;

	out->len = 0;
	put(out, src, len);
	for (m = 0; m < nmut && out->len > 0; m++) {
		char *t = out->p;
		k = (size_t)(rnd() % out->len);
		switch (rnd() % 8) {
		case 0:		/* flip a byte to anything */
			t[k] = (char)(rnd() % 256);
			break;
		case 1:		/* flip a bit */
			t[k] ^= (char)(1 << (rnd() % 8));
			break;
		case 2:		/* delete 1 to 20 bytes */
			n = 1 + (size_t)(rnd() % 20);
			if (n > out->len - k)
				n = out->len - k;
			memmove(t + k, t + k + n, out->len - k - n);
			out->len -= n;
			break;
		case 3:		/* truncate */
			out->len = k;
			break;
		case 4:		/* replace a number-looking run with a snippet */
		case 5:		/* insert a snippet */
		default: {
			const char *sn = snippets[rnd() % (sizeof snippets /
			    sizeof snippets[0])];
			size_t sl = *sn == '\0' ? 1 : strlen(sn), del = 0;
			struct text tmp = { NULL, 0, 0 };
			if (rnd() % 3 == 0) {
				/* in place of the token at k */
				while (k + del < out->len &&
				    strchr(",:]}\" \n", t[k + del]) == NULL)
					del++;
			}
			put(&tmp, t, k);
			put(&tmp, sn, sl);
			put(&tmp, t + k + del, out->len - k - del);
			free(out->p);
			*out = tmp;
			break;
		}
		}
	}
}

/* Nesting around the depth limit: both refuse past 2048 values deep. */
static void
depth_cases(struct jtok *jt)
{
	static const int d[] = { 2046, 2047, 2048, 2049, 2050, 5000, 100000 };
	struct text x = { NULL, 0, 0 };
	size_t i;
	int k, close;

	for (i = 0; i < sizeof d / sizeof d[0]; i++)
		for (close = 0; close < 3; close++) {
			x.len = 0;
			for (k = 0; k < d[i]; k++)
				puts_(&x, (k & 1) && close == 2 ? "{\"a\":" : "[");
			if (close == 1)
				puts_(&x, "1");
			for (k = d[i] - 1; k >= 0 && close > 0; k--)
				puts_(&x, (k & 1) && close == 2 ? "}" : "]");
			compare(jt, x.p, x.len);
			x.len = 0;
			for (k = 0; k < d[i]; k++)
				puts_(&x, "[");
			for (k = 0; k < d[i]; k++)
				puts_(&x, "]");
			compare(jt, x.p, x.len);
		}
	free(x.p);
}

/* ns per body: parse and read every number, with jansson and with jtok. */
static double
walk_jansson(json_t *j)
{
	double sum = 0;
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_number(j))
		return (json_number_value(j));
	if (json_is_array(j))
		json_array_foreach(j, i, v)
			sum += walk_jansson(v);
	else if (json_is_object(j))
		json_object_foreach(j, k, v)
			sum += walk_jansson(v);
	return (sum);
}

static double
walk_jtok(struct jtok *jt, int t)
{
	double sum = 0;
	int i, n = jtok_len(jt, t), k;

	switch (jtok_type(jt, t)) {
	case JT_INTEGER:
	case JT_REAL:
		return (jtok_num(jt, t));
	case JT_ARRAY:
		for (i = 0, k = jtok_first(jt, t); i < n; i++, k = jtok_next(jt, k))
			sum += walk_jtok(jt, k);
		break;
	case JT_OBJECT:
		for (i = 0, k = jtok_first(jt, t); i < n; i++, k = jtok_next(jt, k))
			sum += walk_jtok(jt, k + 1);
		break;
	default:
		break;
	}
	return (sum);
}

static void
timing(struct jtok *jt, const char *body)
{
	size_t len = strlen(body);
	double t0, tj, tt, sum = 0;
	int r, reps = 0;

	t0 = now();
	while (now() - t0 < 0.4)
		for (r = 0; r < 20; r++, reps++) {
			json_t *j = json_loadb(body, len, 0, NULL);
			sum += walk_jansson(j);
			json_decref(j);
		}
	tj = (now() - t0) / reps;
	t0 = now();
	reps = 0;
	while (now() - t0 < 0.4)
		for (r = 0; r < 20; r++, reps++) {
			if (jtok_parse(jt, body, len) < 0)
				abort();
			sum += walk_jtok(jt, 0);
		}
	tt = (now() - t0) / reps;
	printf("# batch body of %zu bytes (impload's 12 x 23): json_loadb %.0f ns, "
	    "jtok_parse %.0f ns (%.1fx)%s\n", len, tj * 1e9, tt * 1e9, tj / tt,
	    sum == 4242.4242 ? " " : "");
}

int
main(void)
{
	double secs = 3, tend;
	struct jtok *jt = jtok_new();
	struct text x = { NULL, 0, 0 };
	const char *seeds[16];
	char *own[8];
	int nseeds = 0, i, round;
	size_t k;

	if (getenv("IMPCORE_TEST_SECONDS") != NULL)
		secs = atof(getenv("IMPCORE_TEST_SECONDS"));
	printf("# fixed seed %#llx\n", (unsigned long long)rng);
	own[0] = impload_body(12, 23, JSON_COMPACT | JSON_REAL_PRECISION(12));
	own[1] = impload_body(2, 5, JSON_INDENT(2));
	own[2] = impload_body(1, 4, JSON_COMPACT | JSON_ENSURE_ASCII);
	own[3] = impload_body(3, 3, 0);
	for (i = 0; i < 4; i++)
		seeds[nseeds++] = own[i];
	for (k = 0; k < sizeof handmade / sizeof handmade[0]; k++)
		seeds[nseeds++] = handmade[k];

	/* the seeds themselves (all valid but the \u0000 key), then mutations */
	for (i = 0; i < nseeds; i++)
		compare(jt, seeds[i], strlen(seeds[i]));
	for (k = 0; k < sizeof snippets / sizeof snippets[0]; k++) {
		x.len = 0;
		puts_(&x, "[");
		puts_(&x, snippets[k]);
		puts_(&x, "]");
		compare(jt, x.p, x.len);
		x.len = 0;
		puts_(&x, "{\"k\":\"");
		puts_(&x, snippets[k]);
		puts_(&x, "\"}");
		compare(jt, x.p, x.len);
	}
	compare(jt, "", 0);
	compare(jt, "   ", 3);
	compare(jt, "{}", 2);
	compare(jt, "{} ", 3);
	compare(jt, "{}{}", 4);
	compare(jt, "{}\0", 3);
	compare(jt, "\"x\"", 3);
	compare(jt, "1", 1);
	depth_cases(jt);
	/*
	 * Half the time from the fixed seed (the same texts on every run),
	 * half from a new one, printed: IMPCORE_TEST_SEED replays that half.
	 */
	for (round = 0; round < 2; round++) {
		if (round == 1) {
			if (getenv("IMPCORE_TEST_SEED") != NULL)
				rng = strtoull(getenv("IMPCORE_TEST_SEED"), NULL, 0);
			else
				rng = ((uint64_t)time(NULL) << 20) ^
				    (uint64_t)getpid() ^ (uint64_t)(now() * 1e9);
			if (rng == 0)
				rng = 1;	/* xorshift's one fixed point */
			printf("# random seed %#llx (IMPCORE_TEST_SEED=%#llx "
			    "replays it)\n", (unsigned long long)rng,
			    (unsigned long long)rng);
		}
		tend = now() + secs / 2;
		while (now() < tend && nfail < 10)
			for (i = 0; i < 200; i++) {
				const char *s = seeds[rnd() % (uint64_t)nseeds];
				/* small bodies more often: more mutations a second */
				if (s == own[0] && rnd() % 4 != 0)
					s = own[1 + rnd() % 3];
				mutate(&x, s, strlen(s));
				compare(jt, x.p, x.len);
			}
	}
	timing(jt, own[0]);
	printf("%s: %ld texts (%ld valid), %ld failures\n", nfail ? "FAIL" : "ok",
	    ntexts, naccepted, nfail);
	for (i = 0; i < 4; i++)
		free(own[i]);
	free(x.p);
	jtok_free(jt);
	return (nfail ? 1 : 0);
}
