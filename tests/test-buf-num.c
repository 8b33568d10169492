/*
 * impcore - buf_json_num (src/lib/buf.c, digits from Dragonbox) against
 * libc's exact printf/strtod as the oracle, for millions of random doubles
 * and the edge cases (zeros, subnormals, extremes, integers, powers of ten
 * and their neighbours, short decimals): every output is a JSON number in
 * Go's notation, reads back to the same bits, and is the shortest (and
 * closest) such form; a table of texts Go's encoding/json writes.
 */
#include "config.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"

static long	nfail, nchecked;

static void
bad(double v, const char *out, const char *why)
{
	if (nfail++ < 20)
		printf("not ok: %a (%.17g): \"%s\": %s\n", v, v, out, why);
}

/* The significant digits of a number's text, without leading zeros
 * (integer part and fraction), and the position of 'e' if any. */
static int
sig_digits(const char *s, char *d, size_t dsz)
{
	size_t n = 0;
	int lead = 1;

	for (; *s != '\0' && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = 0;
		if (n + 1 < dsz)
			d[n++] = *s;
	}
	while (n > 1 && d[n - 1] == '0')	/* 1000 has one significant digit */
		n--;
	d[n] = '\0';
	return ((int)n);
}

/* Is s a JSON number (RFC 8259 grammar)? */
static int
json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return (0);
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return (0);
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return (0);
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return (*s == '\0');
}

/*
 * buf_json_num(v) against libc as the oracle: valid JSON, reads back to the
 * same bits, no shorter digit string reads back (the correctly rounded
 * (n-1)-digit form does not), the digits are the correctly rounded n-digit
 * form whenever that reads back (closest), and the notation is Go's: 'e'
 * form exactly when |v| < 1e-6 or |v| >= 1e21.
 */
static void
check(double v)
{
	struct buf f;
	char d[40], r[40], t[48];
	double back;
	int nd;

	buf_init(&f);
	buf_json_num(&f, v);
	nchecked++;
	if (!isfinite(v)) {
		if (strcmp(f.p, "null") != 0)
			bad(v, f.p, "not null");
		goto out;
	}
	if (!json_number(f.p)) {
		bad(v, f.p, "not a JSON number");
		goto out;
	}
	back = strtod(f.p, NULL);
	if (memcmp(&back, &v, sizeof v) != 0) {
		bad(v, f.p, "reads back as another double");
		goto out;
	}
	if ((strchr(f.p, 'e') != NULL) !=
	    (v != 0 && (fabs(v) < 1e-6 || fabs(v) >= 1e21))) {
		bad(v, f.p, "not Go's notation");
		goto out;
	}
	if (v == 0)
		goto out;
	nd = sig_digits(f.p, d, sizeof d);
	if (nd > 1) {
		snprintf(t, sizeof t, "%.*e", nd - 2, v);
		if (strtod(t, NULL) == v) {
			bad(v, f.p, "a shorter form reads back");
			goto out;
		}
	}
	snprintf(t, sizeof t, "%.*e", nd - 1, v);
	if (strtod(t, NULL) == v) {
		sig_digits(t, r, sizeof r);
		if (strcmp(d, r) != 0)
			bad(v, f.p, "not the closest shortest form");
	}
out:
	buf_free(&f);
}

/* what Go's encoding/json writes for these */
static void
check_text(double v, const char *want)
{
	struct buf f;

	buf_init(&f);
	buf_json_num(&f, v);
	nchecked++;
	if (strcmp(f.p, want) != 0) {
		if (nfail++ < 20)
			printf("not ok: %.17g: \"%s\", want \"%s\"\n", v, f.p,
			    want);
	}
	buf_free(&f);
}

/* buf_json_int against printf */
static void
check_int(long long v)
{
	struct buf f;
	char want[32];

	buf_init(&f);
	buf_json_int(&f, v);
	snprintf(want, sizeof want, "%lld", v);
	nchecked++;
	if (strcmp(f.p, want) != 0 && nfail++ < 20)
		printf("not ok: %lld: \"%s\"\n", v, f.p);
	buf_free(&f);
}

/* buf_digits_at against "%0*u" */
static void
check_digits(uint32_t v, int width)
{
	char got[16], want[16];

	*buf_digits_at(got, v, width) = '\0';
	snprintf(want, sizeof want, "%0*u", width, v);
	nchecked++;
	if (strcmp(got, want) != 0 && nfail++ < 20)
		printf("not ok: %u width %d: \"%s\"\n", v, width, got);
}

static void
printf17(struct buf *b, double v)
{
	buf_printf(b, "%.17g", v);
}

/* check v, -v and v's neighbours */
static void
check4(double v)
{
	check(v);
	check(-v);
	check(nextafter(v, INFINITY));
	check(nextafter(v, -INFINITY));
}

static uint64_t	rng = 88172645463325252ull;

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

static double
bits(uint64_t u)
{
	double v;

	memcpy(&v, &u, sizeof v);
	return (v);
}

static double
nsper(void (*fn)(struct buf *, double), const double *v, int n)
{
	struct timespec a, b;
	struct buf o;
	int i;

	buf_init(&o);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		buf_reset(&o);
		fn(&o, v[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	buf_free(&o);
	return (((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / n);
}

/* buf_json_str: escapes, and bytes that are not UTF-8 as U+FFFD each */
static void
check_str(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b);
	buf_json_str(&b, in);
	nchecked++;
	if (strcmp(b.p, want) != 0 && nfail++ < 20)
		printf("not ok: json_str: \"%s\", want \"%s\"\n", b.p, want);
	buf_free(&b);
}

int
main(int argc, char **argv)
{
	static const double edge[] = { 0.0, 1.0, 0.1, 0.2, 0.3, 1000, 1e15,
	    1e16, 1e17, 123456789012345, 1234567890123456, 12345678901234567.0,
	    0.5, 1.5, 2.5, 1e-4, 1e-5, 9.5e-5, 0.000123, 1e21, 1e22, 1e23,
	    DBL_MAX, DBL_MIN, DBL_TRUE_MIN, 5e-324, 1e308, 1.7976931348623157e308,
	    2.2250738585072014e-308, 4.9406564584124654e-324, 9007199254740992.0,
	    9007199254740993.0, 4503599627370496.0, 0.1 + 0.2, 1.0 / 3, 2.0 / 3,
	    M_PI, M_E, 299792458, 6.02214076e23, 1.602176634e-19, 9.999999999999999e22,
	    99999999999999.99, 999999999999999.9, 0.9999999999999999 };
	long n = argc > 1 ? atol(argv[1]) : 1000000, i;
	int e, k;
	double *sample, f;

	check_text(0.0, "0");
	check_text(-0.0, "-0");
	check_text(1, "1");
	check_text(100, "100");
	check_text(-1.5, "-1.5");
	check_text(0.1 + 0.2, "0.30000000000000004");
	check_text(1e-6, "0.000001");
	check_text(1.5e-6, "0.0000015");
	check_text(1e-7, "1e-7");
	check_text(-1.25e-7, "-1.25e-7");
	check_text(1e20, "100000000000000000000");
	check_text(1e21, "1e+21");
	check_text(123456789012345678.0, "123456789012345680");
	check_text(5e-324, "5e-324");
	check_text(DBL_MAX, "1.7976931348623157e+308");
	check_text(1.602176634e-19, "1.602176634e-19");
	check_text(6.02214076e23, "6.02214076e+23");
	check_text(NAN, "null");
	check_int(0);
	for (i = 0; i < 100000; i++) {
		int w = 1 + (int)(xorshift() % 9), j;
		uint32_t lim = 1;

		for (j = 0; j < w; j++)
			lim *= 10;
		check_digits((uint32_t)(xorshift() % lim), w);
	}
	check_digits(0, 9);
	check_digits(999999999, 9);
	check_int(7);
	check_int(-7);
	check_int(99);
	check_int(100);
	check_int(-1234567890123LL);
	check_int(LLONG_MAX);
	check_int(LLONG_MIN);
	/* every value around the small-number fast path */
	for (i = -1100; i <= 1100; i++)
		check_int(i);
	for (i = 0; i < 100000; i++)
		check_int((long long)xorshift() >> (xorshift() % 64));
	check_text(-INFINITY, "null");
	check_str("a\"b\\c\n\r\t\x01", "\"a\\\"b\\\\c\\n\\r\\t\\u0001\"");
	check_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x8d", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x8d\"");
	check_str("/\xd1" "ealth", "\"/\\ufffdealth\"");		/* lone lead byte */
	check_str("\x80\xff", "\"\\ufffd\\ufffd\"");		/* stray bytes */
	check_str("\xc0\x80", "\"\\ufffd\\ufffd\"");		/* overlong NUL */
	check_str("\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong */
	check_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	check_str("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	check_str("\xe2\x82", "\"\\ufffd\\ufffd\"");		/* cut at the end */
	for (i = 0; i < (long)(sizeof edge / sizeof edge[0]); i++)
		check4(edge[i]);
	check(-0.0);
	check(NAN);
	check(INFINITY);
	check(-INFINITY);
	/* powers of ten, 9.99..9 x 10^e and k x 10^e */
	for (e = -323; e <= 308; e++) {
		check4(pow(10, e));
		for (k = 1; k <= 17; k++)
			check4((pow(10, k) - 1) * pow(10, e - k));
		for (k = 1; k < 1000; k += 37)
			check4(k * pow(10, e));
	}
	/* every exponent of 2, and integers */
	for (e = -1074; e <= 1023; e++)
		check4(ldexp(1, e));
	for (i = 0; i < 100000; i++)
		check4((double)i);
	/* short decimals: what a user types or a fit rounds to */
	for (i = 0; i < n / 4; i++) {
		k = (int)(xorshift() % 16) + 1;
		f = (double)(xorshift() % (uint64_t)pow(10, k));
		check(f / pow(10, (int)(xorshift() % 40)));
		check(f * pow(10, (int)(xorshift() % 40) - 20));
	}
	/* random bit patterns (every exponent, subnormals, NaNs), and values
	 * the way fits make them */
	for (i = 0; i < n; i++) {
		check(bits(xorshift()));
		check((double)(xorshift() >> 11) / 9007199254740992.0 *
		    pow(10, (int)(xorshift() % 30) - 15));
	}
	/* subnormals */
	for (i = 0; i < n / 10; i++)
		check(bits(xorshift() & 0x800fffffffffffffull));

	sample = malloc(1000000 * sizeof *sample);
	for (i = 0; i < 1000000; i++)
		sample[i] = (double)(xorshift() >> 11) / 9007199254740992.0 *
		    pow(10, (int)(xorshift() % 12) - 6);
	printf("# per number: buf_json_num %.0f ns, printf %%.17g %.0f ns "
	    "(fit-like values)\n", nsper(buf_json_num, sample, 1000000),
	    nsper(printf17, sample, 1000000));
	free(sample);

	printf("%s: %ld numbers, %ld failures\n", nfail ? "FAIL" : "ok",
	    nchecked, nfail);
	return (nfail ? 1 : 0);
}
