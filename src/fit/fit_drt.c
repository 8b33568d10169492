/*
 * impcore - fit_drt.c: the distribution of relaxation times by Tikhonov
 * regularisation with a non-negativity constraint, on Gaussian radial basis
 * functions (the TR-RBF method of pyDRTtools and pyimpspec):
 *
 *   Z(w) = R_inf + j w L + integral gamma(ln tau) / (1 + j w tau) d ln tau,
 *   gamma(y) = sum_m x_m exp(-(eps (y - y_m))^2),
 *
 * with the centres y_m evenly spaced in ln tau over 1/(2 pi f_max) ..
 * 1/(2 pi f_min).  Minimise sum |(Z_fit - Z) / |Z||^2 + lambda |D x|^2 (D:
 * the first derivative of gamma at the centres, in units of the spacing)
 * under x, R_inf, L >= 0, by Lawson and Hanson's active-set NNLS on the
 * normal equations.  lambda is fixed (1e-3 by default, pyDRTtools' default
 * too), not chosen by GCV or the L-curve: each of those costs a dozen NNLS
 * solves, picks visibly different lambdas for spectra of the same cell, and
 * the non-negativity constraint already keeps the DRT from oscillating,
 * which is most of what a tuned lambda buys.  Rows are weighted by 1/|Z| so
 * that the spectrum counts at every decade, as in the fits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "impfit.h"

#define DRT_QUAD	41	/* quadrature nodes per basis function */
#define DRT_REACH	5.0	/* +- 5/eps: exp(-25), the Gaussian is gone */
#define DRT_MAX_OUTER	2000

static double
drt_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec * 1e-9);
}

/* Basis functions for n points: one per point, 10 .. IMPFIT_DRT_MAX_BASIS. */
static int
drt_nbasis(int n)
{
	return (n < 10 ? 10 : n > IMPFIT_DRT_MAX_BASIS ? IMPFIT_DRT_MAX_BASIS : n);
}

int
impfit_drt_npoints(int n)
{
	return (3 * (drt_nbasis(n) - 1) + 1 + 18);
}

void
impfit_drt_options_default(struct impfit_drt_options *o)
{
	o->lambda = IMPFIT_DRT_LAMBDA;
}

/*
 * Cholesky solve of the k x k system q[idx][idx] z = c[idx] (q row-major
 * p x p); l is k x k scratch.  Returns -1 when not positive definite.
 */
static int
drt_subsolve(const double *q, const double *c, int p, const int *idx, int k,
    double *l, double *z)
{
	double	s;
	int	i, j, t;

	for (j = 0; j < k; j++) {
		s = q[idx[j] * p + idx[j]];
		for (t = 0; t < j; t++)
			s -= l[j * k + t] * l[j * k + t];
		if (!(s > 1e-13 * q[idx[j] * p + idx[j]]))
			return (-1);
		l[j * k + j] = sqrt(s);
		for (i = j + 1; i < k; i++) {
			s = q[idx[i] * p + idx[j]];
			for (t = 0; t < j; t++)
				s -= l[i * k + t] * l[j * k + t];
			l[i * k + j] = s / l[j * k + j];
		}
	}
	for (i = 0; i < k; i++) {
		s = c[idx[i]];
		for (t = 0; t < i; t++)
			s -= l[i * k + t] * z[t];
		z[i] = s / l[i * k + i];
	}
	for (i = k - 1; i >= 0; i--) {
		s = z[i];
		for (t = i + 1; t < k; t++)
			s -= l[t * k + i] * z[t];
		z[i] = s / l[i * k + i];
	}
	return (0);
}

/*
 * min x'Qx/2 - c'x subject to x >= 0 (Lawson-Hanson on the normal
 * equations).  x: p values out.  Scratch: w, z (p), idx (p ints), l (p*p).
 * Returns 0, or -1 when it did not converge.
 */
static int
drt_nnls(const double *q, const double *c, int p, double *x, double *w,
    double *z, int *idx, int *passive, double *l)
{
	double	tol, cmax = 0, alpha, t;
	int	k = 0, i, j, best, outer, inner;

	for (i = 0; i < p; i++) {
		x[i] = 0;
		passive[i] = 0;
		if (fabs(c[i]) > cmax)
			cmax = fabs(c[i]);
	}
	tol = 1e-11 * (cmax > 0 ? cmax : 1);
	for (outer = 0; outer < DRT_MAX_OUTER; outer++) {
		for (i = 0; i < p; i++) {
			for (t = c[i], j = 0; j < p; j++)
				t -= q[i * p + j] * x[j];
			w[i] = t;
		}
		best = -1;
		for (i = 0; i < p; i++)
			if (!passive[i] && w[i] > tol && (best < 0 ||
			    w[i] > w[best]))
				best = i;
		if (best < 0)
			return (0);
		passive[best] = 1;
		for (inner = 0; inner < 4 * p; inner++) {
			for (k = 0, i = 0; i < p; i++)
				if (passive[i])
					idx[k++] = i;
			if (drt_subsolve(q, c, p, idx, k, l, z) != 0) {
				/* the new column is dependent: drop it */
				passive[best] = 0;
				w[best] = 0;
				break;
			}
			alpha = 2;
			for (i = 0; i < k; i++)
				if (z[i] <= 0) {
					t = x[idx[i]] / (x[idx[i]] - z[i]);
					if (t < alpha)
						alpha = t;
				}
			if (alpha > 1) {
				for (i = 0; i < k; i++)
					x[idx[i]] = z[i];
				break;
			}
			for (i = 0; i < k; i++) {
				x[idx[i]] += alpha * (z[i] - x[idx[i]]);
				/* unknowns are scaled to O(1) */
				if (x[idx[i]] <= 1e-14) {
					x[idx[i]] = 0;
					passive[idx[i]] = 0;
				}
			}
		}
	}
	return (-1);
}

int
impfit_drt(const double *freq, const double *zre, const double *zim, int n,
    const struct impfit_drt_options *o, struct impfit_drt_result *r, double *tau,
    double *gamma, double *zfit_re, double *zfit_im)
{
	double	 t0 = drt_now(), fmin, fmax, ylo, yhi, dy, eps, s, wmax, lam;
	double	 g[DRT_QUAD], e[DRT_QUAD], dt, wt, xk, are, aim, d, y;
	double	*blk, *a, *q, *c, *x, *w, *z, *l, *yc, *mod;
	int	 m = drt_nbasis(n), p = m + 2, nreg = 3 * (m - 1) + 1;
	int	 rows = 2 * n + nreg, i, j, k;
	int	*idx, *passive, rc;

	memset(r, 0, sizeof *r);
	lam = o != NULL && o->lambda > 0 ? o->lambda : IMPFIT_DRT_LAMBDA;
	if (n < 3)
		return (-1);
	fmin = fmax = freq[0];
	for (i = 0; i < n; i++) {
		if (!(freq[i] > 0) || !isfinite(freq[i]) || !isfinite(zre[i]) ||
		    !isfinite(zim[i]) || !(hypot(zre[i], zim[i]) > 0))
			return (-1);
		fmin = fmin < freq[i] ? fmin : freq[i];
		fmax = fmax > freq[i] ? fmax : freq[i];
	}
	if (!(fmax > fmin))
		return (-1);
	/* a: rows x p (row-major); q: p x p; c, x, w, z: p; l: p x p */
	blk = malloc(sizeof *blk * ((size_t)rows * p + 2 * p * p + 4 * p +
	    m + n) + sizeof *idx * 2 * p);
	if (blk == NULL)
		return (-1);
	a = blk;
	q = a + (size_t)rows * p;
	l = q + p * p;
	c = l + p * p;
	x = c + p;
	w = x + p;
	z = w + p;
	yc = z + p;
	mod = yc + m;
	idx = (int *)(mod + n);
	passive = idx + p;

	ylo = log(1 / (2 * M_PI * fmax));
	yhi = log(1 / (2 * M_PI * fmin));
	dy = (yhi - ylo) / (m - 1);
	eps = sqrt(log(2)) / dy;	/* full width at half maximum: 2 dy */
	for (j = 0; j < m; j++)
		yc[j] = ylo + j * dy;
	dt = 2 * DRT_REACH / eps / (DRT_QUAD - 1);
	for (k = 0; k < DRT_QUAD; k++) {
		d = -DRT_REACH / eps + k * dt;
		g[k] = exp(-(eps * d) * (eps * d)) * dt;
		e[k] = exp(d);
	}
	s = 0;
	for (i = 0; i < n; i++) {
		mod[i] = hypot(zre[i], zim[i]);
		s = s > mod[i] ? s : mod[i];
	}
	wmax = 2 * M_PI * fmax;
	/* Scaled unknowns: R_inf / s, L wmax / s, x_m / s: all O(1). */
	memset(a, 0, sizeof *a * rows * p);
	for (i = 0; i < n; i++) {
		double	wi = 2 * M_PI * freq[i], *rr = a + (size_t)i * p,
			*ri = a + (size_t)(n + i) * p;

		rr[0] = s / mod[i];
		ri[1] = s * wi / wmax / mod[i];
		for (j = 0; j < m; j++) {
			/* integral of the Gaussian times 1/(1 + j w tau) */
			xk = wi * exp(yc[j]);
			are = aim = 0;
			for (k = 0; k < DRT_QUAD; k++) {
				wt = xk * e[k];
				d = g[k] / (1 + wt * wt);
				are += d;
				aim -= d * wt;
			}
			rr[2 + j] = s * are / mod[i];
			ri[2 + j] = s * aim / mod[i];
		}
	}
	/*
	 * Regulariser rows: sqrt(lambda) dy gamma'(y) in units of s, at three
	 * points per spacing: at the centres alone it misses the ripple of a
	 * sum whose every other coefficient is zero (seen on exampleData).
	 */
	for (k = 0; k < nreg; k++) {
		y = ylo + k * dy / 3;
		for (j = 0; j < m; j++) {
			d = y - yc[j];
			a[(size_t)(2 * n + k) * p + 2 + j] = sqrt(lam / 3) * dy *
			    -2 * eps * eps * d * exp(-(eps * d) * (eps * d));
		}
	}
	for (i = 0; i < p; i++) {
		for (j = i; j < p; j++) {
			for (d = 0, k = 0; k < rows; k++)
				d += a[(size_t)k * p + i] * a[(size_t)k * p + j];
			q[i * p + j] = q[j * p + i] = d;
		}
		for (d = 0, k = 0; k < n; k++)
			d += a[(size_t)k * p + i] * zre[k] / mod[k] +
			    a[(size_t)(n + k) * p + i] * zim[k] / mod[k];
		c[i] = d;
	}
	rc = drt_nnls(q, c, p, x, w, z, idx, passive, l);
	r->r_inf = x[0] * s;
	r->l = x[1] * s / wmax;
	r->lambda = lam;
	r->nbasis = m;
	r->r_pol = 0;
	for (j = 0; j < m; j++)
		r->r_pol += x[2 + j] * s * sqrt(M_PI) / eps;
	for (i = 0; i < n; i++) {
		are = aim = 0;
		for (j = 0; j < p; j++) {
			are += a[(size_t)i * p + j] * x[j];
			aim += a[(size_t)(n + i) * p + j] * x[j];
		}
		if (zfit_re != NULL)
			zfit_re[i] = are * mod[i];
		if (zfit_im != NULL)
			zfit_im[i] = aim * mod[i];
	}
	r->npoints = impfit_drt_npoints(n);
	for (k = 0; k < r->npoints; k++) {
		/* a spacing and a half beyond the centres: all of the area */
		y = ylo - 1.5 * dy + k * dy / 3;
		for (d = 0, j = 0; j < m; j++)
			d += x[2 + j] * exp(-(eps * (y - yc[j])) *
			    (eps * (y - yc[j])));
		if (tau != NULL)
			tau[k] = exp(y);
		if (gamma != NULL)
			gamma[k] = d * s;
	}
	free(blk);
	r->seconds = drt_now() - t0;
	return (rc);
}
