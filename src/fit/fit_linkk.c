/*
 * impcore - fit_linkk.c: the linear Kramers-Kronig test of Schoenleber et
 * al. (Electrochim. Acta 131 (2014) 20) in the variant impedance.py's
 * linKK computes, so that both give the same M, mu and residuals: an ohmic
 * resistor, M RC elements of fixed log-spaced time constants, a series
 * inductance (and optionally a series capacitance), fitted linearly with
 * weights 1/|Z|; M grows from 1 until mu <= c or M = max_m.  Plus Boukamp's
 * pseudo chi-square of the relative residuals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "impfit.h"

#define LK_RCOND	1e-15	/* numpy.linalg.pinv's default cut-off */
#define LK_SWEEPS	80

static double
lk_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec * 1e-9);
}

/*
 * Minimum-norm least squares x = pinv(A) b, with singular values at or
 * below LK_RCOND times the largest treated as zero, as numpy's pinv does:
 * its 'real' and 'imag' fits have all-zero columns (the inductance, the
 * capacitance or R0), which the pseudo-inverse gives the value 0.  A is m x
 * n in columns (a[j * m + i]) and is destroyed; v is n x n scratch.  One-
 * sided Jacobi (Hestenes): slow, but simple and accurate; lk_lsq() only
 * needs it for rank-deficient systems (more RCs than points).
 */
static void
lk_pinv_solve(double *a, int m, int n, const double *b, double *v, double *x)
{
	double	alpha, beta, gamma, zeta, t, c, s, smax, d, *ap, *aq;
	int	sweep, p, q, i, rot;

	memset(v, 0, sizeof *v * n * n);
	for (p = 0; p < n; p++)
		v[p * n + p] = 1;
	for (sweep = 0; sweep < LK_SWEEPS; sweep++) {
		rot = 0;
		for (p = 0; p < n - 1; p++)
			for (q = p + 1; q < n; q++) {
				ap = a + (size_t)p * m;
				aq = a + (size_t)q * m;
				alpha = beta = gamma = 0;
				for (i = 0; i < m; i++) {
					alpha += ap[i] * ap[i];
					beta += aq[i] * aq[i];
					gamma += ap[i] * aq[i];
				}
				if (gamma == 0 || fabs(gamma) <= 1e-15 *
				    sqrt(alpha * beta))
					continue;
				rot = 1;
				zeta = (beta - alpha) / (2 * gamma);
				t = (zeta >= 0 ? 1 : -1) /
				    (fabs(zeta) + sqrt(1 + zeta * zeta));
				c = 1 / sqrt(1 + t * t);
				s = c * t;
				for (i = 0; i < m; i++) {
					d = ap[i];
					ap[i] = c * d - s * aq[i];
					aq[i] = s * d + c * aq[i];
				}
				for (i = 0; i < n; i++) {
					d = v[p * n + i];
					v[p * n + i] = c * d - s * v[q * n + i];
					v[q * n + i] = s * d + c * v[q * n + i];
				}
			}
		if (!rot)
			break;
	}
	smax = 0;
	for (p = 0; p < n; p++) {
		for (d = 0, i = 0; i < m; i++)
			d += a[(size_t)p * m + i] * a[(size_t)p * m + i];
		if (d > smax)
			smax = d;
	}
	memset(x, 0, sizeof *x * n);
	for (p = 0; p < n; p++) {
		ap = a + (size_t)p * m;
		for (d = 0, alpha = 0, i = 0; i < m; i++) {
			d += ap[i] * ap[i];
			alpha += ap[i] * b[i];
		}
		/* s_p <= rcond * s_max, compared squared */
		if (!(d > LK_RCOND * LK_RCOND * smax))
			continue;
		for (i = 0; i < n; i++)
			x[i] += v[p * n + i] * alpha / d;
	}
}

/*
 * The same least squares by Householder QR on the columns that are not all
 * zero (those get 0, as from the pseudo-inverse): ten times faster than the
 * Jacobi sweeps, and equal to the pinv solution to rounding while A has
 * full column rank.  Returns -1, with a and b left unusable, when it has
 * not (a pivot below 1e-12 of the largest column norm, or more columns than
 * rows): then the caller falls back to lk_pinv_solve() on a fresh copy.
 */
static int
lk_qr_solve(double *a, int m, int n, double *b, double *x)
{
	double	cmax = 0, nrm, alpha, d, beta, *ak, *aj;
	int	j, k, i, r = 0, col[IMPFIT_LINKK_MAX_M + 3];

	for (j = 0; j < n; j++) {
		for (d = 0, i = 0; i < m; i++)
			d += a[(size_t)j * m + i] * a[(size_t)j * m + i];
		x[j] = 0;
		if (d > 0)
			col[r++] = j;
		if (d > cmax)
			cmax = d;
	}
	if (r > m || r == 0)
		return (-1);
	cmax = sqrt(cmax);
	for (k = 0; k < r; k++) {
		ak = a + (size_t)col[k] * m;
		for (nrm = 0, i = k; i < m; i++)
			nrm += ak[i] * ak[i];
		nrm = sqrt(nrm);
		if (!(nrm > 1e-12 * cmax))
			return (-1);
		alpha = ak[k] > 0 ? -nrm : nrm;
		/* v = ak[k..] - alpha e_k, stored in place; beta = v.v / 2 */
		ak[k] -= alpha;
		beta = -alpha * ak[k];
		for (j = k + 1; j < r; j++) {
			aj = a + (size_t)col[j] * m;
			for (d = 0, i = k; i < m; i++)
				d += ak[i] * aj[i];
			d /= beta;
			for (i = k; i < m; i++)
				aj[i] -= d * ak[i];
		}
		for (d = 0, i = k; i < m; i++)
			d += ak[i] * b[i];
		d /= beta;
		for (i = k; i < m; i++)
			b[i] -= d * ak[i];
		ak[k] = alpha;		/* R's diagonal */
	}
	for (k = r - 1; k >= 0; k--) {
		d = b[k];
		for (j = k + 1; j < r; j++)
			d -= a[(size_t)col[j] * m + k] * x[col[j]];
		x[col[k]] = d / a[(size_t)col[k] * m + k];
	}
	return (0);
}

/* x = pinv(A) b: QR when A has full rank, else Jacobi; a, b are kept. */
static void
lk_lsq(const double *a, int m, int n, const double *b, double *work,
    double *bw, double *v, double *x)
{
	memcpy(work, a, sizeof *a * m * n);
	memcpy(bw, b, sizeof *b * m);
	if (lk_qr_solve(work, m, n, bw, x) == 0)
		return;
	memcpy(work, a, sizeof *a * m * n);
	lk_pinv_solve(work, m, n, b, v, x);
}

/*
 * Solve the n x n system a x = b (row-major, destroyed) by Gaussian
 * elimination with partial pivoting: impedance.py's 'complex' fit inverts
 * its normal equations with LAPACK's LU, and so do we (a pinv here would
 * give other numbers once the normal matrix is ill-conditioned).  Returns
 * -1 when a is singular.
 */
static int
lk_lu_solve(double *a, int n, double *b, double *x)
{
	double	f, t;
	int	i, j, k, piv;

	for (k = 0; k < n; k++) {
		piv = k;
		for (i = k + 1; i < n; i++)
			if (fabs(a[i * n + k]) > fabs(a[piv * n + k]))
				piv = i;
		if (a[piv * n + k] == 0)
			return (-1);
		if (piv != k) {
			for (j = 0; j < n; j++) {
				t = a[k * n + j];
				a[k * n + j] = a[piv * n + j];
				a[piv * n + j] = t;
			}
			t = b[k];
			b[k] = b[piv];
			b[piv] = t;
		}
		for (i = k + 1; i < n; i++) {
			f = a[i * n + k] / a[k * n + k];
			if (f == 0)
				continue;
			for (j = k; j < n; j++)
				a[i * n + j] -= f * a[k * n + j];
			b[i] -= f * b[k];
		}
	}
	for (k = n - 1; k >= 0; k--) {
		t = b[k];
		for (j = k + 1; j < n; j++)
			t -= a[k * n + j] * x[j];
		x[k] = t / a[k * n + k];
	}
	return (0);
}

/*
 * The M time constants from 1/(2 pi f_max) to 1/(2 pi f_min), log-spaced.
 * With M = 1 the single one is 1/(2 pi f_min): impedance.py sets the first
 * and then the last slot, which is the same slot.
 */
void
impfit_linkk_taus(const double *freq, int n, int m, double *tau)
{
	double	fmin = freq[0], fmax = freq[0], tmin, tmax;
	int	i, k;

	for (i = 1; i < n; i++) {
		if (freq[i] < fmin)
			fmin = freq[i];
		if (freq[i] > fmax)
			fmax = freq[i];
	}
	tmax = 1 / (2 * M_PI * fmin);
	tmin = 1 / (2 * M_PI * fmax);
	tau[0] = tmin;
	tau[m - 1] = tmax;
	for (k = 2; k < m; k++)
		tau[k - 1] = pow(10, log10(tmin) + ((k - 1.0) / (m - 1)) *
		    log10(tmax / tmin));
}

/* The scratch of one test: sized for max_m, allocated once per call. */
struct lk_ws {
	double	*are, *aim;	/* columns: R0, R1..RM, [1/C], L */
	double	*mat, *v, *rhs, *x, *tau, *w, *mod;
	double	*work, *bw;	/* n x nc and n: lk_lsq()'s copies */
};

/* The model of elements x (R0, R1..RM, [1/C], L) at point i. */
static void
lk_model(const struct lk_ws *s, const double *x, int m, int cap, int i,
    double *zr, double *zi)
{
	double	w = s->w[i], d, r = x[0], im = 0;
	int	k;

	for (k = 0; k < m; k++) {
		d = 1 + w * s->tau[k] * w * s->tau[k];
		r += x[k + 1] / d;
		im -= x[k + 1] * w * s->tau[k] / d;
	}
	im += w * x[m + 1 + cap];
	if (cap)
		im -= x[m + 1] / w;
	*zr = r;
	*zi = im;
}

/*
 * One fit with m RC elements into s->x; returns mu, or NAN when the normal
 * equations of the 'complex' fit are singular.
 */
static double
lk_fit_m(struct lk_ws *s, const double *freq, const double *zre,
    const double *zim, int n, int m, const struct impfit_linkk_options *o)
{
	int	cap = o->add_cap != 0, nc = m + 2 + cap, i, j, k;
	double	kr, ki, d, pos = 0, neg = 0, zr, zi, sw, swr;

	(void)freq;
	impfit_linkk_taus(freq, n, m, s->tau);
	memset(s->are, 0, sizeof *s->are * n * nc);
	memset(s->aim, 0, sizeof *s->aim * n * nc);
	for (i = 0; i < n; i++) {
		s->are[i] = 1 / s->mod[i];
		if (cap)
			s->aim[(size_t)(m + 1) * n + i] = -1 / (s->w[i] *
			    s->mod[i]);
		s->aim[(size_t)(nc - 1) * n + i] = s->w[i] / s->mod[i];
		for (k = 0; k < m; k++) {
			d = s->w[i] * s->tau[k];
			kr = 1 / (1 + d * d);
			ki = -d / (1 + d * d);
			s->are[(size_t)(k + 1) * n + i] = kr / s->mod[i];
			s->aim[(size_t)(k + 1) * n + i] = ki / s->mod[i];
		}
	}
	switch (o->type) {
	case IMPFIT_LINKK_REAL:
		for (i = 0; i < n; i++)
			s->rhs[i] = zre[i] / s->mod[i];
		lk_lsq(s->are, n, nc, s->rhs, s->work, s->bw, s->v, s->x);
		/* The imaginary part's series L (and C) from what is left. */
		if (cap)
			s->x[m + 1] = 1e-18;
		for (i = 0; i < n; i++) {
			lk_model(s, s->x, m, cap, i, &zr, &zi);
			s->rhs[i] = (zim[i] - zi) / s->mod[i];
			if (cap)
				s->are[i] = -1 / (s->w[i] * s->mod[i]);
			s->are[(size_t)cap * n + i] = s->w[i] / s->mod[i];
		}
		lk_lsq(s->are, n, 1 + cap, s->rhs, s->work, s->bw, s->v, s->mat);
		if (cap)
			s->x[m + 1] = s->mat[0];
		s->x[nc - 1] = s->mat[cap];
		break;
	case IMPFIT_LINKK_IMAG:
		for (i = 0; i < n; i++)
			s->rhs[i] = zim[i] / s->mod[i];
		lk_lsq(s->aim, n, nc, s->rhs, s->work, s->bw, s->v, s->x);
		/* R0 by Boukamp's (1995) eq. 7, weights 1/|Z|^2 */
		sw = swr = 0;
		for (i = 0; i < n; i++) {
			for (zr = 0, k = 0; k < m; k++) {
				d = s->w[i] * s->tau[k];
				zr += s->x[k + 1] / (1 + d * d);
			}
			d = 1 / (s->mod[i] * s->mod[i]);
			sw += d;
			swr += d * (zre[i] - zr);
		}
		s->x[0] = swr / sw;
		break;
	case IMPFIT_LINKK_COMPLEX:
		for (j = 0; j < nc; j++) {
			for (k = 0; k < j; k++)
				s->mat[j * nc + k] = s->mat[k * nc + j];
			for (k = j; k < nc; k++) {
				for (d = 0, i = 0; i < n; i++)
					d += s->are[(size_t)j * n + i] *
					    s->are[(size_t)k * n + i] +
					    s->aim[(size_t)j * n + i] *
					    s->aim[(size_t)k * n + i];
				s->mat[j * nc + k] = d;
			}
			for (d = 0, i = 0; i < n; i++)
				d += s->are[(size_t)j * n + i] * zre[i] /
				    s->mod[i] + s->aim[(size_t)j * n + i] *
				    zim[i] / s->mod[i];
			s->rhs[j] = d;
		}
		if (lk_lu_solve(s->mat, nc, s->rhs, s->x) != 0)
			return (NAN);
		break;
	}
	for (k = 1; k <= m; k++)
		if (s->x[k] < 0)
			neg -= s->x[k];
		else
			pos += s->x[k];
	return (1 - neg / pos);
}

int
impfit_linkk_type_parse(const char *s)
{
	if (strcmp(s, "real") == 0)
		return (IMPFIT_LINKK_REAL);
	if (strcmp(s, "imag") == 0)
		return (IMPFIT_LINKK_IMAG);
	if (strcmp(s, "complex") == 0)
		return (IMPFIT_LINKK_COMPLEX);
	return (-1);
}

const char *
impfit_linkk_type_name(enum impfit_linkk_type t)
{
	static const char *const names[] = { "real", "imag", "complex" };

	return ((unsigned)t < 3 ? names[t] : "?");
}

void
impfit_linkk_options_default(struct impfit_linkk_options *o)
{
	o->c = 0.85;
	o->max_m = 50;
	o->type = IMPFIT_LINKK_REAL;
	o->add_cap = 0;
}

int
impfit_linkk(const double *freq, const double *zre, const double *zim, int n,
    const struct impfit_linkk_options *o, struct impfit_linkk_result *r,
    double *res_re, double *res_im)
{
	struct lk_ws	 s;
	double		 t0 = lk_now(), mu = 1, zr, zi, chi = 0;
	int		 mx = o->max_m, nc, m = 0, i, cap = o->add_cap != 0;
	double		*blk;

	memset(r, 0, sizeof *r);
	if (n < 1 || mx < 1 || mx > IMPFIT_LINKK_MAX_M || (unsigned)o->type > 2)
		return (-1);
	for (i = 0; i < n; i++)
		if (!(freq[i] > 0) || !isfinite(freq[i]) ||
		    !isfinite(zre[i]) || !isfinite(zim[i]) ||
		    !(hypot(zre[i], zim[i]) > 0))
			return (-1);
	nc = mx + 3;
	/* are, aim: n x nc; mat: nc x nc; v: nc x nc; rhs: max(n, nc);
	 * x, tau: nc; w, mod: n */
	blk = malloc(sizeof *blk * ((size_t)3 * n * nc + 2 * nc * nc +
	    (n > nc ? n : nc) + 2 * nc + 3 * n));
	if (blk == NULL)
		return (-1);
	s.are = blk;
	s.aim = s.are + (size_t)n * nc;
	s.mat = s.aim + (size_t)n * nc;
	s.v = s.mat + nc * nc;
	s.rhs = s.v + nc * nc;
	s.x = s.rhs + (n > nc ? n : nc);
	s.tau = s.x + nc;
	s.w = s.tau + nc;
	s.mod = s.w + n;
	s.work = s.mod + n;
	s.bw = s.work + (size_t)n * nc;
	for (i = 0; i < n; i++) {
		s.w[i] = 2 * M_PI * freq[i];
		s.mod[i] = hypot(zre[i], zim[i]);
	}
	/* mu > c, not >=: the loop of impedance.py ("while mu > c") */
	while ((o->c <= 0 || mu > o->c) && m < mx) {
		if (o->c <= 0)
			m = mx;		/* c <= 0: no search, max_m RCs */
		else
			m++;
		mu = lk_fit_m(&s, freq, zre, zim, n, m, o);
		if (isnan(mu) || o->c <= 0)
			break;
	}
	r->m = m;
	r->mu = mu;
	r->r_ohm = s.x[0];
	r->l = s.x[m + 1 + cap];
	r->c_inv = cap ? s.x[m + 1] : 0;
	for (i = 0; i < n; i++) {
		lk_model(&s, s.x, m, cap, i, &zr, &zi);
		zr = (zre[i] - zr) / s.mod[i];
		zi = (zim[i] - zi) / s.mod[i];
		if (res_re != NULL)
			res_re[i] = zr;
		if (res_im != NULL)
			res_im[i] = zi;
		chi += zr * zr + zi * zi;
	}
	r->pseudo_chi_square = chi;
	free(blk);
	r->seconds = lk_now() - t0;
	return (isfinite(mu) || isinf(mu) ? 0 : -1);
}
