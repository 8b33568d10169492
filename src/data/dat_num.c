/*
 * impcore - dat_num.c: decimal numbers in instrument files.
 *
 * strtod will not do: the bytes are not NUL-terminated, its decimal mark
 * follows the locale, it reads "nan", "inf" and hex, and it is the slow
 * part of a 10 MB file.  We scan [+-]digits[mark digits][(e|E)[+-]digits]
 * ourselves; a mantissa of at most 19 digits that fits 2^53 with a power
 * of ten up to 22 is exact in one multiplication or division (Clinger's
 * fast path: both operands are exact doubles, so the one rounding is the
 * correct one); anything else goes to strtod on a normalised copy, in the
 * C locale's format, which the daemon and impfit never change.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dat_priv.h"

static const double dat_pow10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

#define DAT_NUM_MAXCOPY	400	/* longer numbers are not numbers we read */

/* See dat_priv.h. */
size_t
dat_num(const char *s, size_t len, char dec, double *v)
{
	char		 copy[DAT_NUM_MAXCOPY + 8];
	const char	*p = s, *end = s + len, *ep;
	uint64_t	 m = 0;
	int		 neg = 0, nd = 0, nsig = 0, scale = 0, ex = 0, eneg = 0;
	int		 nexp = 0;
	size_t		 k, n;

	if (p < end && (*p == '-' || *p == '+'))
		neg = (*p++ == '-');
	for (; p < end && *p >= '0' && *p <= '9'; p++, nd++) {
		if (m == 0 && *p == '0')
			continue;	/* leading zeros are not significant */
		if (nsig < 19)
			m = m * 10 + (uint64_t)(*p - '0');
		else
			scale++;
		nsig++;
	}
	if (p < end && *p == dec) {
		p++;
		for (; p < end && *p >= '0' && *p <= '9'; p++, nd++) {
			if (m == 0 && *p == '0') {
				scale--;
				continue;
			}
			if (nsig < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				scale--;
			}
			nsig++;
		}
	}
	if (nd == 0)
		return (0);
	if (p < end && (*p == 'e' || *p == 'E')) {
		ep = p + 1;
		if (ep < end && (*ep == '-' || *ep == '+'))
			eneg = (*ep++ == '-');
		for (; ep < end && *ep >= '0' && *ep <= '9'; ep++, nexp++)
			if (ex < 100000)
				ex = ex * 10 + (*ep - '0');
		if (nexp > 0)
			p = ep;		/* else "5e" is 5 followed by "e" */
		else
			ex = 0, eneg = 0;
	}
	n = (size_t)(p - s);
	ex = eneg ? -ex : ex;
	if (m == 0) {
		*v = neg ? -0.0 : 0.0;
		return (n);
	}
	if (nsig <= 19 && m <= (1ull << 53) && scale + ex >= -22 &&
	    scale + ex <= 22) {
		*v = scale + ex < 0 ? (double)m / dat_pow10[-(scale + ex)] :
		    (double)m * dat_pow10[scale + ex];
		if (neg)
			*v = -*v;
		return (n);
	}
	/* The slow path: strtod on a copy with '.' as the mark. */
	if (n > DAT_NUM_MAXCOPY)
		return (0);
	for (k = 0; k < n; k++)
		copy[k] = s[k] == dec ? '.' : s[k];
	copy[n] = '\0';
	*v = strtod(copy, NULL);
	return (n);
}
