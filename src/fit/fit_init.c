/*
 * impcore - fit_init.c: automatic initial values from the shape of the
 * spectrum.
 *
 * Each element gets a resistance scale and a frequency scale: resistors in
 * series at the top level share the high-frequency intercept, resistors
 * inside groups share the width of the spectrum on the real axis, and each
 * element with a time constant (C, Q inside a group, or O, T, G, F and
 * impedance.py's Wo, Ws, G, Gs, K, Zarc, TLMQ, T anywhere) gets one
 * characteristic frequency taken from
 * the peaks of -Z'' (tallest first), completed by log-spaced frequencies
 * across the measured range.  Which element owns which peak is exactly what
 * a local fit cannot change (two arcs "swap roles"), so the guesses are the
 * permutations of that assignment; fit_run.c tries them all.
 */
#include <math.h>
#include <string.h>

#include "fit/fit_priv.h"

#define FIT_INIT_MAXPEAKS	8

struct fit_shape {
	double	w_lf, w_hf;		/* angular frequency range */
	double	r_hf;			/* high-frequency intercept */
	double	span;			/* width of the arcs on the real axis */
	double	zabs_lf;		/* |Z| at the lowest frequency */
	double	zim_hf;			/* Z'' at the highest frequency */
	double	zre_lf, zim_lf;		/* Z at the lowest frequency */
	double	zabs_hf;
	double	peak[FIT_INIT_MAXPEAKS];	/* w of -Z'' maxima, tallest first */
	double	height[FIT_INIT_MAXPEAKS];
	int	npeaks;
};

/*
 * Measure the spectrum.  idx (n ints) is scratch for the frequency order:
 * impfit_run() must not allocate, so the caller lends it.
 */
static void
fit_init_shape(const double *freq, const double *zre, const double *zim,
    int n, int *idx, struct fit_shape *sh)
{
	int	i, j, k, t, lo, hi, ok;
	double	h, hmax = 0;

	/* Insertion sort by frequency: data arrive sorted (either way). */
	for (i = 0; i < n; i++) {
		t = i;
		for (j = i - 1; j >= 0 && freq[idx[j]] > freq[t]; j--)
			idx[j + 1] = idx[j];
		idx[j + 1] = t;
	}
	lo = idx[0];
	hi = idx[n - 1];
	memset(sh, 0, sizeof *sh);
	sh->w_lf = 2 * M_PI * freq[lo];
	sh->w_hf = 2 * M_PI * freq[hi];
	sh->zabs_lf = hypot(zre[lo], zim[lo]);
	sh->zabs_hf = hypot(zre[hi], zim[hi]);
	sh->zim_hf = zim[hi];
	sh->zre_lf = zre[lo];
	sh->zim_lf = zim[lo];
	sh->r_hf = fmax(zre[hi], 1e-3 * sh->zabs_hf);
	sh->span = zre[lo] - sh->r_hf;
	if (!(sh->span > 1e-2 * sh->zabs_lf))
		sh->span = fmax(sh->zabs_lf, 1e-3 * sh->zabs_hf);

	for (i = 0; i < n; i++)
		hmax = fmax(hmax, -zim[idx[i]]);
	/* Peaks of -Z'': the largest value within two points either side,
	 * and not lost in the noise. */
	for (i = 0; i < n; i++) {
		h = -zim[idx[i]];
		if (!(h > 0.05 * hmax))
			continue;
		ok = 1;
		for (j = i - 2; j <= i + 2 && ok; j++) {
			if (j < 0 || j >= n || j == i)
				continue;
			if (-zim[idx[j]] > h || (j < i && -zim[idx[j]] == h))
				ok = 0;
		}
		if (!ok)
			continue;
		/* Keep the list sorted by height. */
		for (k = sh->npeaks; k > 0 && sh->height[k - 1] < h; k--) {
			if (k < FIT_INIT_MAXPEAKS) {
				sh->peak[k] = sh->peak[k - 1];
				sh->height[k] = sh->height[k - 1];
			}
		}
		if (k < FIT_INIT_MAXPEAKS) {
			sh->peak[k] = 2 * M_PI * freq[idx[i]];
			sh->height[k] = h;
			if (sh->npeaks < FIT_INIT_MAXPEAKS)
				sh->npeaks++;
		}
	}
}

/* Does element e carry a time constant we assign a frequency to? */
static int
fit_init_timed(const struct fit_elem *e)
{
	switch (e->kind) {
	case FIT_EK_C:
	case FIT_EK_Q:
		return (e->par_depth > 0);
	case FIT_EK_O:
	case FIT_EK_T:
	case FIT_EK_G:
	case FIT_EK_F:
	/* impedance.py's elements with a time constant of their own */
	case FIT_EK_WO:
	case FIT_EK_WS:
	case FIT_EK_PY_G:
	case FIT_EK_GS:
	case FIT_EK_K:
	case FIT_EK_ZARC:
	case FIT_EK_TLMQ:
	case FIT_EK_PY_T:
		return (1);
	}
	return (0);
}

/* Values of element e for resistance scale r and frequency scale w. */
static void
fit_init_elem(const struct fit_elem *e, const struct fit_shape *sh,
    double r, double w, double *p)
{
	double	*q = p + e->p0;

	switch (e->kind) {
	case FIT_EK_R:
		q[0] = r;
		break;
	case FIT_EK_C:
		q[0] = 1 / (w * r);
		break;
	case FIT_EK_L:
		if (e->par_depth == 0)
			q[0] = fmax(sh->zim_hf, 1e-2 * sh->zabs_hf) / sh->w_hf;
		else
			q[0] = r / w;
		break;
	case FIT_EK_W:
		/* |Z_W| equals the spread of the data at the lowest
		 * frequency. */
		q[0] = 1 / (fmax(sh->zabs_lf - sh->r_hf, 1e-2 * sh->zabs_lf) *
		    sqrt(sh->w_lf));
		break;
	case FIT_EK_Q:
		q[1] = 0.85;
		q[0] = 1 / (pow(w, q[1]) * r);
		break;
	case FIT_EK_O:
	case FIT_EK_T:
		/* Characteristic frequency 1 / B^2, resistance B / Y0. */
		q[1] = 1 / sqrt(w);
		q[0] = q[1] / r;
		break;
	case FIT_EK_G:
		q[1] = w;
		q[0] = 1 / (r * sqrt(w));
		break;
	case FIT_EK_F:
		q[1] = w;
		q[2] = 0.7;
		q[0] = 1 / (r * pow(w, q[2]));
		break;
	/*
	 * impedance.py's: resistance r, time constant 1 / w; exponents start
	 * at 0.85 or 0.9, inside (0, 1] where the sin^2 map still moves them.
	 */
	case FIT_EK_PY_W:
		/* |Z_W| = Aw sqrt(2 / w) is the spread at the lowest
		 * frequency. */
		q[0] = fmax(sh->zabs_lf - sh->r_hf, 1e-2 * sh->zabs_lf) *
		    sqrt(0.5 * sh->w_lf);
		break;
	case FIT_EK_LA:
		/* |Z| = (w L)^alpha is Z'' at the highest frequency */
		q[1] = 0.9;
		if (e->par_depth == 0)
			q[0] = pow(fmax(sh->zim_hf, 1e-2 * sh->zabs_hf),
			    1 / q[1]) / sh->w_hf;
		else
			q[0] = pow(r, 1 / q[1]) / w;
		break;
	case FIT_EK_WO:
	case FIT_EK_WS:
	case FIT_EK_PY_G:
	case FIT_EK_K:
		q[0] = r;
		q[1] = 1 / w;
		break;
	case FIT_EK_GS:
		q[0] = r;
		q[1] = 1 / w;
		q[2] = 1;
		break;
	case FIT_EK_ZARC:
		q[0] = r;
		q[1] = 1 / w;
		q[2] = 0.85;
		break;
	case FIT_EK_TLMQ:
		/* |Rion / Zs| = Rion Qs w^gamma is 1 at w */
		q[0] = r;
		q[2] = 0.85;
		q[1] = 1 / (r * pow(w, q[2]));
		break;
	case FIT_EK_PY_T:
		/* beta^2 = a + j w b: |beta| = 1 at w; Z(0) ~ 1.3 A + 0.85 B */
		q[0] = 0.5 * r;
		q[1] = 0.5 * r;
		q[2] = 1;
		q[3] = 1 / w;
		break;
	}
}

/* Kinds of characteristic frequencies a timed element may get. */
#define FIT_CAND_DATA	0	/* a peak, or a gap inside the range */
#define FIT_CAND_ABOVE	1	/* above the range: eats the intercept */
#define FIT_CAND_BELOW	2	/* below the range: a blocking arc */

/* Guess generation state (fit_init_guesses()). */
struct fit_gen {
	const struct impfit_circuit *c;
	const struct fit_shape	*sh;
	int			 ntimed;
	int			 timed[IMPFIT_MAX_ELEMENTS];	/* elements */
	int			 partner[IMPFIT_MAX_ELEMENTS];	/* R or -1 */
	int			 ncand;
	double			 omega[IMPFIT_MAX_ELEMENTS + 2];
	int			 kind[IMPFIT_MAX_ELEMENTS + 2];
	char			 used[IMPFIT_MAX_ELEMENTS + 2];
	int			 assign[IMPFIT_MAX_ELEMENTS];
	double			 r_top, r_in, r_arc, r_blk;
	double			*out;
	int			 g, max;
};

/*
 * The resistor that discharges timed element e: an R beside it in its
 * parallel group, or the first R of a series branch beside it
 * (R(Q(R(QR))): Q0 -> R1, Q1 -> R2).  -1 when there is none.
 */
static int
fit_init_partner(const struct impfit_circuit *c, int e)
{
	int	nd = c->elem[e].node, par = c->node[nd].parent, i, a, le;

	if (par < 0 || c->node[par].kind != FIT_NODE_PARALLEL)
		return (-1);
	/* Direct R children first, then R leaves further down. */
	for (i = 0; i < par; i++) {
		le = c->node[i].elem;
		if (c->node[i].parent == par && c->node[i].kind ==
		    FIT_NODE_ELEM && c->elem[le].kind == FIT_EK_R)
			return (le);
	}
	for (i = 0; i < par; i++) {
		le = c->node[i].elem;
		if (c->node[i].kind != FIT_NODE_ELEM || c->elem[le].kind !=
		    FIT_EK_R)
			continue;
		for (a = c->node[i].parent; a >= 0 && a != par &&
		    c->node[a].parent != par; a = c->node[a].parent)
			;
		if (a >= 0 && a != par && a != nd)
			return (le);
	}
	return (-1);
}

/* Write guess number gen->g from the current assignment. */
static void
fit_init_emit(struct fit_gen *gen)
{
	const struct impfit_circuit *c = gen->c;
	const struct fit_shape	*sh = gen->sh;
	const struct fit_elem	*e;
	double			*p = gen->out + (size_t)gen->g * c->nparam;
	double			 r_top = gen->r_top, r[IMPFIT_MAX_ELEMENTS], w;
	int			 i, k, pr, kind;

	for (k = 0; k < gen->ntimed; k++)
		if (gen->kind[gen->assign[k]] == FIT_CAND_ABOVE)
			r_top *= 0.1;
	for (i = 0; i < c->nelem; i++)
		r[i] = c->elem[i].par_depth == 0 ? r_top : gen->r_in;
	for (k = 0; k < gen->ntimed; k++) {
		kind = gen->kind[gen->assign[k]];
		if ((pr = gen->partner[k]) < 0)
			continue;
		if (kind == FIT_CAND_ABOVE)
			r[pr] = 0.9 * sh->r_hf;
		else if (kind == FIT_CAND_BELOW)
			r[pr] = 10 * sh->zabs_lf;
	}
	for (i = 0; i < c->nelem; i++) {
		e = &c->elem[i];
		if (e->kind == FIT_EK_R)
			fit_init_elem(e, sh, r[i], 0, p);
		else if ((e->kind == FIT_EK_C || e->kind == FIT_EK_Q) &&
		    e->par_depth == 0)
			fit_init_elem(e, sh, gen->r_blk, sh->w_lf, p);
		else
			fit_init_elem(e, sh, gen->r_arc,
			    sqrt(sh->w_lf * sh->w_hf), p);
	}
	for (k = 0; k < gen->ntimed; k++) {
		w = gen->omega[gen->assign[k]];
		pr = gen->partner[k];
		fit_init_elem(&c->elem[gen->timed[k]], sh, pr >= 0 ? r[pr] :
		    gen->r_arc, w, p);
	}
	gen->g++;
}

/*
 * Emit every assignment of distinct candidates to the timed elements
 * pos... that uses exactly want out-of-range candidates (so far: extras),
 * until gen->max guesses exist.
 */
static void
fit_init_enum(struct fit_gen *gen, int pos, int extras, int want)
{
	int	i, e;

	if (gen->g >= gen->max)
		return;
	if (pos == gen->ntimed) {
		if (extras == want)
			fit_init_emit(gen);
		return;
	}
	for (i = 0; i < gen->ncand && gen->g < gen->max; i++) {
		e = extras + (gen->kind[i] != FIT_CAND_DATA);
		if (gen->used[i] || e > want)
			continue;
		gen->used[i] = 1;
		gen->assign[pos] = i;
		fit_init_enum(gen, pos + 1, e, want);
		gen->used[i] = 0;
	}
}

/*
 * Write up to max_guesses parameter vectors (c->nparam values each, most
 * plausible first) into out; returns how many.  idx is scratch for n ints.
 * The guesses differ in which characteristic frequency each timed element
 * gets: the peaks and gaps of the data in every order first, then with one
 * or more elements moved outside the measured range (an arc above the
 * highest frequency that takes over the series resistance; one below the
 * lowest, blocking, when the data end capacitive).
 */
int
fit_init_guesses(const struct impfit_circuit *c, const double *freq,
    const double *zre, const double *zim, int n, int *idx, double *out,
    int max_guesses)
{
	struct fit_shape	 sh;
	struct fit_gen		 gen;
	const struct fit_elem	*e;
	double			 lw;
	int			 ntop = 0, nin = 0, i, j, k, tail;

	fit_init_shape(freq, zre, zim, n, idx, &sh);
	memset(&gen, 0, sizeof gen);
	gen.c = c;
	gen.sh = &sh;
	gen.out = out;
	gen.max = max_guesses;
	for (i = 0; i < c->nelem; i++) {
		e = &c->elem[i];
		if (fit_init_timed(e)) {
			gen.partner[gen.ntimed] = fit_init_partner(c, i);
			gen.timed[gen.ntimed++] = i;
		}
		if (e->kind == FIT_EK_R) {
			if (e->par_depth == 0)
				ntop++;
			else
				nin++;
		}
	}
	gen.r_top = sh.r_hf / (ntop > 0 ? ntop : 1);
	gen.r_in = sh.span / (nin > 0 ? nin : 1);
	gen.r_arc = sh.span / (gen.ntimed > 0 ? gen.ntimed : 1);
	/* Series C or Q: blocking, they own the low-frequency |Z''|. */
	gen.r_blk = fmax(sh.zabs_lf, 1e-3 * sh.zabs_hf);

	/* Characteristic frequencies: peaks first, then the gaps. */
	for (k = 0; k < gen.ntimed && k < sh.npeaks; k++)
		gen.omega[k] = sh.peak[k];
	for (j = 0; k < gen.ntimed; j++) {
		lw = log(sh.w_lf) + (j + 0.5) / (gen.ntimed - sh.npeaks + 0.0) *
		    (log(sh.w_hf) - log(sh.w_lf));
		if (sh.npeaks > 0 && j == 0 && gen.ntimed - sh.npeaks == 1)
			/* One element more than peaks: usually diffusion
			 * at the low-frequency end. */
			lw = log(sh.w_lf) + 0.1 * (log(sh.w_hf) -
			    log(sh.w_lf));
		gen.omega[k++] = exp(lw);
	}
	gen.ncand = k;
	/* Out of range: above when there are arcs enough to spare one, below
	 * when the lowest frequencies still look like a capacitor. */
	tail = sh.zabs_lf > 0 && -sh.zim_lf > sh.zre_lf - sh.r_hf;
	if (gen.ntimed >= 2) {
		gen.omega[gen.ncand] = 30 * sh.w_hf;
		gen.kind[gen.ncand++] = FIT_CAND_ABOVE;
	}
	if (tail && gen.ntimed >= 1) {
		gen.omega[gen.ncand] = sh.w_lf / 30;
		gen.kind[gen.ncand++] = FIT_CAND_BELOW;
	}
	for (k = 0; k <= gen.ncand - gen.ntimed || k == 0; k++)
		fit_init_enum(&gen, 0, 0, k);
	return (gen.g);
}

/*
 * Variants of a fitted point best (physical parameters) for another round
 * of local fits: each arc (C or Q with its resistor) that the fit has put
 * out of the way (corner frequency outside the data, no resistance) is
 * re-seeded in turn as a small arc
 * (a tenth of the spectrum's width) at a few frequencies across the range,
 * everything else kept.  This finds the small second arc that a fit
 * settled on one big arc never grows by itself.  Returns how many of at
 * most max vectors were written to out.
 */
int
fit_init_reseed(const struct impfit_circuit *c, const double *freq,
    const double *zre, const double *zim, int n, int *idx, const double *best,
    double *out, int max)
{
	static const double	 pos[] = { 0.25, 0.5, 0.75 };
	struct fit_shape	 sh;
	const struct fit_elem	*e;
	double			*p, w, r;
	int			 i, j, pr, g = 0;

	fit_init_shape(freq, zre, zim, n, idx, &sh);
	r = 0.1 * sh.span;
	for (i = 0; i < c->nelem; i++) {
		e = &c->elem[i];
		/* Arcs: a C or Q discharged by a resistor. */
		if ((e->kind != FIT_EK_C && e->kind != FIT_EK_Q) ||
		    !fit_init_timed(e) || (pr = fit_init_partner(c, i)) < 0)
			continue;
		/* Only an arc that does nothing in the measured window:
		 * its corner frequency 1 / (R Y0)^(1/n) far outside, or a
		 * negligible resistance. */
		w = best[c->elem[pr].p0] * best[e->p0];
		w = e->kind == FIT_EK_Q ? pow(w, -1 / best[e->p0 + 1]) : 1 / w;
		if (w > sh.w_lf / 3 && w < 3 * sh.w_hf &&
		    best[c->elem[pr].p0] > 1e-3 * sh.span)
			continue;
		for (j = 0; j < (int)(sizeof pos / sizeof pos[0]); j++) {
			if (g >= max)
				return (g);
			p = out + (size_t)g++ * c->nparam;
			memcpy(p, best, c->nparam * sizeof *p);
			w = exp(log(sh.w_lf) + pos[j] * (log(sh.w_hf) -
			    log(sh.w_lf)));
			if (pr >= 0)
				fit_init_elem(&c->elem[pr], &sh, r, w, p);
			fit_init_elem(e, &sh, r, w, p);
		}
	}
	return (g);
}
