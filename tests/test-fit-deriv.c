/*
 * impcore - tests/test-fit-deriv.c: the analytic derivatives of every
 * element, through series and parallel combinations, against central
 * finite differences of the public evaluator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS	37	/* more than two blocks, and a partial one */

static void
check_circuit(const char *code, const double *p0)
{
	struct impfit_circuit	*c;
	struct fit_scratch	*s;
	struct fit_prep		 pp;
	struct fit_fblock	 fb;
	double			 f[NPTS], w[NPTS], invw[NPTS], lnw[NPTS];
	double			 sqw[NPTS], p[IMPFIT_MAX_PARAMS];
	double			 zr[NPTS], zi[NPTS], zr0[NPTS], zi0[NPTS];
	double			 zr1[NPTS], zi1[NPTS], dr[IMPFIT_MAX_PARAMS][NPTS];
	double			 di[IMPFIT_MAX_PARAMS][NPTS], h, fr, fi, mag;
	double			 worst = 0;
	char			 err[128];
	int			 k, k0, bl, j, np;

	c = impfit_circuit_parse(code, err, sizeof err);
	CHECK(c != NULL, "%s: %s", code, err);
	if (c == NULL)
		return;
	np = impfit_circuit_nparams(c);
	s = calloc(1, sizeof *s);
	for (k = 0; k < NPTS; k++)
		f[k] = pow(10, -2 + 8.0 * k / (NPTS - 1));
	fit_freqs_set(f, NPTS, w, invw, lnw, sqw);
	fit_prep_set(c, p0, &pp);
	for (k0 = 0; k0 < NPTS; k0 += FIT_BLOCK) {
		bl = NPTS - k0 < FIT_BLOCK ? NPTS - k0 : FIT_BLOCK;
		fb.w = w + k0;
		fb.invw = invw + k0;
		fb.lnw = lnw + k0;
		fb.sqw = sqw + k0;
		fit_eval_block(c, p0, &pp, &fb, bl, s, 1);
		for (k = 0; k < bl; k++) {
			zr[k0 + k] = s->zr[c->nnode - 1][k];
			zi[k0 + k] = s->zi[c->nnode - 1][k];
			for (j = 0; j < np; j++) {
				dr[j][k0 + k] = s->dr[j][k];
				di[j][k0 + k] = s->di[j][k];
			}
		}
	}
	/* The block evaluator and the public one agree. */
	impfit_circuit_eval(c, p0, f, NPTS, zr0, zi0);
	for (k = 0; k < NPTS; k++)
		CHECK(zr[k] == zr0[k] && zi[k] == zi0[k], "%s: eval point %d",
		    code, k);
	for (j = 0; j < np; j++) {
		memcpy(p, p0, np * sizeof *p);
		/* Relative steps; the exponents are near 1, keep in (0, 1]. */
		h = impfit_circuit_param_is_exponent(c, j) ? 1e-6 : 1e-6 * p0[j];
		p[j] = p0[j] + h;
		impfit_circuit_eval(c, p, f, NPTS, zr1, zi1);
		p[j] = p0[j] - h;
		impfit_circuit_eval(c, p, f, NPTS, zr0, zi0);
		for (k = 0; k < NPTS; k++) {
			fr = (zr1[k] - zr0[k]) / (2 * h);
			fi = (zi1[k] - zi0[k]) / (2 * h);
			/* Compare the change over one step with |Z|. */
			mag = hypot(zr[k], zi[k]);
			h = impfit_circuit_param_is_exponent(c, j) ? 1 : p0[j];
			fr = hypot(fr - dr[j][k], fi - di[j][k]) * h / mag;
			if (fr > worst)
				worst = fr;
			CHECK(fr < 1e-6, "%s: d/d%s at %g Hz: analytic %g%+gj, "
			    "finite difference off by %g relative", code,
			    impfit_circuit_param_name(c, j), f[k], dr[j][k],
			    di[j][k], fr);
			h = impfit_circuit_param_is_exponent(c, j) ? 1e-6 :
			    1e-6 * p0[j];
		}
	}
	printf("%-24s %2d parameters, worst relative error %.2g\n", code, np,
	    worst);
	free(s);
	impfit_circuit_free(c);
}

int
main(void)
{
	static const struct {
		const char	*code;
		double		 p[12];
	} cases[] = {
		{ "R(CR)", { 10, 1e-5, 100 } },
		{ "RL(QR)", { 10, 1e-6, 1e-4, 0.85, 100 } },
		{ "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 } },
		{ "R(RC)W", { 10, 100, 1e-5, 1e-2 } },
		{ "R(RC)O", { 10, 100, 1e-5, 1e-2, 1 } },
		{ "R(RC)T", { 10, 100, 1e-5, 1e-2, 1 } },
		{ "R(RG)", { 10, 100, 1e-3, 10 } },
		{ "R(RF)", { 10, 100, 1e-3, 10, 0.7 } },
		{ "L(WO)(TG)F", { 1e-5, 1e-2, 1e-2, 3, 1e-2, 0.1, 1e-3, 50,
		    1e-2, 5, 0.6 } },
		{ "C(RL)(Q(RW))", { 1e-3, 5, 1e-4, 1e-5, 0.7, 20, 1e-2 } },
		{ "(R(C(R(C(RQ)))))", { 1, 1e-6, 10, 1e-4, 100, 1e-3, 0.5 } },
		/* impedance.py's elements (issue 15, part 2) */
		{ "R0-p(R1,CPE1)-Wo1", { 10, 100, 1e-5, 0.85, 20, 0.5 } },
		{ "R0-p(R1,C1)-p(R2-Wo1,C2)", { .01, .01, 100, .01, .05, 100,
		    1 } },
		{ "L0-p(R1,W1)-Ws1", { 1e-6, 50, 3, 20, 0.5 } },
		{ "R0-p(R1,La1)-La2", { 1, 10, 1e-3, 0.8, 1e-6, 0.9 } },
		{ "p(R1,G1)-Gs1", { 100, 20, 1e-3, 30, 1e-2, 1.5 } },
		{ "R0-K1-K2-p(C1,Zarc1)", { 1, 10, 1e-3, 20, 1e-5, 1e-6, 50,
		    1e-3, 0.8 } },
		{ "R0-TLMQ1-p(R2,TLMQ2)", { 1, 10, 1e-4, 0.9, 100, 5, 1e-3,
		    0.7 } },
		{ "R0-T1-p(R2,T2)", { 1, 10, 5, 2, 1e-2, 100, 3, 7, 0.5, 1e-3 } },
		{ "p(Gs1,Zarc1)-Gs2", { 10, 1e-2, 0.3, 20, 1e-3, 0.6, 5, 1e-4,
		    8 } },
	};
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_circuit(cases[i].code, cases[i].p);
	return (test_done("test-fit-deriv"));
}
