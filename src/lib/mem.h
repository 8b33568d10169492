/*
 * impcore - allocator wrapper with per-process byte counters.
 *
 * All project code allocates with imp_*; daemon/hooks.h routes jansson,
 * libevent and libcurl through the same functions (mem itself links none
 * of them: impctl does not need them).  Allocation failure is fatal (sizes
 * are bounded by the configured limits before we allocate).
 */
#ifndef IMP_MEM_H
#define IMP_MEM_H

#include <stddef.h>
#include <stdint.h>

void *imp_malloc(size_t size);
void *imp_calloc(size_t n, size_t size);
void *imp_realloc(void *p, size_t size);
void imp_free(void *p);
char *imp_strdup(const char *s);
char *imp_strndup(const char *s, size_t n);
int imp_asprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* This process: bytes allocated and freed so far (heap_*_bytes counters). */
uint64_t mem_allocated(void);
uint64_t mem_freed(void);
/* allocated - freed */
int64_t mem_in_use(void);

/* malloc's own view (mallinfo2): bytes in use, bytes held from the OS. */
void mem_malloc_info(uint64_t *inuse, uint64_t *held);
/* Resident set size of this process, bytes (from /proc/self/statm). */
uint64_t mem_rss(void);
/* malloc_trim(0); returns what it returned. */
int mem_trim(void);

/*
 * Sampling hook for heap profiles (the profiler sets it in a child).  Called
 * after each allocation with the block and its usable size, and before each
 * free with is_free = 1.  Must not allocate through imp_*.  NULL: off.
 */
typedef void mem_hook_fn(void *p, size_t size, int is_free);
extern mem_hook_fn *volatile mem_hook;

/*
 * How the out-of-memory line is written before abort(): plain to stderr
 * until log.c installs its own formatter (log sits above mem, so mem cannot
 * call it).  Must be async-signal-safe and must not allocate.
 */
typedef void mem_oom_fn(const char *msg);
extern mem_oom_fn *volatile mem_oom_report;

#endif /* IMP_MEM_H */
