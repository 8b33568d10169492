/*
 * impcore - shortest round-trip decimal of a double (dtoa.cc, Dragonbox).
 */
#ifndef IMP_DTOA_H
#define IMP_DTOA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * v (finite, > 0) = digits x 10^exp10 with the fewest digits that read
 * back as v, the closest to v among those; digits has no trailing zeros.
 */
void dtoa_shortest(double v, uint64_t *digits, int *exp10);

#ifdef __cplusplus
}
#endif

#endif /* IMP_DTOA_H */
