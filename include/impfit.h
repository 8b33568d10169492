/*
 * impcore - equivalent-circuit fitting engine (public API).
 *
 * A circuit description code (CDC, e.g. "R(QR)") is parsed once into a compact
 * program and then evaluated and fitted many times.  Everything here is
 * reentrant: no global state, no locks; a fit allocates only in
 * impfit_workspace_new(), never inside the iteration loop.
 */
#ifndef IMPFIT_H
#define IMPFIT_H

#include <stddef.h>

/*
 * The functions of the shared library libimpfit (pkg-config impfit).  It
 * is built with -fvisibility=hidden: only what is marked here is exported,
 * every exported name under the one prefix of this header.
 */
#if defined(__GNUC__) && __GNUC__ >= 4
#define IMPFIT_API	__attribute__((visibility("default")))
#else
#define IMPFIT_API
#endif

#define IMPFIT_MAX_ELEMENTS	32
#define IMPFIT_MAX_PARAMS		64

struct impfit_circuit;
struct impfit_workspace;

enum impfit_method {
	IMPFIT_METHOD_LM = 0,		/* "levenberg-marquardt" (default) */
	IMPFIT_METHOD_NM			/* "nelder-mead" */
};

enum impfit_weighting {
	IMPFIT_WEIGHT_MODULUS = 0,		/* w = |Zobs| (default) */
	IMPFIT_WEIGHT_UNITY,		/* w = 1 */
	IMPFIT_WEIGHT_PROPORTIONAL		/* re / |Z'obs|, im / |Z''obs| */
};

enum impfit_status {
	IMPFIT_OK = 0,
	IMPFIT_MAX_ITERATIONS,
	IMPFIT_DIVERGED,
	IMPFIT_BAD_INPUT,
	IMPFIT_TIMEOUT		/* max_seconds ran out: the best fit so far */
};
/* The last status: values are stored in the server's state file, whose
 * readers check them against it (append new ones, never renumber). */
#define IMPFIT_STATUS_LAST	IMPFIT_TIMEOUT

/*
 * The budget of a fit.  max_iterations counts the iterations of all starts
 * together (what res->iterations reports; 0: only the engine's per-start
 * caps, which the fixed number of starts bounds).  max_seconds is the wall
 * time of impfit_run() (0: none): past it the fit ends within a millisecond or
 * so with the best parameters of all starts and IMPFIT_TIMEOUT.
 */
struct impfit_options {
	enum impfit_method		method;
	enum impfit_weighting	weighting;
	int			max_iterations;	/* total; 0: engine default */
	const double		*init;		/* nparams values, or NULL: automatic */
	int			restarts;	/* extra starts; <0: engine default */
	double			max_seconds;	/* wall time; 0: no limit */
	/*
	 * Constraints (issue 15, part 3): nparams values each, or NULL.  A
	 * NaN entry keeps the parameter's domain ((0, inf), exponents
	 * (0, 1]); lower == upper holds the parameter at that value
	 * (impedance.py's constants).  impfit_bound_check() says what is valid.
	 */
	const double		*lower, *upper;
};

struct impfit_result {
	enum impfit_status	status;
	int		nparams;
	double		params[IMPFIT_MAX_PARAMS];
	double		std_errors[IMPFIT_MAX_PARAMS];
	double		chi_square;	/* DESIGN section 5 definition */
	int		iterations;
	int		evaluations;
	int		starts;		/* local minimisations begun */
	double		seconds;	/* wall time of impfit_run() */
	char		error[128];	/* set when status == IMPFIT_BAD_INPUT */
};

/* --- circuits ----------------------------------------------------------- */

/*
 * Parse a CDC string.  Returns NULL and writes a one-line reason to err
 * (e.g. "unbalanced ')' at column 5", "unknown element 'X' at column 3";
 * columns count from 1) when the code is invalid.
 */
IMPFIT_API struct impfit_circuit *impfit_circuit_parse(const char *code, char *err, size_t errlen);
IMPFIT_API void impfit_circuit_free(struct impfit_circuit *c);

IMPFIT_API int impfit_circuit_nparams(const struct impfit_circuit *c);
IMPFIT_API int impfit_circuit_nelements(const struct impfit_circuit *c);
/* Canonical (upper-case, no blanks) form of the code that was parsed. */
IMPFIT_API const char *impfit_circuit_code(const struct impfit_circuit *c);
/* "R0", "Q0.Y0", "Q0.n" ... (DESIGN section 5); pointer valid while c lives. */
IMPFIT_API const char *impfit_circuit_param_name(const struct impfit_circuit *c, int i);
/* "R0", "Q0", "R1" ... one per element. */
IMPFIT_API const char *impfit_circuit_element_name(const struct impfit_circuit *c, int e);
/* Index of the first parameter of element e, and its parameter count. */
IMPFIT_API int impfit_circuit_element_param(const struct impfit_circuit *c, int e, int *count);
/* Parameters that are exponents bounded to (0, 1] (CPE n, fractal a). */
IMPFIT_API int impfit_circuit_param_is_exponent(const struct impfit_circuit *c, int i);

/* Index of the parameter named name ("R0", "Q0.n", "CPE1_1"), or -1. */
IMPFIT_API int impfit_circuit_param_index(const struct impfit_circuit *c, const char *name);
/*
 * Whether [lo, hi] is a valid bound of parameter i: within its domain
 * (0 <= lo < hi, hi <= 1 for exponents; hi may be INFINITY); lo == hi is a
 * constant, which must lie in the domain (> 0; <= 1 for exponents).
 * Returns 0, or -1 with a one-line reason in err.
 */
IMPFIT_API int impfit_bound_check(const struct impfit_circuit *c, int i, double lo, double hi,
    char *err, size_t errlen);

/*
 * Model impedance at n frequencies (Hz).  zre/zim receive n values.
 */
IMPFIT_API void impfit_circuit_eval(const struct impfit_circuit *c, const double *params,
    const double *freq, int n, double *zre, double *zim);
/* Impedance of element e alone. */
IMPFIT_API void impfit_element_eval(const struct impfit_circuit *c, int e, const double *params,
    const double *freq, int n, double *zre, double *zim);
/*
 * The same evaluations for a caller that makes many (the result JSON: the
 * model and each element of every spectrum): an evaluator holds their
 * scratch (66 kB, allocated per call above) and the constants of the last
 * frequencies (a logarithm and a square root a point), recomputed only
 * when they change.  One evaluator per thread.  impfit_evaluator_eval() is
 * impfit_circuit_eval() for elem < 0, impfit_element_eval() for an element;
 * -1 (NaN written) when out of memory.
 */
struct impfit_evaluator;
IMPFIT_API struct impfit_evaluator *impfit_evaluator_new(void);
IMPFIT_API void impfit_evaluator_free(struct impfit_evaluator *ev);
IMPFIT_API int impfit_evaluator_eval(struct impfit_evaluator *ev, const struct impfit_circuit *c,
    int elem, const double *params, const double *freq, int n, double *zre,
    double *zim);

/* --- fitting ------------------------------------------------------------ */

/* A workspace for spectra of up to max_points points with circuit c's size. */
IMPFIT_API struct impfit_workspace *impfit_workspace_new(int max_points, int max_params);
IMPFIT_API void impfit_workspace_free(struct impfit_workspace *ws);

IMPFIT_API void impfit_options_default(struct impfit_options *o);

/*
 * Fit circuit c to the spectrum (freq, zre, zim) of n points.  Returns the
 * status also stored in res->status.  Bad input (n < nparams, non-finite
 * values, freq <= 0, too many points for ws, bad initial values) gives
 * IMPFIT_BAD_INPUT with res->error set; nothing else is touched.  Unless the
 * status is IMPFIT_BAD_INPUT or IMPFIT_DIVERGED, params and chi_square are finite
 * (IMPFIT_MAX_ITERATIONS and IMPFIT_TIMEOUT: the best point found); a std_error
 * that cannot be computed is NaN, never infinite.
 */
IMPFIT_API enum impfit_status impfit_run(const struct impfit_circuit *c, const double *freq,
    const double *zre, const double *zim, int n, const struct impfit_options *o,
    struct impfit_workspace *ws, struct impfit_result *res);

/*
 * A synthetic spectrum (impfit --simulate, the tests, tools/bench-fit):
 * n frequencies log-spaced from fmax down to fmin into freq, the model of
 * c at params into zre/zim, plus noise * |Z| * N(0, 1) on each of Z' and
 * Z'' (a deterministic generator seeded with seed; noise <= 0: none).
 */
IMPFIT_API void impfit_simulate(const struct impfit_circuit *c, const double *params,
    double fmin, double fmax, int n, double noise, unsigned long long seed,
    double *freq, double *zre, double *zim);

/* chi-square of the given parameters (DESIGN section 5). */
IMPFIT_API double impfit_chi_square(const struct impfit_circuit *c, const double *params,
    const double *freq, const double *zre, const double *zim, int n,
    enum impfit_weighting w);

/* --- statistics (fit_stats.c) --------------------------------------------- */

struct impfit_stats {
	int	dof;		/* 2 n - nfree */
	double	ssr;		/* weighted sum of squared residuals */
	double	rmse;		/* sqrt(sum |Zobs - Zfit|^2 / n), in ohms */
	double	aic;		/* 2n ln(ssr / 2n) + 2 nfree */
	double	bic;		/* 2n ln(ssr / 2n) + nfree ln(2n) */
	double	t95;		/* Student's t, P(|T| < t95) = 0.95, dof */
};

/*
 * Statistics of params (of which nfree were fitted, the others held)
 * against the spectrum of n points under weighting w.  rre/rim (n each,
 * or both NULL) receive the residuals relative to the modulus,
 * (Z'obs - Z'fit) / |Zobs| and (Z''obs - Z''fit) / |Zobs|.  The 95 %
 * confidence interval of parameter i is params[i] -/+ t95 std_errors[i].
 * Returns 0, or -1 (no points, out of memory) with NaN in *st.
 */
IMPFIT_API int impfit_stats_compute(const struct impfit_circuit *c, const double *params,
    int nfree, const double *freq, const double *zre, const double *zim,
    int n, enum impfit_weighting w, double *rre, double *rim,
    struct impfit_stats *st);
/*
 * The same from the model at freq already evaluated (zfre, zfim: what
 * impfit_circuit_eval gives) and t95 = impfit_t95(2 n - nfree) known: a caller
 * that renders the model anyway (the result JSON) saves an evaluation and
 * the quantile's iteration, which is the same for every spectrum of a
 * size.  rre/rim may be zfre/zfim (each point is read before written).
 */
IMPFIT_API int impfit_stats_model(const double *zfre, const double *zfim, int nfree,
    const double *zre, const double *zim, int n, enum impfit_weighting w,
    double t95, double *rre, double *rim, struct impfit_stats *st);
/* The 0.975 quantile of Student's t with nu degrees of freedom (NaN: nu < 1). */
IMPFIT_API double impfit_t95(int nu);

/* Names <-> enums: "levenberg-marquardt"/"lm", "nelder-mead"/"nm"; -1 when unknown. */
IMPFIT_API int impfit_method_parse(const char *s);
IMPFIT_API const char *impfit_method_name(enum impfit_method m);
IMPFIT_API int impfit_weighting_parse(const char *s);
IMPFIT_API const char *impfit_weighting_name(enum impfit_weighting w);
IMPFIT_API const char *impfit_status_name(enum impfit_status s);

/* --- validation and the distribution of relaxation times --------------- */

/*
 * These allocate their scratch per call (malloc, freed before they return):
 * they run once per spectrum, beside a fit, not in an iteration loop.
 */

#define IMPFIT_LINKK_MAX_M		200

enum impfit_linkk_type {
	IMPFIT_LINKK_REAL = 0,	/* fit Z', then L (and C) from what is left */
	IMPFIT_LINKK_IMAG,		/* fit Z'', then R0 by Boukamp's weighting */
	IMPFIT_LINKK_COMPLEX	/* both at once */
};

struct impfit_linkk_options {
	double			c;	/* mu cut-off (0.85); <= 0: max_m RCs */
	int			max_m;	/* 1 .. IMPFIT_LINKK_MAX_M (50) */
	enum impfit_linkk_type	type;
	int			add_cap;	/* a series capacitance */
};

struct impfit_linkk_result {
	int	m;			/* RC elements used */
	double	mu;			/* 1 - sum|R_k < 0| / sum R_k >= 0 */
	double	pseudo_chi_square;	/* Boukamp: sum of res_re^2 + res_im^2 */
	double	r_ohm, l, c_inv;	/* series R, L and 1/C (0: no C) */
	double	seconds;
};

IMPFIT_API void impfit_linkk_options_default(struct impfit_linkk_options *o);
/*
 * The Lin-KK test of the spectrum (freq, zre, zim) of n points, as
 * impedance.py's linKK computes it: the same M, mu and residuals (Z - Zfit)
 * / |Z|, written to res_re/res_im (n values each, or NULL).  Returns 0, or
 * -1 on bad input (non-finite values, freq <= 0, Z = 0, bad options),
 * a singular system or no memory.
 */
IMPFIT_API int impfit_linkk(const double *freq, const double *zre, const double *zim, int n,
    const struct impfit_linkk_options *o, struct impfit_linkk_result *r,
    double *res_re, double *res_im);
/* The m log-spaced time constants of the test (impedance.py's). */
IMPFIT_API void impfit_linkk_taus(const double *freq, int n, int m, double *tau);
/* "real", "imag", "complex" <-> enum; -1 when unknown. */
IMPFIT_API int impfit_linkk_type_parse(const char *s);
IMPFIT_API const char *impfit_linkk_type_name(enum impfit_linkk_type t);

#define IMPFIT_DRT_LAMBDA		1e-3
#define IMPFIT_DRT_MAX_BASIS	200

struct impfit_drt_options {
	double	lambda;		/* regularisation; <= 0: IMPFIT_DRT_LAMBDA */
};

struct impfit_drt_result {
	int	npoints;	/* tau[] and gamma[] values written */
	int	nbasis;		/* Gaussian basis functions */
	double	r_inf, l;	/* series resistance and inductance */
	double	r_pol;		/* integral of gamma over ln tau (ohm) */
	double	lambda;		/* the lambda used */
	double	seconds;
};

IMPFIT_API void impfit_drt_options_default(struct impfit_drt_options *o);
/* The size of tau[] and gamma[] for a spectrum of n points. */
IMPFIT_API int impfit_drt_npoints(int n);
/*
 * The DRT of the spectrum (freq, zre, zim) of n >= 3 points (two
 * frequencies at least): gamma (ohm per unit ln tau, >= 0, its integral
 * over ln tau is r->r_pol) at impfit_drt_npoints(n) log-spaced tau (s) from
 * a little below 1/(2 pi f_max) to a little above 1/(2 pi f_min); and the DRT's impedance at freq in
 * zfit_re/zfit_im (n values; any output may be NULL).  Returns 0, or -1 on
 * bad input, no memory or an NNLS that did not converge (outputs then hold
 * its last iterate).
 */
IMPFIT_API int impfit_drt(const double *freq, const double *zre, const double *zim, int n,
    const struct impfit_drt_options *o, struct impfit_drt_result *r, double *tau,
    double *gamma, double *zfit_re, double *zfit_im);

/* --- spectrum files ----------------------------------------------------- */

struct impfit_spectrum {
	int	n;
	int	number;		/* Spectrum_Number of the CSV layout, else 0 */
	double	*freq, *zre, *zim;
};

/*
 * Read a spectrum file: 3 columns (frequency, Z', Z'') separated by blanks,
 * tabs, commas or semicolons, header and comment lines skipped; or the CSV
 * layout "Frequency_Hz,Z_real,Z_imag,Spectrum_Number", one spectrum per
 * number.  Returns the number of spectra (>0) in *out (free with
 * impfit_spectra_free), or -1 with "file:line: problem" in err.
 */
IMPFIT_API int impfit_spectra_read(const char *path, struct impfit_spectrum **out, char *err, size_t errlen);
IMPFIT_API void impfit_spectra_free(struct impfit_spectrum *s, int count);

#endif /* IMPFIT_H */
