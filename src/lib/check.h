/*
 * impcore - object magic numbers, checked (Varnish's CHECK_OBJ).
 *
 * An object with a magic number sets it when it is made and clears it when
 * it is freed; every public entry point taking one checks it first, so a
 * stale, freed or stray pointer fails at the call that got it, with the
 * place in the log, instead of as corruption found later somewhere else.
 * A failed check is a bug in impcore, never bad input (input gets an error
 * answer): it writes one line and aborts, the master respawns the process
 * and the core shows the stack.
 */
#ifndef IMP_CHECK_H
#define IMP_CHECK_H

#include <stddef.h>
#include <stdint.h>

void check_failed(const char *file, int line, const char *func,
    const char *expr, uint64_t got, uint64_t want)
    __attribute__((noreturn, cold));

/* p->magic must be m. */
#define CHECK_OBJ(p, m) do {						\
	if (__builtin_expect((p)->magic != (m), 0))			\
		check_failed(__FILE__, __LINE__, __func__, #p,		\
		    (uint64_t)(p)->magic, (uint64_t)(m));		\
} while (0)

/* p must not be NULL and p->magic must be m. */
#define CHECK_OBJ_NOTNULL(p, m) do {					\
	if (__builtin_expect((p) == NULL, 0))				\
		check_failed(__FILE__, __LINE__, __func__, #p " (NULL)",	\
		    0, (uint64_t)(m));					\
	CHECK_OBJ(p, m);						\
} while (0)

#endif /* IMP_CHECK_H */
