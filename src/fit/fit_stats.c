/*
 * impcore - fit_stats.c: the statistics of a fit that follow from its
 * parameters, standard errors and data (issue 15, part 4): residuals
 * relative to |Z|, degrees of freedom, RMSE, AIC, BIC and the Student's t
 * factor of 95 % confidence intervals.  Nothing here is stored: the server
 * recomputes them when it renders a result (src/render/render.c).
 */
#include <math.h>
#include <stdlib.h>

#include "fit/fit_priv.h"

/*
 * P(|T| < t) for Student's t with nu degrees of freedom, by the finite
 * series of the integer-nu case (Abramowitz & Stegun 26.7.3/26.7.4):
 * theta = atan(t / sqrt(nu)); odd nu: (2/pi)(theta + sin(theta) (cos +
 * 2/3 cos^3 + 2.4/(3.5) cos^5 ...)), even nu: sin(theta) (1 + 1/2 cos^2 +
 * 1.3/(2.4) cos^4 ...).  Exact up to rounding, about nu/2 terms.
 */
static double
fit_t_central(double t, int nu)
{
	double	th = atan(t / sqrt((double)nu)), c = cos(th), c2 = c * c;
	double	term, sum;
	int	k;

	if (nu % 2 == 1) {
		if (nu == 1)
			return (2 * th / M_PI);
		term = c;
		sum = c;
		for (k = 3; k <= nu - 2; k += 2) {
			term *= c2 * (k - 1) / k;
			sum += term;
		}
		return (2 / M_PI * (th + sin(th) * sum));
	}
	term = 1;
	sum = 1;
	for (k = 2; k <= nu - 2; k += 2) {
		term *= c2 * (k - 1) / k;
		sum += term;
	}
	return (sin(th) * sum);
}

/* The density of Student's t with nu degrees of freedom at t. */
static double
fit_t_pdf(double t, int nu)
{
	double	v = nu;

	return (exp(lgamma((v + 1) / 2) - lgamma(v / 2) -
	    0.5 * log(v * M_PI) - (v + 1) / 2 * log1p(t * t / v)));
}

/*
 * t such that P(|T| < t) = 0.95 (the 0.975 quantile) for nu > 0 degrees
 * of freedom; NaN for nu < 1.  Newton's method from the normal quantile:
 * P(|T| < t) is concave in t > 0, so from below every step stays below
 * the root and the iterates rise to it.  Closed forms for nu = 1, 2.
 */
double
impfit_t95(int nu)
{
	double	t, g;
	int	i;

	if (nu < 1)
		return (NAN);
	if (nu == 1)
		return (tan(M_PI * 0.475));
	if (nu == 2)
		return (0.95 / sqrt(0.5 * (1 - 0.95 * 0.95)));
	t = 1.959963984540054;
	for (i = 0; i < 100; i++) {
		g = fit_t_central(t, nu) - 0.95;
		g /= 2 * fit_t_pdf(t, nu);
		t -= g;
		if (fabs(g) <= 1e-15 * t)
			break;
	}
	return (t);
}

/*
 * Statistics of params (nfree of them fitted, the others held) against the
 * spectrum (freq, zre, zim) of n points under weighting w; see impfit.h.
 */
int
impfit_stats_compute(const struct impfit_circuit *c, const double *params,
    int nfree, const double *freq, const double *zre, const double *zim,
    int n, enum impfit_weighting w, double *rre, double *rim,
    struct impfit_stats *st)
{
	double	*z;
	int	 rv;

	if (n < 1 || (z = malloc(2 * (size_t)n * sizeof *z)) == NULL) {
		st->dof = 2 * n - nfree;
		st->ssr = st->rmse = st->aic = st->bic = NAN;
		st->t95 = impfit_t95(st->dof);
		return (-1);
	}
	impfit_circuit_eval(c, params, freq, n, z, z + n);
	rv = impfit_stats_model(z, z + n, nfree, zre, zim, n, w,
	    impfit_t95(2 * n - nfree), rre, rim, st);
	free(z);
	return (rv);
}

/*
 * The same from the model already evaluated (zfre, zfim) and t95 known:
 * see impfit.h.  Point k of the model is read before rre[k], rim[k] are
 * written, so the residuals may go over the model.
 */
int
impfit_stats_model(const double *zfre, const double *zfim, int nfree,
    const double *zre, const double *zim, int n, enum impfit_weighting w,
    double t95, double *rre, double *rim, struct impfit_stats *st)
{
	double	ssr = 0, sq = 0, wr, wi, dr, di, mag, m;
	int	 k;

	st->dof = 2 * n - nfree;
	st->ssr = st->rmse = st->aic = st->bic = NAN;
	st->t95 = t95;
	if (n < 1)
		return (-1);
	for (k = 0; k < n; k++) {
		dr = zre[k] - zfre[k];
		di = zim[k] - zfim[k];
		mag = hypot(zre[k], zim[k]);
		if (rre != NULL) {
			rre[k] = mag > 0 ? dr / mag : NAN;
			rim[k] = mag > 0 ? di / mag : NAN;
		}
		sq += dr * dr + di * di;
		switch (w) {
		case IMPFIT_WEIGHT_UNITY:
			wr = wi = 1;
			break;
		case IMPFIT_WEIGHT_PROPORTIONAL:
			wr = 1 / fabs(zre[k]);
			wi = 1 / fabs(zim[k]);
			break;
		default:
			wr = wi = 1 / mag;
			break;
		}
		ssr += dr * dr * wr * wr + di * di * wi * wi;
	}
	st->rmse = sqrt(sq / n);
	st->ssr = ssr;
	/* Gaussian errors of one variance: -2 ln L = m ln(SSR / m) + const,
	 * with m = 2 n real residuals and k = nfree estimated parameters. */
	m = 2.0 * n;
	if (ssr > 0 && isfinite(ssr)) {
		st->aic = m * log(ssr / m) + 2.0 * nfree;
		st->bic = m * log(ssr / m) + nfree * log(m);
	}
	return (0);
}
