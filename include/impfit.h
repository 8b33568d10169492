/*
 * impcore - equivalent-circuit fitting engine (public API).
 *
 * A circuit description code (CDC, e.g. "R(QR)") is parsed once into a compact
 * program and then evaluated and fitted many times.  Everything here is
 * reentrant: no global state, no locks; a fit allocates only in
 * fit_workspace_new(), never inside the iteration loop.
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

#define FIT_MAX_ELEMENTS	32
#define FIT_MAX_PARAMS		64

struct fit_circuit;
struct fit_workspace;

enum fit_method {
	FIT_METHOD_LM = 0,		/* "levenberg-marquardt" (default) */
	FIT_METHOD_NM			/* "nelder-mead" */
};

enum fit_weighting {
	FIT_WEIGHT_MODULUS = 0,		/* w = |Zobs| (default) */
	FIT_WEIGHT_UNITY,		/* w = 1 */
	FIT_WEIGHT_PROPORTIONAL		/* re / |Z'obs|, im / |Z''obs| */
};

enum fit_status {
	FIT_OK = 0,
	FIT_MAX_ITERATIONS,
	FIT_DIVERGED,
	FIT_BAD_INPUT,
	FIT_TIMEOUT		/* max_seconds ran out: the best fit so far */
};
/* The last status: values are stored in the server's state file, whose
 * readers check them against it (append new ones, never renumber). */
#define FIT_STATUS_LAST	FIT_TIMEOUT

/*
 * The budget of a fit.  max_iterations counts the iterations of all starts
 * together (what res->iterations reports; 0: only the engine's per-start
 * caps, which the fixed number of starts bounds).  max_seconds is the wall
 * time of fit_run() (0: none): past it the fit ends within a millisecond or
 * so with the best parameters of all starts and FIT_TIMEOUT.
 */
struct fit_options {
	enum fit_method		method;
	enum fit_weighting	weighting;
	int			max_iterations;	/* total; 0: engine default */
	const double		*init;		/* nparams values, or NULL: automatic */
	int			restarts;	/* extra starts; <0: engine default */
	double			max_seconds;	/* wall time; 0: no limit */
	/*
	 * Constraints (issue 15, part 3): nparams values each, or NULL.  A
	 * NaN entry keeps the parameter's domain ((0, inf), exponents
	 * (0, 1]); lower == upper holds the parameter at that value
	 * (impedance.py's constants).  fit_bound_check() says what is valid.
	 */
	const double		*lower, *upper;
};

struct fit_result {
	enum fit_status	status;
	int		nparams;
	double		params[FIT_MAX_PARAMS];
	double		std_errors[FIT_MAX_PARAMS];
	double		chi_square;	/* DESIGN section 5 definition */
	int		iterations;
	int		evaluations;
	int		starts;		/* local minimisations begun */
	double		seconds;	/* wall time of fit_run() */
	char		error[128];	/* set when status == FIT_BAD_INPUT */
};

/* --- circuits ----------------------------------------------------------- */

/*
 * Parse a CDC string.  Returns NULL and writes a one-line reason to err
 * (e.g. "unbalanced ')' at column 5", "unknown element 'X' at column 3";
 * columns count from 1) when the code is invalid.
 */
IMPFIT_API struct fit_circuit *fit_circuit_parse(const char *code, char *err, size_t errlen);
IMPFIT_API void fit_circuit_free(struct fit_circuit *c);

IMPFIT_API int fit_circuit_nparams(const struct fit_circuit *c);
IMPFIT_API int fit_circuit_nelements(const struct fit_circuit *c);
/* Canonical (upper-case, no blanks) form of the code that was parsed. */
IMPFIT_API const char *fit_circuit_code(const struct fit_circuit *c);
/* "R0", "Q0.Y0", "Q0.n" ... (DESIGN section 5); pointer valid while c lives. */
IMPFIT_API const char *fit_circuit_param_name(const struct fit_circuit *c, int i);
/* "R0", "Q0", "R1" ... one per element. */
IMPFIT_API const char *fit_circuit_element_name(const struct fit_circuit *c, int e);
/* Index of the first parameter of element e, and its parameter count. */
IMPFIT_API int fit_circuit_element_param(const struct fit_circuit *c, int e, int *count);
/* Parameters that are exponents bounded to (0, 1] (CPE n, fractal a). */
IMPFIT_API int fit_circuit_param_is_exponent(const struct fit_circuit *c, int i);

/* Index of the parameter named name ("R0", "Q0.n", "CPE1_1"), or -1. */
IMPFIT_API int fit_circuit_param_index(const struct fit_circuit *c, const char *name);
/*
 * Whether [lo, hi] is a valid bound of parameter i: within its domain
 * (0 <= lo < hi, hi <= 1 for exponents; hi may be INFINITY); lo == hi is a
 * constant, which must lie in the domain (> 0; <= 1 for exponents).
 * Returns 0, or -1 with a one-line reason in err.
 */
IMPFIT_API int fit_bound_check(const struct fit_circuit *c, int i, double lo, double hi,
    char *err, size_t errlen);

/*
 * Model impedance at n frequencies (Hz).  zre/zim receive n values.
 */
IMPFIT_API void fit_circuit_eval(const struct fit_circuit *c, const double *params,
    const double *freq, int n, double *zre, double *zim);
/* Impedance of element e alone. */
IMPFIT_API void fit_element_eval(const struct fit_circuit *c, int e, const double *params,
    const double *freq, int n, double *zre, double *zim);
/*
 * The same evaluations for a caller that makes many (the result JSON: the
 * model and each element of every spectrum): an evaluator holds their
 * scratch (66 kB, allocated per call above) and the constants of the last
 * frequencies (a logarithm and a square root a point), recomputed only
 * when they change.  One evaluator per thread.  fit_evaluator_eval() is
 * fit_circuit_eval() for elem < 0, fit_element_eval() for an element;
 * -1 (NaN written) when out of memory.
 */
struct fit_evaluator;
struct fit_evaluator *fit_evaluator_new(void);
void fit_evaluator_free(struct fit_evaluator *ev);
int fit_evaluator_eval(struct fit_evaluator *ev, const struct fit_circuit *c,
    int elem, const double *params, const double *freq, int n, double *zre,
    double *zim);

/* --- fitting ------------------------------------------------------------ */

/* A workspace for spectra of up to max_points points with circuit c's size. */
IMPFIT_API struct fit_workspace *fit_workspace_new(int max_points, int max_params);
IMPFIT_API void fit_workspace_free(struct fit_workspace *ws);

IMPFIT_API void fit_options_default(struct fit_options *o);

/*
 * Fit circuit c to the spectrum (freq, zre, zim) of n points.  Returns the
 * status also stored in res->status.  Bad input (n < nparams, non-finite
 * values, freq <= 0, too many points for ws, bad initial values) gives
 * FIT_BAD_INPUT with res->error set; nothing else is touched.  Unless the
 * status is FIT_BAD_INPUT or FIT_DIVERGED, params and chi_square are finite
 * (FIT_MAX_ITERATIONS and FIT_TIMEOUT: the best point found); a std_error
 * that cannot be computed is NaN, never infinite.
 */
IMPFIT_API enum fit_status fit_run(const struct fit_circuit *c, const double *freq,
    const double *zre, const double *zim, int n, const struct fit_options *o,
    struct fit_workspace *ws, struct fit_result *res);

/*
 * A synthetic spectrum (impfit --simulate, the tests, tools/bench-fit):
 * n frequencies log-spaced from fmax down to fmin into freq, the model of
 * c at params into zre/zim, plus noise * |Z| * N(0, 1) on each of Z' and
 * Z'' (a deterministic generator seeded with seed; noise <= 0: none).
 */
IMPFIT_API void fit_simulate(const struct fit_circuit *c, const double *params,
    double fmin, double fmax, int n, double noise, unsigned long long seed,
    double *freq, double *zre, double *zim);

/* chi-square of the given parameters (DESIGN section 5). */
IMPFIT_API double fit_chi_square(const struct fit_circuit *c, const double *params,
    const double *freq, const double *zre, const double *zim, int n,
    enum fit_weighting w);

/* --- statistics (fit_stats.c) --------------------------------------------- */

struct fit_stats {
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
IMPFIT_API int fit_stats_compute(const struct fit_circuit *c, const double *params,
    int nfree, const double *freq, const double *zre, const double *zim,
    int n, enum fit_weighting w, double *rre, double *rim,
    struct fit_stats *st);
/*
 * The same from the model at freq already evaluated (zfre, zfim: what
 * fit_circuit_eval gives) and t95 = fit_t95(2 n - nfree) known: a caller
 * that renders the model anyway (the result JSON) saves an evaluation and
 * the quantile's iteration, which is the same for every spectrum of a
 * size.  rre/rim may be zfre/zfim (each point is read before written).
 */
int fit_stats_model(const double *zfre, const double *zfim, int nfree,
    const double *zre, const double *zim, int n, enum fit_weighting w,
    double t95, double *rre, double *rim, struct fit_stats *st);
/* The 0.975 quantile of Student's t with nu degrees of freedom (NaN: nu < 1). */
IMPFIT_API double fit_t95(int nu);

/* Names <-> enums: "levenberg-marquardt"/"lm", "nelder-mead"/"nm"; -1 when unknown. */
IMPFIT_API int fit_method_parse(const char *s);
IMPFIT_API const char *fit_method_name(enum fit_method m);
IMPFIT_API int fit_weighting_parse(const char *s);
IMPFIT_API const char *fit_weighting_name(enum fit_weighting w);
IMPFIT_API const char *fit_status_name(enum fit_status s);

/* --- validation and the distribution of relaxation times --------------- */

/*
 * These allocate their scratch per call (malloc, freed before they return):
 * they run once per spectrum, beside a fit, not in an iteration loop.
 */

#define FIT_LINKK_MAX_M		200

enum fit_linkk_type {
	FIT_LINKK_REAL = 0,	/* fit Z', then L (and C) from what is left */
	FIT_LINKK_IMAG,		/* fit Z'', then R0 by Boukamp's weighting */
	FIT_LINKK_COMPLEX	/* both at once */
};

struct fit_linkk_options {
	double			c;	/* mu cut-off (0.85); <= 0: max_m RCs */
	int			max_m;	/* 1 .. FIT_LINKK_MAX_M (50) */
	enum fit_linkk_type	type;
	int			add_cap;	/* a series capacitance */
};

struct fit_linkk_result {
	int	m;			/* RC elements used */
	double	mu;			/* 1 - sum|R_k < 0| / sum R_k >= 0 */
	double	pseudo_chi_square;	/* Boukamp: sum of res_re^2 + res_im^2 */
	double	r_ohm, l, c_inv;	/* series R, L and 1/C (0: no C) */
	double	seconds;
};

IMPFIT_API void fit_linkk_options_default(struct fit_linkk_options *o);
/*
 * The Lin-KK test of the spectrum (freq, zre, zim) of n points, as
 * impedance.py's linKK computes it: the same M, mu and residuals (Z - Zfit)
 * / |Z|, written to res_re/res_im (n values each, or NULL).  Returns 0, or
 * -1 on bad input (non-finite values, freq <= 0, Z = 0, bad options),
 * a singular system or no memory.
 */
IMPFIT_API int fit_linkk(const double *freq, const double *zre, const double *zim, int n,
    const struct fit_linkk_options *o, struct fit_linkk_result *r,
    double *res_re, double *res_im);
/* The m log-spaced time constants of the test (impedance.py's). */
IMPFIT_API void fit_linkk_taus(const double *freq, int n, int m, double *tau);
/* "real", "imag", "complex" <-> enum; -1 when unknown. */
IMPFIT_API int fit_linkk_type_parse(const char *s);
IMPFIT_API const char *fit_linkk_type_name(enum fit_linkk_type t);

#define FIT_DRT_LAMBDA		1e-3
#define FIT_DRT_MAX_BASIS	200

struct fit_drt_options {
	double	lambda;		/* regularisation; <= 0: FIT_DRT_LAMBDA */
};

struct fit_drt_result {
	int	npoints;	/* tau[] and gamma[] values written */
	int	nbasis;		/* Gaussian basis functions */
	double	r_inf, l;	/* series resistance and inductance */
	double	r_pol;		/* integral of gamma over ln tau (ohm) */
	double	lambda;		/* the lambda used */
	double	seconds;
};

IMPFIT_API void fit_drt_options_default(struct fit_drt_options *o);
/* The size of tau[] and gamma[] for a spectrum of n points. */
IMPFIT_API int fit_drt_npoints(int n);
/*
 * The DRT of the spectrum (freq, zre, zim) of n >= 3 points (two
 * frequencies at least): gamma (ohm per unit ln tau, >= 0, its integral
 * over ln tau is r->r_pol) at fit_drt_npoints(n) log-spaced tau (s) from
 * a little below 1/(2 pi f_max) to a little above 1/(2 pi f_min); and the DRT's impedance at freq in
 * zfit_re/zfit_im (n values; any output may be NULL).  Returns 0, or -1 on
 * bad input, no memory or an NNLS that did not converge (outputs then hold
 * its last iterate).
 */
IMPFIT_API int fit_drt(const double *freq, const double *zre, const double *zim, int n,
    const struct fit_drt_options *o, struct fit_drt_result *r, double *tau,
    double *gamma, double *zfit_re, double *zfit_im);

/* --- spectrum files ----------------------------------------------------- */

struct fit_spectrum {
	int	n;
	int	number;		/* Spectrum_Number of the CSV layout, else 0 */
	double	*freq, *zre, *zim;
};

/*
 * Read a spectrum file: 3 columns (frequency, Z', Z'') separated by blanks,
 * tabs, commas or semicolons, header and comment lines skipped; or the CSV
 * layout "Frequency_Hz,Z_real,Z_imag,Spectrum_Number", one spectrum per
 * number.  Returns the number of spectra (>0) in *out (free with
 * fit_spectra_free), or -1 with "file:line: problem" in err.
 */
IMPFIT_API int fit_spectra_read(const char *path, struct fit_spectrum **out, char *err, size_t errlen);
IMPFIT_API void fit_spectra_free(struct fit_spectrum *s, int count);

#endif /* IMPFIT_H */
