/*
 * impcore - worker: JSON number text -> value, exactly as jansson gets it.
 *
 * A batch body carries thousands of numbers, and glibc strtod (with its
 * locale lookups) was a visible part of parsing them.  Most are short
 * decimals: with a mantissa of at most 2^53 and a power of ten of at most
 * 22, both exact doubles, one IEEE multiplication or division gives the
 * correctly rounded result (Clinger's fast path).  Everything else goes to
 * strtod_l in the C locale, so every result is the one strtod gives (jansson
 * converts reals with strtod; tests/test-jnum checks the equality).
 */
#ifndef IMP_WRK_JNUM_H
#define IMP_WRK_JNUM_H

#include <stddef.h>

/* jnum_check() results: what jansson makes of the token */
#define JNUM_INT	1	/* no '.', 'e', 'E': a json_integer */
#define JNUM_REAL	2

/* s[0..n) against the RFC 8259 number grammar: JNUM_INT, JNUM_REAL or 0. */
int jnum_check(const char *s, size_t n);
/*
 * s[0..n) a JSON number (checked).  0 and *out as strtod converts it; -1
 * when it overflows to +-inf (jansson refuses it: "real number overflow").
 * Underflow is not an error (0 or a subnormal, as strtod gives).
 */
int jnum_real(const char *s, size_t n, double *out);
/*
 * s[0..n) a JSON number with a '.', 'e' or 'E' (JNUM_REAL): 1 when it
 * converts to a finite double.  Cheap unless it is near the overflow
 * threshold: jansson refuses the whole text otherwise.
 */
int jnum_real_finite(const char *s, size_t n);
/*
 * s[0..n) a JSON integer (JNUM_INT).  0 and *out; -1 outside long long
 * (jansson refuses it: "too big integer").
 */
int jnum_int(const char *s, size_t n, long long *out);

#endif /* IMP_WRK_JNUM_H */
