/*
 * impcore - what the prof_*.c files share.  NB: NOT A PUBLIC API.
 */
#ifndef IMP_PROF_PRIV_H
#define IMP_PROF_PRIV_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#define PROF_MAX_DEPTH		64	/* frames kept per CPU sample */
#define PROF_STACK_DEPTH	32	/* frames kept per heap/contention site */

/*
 * Return addresses of the caller's stack, innermost first, after dropping
 * skip frames (prof_backtrace's own frame is never included).  Safe in the
 * allocator hook; does not allocate.
 */
int prof_backtrace(uintptr_t *pcs, int max, int skip);

/*
 * In a signal handler: pcs[0] is the interrupted instruction, then the
 * return addresses of its callers.  uc is the handler's ucontext.  Uses
 * only the unwinder (warmed up by prof_ctl_register), no locks, no allocation.
 */
int prof_backtrace_signal(void *uc, uintptr_t *pcs, int max);

/* FNV-1a over a stack: table keys. */
static inline uint64_t
prof_stack_hash(const uintptr_t *pcs, int n, uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;
	int i;

	for (i = 0; i < n; i++) {
		h ^= (uint64_t)pcs[i];
		h *= 1099511628211ull;
	}
	h ^= h >> 29;
	return (h);
}

/*
 * A spin lock for the sampling tables: the allocator hook may run in a
 * library's thread (libcurl's resolver), and a pthread mutex would be a
 * libc call per free.  Held for a few table operations only.
 */
static inline void
prof_spin_lock(int *l)
{
	int spins = 0;

	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) != 0) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED) != 0)
			if (++spins > 200) {
				sched_yield();
				spins = 0;
			}
	}
}

static inline void
prof_spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Buffered writer for dump files (stdio would allocate through malloc: fine, but
 * we want one code path that works while holding a sampling lock). */
struct prof_out {
	int	fd;
	int	err;		/* first errno, 0 ok */
	size_t	len;
	char	buf[8192];
};

/* Create path (0600, replacing a stale one); 0 ok or errno. */
int prof_out_open(struct prof_out *o, const char *path);
void prof_out_write(struct prof_out *o, const void *p, size_t n);
void prof_out_printf(struct prof_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void prof_out_stack(struct prof_out *o, const uintptr_t *pcs, int n);
/* Flush and close; returns the first errno or 0. */
int prof_out_close(struct prof_out *o);

uint64_t prof_real_ns(void);

/* prof_heap.c, prof_cont.c: start sampling (prof_enable). */
void prof_heap_start(uint64_t rate);
void prof_cont_start(void);

#endif /* IMP_PROF_PRIV_H */
