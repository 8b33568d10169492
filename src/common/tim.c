/*
 * impcore - clocks and time formats.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tim.h"

uint64_t
tim_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * TIM_SEC + (uint64_t)ts.tv_nsec);
}

uint64_t
tim_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * TIM_SEC + (uint64_t)ts.tv_nsec);
}

char *
tim_rfc3339(uint64_t real_ns, int frac, char *buf, size_t len)
{
	time_t t = (time_t)(real_ns / TIM_SEC);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(buf, len, "%s.%09uZ", s, (unsigned)(real_ns % TIM_SEC));
	else
		snprintf(buf, len, "%sZ", s);
	return (buf);
}

/* Go's time.ParseDuration units, plus "d" which users type anyway. */
static const struct {
	const char	*unit;
	double		ns;
} tim_units[] = {
	{ "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 },
	{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 },
};

int
tim_parse_duration(const char *s, uint64_t *out)
{
	double total = 0, v;
	char *end;
	size_t i, best, l;
	int any = 0;

	if (s == NULL || *s == '\0')
		return (-1);
	/* a bare number is seconds */
	v = strtod(s, &end);
	if (end != s && *end == '\0') {
		if (!(v >= 0) || v > 1e10)
			return (-1);
		*out = (uint64_t)(v * 1e9);
		return (0);
	}
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return (-1);
		v = strtod(s, &end);
		if (end == s || !(v >= 0))
			return (-1);
		s = end;
		best = sizeof tim_units / sizeof tim_units[0];
		l = 0;
		for (i = 0; i < sizeof tim_units / sizeof tim_units[0]; i++) {
			size_t ul = strlen(tim_units[i].unit);
			if (strncmp(s, tim_units[i].unit, ul) == 0 && ul > l) {
				best = i;
				l = ul;
			}
		}
		if (l == 0)
			return (-1);
		total += v * tim_units[best].ns;
		s += l;
		any = 1;
	}
	if (!any || total > 1e19)
		return (-1);
	*out = (uint64_t)total;
	return (0);
}

char *
tim_format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns % (3600 * TIM_SEC) == 0 && ns != 0)
		snprintf(buf, len, "%juh", (uintmax_t)(ns / (3600 * TIM_SEC)));
	else if (ns % (60 * TIM_SEC) == 0 && ns != 0)
		snprintf(buf, len, "%jum", (uintmax_t)(ns / (60 * TIM_SEC)));
	else if (ns % TIM_SEC == 0)
		snprintf(buf, len, "%jus", (uintmax_t)(ns / TIM_SEC));
	else if (ns % TIM_MS == 0)
		snprintf(buf, len, "%jums", (uintmax_t)(ns / TIM_MS));
	else
		snprintf(buf, len, "%.6gs", ns / 1e9);
	return (buf);
}
