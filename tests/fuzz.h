/*
 * impcore - what the fuzz and property tests share: xorshift64* and a
 * monotonic clock.  Define FUZZ_SEED (the test's fixed first seed) before
 * including; a test then replays its fixed seeds and one printed random
 * seed by setting rng.  Static: each test is one translation unit.
 */
#ifndef IMP_TEST_FUZZ_H
#define IMP_TEST_FUZZ_H

#include <stdint.h>
#include <time.h>

static uint64_t	rng = FUZZ_SEED;

/* xorshift64*: fast, and the same sequence on every machine */
static inline uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 0x2545f4914f6cdd1dull);
}

/* Seconds on the monotonic clock (time budgets of the random rounds). */
static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

#endif /* IMP_TEST_FUZZ_H */
