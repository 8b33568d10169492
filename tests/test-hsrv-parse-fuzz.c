/*
 * impcore - the request head's parser (src/net/hsrv_parse.c), fuzzed.
 *
 * Valid heads (GET, HEAD, POST with a Content-Length or a chunked body,
 * HTTP/1.0, absolute form, queries) go through random mutations: byte
 * flips, deletions, truncations, insertions of the bytes and tokens that
 * matter to HTTP framing (CR, LF, SP, HT, ':', NUL, '?', "chunked",
 * "Transfer-Encoding: ", "Content-Length: ", "HTTP/1."), and repeated
 * lines.  Each head is parsed from an allocation of exactly its size, so
 * ASan sees any read past it.  For every head:
 *  - parsing is deterministic: two copies give the same status, message,
 *    fields and framing;
 *  - a head with a NUL byte is refused (C string handling would stop at
 *    it, and a proxy may not);
 *  - what parses is well formed: a method of token characters, a path
 *    that starts with '/' (or is "*") without blanks or control bytes,
 *    header names of token characters, values without LF or blanks at
 *    their ends, at most HSRV_MAX_HEADERS of them; and a framing that
 *    was accepted has exactly one framing header (a Content-Length of
 *    digits up to max_body, or one Transfer-Encoding "chunked");
 *  - a head that parses, written out again in origin form, parses to the
 *    same method, path, query, version, headers and framing.
 * And chunk-size lines, random, against a plain reading of the RFC.
 * A fixed number of heads from a fixed seed (the same on every run), then
 * about a second (IMPCORE_TEST_SECONDS) from a random seed it prints
 * (IMPCORE_TEST_SEED replays it).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "net/hsrv_parse.h"

#define MAXB		100000
#define FIXED_HEADS	60000

static long	nfail, nheads, nparsed, nframed;
#define FUZZ_SEED	0x13198a2e03707344ull
#include "fuzz.h"

static const char *seeds[] = {
	"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /v1/results?id=12&wait=1 HTTP/1.1\r\nHost: localhost:8080\r\n"
	    "User-Agent: curl/8.5\r\nAccept: */*\r\n\r\n",
	"HEAD /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"POST /v1/fit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 1234\r\nExpect: 100-continue\r\n\r\n",
	"POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Connection: close\r\n\r\n",
	"GET http://example.org:80/eis-data?x HTTP/1.1\nHost: example.org\n\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"\r\nDELETE /v1/results/7 HTTP/1.9\r\nX-A:  a b \t\r\nx-a:\r\n\r\n",
};

static const char *tokens[] = {
	"\r", "\n", "\r\n", " ", "\t", ":", "?", "/", "*", "\0", "\x7f", "\x01",
	"\xff", "chunked", "identity", ",", ";", "0", "9", "-", "+", "0x",
	"Transfer-Encoding: ", "Content-Length: ", "HTTP/1.", "http://",
	"Connection: close\r\n", "Expect: 100-continue\r\n", "HEAD",
	"99999999999999999999",
};

struct text {
	char	*p;
	size_t	len, cap;
};

static void
put(struct text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (t->p == NULL)
			abort();
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
}

static void
puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* One to four mutations of src into t. */
static void
mutate(struct text *t, const char *src, size_t len)
{
	int n = 1 + (int)(rnd() % 4), k;
	size_t at, m;
	char *tmp;

	t->len = 0;
	put(t, src, len);
	for (k = 0; k < n; k++) {
		at = t->len > 0 ? rnd() % (t->len + 1) : 0;
		switch (rnd() % 6) {
		case 0:		/* flip a byte */
			if (at < t->len)
				t->p[at] = (char)rnd();
			break;
		case 1:		/* delete a few bytes */
			m = 1 + rnd() % 8;
			if (at + m > t->len)
				m = t->len - at;
			memmove(t->p + at, t->p + at + m, t->len - at - m);
			t->len -= m;
			break;
		case 2:		/* truncate */
			t->len = at;
			break;
		case 3:		/* repeat a piece (a header line, say) */
		case 4: {	/* insert a token */
			const char *tok = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
			size_t tl = tok[0] == '\0' ? 1 : strlen(tok);
			size_t from = 0;

			if (rnd() % 6 == 3 && t->len > 0) {
				from = rnd() % t->len;
				tl = 1 + rnd() % 40;
				if (from + tl > t->len)
					tl = t->len - from;
				tmp = malloc(tl);
				memcpy(tmp, t->p + from, tl);
			} else {
				tmp = malloc(tl);
				memcpy(tmp, tok, tl);
			}
			put(t, tmp, tl);	/* grow, then shift into place */
			memmove(t->p + at + tl, t->p + at, t->len - tl - at);
			memcpy(t->p + at, tmp, tl);
			free(tmp);
			break;
		}
		case 5:		/* change a digit or a letter's case */
			if (at < t->len && isalpha((unsigned char)t->p[at]))
				t->p[at] ^= 0x20;
			else if (at < t->len && isdigit((unsigned char)t->p[at]))
				t->p[at] = (char)('0' + rnd() % 10);
			break;
		}
	}
}

static void
show(const char *why, const char *t, size_t len)
{
	fuzz_show(&nfail, why, "head", t, len);
}

struct result {
	char			*buf;		/* the head, split */
	int			st, fst;	/* head, then framing status */
	const char		*msg, *fmsg;
	struct hsrv_head	h;
	struct hsrv_frame	f;
};

static void
parse(struct result *r, const char *p, size_t len)
{
	r->buf = malloc(len + 1);
	memcpy(r->buf, p, len);
	r->buf[len] = '\0';
	r->msg = r->fmsg = NULL;
	r->fst = -1;
	r->st = hsrv_parse_head(r->buf, len, &r->h, &r->msg);
	if (r->st == 0)
		r->fst = hsrv_parse_frame(&r->h, MAXB, &r->f, &r->fmsg);
}

static int
streq(const char *a, const char *b)
{
	return (a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0);
}

/* Do a and b hold the same parse?  NULL, or what differs. */
static const char *
same(const struct result *a, const struct result *b)
{
	int i;

	if (a->st != b->st || a->msg != b->msg)
		return ("head status or message");
	if (a->st != 0)
		return (NULL);
	if (!streq(a->h.method, b->h.method) || !streq(a->h.path, b->h.path) ||
	    !streq(a->h.query, b->h.query) || a->h.minor != b->h.minor)
		return ("request line");
	if (a->h.nhdrs != b->h.nhdrs)
		return ("number of headers");
	for (i = 0; i < a->h.nhdrs; i++)
		if (!streq(a->h.hdrs[i].name, b->h.hdrs[i].name) ||
		    !streq(a->h.hdrs[i].value, b->h.hdrs[i].value))
			return ("a header");
	if (a->fst != b->fst || a->fmsg != b->fmsg)
		return ("framing status or message");
	if (a->f.keepalive != b->f.keepalive || a->f.is_head != b->f.is_head)
		return ("keepalive or is_head");
	if (a->fst == 0 && (a->f.body != b->f.body ||
	    a->f.length != b->f.length || a->f.expect100 != b->f.expect100))
		return ("framing");
	return (NULL);
}

static int
tchars(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return (0);
	return (1);
}

static int
no_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
			return (0);
	return (1);
}

/* What a parse that succeeded promises.  NULL, or the broken promise. */
static const char *
well_formed(const struct result *r)
{
	const struct hsrv_head *h = &r->h;
	int i, ncl = 0, nte = 0;
	const char *v, *cl = NULL, *te = NULL;
	size_t vl;

	if (!tchars(h->method))
		return ("method not a token");
	if ((h->path[0] != '/' && strcmp(h->path, "*") != 0) ||
	    !no_ctl(h->path) || strchr(h->path, '?') != NULL)
		return ("path");
	if (h->query != NULL && !no_ctl(h->query))
		return ("query");
	if (h->minor != 0 && h->minor != 1)
		return ("version");
	if (h->nhdrs < 0 || h->nhdrs > HSRV_MAX_HEADERS)
		return ("number of headers");
	for (i = 0; i < h->nhdrs; i++) {
		if (!tchars(h->hdrs[i].name))
			return ("header name not a token");
		v = h->hdrs[i].value;
		vl = strlen(v);
		if (strchr(v, '\n') != NULL || (vl > 0 && (v[0] == ' ' ||
		    v[0] == '\t' || v[vl - 1] == ' ' || v[vl - 1] == '\t')))
			return ("header value");
		if (strcasecmp(h->hdrs[i].name, "Content-Length") == 0) {
			ncl++;
			cl = v;
		} else if (strcasecmp(h->hdrs[i].name, "Transfer-Encoding") == 0) {
			nte++;
			te = v;
		}
	}
	if (r->fst != 0)
		return (NULL);
	switch (r->f.body) {
	case HSRV_BODY_NONE:
		if (nte > 0 || ncl > 1 || (ncl == 1 && strspn(cl, "0") != strlen(cl)))
			return ("no body, but framing headers");
		break;
	case HSRV_BODY_LENGTH:
		if (nte > 0 || ncl != 1 || strspn(cl, "0123456789") != strlen(cl) ||
		    r->f.length == 0 || r->f.length > MAXB ||
		    strtoull(cl, NULL, 10) != r->f.length)
			return ("Content-Length accepted wrongly");
		break;
	case HSRV_BODY_CHUNKED:
		if (nte != 1 || ncl > 0 || strcasecmp(te, "chunked") != 0)
			return ("chunked accepted wrongly");
		break;
	default:
		return ("framing kind");
	}
	if (r->f.expect100 && (r->f.body == HSRV_BODY_NONE || h->minor == 0))
		return ("100-continue without a body");
	return (NULL);
}

/* r's head in origin form, as a client would send it. */
static void
serialise(struct text *t, const struct result *r)
{
	int i;

	t->len = 0;
	puts_(t, r->h.method);
	puts_(t, " ");
	puts_(t, r->h.path);
	if (r->h.query != NULL) {
		puts_(t, "?");
		puts_(t, r->h.query);
	}
	puts_(t, r->h.minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (i = 0; i < r->h.nhdrs; i++) {
		puts_(t, r->h.hdrs[i].name);
		puts_(t, ": ");
		puts_(t, r->h.hdrs[i].value);
		puts_(t, "\r\n");
	}
	puts_(t, "\r\n");
}

static void
check(const char *p, size_t len)
{
	struct result a, b, c;
	struct text t = { NULL, 0, 0 };
	const char *why;

	nheads++;
	parse(&a, p, len);
	parse(&b, p, len);
	if ((why = same(&a, &b)) != NULL)
		show(why, p, len);	/* not deterministic */
	else if (a.st == 0 && memchr(p, '\0', len) != NULL)
		show("a NUL byte in a head that parses", p, len);
	else if (a.st == 0) {
		nparsed++;
		if (a.fst == 0)
			nframed++;
		if ((why = well_formed(&a)) != NULL)
			show(why, p, len);
		serialise(&t, &a);
		parse(&c, t.p, t.len);
		if ((why = same(&a, &c)) != NULL) {
			show("written out again, it parses otherwise", p, len);
			show(why, t.p, t.len);
		}
		free(c.buf);
		free(t.p);
	} else if (a.msg == NULL || (a.st != 400 && a.st != 431))
		show("a refusal without a message, or not 400/431", p, len);
	free(a.buf);
	free(b.buf);
}

/*
 * Chunk-size lines against a plain reading of RFC 9112 7.1: one or more hex
 * digits (no sign, blank or "0x" before them; a value that fits in 64
 * bits), then the end, ';' or a blank.  Accepted exactly then, with that
 * value.
 */
static void
check_chunk_size(const char *line)
{
	uint64_t want = 0, got = 0;
	int ok = 1, k, d;

	for (k = 0; isxdigit((unsigned char)line[k]); k++) {
		d = isdigit((unsigned char)line[k]) ? line[k] - '0' :
		    (line[k] | 0x20) - 'a' + 10;
		if (want > (UINT64_MAX - (uint64_t)d) / 16)
			ok = 0;
		want = want * 16 + (uint64_t)d;
	}
	if (k == 0 || (line[k] != '\0' && line[k] != ';' && line[k] != ' '))
		ok = 0;
	if ((hsrv_parse_chunk_size(line, &got) == 0) != ok || (ok && got != want))
		show(ok ? "chunk size refused or misread" :
		    "bad chunk size accepted", line, strlen(line));
}

static void
fuzz_chunk_sizes(long n)
{
	static const char alpha[] = "0123456789abcdefABCDEFxX; \t+-gG";
	char line[24];
	long i;
	int k, len;

	for (i = 0; i < n; i++) {
		len = (int)(rnd() % (sizeof line - 1));
		for (k = 0; k < len; k++)
			line[k] = rnd() % 4 == 0 ? (char)(1 + rnd() % 255) :
			    alpha[rnd() % (sizeof alpha - 1)];
		line[len] = '\0';
		check_chunk_size(line);
	}
}

int
main(void)
{
	double secs = 1, tend;
	struct text x = { NULL, 0, 0 };
	size_t nseeds = sizeof seeds / sizeof seeds[0], k;
	long i;

	if (getenv("IMPCORE_TEST_SECONDS") != NULL)
		secs = atof(getenv("IMPCORE_TEST_SECONDS"));
	for (k = 0; k < nseeds; k++) {
		check(seeds[k], strlen(seeds[k]));
		if (nparsed != (long)k + 1 || nframed != (long)k + 1)
			show("a seed does not parse", seeds[k], strlen(seeds[k]));
	}
	check("", 0);
	check("\r\n\r\n", 4);
	/* the same heads on every run */
	printf("# fixed seed %#llx, %d heads\n", (unsigned long long)rng,
	    FIXED_HEADS);
	for (i = 0; i < FIXED_HEADS && nfail < 10; i++) {
		k = rnd() % nseeds;
		mutate(&x, seeds[k], strlen(seeds[k]));
		check(x.p, x.len);
	}
	fuzz_chunk_sizes(20000);
	/* then new ones for a while, from a seed printed to replay them */
	if (getenv("IMPCORE_TEST_SEED") != NULL)
		rng = strtoull(getenv("IMPCORE_TEST_SEED"), NULL, 0);
	else
		rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
		    (uint64_t)(now() * 1e9);
	if (rng == 0)
		rng = 1;	/* xorshift's one fixed point */
	printf("# random seed %#llx (IMPCORE_TEST_SEED=%#llx replays it)\n",
	    (unsigned long long)rng, (unsigned long long)rng);
	tend = now() + secs;
	while (now() < tend && nfail < 10)
		for (i = 0; i < 500; i++) {
			k = rnd() % nseeds;
			mutate(&x, seeds[k], strlen(seeds[k]));
			check(x.p, x.len);
		}
	fuzz_chunk_sizes(20000);
	printf("%s: %ld heads (%ld parsed, %ld framed), %ld failures\n",
	    nfail ? "FAIL" : "ok", nheads, nparsed, nframed, nfail);
	free(x.p);
	return (nfail ? 1 : 0);
}
