/*
 * impcore - webhook targets: URLs compared on their parsed parts, and the
 * -webhook-allow list.
 *
 * Both the workers (a request's own webhook_url) and the webhook process
 * (every hop of a followed redirect) decide "may we POST there?" with this
 * one rule, so the two can never disagree.  URLs are parsed by libcurl's
 * URL API (the parser that will connect) and compared on scheme, host,
 * port and path prefix, never as strings: "http://good.example@evil.example/"
 * must not pass for "http://good.example".
 */
#ifndef IMP_URLALLOW_H
#define IMP_URLALLOW_H

#include <stddef.h>

/* What targets are compared on. */
struct urlparts {
	char	*scheme, *host, *path;	/* libcurl's; urlparts_free() */
	long	port;			/* the scheme's default when not given */
};

/* 0 ok (free with urlparts_free), -1 not a URL (nothing to free). */
int urlparts_get(const char *url, struct urlparts *p);
void urlparts_free(struct urlparts *p);
/*
 * url is one we can deliver to: libcurl parses it, its scheme is http or
 * https and it names a host.  0, or -1 with the reason (never the URL) in
 * why.
 */
int urlparts_usable(const char *url, char *why, size_t len);
/* The scheme is http or https. */
int urlparts_http(const struct urlparts *p);
/* Same scheme, host and port: the same place to connect to. */
int urlparts_same_origin(const struct urlparts *a, const struct urlparts *b);

/* A parsed -webhook-allow list (comma- or blank-separated URL prefixes). */
struct urlallow;

/*
 * Every entry of list is a usable prefix (urlparts_usable).  0, or -1 with
 * the first bad entry's position and reason in why (never the entry: it may
 * hold a secret).
 */
int urlallow_check(const char *list, char *why, size_t len);
/* Never NULL; entries that do not parse are logged and ignored. */
struct urlallow *urlallow_new(const char *list);
void urlallow_free(struct urlallow *a);
/* Usable entries (0: no list configured). */
int urlallow_count(const struct urlallow *a);
/*
 * p is under one of the prefixes: same scheme, host and port, and a path
 * that starts with the prefix's on a segment boundary.
 */
int urlallow_match(const struct urlallow *a, const struct urlparts *p);

#endif /* IMP_URLALLOW_H */
