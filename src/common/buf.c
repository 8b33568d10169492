/*
 * impcore - growable byte buffer.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
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

/* Write x as printf's %02d does (-308..308); return the end. */
static char *
buf_num_exp(char *o, int x)
{
	if (x < 0) {
		*o++ = '-';
		x = -x;
	}
	if (x >= 100)
		*o++ = (char)('0' + x / 100);
	*o++ = (char)('0' + x / 10 % 10);
	*o++ = (char)('0' + x % 10);
	return (o);
}

/* Does [-]c[0].c[1..14]e<x> read back as v? */
static int
buf_num_reads_back(int neg, const char *c, int x, double v)
{
	char t[40], *o = t;

	if (neg)
		*o++ = '-';
	*o++ = c[0];
	*o++ = '.';
	memcpy(o, c + 1, 14);
	o += 14;
	*o++ = 'e';
	o = buf_num_exp(o, x);
	*o = '\0';
	return (strtod(t, NULL) == v);
}

/*
 * Write the digits d[0..nd-1] (d[0] != 0 unless the value is 0), decimal
 * exponent x, as printf's "%.<p>g" would: fixed notation when -4 <= x < p,
 * else d.ddde+XX; trailing zeros dropped.
 */
static void
buf_json_g(struct buf *b, int neg, char *d, int nd, int x, int p)
{
	char out[48], *o = out;
	int i;

	while (nd > 1 && d[nd - 1] == '0')
		nd--;
	if (neg)
		*o++ = '-';
	if (x < -4 || x >= p) {
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		if (x >= 0)
			*o++ = '+';
		o = buf_num_exp(o, x);
	} else if (x >= 0) {
		for (i = 0; i <= x; i++)
			*o++ = i < nd ? d[i] : '0';
		if (nd > x + 1) {
			*o++ = '.';
			memcpy(o, d + x + 1, (size_t)(nd - x - 1));
			o += nd - x - 1;
		}
	} else {
		*o++ = '0';
		*o++ = '.';
		for (i = -1; i > x; i--)
			*o++ = '0';
		memcpy(o, d, (size_t)nd);
		o += nd;
	}
	buf_add(b, out, (size_t)(o - out));
}

/*
 * The slow exact form, kept for subnormals (whose precision is too low for
 * the shortcut of buf_json_num) and as the reference of tests/test-buf-num.c.
 */
void
buf_json_num_slow(struct buf *b, double v)
{
	char tmp[40];
	int n;

	if (!isfinite(v)) {
		buf_add(b, "null", 4);
		return;
	}
	/* shortest of %.15g/%.17g that reads back exactly */
	n = snprintf(tmp, sizeof tmp, "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof tmp, "%.17g", v);
	buf_add(b, tmp, (size_t)n);
}

/*
 * Same output as buf_json_num_slow (%.15g if that reads back exactly, else
 * %.17g), with one printf instead of two and a strtod only when %.15g can
 * read back.  Why the test below is enough: if a 15-digit D reads back as
 * v, |D - v| <= ulp(v)/2 <= 2^-53 |v| < 11.1 units of the 17th digit, so
 * the 17 digits of v end in 00..11 or 89..99 (D rounded up); any other
 * ending means %.17g.  That cuts ~80% of the strtod calls on fitted values.
 */
void
buf_json_num(struct buf *b, double v)
{
	char tmp[40], d[17];
	int i, x, tail, neg;

	if (!isfinite(v)) {
		buf_add(b, "null", 4);
		return;
	}
	if (v != 0 && fabs(v) < DBL_MIN) {
		buf_json_num_slow(b, v);
		return;
	}
	/* "[-]d.dddddddddddddddde[+-]XX": 17 significant digits */
	snprintf(tmp, sizeof tmp, "%.16e", v);
	neg = tmp[0] == '-';
	d[0] = tmp[neg];
	memcpy(d + 1, tmp + neg + 2, 16);
	x = atoi(tmp + neg + 19);
	tail = (d[15] - '0') * 10 + (d[16] - '0');
	if (tail <= 11 || tail >= 89) {
		char c[16];
		int cx = x;

		/* D: the 17 digits rounded to 15 (no tie: tail is not 50) */
		memcpy(c, d, 15);
		c[15] = '\0';
		if (tail >= 50) {
			for (i = 14; i >= 0 && c[i] == '9'; i--)
				c[i] = '0';
			if (i >= 0)
				c[i]++;
			else {
				c[0] = '1';
				cx++;
			}
		}
		if (tail == 0 || buf_num_reads_back(neg, c, cx, v)) {
			buf_json_g(b, neg, c, 15, cx, 15);
			return;
		}
	}
	buf_json_g(b, neg, d, 17, x, 17);
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
