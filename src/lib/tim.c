/*
 * impcore - clocks and time formats.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/tim.h"

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

/*
 * Every result rendered (a webhook body each) carries one of these, and
 * strftime + snprintf cost more than the rest of the date: the civil date
 * is computed here (H. Hinnant's days-to-civil) and the digits written by
 * buf_digits_at.  Years outside 1000-9999 and short buffers take the libc path,
 * which writes the same text for the others.
 */
char *
tim_rfc3339(uint64_t real_ns, int frac, char *buf, size_t len)
{
	uint64_t secs = real_ns / TIM_SEC, z, era, doe, yoe, doy, mp, y;
	unsigned sod, mon, day;
	char *o = buf;

	z = secs / 86400 + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y = yoe + era * 400 + (mon <= 2);
	if (y < 1000 || y > 9999 || len < (frac ? 31u : 21u)) {
		time_t t = (time_t)secs;
		struct tm tm;
		char s[32];

		gmtime_r(&t, &tm);
		strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
		if (frac)
			snprintf(buf, len, "%s.%09uZ", s,
			    (unsigned)(real_ns % TIM_SEC));
		else
			snprintf(buf, len, "%sZ", s);
		return (buf);
	}
	sod = (unsigned)(secs % 86400);
	o = buf_digits_at(o, (uint32_t)y, 4);
	*o++ = '-';
	o = buf_digits_at(o, mon, 2);
	*o++ = '-';
	o = buf_digits_at(o, day, 2);
	*o++ = 'T';
	o = buf_digits_at(o, sod / 3600, 2);
	*o++ = ':';
	o = buf_digits_at(o, sod / 60 % 60, 2);
	*o++ = ':';
	o = buf_digits_at(o, sod % 60, 2);
	if (frac) {
		*o++ = '.';
		o = buf_digits_at(o, (uint32_t)(real_ns % TIM_SEC), 9);
	}
	*o++ = 'Z';
	*o = '\0';
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
