/*
 * impcore - fitting engine internals.  NB: NOT A PUBLIC API; only src/fit/,
 * impfit, the fit tests and tools/bench-fit include this.
 */
#ifndef FIT_PRIV_H
#define FIT_PRIV_H

#include "impfit.h"

#define FIT_MAX_NODES		(2 * IMPFIT_MAX_ELEMENTS + 1)
#define FIT_MAX_CODE		256	/* canonical code, including NUL */
#define FIT_MAX_NAME		11	/* impedance.py element name, "Zarc12" */

/* A node of the circuit tree, stored in postfix order (root last). */
enum fit_node_kind {
	FIT_NODE_ELEM = 0,
	FIT_NODE_SERIES,
	FIT_NODE_PARALLEL
};

struct fit_node {
	unsigned char	kind;
	signed char	parent;		/* node index, -1 for the root */
	signed char	elem;		/* element index of a leaf, else -1 */
	unsigned char	first;		/* first child of its parent */
};

/*
 * Element kinds: the CDC letters of DESIGN section 8, then impedance.py's
 * elements that are not one of them under another name (its R, C, L are
 * ours, its CPE is our Q: same definition, same parameter order).
 */
enum fit_ekind {
	FIT_EK_R = 0,
	FIT_EK_C,
	FIT_EK_L,
	FIT_EK_W,		/* 1 / (Y0 sqrt(j w)) */
	FIT_EK_Q,
	FIT_EK_O,
	FIT_EK_T,
	FIT_EK_G,
	FIT_EK_F,
	FIT_EK_PY_W,		/* impedance.py W: Aw (1 - j) / sqrt(w) */
	FIT_EK_WO,
	FIT_EK_WS,
	FIT_EK_LA,
	FIT_EK_PY_G,		/* impedance.py G: R / sqrt(1 + j w t) */
	FIT_EK_GS,
	FIT_EK_K,
	FIT_EK_ZARC,
	FIT_EK_TLMQ,
	FIT_EK_PY_T		/* impedance.py T (Paasch) */
};

struct fit_elem {
	unsigned char	kind;		/* enum fit_ekind */
	unsigned char	p0;		/* index of the first parameter */
	unsigned char	np;		/* parameter count */
	unsigned char	node;		/* leaf node */
	unsigned char	par_depth;	/* parallel groups around it */
	char		name[12];	/* "Q0", "CPE1" */
};

struct impfit_circuit {
	int		nelem;
	int		nparam;
	int		nnode;
	struct fit_elem	elem[IMPFIT_MAX_ELEMENTS];
	struct fit_node	node[FIT_MAX_NODES];
	unsigned char	is_exp[IMPFIT_MAX_PARAMS];
	char		pname[IMPFIT_MAX_PARAMS][16];
	char		code[FIT_MAX_CODE];
};

#define FIT_BLOCK		16	/* points evaluated together */

/*
 * The hot loops are compiled twice, for AVX2 and for the baseline, and the
 * loader picks one (GNU ifunc): twice the vector width where the CPU has
 * it, without -march flags that would tie the binary to one machine.  No
 * FMA in the clone, so both give the same numbers.  Hidden by name: GCC
 * gives the ifunc symbol and its resolver default visibility whatever
 * -fvisibility says, and libimpfit.so would export them.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FIT_HOT	__attribute__((target_clones("avx2", "default"), \
	visibility("hidden")))
#else
#define FIT_HOT
#endif

/* Per-frequency constants of a block of points (fit_freqs_set()). */
struct fit_fblock {
	const double	*w;		/* 2 pi f */
	const double	*invw;		/* 1 / w */
	const double	*lnw;		/* log(w) */
	const double	*sqw;		/* sqrt(w / 2): sqrt(j w) = sqw (1 + j) */
};

/* Per-parameter-vector constants (fit_eval.c): computed once per evaluation. */
struct fit_prep {
	double	inv[IMPFIT_MAX_ELEMENTS];	/* 1 / first parameter */
	double	kr[IMPFIT_MAX_ELEMENTS];	/* element-specific complex factor */
	double	ki[IMPFIT_MAX_ELEMENTS];
};

/*
 * Scratch of one block evaluation: per node its impedance, admittance (or
 * admittance sum) and sensitivity; per parameter dZ/dp.  About 66 kB.
 */
struct fit_scratch {
	double	zr[FIT_MAX_NODES][FIT_BLOCK], zi[FIT_MAX_NODES][FIT_BLOCK];
	double	ar[FIT_MAX_NODES][FIT_BLOCK], ai[FIT_MAX_NODES][FIT_BLOCK];
	double	sr[FIT_MAX_NODES][FIT_BLOCK], si[FIT_MAX_NODES][FIT_BLOCK];
	/* three spare rows: element code addresses rows p0 + 0..3 */
	double	dr[IMPFIT_MAX_PARAMS + 3][FIT_BLOCK];
	double	di[IMPFIT_MAX_PARAMS + 3][FIT_BLOCK];
};

/* fit_eval.c */
void	fit_freqs_set(const double *f, int n, double *w, double *invw,
	    double *lnw, double *sqw);
void	fit_prep_set(const struct impfit_circuit *c, const double *p,
	    struct fit_prep *pp);
void	fit_eval_block(const struct impfit_circuit *c, const double *p,
	    const struct fit_prep *pp, const struct fit_fblock *fb, int bl,
	    struct fit_scratch *s, int deriv);

/*
 * One fit in progress (fit_run.c): the data, the weights, and scratch space
 * carved from the workspace.  The minimisers work on x, the transformed
 * parameters: p = exp(x) for positive parameters, p = sin(x)^2 for the
 * exponents, so that every x is a physical p and n = 1 is reachable.
 */
/* How a parameter maps to the minimisers' x (fit_run.c). */
enum fit_xkind {
	FIT_X_LOG = 0,		/* p = lo + exp(x), hi infinite */
	FIT_X_BOX,		/* p = lo + (hi - lo) sin(x)^2 */
	FIT_X_FIXED		/* p = lo = hi, not in x */
};

struct fit_problem {
	const struct impfit_circuit *c;
	int			 n;		/* points */
	int			 np;		/* free parameters: x has np */
	/* x[j] is parameter fidx[j]; a held one is pfix[i] (constants) */
	int			 fidx[IMPFIT_MAX_PARAMS];
	unsigned char		 kind[IMPFIT_MAX_PARAMS];	/* enum fit_xkind */
	double			 lo[IMPFIT_MAX_PARAMS], hi[IMPFIT_MAX_PARAMS];
	int			 m;		/* residuals: 2 n */
	const double		*w, *invw, *lnw, *sqw;	/* n each */
	struct fit_scratch	*scratch;
	const double		*zre, *zim;
	const double		*wre, *wim;	/* 1 / weight */
	double			*r, *rt;	/* m residuals, current/trial */
	double			*jac, *jact;	/* m x np, column-major */
	double			*a, *l;		/* np x np */
	double			*g, *dg, *dx, *xt;	/* np */
	double			*simplex;	/* (np + 1) x np */
	double			*fval;		/* np + 1 */
	double			*xc, *xr, *xe;	/* np */
	double			 abandon;	/* best cost of other starts */
	double			 loose;		/* tolerance factor, >= 1 */
	int			 evaluations;
	int			 iterations;
	int			 starts;	/* local runs begun */
	/*
	 * The budget (impfit_run()).  The minimisers stop when expired is set;
	 * the driver gives no start more than max_total - iterations.  The
	 * clock is read in fit_problem_eval() only when tick_left runs out,
	 * every tick_every evaluations, a count fit_clock() keeps at about
	 * FIT_TICK_SEC of work: a clock read per evaluation of a 23-point
	 * spectrum would cost a few percent.
	 */
	double			 deadline;	/* CLOCK_MONOTONIC s; 0: none */
	double			 ticked;	/* when the clock was last read */
	int			 tick_left, tick_every;
	int			 max_total;	/* iterations of all starts */
	int			 expired;	/* deadline passed */
};

/* Minimiser outcomes. */
#define FIT_LOCAL_OK		0
#define FIT_LOCAL_MAXITER	1
#define FIT_LOCAL_FAILED	2

/* fit_run.c */
void	fit_x_to_p(const struct fit_problem *pb, const double *x, double *p);
void	fit_p_to_x(const struct fit_problem *pb, const double *p, double *x);
double	fit_problem_eval(struct fit_problem *pb, const double *x, double *r,
	    double *jac);

/* fit_lm.c, fit_nm.c: one local minimisation from x (updated in place). */
int	fit_lm(struct fit_problem *pb, double *x, int max_iter, double *cost);
double	fit_dot(const double *a, const double *b, int n);
void	fit_lm_normal(const struct fit_problem *pb, const double *jac,
	    const double *r);
int	fit_nm(struct fit_problem *pb, double *x, int max_iter, double *cost);

/* fit_linalg.c */
int	fit_chol(const double *a, double *l, int n);
void	fit_chol_solve(const double *l, int n, const double *b, double *x);
int	fit_spd_inverse(const double *a, double *inv, double *l, double *col,
	    int n);

/* fit_init.c */
int	fit_init_guesses(const struct impfit_circuit *c, const double *freq,
	    const double *zre, const double *zim, int n, int *idx, double *out,
	    int max_guesses);
int	fit_init_reseed(const struct impfit_circuit *c, const double *freq,
	    const double *zre, const double *zim, int n, int *idx,
	    const double *best, double *out, int max);

/* fit_rng.c: a small deterministic generator (xorshift64*, Box-Muller). */
struct fit_rng {
	unsigned long long	s;
};
void	fit_rng_seed(struct fit_rng *r, unsigned long long seed);
double	fit_rng_uniform(struct fit_rng *r);	/* in (0, 1) */
double	fit_rng_normal(struct fit_rng *r);	/* N(0, 1) */

/* fit_sim.c: impfit_simulate() is public (include/impfit.h). */

#endif /* FIT_PRIV_H */
