/*
 * impcore - worker: JSON request bodies as a flat token array (see
 * wrk_jtok.h), in one pass over the text that checks it as it cuts it.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "lib/mem.h"
#include "worker/wrk_jnum.h"
#include "worker/wrk_jtok.h"

#define JT_MIN_TOKENS	1024
/* jtok_trim() keeps a token array of up to this many tokens (32 bytes each) */
#define JT_KEEP_TOKENS	(1 << 16)
#define JT_ARENA	4096

/*
 * A value; its members or elements follow it.  Strings: [start, end) is the
 * inside of the quotes.  Numbers are converted while they are checked, so
 * jtok_num() is a load; the rare ones off the fast path (JT_SLOW) are
 * converted again from the text when asked.
 */
#define JT_ESC		1	/* a string holding a backslash (needs unescaping) */
#define JT_SLOW		2	/* a real not converted in the scan */

struct jt_tok {
	int		start, end;
	int		next;		/* index after the subtree (key: after its value) */
	unsigned char	type;		/* enum jt_type */
	unsigned char	flags;
	int		size;		/* members or elements */
	union {
		double		d;
		long long	i;
	} v;
};

/* string arena: blocks of JT_ARENA bytes or more, the first one kept */
struct jt_blk {
	struct jt_blk	*next;
	size_t		cap, used;
	char		b[];
};

struct jtok {
	const char	*text;
	size_t		len;
	struct jt_tok	*tok;
	unsigned	cap;
	int		n;
	struct jt_blk	*blk;		/* strings of this parse, newest first */
	char		*copy;		/* the text without jansson's lost NULs */
};

static struct jt_blk *
blk_new(size_t cap)
{
	struct jt_blk *b = imp_malloc(sizeof *b + cap);

	b->next = NULL;
	b->cap = cap;
	b->used = 0;
	return (b);
}

struct jtok *
jtok_new(void)
{
	struct jtok *jt = imp_calloc(1, sizeof *jt);

	jt->blk = blk_new(JT_ARENA);
	return (jt);
}

static void
arena_reset(struct jtok *jt)
{
	struct jt_blk *b;

	while (jt->blk->next != NULL) {
		b = jt->blk;
		jt->blk = b->next;
		imp_free(b);
	}
	jt->blk->used = 0;
}

static char *
arena_get(struct jtok *jt, size_t n)
{
	struct jt_blk *b = jt->blk;

	if (b->cap - b->used < n) {
		b = blk_new(n > JT_ARENA ? n : JT_ARENA);
		b->next = jt->blk;
		jt->blk = b;
	}
	b->used += n;
	return (b->b + b->used - n);
}

void
jtok_free(struct jtok *jt)
{
	if (jt == NULL)
		return;
	arena_reset(jt);
	imp_free(jt->blk);
	imp_free(jt->copy);
	imp_free(jt->tok);
	imp_free(jt);
}

void
jtok_trim(struct jtok *jt)
{
	arena_reset(jt);
	imp_free(jt->copy);
	jt->copy = NULL;
	if (jt->cap > JT_KEEP_TOKENS) {
		imp_free(jt->tok);
		jt->tok = NULL;
		jt->cap = 0;
		jt->n = 0;
	}
}

int
jtok_count(const struct jtok *jt)
{
	return (jt->n);
}

/*==================================================================
 * Checking the text: jansson's rules (src/load.c and src/utf.c of
 * jansson 2.14)
 */

#define ISWS(c)		((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define ISDIGIT(c)	((c) >= '0' && (c) <= '9')
#define ISXDIGIT(c)	(((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f') || \
			 ((c) >= 'A' && (c) <= 'F'))

static size_t
skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len && ISWS(s[i]))
		i++;
	return (i);
}

static int
hex4(const unsigned char *p)
{
	int i, v = 0;

	for (i = 0; i < 4; i++) {
		int c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v += c - '0';
		else if (c >= 'a' && c <= 'f')
			v += c - 'a' + 10;
		else
			v += c - 'A' + 10;
	}
	return (v);
}

/* Length of the UTF-8 sequence at p[0..n) as jansson accepts it, 0 if bad. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t k, i;
	uint32_t v;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return (0);	/* continuation byte, overlong 0xc0/0xc1, > U+10FFFF */
	k = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (k > n)
		return (0);
	v = p[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
	for (i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (k == 3 && v < 0x800) || (k == 4 && v < 0x10000))
		return (0);	/* (2 bytes cannot be overlong past 0xc1) */
	return (k);
}

/* Bytes a string may hold as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain[256] = {
#define R16(v)	v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
	R16(0), R16(0),
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* '"' */
	R16(1), R16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* '\\' */
	R16(1), R16(1),
	R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
#undef R16
};

/*
 * The escape after a backslash at p[i..n): its length, 0 if jansson
 * refuses it.
 */
static size_t
escape_len(const unsigned char *p, size_t i, size_t n)
{
	int v, v2;

	if (i == n)
		return (0);
	switch (p[i]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
	case 't':
		return (1);
	case 'u':
		break;
	default:
		return (0);
	}
	if (n - i < 5 || !ISXDIGIT(p[i + 1]) || !ISXDIGIT(p[i + 2]) ||
	    !ISXDIGIT(p[i + 3]) || !ISXDIGIT(p[i + 4]))
		return (0);
	v = hex4(p + i + 1);
	if (v == 0)
		return (0);	/* \u0000: no JSON_ALLOW_NUL */
	if (v >= 0xdc00 && v <= 0xdfff)
		return (0);	/* lone low surrogate */
	if (v < 0xd800 || v > 0xdbff)
		return (5);
	if (n - i < 11 || p[i + 5] != '\\' || p[i + 6] != 'u' ||
	    !ISXDIGIT(p[i + 7]) || !ISXDIGIT(p[i + 8]) ||
	    !ISXDIGIT(p[i + 9]) || !ISXDIGIT(p[i + 10]))
		return (0);
	v2 = hex4(p + i + 7);
	return (v2 >= 0xdc00 && v2 <= 0xdfff ? 11 : 0);
}

/*==================================================================
 * The scan: recursive descent, one token per value, checked as it goes
 */

struct jt_scan {
	struct jtok		*jt;
	const unsigned char	*s;
	size_t			len;
	size_t			i;		/* the next byte */
};

/* Room for more tokens; -1 when the text cannot have that many. */
static int __attribute__((noinline))
tok_grow(struct jt_scan *sc)
{
	struct jtok *jt = sc->jt;

	/* a token takes a byte at least: len + 1 are always enough */
	if (jt->cap > sc->len)
		return (-1);
	jt->cap = jt->cap * 2 < sc->len + 1 ? jt->cap * 2 :
	    (unsigned)sc->len + 1;
	jt->tok = imp_realloc(jt->tok, sizeof *jt->tok * jt->cap);
	return (0);
}

/* A new token of type at the current byte; -1 when the text has too many. */
static inline int
tok_add(struct jt_scan *sc, int type)
{
	struct jtok *jt = sc->jt;
	struct jt_tok *k;

	if ((unsigned)jt->n == jt->cap && tok_grow(sc) < 0)
		return (-1);
	k = &jt->tok[jt->n];
	k->start = (int)sc->i;
	k->type = (unsigned char)type;
	k->flags = 0;
	k->size = 0;
	return (jt->n++);
}

/* A string at s[i] == '"'. */
static int
scan_string(struct jt_scan *sc)
{
	const unsigned char *s = sc->s;
	size_t i = sc->i + 1, n = sc->len, k;
	int t, esc = 0;

	for (;;) {
		while (i < n && plain[s[i]])
			i++;
		if (i == n || s[i] < 0x20)
			return (-1);
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			if ((k = escape_len(s, i + 1, n)) == 0)
				return (-1);
			esc = 1;
			i += 1 + k;
		} else {
			if ((k = utf8_len(s + i, n - i)) == 0)
				return (-1);
			i += k;
		}
	}
	sc->i++;
	if ((t = tok_add(sc, JT_STRING)) < 0)
		return (-1);
	sc->jt->tok[t].end = (int)i;
	sc->jt->tok[t].flags = esc ? JT_ESC : 0;
	sc->jt->tok[t].next = t + 1;
	sc->i = i + 1;
	return (t);
}

/* 10^0 .. 10^22: the powers of ten a double holds exactly */
static const double p10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * A number at s[i] ('-' or a digit), checked against RFC 8259 and
 * converted in the same pass.  Integers: within long long (else jansson
 * says "too big integer").  Reals: Clinger's fast path (at most 19
 * significant digits, the mantissa at most 2^53, the power of ten within
 * 10^+-22: one correctly rounded IEEE operation, as in wrk_jnum.c), else
 * marked JT_SLOW and left to jnum_real(), which is strtod's answer; here
 * only their finiteness is checked (jansson: "real number overflow").
 */
static int
scan_number(struct jt_scan *sc)
{
	const unsigned char *s = sc->s;
	size_t i = sc->i, n = sc->len, d0;
	uint64_t m = 0;
	long e10 = 0, x = 0;
	int neg = 0, nd = 0, many = 0, real = 0, eneg = 0, t;
	struct jt_tok *k;

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i == n || !ISDIGIT(s[i]))
		return (-1);
	d0 = i;
	if (s[i] == '0')
		i++;	/* no leading zeros: "0" alone */
	else
		for (; i < n && ISDIGIT(s[i]); i++) {
			if (nd == 19)
				many = 1;
			else {
				m = m * 10 + (uint64_t)(s[i] - '0');
				nd++;
			}
		}
	if (!many && i - d0 > 19)
		many = 1;
	if (i < n && s[i] == '.') {
		real = 1;
		if (++i == n || !ISDIGIT(s[i]))
			return (-1);
		for (; i < n && ISDIGIT(s[i]); i++) {
			if (m == 0 && s[i] == '0')
				e10--;
			else if (nd == 19)
				many = 1;
			else {
				m = m * 10 + (uint64_t)(s[i] - '0');
				nd++;
				e10--;
			}
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		real = 1;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i == n || !ISDIGIT(s[i]))
			return (-1);
		/* beyond 100000 the result is 0 or inf anyway */
		for (; i < n && ISDIGIT(s[i]); i++)
			if (x < 100000)
				x = x * 10 + (s[i] - '0');
		e10 += eneg ? -x : x;
	}
	if ((t = tok_add(sc, real ? JT_REAL : JT_INTEGER)) < 0)
		return (-1);
	k = &sc->jt->tok[t];
	k->end = (int)i;
	k->next = t + 1;
	sc->i = i;
	if (!real) {
		/* no leading zeros: 20 digits or more are past 2^63 */
		if (many || m > (uint64_t)INT64_MAX + (uint64_t)neg)
			return (-1);
		k->v.i = neg && m > 0 ? -(long long)(m - 1) - 1 : (long long)m;
		return (t);
	}
	if (!many && m == 0) {
		k->v.d = neg ? -0.0 : 0.0;
		return (t);
	}
	if (!many && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
		double d = (double)m;
		d = e10 < 0 ? d / p10[-e10] : d * p10[e10];
		k->v.d = neg ? -d : d;
		return (t);
	}
	k->flags = JT_SLOW;
	if (!jnum_real_finite((const char *)s + k->start, i - (size_t)k->start))
		return (-1);
	return (t);
}

static int
scan_literal(struct jt_scan *sc, const char *lit, size_t n, int type)
{
	int t;

	if (sc->len - sc->i < n || memcmp(sc->s + sc->i, lit, n) != 0)
		return (-1);
	if ((t = tok_add(sc, type)) < 0)
		return (-1);
	sc->i += n;
	sc->jt->tok[t].end = (int)sc->i;
	sc->jt->tok[t].next = t + 1;
	return (t);
}

static int scan_value(struct jt_scan *sc, int depth);

/*
 * An object or an array at s[i] ('{' or '['), at nesting depth depth;
 * jansson's order of checks: members are key, ':', value, separated by ','.
 */
static int
scan_container(struct jt_scan *sc, int depth)
{
	const unsigned char *s = sc->s;
	int obj = s[sc->i] == '{', t, key, c = 0;
	unsigned char close = obj ? '}' : ']';

	if ((t = tok_add(sc, obj ? JT_OBJECT : JT_ARRAY)) < 0)
		return (-1);
	sc->i = skip_ws((const char *)s, sc->i + 1, sc->len);
	if (sc->i < sc->len && s[sc->i] == close)
		goto end;
	for (;; c++) {
		if (obj) {
			if (sc->i == sc->len || s[sc->i] != '"' ||
			    (key = scan_string(sc)) < 0)
				return (-1);
			sc->i = skip_ws((const char *)s, sc->i, sc->len);
			if (sc->i == sc->len || s[sc->i] != ':')
				return (-1);
			sc->i = skip_ws((const char *)s, sc->i + 1, sc->len);
			if (scan_value(sc, depth + 1) < 0)
				return (-1);
			sc->jt->tok[key].next = sc->jt->n;
		} else if (scan_value(sc, depth + 1) < 0)
			return (-1);
		sc->i = skip_ws((const char *)s, sc->i, sc->len);
		if (sc->i == sc->len)
			return (-1);
		if (s[sc->i] == close)
			break;
		if (s[sc->i] != ',')
			return (-1);
		sc->i = skip_ws((const char *)s, sc->i + 1, sc->len);
	}
	c++;
end:
	sc->i++;
	sc->jt->tok[t].end = (int)sc->i;
	sc->jt->tok[t].size = c;
	sc->jt->tok[t].next = sc->jt->n;
	return (t);
}

/* A value at s[i] (whitespace skipped); its token, or -1. */
static int
scan_value(struct jt_scan *sc, int depth)
{
	if (sc->i == sc->len || depth > JT_MAX_DEPTH)
		return (-1);
	switch (sc->s[sc->i]) {
	case '{':
	case '[':
		return (scan_container(sc, depth));
	case '"':
		return (scan_string(sc));
	case 't':
		return (scan_literal(sc, "true", 4, JT_TRUE));
	case 'f':
		return (scan_literal(sc, "false", 5, JT_FALSE));
	case 'n':
		return (scan_literal(sc, "null", 4, JT_NULL));
	default:
		return (scan_number(sc));
	}
}

/*
 * A quirk of jansson's lexer: after a number or a literal it puts back the
 * byte that ended it, and a NUL put back is lost (its stream takes a NUL in
 * its buffer for "empty"), so "[1\0, 2]" is valid JSON to json_loadb: the
 * NUL ends the token and is gone.  The scan stops at any NUL.  So each NUL that
 * follows a digit or a letter outside strings becomes a space in a copy:
 * any other NUL makes both refuse the text, and where this guess is not at
 * the end of one of jansson's tokens, jansson has refused the text already.
 */
static void
blank_nuls(char *t, size_t len)
{
	size_t i;
	int instr = 0;
	char c, prev = ' ';

	for (i = 0; i < len; prev = c, i++) {
		c = t[i];
		if (instr) {
			if (c == '\\' && i + 1 < len)
				c = t[++i];	/* (escaped: never a quote) */
			else if (c == '"')
				instr = 0;
		} else if (c == '"')
			instr = 1;
		else if (c == '\0' && ((prev >= '0' && prev <= '9') ||
		    (prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z')))
			t[i] = c = ' ';	/* one NUL only: then prev is no letter */
	}
}

int
jtok_parse(struct jtok *jt, const char *text, size_t len)
{
	struct jt_scan sc;

	jt->n = 0;
	arena_reset(jt);
	imp_free(jt->copy);
	jt->copy = NULL;
	/* tokens keep offsets in ints */
	if (len == 0 || len >= INT_MAX)
		return (-1);
	if (memchr(text, '\0', len) != NULL) {
		jt->copy = imp_malloc(len);
		memcpy(jt->copy, text, len);
		blank_nuls(jt->copy, len);
		text = jt->copy;
	}
	jt->text = text;
	jt->len = len;
	if (jt->cap == 0) {
		jt->cap = JT_MIN_TOKENS;
		jt->tok = imp_malloc(sizeof *jt->tok * jt->cap);
	}
	sc.jt = jt;
	sc.s = (const unsigned char *)text;
	sc.len = len;
	sc.i = skip_ws(text, 0, len);
	/* the root: an object or an array (no JSON_DECODE_ANY) */
	if (sc.i == len || (text[sc.i] != '{' && text[sc.i] != '['))
		goto bad;
	if (scan_container(&sc, 1) != 0 || skip_ws(text, sc.i, len) != len)
		goto bad;
	return (0);
bad:
	jt->n = 0;
	return (-1);
}

/*==================================================================
 * Reading the tokens
 */

enum jt_type
jtok_type(const struct jtok *jt, int t)
{
	return ((enum jt_type)jt->tok[t].type);
}

int
jtok_len(const struct jtok *jt, int t)
{
	return (jt->tok[t].size);
}

int
jtok_first(const struct jtok *jt, int t)
{
	return (jt->tok[t].size > 0 ? t + 1 : -1);
}

int
jtok_next(const struct jtok *jt, int t)
{
	return (jt->tok[t].next);
}

/*
 * Unescape the inside of a checked string p[0..n) into out (n bytes are
 * enough: no escape is shorter than what it stands for); returns the length.
 */
static size_t
unescape(const char *p, size_t n, char *out)
{
	size_t i = 0, o = 0;
	uint32_t v;

	while (i < n) {
		if (p[i] != '\\') {
			out[o++] = p[i++];
			continue;
		}
		i++;
		switch (p[i++]) {
		case 'b':	out[o++] = '\b'; continue;
		case 'f':	out[o++] = '\f'; continue;
		case 'n':	out[o++] = '\n'; continue;
		case 'r':	out[o++] = '\r'; continue;
		case 't':	out[o++] = '\t'; continue;
		case 'u':	break;
		default:	out[o++] = p[i - 1]; continue;
		}
		v = (uint32_t)hex4((const unsigned char *)p + i);
		i += 4;
		if (v >= 0xd800 && v <= 0xdbff) {
			v = ((v - 0xd800) << 10) +
			    ((uint32_t)hex4((const unsigned char *)p + i + 2) - 0xdc00) +
			    0x10000;
			i += 6;
		}
		if (v < 0x80)
			out[o++] = (char)v;
		else if (v < 0x800) {
			out[o++] = (char)(0xc0 | (v >> 6));
			out[o++] = (char)(0x80 | (v & 0x3f));
		} else if (v < 0x10000) {
			out[o++] = (char)(0xe0 | (v >> 12));
			out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (v & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | (v >> 18));
			out[o++] = (char)(0x80 | ((v >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (v & 0x3f));
		}
	}
	return (o);
}

int
jtok_streq(const struct jtok *jt, int t, const char *key)
{
	const struct jt_tok *k = &jt->tok[t];
	const char *raw = jt->text + k->start;
	size_t n = (size_t)(k->end - k->start), kl = strlen(key), ul;
	char buf[256], *u;
	int eq;

	if (!(k->flags & JT_ESC))
		return (n == kl && memcmp(raw, key, n) == 0);
	/* an escape stands for 1 byte at least and takes 6 at most */
	if (n > 6 * kl || n < kl)
		return (0);
	u = n <= sizeof buf ? buf : imp_malloc(n);
	ul = unescape(raw, n, u);
	eq = ul == kl && memcmp(u, key, kl) == 0;
	if (u != buf)
		imp_free(u);
	return (eq);
}

int
jtok_get(const struct jtok *jt, int obj, const char *key)
{
	const struct jt_tok *k;
	size_t kl = strlen(key);
	int i, n, t, v = -1;

	if (jt->tok[obj].type != JT_OBJECT)
		return (-1);
	/* all members: jansson keeps the last of duplicate keys */
	n = jt->tok[obj].size;
	for (i = 0, t = obj + 1; i < n; i++, t = k->next) {
		k = &jt->tok[t];
		if (k->flags & JT_ESC) {
			if (jtok_streq(jt, t, key))
				v = t + 1;
		} else if ((size_t)(k->end - k->start) == kl &&
		    memcmp(jt->text + k->start, key, kl) == 0)
			v = t + 1;
	}
	return (v);
}

const char *
jtok_str(struct jtok *jt, int t)
{
	const struct jt_tok *k = &jt->tok[t];
	size_t n = (size_t)(k->end - k->start);
	char *out = arena_get(jt, n + 1);

	if (k->flags & JT_ESC)
		n = unescape(jt->text + k->start, n, out);
	else
		memcpy(out, jt->text + k->start, n);
	out[n] = '\0';
	return (out);
}

double
jtok_num(const struct jtok *jt, int t)
{
	const struct jt_tok *k = &jt->tok[t];
	double d;

	if (k->type == JT_INTEGER)
		return ((double)k->v.i);
	if (!(k->flags & JT_SLOW))
		return (k->v.d);
	jnum_real(jt->text + k->start, (size_t)(k->end - k->start), &d);
	return (d);
}

long long
jtok_int(const struct jtok *jt, int t)
{
	return (jt->tok[t].v.i);
}
