/*
 * impcore - the request head's parser (src/net/hsrv_parse.c) on a table
 * of heads, good and bad: for each, the status and message hsrv_conn.c would
 * answer with, or what was parsed (method, path, query, version, the
 * body's framing, keep-alive, HEAD, Expect).  Every smuggling case of
 * tests/t-srv-smuggle.sh is here, without a server; then chunk-size lines
 * and a head with one header too many.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/hsrv_parse.h"

#define MAXB	1000	/* max_body for the table */

struct tcase {
	const char	*name;
	const char	*head;
	size_t		len;		/* 0: strlen(head) */
	int		status;		/* 0: parsed and framed */
	const char	*msg;		/* the refusal's message */
	/* when status is 0 */
	const char	*method, *path, *query;
	int		minor;
	enum hsrv_body	body;
	uint64_t	length;
	int		keepalive, is_head, expect100;
};

/* a refusal: status and message, nothing parsed to compare */
#define BAD(name, head, len, st, msg)	\
	{ name, head, len, st, msg, NULL, NULL, NULL, 0, HSRV_BODY_NONE, 0, 0, 0, 0 }
#define P	"POST /v1/fit HTTP/1.1\r\nHost: x\r\n"
#define TE_ONLY	"unsupported Transfer-Encoding (only a single \"chunked\" is accepted)"

static const struct tcase cases[] = {
	/* good heads */
	{ "GET, CRLF", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, NULL,
	  "GET", "/health", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "GET, bare LF", "GET /health HTTP/1.1\nHost: x\n\n", 0, 0, NULL,
	  "GET", "/health", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "leading blank lines", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, 0, NULL,
	  "GET", "/", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "query", "GET /v1/results?id=3&x HTTP/1.1\r\n\r\n", 0, 0, NULL,
	  "GET", "/v1/results", "id=3&x", 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "HEAD", "HEAD /health HTTP/1.1\r\n\r\n", 0, 0, NULL,
	  "HEAD", "/health", NULL, 1, HSRV_BODY_NONE, 0, 1, 1, 0 },
	{ "unknown method", "FOO /x HTTP/1.1\r\n\r\n", 0, 0, NULL,
	  "FOO", "/x", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", 0, 0, NULL,
	  "GET", "/", NULL, 0, HSRV_BODY_NONE, 0, 0, 0, 0 },
	{ "HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	  0, 0, NULL, "GET", "/", NULL, 0, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "HTTP/1.1 close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, 0,
	  NULL, "GET", "/", NULL, 1, HSRV_BODY_NONE, 0, 0, 0, 0 },
	{ "HTTP/1.9 is 1.1", "GET / HTTP/1.9\r\n\r\n", 0, 0, NULL,
	  "GET", "/", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "absolute form", "GET http://example.org:8080/health?a=1 HTTP/1.1\r\n\r\n",
	  0, 0, NULL, "GET", "/health", "a=1", 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "absolute form, no path", "GET HTTPS://example.org HTTP/1.1\r\n\r\n",
	  0, 0, NULL, "GET", "/", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "asterisk", "OPTIONS * HTTP/1.1\r\n\r\n", 0, 0, NULL,
	  "OPTIONS", "*", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "Content-Length", P "Content-Length: 42\r\n\r\n", 0, 0, NULL,
	  "POST", "/v1/fit", NULL, 1, HSRV_BODY_LENGTH, 42, 1, 0, 0 },
	{ "Content-Length at max_body", P "content-length:1000\r\n\r\n", 0, 0,
	  NULL, "POST", "/v1/fit", NULL, 1, HSRV_BODY_LENGTH, 1000, 1, 0, 0 },
	{ "Content-Length 0", P "Content-Length: 0\r\n\r\n", 0, 0, NULL,
	  "POST", "/v1/fit", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "Content-Length, blanks around", P "Content-Length: \t 7 \t\r\n\r\n",
	  0, 0, NULL, "POST", "/v1/fit", NULL, 1, HSRV_BODY_LENGTH, 7, 1, 0, 0 },
	{ "Expect 100-continue", P "Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n",
	  0, 0, NULL, "POST", "/v1/fit", NULL, 1, HSRV_BODY_LENGTH, 5, 1, 0, 1 },
	{ "Expect without a body", P "Expect: 100-continue\r\n\r\n", 0, 0, NULL,
	  "POST", "/v1/fit", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },
	{ "Expect on HTTP/1.0", "POST / HTTP/1.0\r\nContent-Length: 5\r\n"
	  "Expect: 100-continue\r\n\r\n", 0, 0, NULL,
	  "POST", "/", NULL, 0, HSRV_BODY_LENGTH, 5, 0, 0, 0 },
	{ "a lone chunked, any case", P "Transfer-Encoding: Chunked\r\n\r\n", 0, 0,
	  NULL, "POST", "/v1/fit", NULL, 1, HSRV_BODY_CHUNKED, 0, 1, 0, 0 },
	{ "chunked on HTTP/1.0 closes", "POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 0, 0, NULL,
	  "POST", "/", NULL, 0, HSRV_BODY_CHUNKED, 0, 0, 0, 0 },
	{ "empty header value", "GET / HTTP/1.1\r\nX-Empty:\r\n\r\n", 0, 0, NULL,
	  "GET", "/", NULL, 1, HSRV_BODY_NONE, 0, 1, 0, 0 },

	/* request line */
	BAD("no request line end", "GET / HTTP/1.1", 0, 400, "bad request line"),
	BAD("one word", "GET\r\n\r\n", 0, 400, "bad request line"),
	BAD("leading space", " GET / HTTP/1.1\r\n\r\n", 0, 400, "bad request line"),
	BAD("two words", "GET /\r\n\r\n", 0, 400, "bad request line"),
	BAD("bad method", "G(T / HTTP/1.1\r\n\r\n", 0, 400, "bad method"),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 0, 400, "unsupported HTTP version"),
	BAD("HTTP/1.x", "GET / HTTP/1.x\r\n\r\n", 0, 400, "unsupported HTTP version"),
	BAD("HTTP/1.10", "GET / HTTP/1.10\r\n\r\n", 0, 400, "unsupported HTTP version"),
	BAD("lower-case version", "GET / http/1.1\r\n\r\n", 0, 400,
	  "unsupported HTTP version"),
	BAD("three spaces", "GET / x HTTP/1.1\r\n\r\n", 0, 400,
	  "unsupported HTTP version"),
	BAD("relative target", "GET health HTTP/1.1\r\n\r\n", 0, 400,
	  "bad request target"),
	BAD("empty target", "GET  HTTP/1.1\r\n\r\n", 0, 400, "bad request target"),
	BAD("control byte in target", "GET /a\001b HTTP/1.1\r\n\r\n", 0, 400,
	  "bad request target"),
	BAD("DEL in target", "GET /a\177 HTTP/1.1\r\n\r\n", 0, 400,
	  "bad request target"),
	BAD("NUL in request line", "GET /\0x HTTP/1.1\r\n\r\n", 19, 400,
	  "NUL byte in request head"),
	/* headers */
	BAD("folding", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 0, 400,
	  "obsolete header folding"),
	BAD("folding, tab", "GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 0, 400,
	  "obsolete header folding"),
	BAD("no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 0, 400, "bad header line"),
	BAD("empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", 0, 400, "bad header line"),
	BAD("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 0, 400,
	  "bad header name"),
	BAD("NUL in a header (smuggling)", "GET / HTTP/1.1\r\nA: b\0\r\n"
	  "Content-Length: 5\r\n\r\n", 41, 400, "NUL byte in request head"),
	/* framing: every case of t-srv-smuggle.sh */
	BAD("two TE headers, chunked first", P "Transfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: identity\r\n\r\n", 0, 400,
	  "more than one Transfer-Encoding header"),
	BAD("two TE headers, chunked last, and a Content-Length", P
	  "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n"
	  "Content-Length: 5\r\n\r\n", 0, 400,
	  "more than one Transfer-Encoding header"),
	BAD("two TE headers, both chunked", P "Transfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 0, 400,
	  "more than one Transfer-Encoding header"),
	BAD("TE identity with a Content-Length", P "Transfer-Encoding: identity\r\n"
	  "Content-Length: 5\r\n\r\n", 0, 400,
	  "Transfer-Encoding with Content-Length"),
	BAD("TE chunked with a Content-Length", P "Content-Length: 5\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 0, 400,
	  "Transfer-Encoding with Content-Length"),
	BAD("TE list gzip, chunked", P "Transfer-Encoding: gzip, chunked\r\n\r\n",
	  0, 400, TE_ONLY),
	BAD("TE list chunked, chunked", P "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  0, 400, TE_ONLY),
	BAD("TE identity alone", P "Transfer-Encoding: identity\r\n\r\n", 0, 400,
	  TE_ONLY),
	BAD("TE empty", P "Transfer-Encoding:\r\n\r\n", 0, 400, TE_ONLY),
	/* Content-Length */
	BAD("two Content-Lengths", P "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
	  0, 400, "bad Content-Length"),
	BAD("signed Content-Length", P "Content-Length: +5\r\n\r\n", 0, 400,
	  "bad Content-Length"),
	BAD("negative Content-Length", P "Content-Length: -1\r\n\r\n", 0, 400,
	  "bad Content-Length"),
	BAD("Content-Length list", P "Content-Length: 5, 5\r\n\r\n", 0, 400,
	  "bad Content-Length"),
	BAD("hex Content-Length", P "Content-Length: 0x10\r\n\r\n", 0, 400,
	  "bad Content-Length"),
	BAD("empty Content-Length", P "Content-Length:\r\n\r\n", 0, 400,
	  "bad Content-Length"),
	BAD("Content-Length overflow", P "Content-Length: 99999999999999999999999\r\n\r\n",
	  0, 400, "bad Content-Length"),
	BAD("Content-Length past max_body", P "Content-Length: 1001\r\n\r\n", 0, 413,
	  "request body too large"),
	BAD(NULL, NULL, 0, 0, NULL)
};

static int nfail, nrun;

static void
fail(const char *name, const char *fmt, const char *a, const char *b)
{
	nfail++;
	printf("not ok: %s: ", name);
	printf(fmt, a != NULL ? a : "(null)", b != NULL ? b : "(null)");
	printf("\n");
}

static int
streq(const char *a, const char *b)
{
	return (a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0);
}

static void
run_case(const struct tcase *t)
{
	size_t len = t->len != 0 ? t->len : strlen(t->head);
	char *head = malloc(len + 1);
	struct hsrv_head h;
	struct hsrv_frame f;
	const char *msg = NULL;
	char num[64];
	int st;

	nrun++;
	memcpy(head, t->head, len);
	head[len] = '\0';
	st = hsrv_parse_head(head, len, &h, &msg);
	if (st == 0)
		st = hsrv_parse_frame(&h, MAXB, &f, &msg);
	snprintf(num, sizeof num, "%d", st);
	if (st != t->status) {
		fail(t->name, "status %s (%s)", num, msg);
		goto out;
	}
	if (st != 0) {
		if (!streq(msg, t->msg))
			fail(t->name, "message \"%s\", want \"%s\"", msg, t->msg);
		goto out;
	}
	if (!streq(h.method, t->method))
		fail(t->name, "method %s, want %s", h.method, t->method);
	if (!streq(h.path, t->path))
		fail(t->name, "path %s, want %s", h.path, t->path);
	if (!streq(h.query, t->query))
		fail(t->name, "query %s, want %s", h.query, t->query);
	if (h.minor != t->minor)
		fail(t->name, "minor version %s%s", "", "");
	if (f.body != t->body || f.length != t->length)
		fail(t->name, "framing differs%s%s", "", "");
	if (f.keepalive != t->keepalive)
		fail(t->name, "keepalive differs%s%s", "", "");
	if (f.is_head != t->is_head)
		fail(t->name, "is_head differs%s%s", "", "");
	if (f.expect100 != t->expect100)
		fail(t->name, "expect100 differs%s%s", "", "");
out:
	free(head);
}

/* Header values as stored, and the 101st header. */
static void
run_headers(void)
{
	char head[4096], *p;
	struct hsrv_head h;
	const char *msg = NULL;
	int i, st;

	strcpy(head, "GET / HTTP/1.1\r\nHost:  x y \t\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
	nrun++;
	st = hsrv_parse_head(head, strlen(head), &h, &msg);
	if (st != 0 || h.nhdrs != 3 ||
	    !streq(hsrv_head_header(&h, "HOST"), "x y") ||
	    !streq(hsrv_head_header(&h, "x-a"), "1") ||
	    hsrv_head_header(&h, "X-B") != NULL)
		fail("header values", "%s%s", msg, "");

	/* parsing splits the head in place: write it out for each parse */
	p = head + sprintf(head, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HSRV_MAX_HEADERS; i++)
		p += sprintf(p, "H%d: v\r\n", i);
	p += sprintf(p, "\r\n");
	nrun++;
	st = hsrv_parse_head(head, (size_t)(p - head), &h, &msg);
	if (st != 0 || h.nhdrs != HSRV_MAX_HEADERS)
		fail("100 headers", "refused: %s%s", msg, "");
	p = head + sprintf(head, "GET / HTTP/1.1\r\n");
	for (i = 0; i <= HSRV_MAX_HEADERS; i++)
		p += sprintf(p, "H%d: v\r\n", i);
	p += sprintf(p, "\r\n");
	nrun++;
	msg = NULL;
	st = hsrv_parse_head(head, (size_t)(p - head), &h, &msg);
	if (st != 431 || !streq(msg, "too many headers"))
		fail("101 headers", "not 431: %s%s", msg, "");
}

static const struct {
	const char	*line;
	int		ok;
	uint64_t	sz;
} chunks[] = {
	{ "0", 1, 0 }, { "1a", 1, 26 }, { "FF", 1, 255 }, { "5;ext=1", 1, 5 },
	{ "5 ", 1, 5 }, { "00010", 1, 16 },
	{ "ffffffffffffffff", 1, UINT64_MAX },
	{ "", 0, 0 }, { " 5", 0, 0 }, { "+5", 0, 0 }, { "-5", 0, 0 },
	{ "0x5", 0, 0 }, { "0X5", 0, 0 }, { "g", 0, 0 }, { "5g", 0, 0 },
	{ "5,6", 0, 0 }, { "10000000000000000", 0, 0 },
	{ NULL, 0, 0 }
};

static void
run_chunks(void)
{
	uint64_t sz;
	int i, rc;

	for (i = 0; chunks[i].line != NULL; i++) {
		nrun++;
		sz = 12345;
		rc = hsrv_parse_chunk_size(chunks[i].line, &sz);
		if ((rc == 0) != chunks[i].ok || (rc == 0 && sz != chunks[i].sz))
			fail("chunk size", "\"%s\" %s", chunks[i].line,
			    rc == 0 ? "accepted or misread" : "refused");
	}
}

int
main(void)
{
	int i;

	for (i = 0; cases[i].name != NULL; i++)
		run_case(&cases[i]);
	run_headers();
	run_chunks();
	printf("%s: %d checks, %d failed\n", nfail ? "FAIL" : "ok", nrun, nfail);
	return (nfail ? 1 : 0);
}
