/*
 * impcore - fit_eval.c: impedance of a parsed circuit and its analytic
 * partial derivatives with respect to every parameter.
 *
 * Points are evaluated in blocks of up to FIT_BLOCK, node by node: the
 * tree is walked once per block rather than once per point, and the inner
 * loops over the points of a block are plain arithmetic on split real and
 * imaginary arrays that the compiler vectorises.  A forward pass over the
 * postfix node list sums impedances (series) or admittances (parallel); a
 * backward pass gives each node its sensitivity dZ/dZnode (that of its
 * parent through a series group, times (Zgroup/Znode)^2 through a parallel
 * one); then dZ/dp = sensitivity(element) * dZelement/dp.
 */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit/fit_priv.h"

/* Per-frequency constants of n points into the four arrays. */
void
fit_freqs_set(const double *f, int n, double *w, double *invw, double *lnw,
    double *sqw)
{
	int	k;

	for (k = 0; k < n; k++) {
		w[k] = 2.0 * M_PI * f[k];
		invw[k] = 1.0 / w[k];
		lnw[k] = log(w[k]);
		sqw[k] = sqrt(0.5 * w[k]);
	}
}

/* Fill the per-evaluation constants of parameter vector p. */
void
fit_prep_set(const struct impfit_circuit *c, const double *p,
    struct fit_prep *pp)
{
	const struct fit_elem	*e;
	int			 i;
	double			 inv;

	for (i = 0; i < c->nelem; i++) {
		e = &c->elem[i];
		inv = 1.0 / p[e->p0];
		pp->inv[i] = inv;
		pp->kr[i] = pp->ki[i] = 0;
		switch (e->kind) {
		case FIT_EK_W:
			/* 1 / (Y0 sqw (1 + j)) = (1 - j) / (2 Y0 sqw) */
			pp->kr[i] = 0.5 * inv;
			pp->ki[i] = -0.5 * inv;
			break;
		case FIT_EK_Q:
			/* 1 / (Y0 (j w)^n) = w^-n e^(-j n pi/2) / Y0 */
			pp->kr[i] = cos(p[e->p0 + 1] * M_PI_2) * inv;
			pp->ki[i] = -sin(p[e->p0 + 1] * M_PI_2) * inv;
			break;
		}
	}
}

/*
 * tanh(a (1 + j)) for a >= 0, the argument of B sqrt(j w):
 * (sinh 2a + j sin 2a) / (cosh 2a + cos 2a), with expm1 so that small a
 * keeps its precision and a cut-off where the result is 1 to the last bit.
 */
static inline void
fit_tanh_diag(double a, double *re, double *im)
{
	double	t = 2.0 * a, em1, ex, sh, ch, den;

	if (t > 40.0) {
		*re = 1.0;
		*im = 0.0;
		return;
	}
	em1 = expm1(t);
	ex = em1 + 1.0;
	sh = em1 * (ex + 1.0) / (2.0 * ex);
	ch = 0.5 * (ex + 1.0 / ex);
	den = 1.0 / (ch + cos(t));
	*re = sh * den;
	*im = sin(t) * den;
}

/*
 * impedance.py's elements other than R, C, L and CPE, one point at a time
 * in complex arithmetic (they are rarer than the CDC ones, and several need
 * a complex tanh or sinh): Z of the element with parameters q at angular
 * frequency w into *z, and dZ/dq[j] into d[j] when d is not NULL.  The
 * definitions are impedance.py's (elements.py); the derivatives are
 * worked out here, and test-fit-deriv holds them to finite differences.
 */
static void
fit_py_point(int kind, const double *q, double w, double complex *z,
    double complex *d)
{
	double complex	u, v, t, g, x, l, h, hh, ct, cs, dz;
	double		r;

	switch (kind) {
	case FIT_EK_PY_W:
		/* Aw (1 - j) / sqrt(w) */
		g = (1 - I) / sqrt(w);
		*z = q[0] * g;
		if (d != NULL)
			d[0] = g;
		return;
	case FIT_EK_WO:
	case FIT_EK_WS:
		/* Z0 coth(s) / s (Wo) or Z0 tanh(s) / s (Ws), s = sqrt(j w
		 * tau); d/dtau through ds/dtau = s / (2 tau):
		 * s (coth s / s)' = 1 - coth^2 - coth / s, alike for tanh. */
		r = sqrt(0.5 * w * q[1]);
		u = r + I * r;
		t = ctanh(u);
		if (kind == FIT_EK_WO)
			t = 1 / t;
		g = t / u;
		*z = q[0] * g;
		if (d != NULL) {
			d[0] = g;
			d[1] = q[0] / (2 * q[1]) * (1 - t * t - g);
		}
		return;
	case FIT_EK_LA:
		/* (j w L)^alpha = exp(alpha (ln(w L) + j pi/2)) */
		l = log(w * q[0]) + I * M_PI_2;
		*z = cexp(q[1] * l);
		if (d != NULL) {
			d[0] = q[1] * *z / q[0];
			d[1] = *z * l;
		}
		return;
	case FIT_EK_PY_G:
		/* R / sqrt(1 + j w t) */
		u = 1 + I * w * q[1];
		v = csqrt(u);
		*z = q[0] / v;
		if (d != NULL) {
			d[0] = 1 / v;
			d[1] = -*z * I * w / (2 * u);
		}
		return;
	case FIT_EK_GS:
		/* R / (v tanh(phi v)), v = sqrt(1 + j w t) */
		u = 1 + I * w * q[1];
		v = csqrt(u);
		t = ctanh(q[2] * v);
		g = v * t;
		*z = q[0] / g;
		if (d != NULL) {
			d[0] = 1 / g;
			/* d(v tanh(phi v))/dv = tanh + phi v (1 - tanh^2) */
			d[1] = -*z * (t + q[2] * v * (1 - t * t)) / g * I * w /
			    (2 * v);
			d[2] = -*z * v * (1 - t * t) / t;
		}
		return;
	case FIT_EK_K:
		/* R / (1 + j w tau) */
		u = 1 + I * w * q[1];
		*z = q[0] / u;
		if (d != NULL) {
			d[0] = 1 / u;
			d[1] = -*z * I * w / u;
		}
		return;
	case FIT_EK_ZARC:
		/* R / (1 + x), x = (j w tau)^gamma */
		l = log(w * q[1]) + I * M_PI_2;
		x = cexp(q[2] * l);
		*z = q[0] / (1 + x);
		if (d != NULL) {
			d[0] = 1 / (1 + x);
			d[1] = -*z * q[2] * x / (q[1] * (1 + x));
			d[2] = -*z * x * l / (1 + x);
		}
		return;
	case FIT_EK_TLMQ:
		/*
		 * sqrt(Rion Zs) coth(sqrt(Rion / Zs)), Zs = 1 / (Qs (j
		 * w)^gamma), is Rion coth(m) / m with m = sqrt(Rion Qs)
		 * (j w)^(gamma/2) (principal roots agree: arg m is
		 * gamma pi/4).  With h(m) = coth(m) / m and H = m h'(m) =
		 * 1 - coth^2 - coth / m, and dm/dRion = m / (2 Rion),
		 * dm/dQs = m / (2 Qs), dm/dgamma = m ln(j w) / 2.
		 */
		l = log(w) + I * M_PI_2;
		x = sqrt(q[0] * q[1]) * cexp(0.5 * q[2] * l);
		ct = 1 / ctanh(x);
		h = ct / x;
		*z = q[0] * h;
		if (d != NULL) {
			hh = 1 - ct * ct - h;
			d[0] = h + 0.5 * hh;
			d[1] = q[0] * hh / (2 * q[1]);
			d[2] = q[0] * hh * l / 2;
		}
		return;
	case FIT_EK_PY_T:
		/*
		 * A coth(b) / b + B / (b sinh b), b = sqrt(a + j w bb).
		 * 1/sinh is 0 where sinh overflows; impedance.py puts
		 * sinh = 1e10 from Re b >= 100 on, where the true term is
		 * below 1e-43 of B / b: we keep the true one.
		 */
		v = csqrt(q[2] + I * w * q[3]);
		ct = 1 / ctanh(v);
		cs = creal(v) > 700 ? 0 : 1 / csinh(v);
		h = ct / v;
		g = cs / v;
		*z = q[0] * h + q[1] * g;
		if (d != NULL) {
			d[0] = h;
			d[1] = g;
			/* h' = (1 - coth^2 - coth / b) / b,
			 * (csch / b)' = -csch (b coth + 1) / b^2 */
			dz = q[0] * (1 - ct * ct - h) / v - q[1] * cs *
			    (v * ct + 1) / (v * v);
			d[2] = dz / (2 * v);
			d[3] = dz * I * w / (2 * v);
		}
		return;
	}
	*z = NAN;
}

/*
 * Impedance of element i at the bl points of block fb into zr/zi, and its
 * derivatives with respect to its own parameters into dr/di rows p0...
 * (strided by FIT_BLOCK) when deriv is set.
 */
static inline __attribute__((always_inline)) void
fit_elem_block(const struct impfit_circuit *c, int i, const double *p,
    const struct fit_prep *pp, const struct fit_fblock *fb, int bl,
    double *restrict zr, double *restrict zi, double *restrict dr,
    double *restrict di, int deriv)
{
	const struct fit_elem	*e = &c->elem[i];
	const double		*q = p + e->p0;
	double			 inv = pp->inv[i], kr = pp->kr[i];
	double			 ki = pp->ki[i], a, b, t, u, s, m, lr, li;
	double			*d0r = dr + FIT_BLOCK * e->p0;
	double			*d0i = di + FIT_BLOCK * e->p0;
	double			*d1r = d0r + FIT_BLOCK, *d1i = d0i + FIT_BLOCK;
	double			*d2r = d1r + FIT_BLOCK, *d2i = d1i + FIT_BLOCK;
	double complex		 zc, dc[4];
	int			 k, j;

	switch (e->kind) {
	case FIT_EK_R:
		for (k = 0; k < bl; k++) {
			zr[k] = q[0];
			zi[k] = 0;
		}
		if (deriv)
			for (k = 0; k < bl; k++) {
				d0r[k] = 1;
				d0i[k] = 0;
			}
		return;
	case FIT_EK_C:
		for (k = 0; k < bl; k++) {
			zr[k] = 0;
			zi[k] = -inv * fb->invw[k];
		}
		if (deriv)
			for (k = 0; k < bl; k++) {
				d0r[k] = 0;
				d0i[k] = -zi[k] * inv;
			}
		return;
	case FIT_EK_L:
		for (k = 0; k < bl; k++) {
			zr[k] = 0;
			zi[k] = fb->w[k] * q[0];
		}
		if (deriv)
			for (k = 0; k < bl; k++) {
				d0r[k] = 0;
				d0i[k] = fb->w[k];
			}
		return;
	case FIT_EK_W:
		for (k = 0; k < bl; k++) {
			s = 1.0 / fb->sqw[k];
			zr[k] = kr * s;
			zi[k] = ki * s;
		}
		break;
	case FIT_EK_Q:
		for (k = 0; k < bl; k++) {
			s = exp(-q[1] * fb->lnw[k]);
			zr[k] = kr * s;
			zi[k] = ki * s;
		}
		if (deriv)
			/* dZ/dn = -Z (ln w + j pi/2) */
			for (k = 0; k < bl; k++) {
				d1r[k] = -(zr[k] * fb->lnw[k] - zi[k] * M_PI_2);
				d1i[k] = -(zr[k] * M_PI_2 + zi[k] * fb->lnw[k]);
			}
		break;
	case FIT_EK_O:
	case FIT_EK_T:
		for (k = 0; k < bl; k++) {
			fit_tanh_diag(q[1] * fb->sqw[k], &a, &b);
			if (e->kind == FIT_EK_T) {
				/* coth = 1 / tanh */
				m = 1.0 / (a * a + b * b);
				a *= m;
				b *= -m;
			}
			/* (a + j b) / (Y0 sqw (1 + j)) */
			s = 0.5 * inv / fb->sqw[k];
			zr[k] = (a + b) * s;
			zi[k] = (b - a) * s;
			/* d tanh = 1 - tanh^2, d coth = 1 - coth^2 */
			d1r[k] = (1.0 - (a * a - b * b)) * inv;
			d1i[k] = -2.0 * a * b * inv;
		}
		break;
	case FIT_EK_G:
		for (k = 0; k < bl; k++) {
			/* principal sqrt of u = k + j w, k > 0 */
			t = q[1];
			u = fb->w[k];
			s = sqrt(0.5 * (sqrt(t * t + u * u) + t));
			a = s;
			b = 0.5 * u / s;
			m = inv / (a * a + b * b);
			zr[k] = a * m;
			zi[k] = -b * m;
			/* dZ/dk = -Z / (2 u) */
			m = -0.5 / (t * t + u * u);
			d1r[k] = (zr[k] * t + zi[k] * u) * m;
			d1i[k] = (zi[k] * t - zr[k] * u) * m;
		}
		break;
	case FIT_EK_F:
		for (k = 0; k < bl; k++) {
			t = q[1];
			u = fb->w[k];
			lr = 0.5 * log(t * t + u * u);
			li = atan2(u, t);
			/* u^-a / Y0 = exp(-a log u) / Y0 */
			m = exp(-q[2] * lr) * inv;
			zr[k] = m * cos(q[2] * li);
			zi[k] = -m * sin(q[2] * li);
			/* dZ/dk = -a Z / u, dZ/da = -Z log u */
			m = -q[2] / (t * t + u * u);
			d1r[k] = (zr[k] * t + zi[k] * u) * m;
			d1i[k] = (zi[k] * t - zr[k] * u) * m;
			d2r[k] = -(zr[k] * lr - zi[k] * li);
			d2i[k] = -(zr[k] * li + zi[k] * lr);
		}
		break;
	default:
		/* impedance.py's own: every derivative from the point. */
		for (k = 0; k < bl; k++) {
			fit_py_point(e->kind, q, fb->w[k], &zc, deriv ? dc :
			    NULL);
			zr[k] = creal(zc);
			zi[k] = cimag(zc);
			if (!deriv)
				continue;
			for (j = 0; j < e->np; j++) {
				dr[FIT_BLOCK * (e->p0 + j) + k] = creal(dc[j]);
				di[FIT_BLOCK * (e->p0 + j) + k] = cimag(dc[j]);
			}
		}
		return;
	}
	/* The CDC elements but R, C, L: dZ/dY0 = -Z / Y0. */
	if (deriv)
		for (k = 0; k < bl; k++) {
			d0r[k] = -zr[k] * inv;
			d0i[k] = -zi[k] * inv;
		}
}

/*
 * Evaluate the circuit at the bl (<= FIT_BLOCK) points of fb.  The result
 * is in s->zr/zi[c->nnode - 1]; with deriv, dZ/dp of every parameter j is
 * in s->dr/di[j].  pp must come from fit_prep_set() with the same p.
 */
FIT_HOT void
fit_eval_block(const struct impfit_circuit *c, const double *p,
    const struct fit_prep *pp, const struct fit_fblock *fb, int bl,
    struct fit_scratch *s, int deriv)
{
	const struct fit_node	*nd;
	const struct fit_elem	*e;
	double			*restrict zr, *restrict zi, *restrict ar;
	double			*restrict ai, *restrict pr, *restrict pi;
	double			 a, b, m, qr, qi, sr, si;
	int			 i, j, k, par, root = c->nnode - 1;

	for (i = 0; i < c->nnode; i++) {
		nd = &c->node[i];
		zr = s->zr[i];
		zi = s->zi[i];
		if (nd->kind == FIT_NODE_ELEM)
			fit_elem_block(c, nd->elem, p, pp, fb, bl, zr, zi,
			    s->dr[0], s->di[0], deriv);
		else if (nd->kind == FIT_NODE_PARALLEL) {
			/* Z = 1 / (sum of the children's admittances) */
			ar = s->ar[i];
			ai = s->ai[i];
			for (k = 0; k < bl; k++) {
				m = 1.0 / (ar[k] * ar[k] + ai[k] * ai[k]);
				zr[k] = ar[k] * m;
				zi[k] = -ai[k] * m;
			}
		}
		/* (a series group summed its children into zr/zi already) */
		if ((par = nd->parent) < 0)
			continue;
		if (c->node[par].kind == FIT_NODE_SERIES) {
			pr = s->zr[par];
			pi = s->zi[par];
			if (nd->first)
				for (k = 0; k < bl; k++) {
					pr[k] = zr[k];
					pi[k] = zi[k];
				}
			else
				for (k = 0; k < bl; k++) {
					pr[k] += zr[k];
					pi[k] += zi[k];
				}
		} else {
			/* Keep the admittance 1/Z of a parallel group's child
			 * in its own ar/ai (unused otherwise): the backward
			 * pass needs it. */
			ar = s->ar[i];
			ai = s->ai[i];
			pr = s->ar[par];
			pi = s->ai[par];
			for (k = 0; k < bl; k++) {
				m = 1.0 / (zr[k] * zr[k] + zi[k] * zi[k]);
				ar[k] = zr[k] * m;
				ai[k] = -zi[k] * m;
			}
			if (nd->first)
				for (k = 0; k < bl; k++) {
					pr[k] = ar[k];
					pi[k] = ai[k];
				}
			else
				for (k = 0; k < bl; k++) {
					pr[k] += ar[k];
					pi[k] += ai[k];
				}
		}
	}
	if (!deriv)
		return;

	/* Parents come after their children: walk backwards. */
	for (k = 0; k < bl; k++) {
		s->sr[root][k] = 1.0;
		s->si[root][k] = 0.0;
	}
	for (i = root - 1; i >= 0; i--) {
		par = c->node[i].parent;
		pr = s->sr[par];
		pi = s->si[par];
		zr = s->sr[i];
		zi = s->si[i];
		if (c->node[par].kind == FIT_NODE_SERIES) {
			for (k = 0; k < bl; k++) {
				zr[k] = pr[k];
				zi[k] = pi[k];
			}
			continue;
		}
		/* q = Zgroup / Znode = Zgroup * Ynode; sens = sens(par) q^2 */
		ar = s->ar[i];
		ai = s->ai[i];
		for (k = 0; k < bl; k++) {
			a = s->zr[par][k];
			b = s->zi[par][k];
			qr = a * ar[k] - b * ai[k];
			qi = a * ai[k] + b * ar[k];
			a = qr * qr - qi * qi;
			b = 2.0 * qr * qi;
			zr[k] = pr[k] * a - pi[k] * b;
			zi[k] = pr[k] * b + pi[k] * a;
		}
	}
	for (i = 0; i < c->nelem; i++) {
		e = &c->elem[i];
		if (e->par_depth == 0)
			continue;	/* sensitivity 1 */
		for (j = e->p0; j < e->p0 + e->np; j++) {
			pr = s->dr[j];
			pi = s->di[j];
			zr = s->sr[e->node];
			zi = s->si[e->node];
			for (k = 0; k < bl; k++) {
				sr = zr[k] * pr[k] - zi[k] * pi[k];
				si = zr[k] * pi[k] + zi[k] * pr[k];
				pr[k] = sr;
				pi[k] = si;
			}
		}
	}
}

/*
 * Call fn for each block of the n frequencies freq with its constants; for
 * the public functions below, which have no workspace.
 */
static int
fit_eval_blocks(const double *freq, int n,
    void (*fn)(void *, const struct fit_fblock *, int, int), void *arg)
{
	double			w[FIT_BLOCK], invw[FIT_BLOCK];
	double			lnw[FIT_BLOCK], sqw[FIT_BLOCK];
	struct fit_fblock	fb = { w, invw, lnw, sqw };
	int			k0, bl;

	for (k0 = 0; k0 < n; k0 += FIT_BLOCK) {
		bl = n - k0 < FIT_BLOCK ? n - k0 : FIT_BLOCK;
		fit_freqs_set(freq + k0, bl, w, invw, lnw, sqw);
		fn(arg, &fb, k0, bl);
	}
	return (0);
}

struct fit_eval_arg {
	const struct impfit_circuit	*c;
	const double			*p;
	struct fit_prep			 pp;
	struct fit_scratch		*s;
	int				 elem;	/* -1: whole circuit */
	double				*zre, *zim;
};

static void
fit_eval_one(void *arg, const struct fit_fblock *fb, int k0, int bl)
{
	struct fit_eval_arg	*a = arg;
	struct fit_scratch	*s = a->s;
	int			 k, i = a->c->nnode - 1;

	if (a->elem >= 0) {
		fit_elem_block(a->c, a->elem, a->p, &a->pp, fb, bl, s->zr[0],
		    s->zi[0], s->dr[0], s->di[0], 0);
		i = 0;
	} else
		fit_eval_block(a->c, a->p, &a->pp, fb, bl, s, 0);
	for (k = 0; k < bl; k++) {
		a->zre[k0 + k] = s->zr[i][k];
		a->zim[k0 + k] = s->zi[i][k];
	}
}

/* The model (elem < 0) or one element at n frequencies; NaN when out of
 * memory. */
static void
fit_eval_public(const struct impfit_circuit *c, int elem, const double *params,
    const double *freq, int n, double *zre, double *zim)
{
	struct fit_eval_arg	a;
	int			k;

	a.c = c;
	a.p = params;
	a.elem = elem;
	a.zre = zre;
	a.zim = zim;
	/* Too big for a thread's stack; not a hot path (impfit_run() has its
	 * own scratch in the workspace). */
	if ((a.s = malloc(sizeof *a.s)) == NULL) {
		for (k = 0; k < n; k++)
			zre[k] = zim[k] = NAN;
		return;
	}
	fit_prep_set(c, params, &a.pp);
	fit_eval_blocks(freq, n, fit_eval_one, &a);
	free(a.s);
}

void
impfit_circuit_eval(const struct impfit_circuit *c, const double *params,
    const double *freq, int n, double *zre, double *zim)
{
	fit_eval_public(c, -1, params, freq, n, zre, zim);
}

void
impfit_element_eval(const struct impfit_circuit *c, int e, const double *params,
    const double *freq, int n, double *zre, double *zim)
{
	if (e < 0 || e >= c->nelem)
		return;
	fit_eval_public(c, e, params, freq, n, zre, zim);
}

/*==================================================================
 * Evaluators: the public evaluations without an allocation or the
 * frequency constants per call.
 */

struct impfit_evaluator {
	struct fit_scratch	s;
	int			n, cap;
	double			*freq;		/* the n frequencies of w..sqw */
	double			*w, *invw, *lnw, *sqw;
};

struct impfit_evaluator *
impfit_evaluator_new(void)
{
	struct impfit_evaluator *ev = malloc(sizeof *ev);

	if (ev != NULL) {
		ev->n = ev->cap = 0;
		ev->freq = NULL;
	}
	return (ev);
}

void
impfit_evaluator_free(struct impfit_evaluator *ev)
{
	if (ev == NULL)
		return;
	free(ev->freq);
	free(ev);
}

/* ev's constants for freq; -1 when out of memory. */
static int
fit_evaluator_freqs(struct impfit_evaluator *ev, const double *freq, int n)
{
	double *blk;

	if (n == ev->n && memcmp(freq, ev->freq, sizeof *freq * (size_t)n) == 0)
		return (0);
	if (n > ev->cap) {
		if ((blk = malloc(5 * sizeof *blk * (size_t)n)) == NULL)
			return (-1);
		free(ev->freq);
		ev->freq = blk;
		ev->w = blk + n;
		ev->invw = blk + 2 * (size_t)n;
		ev->lnw = blk + 3 * (size_t)n;
		ev->sqw = blk + 4 * (size_t)n;
		ev->cap = n;
	}
	memcpy(ev->freq, freq, sizeof *freq * (size_t)n);
	fit_freqs_set(freq, n, ev->w, ev->invw, ev->lnw, ev->sqw);
	ev->n = n;
	return (0);
}

int
impfit_evaluator_eval(struct impfit_evaluator *ev, const struct impfit_circuit *c,
    int elem, const double *params, const double *freq, int n, double *zre,
    double *zim)
{
	struct fit_eval_arg	a;
	struct fit_fblock	fb;
	int			k0, k;

	if (elem >= c->nelem)
		return (0);
	if (n > 0 && fit_evaluator_freqs(ev, freq, n) != 0) {
		for (k = 0; k < n; k++)
			zre[k] = zim[k] = NAN;
		return (-1);
	}
	a.c = c;
	a.p = params;
	a.elem = elem < 0 ? -1 : elem;
	a.zre = zre;
	a.zim = zim;
	a.s = &ev->s;
	fit_prep_set(c, params, &a.pp);
	for (k0 = 0; k0 < n; k0 += FIT_BLOCK) {
		fb.w = ev->w + k0;
		fb.invw = ev->invw + k0;
		fb.lnw = ev->lnw + k0;
		fb.sqw = ev->sqw + k0;
		fit_eval_one(&a, &fb, k0, n - k0 < FIT_BLOCK ? n - k0 : FIT_BLOCK);
	}
	return (0);
}
