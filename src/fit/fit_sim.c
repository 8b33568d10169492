/*
 * impcore - fit_sim.c: synthetic spectra (impfit --simulate, the tests and
 * tools/bench-fit), with the noise model of reffit.py --simulate.
 */
#include <math.h>

#include "fit/fit_priv.h"

/*
 * n frequencies log-spaced from fmax down to fmin, the model of c at
 * params, plus noise * |Z| * N(0, 1) on each of Z' and Z'' (seeded).
 */
void
impfit_simulate(const struct impfit_circuit *c, const double *params, double fmin,
    double fmax, int n, double noise, unsigned long long seed, double *freq,
    double *zre, double *zim)
{
	struct fit_rng	rng;
	double		m;
	int		i;

	for (i = 0; i < n; i++)
		freq[i] = n > 1 ? exp(log(fmax) + (log(fmin) - log(fmax)) *
		    i / (n - 1.0)) : fmax;
	impfit_circuit_eval(c, params, freq, n, zre, zim);
	if (noise <= 0)
		return;
	fit_rng_seed(&rng, seed);
	for (i = 0; i < n; i++) {
		m = hypot(zre[i], zim[i]);
		zre[i] += noise * m * fit_rng_normal(&rng);
		zim[i] += noise * m * fit_rng_normal(&rng);
	}
}
