/*
 * impcore - tests/test-fit-budget.c: the budget of a fit (issue 12).
 * max_seconds ends a slow fit in about its budget with IMPFIT_TIMEOUT and the
 * best finite parameters of all starts; max_iterations caps the iterations
 * of all starts together; and without a budget a fit is what it was before
 * the budget existed, bit for bit.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define MAXPTS	1024

/*
 * Default fits, and what the engine gave for them before the budget
 * (218c67b): status, iterations, evaluations, chi-square and parameters as
 * hex floats.  The spectra are impfit_simulate()'s with 1% noise.  The counts
 * of iterations and evaluations are those of the early stop of issue 19
 * (fewer starts, the same answers to the bit).
 */
static const struct {
	const char	*code;
	double		 p[8];
	int		 method, weighting, npts;
	unsigned long long seed;
	int		 status, iterations, evaluations;
	double		 chi2, want[8];
} same[] = {
	{ "R(QR)", { 10, 1e-4, 0.85, 100 }, IMPFIT_METHOD_LM, IMPFIT_WEIGHT_MODULUS,
	    50, 3, 0, 4, 8, 0x1.a07f5aaee1352p-13,
	    { 0x1.3f3cc5e03407bp+3, 0x1.a279383504a87p-14,
	    0x1.b329a54350edcp-1, 0x1.8ffd8c258ae57p+6 } },
	{ "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 }, IMPFIT_METHOD_LM,
	    IMPFIT_WEIGHT_MODULUS, 60, 5, 0, 38, 50, 0x1.8132d440a5c4bp-13,
	    { 0x1.419b5f257fc87p+3, 0x1.49f84a770d3b4p-17,
	    0x1.cdf16e056081bp-1, 0x1.8f55faffe811fp+5,
	    0x1.04f910c89b576p-10, 0x1.99c2c7ab0868ap-1,
	    0x1.901cdc8a6ce76p+7 } },
	{ "R(RC)W", { 10, 100, 1e-5, 1e-2 }, IMPFIT_METHOD_LM,
	    IMPFIT_WEIGHT_PROPORTIONAL, 40, 7, 0, 51, 56, 0x1.efc95e756cf6dp-8,
	    { 0x1.3f9829a78872p+3, 0x1.90678ea5715f5p+6, 0x1.4c754384231f5p-17,
	    0x1.40ecd4453958fp-7 } },
	{ "RL(QR)", { 10, 1e-6, 1e-4, 0.85, 100 }, IMPFIT_METHOD_NM,
	    IMPFIT_WEIGHT_MODULUS, 50, 9, 0, 920, 1723, 0x1.85626987b65bdp-13,
	    { 0x1.408c6a808710ep+3, 0x1.0a381f7e84814p-20,
	    0x1.a29dcb0c55d5ap-14, 0x1.b3150c506afc4p-1,
	    0x1.91e87000d2f9bp+6 } },
	{ "R(CR)", { 10, 1e-5, 100 }, IMPFIT_METHOD_NM, IMPFIT_WEIGHT_UNITY, 23, 11,
	    0, 747, 1373, 0x1.42516442e318p+0,
	    { 0x1.3f9bb736570c1p+3, 0x1.4f691e7d1d0c4p-17,
	    0x1.916badcaa11b7p+6 } },
};

/* The slow case of issue 12: a minute of Nelder-Mead before the budget. */
static const char	slow_code[] = "R(QR)(WC)(LO)(TG)F";
static const double	slow_p[] = { 10, 1e-4, 0.85, 100, 1e-2, 1e-5, 1e-6,
    1e-2, 1, 1e-2, 1, 1e-3, 10, 1e-3, 10, 0.7 };

static double	f[MAXPTS], zr[MAXPTS], zi[MAXPTS];

static double
mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec * 1e-9);
}

/* Bit for bit what the engine gave before, and again with a budget too
 * large to bind (the clock reads must not change a number). */
static void
test_same(void)
{
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 r, rb;
	char			 err[128];
	size_t			 i;
	int			 j, np;

	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		c = impfit_circuit_parse(same[i].code, err, sizeof err);
		np = impfit_circuit_nparams(c);
		ws = impfit_workspace_new(MAXPTS, np);
		impfit_simulate(c, same[i].p, 0.1, 1e5, same[i].npts, 0.01,
		    same[i].seed, f, zr, zi);
		impfit_options_default(&o);
		CHECK(o.max_seconds == 0 && o.max_iterations == 0,
		    "impfit_options_default sets a budget");
		o.method = same[i].method;
		o.weighting = same[i].weighting;
		impfit_run(c, f, zr, zi, same[i].npts, &o, ws, &r);
		CHECK((int)r.status == same[i].status &&
		    r.iterations == same[i].iterations &&
		    r.evaluations == same[i].evaluations &&
		    r.chi_square == same[i].chi2, "%s: %s, %d iterations, %d "
		    "evaluations, chi2 %a; before: %d, %d, %d, %a",
		    same[i].code, impfit_status_name(r.status), r.iterations,
		    r.evaluations, r.chi_square, same[i].status,
		    same[i].iterations, same[i].evaluations, same[i].chi2);
		for (j = 0; j < np; j++)
			CHECK(r.params[j] == same[i].want[j], "%s: %s = %a, "
			    "was %a", same[i].code, impfit_circuit_param_name(c,
			    j), r.params[j], same[i].want[j]);

		o.max_seconds = 1e6;
		o.max_iterations = 1000000;
		impfit_run(c, f, zr, zi, same[i].npts, &o, ws, &rb);
		CHECK(rb.status == r.status && rb.iterations ==
		    r.iterations && rb.evaluations == r.evaluations &&
		    memcmp(rb.params, r.params, np * sizeof r.params[0]) == 0 &&
		    rb.chi_square == r.chi_square, "%s: a budget that does "
		    "not bind changed the fit", same[i].code);
		printf("same %-12s %-19s %5d iterations, chi2 %.6g\n",
		    same[i].code, impfit_method_name(o.method), r.iterations,
		    r.chi_square);
		impfit_workspace_free(ws);
		impfit_circuit_free(c);
	}
}

/*
 * One fit of the slow case with max_seconds budget from the start init
 * (the true values times 1.5, 0.7 for exponents).  Checks the answer; the
 * return value is the overshoot past the budget in seconds.
 */
static double
slow_fit(const struct impfit_circuit *c, struct impfit_workspace *ws,
    enum impfit_method m, double budget, struct impfit_result *r)
{
	struct impfit_options	 o;
	double			 init[16], chi0, chi, t0, wall;
	int			 j, np = impfit_circuit_nparams(c);

	for (j = 0; j < np; j++)
		init[j] = slow_p[j] * (impfit_circuit_param_is_exponent(c, j) ?
		    0.7 : 1.5);
	chi0 = impfit_chi_square(c, init, f, zr, zi, MAXPTS, IMPFIT_WEIGHT_MODULUS);
	impfit_options_default(&o);
	o.method = m;
	o.max_iterations = 100000;
	o.max_seconds = budget;
	o.init = init;
	t0 = mono();
	impfit_run(c, f, zr, zi, MAXPTS, &o, ws, r);
	wall = mono() - t0;
	CHECK(r->status == IMPFIT_TIMEOUT, "%s %g s: status %s, %d iterations "
	    "in %.3f s", impfit_method_name(m), budget,
	    impfit_status_name(r->status), r->iterations, r->seconds);
	CHECK(wall >= budget && r->seconds >= budget, "%s %g s: ended after "
	    "%.6f s", impfit_method_name(m), budget, wall);
	for (j = 0; j < np; j++) {
		CHECK(isfinite(r->params[j]) && r->params[j] > 0, "%s: %s = %g",
		    impfit_method_name(m), impfit_circuit_param_name(c, j),
		    r->params[j]);
		CHECK(isnan(r->std_errors[j]) || (isfinite(r->std_errors[j]) &&
		    r->std_errors[j] >= 0), "%s: std error of %s: %g",
		    impfit_method_name(m), impfit_circuit_param_name(c, j),
		    r->std_errors[j]);
	}
	/* The chi-square reported is that of the parameters returned, and
	 * the best of all starts is no worse than the caller's start. */
	chi = impfit_chi_square(c, r->params, f, zr, zi, MAXPTS,
	    IMPFIT_WEIGHT_MODULUS);
	CHECK(isfinite(r->chi_square) && fabs(r->chi_square / chi - 1) < 1e-9,
	    "%s: chi_square %.10g, of its parameters %.10g",
	    impfit_method_name(m), r->chi_square, chi);
	CHECK(r->chi_square <= chi0, "%s: chi_square %g worse than the start's "
	    "%g", impfit_method_name(m), r->chi_square, chi0);
	return (wall - budget);
}

/*
 * A budget ends the slow case in time.  The overshoot is a millisecond or
 * two of work; a loaded machine may preempt the fit past any margin, so it
 * has three tries to show an overshoot under 50 ms.
 */
static void
test_timeout(void)
{
	static const double	 budgets[] = { 0.2, 1e-9 };
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_result	 r;
	char			 err[128];
	double			 over, best;
	size_t			 b;
	int			 m, k;

	c = impfit_circuit_parse(slow_code, err, sizeof err);
	ws = impfit_workspace_new(MAXPTS, impfit_circuit_nparams(c));
	impfit_simulate(c, slow_p, 0.1, 1e5, MAXPTS, 0.01, 7, f, zr, zi);
	for (m = IMPFIT_METHOD_LM; m <= IMPFIT_METHOD_NM; m++) {
		for (b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
			best = INFINITY;
			for (k = 0; k < 3 && best >= 0.05; k++) {
				over = slow_fit(c, ws, m, budgets[b], &r);
				best = fmin(best, over);
			}
			CHECK(best < 0.05, "%s %g s: %.1f ms past the budget",
			    impfit_method_name(m), budgets[b], best * 1e3);
			printf("timeout %-19s budget %-5g s: %6.2f ms past it, "
			    "%5d iterations, %5d evaluations, chi2 %.6g\n",
			    impfit_method_name(m), budgets[b], best * 1e3,
			    r.iterations, r.evaluations, r.chi_square);
		}
	}
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

/* max_iterations caps all starts together: more restarts, no more
 * iterations (before the budget each start had the cap). */
static void
test_iterations(void)
{
	static const int	 caps[] = { 1, 7, 100, 3000 };
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 r;
	char			 err[128];
	size_t			 i;
	int			 m, restarts;

	c = impfit_circuit_parse(same[1].code, err, sizeof err);
	ws = impfit_workspace_new(MAXPTS, impfit_circuit_nparams(c));
	impfit_simulate(c, same[1].p, 0.1, 1e5, 50, 0.01, 5, f, zr, zi);
	for (m = IMPFIT_METHOD_LM; m <= IMPFIT_METHOD_NM; m++)
	for (restarts = 0; restarts <= 8; restarts += 8)
	for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		impfit_options_default(&o);
		o.method = m;
		o.restarts = restarts;
		o.max_iterations = caps[i];
		impfit_run(c, f, zr, zi, 50, &o, ws, &r);
		CHECK(r.iterations <= caps[i], "%s, %d restarts, "
		    "max_iterations %d: %d iterations", impfit_method_name(m),
		    restarts, caps[i], r.iterations);
		CHECK(r.status == IMPFIT_OK || r.status == IMPFIT_MAX_ITERATIONS,
		    "%s, max_iterations %d: status %s", impfit_method_name(m),
		    caps[i], impfit_status_name(r.status));
		CHECK(isfinite(r.chi_square), "%s, max_iterations %d: chi2 %g",
		    impfit_method_name(m), caps[i], r.chi_square);
		printf("iterations %-19s restarts %d max %4d: %4d, %s, chi2 "
		    "%.6g\n", impfit_method_name(m), restarts, caps[i],
		    r.iterations, impfit_status_name(r.status), r.chi_square);
	}
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

/* A budget that is not a number of seconds is bad input. */
static void
test_bad(void)
{
	static const double	 bad[] = { -1, NAN, INFINITY };
	static const double	 p[] = { 10, 100, 1e-5 };
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 r;
	char			 err[128];
	size_t			 i;

	c = impfit_circuit_parse("R(RC)", err, sizeof err);
	ws = impfit_workspace_new(MAXPTS, 3);
	impfit_simulate(c, p, 0.1, 1e5, 23, 0.01, 1, f, zr, zi);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		impfit_options_default(&o);
		o.max_seconds = bad[i];
		CHECK(impfit_run(c, f, zr, zi, 23, &o, ws, &r) == IMPFIT_BAD_INPUT &&
		    strstr(r.error, "max_seconds") != NULL, "max_seconds %g: "
		    "%s '%s'", bad[i], impfit_status_name(r.status), r.error);
	}
	CHECK(strcmp(impfit_status_name(IMPFIT_TIMEOUT), "timeout") == 0 &&
	    IMPFIT_TIMEOUT == IMPFIT_BAD_INPUT + 1, "IMPFIT_TIMEOUT: '%s' = %d",
	    impfit_status_name(IMPFIT_TIMEOUT), IMPFIT_TIMEOUT);
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

int
main(void)
{
	test_same();
	test_iterations();
	test_bad();
	test_timeout();
	return (test_done("test-fit-budget"));
}
