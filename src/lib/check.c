/*
 * impcore - a failed object check: one line, then abort().
 *
 * No allocation and no stdio buffering (the heap may be what is broken):
 * the line is built on the stack and written by log_from_handler().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/check.h"
#include "lib/log.h"

void
check_failed(const char *file, int line, const char *func, const char *expr,
    uint64_t got, uint64_t want)
{
	char msg[256];

	snprintf(msg, sizeof msg, "bad object %s in %s (%s:%d): magic %#llx, "
	    "want %#llx", expr, func, file, line, (unsigned long long)got,
	    (unsigned long long)want);
	log_from_handler(msg);
	abort();
}
