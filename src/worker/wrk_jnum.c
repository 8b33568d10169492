/*
 * impcore - worker: JSON number text -> value (see wrk_jnum.h).
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "worker/wrk_jnum.h"

#define ISDIGIT(c)	((c) >= '0' && (c) <= '9')

int
jnum_check(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	int kind = JNUM_INT;

	if (p < end && *p == '-')
		p++;
	if (p == end || !ISDIGIT(*p))
		return (0);
	/* no leading zeros: "0" alone, or a digit 1-9 and more digits */
	if (*p++ != '0')
		while (p < end && ISDIGIT(*p))
			p++;
	if (p < end && *p == '.') {
		kind = JNUM_REAL;
		if (++p == end || !ISDIGIT(*p))
			return (0);
		while (p < end && ISDIGIT(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		kind = JNUM_REAL;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !ISDIGIT(*p))
			return (0);
		while (p < end && ISDIGIT(*p))
			p++;
	}
	return (p == end ? kind : 0);
}

/* 10^0 .. 10^22: the powers of ten a double holds exactly */
static const double p10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static double
slow(const char *s, size_t n)
{
	static locale_t c_locale;
	char buf[128], *copy = buf;
	double d;

	/*
	 * strtod_l in the C locale: the result does not depend on a locale
	 * someone might set (jansson swaps '.' for the locale's decimal point
	 * before strtod, which comes to the same).
	 */
	if (c_locale == (locale_t)0)
		c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (n >= sizeof buf)
		copy = imp_malloc(n + 1);
	memcpy(copy, s, n);
	copy[n] = '\0';
	d = strtod_l(copy, NULL, c_locale);
	if (copy != buf)
		imp_free(copy);
	return (d);
}

int
jnum_real(const char *s, size_t n, double *out)
{
	const char *p = s, *end = s + n;
	uint64_t m = 0;
	int neg = 0, nd = 0, many = 0;
	long e10 = 0, x = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	/* at most 19 significant digits fit a uint64_t exactly */
	for (; p < end && ISDIGIT(*p); p++) {
		if (m == 0 && *p == '0')
			continue;
		if (nd == 19) {
			many = 1;
			break;
		}
		m = m * 10 + (uint64_t)(*p - '0');
		nd++;
	}
	if (!many && p < end && *p == '.')
		for (p++; p < end && ISDIGIT(*p); p++) {
			if (m == 0 && *p == '0') {
				e10--;
				continue;
			}
			if (nd == 19) {
				many = 1;
				break;
			}
			m = m * 10 + (uint64_t)(*p - '0');
			nd++;
			e10--;
		}
	if (!many) {
		if (p < end && (*p == 'e' || *p == 'E')) {
			int eneg = 0;
			if (++p < end && (*p == '+' || *p == '-'))
				eneg = *p++ == '-';
			/* beyond 100000 the result is 0 or inf anyway */
			for (; p < end && ISDIGIT(*p); p++)
				if (x < 100000)
					x = x * 10 + (*p - '0');
			e10 += eneg ? -x : x;
		}
		if (m == 0) {
			*out = neg ? -0.0 : 0.0;
			return (0);
		}
		if (m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
			double d = (double)m;
			d = e10 < 0 ? d / p10[-e10] : d * p10[e10];
			*out = neg ? -d : d;
			return (0);
		}
	}
	*out = slow(s, n);
	return (isinf(*out) ? -1 : 0);
}

int
jnum_real_finite(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	long digits = 0, x = 0;
	int eneg = 0;
	double d;

	/* below 10^(integer digits + exponent) <= 10^308 < DBL_MAX: finite */
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	for (; p < end && ISDIGIT(*p); p++)
		digits++;
	while (p < end && *p != 'e' && *p != 'E')
		p++;
	if (p < end) {
		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		for (; p < end && ISDIGIT(*p); p++)
			if (x < 100000)
				x = x * 10 + (*p - '0');
	}
	if (digits + (eneg ? -x : x) <= 308)
		return (1);
	return (jnum_real(s, n, &d) == 0);
}

int
jnum_int(const char *s, size_t n, long long *out)
{
	const char *p = s, *end = s + n;
	uint64_t v = 0;
	int neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	/* no leading zeros (checked), so more than 19 digits overflow */
	if (end - p > 19)
		return (-1);
	for (; p < end; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
		return (-1);
	*out = neg && v > 0 ? -(long long)(v - 1) - 1 : (long long)v;
	return (0);
}
