/*
 * impcore - tests/test-fit-recover.c: every element recovered from
 * synthetic spectra: to 1e-6 from noiseless data (automatic start), and
 * within 5 standard errors with 1% noise; also Nelder-Mead and the other
 * weightings, and chi_square against its definition.
 */
#include <math.h>
#include <string.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS	50

static const struct {
	const char	*code;
	double		 p[8];
} cases[] = {
	{ "R(CR)",	 { 10, 1e-5, 100 } },
	{ "R(QR)",	 { 10, 1e-4, 0.85, 100 } },
	{ "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 } },
	{ "R(RC)W",	 { 10, 100, 1e-5, 1e-2 } },
	{ "R(RC)O",	 { 10, 100, 1e-5, 1e-2, 1 } },
	{ "R(RC)T",	 { 10, 100, 1e-5, 1e-2, 1 } },
	{ "R(RG)",	 { 10, 100, 1e-3, 10 } },
	{ "RL(QR)",	 { 10, 1e-6, 1e-4, 0.85, 100 } },
	{ "R(RF)",	 { 10, 100, 1e-3, 10, 0.7 } },
	{ "R(CR)(QR)",	 { 5, 1e-6, 50, 1e-3, 0.8, 200 } },
	{ "RC",		 { 10, 1e-3 } },
};

/* Fit the spectrum of case i (noise, seed) with o; returns the result. */
static void
fit_case(int i, double noise, unsigned long long seed,
    const struct impfit_options *o, struct impfit_workspace *ws,
    struct impfit_result *res, const struct impfit_circuit *c)
{
	double	f[NPTS], zr[NPTS], zi[NPTS];

	impfit_simulate(c, cases[i].p, 0.1, 1e5, NPTS, noise, seed, f, zr, zi);
	impfit_run(c, f, zr, zi, NPTS, o, ws, res);
}

static void
test_noiseless(int i, enum impfit_method m, enum impfit_weighting w, double tol)
{
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res;
	char			 err[128];
	double			 rel, worst = 0;
	int			 j;

	c = impfit_circuit_parse(cases[i].code, err, sizeof err);
	ws = impfit_workspace_new(NPTS, impfit_circuit_nparams(c));
	impfit_options_default(&o);
	o.method = m;
	o.weighting = w;
	fit_case(i, 0, 0, &o, ws, &res, c);
	CHECK(res.status == IMPFIT_OK, "%s %s: status %s", cases[i].code,
	    impfit_method_name(m), impfit_status_name(res.status));
	for (j = 0; j < res.nparams; j++) {
		rel = fabs(res.params[j] / cases[i].p[j] - 1);
		worst = fmax(worst, rel);
		CHECK(rel < tol, "%s %s %s: %s = %.10g, want %.10g",
		    cases[i].code, impfit_method_name(m), impfit_weighting_name(w),
		    impfit_circuit_param_name(c, j), res.params[j],
		    cases[i].p[j]);
	}
	printf("noiseless %-12s %-19s %-12s worst relative error %.2g, "
	    "chi2 %.3g, %d evaluations\n", cases[i].code, impfit_method_name(m),
	    impfit_weighting_name(w), worst, res.chi_square, res.evaluations);
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

static void
test_noisy(int i)
{
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res;
	char			 err[128];
	double			 f[NPTS], zr[NPTS], zi[NPTS], z, worst = 0;
	unsigned long long	 seed;
	int			 j;

	c = impfit_circuit_parse(cases[i].code, err, sizeof err);
	ws = impfit_workspace_new(NPTS, impfit_circuit_nparams(c));
	impfit_options_default(&o);
	for (seed = 1; seed <= 3; seed++) {
		impfit_simulate(c, cases[i].p, 0.1, 1e5, NPTS, 0.01, seed, f, zr,
		    zi);
		impfit_run(c, f, zr, zi, NPTS, &o, ws, &res);
		CHECK(res.status == IMPFIT_OK, "%s noisy: %s", cases[i].code,
		    impfit_status_name(res.status));
		/* chi_square is the documented sum, and the reported one. */
		z = impfit_chi_square(c, res.params, f, zr, zi, NPTS,
		    IMPFIT_WEIGHT_MODULUS);
		CHECK(fabs(z / res.chi_square - 1) < 1e-9, "%s chi2 %g vs %g",
		    cases[i].code, z, res.chi_square);
		for (j = 0; j < res.nparams; j++) {
			z = fabs(res.params[j] - cases[i].p[j]) /
			    res.std_errors[j];
			worst = fmax(worst, z);
			CHECK(z < 5, "%s seed %llu: %s = %.6g +/- %.3g, true "
			    "%.6g", cases[i].code, seed,
			    impfit_circuit_param_name(c, j), res.params[j],
			    res.std_errors[j], cases[i].p[j]);
		}
	}
	printf("1%% noise  %-12s worst |p - true| = %.2f standard errors\n",
	    cases[i].code, worst);
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

int
main(void)
{
	int	i, n = sizeof cases / sizeof cases[0];

	for (i = 0; i < n; i++)
		test_noiseless(i, IMPFIT_METHOD_LM, IMPFIT_WEIGHT_MODULUS, 1e-6);
	for (i = 0; i < n; i++)
		test_noisy(i);
	/* The other weightings, and Nelder-Mead (a slower, looser method). */
	test_noiseless(1, IMPFIT_METHOD_LM, IMPFIT_WEIGHT_UNITY, 1e-6);
	test_noiseless(1, IMPFIT_METHOD_LM, IMPFIT_WEIGHT_PROPORTIONAL, 1e-6);
	test_noiseless(0, IMPFIT_METHOD_NM, IMPFIT_WEIGHT_MODULUS, 1e-5);
	test_noiseless(1, IMPFIT_METHOD_NM, IMPFIT_WEIGHT_MODULUS, 1e-5);
	return (test_done("test-fit-recover"));
}
