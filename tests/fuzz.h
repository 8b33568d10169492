/*
 * impcore - what the fuzz and property tests share: xorshift64* and a
 * monotonic clock.  Define FUZZ_SEED (the test's fixed first seed) before
 * including; a test then replays its fixed seeds and one printed random
 * seed by setting rng.  Static: each test is one translation unit.
 * fuzz_show() prints a failing input, bytes escaped, the first ten only.
 */
#ifndef IMP_TEST_FUZZ_H
#define IMP_TEST_FUZZ_H

#include <stdint.h>
#include <stdio.h>
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

/*
 * A failure: counted in *count; the first ten printed with the input t
 * (what it is: "head", "text"), printable bytes as they are, the rest as
 * \xNN, cut at 400 bytes.
 */
static inline void
fuzz_show(long *count, const char *why, const char *what, const char *t,
    size_t len)
{
	size_t i;

	if ((*count)++ >= 10)
		return;
	printf("not ok: %s; %s (%zu bytes): \"", why, what, len);
	for (i = 0; i < len && i < 400; i++)
		if (t[i] >= 0x20 && t[i] < 0x7f && t[i] != '\\')
			putchar(t[i]);
		else
			printf("\\x%02x", (unsigned char)t[i]);
	printf("%s\"\n", len > 400 ? "..." : "");
}

#endif /* IMP_TEST_FUZZ_H */
