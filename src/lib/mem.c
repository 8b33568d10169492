/*
 * impcore - allocator wrapper with per-process byte counters.
 *
 * Counts go to this process's stat block (heap_alloc_bytes,
 * heap_freed_bytes), so impctl and /metrics see them; sizes are
 * malloc_usable_size() so a block freed by a library hook counts what was
 * really allocated, whoever allocated it.
 */
#include "config.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/stat.h"

mem_hook_fn *volatile mem_hook;

/* stderr, unformatted: until log_init() installs its own (mem sits below log) */
static void
mem_oom_plain(const char *msg)
{
	size_t l = strlen(msg);

	if (write(STDERR_FILENO, msg, l) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

mem_oom_fn *volatile mem_oom_report = mem_oom_plain;

static void __attribute__((noreturn))
mem_oom(size_t size)
{
	char msg[96];

	/* no allocation here: we are out of memory */
	snprintf(msg, sizeof msg, "out of memory (%zu bytes)", size);
	mem_oom_report(msg);
	abort();
}

static inline void
mem_count_alloc(void *p)
{
	size_t sz = malloc_usable_size(p);
	mem_hook_fn *h;

	stat_add(STAT_heap_alloc_bytes, sz);
	stat_add(STAT_heap_allocs, 1);
	h = mem_hook;
	if (h != NULL)
		h(p, sz, 0);
}

static inline void
mem_count_free(void *p)
{
	size_t sz = malloc_usable_size(p);
	mem_hook_fn *h;

	stat_add(STAT_heap_freed_bytes, sz);
	h = mem_hook;
	if (h != NULL)
		h(p, sz, 1);
}

void *
imp_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		mem_oom(size);
	mem_count_alloc(p);
	return (p);
}

void *
imp_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		mem_oom(n * size);
	mem_count_alloc(p);
	return (p);
}

void *
imp_realloc(void *old, size_t size)
{
	void *p;

	if (old == NULL)
		return (imp_malloc(size));
	if (size == 0)
		size = 1;
	mem_count_free(old);
	p = realloc(old, size);
	if (p == NULL)
		mem_oom(size);
	mem_count_alloc(p);
	return (p);
}

void
imp_free(void *p)
{
	if (p == NULL)
		return;
	mem_count_free(p);
	free(p);
}

char *
imp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = imp_malloc(n);

	memcpy(p, s, n);
	return (p);
}

char *
imp_strndup(const char *s, size_t n)
{
	size_t l = strnlen(s, n);
	char *p = imp_malloc(l + 1);

	memcpy(p, s, l);
	p[l] = '\0';
	return (p);
}

int
imp_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*out = imp_strdup("");
		return (0);
	}
	*out = imp_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return (n);
}

uint64_t
mem_allocated(void)
{
	return (stat_self->c[STAT_heap_alloc_bytes]);
}

uint64_t
mem_freed(void)
{
	return (stat_self->c[STAT_heap_freed_bytes]);
}

int64_t
mem_in_use(void)
{
	return ((int64_t)(mem_allocated() - mem_freed()));
}

void
mem_malloc_info(uint64_t *inuse, uint64_t *held)
{
#ifdef HAVE_MALLINFO2
	struct mallinfo2 mi = mallinfo2();

	*inuse = mi.uordblks + mi.hblkhd;
	*held = mi.arena + mi.hblkhd;
#else
	*inuse = *held = 0;
#endif
}

uint64_t
mem_rss(void)
{
	FILE *f;
	unsigned long size, rss;

	f = fopen("/proc/self/statm", "re");
	if (f == NULL)
		return (0);
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return ((uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE));
}

int
mem_trim(void)
{
#ifdef HAVE_MALLOC_TRIM
	return (malloc_trim(0));
#else
	return (0);
#endif
}
