/*
 * impcore - secrets out of what we print (mask.h has the rule).
 *
 * One scanner finds the spans to hide; mask_text replaces each with "***",
 * mask_inplace overwrites its bytes.  Nothing is allocated, so log.c can
 * call it on every line, in any process, even when malloc is what failed.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "lib/mask.h"

typedef void mask_span_f(size_t from, size_t to, void *arg);

/* A byte that ends a word of free text, and so a URL written in it. */
static int
mask_stop(char c)
{
	return ((unsigned char)c <= ' ' || c == '"' || c == '\'' ||
	    c == '<' || c == '>' || c == '`' || c == 0x7f);
}

/*
 * The query starting at s[i] (just past its '?'): call span for each
 * value.  Returns where the query ends (a '#', a stop byte or n).
 */
static size_t
mask_query(const char *s, size_t n, size_t i, mask_span_f *span, void *arg)
{
	size_t v;

	for (;;) {
		while (i < n && s[i] != '=' && s[i] != '&' && s[i] != '#' &&
		    !mask_stop(s[i]))
			i++;
		if (i < n && s[i] == '=') {
			v = ++i;
			while (i < n && s[i] != '&' && s[i] != '#' &&
			    !mask_stop(s[i]))
				i++;
			if (i > v)
				span(v, i, arg);
		}
		if (i >= n || s[i] != '&')
			return (i);
		i++;
	}
}

/*
 * Call span for each secret of the n bytes at s, in order: userinfo
 * passwords (the whole userinfo when it has none) and query values.
 */
static void
mask_scan(const char *s, size_t n, mask_span_f *span, void *arg)
{
	size_t i = 0, j, end, at, colon;

	while (i < n) {
		if (s[i] == ':' && i + 2 < n && s[i + 1] == '/' &&
		    s[i + 2] == '/') {
			/* the authority ends where the path, query or word does */
			j = i + 3;
			at = n;
			for (end = j; end < n && s[end] != '/' && s[end] != '?' &&
			    s[end] != '#' && !mask_stop(s[end]); end++)
				if (s[end] == '@')
					at = end;	/* the last one: RFC 3986 */
			if (at != n) {
				for (colon = j; colon < at && s[colon] != ':';
				    colon++)
					;
				if (colon < at && colon + 1 < at)
					span(colon + 1, at, arg);
				else if (colon == at && j < at)
					span(j, at, arg);
			}
			i = end;
			continue;
		}
		/* a '?' inside a word: "/health?token=...", not "what? a=b" */
		if (s[i] == '?' && i > 0 && !mask_stop(s[i - 1])) {
			i = mask_query(s, n, i + 1, span, arg);
			continue;
		}
		i++;
	}
}

struct mask_copy {
	const char	*in;
	char		*out;
	size_t		cap, o, last;
};

/* Append len bytes at p to the copy, as many as fit. */
static void
mask_put(struct mask_copy *c, const char *p, size_t len)
{
	if (c->o + len > c->cap - 1)
		len = c->cap - 1 - c->o;
	memcpy(c->out + c->o, p, len);
	c->o += len;
}

static void
mask_copy_span(size_t from, size_t to, void *arg)
{
	struct mask_copy *c = arg;

	mask_put(c, c->in + c->last, from - c->last);
	mask_put(c, MASK_STARS, sizeof MASK_STARS - 1);
	c->last = to;
}

size_t
mask_text(const char *in, size_t n, char *out, size_t cap)
{
	struct mask_copy c = { in, out, cap, 0, 0 };

	if (cap == 0)
		return (0);
	mask_scan(in, n, mask_copy_span, &c);
	mask_put(&c, in + c.last, n - c.last);
	out[c.o] = '\0';
	return (c.o);
}

size_t
mask_str(const char *s, char *out, size_t cap)
{
	return (mask_text(s, strlen(s), out, cap));
}

struct mask_fill {
	char	*s;
	int	any;
};

static void
mask_fill_span(size_t from, size_t to, void *arg)
{
	struct mask_fill *f = arg;

	memset(f->s + from, '*', to - from);
	f->any = 1;
}

int
mask_inplace(char *s)
{
	struct mask_fill f = { s, 0 };

	mask_scan(s, strlen(s), mask_fill_span, &f);
	return (f.any);
}

int
mask_secret_key(const char *key)
{
	static const char *const words[] = {
		"secret", "token", "passw", "credential", "apikey", "api-key",
		"api_key", "private"
	};
	size_t i, n = strlen(key), w;
	const char *p;

	/* -api-token-file=F: the path is no secret, and worth seeing */
	if (n > 5 && (strcasecmp(key + n - 5, "-file") == 0 ||
	    strcasecmp(key + n - 5, "_file") == 0))
		return (0);
	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		w = strlen(words[i]);
		for (p = key; (size_t)(p - key) + w <= n; p++)
			if (strncasecmp(p, words[i], w) == 0)
				return (1);
	}
	return (0);
}
