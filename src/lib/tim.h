/*
 * impcore - clocks and time formats.
 */
#ifndef IMP_TIM_H
#define IMP_TIM_H

#include <stddef.h>
#include <stdint.h>

#define TIM_SEC		1000000000ull
#define TIM_MS		1000000ull

uint64_t tim_real(void);	/* CLOCK_REALTIME, ns */
uint64_t tim_mono(void);	/* CLOCK_MONOTONIC, ns */
/* RFC 3339 UTC with ns digits ("2025-01-01T12:00:00.123456789Z") or, with
 * frac 0, seconds only.  Returns buf. */
char *tim_rfc3339(uint64_t real_ns, int frac, char *buf, size_t len);
/*
 * Parse a Go-style duration: "24h", "1.5s", "500ms", "1h30m", "250us",
 * "10ns", or a bare number of seconds.  0 ok (ns in *out), -1 bad.
 */
int tim_parse_duration(const char *s, uint64_t *out);
/* Format ns as a Go-style duration ("1h0m0s" style is not needed: "24h", "1s", "250ms"). */
char *tim_format_duration(uint64_t ns, char *buf, size_t len);

#endif /* IMP_TIM_H */
