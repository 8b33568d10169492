/*
 * impcore - tim_rfc3339 (src/lib/tim.c, civil date computed by hand)
 * against gmtime_r + strftime as the oracle: random instants from 1970 to
 * past 9999 (where the libc path takes over), every day boundary of the
 * leap years around 2000 and 2100, with and without the ns digits, and a
 * buffer too short for the fast path.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/tim.h"

static long	nfail, nchecked;

static void
check(uint64_t ns, int frac)
{
	char got[48], want[64], s[40];
	time_t t = (time_t)(ns / TIM_SEC);
	struct tm tm;

	nchecked++;
	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(want, sizeof want, "%s.%09uZ", s, (unsigned)(ns % TIM_SEC));
	else
		snprintf(want, sizeof want, "%sZ", s);
	tim_rfc3339(ns, frac, got, sizeof got);
	if (strcmp(got, want) != 0 && nfail++ < 20)
		printf("not ok: %llu frac=%d: got %s want %s\n",
		    (unsigned long long)ns, frac, got, want);
}

static uint64_t
rnd64(void)
{
	return ((uint64_t)random() << 42 ^ (uint64_t)random() << 21 ^
	    (uint64_t)random());
}

int
main(void)
{
	/* 253402300800 s: 10000-01-01T00:00:00Z */
	const uint64_t top = 253402300800ull + 86400ull * 800;
	char small[20];
	uint64_t s;
	int i;

	srandom(12345);
	for (i = 0; i < 1000000; i++) {
		s = rnd64() % top;
		check(s * TIM_SEC + rnd64() % TIM_SEC, i & 1);
	}
	/* every day boundary (and the second before it), 1999-2001 and 2099-2101 */
	for (s = 915148800ull; s < 1009843200ull; s += 86400) {
		check(s * TIM_SEC, 1);
		check((s - 1) * TIM_SEC + 999999999, 0);
	}
	for (s = 4070908800ull; s < 4165603200ull; s += 86400) {
		check(s * TIM_SEC, 0);
		check((s - 1) * TIM_SEC, 1);
	}
	check(0, 1);
	check(0, 0);
	check(253402300799ull * TIM_SEC + 999999999, 1);	/* 9999-12-31T23:59:59 */
	check(253402300800ull * TIM_SEC, 1);			/* 10000: libc */
	/* too short for the fast path: libc's truncation, still terminated */
	tim_rfc3339(1700000000ull * TIM_SEC, 1, small, sizeof small);
	nchecked++;
	if (strcmp(small, "2023-11-14T22:13:20") != 0 && nfail++ < 20)
		printf("not ok: short buffer: %s\n", small);
	printf("%ld checked, %ld failed\n", nchecked, nfail);
	return (nfail == 0 ? 0 : 1);
}
