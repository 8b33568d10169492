/*
 * impcore - shortest decimal of a double, by Dragonbox (Debian's
 * libdragonbox-dev, header-only C++17).
 *
 * Why a library and why C++: every result carries ~230 numbers, and
 * printf's exact %.17g (glibc's multi-precision printf_fp) was a third
 * of a worker's CPU.  Dragonbox finds the shortest digits that read back
 * to the same double in ~25 ns, proven correct, and is what {fmt} and
 * the C++ standard libraries use.  This file is the only C++ in the tree:
 * one extern "C" function, built without exceptions or RTTI, so nothing
 * of libstdc++ is linked.  The text layout is buf.c's (C) business.
 */
#include "config.h"

#include <dragonbox/dragonbox.h>

#include "lib/dtoa.h"

extern "C" void
dtoa_shortest(double v, uint64_t *digits, int *exp10)
{
	/* v finite, > 0 (callers write the sign and zero themselves) */
	auto r = jkj::dragonbox::to_decimal(v,
	    jkj::dragonbox::policy::sign::ignore,
	    jkj::dragonbox::policy::trailing_zero::remove);

	*digits = r.significand;
	*exp10 = r.exponent;
}
