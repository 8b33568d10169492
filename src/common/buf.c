/*
 * impcore - growable byte buffer.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
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
	buf_add(b, &c, 1);
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
void
buf_json_num(struct buf *b, double v)
{
	char dig[24], out[48], *o = out, *d;
	uint64_t m;
	int nd, x, i;

	if (!isfinite(v)) {
		buf_add(b, "null", 4);
		return;
	}
	if (signbit(v))
		*o++ = '-';
	if (v == 0) {
		*o++ = '0';
		buf_add(b, out, (size_t)(o - out));
		return;
	}
	dtoa_shortest(fabs(v), &m, &x);
	/* the digits, most significant first; x becomes the exponent of
	 * d.ddd (v = d.ddd x 10^x) */
	d = dig + sizeof dig;
	do
		*--d = (char)('0' + m % 10);
	while ((m /= 10) != 0);
	nd = (int)(dig + sizeof dig - d);
	x += nd - 1;
	if (x < -6 || x >= 21) {
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		o += snprintf(o, sizeof out - (size_t)(o - out), "e%c%d",
		    x < 0 ? '-' : '+', x < 0 ? -x : x);
	} else if (x >= 0) {
		/* ddd[.ddd] or ddd000 */
		for (i = 0; i <= x || i < nd; i++) {
			if (i == x + 1)
				*o++ = '.';
			*o++ = i < nd ? d[i] : '0';
		}
	} else {
		/* 0.000ddd */
		*o++ = '0';
		*o++ = '.';
		for (i = -1; i > x; i--)
			*o++ = '0';
		memcpy(o, d, (size_t)nd);
		o += nd;
	}
	buf_add(b, out, (size_t)(o - out));
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
