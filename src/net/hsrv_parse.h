/*
 * impcore - the HTTP/1.1 request head, parsed: request line, headers and
 * the body's framing (RFC 9112), with no I/O and no libevent, so that the
 * rules which decide where a request ends (the smuggling refusals) can be
 * tested and fuzzed on bytes alone (tests/test-hsrv-parse*.c).  hsrv_conn.c
 * finds the head's end, calls these, and acts on the answer.
 */
#ifndef IMP_HSRV_PARSE_H
#define IMP_HSRV_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HSRV_MAX_HEADERS	100

struct hsrv_hdr {
	const char	*name, *value;
};

/* Pointers into the head block, which hsrv_parse_head split in place. */
struct hsrv_head {
	const char	*method;	/* "" until parsed */
	const char	*path;		/* target without the query; "" until parsed */
	const char	*query;		/* after '?', or NULL */
	int		minor;		/* HTTP/1.x: 0 or 1 (1.2 and up are 1) */
	struct hsrv_hdr	hdrs[HSRV_MAX_HEADERS];
	int		nhdrs;
};

/* How the body comes (hsrv_parse_frame). */
enum hsrv_body { HSRV_BODY_NONE, HSRV_BODY_LENGTH, HSRV_BODY_CHUNKED };

struct hsrv_frame {
	enum hsrv_body	body;
	uint64_t	length;		/* HSRV_BODY_LENGTH: > 0, <= max_body */
	int		keepalive;	/* the connection may serve another */
	int		is_head;	/* HEAD: the answer has no body */
	int		expect100;	/* a body follows "100 Continue" */
};

/* Empty: method and path "", no query, HTTP/1.1, no headers. */
void hsrv_head_init(struct hsrv_head *h);
/*
 * Split head (len bytes, head[len] == '\0': the request line, the header
 * lines and the blank line) in place into h.  Returns 0, or the status
 * to answer (400, 431) with *msg saying why; h then holds what was
 * parsed before the fault.
 */
int hsrv_parse_head(char *head, size_t len, struct hsrv_head *h,
    const char **msg);
/* The first header called name (case-insensitive), or NULL. */
const char *hsrv_head_header(const struct hsrv_head *h, const char *name);
/*
 * The body's framing from a parsed head: none, a Content-Length or a lone
 * "chunked", and nothing in between (request smuggling).  Returns 0, or
 * the status to answer (400, 413 past max_body) with *msg; f's keepalive
 * and is_head are set either way (a HEAD's refusal has no body).
 */
int hsrv_parse_frame(const struct hsrv_head *h, size_t max_body,
    struct hsrv_frame *f, const char **msg);
/*
 * A chunk-size line without its CRLF: hex digits, then nothing, ';' (an
 * extension, ignored) or a blank.  0 with *sz, or -1.
 */
int hsrv_parse_chunk_size(const char *line, uint64_t *sz);

#endif /* IMP_HSRV_PARSE_H */
