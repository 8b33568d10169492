/*
 * impcore - growable byte buffer (a small Varnish vsb).
 */
#ifndef IMP_BUF_H
#define IMP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	char	*p;		/* NUL-terminated when len > 0 */
	size_t	len, cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal with quotes and escapes. */
void buf_json_str(struct buf *b, const char *s);
/* A JSON number as Go writes it: the shortest digits that read back
 * exactly, fixed notation for 1e-6 <= |v| < 1e21; null when not finite. */
void buf_json_num(struct buf *b, double v);
/* An integer (buf_printf's %lld without the printf). */
void buf_json_int(struct buf *b, long long v);
/*
 * Writing in place, for loops that append many small pieces: buf_need
 * makes room for n more bytes (and the NUL) at b->p + b->len; the writer
 * then moves b->len and writes the NUL itself.
 */
void buf_need(struct buf *b, size_t n);
/* Copy the string literal lit to o (its length known at compile time);
 * the end. */
#define BUF_LIT_AT(o, lit)	(memcpy((o), (lit), sizeof(lit) - 1), \
				    (o) + sizeof(lit) - 1)
/* "%lld" of v at o (at most BUF_INT_MAX bytes, no NUL); returns its end. */
#define BUF_INT_MAX	20
char *buf_int_at_any(char *o, long long v);	/* the same, out of line */
static inline char *
buf_int_at(char *o, long long v)
{
	/* statuses and counts (most of the X- headers, Content-Length of
	 * small answers) in line: the call, not the digits, was the cost */
	if (v >= 0 && v < 1000) {
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		return (o);
	}
	return (buf_int_at_any(o, v));
}
/* "%0*u" of v at o: width digits (v < 10^width), no NUL; returns the end. */
char *buf_digits_at(char *o, uint32_t v, int width);
/* The longest buf_num_at: -0.000000ddddddddddddddddd, -d.ddd...e-324. */
#define BUF_NUM_MAX	32
/* buf_json_num's text of v at o (at most BUF_NUM_MAX bytes, no NUL);
 * returns its end. */
char *buf_num_at(char *o, double v);
/* Give the memory to the caller (imp_free it); b is reset. */
char *buf_steal(struct buf *b, size_t *len);

#endif /* IMP_BUF_H */
