/*
 * impcore - tests/test-fit-held.c: constraints at random (issue 15, part
 * 3).  Circuits of one to three arcs, each parameter free, held or bounded
 * at random around a random truth, with a weighting, method, start and
 * iteration cap at random: whatever the fit ends with, a held
 * parameter is exactly its value, a bounded one is inside its bounds, and
 * the parameters reported give the chi-square reported (653989c: with a
 * parameter held, they once came from another start's slot).  Fixed seeds,
 * then one random seed, printed (IMPCORE_TEST_SEED=N repeats it).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS	30
#define ROUNDS	100		/* fits per seed */

static const char *codes[] = {
	"R(RC)", "R(QR)", "R(QR)(QR)", "R(QR)W", "R(CR)(QR)W", "RC",
	"R(RL)", "R(QR)(QR)(QR)",
};

static uint64_t rng;

static double
uni(void)	/* [0, 1): xorshift64*, enough for a test */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((rng * 2685821657736338717ULL >> 11) * 0x1p-53);
}

static void
one(struct impfit_workspace *ws, unsigned long long seed, int round)
{
	struct impfit_circuit	*c;
	struct impfit_options	 o;
	struct impfit_result	 r;
	double			 t[IMPFIT_MAX_PARAMS], lo[IMPFIT_MAX_PARAMS];
	double			 hi[IMPFIT_MAX_PARAMS], f[NPTS], zr[NPTS];
	double			 zi[NPTS], chi, u, init[IMPFIT_MAX_PARAMS];
	const char		*code;
	char			 err[128];
	int			 i, np, kind[IMPFIT_MAX_PARAMS];

	code = codes[(int)(uni() * (sizeof codes / sizeof codes[0]))];
	c = impfit_circuit_parse(code, err, sizeof err);
	if (c == NULL) {
		CHECK(0, "%s: %s", code, err);
		return;
	}
	np = impfit_circuit_nparams(c);
	for (i = 0; i < np; i++) {
		if (impfit_circuit_param_is_exponent(c, i))
			t[i] = 0.5 + 0.5 * uni();
		else
			t[i] = pow(10, -6 + 9 * uni());
	}
	impfit_simulate(c, t, 0.01, 1e5, NPTS, 0.01 * uni(),
	    (unsigned)(uni() * 1000), f, zr, zi);
	for (i = 0; i < np; i++) {
		lo[i] = hi[i] = NAN;
		u = uni();
		kind[i] = u < 0.25 ? 1 : u < 0.5 ? 2 : 0;
		if (kind[i] == 1)		/* held, often away from truth */
			lo[i] = hi[i] = t[i] * (0.5 + 1.5 * uni());
		else if (kind[i] == 2) {	/* bounded around the truth */
			lo[i] = t[i] * (0.2 + 0.8 * uni());
			hi[i] = t[i] * (1 + 4 * uni());
		}
		if (impfit_circuit_param_is_exponent(c, i)) {
			if (hi[i] > 1)
				hi[i] = 1;
			if (lo[i] > 1)
				lo[i] = hi[i] = 1;
		}
	}
	impfit_options_default(&o);
	o.lower = lo;
	o.upper = hi;
	/* the other options at random too: what is reported must not depend
	 * on the path the fit took */
	o.weighting = (enum impfit_weighting)(int)(uni() * 3);
	if (uni() < 0.15)
		o.method = IMPFIT_METHOD_NM;
	if (uni() < 0.2)
		o.max_iterations = 1 + (int)(uni() * 300);
	if (uni() < 0.2)
		o.restarts = (int)(uni() * 6);
	if (uni() < 0.3) {	/* the caller's start, anywhere */
		for (i = 0; i < np; i++)
			init[i] = impfit_circuit_param_is_exponent(c, i) ?
			    0.05 + 0.95 * uni() : t[i] * pow(10, -1 + 2 * uni());
		o.init = init;
	}
	impfit_run(c, f, zr, zi, NPTS, &o, ws, &r);
	CHECK(r.status != IMPFIT_BAD_INPUT, "seed %#llx round %d %s: bad input: "
	    "%s", seed, round, code, r.error);
	if (r.status == IMPFIT_BAD_INPUT || r.status == IMPFIT_DIVERGED)
		goto out;
	for (i = 0; i < np; i++) {
		if (kind[i] == 1)
			CHECK(r.params[i] == lo[i] && isnan(r.std_errors[i]),
			    "seed %#llx round %d %s: p%d %.17g held at %.17g",
			    seed, round, code, i, r.params[i], lo[i]);
		else if (!isnan(lo[i]))
			CHECK(r.params[i] >= lo[i] && r.params[i] <= hi[i],
			    "seed %#llx round %d %s: p%d %.17g not in "
			    "[%.17g, %.17g]", seed, round, code, i,
			    r.params[i], lo[i], hi[i]);
	}
	chi = impfit_chi_square(c, r.params, f, zr, zi, NPTS, o.weighting);
	CHECK(fabs(chi - r.chi_square) <= 1e-9 * fmax(r.chi_square, 1e-300),
	    "seed %#llx round %d %s: the parameters reported give chi-square "
	    "%.17g, the fit reported %.17g", seed, round, code, chi,
	    r.chi_square);
out:
	impfit_circuit_free(c);
}

int
main(void)
{
	static const unsigned long long fixed[] = { 1, 2, 3, 0x5eed };
	struct impfit_workspace	*ws;
	unsigned long long	 seed;
	size_t			 k;
	int			 i;

	ws = impfit_workspace_new(NPTS, IMPFIT_MAX_PARAMS);
	for (k = 0; k <= sizeof fixed / sizeof fixed[0]; k++) {
		if (k < sizeof fixed / sizeof fixed[0])
			seed = fixed[k];
		else if (getenv("IMPCORE_TEST_SEED") != NULL)
			seed = strtoull(getenv("IMPCORE_TEST_SEED"), NULL, 0);
		else
			seed = (unsigned long long)time(NULL) ^
			    (unsigned long long)clock();
		printf("# seed %#llx%s\n", seed, k < sizeof fixed /
		    sizeof fixed[0] ? "" : " (random; IMPCORE_TEST_SEED="
		    "it repeats it)");
		rng = seed * 0x9e3779b97f4a7c15ULL | 1;
		for (i = 0; i < ROUNDS; i++)
			one(ws, seed, i);
	}
	impfit_workspace_free(ws);
	return (test_done("test-fit-held"));
}
