/*
 * impcore - tests/test-fit-stats.c: the statistics of a fit (issue 15,
 * part 4): Student's t quantiles against published values, and dof, rmse,
 * AIC and BIC against their textbook formulas on a noisy synthetic fit;
 * impfit_stats_model equal to impfit_stats_compute, and an evaluator's model and
 * elements equal to impfit_circuit_eval's and impfit_element_eval's, bit for
 * bit, as its frequencies change, grow and come back (issue 18: the
 * result JSON is rendered with them).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS	40

/* An evaluator against the allocating evaluations, for a few circuits and
 * frequency sets (new, larger, another of the same size, the first). */
static void
evaluator_check(void)
{
	static const char *cdcs[] = { "R(RC)", "R(QR)", "R(Q(R(QR)))W",
	    "RL(C(RW))", "R(QR)O" };
	static const int ns[] = { 23, 70, 70, 23 };
	struct impfit_evaluator *ev = impfit_evaluator_new();
	struct impfit_circuit *c;
	double f[4][70], p[IMPFIT_MAX_PARAMS], ar[70], ai[70], br[70], bi[70];
	char err[128];
	size_t i, j;
	int e, k;

	CHECK(ev != NULL, "impfit_evaluator_new");
	for (j = 0; j < 4; j++)
		for (k = 0; k < 70; k++)
			f[j][k] = (j == 2 ? 3e5 : 1e5) * pow(10, -6.0 * k / 69);
	memcpy(f[3], f[0], sizeof f[0]);
	for (i = 0; i < sizeof cdcs / sizeof cdcs[0]; i++) {
		c = impfit_circuit_parse(cdcs[i], err, sizeof err);
		CHECK(c != NULL, "parse %s: %s", cdcs[i], err);
		if (c == NULL)
			continue;
		for (k = 0; k < impfit_circuit_nparams(c); k++)
			p[k] = k % 3 == 1 ? 0.8 : 10.0 * (k + 1);
		for (j = 0; j < 4; j++)
			for (e = -1; e < impfit_circuit_nelements(c); e++) {
				if (e < 0)
					impfit_circuit_eval(c, p, f[j], ns[j], ar, ai);
				else
					impfit_element_eval(c, e, p, f[j], ns[j], ar,
					    ai);
				impfit_evaluator_eval(ev, c, e, p, f[j], ns[j], br,
				    bi);
				CHECK(memcmp(ar, br, sizeof *ar * ns[j]) == 0 &&
				    memcmp(ai, bi, sizeof *ai * ns[j]) == 0,
				    "%s element %d, frequencies %zu: evaluator "
				    "differs", cdcs[i], e, j);
			}
		impfit_circuit_free(c);
	}
	impfit_evaluator_free(ev);
}

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
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 r;
	struct impfit_stats	 st;
	double			 f[NPTS], zr[NPTS], zi[NPTS], rre[NPTS];
	double			 rim[NPTS], mr[NPTS], mi[NPTS];
	double			 p[3] = { 10, 100, 1e-5 }, ssr, sq, m;
	double			 aic, bic, mag;
	char			 err[128];
	size_t			 i;
	int			 k, w;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		CHECK(fabs(impfit_t95(tab[i].nu) - tab[i].t) <= 1e-9 * tab[i].t,
		    "t95(%d) = %.15g, want %.15g", tab[i].nu,
		    impfit_t95(tab[i].nu), tab[i].t);
	CHECK(isnan(impfit_t95(0)), "t95(0) is not NaN");

	c = impfit_circuit_parse("R(RC)", err, sizeof err);
	ws = impfit_workspace_new(NPTS, 3);
	impfit_simulate(c, p, 0.1, 1e5, NPTS, 0.01, 7, f, zr, zi);
	for (w = 0; w < 3; w++) {
		impfit_options_default(&o);
		o.weighting = w;
		impfit_run(c, f, zr, zi, NPTS, &o, ws, &r);
		CHECK(r.status == IMPFIT_OK, "weighting %d: status %d", w,
		    r.status);
		CHECK(impfit_stats_compute(c, r.params, 3, f, zr, zi, NPTS, w,
		    rre, rim, &st) == 0, "impfit_stats_compute");
		/* the textbook formulas, from the model directly */
		impfit_circuit_eval(c, r.params, f, NPTS, mr, mi);
		ssr = sq = 0;
		for (k = 0; k < NPTS; k++) {
			mag = hypot(zr[k], zi[k]);
			CHECK(fabs(rre[k] - (zr[k] - mr[k]) / mag) < 1e-12 &&
			    fabs(rim[k] - (zi[k] - mi[k]) / mag) < 1e-12,
			    "residual %d", k);
			sq += pow(zr[k] - mr[k], 2) + pow(zi[k] - mi[k], 2);
			if (w == IMPFIT_WEIGHT_MODULUS)
				ssr += pow((zr[k] - mr[k]) / mag, 2) +
				    pow((zi[k] - mi[k]) / mag, 2);
			else if (w == IMPFIT_WEIGHT_UNITY)
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
		CHECK(fabs(st.t95 - impfit_t95(st.dof)) == 0, "t95");
		{
			/* the same from the model, over the model */
			struct impfit_stats sm;
			double qr[NPTS], qi[NPTS];

			impfit_circuit_eval(c, r.params, f, NPTS, qr, qi);
			impfit_stats_model(qr, qi, 3, zr, zi, NPTS, w,
			    impfit_t95(2 * NPTS - 3), qr, qi, &sm);
			CHECK(sm.dof == st.dof && sm.ssr == st.ssr &&
			    sm.rmse == st.rmse && sm.aic == st.aic &&
			    sm.bic == st.bic && sm.t95 == st.t95 &&
			    memcmp(qr, rre, sizeof rre) == 0 &&
			    memcmp(qi, rim, sizeof rim) == 0,
			    "impfit_stats_model is impfit_stats_compute");
		}
		/* one parameter held: one more degree of freedom, and the
		 * penalties shrink by one parameter's */
		impfit_stats_compute(c, r.params, 2, f, zr, zi, NPTS, w, NULL,
		    NULL, &st);
		CHECK(st.dof == 2 * NPTS - 2, "dof with a constant %d",
		    st.dof);
		CHECK(fabs(st.aic - (aic - 2)) <= 1e-9 * fabs(aic),
		    "aic with a constant");
		CHECK(fabs(st.bic - (bic - log(m))) <= 1e-9 * fabs(bic),
		    "bic with a constant");
	}
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
	evaluator_check();
	return (test_done("test-fit-stats"));
}
