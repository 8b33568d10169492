/*
 * impcore - jnum_real (src/worker/wrk_jnum.c) against glibc strtod as the
 * oracle: millions of random decimal texts in the JSON grammar (short and
 * long mantissas, exponents up to the overflow and below the subnormal
 * range, printf forms of random doubles) and the edge cases (2^53 and its
 * neighbours, 10^22 and 10^23, halfway points, DBL_MAX and the overflow
 * threshold, subnormals, zeros, 19 and 20 digits): the same bits, and -1
 * exactly when strtod overflows; jnum_int against strtoll; jnum_check on
 * a few valid and invalid forms.  Prints ns per number for both.
 * Runs about 2 seconds (IMPCORE_TEST_SECONDS to change it).
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/wrk_jnum.h"

static long	nfail, nchecked;
#define FUZZ_SEED	0x9e3779b97f4a7c15ull
#include "fuzz.h"

static void
check(const char *s)
{
	size_t n = strlen(s);
	double want, got;
	int rc, kind;

	nchecked++;
	kind = jnum_check(s, n);
	if (kind == 0) {
		if (nfail++ < 20)
			printf("not ok: \"%s\": not a JSON number?\n", s);
		return;
	}
	errno = 0;
	want = strtod(s, NULL);
	rc = jnum_real(s, n, &got);
	if (isinf(want)) {
		if (rc != -1 && nfail++ < 20)
			printf("not ok: \"%s\": strtod overflows, jnum_real %d\n",
			    s, rc);
	} else if (rc != 0 || memcmp(&want, &got, sizeof want) != 0) {
		if (nfail++ < 20)
			printf("not ok: \"%s\": %a, strtod %a (rc %d)\n", s, got,
			    want, rc);
	}
	if (kind == JNUM_REAL && jnum_real_finite(s, n) != !isinf(want) &&
	    nfail++ < 20)
		printf("not ok: \"%s\": jnum_real_finite wrong\n", s);
	if (kind == JNUM_INT) {
		long long ll = 0, w;
		errno = 0;
		w = strtoll(s, NULL, 10);
		rc = jnum_int(s, n, &ll);
		if ((errno == ERANGE) != (rc == -1) || (rc == 0 && ll != w)) {
			if (nfail++ < 20)
				printf("not ok: \"%s\": jnum_int %lld rc %d, "
				    "strtoll %lld\n", s, ll, rc, w);
		}
	}
}

/* A random text in the JSON number grammar. */
static void
random_decimal(char *s)
{
	int ni = (int)(rnd() % 26), nf = (int)(rnd() % 26), i, p = 0;
	uint64_t r = rnd();

	if (r & 1)
		s[p++] = '-';
	if (ni == 0 || (r & 2))
		s[p++] = '0';
	else {
		s[p++] = (char)('1' + rnd() % 9);
		for (i = 1; i < ni; i++)
			s[p++] = (char)('0' + rnd() % 10);
	}
	if (nf > 0 && (r & 4)) {
		s[p++] = '.';
		for (i = 0; i < nf; i++)
			/* runs of 0s and 9s make the near-halfway cases */
			s[p++] = (char)((r & 8) ? ((rnd() & 1) ? '0' : '9') :
			    '0' + rnd() % 10);
	}
	if (r & 16) {
		int range = (r & 32) ? 30 : 700;
		s[p++] = (r & 64) ? 'e' : 'E';
		if (r & 128)
			s[p++] = (r & 256) ? '-' : '+';
		p += sprintf(s + p, "%d", (int)(rnd() % (uint64_t)range));
	}
	s[p] = '\0';
}

static const char *edge[] = {
	"0", "-0", "0.0", "-0.0", "0e0", "0e-400", "-0E+400", "0.000000000000000000000000001",
	"1", "-1", "9007199254740991", "9007199254740992", "9007199254740993",
	"9007199254740994", "9007199254740995", "18014398509481983",
	"9007199254740993e22", "9007199254740992e22", "9007199254740992e-22",
	"9007199254740993e-22", "9007199254740992e23", "1e22", "1e23", "1e-22",
	"1e-23", "123456789e22", "123456789e-22",
	"9999999999999999999", "99999999999999999999", "10000000000000000000",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"-9223372036854775809", "18446744073709551615", "18446744073709551616",
	"1.7976931348623157e308", "1.7976931348623158e308",
	"1.79769313486231580793728971405301e308",
	"1.79769313486231580793728971405302e308",
	"1.7976931348623159e308", "-1.7976931348623159e308", "1e308", "1e309",
	"10e308", "0.1e310", "0.01e310", "1e999", "-1e999", "1e100000000000000",
	"2.2250738585072011e-308", "2.2250738585072012e-308",
	"2.2250738585072014e-308", "4.9406564584124654e-324",
	"2.4703282292062327e-324", "2.4703282292062328e-324", "1e-324",
	"1e-400", "-1e-400", "1e-100000000000000",
	"0.1", "0.2", "0.3", "1.1", "2.675", "1.005", "3.14159265358979323846",
	"0.30000000000000004", "123.456", "1000.0", "100000.0", "1e5",
	"98.48", "-17.36", "7.8539816339744828e-01",
	"2.2204460492503131e-16", "4503599627370496.5", "4503599627370497.5",
	"9007199254740993.0000000000000000000000000000001",
	"1.00000000000000011102230246251565404236316680908203125",
	"1.00000000000000011102230246251565404236316680908203124",
	"1.00000000000000011102230246251565404236316680908203126",
};

static double
ns_per(int strtod_too, char **txt, int n, int reps)
{
	double t0 = now(), sink = 0, d;
	int r, i;

	for (r = 0; r < reps; r++)
		for (i = 0; i < n; i++) {
			if (strtod_too)
				d = strtod(txt[i], NULL);
			else
				jnum_real(txt[i], strlen(txt[i]), &d);
			sink += d;
		}
	if (sink == 42.4242)
		printf("#\n");
	return ((now() - t0) * 1e9 / ((double)n * reps));
}

int
main(void)
{
	const char *bad[] = { "", "-", "01", "-01", "1.", ".5", "1e", "1e+",
	    "+1", "1.e5", "0x10", "1f", "Infinity", "NaN", "--1", "1..2",
	    "1e5.5", " 1", "1 " };
	double secs = 2, t0, tend;
	char s[900], *sample[1000];
	size_t i;
	int k;

	if (getenv("IMPCORE_TEST_SECONDS") != NULL)
		secs = atof(getenv("IMPCORE_TEST_SECONDS"));
	for (i = 0; i < sizeof edge / sizeof edge[0]; i++)
		check(edge[i]);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (jnum_check(bad[i], strlen(bad[i])) != 0 && nfail++ < 20)
			printf("not ok: \"%s\" taken for a number\n", bad[i]);
	/* a 800-digit mantissa, and the same around 2^53 */
	memset(s, '9', 800);
	s[800] = '\0';
	check(s);
	snprintf(s, sizeof s, "9007199254740993.%0790d1", 0);
	check(s);
	t0 = now();
	tend = t0 + secs;
	while (now() < tend)
		for (k = 0; k < 20000; k++) {
			uint64_t bits = rnd();
			double v;
			switch (k % 4) {
			case 0:
			case 1:
				random_decimal(s);
				break;
			case 2:
				/* a random double in a printf form */
				memcpy(&v, &bits, sizeof v);
				if (!isfinite(v))
					v = 1.5;
				snprintf(s, sizeof s, "%.*g", 1 + (int)(rnd() % 17),
				    v);
				break;
			default:
				/* data-like: what clients send */
				v = exp((double)(rnd() % 4000) / 100.0 - 20.0);
				snprintf(s, sizeof s, "%.*g", 6 + (int)(rnd() % 12),
				    (bits & 1) ? -v : v);
				break;
			}
			check(s);
		}
	/* per number, on what tools/impload sends (%.12g of impedances) */
	for (k = 0; k < 1000; k++) {
		snprintf(s, sizeof s, "%.12g", exp((double)(rnd() % 2000) / 100.0 -
		    8.0) * ((k & 1) ? -1 : 1));
		sample[k] = strdup(s);
	}
	printf("# per number (%%.12g texts): jnum_real %.1f ns, strtod %.1f ns\n",
	    ns_per(0, sample, 1000, 200), ns_per(1, sample, 1000, 200));
	for (k = 0; k < 1000; k++)
		free(sample[k]);
	printf("%s: %ld numbers, %ld failures\n", nfail ? "FAIL" : "ok",
	    nchecked, nfail);
	return (nfail ? 1 : 0);
}
