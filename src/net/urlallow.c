/*
 * impcore - webhook targets: URLs compared on their parsed parts, and the
 * -webhook-allow list (see urlallow.h).  Moved out of the worker so that
 * the webhook process checks redirect hops with the very same rule.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "net/urlallow.h"

struct urlallow {
	int		n;
	struct urlallow_ent {
		char	*scheme, *host, *path;
		long	port;
	}		*ent;
};

int
urlparts_get(const char *url, struct urlparts *p)
{
	CURLU *u = curl_url();
	char *sport = NULL;
	int rc = -1;

	p->scheme = p->host = p->path = NULL;
	p->port = 0;
	if (u == NULL)
		return (-1);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &p->host, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &sport, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	p->port = strtol(sport, NULL, 10);
	if (curl_url_get(u, CURLUPART_PATH, &p->path, 0) != CURLUE_OK)
		goto out;
	rc = 0;
out:
	curl_free(sport);
	if (rc < 0)
		urlparts_free(p);
	curl_url_cleanup(u);
	return (rc);
}

void
urlparts_free(struct urlparts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->path);
	p->scheme = p->host = p->path = NULL;
}

int
urlparts_usable(const char *url, char *why, size_t len)
{
	CURLU *u = curl_url();
	CURLUcode uc;
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (u == NULL) {
		snprintf(why, len, "out of memory");
		return (-1);
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
#if LIBCURL_VERSION_NUM >= 0x075000	/* 7.80: curl_url_strerror */
		snprintf(why, len, "not a URL libcurl can parse (%s)",
		    curl_url_strerror(uc));
#else
		snprintf(why, len, "not a URL libcurl can parse (error %d)",
		    (int)uc);
#endif
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		snprintf(why, len, "the scheme must be http or https, not %s",
		    scheme != NULL ? scheme : "none");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0') {
		snprintf(why, len, "no host");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return (rc);
}

int
urlparts_http(const struct urlparts *p)
{
	return (strcasecmp(p->scheme, "http") == 0 ||
	    strcasecmp(p->scheme, "https") == 0);
}

int
urlparts_same_origin(const struct urlparts *a, const struct urlparts *b)
{
	return (strcasecmp(a->scheme, b->scheme) == 0 &&
	    strcasecmp(a->host, b->host) == 0 && a->port == b->port);
}

int
urlallow_check(const char *list, char *why, size_t len)
{
	char *copy, *tok, *save = NULL, e[160];
	int n = 0, rc = 0;

	if (list == NULL || *list == '\0')
		return (0);
	copy = imp_strdup(list);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		n++;
		if (urlparts_usable(tok, e, sizeof e) < 0) {
			snprintf(why, len, "entry %d: %s", n, e);
			rc = -1;
			break;
		}
	}
	imp_free(copy);
	return (rc);
}

struct urlallow *
urlallow_new(const char *list)
{
	struct urlallow *a = imp_calloc(1, sizeof *a);
	char *copy, *tok, *save = NULL;

	if (list == NULL || *list == '\0')
		return (a);
	copy = imp_strdup(list);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		struct urlallow_ent *e;
		struct urlparts p;

		if (urlparts_get(tok, &p) < 0) {
			log_warn("-webhook-allow: cannot parse '%s': ignored", tok);
			continue;
		}
		a->ent = imp_realloc(a->ent, sizeof *a->ent * (size_t)(a->n + 1));
		e = &a->ent[a->n++];
		e->scheme = imp_strdup(p.scheme);
		e->host = imp_strdup(p.host);
		e->path = imp_strdup(p.path);
		e->port = p.port;
		urlparts_free(&p);
	}
	imp_free(copy);
	return (a);
}

void
urlallow_free(struct urlallow *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		imp_free(a->ent[i].scheme);
		imp_free(a->ent[i].host);
		imp_free(a->ent[i].path);
	}
	imp_free(a->ent);
	imp_free(a);
}

int
urlallow_count(const struct urlallow *a)
{
	return (a != NULL ? a->n : 0);
}

int
urlallow_match(const struct urlallow *a, const struct urlparts *p)
{
	int i;

	for (i = 0; a != NULL && i < a->n; i++) {
		const struct urlallow_ent *e = &a->ent[i];
		size_t pl = strlen(e->path);

		if (strcasecmp(e->scheme, p->scheme) != 0 ||
		    strcasecmp(e->host, p->host) != 0 || e->port != p->port)
			continue;
		/* path prefix on a segment boundary */
		if (strncmp(p->path, e->path, pl) == 0 &&
		    (pl == 0 || e->path[pl - 1] == '/' || p->path[pl] == '\0' ||
		    p->path[pl] == '/'))
			return (1);
	}
	return (0);
}
