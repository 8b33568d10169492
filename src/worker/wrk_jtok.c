/*
 * impcore - worker: JSON request bodies as a flat token array (see
 * wrk_jtok.h).  The only file that includes jsmn.h.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/*
 * Strict: primitives only start with - 0-9 t f n and may not be keys.
 * Parent links: closing brackets and commas find their container in
 * O(depth) instead of scanning back over all the tokens so far.
 */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "common/mem.h"
#include "worker/wrk_jnum.h"
#include "worker/wrk_jtok.h"

#define JT_MIN_TOKENS	1024
/* jtok_trim() keeps a token array of up to this many tokens (20 bytes each) */
#define JT_KEEP_TOKENS	(1 << 16)
#define JT_ARENA	4096

/*
 * Once checked, a token's jsmn fields that are no longer needed carry what
 * the accessors need:
 *   parent  the index after the token's subtree (for a key: after its value)
 *   size    primitives: their enum jt_type; strings: 1 when they hold a
 *           backslash (need unescaping); objects and arrays: unchanged
 */
#define NEXT(k)		((k)->parent)
#define KIND(k)		((k)->size)
#define ESCAPED(k)	((k)->size)

/* string arena: blocks of JT_ARENA bytes or more, the first one kept */
struct jt_blk {
	struct jt_blk	*next;
	size_t		cap, used;
	char		b[];
};

struct jtok {
	const char	*text;
	size_t		len;
	jsmntok_t	*tok;
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

/*
 * The inside of a string, p[0..n) between the quotes: 1 valid with
 * backslashes, 0 valid without, -1 invalid.
 */
static int
check_string(const unsigned char *p, size_t n)
{
	size_t i = 0, k;
	int esc = 0, v, v2;

	while (i < n) {
		unsigned c = p[i];
		if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
			i++;
			continue;
		}
		if (c < 0x20 || c == '"')
			return (-1);
		if (c >= 0x80) {
			if ((k = utf8_len(p + i, n - i)) == 0)
				return (-1);
			i += k;
			continue;
		}
		esc = 1;
		if (++i == n)
			return (-1);
		c = p[i++];
		if (strchr("\"\\/bfnrt", (int)c) != NULL && c != '\0')
			continue;
		if (c != 'u' || n - i < 4 || !ISXDIGIT(p[i]) || !ISXDIGIT(p[i + 1]) ||
		    !ISXDIGIT(p[i + 2]) || !ISXDIGIT(p[i + 3]))
			return (-1);
		v = hex4(p + i);
		i += 4;
		if (v == 0)
			return (-1);	/* \u0000: no JSON_ALLOW_NUL */
		if (v >= 0xdc00 && v <= 0xdfff)
			return (-1);	/* lone low surrogate */
		if (v >= 0xd800 && v <= 0xdbff) {
			if (n - i < 6 || p[i] != '\\' || p[i + 1] != 'u' ||
			    !ISXDIGIT(p[i + 2]) || !ISXDIGIT(p[i + 3]) ||
			    !ISXDIGIT(p[i + 4]) || !ISXDIGIT(p[i + 5]))
				return (-1);
			v2 = hex4(p + i + 2);
			if (v2 < 0xdc00 || v2 > 0xdfff)
				return (-1);
			i += 6;
		}
	}
	return (esc);
}

static int
prim_kind(const char *s, size_t n)
{
	long long ll;

	switch (s[0]) {
	case 't':
		return (n == 4 && memcmp(s, "true", 4) == 0 ? JT_TRUE : -1);
	case 'f':
		return (n == 5 && memcmp(s, "false", 5) == 0 ? JT_FALSE : -1);
	case 'n':
		return (n == 4 && memcmp(s, "null", 4) == 0 ? JT_NULL : -1);
	}
	switch (jnum_check(s, n)) {
	case JNUM_INT:
		return (jnum_int(s, n, &ll) == 0 ? JT_INTEGER : -1);
	case JNUM_REAL:
		return (jnum_real_finite(s, n) ? JT_REAL : -1);
	}
	return (-1);
}

/*
 * Token t should be the value starting at text position *pos (after
 * whitespace) at nesting depth depth: check it, its subtree and every byte
 * between their tokens.  Returns the index after its subtree and moves *pos
 * past it; -1 when the text is not what jansson accepts.
 */
static int
check_value(struct jtok *jt, int t, size_t *pos, int depth)
{
	const char *s = jt->text;
	size_t i = skip_ws(s, *pos, jt->len);
	jsmntok_t *k;
	int c, j, r, obj;

	if (t >= jt->n || depth > JT_MAX_DEPTH)
		return (-1);
	k = &jt->tok[t];
	switch (k->type) {
	case JSMN_STRING:
		if ((size_t)k->start != i + 1 || s[i] != '"')
			return (-1);
		r = check_string((const unsigned char *)s + k->start,
		    (size_t)(k->end - k->start));
		if (r < 0)
			return (-1);
		ESCAPED(k) = r;
		*pos = (size_t)k->end + 1;
		return (NEXT(k) = t + 1);
	case JSMN_PRIMITIVE:
		if ((size_t)k->start != i ||
		    (r = prim_kind(s + i, (size_t)(k->end - k->start))) < 0)
			return (-1);
		KIND(k) = r;
		*pos = (size_t)k->end;
		return (NEXT(k) = t + 1);
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		break;
	default:
		return (-1);
	}
	obj = k->type == JSMN_OBJECT;
	if ((size_t)k->start != i || s[i] != (obj ? '{' : '['))
		return (-1);
	i++;
	j = t + 1;
	for (c = 0; c < k->size; c++) {
		if (c > 0) {
			i = skip_ws(s, i, jt->len);
			if (i == jt->len || s[i] != ',')
				return (-1);
			i++;
		}
		if (obj) {
			/* a key: a string, ':', then its value (its child) */
			jsmntok_t *key = &jt->tok[j];
			if (j >= jt->n || key->type != JSMN_STRING || key->size != 1)
				return (-1);
			if (check_value(jt, j, &i, depth) < 0)
				return (-1);
			i = skip_ws(s, i, jt->len);
			if (i == jt->len || s[i] != ':')
				return (-1);
			i++;
			if ((j = check_value(jt, j + 1, &i, depth + 1)) < 0)
				return (-1);
			NEXT(key) = j;
		} else if ((j = check_value(jt, j, &i, depth + 1)) < 0)
			return (-1);
	}
	i = skip_ws(s, i, jt->len);
	if (i == jt->len || s[i] != (obj ? '}' : ']') || (size_t)k->end != i + 1)
		return (-1);
	*pos = i + 1;
	return (NEXT(k) = j);
}

/* Containers open around the token jsmn would attach the next one to. */
static int
open_depth(const struct jtok *jt, int super)
{
	int d = 0;

	while (super >= 0 && d <= JT_MAX_DEPTH) {
		if (jt->tok[super].type != JSMN_STRING)
			d++;
		super = jt->tok[super].parent;
	}
	return (d);
}

/*
 * A quirk of jansson's lexer: after a number or a literal it puts back the
 * byte that ended it, and a NUL put back is lost (its stream takes a NUL in
 * its buffer for "empty"), so "[1\0, 2]" is valid JSON to json_loadb: the
 * NUL ends the token and is gone.  jsmn stops at any NUL.  So each NUL that
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
	jsmn_parser ps;
	size_t pos = 0;
	int r;

	jt->n = 0;
	arena_reset(jt);
	imp_free(jt->copy);
	jt->copy = NULL;
	/* jsmn keeps offsets in ints */
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
	jsmn_init(&ps);
	while ((r = jsmn_parse(&ps, text, len, jt->tok, jt->cap)) ==
	    JSMN_ERROR_NOMEM) {
		/*
		 * More tokens and carry on where it stopped.  A token takes a
		 * byte at least, so this stops at len + 1; but "[[[[..." would
		 * get there before the depth check: jansson gives up at 2048.
		 */
		if (open_depth(jt, ps.toksuper) > JT_MAX_DEPTH ||
		    jt->cap > len)
			return (-1);
		jt->cap = jt->cap * 2 < len + 1 ? jt->cap * 2 : (unsigned)len + 1;
		jt->tok = imp_realloc(jt->tok, sizeof *jt->tok * jt->cap);
	}
	if (r <= 0)
		return (-1);
	jt->n = r;
	/* the root: an object or an array (no JSON_DECODE_ANY) */
	if (jt->tok[0].type != JSMN_OBJECT && jt->tok[0].type != JSMN_ARRAY)
		goto bad;
	if (check_value(jt, 0, &pos, 1) != r || skip_ws(text, pos, len) != len)
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
	const jsmntok_t *k = &jt->tok[t];

	switch (k->type) {
	case JSMN_OBJECT:	return (JT_OBJECT);
	case JSMN_ARRAY:	return (JT_ARRAY);
	case JSMN_STRING:	return (JT_STRING);
	default:		return ((enum jt_type)KIND(k));
	}
}

int
jtok_len(const struct jtok *jt, int t)
{
	const jsmntok_t *k = &jt->tok[t];

	return (k->type == JSMN_OBJECT || k->type == JSMN_ARRAY ? k->size : 0);
}

int
jtok_first(const struct jtok *jt, int t)
{
	return (jtok_len(jt, t) > 0 ? t + 1 : -1);
}

int
jtok_next(const struct jtok *jt, int t)
{
	return (NEXT(&jt->tok[t]));
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
	const jsmntok_t *k = &jt->tok[t];
	const char *raw = jt->text + k->start;
	size_t n = (size_t)(k->end - k->start), kl = strlen(key), ul;
	char buf[256], *u;
	int eq;

	if (!ESCAPED(k))
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
	int i, n, k, v = -1;

	if (jt->tok[obj].type != JSMN_OBJECT)
		return (-1);
	/* all members: jansson keeps the last of duplicate keys */
	n = jt->tok[obj].size;
	for (i = 0, k = obj + 1; i < n; i++, k = NEXT(&jt->tok[k]))
		if (jtok_streq(jt, k, key))
			v = k + 1;
	return (v);
}

const char *
jtok_str(struct jtok *jt, int t)
{
	const jsmntok_t *k = &jt->tok[t];
	size_t n = (size_t)(k->end - k->start);
	char *out = arena_get(jt, n + 1);

	if (ESCAPED(k))
		n = unescape(jt->text + k->start, n, out);
	else
		memcpy(out, jt->text + k->start, n);
	out[n] = '\0';
	return (out);
}

double
jtok_num(const struct jtok *jt, int t)
{
	const jsmntok_t *k = &jt->tok[t];
	double d;

	if (KIND(k) == JT_INTEGER)
		return ((double)jtok_int(jt, t));
	jnum_real(jt->text + k->start, (size_t)(k->end - k->start), &d);
	return (d);
}

long long
jtok_int(const struct jtok *jt, int t)
{
	const jsmntok_t *k = &jt->tok[t];
	long long v = 0;

	jnum_int(jt->text + k->start, (size_t)(k->end - k->start), &v);
	return (v);
}
