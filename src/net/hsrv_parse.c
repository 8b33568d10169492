/*
 * impcore - the HTTP/1.1 request head, parsed (see hsrv_parse.h): the
 * request line and headers split in place, the body's framing decided,
 * chunk sizes read.  Pure functions on bytes; every refusal is a status
 * and a message for hsrv_conn.c to answer with.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/hsrv_parse.h"

static int
is_tchar(int ch)
{
	return (isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL));
}

void
hsrv_head_init(struct hsrv_head *h)
{
	h->method = "";
	h->path = "";
	h->query = NULL;
	h->minor = 1;
	h->nhdrs = 0;
}

/* The request line at p (NUL-terminated).  0, or 400 with *msg. */
static int
parse_request_line(char *p, struct hsrv_head *h, const char **msg)
{
	char *sp, *target, *v;

	/* METHOD SP target SP HTTP/1.x */
	sp = strchr(p, ' ');
	if (sp == NULL || sp == p) {
		*msg = "bad request line";
		return (400);
	}
	*sp = '\0';
	for (v = p; *v != '\0'; v++)
		if (!is_tchar((unsigned char)*v)) {
			*msg = "bad method";
			return (400);
		}
	h->method = p;
	target = sp + 1;
	sp = strchr(target, ' ');
	if (sp == NULL) {
		*msg = "bad request line";
		return (400);
	}
	*sp = '\0';
	if (strncmp(sp + 1, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)sp[8]) ||
	    sp[9] != '\0') {
		*msg = "unsupported HTTP version";
		return (400);
	}
	/* HTTP/1.2 and up are 1.1 to us (RFC 9112 2.3): we answer as 1.1,
	 * never with a version we do not speak */
	h->minor = sp[8] == '0' ? 0 : 1;
	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
		/* absolute form: keep the path */
		static char root[] = "/";	/* read only: it has no '?' */
		char *slash = strchr(strstr(target, "//") + 2, '/');

		target = slash != NULL ? slash : root;
	}
	if (*target != '/' && strcmp(target, "*") != 0) {
		*msg = "bad request target";
		return (400);
	}
	/* no control bytes: the path goes into logs and answers */
	for (v = target; *v != '\0'; v++)
		if ((unsigned char)*v < 0x21 || (unsigned char)*v == 0x7f) {
			*msg = "bad request target";
			return (400);
		}
	v = strchr(target, '?');
	if (v != NULL) {
		*v = '\0';
		h->query = v + 1;
	}
	h->path = target;
	return (0);
}

/* One header line at p (NUL-terminated).  0, or 400/431 with *msg. */
static int
parse_header_line(char *p, struct hsrv_head *h, const char **msg)
{
	char *colon, *v, *e;

	if (*p == ' ' || *p == '\t') {
		*msg = "obsolete header folding";
		return (400);
	}
	colon = strchr(p, ':');
	if (colon == NULL || colon == p) {
		*msg = "bad header line";
		return (400);
	}
	*colon = '\0';
	for (v = p; *v != '\0'; v++)
		if (!is_tchar((unsigned char)*v)) {
			*msg = "bad header name";
			return (400);
		}
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (h->nhdrs == HSRV_MAX_HEADERS) {
		*msg = "too many headers";
		return (431);
	}
	h->hdrs[h->nhdrs].name = p;
	h->hdrs[h->nhdrs].value = v;
	h->nhdrs++;
	return (0);
}

int
hsrv_parse_head(char *head, size_t len, struct hsrv_head *h, const char **msg)
{
	char *p = head, *eol;
	int st;

	hsrv_head_init(h);
	/* a NUL would end header parsing early (smuggling) */
	if (memchr(head, '\0', len) != NULL) {
		*msg = "NUL byte in request head";
		return (400);
	}
	while (*p == '\r' || *p == '\n')
		p++;
	eol = strchr(p, '\n');
	if (eol == NULL) {
		*msg = "bad request line";
		return (400);
	}
	if (eol > p && eol[-1] == '\r')
		eol[-1] = '\0';
	*eol = '\0';
	if ((st = parse_request_line(p, h, msg)) != 0)
		return (st);

	p = eol + 1;
	while (*p != '\0' && *p != '\r' && *p != '\n') {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		else {
			if (eol > p && eol[-1] == '\r')
				eol[-1] = '\0';
			*eol++ = '\0';
		}
		if ((st = parse_header_line(p, h, msg)) != 0)
			return (st);
		p = eol;
	}
	return (0);
}

const char *
hsrv_head_header(const struct hsrv_head *h, const char *name)
{
	int i;

	for (i = 0; i < h->nhdrs; i++)
		if (strcasecmp(h->hdrs[i].name, name) == 0)
			return (h->hdrs[i].value);
	return (NULL);
}

int
hsrv_parse_frame(const struct hsrv_head *h, size_t max_body,
    struct hsrv_frame *f, const char **msg)
{
	const char *te, *cl, *conn, *expect;
	char *end;
	unsigned long long n;
	int i, ncl = 0, nte = 0;

	memset(f, 0, sizeof *f);
	conn = hsrv_head_header(h, "Connection");
	if (h->minor >= 1)
		f->keepalive = conn == NULL || strcasestr(conn, "close") == NULL;
	else
		f->keepalive = conn != NULL && strcasestr(conn, "keep-alive") != NULL;
	f->is_head = strcmp(h->method, "HEAD") == 0;
	for (i = 0; i < h->nhdrs; i++) {
		if (strcasecmp(h->hdrs[i].name, "Content-Length") == 0)
			ncl++;
		else if (strcasecmp(h->hdrs[i].name, "Transfer-Encoding") == 0)
			nte++;
	}
	te = hsrv_head_header(h, "Transfer-Encoding");
	cl = hsrv_head_header(h, "Content-Length");
	/*
	 * Request smuggling (RFC 9112 6.1, 6.3): where a proxy in front of us
	 * and we disagree on where a body ends, the rest of it is read as a
	 * request of its own, which the proxy never saw.  Only the first of
	 * two Transfer-Encoding headers was read here, and "identity" with a
	 * Content-Length was taken for none.  Take no guess: the one framing
	 * we accept besides Content-Length is a single "chunked", alone; any
	 * other is a 400, and the connection closes after it (hconn_error),
	 * so nothing after the head is ever parsed as a request.
	 */
	if (nte > 1) {
		*msg = "more than one Transfer-Encoding header";
		return (400);
	}
	if (te != NULL && cl != NULL) {
		*msg = "Transfer-Encoding with Content-Length";
		return (400);
	}
	if (te != NULL) {
		if (strcasecmp(te, "chunked") != 0) {
			*msg = "unsupported Transfer-Encoding "
			    "(only a single \"chunked\" is accepted)";
			return (400);
		}
		/* RFC 9112 6.1: an HTTP/1.0 message with it is to close */
		if (h->minor == 0)
			f->keepalive = 0;
		f->body = HSRV_BODY_CHUNKED;
	} else if (cl != NULL) {
		if (ncl > 1 || !isdigit((unsigned char)*cl)) {
			*msg = "bad Content-Length";
			return (400);
		}
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (*end != '\0' || errno != 0) {
			*msg = "bad Content-Length";
			return (400);
		}
		if (n > max_body) {
			/* answered now: the body is never read */
			*msg = "request body too large";
			return (413);
		}
		if (n == 0)
			return (0);
		f->body = HSRV_BODY_LENGTH;
		f->length = n;
	} else
		return (0);
	expect = hsrv_head_header(h, "Expect");
	f->expect100 = expect != NULL && h->minor >= 1 &&
	    strcasecmp(expect, "100-continue") == 0;
	return (0);
}

int
hsrv_parse_chunk_size(const char *line, uint64_t *sz)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(line, &end, 16);
	/* strtoull takes blanks, signs and "0x": HTTP does not */
	if (!isxdigit((unsigned char)line[0]) ||
	    (line[0] == '0' && (line[1] == 'x' || line[1] == 'X')) ||
	    end == line || errno != 0 ||
	    (*end != '\0' && *end != ';' && *end != ' '))
		return (-1);
	*sz = n;
	return (0);
}
