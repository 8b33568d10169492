/*
 * impcore - what a process turns on in itself and the dump of its own stack.
 *
 * prof_enable() starts heap sampling and contention recording; the ctl
 * handlers (daemon/prof_ctl.c) call it when the profiler asks, the
 * profiler process for itself.  prof_stack_dump() writes the caller's
 * stack, symbolized with dladdr (the profiler's goroutine view).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prof/prof.h"
#include "prof/prof_priv.h"

static int	prof_on;

void
prof_enable(uint64_t rate)
{
	const char *env;

	if (rate == 0) {
		rate = PROF_HEAP_RATE;
		/* tests may want denser samples, benchmarks none ("off") */
		env = getenv("IMPCORE_HEAP_RATE");
		if (env != NULL && strtoull(env, NULL, 10) > 0)
			rate = strtoull(env, NULL, 10);
		else if (env != NULL && strcmp(env, "off") == 0)
			rate = UINT64_MAX;
	}
	if (rate != UINT64_MAX)
		prof_heap_start(rate);
	prof_cont_start();
	prof_on = 1;
}

int
prof_enabled(void)
{
	return (prof_on);
}

int __attribute__((noinline))
prof_stack_dump(const char *path, int skip, uint64_t *nrec)
{
	uintptr_t pcs[PROF_MAX_DEPTH];
	struct prof_out o;
	Dl_info info;
	int n, i;

	*nrec = 0;
	n = prof_backtrace(pcs, PROF_MAX_DEPTH, skip + 1);
	if (prof_out_open(&o, path) != 0)
		return (o.err);
	for (i = 0; i < n; i++) {
		const char *mod = "?";

		if (dladdr((void *)pcs[i], &info) == 0) {
			prof_out_printf(&o, "%#lx ? (?)\n", (unsigned long)pcs[i]);
			continue;
		}
		if (info.dli_fname != NULL) {
			mod = strrchr(info.dli_fname, '/');
			mod = mod != NULL ? mod + 1 : info.dli_fname;
		}
		if (info.dli_sname != NULL)
			prof_out_printf(&o, "%#lx %s+%#lx (%s)\n",
			    (unsigned long)pcs[i], info.dli_sname,
			    (unsigned long)(pcs[i] - (uintptr_t)info.dli_saddr),
			    mod);
		else
			prof_out_printf(&o, "%#lx ? (%s)\n",
			    (unsigned long)pcs[i], mod);
	}
	*nrec = (uint64_t)n;
	return (prof_out_close(&o));
}
