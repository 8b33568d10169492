/*
 * impcore - fit_run.c: the fitting driver.  Validates a spectrum, sets up
 * the weighted least-squares problem in transformed parameters, runs the
 * local minimiser from several starts (automatic guesses, the caller's
 * values, seeded random restarts), and reports the best fit with its
 * standard errors.  All memory comes from the workspace.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fit/fit_priv.h"

#define FIT_MAX_GUESSES		24	/* structured automatic starts */
#define FIT_MAX_RESEEDS		12	/* re-seeded best fits */
#define FIT_MAX_STARTS		(FIT_MAX_GUESSES + FIT_MAX_RESEEDS + 17)
#define FIT_DEFAULT_RESTARTS	2	/* random starts around the best */
#define FIT_LM_PROBE		40	/* iterations per start before the
					   best ones get the rest */
#define FIT_FINALISTS		8	/* starts that may get the rest */
#define FIT_PROMISING		2.0	/* ... if within this factor of the
					   best cost */
#define FIT_LOOSE		1e4	/* probes: tolerances x this */
#define FIT_LOCAL_SPENT		(FIT_LOCAL_MAXITER + 100)
#define FIT_SEED		0x1f17a5eedULL
#define FIT_WHITE		0.2	/* lag-1 autocorrelation: white */
#define FIT_WHITE_MIN		20	/* points to test whiteness on */
#define FIT_HUGE		1e200	/* a parameter beyond: diverged */
#define FIT_SAME		1e-6	/* relative: the same minimum */
#define FIT_ZERO		1e-28	/* a cost at rounding level, per
					   residual */
#define FIT_TICK_SEC		0.0005	/* work between two clock reads */
#define FIT_TICK_FIRST		20000	/* points x nodes of work before the
					   first read: ~0.1 ms here */

struct impfit_workspace {
	int		 max_points;
	int		 max_params;
	double		*w, *invw, *lnw, *sqw;
	struct fit_scratch *scratch;
	double		*wre, *wim;
	double		*r, *rt, *jac, *jact;
	double		*a, *l, *g, *dg, *dx, *xt;
	double		*simplex, *fval, *xc, *xr, *xe;
	double		*sx;		/* FIT_MAX_STARTS x max_params:
					   fit_start() */
	double		*x0;		/* the first start */
	double		*scost;		/* FIT_MAX_STARTS */
	int		*sstat;		/* FIT_MAX_STARTS */
	int		*idx;		/* max_points */
	void		*mem;
};

/*
 * Start s's point in ws->sx: a row of c->nparam values per start, the one
 * stride everywhere, since the automatic guesses fill whole rows of
 * physical parameters; a start's transformed (free) parameters are the
 * first pb->np of its row.  (Rows of pb->np in two places and of nparam in
 * the others once reported, with a parameter held, the values of another
 * start's slot.)
 */
static inline double *
fit_start(const struct impfit_workspace *ws, const struct fit_problem *pb,
    int s)
{
	return (ws->sx + (size_t)s * pb->c->nparam);
}

/*=====================================================================
 * The clock of the time budget
 */

static double
fit_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec * 1e-9);
}

/*
 * tick_left ran out: read the clock, and set the count of evaluations to
 * the next read so that about FIT_TICK_SEC of work lies between two reads
 * whatever the spectrum, circuit, machine or sanitizer: an evaluation
 * costs from a fraction of a microsecond (23 points, R(RC)) to a tenth of a
 * millisecond (1024 points, 16 parameters, with the Jacobian).  So the
 * deadline is overshot by about FIT_TICK_SEC plus the rest of one
 * iteration, and a fit reads the clock some 2000 times a second.
 */
static __attribute__((cold, noinline)) void
fit_clock(struct fit_problem *pb)
{
	double	now, dt;

	if (pb->deadline == 0) {
		pb->tick_left = pb->tick_every;
		return;
	}
	now = fit_mono();
	dt = now - pb->ticked;
	pb->ticked = now;
	if (dt < FIT_TICK_SEC / 2 && pb->tick_every < (1 << 24))
		pb->tick_every *= 2;
	else if (dt > FIT_TICK_SEC * 2 && pb->tick_every > 1)
		pb->tick_every /= 2;
	pb->tick_left = pb->tick_every;
	if (now >= pb->deadline)
		pb->expired = 1;
}

/*=====================================================================
 * Parameter transforms and the residual function
 */

/*
 * Physical parameters (all c->nparam) from transformed ones (pb->np, see
 * struct fit_problem): a held parameter is its constant.  Unbounded, the
 * map is the historical one (exp(x), sin(x)^2 for exponents), so that a
 * fit without constraints is the fit it always was.
 */
void
fit_x_to_p(const struct fit_problem *pb, const double *x, double *p)
{
	double	s;
	int	i, j;

	for (i = 0; i < pb->c->nparam; i++)
		p[i] = pb->lo[i];
	for (j = 0; j < pb->np; j++) {
		i = pb->fidx[j];
		if (pb->kind[i] == FIT_X_BOX) {
			/* lo + (hi - lo) * 1 can round to above hi */
			s = sin(x[j]);
			p[i] = fmin(pb->lo[i] + (pb->hi[i] - pb->lo[i]) * s * s,
			    pb->hi[i]);
		} else
			p[i] = pb->lo[i] + exp(x[j]);
	}
}

/* Transformed parameters from physical ones (clamped into the bounds). */
void
fit_p_to_x(const struct fit_problem *pb, const double *p, double *x)
{
	double	u;
	int	i, j;

	for (j = 0; j < pb->np; j++) {
		i = pb->fidx[j];
		if (pb->kind[i] == FIT_X_BOX) {
			u = (p[i] - pb->lo[i]) / (pb->hi[i] - pb->lo[i]);
			x[j] = asin(sqrt(fmin(fmax(u, 0), 1)));
		} else if (p[i] > pb->lo[i])
			x[j] = log(p[i] - pb->lo[i]);
		else	/* a guess below the bound: just above it */
			x[j] = log(pb->lo[i] > 0 ? 1e-3 * pb->lo[i] : 1e-300);
	}
}

/* dp/dx of the free parameters at x (p from fit_x_to_p()). */
static void
fit_dpdx(const struct fit_problem *pb, const double *x, const double *p,
    double *dpdx)
{
	int	i, j;

	for (j = 0; j < pb->np; j++) {
		i = pb->fidx[j];
		dpdx[j] = pb->kind[i] == FIT_X_BOX ?
		    (pb->hi[i] - pb->lo[i]) * sin(2 * x[j]) : p[i] - pb->lo[i];
	}
}

/*
 * The map of each parameter from o's bounds (NaN: the domain); -1 with
 * res->error when a bound is invalid (impfit_bound_check()).
 */
static int
fit_problem_bounds(struct fit_problem *pb, const struct impfit_options *o,
    struct impfit_result *res)
{
	const struct impfit_circuit	*c = pb->c;
	double				 lo, hi;
	int				 i;

	pb->np = 0;
	for (i = 0; i < c->nparam; i++) {
		lo = o->lower != NULL && !isnan(o->lower[i]) ? o->lower[i] : 0;
		hi = o->upper != NULL && !isnan(o->upper[i]) ? o->upper[i] :
		    (c->is_exp[i] ? 1 : INFINITY);
		if (impfit_bound_check(c, i, lo, hi, res->error,
		    sizeof res->error) != 0)
			return (-1);
		pb->lo[i] = lo;
		pb->hi[i] = hi;
		if (lo == hi)
			pb->kind[i] = FIT_X_FIXED;
		else {
			pb->kind[i] = isinf(hi) ? FIT_X_LOG : FIT_X_BOX;
			pb->fidx[pb->np++] = i;
		}
	}
	return (0);
}

/*
 * Weighted residuals r (Zobs - Zfit: m values, real parts first) of
 * physical parameters p and, with jac, their Jacobian: with respect to the
 * transformed parameters when dpdx is given, else to p itself.  Returns
 * half the sum of squares, or INFINITY when anything is not finite.
 */
static double
fit_problem_eval_p(struct fit_problem *pb, const double *p,
    const double *dpdx, double *r, double *jac)
{
	const struct impfit_circuit	*c = pb->c;
	struct fit_scratch		*sc = pb->scratch;
	struct fit_prep			 pp;
	struct fit_fblock		 fb;
	const double			*zr, *zi, *dr, *di;
	double				 s, d, wr, wi;
	int				 k, k0, bl, j, n = pb->n, m = pb->m;

	pb->evaluations++;
	if (--pb->tick_left <= 0)
		fit_clock(pb);
	fit_prep_set(c, p, &pp);
	zr = sc->zr[c->nnode - 1];
	zi = sc->zi[c->nnode - 1];
	for (k0 = 0; k0 < n; k0 += FIT_BLOCK) {
		bl = n - k0 < FIT_BLOCK ? n - k0 : FIT_BLOCK;
		fb.w = pb->w + k0;
		fb.invw = pb->invw + k0;
		fb.lnw = pb->lnw + k0;
		fb.sqw = pb->sqw + k0;
		fit_eval_block(c, p, &pp, &fb, bl, sc, jac != NULL);
		for (k = 0; k < bl; k++) {
			r[k0 + k] = (pb->zre[k0 + k] - zr[k]) * pb->wre[k0 + k];
			r[n + k0 + k] = (pb->zim[k0 + k] - zi[k]) *
			    pb->wim[k0 + k];
		}
		if (jac == NULL)
			continue;
		for (j = 0; j < pb->np; j++) {
			d = dpdx != NULL ? -dpdx[j] : -1.0;
			dr = sc->dr[pb->fidx[j]];
			di = sc->di[pb->fidx[j]];
			for (k = 0; k < bl; k++) {
				wr = pb->wre[k0 + k] * d;
				wi = pb->wim[k0 + k] * d;
				jac[j * m + k0 + k] = dr[k] * wr;
				jac[j * m + n + k0 + k] = di[k] * wi;
			}
		}
	}
	/* Only the residuals are checked: a non-finite derivative makes
	 * J^T J non-finite, which fit_lm() checks once per iteration. */
	s = fit_dot(r, r, m);
	if (!isfinite(s))
		return (INFINITY);
	return (0.5 * s);
}

/* The same for transformed parameters x (the minimisers' view). */
double
fit_problem_eval(struct fit_problem *pb, const double *x, double *r,
    double *jac)
{
	double	p[IMPFIT_MAX_PARAMS], dpdx[IMPFIT_MAX_PARAMS];

	fit_x_to_p(pb, x, p);
	fit_dpdx(pb, x, p, dpdx);
	return (fit_problem_eval_p(pb, p, dpdx, r, jac));
}

/*
 * Weights (as 1 / w) of one observed point; 0 when the weight is undefined
 * (a zero the chosen weighting would divide by).
 */
static void
fit_weight(enum impfit_weighting wt, double zr, double zi, double *wre,
    double *wim)
{
	double	m;

	switch (wt) {
	case IMPFIT_WEIGHT_UNITY:
		*wre = *wim = 1;
		break;
	case IMPFIT_WEIGHT_PROPORTIONAL:
		*wre = zr != 0 ? 1 / fabs(zr) : 0;
		*wim = zi != 0 ? 1 / fabs(zi) : 0;
		break;
	default:
		m = hypot(zr, zi);
		*wre = *wim = m > 0 ? 1 / m : 0;
		break;
	}
}

/*=====================================================================
 * Workspace
 */

/* Carve n doubles (8-byte aligned) from *cur. */
static double *
fit_ws_take(char **cur, size_t n)
{
	double	*p = (double *)*cur;

	*cur += n * sizeof(double);
	return (p);
}

/*
 * A workspace for spectra of up to max_points points and circuits of up to
 * max_params parameters: one allocation, NULL on failure or bad sizes.
 */
struct impfit_workspace *
impfit_workspace_new(int max_points, int max_params)
{
	struct impfit_workspace	*ws;
	size_t			 nd, np, mp, sz;
	char			*cur;

	if (max_points < 1 || max_params < 1 || max_params > IMPFIT_MAX_PARAMS ||
	    max_points > 10000000)
		return (NULL);
	if ((ws = calloc(1, sizeof *ws)) == NULL)
		return (NULL);
	ws->max_points = max_points;
	ws->max_params = max_params;
	np = max_points;
	mp = max_params;
	nd = 4 * np +			/* w, invw, lnw, sqw */
	    2 * np +			/* wre, wim */
	    4 * np + 4 * np * mp * 2 +	/* r, rt, jac, jact (m = 2 np) */
	    2 * mp * mp + 4 * mp +	/* a, l, g, dg, dx, xt */
	    (mp + 1) * mp + (mp + 1) + 3 * mp +	/* simplex ... */
	    FIT_MAX_STARTS * (mp + 1) + mp;	/* sx, scost, x0 */
	sz = nd * sizeof(double) + (FIT_MAX_STARTS + np) * sizeof(int);
	if ((ws->mem = calloc(1, sz)) == NULL ||
	    (ws->scratch = calloc(1, sizeof *ws->scratch)) == NULL) {
		free(ws->mem);
		free(ws);
		return (NULL);
	}
	cur = ws->mem;
	ws->w = fit_ws_take(&cur, np);
	ws->invw = fit_ws_take(&cur, np);
	ws->lnw = fit_ws_take(&cur, np);
	ws->sqw = fit_ws_take(&cur, np);
	ws->wre = fit_ws_take(&cur, np);
	ws->wim = fit_ws_take(&cur, np);
	ws->r = fit_ws_take(&cur, 2 * np);
	ws->rt = fit_ws_take(&cur, 2 * np);
	ws->jac = fit_ws_take(&cur, 2 * np * mp);
	ws->jact = fit_ws_take(&cur, 2 * np * mp);
	ws->a = fit_ws_take(&cur, mp * mp);
	ws->l = fit_ws_take(&cur, mp * mp);
	ws->g = fit_ws_take(&cur, mp);
	ws->dg = fit_ws_take(&cur, mp);
	ws->dx = fit_ws_take(&cur, mp);
	ws->xt = fit_ws_take(&cur, mp);
	ws->simplex = fit_ws_take(&cur, (mp + 1) * mp);
	ws->fval = fit_ws_take(&cur, mp + 1);
	ws->xc = fit_ws_take(&cur, mp);
	ws->xr = fit_ws_take(&cur, mp);
	ws->xe = fit_ws_take(&cur, mp);
	ws->sx = fit_ws_take(&cur, FIT_MAX_STARTS * mp);
	ws->scost = fit_ws_take(&cur, FIT_MAX_STARTS);
	ws->x0 = fit_ws_take(&cur, mp);
	ws->sstat = (int *)cur;
	ws->idx = ws->sstat + FIT_MAX_STARTS;
	return (ws);
}

void
impfit_workspace_free(struct impfit_workspace *ws)
{
	if (ws == NULL)
		return;
	free(ws->scratch);
	free(ws->mem);
	free(ws);
}

void
impfit_options_default(struct impfit_options *o)
{
	memset(o, 0, sizeof *o);
	o->method = IMPFIT_METHOD_LM;
	o->weighting = IMPFIT_WEIGHT_MODULUS;
	o->max_iterations = 0;
	o->init = NULL;
	o->restarts = -1;
	o->max_seconds = 0;
}

/*=====================================================================
 * Validation
 */

/* Check the input; returns 0, or -1 with res->error set. */
static int
fit_check(const struct impfit_circuit *c, const double *freq, const double *zre,
    const double *zim, int n, const struct impfit_options *o,
    const struct impfit_workspace *ws, int nfree, struct impfit_result *res)
{
	char	*e = res->error;
	size_t	 el = sizeof res->error;
	double	 wr, wi;
	int	 i, np = c->nparam;

	if (n < 1 || freq == NULL || zre == NULL || zim == NULL) {
		snprintf(e, el, "no data points");
		return (-1);
	}
	if (n < nfree) {
		snprintf(e, el, "%d points are too few for %d parameters", n,
		    nfree);
		return (-1);
	}

	if (n > ws->max_points || np > ws->max_params) {
		snprintf(e, el, "workspace too small (%d points, %d "
		    "parameters; room for %d, %d)", n, np, ws->max_points,
		    ws->max_params);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (!isfinite(freq[i])) {
			snprintf(e, el, "frequency %d is not finite", i + 1);
			return (-1);
		}
		if (!(freq[i] > 0)) {
			snprintf(e, el, "frequency %d is not positive", i + 1);
			return (-1);
		}
		if (!isfinite(zre[i])) {
			snprintf(e, el, "Z' of point %d is not finite", i + 1);
			return (-1);
		}
		if (!isfinite(zim[i])) {
			snprintf(e, el, "Z'' of point %d is not finite", i + 1);
			return (-1);
		}
		fit_weight(o->weighting, zre[i], zim[i], &wr, &wi);
		if (wr == 0 || wi == 0 || !isfinite(wr) || !isfinite(wi)) {
			snprintf(e, el, "point %d cannot be weighted (%s "
			    "weighting divides by zero)", i + 1,
			    impfit_weighting_name(o->weighting));
			return (-1);
		}
	}
	if (o->init != NULL) {
		for (i = 0; i < np; i++) {
			if (!isfinite(o->init[i]) || !(o->init[i] > 0)) {
				snprintf(e, el, "initial value %d (%s) is not "
				    "positive", i + 1, c->pname[i]);
				return (-1);
			}
			if (c->is_exp[i] && o->init[i] > 1) {
				snprintf(e, el, "initial value %d (%s) is not "
				    "in (0, 1]", i + 1, c->pname[i]);
				return (-1);
			}
		}
	}
	if (!(o->max_seconds >= 0) || o->max_seconds > 1e9) {
		snprintf(e, el, "max_seconds is not a number of seconds >= 0");
		return (-1);
	}
	if (impfit_method_name(o->method) == NULL ||
	    impfit_weighting_name(o->weighting) == NULL) {
		snprintf(e, el, "unknown method or weighting");
		return (-1);
	}
	return (0);
}

/*=====================================================================
 * The multi-start driver
 */

static int
fit_best(const struct impfit_workspace *ws, int nstarts)
{
	int	s, b = 0;

	for (s = 1; s < nstarts; s++)
		if (ws->scost[s] < ws->scost[b])
			b = s;
	return (b);
}

/*
 * Has a random start (index rand0 on) converged to the best cost so far
 * (within FIT_SAME), as another start did?  Then another start is unlikely
 * to find a lower one: a start thrown at random that lands in the best
 * basin says that basin is the one most starts reach.  Two structured
 * guesses agreeing prove less: they share the shape analysis of
 * fit_init.c, and can share its mistake (impedance.py's exampleData with
 * R(RC)(C(RO)): its first two guesses meet in a minimum 13% above the
 * best; test-fit-minima).  Noise-free data count a cost at rounding level
 * (FIT_ZERO per residual) as reached.
 */
static int
fit_confirmed(const struct impfit_workspace *ws, int nstarts, int rand0, int m)
{
	double	lim;
	int	s, b = fit_best(ws, nstarts), hits = 0, rhits = 0;

	if (!isfinite(ws->scost[b]))
		return (0);
	lim = ws->scost[b] * (1 + FIT_SAME) + FIT_ZERO * m;
	for (s = 0; s < nstarts; s++)
		if (ws->sstat[s] == FIT_LOCAL_OK && ws->scost[s] <= lim) {
			hits++;
			rhits += s >= rand0;
		}
	return (hits >= 2 && rhits >= 1);
}

/*
 * Are the residuals of the best fit so far, x, white noise?  The lag-1
 * autocorrelation of the real and of the imaginary residuals in frequency
 * order, pooled, below FIT_WHITE: about two standard deviations of white
 * noise for 50 points (1 / sqrt(2 n) = 0.1), while a local minimum leaves
 * a smooth, systematic misfit, correlated from point to point.  A fit at
 * the noise floor has nothing left for another start to explain (a
 * minimum that misses by less than noise can pass; test-fit-minima holds
 * the cases it must not lose).  Measured spectra with a model error
 * seldom pass (1 of 19 in tests/data), and get every start.  Only data in frequency order (either way)
 * and of FIT_WHITE_MIN points or more have an order to test.
 */
static int
fit_white(struct fit_problem *pb, const double *x, const double *freq)
{
	double	*r = pb->rt, num = 0, den, cost;
	int	 k, n = pb->n, up = 0, down = 0;

	if (n < FIT_WHITE_MIN)
		return (0);
	for (k = 1; k < n; k++) {
		up += freq[k] > freq[k - 1];
		down += freq[k] < freq[k - 1];
	}
	if (up != n - 1 && down != n - 1)
		return (0);
	cost = fit_problem_eval(pb, x, r, NULL);
	if (!isfinite(cost) || cost <= 0)
		return (0);
	for (k = 1; k < n; k++)
		num += r[k] * r[k - 1] + r[n + k] * r[n + k - 1];
	den = 2 * cost;
	return (num < FIT_WHITE * den);
}

/*
 * A circuit of one element besides resistors and inductors (R(QR), R(CR),
 * RL(QR)): one arc, no roles to swap, no second arc to merge into the
 * first.  Letters unknown here count as such elements: the rule errs on
 * the side of more starts.
 */
static int
fit_simple(const struct impfit_circuit *c)
{
	int	i, k = 0;

	for (i = 0; i < c->nelem; i++)
		k += c->elem[i].kind != FIT_EK_R && c->elem[i].kind != FIT_EK_L;
	return (k <= 1);
}

/* What fit_enough() says. */
#define FIT_GO_ON	0	/* start the next */
#define FIT_TO_RANDOM	1	/* skip the other guesses: one random start
				   to check the noise floor */
#define FIT_STOP	2	/* no more starts */

/*
 * Is the search over, nstarts starts run (random ones from rand0 on)?  It
 * is when a random start confirmed the best (fit_confirmed()), when the
 * best is a perfect fit to rounding, or when its residuals are white
 * (fit_white(), *white for the start *tested, tested again only when the
 * best changed).  A circuit of several elements needs more than white
 * residuals: three starts, then one random start (the structured guesses
 * can all miss a minimum within the noise of the best, as two arcs 0.23
 * decades apart did with 1% noise: 1.5% above the best).
 */
static int
fit_enough(struct fit_problem *pb, const struct impfit_workspace *ws,
    int nstarts, int rand0, const double *freq, int simple, int *tested,
    int *white)
{
	int	b = fit_best(ws, nstarts);

	if (!isfinite(ws->scost[b]) || ws->sstat[b] != FIT_LOCAL_OK)
		return (FIT_GO_ON);
	if (ws->scost[b] <= FIT_ZERO * pb->m ||
	    fit_confirmed(ws, nstarts, rand0, pb->m))
		return (FIT_STOP);
	if (!simple && pb->starts < 3)
		return (FIT_GO_ON);
	if (b != *tested) {
		*tested = b;
		*white = fit_white(pb, fit_start(ws, pb, b), freq);
	}
	if (!*white)
		return (FIT_GO_ON);
	return (simple || nstarts > rand0 ? FIT_STOP : FIT_TO_RANDOM);
}

/* No time or iterations left for another local run. */
static int
fit_spent(const struct fit_problem *pb)
{
	return (pb->expired || pb->iterations >= pb->max_total);
}

/*
 * Has a parameter of x run off beyond FIT_HUGE (an element fitted away:
 * a resistor as an open circuit)?  Such an answer is reported as
 * diverged, so a start that ends there must not win over the others: the
 * 1024-point R(QR)(WC)(LO)(TG)F spectrum of t-srv-fitthread ended
 * diverged although other starts had finite answers.
 */
static int
fit_runaway(const struct fit_problem *pb, const double *x)
{
	double	p[IMPFIT_MAX_PARAMS];
	int	i;

	fit_x_to_p(pb, x, p);
	for (i = 0; i < pb->c->nparam; i++)
		if (!(fabs(p[i]) <= FIT_HUGE))
			return (1);
	return (0);
}

/*
 * Run the minimiser of o on start s for up to iter iterations, fewer when
 * the budget has fewer left; a start is left as it is when it has none.
 */
static int
fit_local(struct fit_problem *pb, const struct impfit_options *o,
    struct impfit_workspace *ws, int s, int iter)
{
	double	*x = fit_start(ws, pb, s);
	int	 b;

	if (fit_spent(pb))
		return (ws->sstat[s]);
	if (iter > pb->max_total - pb->iterations)
		iter = pb->max_total - pb->iterations;

	/* A start far behind the best so far may stop early (fit_lm()). */
	b = fit_best(ws, s);
	pb->abandon = s > 0 && ws->scost[b] > 0 ? ws->scost[b] : INFINITY;

	if (o->method == IMPFIT_METHOD_NM)
		ws->sstat[s] = fit_nm(pb, x, iter, &ws->scost[s]);
	else
		ws->sstat[s] = fit_lm(pb, x, iter, &ws->scost[s]);
	if (!isfinite(ws->scost[s]) || fit_runaway(pb, x))
		ws->scost[s] = INFINITY;
	return (ws->sstat[s]);
}

/*
 * Standard errors from the Jacobian at the optimum, in the physical
 * parameters: covariance = s^2 (J^T J)^-1 with s^2 = SSR / (2N - p), SSR the
 * weighted sum of squared residuals.  NaN when J^T J is singular or there
 * are no degrees of freedom.
 */
static void
fit_std_errors(struct fit_problem *pb, const double *p, struct impfit_result *res)
{
	double	cost, s2, se;
	int	i, np = pb->np;

	for (i = 0; i < pb->c->nparam; i++)
		res->std_errors[i] = NAN;
	if (np == 0)
		return;
	cost = fit_problem_eval_p(pb, p, NULL, pb->r, pb->jac);
	if (!isfinite(cost) || pb->m <= np)
		return;
	fit_lm_normal(pb, pb->jac, pb->r);
	/* pb->simplex has room for np x np + np: the inverse. */
	if (fit_spd_inverse(pb->a, pb->simplex, pb->l, pb->g, np) != 0)
		return;
	s2 = 2 * cost / (pb->m - np);
	/* A near-singular J^T J can overflow its inverse: NaN, not inf. */
	for (i = 0; i < np; i++) {
		if (!(pb->simplex[i * np + i] >= 0))
			continue;
		se = sqrt(s2 * pb->simplex[i * np + i]);
		if (isfinite(se))
			res->std_errors[pb->fidx[i]] = se;
	}
}

/*
 * One multi-start search: what impfit_run()'s phases below share.  The
 * starts live in ws (fit_start()); nst counts them.
 */
struct fit_search {
	struct fit_problem		*pb;
	const struct impfit_options	*o;
	struct impfit_workspace		*ws;
	const struct impfit_circuit	*c;
	const double			*freq, *zre, *zim;
	int				 n;
	int				 nst;		/* starts so far */
	int				 maxit;		/* a start's whole run */
	int				 probe;		/* a start's probe */
	int				 nrand;		/* random restarts */
	int				 conf;		/* fit_enough() */
	int				 tested, white;	/* fit_enough() */
	int				 simple;	/* fit_simple() */
};

/* No result yet: NaN parameters, errors and chi-square. */
static void
fit_result_init(struct impfit_result *res, int np)
{
	int	i;

	memset(res, 0, sizeof *res);
	res->nparams = np;
	res->chi_square = NAN;
	for (i = 0; i < IMPFIT_MAX_PARAMS; i++)
		res->params[i] = res->std_errors[i] = NAN;
}

/*
 * The problem of the spectrum (pb's bounds already set): its scratch
 * arrays in ws, its budget from o (t0 the start), the frequencies' and
 * the weights' tables.
 */
static void
fit_problem_setup(struct fit_problem *pb, const struct impfit_options *o,
    struct impfit_workspace *ws, const double *freq, const double *zre,
    const double *zim, int n, double t0)
{
	int	k;

	pb->n = n;
	pb->m = 2 * n;
	pb->w = ws->w;
	pb->invw = ws->invw;
	pb->lnw = ws->lnw;
	pb->sqw = ws->sqw;
	pb->scratch = ws->scratch;
	pb->zre = zre;
	pb->zim = zim;
	pb->wre = ws->wre;
	pb->wim = ws->wim;
	pb->r = ws->r;
	pb->rt = ws->rt;
	pb->jac = ws->jac;
	pb->jact = ws->jact;
	pb->a = ws->a;
	pb->l = ws->l;
	pb->g = ws->g;
	pb->dg = ws->dg;
	pb->dx = ws->dx;
	pb->xt = ws->xt;
	pb->simplex = ws->simplex;
	pb->fval = ws->fval;
	pb->xc = ws->xc;
	pb->xr = ws->xr;
	pb->xe = ws->xe;
	pb->loose = FIT_LOOSE;
	pb->max_total = o->max_iterations > 0 ? o->max_iterations : INT_MAX;
	pb->deadline = o->max_seconds > 0 ? t0 + o->max_seconds : 0;
	pb->ticked = t0;
	pb->tick_every = FIT_TICK_FIRST / (n * pb->c->nnode) + 1;
	pb->tick_left = pb->tick_every;
	fit_freqs_set(freq, n, ws->w, ws->invw, ws->lnw, ws->sqw);
	for (k = 0; k < n; k++) {
		fit_weight(o->weighting, zre[k], zim[k], &ws->wre[k],
		    &ws->wim[k]);
	}
}

/* Every parameter held: nothing to fit, only to report start 0. */
static void
fit_held(struct fit_problem *pb, struct impfit_workspace *ws)
{
	double	p[IMPFIT_MAX_PARAMS];

	fit_x_to_p(pb, ws->x0, p);
	ws->scost[0] = fit_problem_eval(pb, ws->x0, pb->r, NULL);
	ws->sstat[0] = FIT_LOCAL_OK;
	memcpy(ws->sx, ws->x0, sizeof *p);
}

/* The iterations of a start (maxit, probe) and the random restarts. */
static void
fit_search_budget(struct fit_search *fs)
{
	const struct impfit_options *o = fs->o;
	int	nf = fs->pb->np;

	fs->simple = fit_simple(fs->c);
	fs->maxit = o->max_iterations > 0 ? o->max_iterations :
	    (o->method == IMPFIT_METHOD_NM ? 2000 * (nf + 1) : 100 * (nf + 1));
	fs->probe = o->method == IMPFIT_METHOD_NM ? 200 * (nf + 1) : FIT_LM_PROBE;
	if (fs->probe > fs->maxit)
		fs->probe = fs->maxit;
	fs->nrand = o->restarts >= 0 ? o->restarts : FIT_DEFAULT_RESTARTS;
	if (fs->nrand > FIT_MAX_STARTS - FIT_MAX_GUESSES - FIT_MAX_RESEEDS - 1)
		fs->nrand = FIT_MAX_STARTS - FIT_MAX_GUESSES - FIT_MAX_RESEEDS - 1;
}

/*
 * Starts: the caller's values first, then the automatic guesses; ws->x0
 * is the first.  A total the caller set shortens the probes.
 */
static void
fit_search_starts(struct fit_search *fs)
{
	struct fit_problem *pb = fs->pb;
	struct impfit_workspace *ws = fs->ws;
	double	p[IMPFIT_MAX_PARAMS], *x;
	int	np = fs->c->nparam, ng, s, k;

	if (fs->o->init != NULL)
		fit_p_to_x(pb, fs->o->init, fit_start(ws, pb, fs->nst++));
	ng = fit_init_guesses(fs->c, fs->freq, fs->zre, fs->zim, fs->n, ws->idx,
	    fit_start(ws, pb, fs->nst), FIT_MAX_GUESSES);
	for (s = fs->nst; s < fs->nst + ng; s++) {
		x = fit_start(ws, pb, s);
		memcpy(p, x, np * sizeof *p);
		fit_p_to_x(pb, p, x);
	}
	fs->nst += ng;
	/* A total the caller set leaves half for the finalists: the probes of
	 * all starts (the reseeds' count as a third) get the other half. */
	if (fs->o->max_iterations > 0) {
		k = fs->o->max_iterations / (2 * (fs->nst + fs->nrand +
		    FIT_MAX_RESEEDS / 3));
		if (fs->probe > k)
			fs->probe = k > 1 ? k : 1;
	}
	memcpy(ws->x0, ws->sx, np * sizeof *ws->x0);
}

/* Probe the starts of fit_search_starts() until fit_enough() says stop. */
static void
fit_search_probe(struct fit_search *fs)
{
	struct fit_problem *pb = fs->pb;
	struct impfit_workspace *ws = fs->ws;
	int	nst = fs->nst, s, k;

	/* Two identical branches in series swapped give the same model: a
	 * start with the cost of an earlier one is not tried again. */
	for (s = 0; s < nst; s++) {
		ws->scost[s] = fit_problem_eval(pb, fit_start(ws, pb, s),
		    pb->r, NULL);
		ws->sstat[s] = FIT_LOCAL_MAXITER;
		for (k = 0; k < s; k++)
			if (ws->sstat[k] == FIT_LOCAL_MAXITER &&
			    fabs(ws->scost[k] - ws->scost[s]) <=
			    1e-12 * ws->scost[s])
				ws->sstat[s] = FIT_LOCAL_FAILED;
	}
	for (s = 0; s < nst; s++) {
		if (ws->sstat[s] == FIT_LOCAL_FAILED)
			ws->scost[s] = INFINITY;
		else if (fs->conf != FIT_GO_ON)
			ws->scost[s] = INFINITY;
		else {
			pb->starts++;
			fit_local(pb, fs->o, ws, s, fs->probe);
			fs->conf = fit_enough(pb, ws, s + 1, nst, fs->freq,
			    fs->simple, &fs->tested, &fs->white);
		}
	}
}

/*
 * Random restarts, seeded (the same spectrum always gives the same
 * answer), around the first start and the best point so far in turn: the
 * first explores, the second refines.
 */
static void
fit_search_random(struct fit_search *fs)
{
	struct fit_problem *pb = fs->pb;
	struct impfit_workspace *ws = fs->ws;
	struct fit_rng	 rng;
	double		*x, sigma;
	int		 nf = pb->np, rand0, b, i, k;

	fit_rng_seed(&rng, FIT_SEED);
	rand0 = fs->nst;
	for (k = 0; k < fs->nrand && fs->conf != FIT_STOP && !fit_spent(pb);
	    k++) {
		b = fit_best(ws, fs->nst);
		x = fit_start(ws, pb, fs->nst);
		for (i = 0; i < nf; i++) {
			/* A decade or so for scales, less for exponents. */
			sigma = pb->kind[pb->fidx[i]] == FIT_X_BOX ? 0.3 : 1.5;
			x[i] = (k % 2 ? fit_start(ws, pb, b)[i] :
			    ws->x0[i]) + sigma * fit_rng_normal(&rng);
		}
		pb->starts++;
		fit_local(pb, fs->o, ws, fs->nst++, fs->probe);
		fs->conf = fit_enough(pb, ws, fs->nst, rand0, fs->freq,
		    fs->simple, &fs->tested, &fs->white);
	}
}

/*
 * Re-seed the idle arcs of the best fit (fit_init_reseed()) where there
 * are two or more arcs: one alone is what the guesses vary.
 */
static void
fit_search_reseed(struct fit_search *fs)
{
	struct fit_problem *pb = fs->pb;
	struct impfit_workspace *ws = fs->ws;
	const struct impfit_circuit *c = fs->c;
	double	p[IMPFIT_MAX_PARAMS], *x;
	int	np = c->nparam, nst = fs->nst, b, ng, s;

	b = fit_best(ws, nst);
	if (!isfinite(ws->scost[b]) || fs->conf == FIT_STOP || fit_spent(pb))
		return;
	fit_x_to_p(pb, fit_start(ws, pb, b), p);
	ng = fit_init_reseed(c, fs->freq, fs->zre, fs->zim, fs->n, ws->idx, p,
	    fit_start(ws, pb, nst), FIT_MAX_RESEEDS);
	if (c->nelem < 4)	/* R(QR): fewer than two arcs */
		ng = 0;
	for (s = nst; s < nst + ng; s++) {
		/* A start never run has no cost: not a start. */
		if (fit_spent(pb)) {
			ng = s - nst;
			break;
		}
		x = fit_start(ws, pb, s);
		memcpy(p, x, np * sizeof *p);
		fit_p_to_x(pb, p, x);
		pb->starts++;
		/* Most go back to where they came from: a short
		 * probe, the finalists below may continue them. */
		fit_local(pb, fs->o, ws, s, fs->probe / 3);
	}
	fs->nst += ng;
}

/*
 * The rest of the budget for the promising unfinished starts, best
 * first.
 */
static void
fit_search_finalists(struct fit_search *fs)
{
	struct fit_problem *pb = fs->pb;
	struct impfit_workspace *ws = fs->ws;
	int	nst = fs->nst, b, k, r, s;

	for (r = 0; r < FIT_FINALISTS && !fit_spent(pb); r++) {
		b = fit_best(ws, nst);
		k = -1;
		for (s = 0; s < nst; s++)
			if (ws->sstat[s] == FIT_LOCAL_MAXITER &&
			    ws->scost[s] <= FIT_PROMISING * ws->scost[b] &&
			    (k < 0 || ws->scost[s] < ws->scost[k]))
				k = s;
		if (k < 0)
			break;
		if (fit_local(pb, fs->o, ws, k, fs->maxit - fs->probe) ==
		    FIT_LOCAL_MAXITER)
			ws->sstat[k] = FIT_LOCAL_SPENT;
	}
}

/*
 * Polish the winner b at full tolerance: the probes stopped early.  A
 * probe's convergence stands when the polish cannot improve on it, not
 * when the budget left no iterations for the polish.
 */
static void
fit_search_polish(struct fit_search *fs, int b)
{
	struct fit_problem *pb = fs->pb;
	struct impfit_workspace *ws = fs->ws;
	int	s;

	if (isfinite(ws->scost[b]) && fs->o->method == IMPFIT_METHOD_LM) {
		pb->loose = 1;
		s = ws->sstat[b];
		if (fit_local(pb, fs->o, ws, b, fs->maxit) != FIT_LOCAL_OK)
			ws->sstat[b] = s == FIT_LOCAL_OK && !fit_spent(pb) ?
			    FIT_LOCAL_OK : FIT_LOCAL_MAXITER;
	}
}

/*
 * Report start b, the winner, in res: its parameters, chi-square and
 * standard errors, and the status.  Returns the status.
 */
static enum impfit_status
fit_report(struct fit_problem *pb, const struct impfit_workspace *ws, int b,
    struct impfit_result *res)
{
	double	p[IMPFIT_MAX_PARAMS], big;
	int	i, expired, np = pb->c->nparam;

	/* The standard errors' evaluation below may read the clock too. */
	expired = pb->expired;
	res->iterations = pb->iterations;
	res->evaluations = pb->evaluations;
	res->starts = pb->starts;
	if (!isfinite(ws->scost[b])) {
		res->status = IMPFIT_DIVERGED;
		return (res->status);
	}
	fit_x_to_p(pb, fit_start(ws, pb, b), p);
	big = 0;
	for (i = 0; i < np; i++) {
		res->params[i] = p[i];
		big = fmax(big, fabs(p[i]));
	}
	res->chi_square = 2 * ws->scost[b] / pb->n;
	fit_std_errors(pb, p, res);
	if (!isfinite(big) || big > FIT_HUGE || !isfinite(res->chi_square))
		res->status = IMPFIT_DIVERGED;
	else if (expired)
		res->status = IMPFIT_TIMEOUT;
	else if (ws->sstat[b] != FIT_LOCAL_OK)
		res->status = IMPFIT_MAX_ITERATIONS;
	else
		res->status = IMPFIT_OK;
	return (res->status);
}

/*
 * Fit c to the spectrum; see impfit.h.  A multi-start search, cheap
 * because most starts are cut short:
 *  1. starts: the caller's values, the automatic guesses of fit_init.c
 *     (duplicates dropped), then FIT_DEFAULT_RESTARTS seeded random ones
 *     around the first start and the best point in turn;
 *  2. each runs FIT_LM_PROBE iterations at loose tolerances, and stops
 *     early when far behind the best so far (fit_lm());
 *  3. arcs the best fit left idle are re-seeded (fit_init_reseed());
 *  4. up to FIT_FINALISTS unfinished starts within FIT_PROMISING of the
 *     best get the rest of the iteration budget;
 *  5. the winner is polished at full tolerance.
 * The standard errors follow from the Jacobian there (fit_std_errors()).
 */
enum impfit_status
impfit_run(const struct impfit_circuit *c, const double *freq, const double *zre,
    const double *zim, int n, const struct impfit_options *o,
    struct impfit_workspace *ws, struct impfit_result *res)
{
	struct impfit_options	 dflt;
	struct fit_problem	 pb;
	struct fit_search	 fs;
	double			 t0;
	int			 b;

	t0 = fit_mono();
	if (o == NULL) {
		impfit_options_default(&dflt);
		o = &dflt;
	}
	fit_result_init(res, c->nparam);
	memset(&pb, 0, sizeof pb);
	pb.c = c;
	if (fit_problem_bounds(&pb, o, res) != 0 ||
	    fit_check(c, freq, zre, zim, n, o, ws, pb.np, res) != 0) {
		res->status = IMPFIT_BAD_INPUT;
		return (res->status);
	}
	fit_problem_setup(&pb, o, ws, freq, zre, zim, n, t0);
	if (pb.np == 0) {
		fit_held(&pb, ws);
		b = 0;
	} else {
		memset(&fs, 0, sizeof fs);
		fs.pb = &pb;
		fs.o = o;
		fs.ws = ws;
		fs.c = c;
		fs.freq = freq;
		fs.zre = zre;
		fs.zim = zim;
		fs.n = n;
		fs.conf = FIT_GO_ON;
		fs.tested = -1;
		fit_search_budget(&fs);
		fit_search_starts(&fs);
		fit_search_probe(&fs);
		fit_search_random(&fs);
		fit_search_reseed(&fs);
		fit_search_finalists(&fs);
		b = fit_best(ws, fs.nst);
		fit_search_polish(&fs, b);
	}
	fit_report(&pb, ws, b, res);
	res->seconds = fit_mono() - t0;
	return (res->status);
}

/* chi-square of params (DESIGN section 5); NaN or Inf when undefined. */
double
impfit_chi_square(const struct impfit_circuit *c, const double *params,
    const double *freq, const double *zre, const double *zim, int n,
    enum impfit_weighting w)
{
	double	*z, s = 0, wr, wi, dr, di;
	int	 k;

	if (n < 1 || (z = malloc(2 * n * sizeof *z)) == NULL)
		return (NAN);
	impfit_circuit_eval(c, params, freq, n, z, z + n);
	for (k = 0; k < n; k++) {
		fit_weight(w, zre[k], zim[k], &wr, &wi);
		if (wr == 0 || wi == 0) {
			s = INFINITY;
			break;
		}
		dr = (zre[k] - z[k]) * wr;
		di = (zim[k] - z[n + k]) * wi;
		s += dr * dr + di * di;
	}
	free(z);
	return (s / n);
}

/*=====================================================================
 * Names
 */

int
impfit_method_parse(const char *s)
{
	if (s == NULL)
		return (-1);
	if (strcasecmp(s, "levenberg-marquardt") == 0 ||
	    strcasecmp(s, "lm") == 0)
		return (IMPFIT_METHOD_LM);
	if (strcasecmp(s, "nelder-mead") == 0 || strcasecmp(s, "nm") == 0)
		return (IMPFIT_METHOD_NM);
	return (-1);
}

const char *
impfit_method_name(enum impfit_method m)
{
	switch (m) {
	case IMPFIT_METHOD_LM:
		return ("levenberg-marquardt");
	case IMPFIT_METHOD_NM:
		return ("nelder-mead");
	}
	return (NULL);
}

int
impfit_weighting_parse(const char *s)
{
	if (s == NULL)
		return (-1);
	if (strcasecmp(s, "modulus") == 0)
		return (IMPFIT_WEIGHT_MODULUS);
	if (strcasecmp(s, "unity") == 0)
		return (IMPFIT_WEIGHT_UNITY);
	if (strcasecmp(s, "proportional") == 0)
		return (IMPFIT_WEIGHT_PROPORTIONAL);
	return (-1);
}

const char *
impfit_weighting_name(enum impfit_weighting w)
{
	switch (w) {
	case IMPFIT_WEIGHT_MODULUS:
		return ("modulus");
	case IMPFIT_WEIGHT_UNITY:
		return ("unity");
	case IMPFIT_WEIGHT_PROPORTIONAL:
		return ("proportional");
	}
	return (NULL);
}

const char *
impfit_status_name(enum impfit_status s)
{
	switch (s) {
	case IMPFIT_OK:
		return ("ok");
	case IMPFIT_MAX_ITERATIONS:
		return ("max_iterations");
	case IMPFIT_DIVERGED:
		return ("diverged");
	case IMPFIT_BAD_INPUT:
		return ("bad_input");
	case IMPFIT_TIMEOUT:
		return ("timeout");
	}
	return ("unknown");
}
