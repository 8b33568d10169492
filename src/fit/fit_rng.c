/*
 * impcore - fit_rng.c: a small deterministic random generator (xorshift64*
 * with Box-Muller normals), so that restarts and synthetic spectra are the
 * same on every machine and every run.  The state lives in the caller.
 */
#include <math.h>

#include "fit/fit_priv.h"

void
fit_rng_seed(struct fit_rng *r, unsigned long long seed)
{
	/* splitmix64 of the seed: any seed, 0 included, gives a good state. */
	seed += 0x9e3779b97f4a7c15ULL;
	seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ULL;
	seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebULL;
	seed ^= seed >> 31;
	r->s = seed != 0 ? seed : 1;
}

/* Uniform in (0, 1), never 0 or 1. */
double
fit_rng_uniform(struct fit_rng *r)
{
	unsigned long long	x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	x *= 0x2545f4914f6cdd1dULL;
	return (((x >> 11) + 0.5) * (1.0 / 9007199254740992.0));
}

/* Standard normal (Box-Muller; the second value is dropped to keep the
 * state one word). */
double
fit_rng_normal(struct fit_rng *r)
{
	double	u = fit_rng_uniform(r), v = fit_rng_uniform(r);

	return (sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}
