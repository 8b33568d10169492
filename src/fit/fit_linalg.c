/*
 * impcore - fit_linalg.c: the small dense linear algebra of the fitter
 * (symmetric positive definite systems of at most IMPFIT_MAX_PARAMS unknowns).
 * Matrices are row-major n x n arrays.
 */
#include <math.h>

#include "fit/fit_priv.h"

/*
 * Cholesky factor of the symmetric matrix a into l (lower triangle, a and l
 * may be the same array).  Returns 0, or -1 when a is not numerically
 * positive definite (a pivot at or below 1e-14 of its diagonal entry).
 */
int
fit_chol(const double *a, double *l, int n)
{
	double	s;
	int	i, j, k;

	for (j = 0; j < n; j++) {
		s = a[j * n + j];
		for (k = 0; k < j; k++)
			s -= l[j * n + k] * l[j * n + k];
		if (!(s > 1e-14 * fabs(a[j * n + j])) || !isfinite(s))
			return (-1);
		l[j * n + j] = sqrt(s);
		for (i = j + 1; i < n; i++) {
			s = a[i * n + j];
			for (k = 0; k < j; k++)
				s -= l[i * n + k] * l[j * n + k];
			l[i * n + j] = s / l[j * n + j];
		}
	}
	return (0);
}

/* Solve l l^T x = b with the factor of fit_chol(); b and x may alias. */
void
fit_chol_solve(const double *l, int n, const double *b, double *x)
{
	double	s;
	int	i, k;

	for (i = 0; i < n; i++) {
		s = b[i];
		for (k = 0; k < i; k++)
			s -= l[i * n + k] * x[k];
		x[i] = s / l[i * n + i];
	}
	for (i = n - 1; i >= 0; i--) {
		s = x[i];
		for (k = i + 1; k < n; k++)
			s -= l[k * n + i] * x[k];
		x[i] = s / l[i * n + i];
	}
}

/*
 * Inverse of a symmetric positive definite a into inv, using l as scratch
 * and col (n values) as a column buffer.  The matrix is scaled to unit
 * diagonal first so that parameters of very different magnitudes (1e-6 F
 * next to 1e3 Ohm) do not ruin the pivots.  Returns 0 or -1 (singular).
 */
int
fit_spd_inverse(const double *a, double *inv, double *l, double *col, int n)
{
	double	d[IMPFIT_MAX_PARAMS];
	int	i, j;

	for (i = 0; i < n; i++) {
		if (!(a[i * n + i] > 0) || !isfinite(a[i * n + i]))
			return (-1);
		d[i] = 1.0 / sqrt(a[i * n + i]);
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			l[i * n + j] = a[i * n + j] * d[i] * d[j];
	if (fit_chol(l, l, n) != 0)
		return (-1);
	for (j = 0; j < n; j++) {
		for (i = 0; i < n; i++)
			col[i] = (i == j);
		fit_chol_solve(l, n, col, col);
		for (i = 0; i < n; i++)
			inv[i * n + j] = col[i] * d[i] * d[j];
	}
	return (0);
}
