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

#include "common/buf.h"
#include "common/dtoa.h"
#include "common/mem.h"

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

static void
buf_grow(struct buf *b, size_t n)
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
	buf_grow(b, n);
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
	buf_grow(b, 1);
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
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_json_str(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	const unsigned char *run;

	buf_addc(b, '"');
	while (*u != '\0') {
		run = u;
		while (*u >= 0x20 && *u != '"' && *u != '\\')
			u++;
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
		default:	buf_printf(b, "\\u%04x", *u); break;
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

/* m's decimal digits ("0" for 0), written so that they end at end; returns
 * where they start. */
static char *
utoa_back(char *end, uint64_t m)
{
	while (m >= 100) {
		end -= 2;
		memcpy(end, digits2 + 2 * (m % 100), 2);
		m /= 100;
	}
	if (m >= 10) {
		end -= 2;
		memcpy(end, digits2 + 2 * m, 2);
	} else
		*--end = (char)('0' + m);
	return (end);
}

void
buf_json_int(struct buf *b, long long v)
{
	char dig[24], *d;
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;

	d = utoa_back(dig + sizeof dig, m);
	if (v < 0)
		*--d = '-';
	buf_add(b, d, (size_t)(dig + sizeof dig - d));
}

void
buf_json_num(struct buf *b, double v)
{
	char dig[24], *o, *d;
	uint64_t m;
	int nd, x;

	if (!isfinite(v)) {
		buf_add(b, "null", 4);
		return;
	}
	/* the longest form: -0.000000ddddddddddddddddd, or
	 * -d.dddddddddddddddde-324 */
	buf_grow(b, 32);
	o = b->p + b->len;
	if (signbit(v))
		*o++ = '-';
	if (v == 0) {
		*o++ = '0';
		goto out;
	}
	dtoa_shortest(fabs(v), &m, &x);
	/* the digits, most significant first; x becomes the exponent of
	 * d.ddd (v = d.ddd x 10^x) */
	d = utoa_back(dig + sizeof dig, m);
	nd = (int)(dig + sizeof dig - d);
	x += nd - 1;
	if (x < -6 || x >= 21) {
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = x < 0 ? '-' : '+';
		d = utoa_back(dig + sizeof dig, (uint64_t)(x < 0 ? -x : x));
		nd = (int)(dig + sizeof dig - d);
		memcpy(o, d, (size_t)nd);
		o += nd;
	} else if (x >= nd - 1) {
		/* an integer: ddd000 */
		memcpy(o, d, (size_t)nd);
		memset(o + nd, '0', (size_t)(x + 1 - nd));
		o += x + 1;
	} else if (x >= 0) {
		/* ddd.ddd */
		memcpy(o, d, (size_t)x + 1);
		o += x + 1;
		*o++ = '.';
		memcpy(o, d + x + 1, (size_t)(nd - x - 1));
		o += nd - x - 1;
	} else {
		/* 0.000ddd */
		memcpy(o, "0.00000", (size_t)(1 - x));
		o += 1 - x;
		memcpy(o, d, (size_t)nd);
		o += nd;
	}
out:
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (b->p == NULL)
		buf_grow(b, 0), b->p[0] = '\0';
	p = b->p;
	if (len != NULL)
		*len = b->len;
	buf_init(b);
	return (p);
}
