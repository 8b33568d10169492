/*
 * impcore - fit_lm.c: Levenberg-Marquardt on the transformed parameters,
 * with the analytic Jacobian of fit_eval.c.
 *
 * Classic Marquardt scaling (the damping term is lambda times the running
 * maximum of diag(J^T J), as MINPACK's lmder scales by column norms) and
 * Nielsen's lambda update, which needs fewer rejected steps than the
 * x10 / x0.1 rule.  Each trial point is evaluated with its Jacobian: nearly
 * all steps are accepted, and the transcendental functions the Jacobian
 * needs are computed for the residuals anyway.
 */
#include <math.h>
#include <string.h>

#include "fit/fit_priv.h"

/* Tolerances of the final fit; a probe stops at pb->loose times them. */
#define FIT_LM_FTOL	1e-12	/* relative reduction of the cost */
#define FIT_LM_XTOL	1e-11	/* relative step length */
#define FIT_LM_GTOL	1e-12	/* cosine of residuals and a Jacobian column */
#define FIT_LM_STALL	1e-9	/* relative reduction ... */
#define FIT_LM_STALL_ITER 20	/* ... over this many iterations */

/*
 * Dot product with four accumulators: a single running sum is one long
 * dependency chain (the compiler may not reassociate floating point).
 */
FIT_HOT double
fit_dot(const double *a, const double *b, int n)
{
	double	s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int	k;

	for (k = 0; k + 4 <= n; k += 4) {
		s0 += a[k] * b[k];
		s1 += a[k + 1] * b[k + 1];
		s2 += a[k + 2] * b[k + 2];
		s3 += a[k + 3] * b[k + 3];
	}
	for (; k < n; k++)
		s0 += a[k] * b[k];
	return ((s0 + s1) + (s2 + s3));
}

/* pb->a = J^T J (full symmetric) and pb->g = J^T r. */
void
fit_lm_normal(const struct fit_problem *pb, const double *jac, const double *r)
{
	const double	*ci;
	int		 i, j, m = pb->m, np = pb->np;

	for (i = 0; i < np; i++) {
		ci = jac + (size_t)i * m;
		for (j = 0; j <= i; j++)
			pb->a[i * np + j] = pb->a[j * np + i] =
			    fit_dot(ci, jac + (size_t)j * m, m);
		pb->g[i] = fit_dot(ci, r, m);
	}
}

static double
fit_lm_norm(const double *v, int n)
{
	double	s = 0;
	int	i;

	for (i = 0; i < n; i++)
		s += v[i] * v[i];
	return (sqrt(s));
}

/*
 * Minimise from x (updated in place to the best point found); *cost gets
 * half the sum of squared residuals there.  Returns FIT_LOCAL_OK when a
 * convergence test passed, FIT_LOCAL_MAXITER after max_iter trial steps or
 * when the time budget ran out, FIT_LOCAL_FAILED when the start itself
 * cannot be evaluated.
 */
int
fit_lm(struct fit_problem *pb, double *x, int max_iter, double *cost)
{
	double	*r = pb->r, *rt = pb->rt, *jac = pb->jac, *jact = pb->jact;
	double	 dmax[IMPFIT_MAX_PARAMS], *tmp, f, ft, lambda = 1e-3, nu = 2;
	double	 pred, rho, dd, gd, dnorm, xnorm, dfloor, cosmax;
	double	 fstall, ftol = FIT_LM_FTOL * pb->loose;
	double	 xtol = FIT_LM_XTOL * sqrt(pb->loose);
	int	 np = pb->np, i, it = 0, rebuild = 1, status = FIT_LOCAL_MAXITER;
	int	 fstall_it = 0;

	f = fit_problem_eval(pb, x, r, jac);
	if (!isfinite(f)) {
		*cost = f;
		return (FIT_LOCAL_FAILED);
	}
	memset(dmax, 0, sizeof dmax);
	fstall = f;
	/* pb->expired: the time budget ran out (impfit_run()); x is the best
	 * point so far, as after max_iter. */
	while (it < max_iter && !pb->expired) {
		if (rebuild) {
			fit_lm_normal(pb, jac, r);
			dfloor = 0;
			cosmax = 0;
			for (i = 0; i < np; i++) {
				if (pb->a[i * np + i] > dmax[i])
					dmax[i] = pb->a[i * np + i];
				if (dmax[i] > dfloor)
					dfloor = dmax[i];
				if (pb->a[i * np + i] > 0 && f > 0)
					cosmax = fmax(cosmax, fabs(pb->g[i]) /
					    sqrt(pb->a[i * np + i] * 2 * f));
			}
			/* A parameter without effect must not make the
			 * damped matrix singular. */
			dfloor = dfloor > 0 ? dfloor * 1e-12 : 1e-12;
			rebuild = 0;
			/* fit_problem_eval() checks the residuals only: a
			 * derivative that overflowed shows up here.  Stop at
			 * this (finite, best so far) point. */
			if (!isfinite(dfloor) || !isfinite(cosmax)) {
				status = FIT_LOCAL_OK;
				break;
			}
			if (cosmax <= FIT_LM_GTOL || f <= 1e-32 * pb->m) {
				status = FIT_LOCAL_OK;
				break;
			}
		}
		for (i = 0; i < np * np; i++)
			pb->l[i] = pb->a[i];
		for (i = 0; i < np; i++)
			pb->l[i * np + i] += lambda * fmax(dmax[i], dfloor);
		it++;
		pb->iterations++;
		if (fit_chol(pb->l, pb->l, np) != 0) {
			lambda *= nu;
			nu *= 2;
			if (lambda > 1e30)
				break;
			continue;
		}
		for (i = 0; i < np; i++)
			pb->dg[i] = -pb->g[i];
		fit_chol_solve(pb->l, np, pb->dg, pb->dx);
		dd = gd = 0;
		for (i = 0; i < np; i++) {
			pb->xt[i] = x[i] + pb->dx[i];
			dd += fmax(dmax[i], dfloor) * pb->dx[i] * pb->dx[i];
			gd += pb->g[i] * pb->dx[i];
		}
		/* Reduction the linear model promises: with
		 * (A + lambda D) dx = -g it is (lambda dx'D dx - g'dx) / 2. */
		pred = 0.5 * (lambda * dd - gd);
		dnorm = fit_lm_norm(pb->dx, np);
		xnorm = fit_lm_norm(x, np);
		ft = fit_problem_eval(pb, pb->xt, rt, jact);
		rho = (isfinite(ft) && pred > 0) ? (f - ft) / pred : -1;
		if (rho > 1e-4) {
			memcpy(x, pb->xt, np * sizeof *x);
			tmp = r; r = rt; rt = tmp;
			tmp = jac; jac = jact; jact = tmp;
			dd = 2 * rho - 1;
			lambda *= fmax(1.0 / 3, 1 - dd * dd * dd);
			nu = 2;
			rebuild = 1;
			if ((f - ft <= ftol * f && pred <= ftol * f) ||
			    dnorm <= xtol * (xnorm + xtol)) {
				f = ft;
				status = FIT_LOCAL_OK;
				break;
			}
			f = ft;
			/* Stalled: a parameter drifting towards 0 or infinity
			 * (a resistor becoming an open circuit) improves the
			 * cost forever by ever smaller amounts. */
			if (it >= fstall_it + FIT_LM_STALL_ITER) {
				if (fstall - f <= FIT_LM_STALL * f) {
					status = FIT_LOCAL_OK;
					break;
				}
				fstall = f;
				fstall_it = it;
			}
			/* Far behind another start: not worth finishing. */
			if ((it >= 8 && f > 1000 * pb->abandon) ||
			    (it >= 20 && f > 30 * pb->abandon))
				break;
		} else {
			lambda *= nu;
			nu *= 2;
			/* No progress and nothing left to try. */
			if (dnorm <= xtol * (xnorm + xtol) ||
			    lambda > 1e30) {
				status = FIT_LOCAL_OK;
				break;
			}
		}
	}
	*cost = f;
	return (status);
}
