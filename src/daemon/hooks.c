/*
 * impcore - the libraries' allocations through imp_* (mem.h).
 *
 * jansson, libevent and libcurl allocate with our functions, so their bytes
 * show in each process's heap counters and heap profiles.  This lives in
 * the daemon layer, not in mem.c: only impsolverd's processes link these
 * libraries, and mem sits below everything (impctl links mem, not them).
 */
#include "config.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "daemon/hooks.h"
#include "lib/log.h"
#include "lib/mem.h"

/* libcurl wants its own signatures. */
static void *
hooks_curl_malloc(size_t size)
{
	return (imp_malloc(size));
}

static void
hooks_curl_free(void *p)
{
	imp_free(p);
}

static void *
hooks_curl_realloc(void *p, size_t size)
{
	return (imp_realloc(p, size));
}

static char *
hooks_curl_strdup(const char *s)
{
	return (imp_strdup(s));
}

static void *
hooks_curl_calloc(size_t n, size_t size)
{
	return (imp_calloc(n, size));
}

void
hooks_install(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	json_set_alloc_funcs(imp_malloc, imp_free);
	event_set_mem_functions(imp_malloc, imp_realloc, imp_free);
	/* curl_global_init* is once per process; children never inherit one */
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, hooks_curl_malloc,
	    hooks_curl_free, hooks_curl_realloc, hooks_curl_strdup,
	    hooks_curl_calloc) != CURLE_OK)
		log_warn("curl_global_init_mem() failed");
}

