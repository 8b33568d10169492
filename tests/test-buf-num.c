/*
 * impcore - buf_json_num (src/common/buf.c) against the slow exact method
 * it replaces (buf_json_num_slow: %.15g if it reads back, else %.17g): the
 * same bytes for millions of random doubles and for the edge cases (zeros,
 * subnormals, extremes, integers, powers of ten and their neighbours,
 * short decimals), and every output reads back to the same bits.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"

static long	nfail, nchecked;

static void
check(double v)
{
	struct buf f, s;
	double back;

	buf_init(&f);
	buf_init(&s);
	buf_json_num(&f, v);
	buf_json_num_slow(&s, v);
	nchecked++;
	if (strcmp(f.p, s.p) != 0) {
		if (nfail++ < 20)
			printf("not ok: %a: fast \"%s\", slow \"%s\"\n", v, f.p, s.p);
	} else if (isfinite(v)) {
		back = strtod(f.p, NULL);
		if (memcmp(&back, &v, sizeof v) != 0 && nfail++ < 20)
			printf("not ok: %a: \"%s\" reads back as %a\n", v, f.p, back);
	}
	buf_free(&f);
	buf_free(&s);
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
	printf("# per number: fast %.0f ns, slow %.0f ns (fit-like values)\n",
	    nsper(buf_json_num, sample, 1000000),
	    nsper(buf_json_num_slow, sample, 1000000));
	free(sample);

	printf("%s: %ld numbers, %ld failures\n", nfail ? "FAIL" : "ok",
	    nchecked, nfail);
	return (nfail ? 1 : 0);
}
