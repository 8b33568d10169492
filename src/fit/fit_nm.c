/*
 * impcore - fit_nm.c: Nelder-Mead simplex on the transformed parameters.
 *
 * Gao and Han's dimension-adaptive coefficients (plain Nelder-Mead stalls
 * beyond a handful of parameters), and a restart with a fresh simplex around
 * the best vertex until a restart no longer helps: a collapsed simplex is
 * the method's usual way to stop short of a minimum.
 */
#include <math.h>
#include <string.h>

#include "fit/fit_priv.h"

#define FIT_NM_FTOL	1e-15
#define FIT_NM_XTOL	1e-10

static double
fit_nm_eval(struct fit_problem *pb, const double *x)
{
	double	f = fit_problem_eval(pb, x, pb->rt, NULL);

	return (isfinite(f) ? f : HUGE_VAL);
}

/* Put the best vertex first (insertion sort: the order barely changes). */
static void
fit_nm_sort(struct fit_problem *pb)
{
	double	v[IMPFIT_MAX_PARAMS], f;
	int	i, j, np = pb->np;

	for (i = 1; i <= np; i++) {
		f = pb->fval[i];
		memcpy(v, pb->simplex + i * np, np * sizeof *v);
		for (j = i - 1; j >= 0 && pb->fval[j] > f; j--) {
			pb->fval[j + 1] = pb->fval[j];
			memcpy(pb->simplex + (j + 1) * np,
			    pb->simplex + j * np, np * sizeof *v);
		}
		pb->fval[j + 1] = f;
		memcpy(pb->simplex + (j + 1) * np, v, np * sizeof *v);
	}
}

/* One simplex run from x; returns the iterations it used. */
static int
fit_nm_run(struct fit_problem *pb, double *x, int max_iter, double *cost,
    int *converged)
{
	double	*s = pb->simplex, *fv = pb->fval, fr, fe, fc, d, spread;
	double	 na, alpha = 1, beta, gamma, delta;
	int	 np = pb->np, i, j, it = 0;

	na = np;
	beta = 1 + 2 / na;
	gamma = 0.75 - 1 / (2 * na);
	delta = 1 - 1 / na;
	if (np == 1)
		gamma = 0.5, delta = 0.5;

	memcpy(s, x, np * sizeof *x);
	fv[0] = fit_nm_eval(pb, x);
	for (i = 1; i <= np; i++) {
		memcpy(s + i * np, x, np * sizeof *x);
		/* 0.5 in log space is a factor 1.6: a sensible first scale. */
		s[i * np + i - 1] += 0.5;
		fv[i] = fit_nm_eval(pb, s + i * np);
	}
	*converged = 0;
	while (it < max_iter && !pb->expired) {
		fit_nm_sort(pb);
		spread = 0;
		for (i = 1; i <= np; i++)
			for (j = 0; j < np; j++)
				spread = fmax(spread, fabs(s[i * np + j] - s[j]));
		/* Either test suffices: on noiseless data the cost goes to
		 * 1e-30 and its relative spread never settles, while in a
		 * flat valley the simplex may stay wide at equal costs. */
		if (fv[np] - fv[0] <= FIT_NM_FTOL * fabs(fv[0]) ||
		    spread <= FIT_NM_XTOL) {
			*converged = 1;
			break;
		}
		it++;
		pb->iterations++;
		for (j = 0; j < np; j++) {
			pb->xc[j] = 0;
			for (i = 0; i < np; i++)
				pb->xc[j] += s[i * np + j];
			pb->xc[j] /= np;
		}
		for (j = 0; j < np; j++)
			pb->xr[j] = pb->xc[j] + alpha *
			    (pb->xc[j] - s[np * np + j]);
		fr = fit_nm_eval(pb, pb->xr);
		if (fr < fv[0]) {
			for (j = 0; j < np; j++)
				pb->xe[j] = pb->xc[j] + beta *
				    (pb->xr[j] - pb->xc[j]);
			fe = fit_nm_eval(pb, pb->xe);
			if (fe < fr) {
				memcpy(s + np * np, pb->xe, np * sizeof *x);
				fv[np] = fe;
			} else {
				memcpy(s + np * np, pb->xr, np * sizeof *x);
				fv[np] = fr;
			}
			continue;
		}
		if (fr < fv[np - 1]) {
			memcpy(s + np * np, pb->xr, np * sizeof *x);
			fv[np] = fr;
			continue;
		}
		/* Contract outside (towards xr) or inside. */
		d = fr < fv[np] ? gamma : -gamma;
		for (j = 0; j < np; j++)
			pb->xe[j] = pb->xc[j] + d * (d > 0 ?
			    pb->xr[j] - pb->xc[j] : pb->xc[j] - s[np * np + j]);
		fc = fit_nm_eval(pb, pb->xe);
		if (fc < fmin(fr, fv[np])) {
			memcpy(s + np * np, pb->xe, np * sizeof *x);
			fv[np] = fc;
			continue;
		}
		/* Shrink towards the best vertex. */
		for (i = 1; i <= np; i++) {
			for (j = 0; j < np; j++)
				s[i * np + j] = s[j] + delta *
				    (s[i * np + j] - s[j]);
			fv[i] = fit_nm_eval(pb, s + i * np);
		}
	}
	fit_nm_sort(pb);
	memcpy(x, s, np * sizeof *x);
	*cost = fv[0];
	return (it);
}

/*
 * Minimise from x with restarts; same contract as fit_lm().
 */
int
fit_nm(struct fit_problem *pb, double *x, int max_iter, double *cost)
{
	double	f, prev = HUGE_VAL;
	int	used = 0, converged = 0;

	f = fit_nm_eval(pb, x);
	if (f == HUGE_VAL) {
		*cost = f;
		return (FIT_LOCAL_FAILED);
	}
	while (used < max_iter && !pb->expired) {
		used += fit_nm_run(pb, x, max_iter - used, &f, &converged);
		if (!converged || !(f < prev * (1 - 1e-12)))
			break;
		prev = f;
	}
	*cost = f;
	return (converged ? FIT_LOCAL_OK : FIT_LOCAL_MAXITER);
}
