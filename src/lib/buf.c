/*
 * impcore - growable byte buffer.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/dtoa.h"
#include "lib/mem.h"

void
buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	imp_free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
buf_need(struct buf *b, size_t n)
{
	size_t cap;

	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->p = imp_realloc(b->p, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_need(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_need(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at u (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0.  u is NUL-ended:
 * a NUL is no continuation byte, so nothing past it is read. */
static size_t
utf8_len(const unsigned char *u)
{
	unsigned c = u[0];

	if (c >= 0xc2 && c <= 0xdf)
		return ((u[1] & 0xc0) == 0x80 ? 2 : 0);
	if (c >= 0xe0 && c <= 0xef) {
		if ((u[1] & 0xc0) != 0x80 || (u[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && u[1] < 0xa0) || (c == 0xed && u[1] > 0x9f))
			return (0);
		return (3);
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((u[1] & 0xc0) != 0x80 || (u[2] & 0xc0) != 0x80 ||
		    (u[3] & 0xc0) != 0x80 || (c == 0xf0 && u[1] < 0x90) ||
		    (c == 0xf4 && u[1] > 0x8f))
			return (0);
		return (4);
	}
	return (0);
}

/*
 * s as a JSON string.  Bytes that are not UTF-8 become U+FFFD, one per
 * byte, as Go's encoding/json does: an error message may quote a request
 * path, and raw bytes there made the answer invalid JSON.
 */
void
buf_json_str(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	const unsigned char *run;
	size_t k;

	buf_addc(b, '"');
	while (*u != '\0') {
		run = u;
		for (;;) {
			if (*u >= 0x20 && *u < 0x80 && *u != '"' && *u != '\\')
				u++;
			else if (*u >= 0x80 && (k = utf8_len(u)) > 0)
				u += k;
			else
				break;
		}
		if (u > run)
			buf_add(b, run, (size_t)(u - run));
		if (*u == '\0')
			break;
		switch (*u) {
		case '"':	buf_adds(b, "\\\""); break;
		case '\\':	buf_adds(b, "\\\\"); break;
		case '\n':	buf_adds(b, "\\n"); break;
		case '\r':	buf_adds(b, "\\r"); break;
		case '\t':	buf_adds(b, "\\t"); break;
		default:
			if (*u >= 0x80)
				buf_adds(b, "\\ufffd");
			else
				buf_printf(b, "\\u%04x", *u);
			break;
		}
		u++;
	}
	buf_addc(b, '"');
}

/*
 * Numbers are written as Go's encoding/json (and JavaScript) writes them,
 * so clients of the Go server read the same text: the shortest digits
 * that read back as the same double (dtoa.cc), in fixed notation when
 * 1e-6 <= |v| < 1e21 ("0.000012", "123.45", "100"), else d.ddde-7 /
 * d.ddde+21.  Not finite is null (JSON has no NaN).
 */
static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The 8 decimal digits of v < 10^8, zeros in front, at o. */
static void
utoa8(char *o, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	/* four independent pairs: no chain of divisions */
	memcpy(o, digits2 + 2 * (hi / 100), 2);
	memcpy(o + 2, digits2 + 2 * (hi % 100), 2);
	memcpy(o + 4, digits2 + 2 * (lo / 100), 2);
	memcpy(o + 6, digits2 + 2 * (lo % 100), 2);
}

/*
 * m's decimal digits ("0" for 0), written so that they end at end; returns
 * where they start.  A shortest double has up to 17 digits: they are cut
 * into 8-digit groups with one 64-bit division each, and the groups
 * written with 32-bit arithmetic (cheaper than 64-bit, and the pairs of a
 * group do not wait for each other).
 */
static char *
utoa_back(char *end, uint64_t m)
{
	uint32_t v;

	while (m >= 100000000) {
		end -= 8;
		utoa8(end, (uint32_t)(m % 100000000));
		m /= 100000000;
	}
	v = (uint32_t)m;
	while (v >= 100) {
		end -= 2;
		memcpy(end, digits2 + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, digits2 + 2 * v, 2);
	} else
		*--end = (char)('0' + v);
	return (end);
}

/* The number of decimal digits of m > 0. */
static int
ndigits(uint64_t m)
{
	static const uint64_t p10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
		10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
		100000000000ull, 1000000000000ull, 10000000000000ull,
		100000000000000ull, 1000000000000000ull, 10000000000000000ull,
		100000000000000000ull, 1000000000000000000ull,
		10000000000000000000ull
	};
	/* log10 from log2 (1233 / 4096 ~ log10(2)), then one compare */
	int t = ((64 - __builtin_clzll(m | 1)) * 1233) >> 12;

	return (t + 1 - (m < p10[t]));
}

/* buf_int_at() of the numbers it does not write in line */
char *
buf_int_at_any(char *o, long long v)
{
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
	int n = m == 0 ? 1 : ndigits(m);

	if (v < 0)
		*o++ = '-';
	utoa_back(o + n, m);
	return (o + n);
}

char *
buf_digits_at(char *o, uint32_t v, int width)
{
	char *e = o + width;

	for (o = e; width >= 2; width -= 2) {
		o -= 2;
		memcpy(o, digits2 + v % 100 * 2, 2);
		v /= 100;
	}
	if (width > 0)
		o[-1] = (char)('0' + v % 10);
	return (e);
}

void
buf_json_int(struct buf *b, long long v)
{
	buf_need(b, BUF_INT_MAX);
	b->len = (size_t)(buf_int_at(b->p + b->len, v) - b->p);
	b->p[b->len] = '\0';
}

/*
 * The digits are written straight to where they end up (utoa_back from
 * the end, their count known beforehand) rather than to a scratch buffer
 * and copied: a webhook body holds some 300 numbers, and the copies (libc
 * calls of variable length) cost as much as the digits.  Where a point
 * goes among them, the digits before it are moved one place left.
 */
char *
buf_num_at(char *o, double v)
{
	uint64_t m;
	int i, nd, x, ex;

	if (!isfinite(v)) {
		memcpy(o, "null", 4);
		return (o + 4);
	}
	if (signbit(v))
		*o++ = '-';
	if (v == 0) {
		*o++ = '0';
		return (o);
	}
	dtoa_shortest(fabs(v), &m, &x);
	/* x becomes the exponent of d.ddd (v = d.ddd x 10^x) */
	nd = ndigits(m);
	x += nd - 1;
	if (x < -6 || x >= 21) {
		/* d.ddde-7: all digits one place right, the first moved back */
		utoa_back(o + 1 + nd, m);
		o[0] = o[1];
		if (nd > 1) {
			o[1] = '.';
			o += nd + 1;
		} else
			o++;
		*o++ = 'e';
		*o++ = x < 0 ? '-' : '+';
		ex = x < 0 ? -x : x;
		nd = ndigits((uint64_t)ex);
		utoa_back(o + nd, (uint64_t)ex);
		o += nd;
	} else if (x >= nd - 1) {
		/* an integer: ddd000 */
		utoa_back(o + nd, m);
		memset(o + nd, '0', (size_t)(x + 1 - nd));
		o += x + 1;
	} else if (x >= 0) {
		/* ddd.ddd: the integer part moved back over the point's place */
		utoa_back(o + 1 + nd, m);
		for (i = 0; i <= x; i++)
			o[i] = o[i + 1];
		o[x + 1] = '.';
		o += nd + 1;
	} else {
		/* 0.000ddd */
		*o++ = '0';
		*o++ = '.';
		for (i = x + 1; i < 0; i++)
			*o++ = '0';
		utoa_back(o + nd, m);
		o += nd;
	}
	return (o);
}

void
buf_json_num(struct buf *b, double v)
{
	char *o;

	buf_need(b, BUF_NUM_MAX);
	o = buf_num_at(b->p + b->len, v);
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (b->p == NULL)
		buf_need(b, 0), b->p[0] = '\0';
	p = b->p;
	if (len != NULL)
		*len = b->len;
	buf_init(b);
	return (p);
}
