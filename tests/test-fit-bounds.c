/*
 * impcore - tests/test-fit-bounds.c: constraints of a fit (issue 15, part
 * 3): a held parameter (impedance.py's constants) stays exactly at its
 * value and has no standard error; a bound is respected even where the
 * unconstrained optimum lies outside it; bad bounds are bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS	40

static struct impfit_workspace *ws;
static double f[NPTS], zr[NPTS], zi[NPTS];	/* the last fit's spectrum */

/*
 * The chi-square of r's parameters on the last fit's spectrum over the one
 * the fit reported: 1 when the parameters reported are the ones fitted.
 */
static double
chi_ratio(const char *code, const struct impfit_result *r)
{
	struct impfit_circuit	*c;
	char			 err[128];
	double			 x;

	c = impfit_circuit_parse(code, err, sizeof err);
	x = impfit_chi_square(c, r->params, f, zr, zi, NPTS,
	    IMPFIT_WEIGHT_MODULUS) / r->chi_square;
	impfit_circuit_free(c);
	return (x);
}

/* Fit code at truth (noise 0.5 %) with lower/upper; the result in *r. */
static enum impfit_status
fit(const char *code, const double *truth, const double *lo,
    const double *hi, struct impfit_result *r)
{
	struct impfit_circuit	*c;
	struct impfit_options	 o;
	char			 err[128];

	c = impfit_circuit_parse(code, err, sizeof err);
	impfit_simulate(c, truth, 0.01, 1e5, NPTS, 0.005, 3, f, zr, zi);
	impfit_options_default(&o);
	o.lower = lo;
	o.upper = hi;
	impfit_run(c, f, zr, zi, NPTS, &o, ws, r);
	impfit_circuit_free(c);
	return (r->status);
}

int
main(void)
{
	struct impfit_circuit	*c;
	struct impfit_result	 r;
	double			 t3[3] = { 10, 100, 1e-5 };
	double			 t4[4] = { 10, 1e-5, 0.9, 100 };
	double			 lo[4], hi[4];
	char			 err[128];
	int			 i;

	ws = impfit_workspace_new(NPTS, 8);

	/* held at its true value, and at a wrong one */
	lo[0] = hi[0] = 10;
	lo[1] = hi[1] = lo[2] = hi[2] = NAN;
	CHECK(fit("R(RC)", t3, lo, hi, &r) == IMPFIT_OK, "status %d", r.status);
	CHECK(r.params[0] == 10, "R0 %.17g, held at 10", r.params[0]);
	CHECK(isnan(r.std_errors[0]), "held R0 has an error %g",
	    r.std_errors[0]);
	CHECK(fabs(r.params[1] - 100) < 1 && isfinite(r.std_errors[1]),
	    "R1 %g +/- %g", r.params[1], r.std_errors[1]);
	lo[0] = hi[0] = 12.5;
	fit("R(RC)", t3, lo, hi, &r);
	CHECK(r.params[0] == 12.5, "R0 %.17g, held at 12.5", r.params[0]);
	/* Held away from the truth, the winning start is not the first: the
	 * parameters reported once came from another start's slot (a start's
	 * stride was the free count in one place, the circuit's in another),
	 * R1 1.2e-05 with the chi-square of R1 92.7. */
	for (i = 0; i < 3; i++) {
		lo[0] = hi[0] = i == 0 ? 5 : i == 1 ? 20 : 50;
		fit("R(RC)", t3, lo, hi, &r);
		CHECK(fabs(chi_ratio("R(RC)", &r) - 1) < 1e-9, "R0 held at %g: "
		    "R1 %g C0 %g give %.17g x the chi-square reported", lo[0],
		    r.params[1], r.params[2], chi_ratio("R(RC)", &r));
		CHECK(r.params[1] > 50 && r.params[1] < 110, "R0 held at %g: "
		    "R1 %g", lo[0], r.params[1]);
	}

	/* a bound that excludes the optimum is met, at its edge */
	lo[0] = hi[0] = NAN;
	lo[1] = 0;
	hi[1] = 50;
	CHECK(fit("R(RC)", t3, lo, hi, &r) != IMPFIT_BAD_INPUT, "status %d",
	    r.status);
	CHECK(r.params[1] >= 0 && r.params[1] <= 50 && r.params[1] > 49,
	    "R1 %.17g, bound [0, 50]", r.params[1]);
	/* a lower bound alone (upper infinite) */
	lo[1] = hi[1] = NAN;
	lo[0] = 11;
	hi[0] = INFINITY;
	fit("R(RC)", t3, lo, hi, &r);
	CHECK(r.params[0] >= 11 && r.params[0] < 11.1, "R0 %.17g, bound "
	    "[11, inf)", r.params[0]);

	/* an exponent bound inside (0, 1] */
	for (i = 0; i < 4; i++)
		lo[i] = hi[i] = NAN;
	lo[2] = 0.5;
	hi[2] = 0.8;
	fit("R(QR)", t4, lo, hi, &r);
	CHECK(r.params[2] >= 0.5 && r.params[2] <= 0.8, "Q0.n %.17g, bound "
	    "[0.5, 0.8]", r.params[2]);
	/* every parameter held: nothing moves, status ok */
	for (i = 0; i < 3; i++)
		lo[i] = hi[i] = t3[i] * 1.1;
	CHECK(fit("R(RC)", t3, lo, hi, &r) == IMPFIT_OK, "all held: status %d",
	    r.status);
	for (i = 0; i < 3; i++)
		CHECK(r.params[i] == t3[i] * 1.1 && isnan(r.std_errors[i]),
		    "all held: p%d %.17g", i, r.params[i]);
	CHECK(isfinite(r.chi_square), "all held: chi-square %g",
	    r.chi_square);

	/* each parameter of a two-arc circuit held in turn away from the
	 * truth, and two at once: what is reported is what was fitted */
	for (i = 0; i < 7; i++) {
		double	t7[7] = { 10, 1e-5, 0.9, 100, 1e-3, 0.8, 500 };
		double	lo7[7], hi7[7];
		int	k;

		for (k = 0; k < 7; k++)
			lo7[k] = hi7[k] = NAN;
		lo7[i] = hi7[i] = t7[i] * 0.9;
		if (i > 0)
			lo7[i - 1] = hi7[i - 1] = t7[i - 1];
		fit("R(QR)(QR)", t7, lo7, hi7, &r);
		CHECK(r.params[i] == t7[i] * 0.9 &&
		    fabs(chi_ratio("R(QR)(QR)", &r) - 1) < 1e-9, "R(QR)(QR), p%d "
		    "held at %g: %.17g x the chi-square reported", i,
		    t7[i] * 0.9, chi_ratio("R(QR)(QR)", &r));
	}

	/* bad bounds are bad input, with the parameter named */
	for (i = 0; i < 4; i++)
		lo[i] = hi[i] = NAN;
	lo[2] = 0.5;
	hi[2] = 1.5;
	CHECK(fit("R(QR)", t4, lo, hi, &r) == IMPFIT_BAD_INPUT &&
	    strstr(r.error, "Q0.n") != NULL, "n in [0.5, 1.5]: %d %s",
	    r.status, r.error);
	lo[2] = hi[2] = NAN;
	lo[0] = -1;
	hi[0] = 5;
	CHECK(fit("R(QR)", t4, lo, hi, &r) == IMPFIT_BAD_INPUT, "R0 in [-1, 5]");
	lo[0] = hi[0] = 0;
	CHECK(fit("R(QR)", t4, lo, hi, &r) == IMPFIT_BAD_INPUT, "R0 held at 0");
	lo[0] = 5;
	hi[0] = 4;
	CHECK(fit("R(QR)", t4, lo, hi, &r) == IMPFIT_BAD_INPUT, "R0 in [5, 4]");

	c = impfit_circuit_parse("R(QR)", err, sizeof err);
	CHECK(impfit_circuit_param_index(c, "Q0.n") == 2, "index of Q0.n");
	CHECK(impfit_circuit_param_index(c, "X9") == -1, "index of X9");
	CHECK(impfit_bound_check(c, 2, 0.5, 1, err, sizeof err) == 0, "n [0.5, 1]");
	CHECK(impfit_bound_check(c, 1, 0, INFINITY, err, sizeof err) == 0,
	    "Y0 [0, inf)");
	impfit_circuit_free(c);
	impfit_workspace_free(ws);
	return (test_done("test-fit-bounds"));
}
