/*
 * impcore - tests/test-fit-stats.c: the statistics of a fit (issue 15,
 * part 4): Student's t quantiles against published values, and dof, rmse,
 * AIC and BIC against their textbook formulas on a noisy synthetic fit.
 */
#include <math.h>
#include <stdlib.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS	40

int
main(void)
{
	/* t(0.975, nu), from published tables (10 digits and more) */
	static const struct { int nu; double t; } tab[] = {
		{ 1, 12.706204736174707 }, { 2, 4.302652729749464 },
		{ 3, 3.182446305284263 }, { 4, 2.776445105197793 },
		{ 5, 2.570581835636314 }, { 10, 2.228138851986274 },
		{ 30, 2.042272456301238 }, { 57, 2.002465459291 },
	};
	struct fit_circuit	*c;
	struct fit_workspace	*ws;
	struct fit_options	 o;
	struct fit_result	 r;
	struct fit_stats	 st;
	double			 f[NPTS], zr[NPTS], zi[NPTS], rre[NPTS];
	double			 rim[NPTS], mr[NPTS], mi[NPTS];
	double			 p[3] = { 10, 100, 1e-5 }, ssr, sq, m;
	double			 aic, bic, mag;
	char			 err[128];
	size_t			 i;
	int			 k, w;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		CHECK(fabs(fit_t95(tab[i].nu) - tab[i].t) <= 1e-9 * tab[i].t,
		    "t95(%d) = %.15g, want %.15g", tab[i].nu,
		    fit_t95(tab[i].nu), tab[i].t);
	CHECK(isnan(fit_t95(0)), "t95(0) is not NaN");

	c = fit_circuit_parse("R(RC)", err, sizeof err);
	ws = fit_workspace_new(NPTS, 3);
	fit_simulate(c, p, 0.1, 1e5, NPTS, 0.01, 7, f, zr, zi);
	for (w = 0; w < 3; w++) {
		fit_options_default(&o);
		o.weighting = w;
		fit_run(c, f, zr, zi, NPTS, &o, ws, &r);
		CHECK(r.status == FIT_OK, "weighting %d: status %d", w,
		    r.status);
		CHECK(fit_stats_compute(c, r.params, 3, f, zr, zi, NPTS, w,
		    rre, rim, &st) == 0, "fit_stats_compute");
		/* the textbook formulas, from the model directly */
		fit_circuit_eval(c, r.params, f, NPTS, mr, mi);
		ssr = sq = 0;
		for (k = 0; k < NPTS; k++) {
			mag = hypot(zr[k], zi[k]);
			CHECK(fabs(rre[k] - (zr[k] - mr[k]) / mag) < 1e-12 &&
			    fabs(rim[k] - (zi[k] - mi[k]) / mag) < 1e-12,
			    "residual %d", k);
			sq += pow(zr[k] - mr[k], 2) + pow(zi[k] - mi[k], 2);
			if (w == FIT_WEIGHT_MODULUS)
				ssr += pow((zr[k] - mr[k]) / mag, 2) +
				    pow((zi[k] - mi[k]) / mag, 2);
			else if (w == FIT_WEIGHT_UNITY)
				ssr += pow(zr[k] - mr[k], 2) +
				    pow(zi[k] - mi[k], 2);
			else
				ssr += pow((zr[k] - mr[k]) / zr[k], 2) +
				    pow((zi[k] - mi[k]) / zi[k], 2);
		}
		m = 2 * NPTS;
		aic = m * log(ssr / m) + 2 * 3;
		bic = m * log(ssr / m) + 3 * log(m);
		CHECK(st.dof == 2 * NPTS - 3, "dof %d", st.dof);
		CHECK(fabs(st.ssr - ssr) <= 1e-9 * ssr, "ssr %g, want %g",
		    st.ssr, ssr);
		/* the fit's own chi-square is ssr / n */
		CHECK(fabs(r.chi_square - ssr / NPTS) <= 1e-9 * ssr,
		    "chi_square %g, ssr/n %g", r.chi_square, ssr / NPTS);
		CHECK(fabs(st.rmse - sqrt(sq / NPTS)) <= 1e-12 * st.rmse,
		    "rmse %g", st.rmse);
		CHECK(fabs(st.aic - aic) <= 1e-9 * fabs(aic), "aic %.12g, "
		    "want %.12g", st.aic, aic);
		CHECK(fabs(st.bic - bic) <= 1e-9 * fabs(bic), "bic %.12g, "
		    "want %.12g", st.bic, bic);
		CHECK(fabs(st.t95 - fit_t95(st.dof)) == 0, "t95");
		/* one parameter held: one more degree of freedom, and the
		 * penalties shrink by one parameter's */
		fit_stats_compute(c, r.params, 2, f, zr, zi, NPTS, w, NULL,
		    NULL, &st);
		CHECK(st.dof == 2 * NPTS - 2, "dof with a constant %d",
		    st.dof);
		CHECK(fabs(st.aic - (aic - 2)) <= 1e-9 * fabs(aic),
		    "aic with a constant");
		CHECK(fabs(st.bic - (bic - log(m))) <= 1e-9 * fabs(bic),
		    "bic with a constant");
	}
	fit_workspace_free(ws);
	fit_circuit_free(c);
	return (test_done("test-fit-stats"));
}
