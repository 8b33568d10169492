/*
 * impcore - impfit: fit an equivalent circuit to the spectra of a file from
 * the command line (the successor of `goimpsolver -c CODE -f FILE -v ...`),
 * or write a synthetic spectrum (--simulate).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "impdata.h"
#include "impfit.h"
#include "lib/dtoa.h"
#include "plot/plot.h"

#define IMPFIT_EXIT_FIT		1	/* a fit diverged */
#define IMPFIT_EXIT_USAGE	2	/* bad arguments, file, code or data */

enum {
	OPT_MAXIT = 256,
	OPT_JSON,
	OPT_SIMULATE,
	OPT_FMIN,
	OPT_FMAX,
	OPT_POINTS,
	OPT_NOISE,
	OPT_SEED,
	OPT_RESTARTS,
	OPT_FIX,
	OPT_BOUND,
	OPT_LINKK,
	OPT_LK_C,
	OPT_LK_MAXM,
	OPT_LK_TYPE,
	OPT_LK_CAP,
	OPT_PLOT,
	OPT_DRT,
	OPT_LAMBDA,
	OPT_READ,
	OPT_FORMAT,
	OPT_HELP
};

static const struct option cmd_longopts[] = {
	{ "code", required_argument, NULL, 'c' },
	{ "file", required_argument, NULL, 'f' },
	{ "value", required_argument, NULL, 'v' },
	{ "method", required_argument, NULL, 'm' },
	{ "weighting", required_argument, NULL, 'w' },
	{ "max-iterations", required_argument, NULL, OPT_MAXIT },
	{ "restarts", required_argument, NULL, OPT_RESTARTS },
	{ "fix", required_argument, NULL, OPT_FIX },
	{ "bound", required_argument, NULL, OPT_BOUND },
	{ "timeout", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "simulate", required_argument, NULL, OPT_SIMULATE },
	{ "fmin", required_argument, NULL, OPT_FMIN },
	{ "fmax", required_argument, NULL, OPT_FMAX },
	{ "points", required_argument, NULL, OPT_POINTS },
	{ "noise", required_argument, NULL, OPT_NOISE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "linkk", no_argument, NULL, OPT_LINKK },
	{ "c", required_argument, NULL, OPT_LK_C },
	{ "max-m", required_argument, NULL, OPT_LK_MAXM },
	{ "fit-type", required_argument, NULL, OPT_LK_TYPE },
	{ "add-cap", no_argument, NULL, OPT_LK_CAP },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "drt", no_argument, NULL, OPT_DRT },
	{ "lambda", required_argument, NULL, OPT_LAMBDA },
	{ "read", required_argument, NULL, OPT_READ },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static void
cmd_usage(FILE *fp)
{
	fprintf(fp,
"usage: impfit -c CODE -f FILE [-v P ...] [-m method] [-w weighting]\n"
"              [--max-iterations N] [--restarts N] [-t SECONDS] [--json]\n"
"              [--fix NAME=VALUE ...] [--bound NAME=LO:HI ...]\n"
"              [--linkk ...] [--drt ...] [--plot OUT.svg]\n"
"       impfit --plot OUT.svg -f FILE\n"
"       impfit --drt -f FILE [--lambda L] [--json]\n"
"       impfit --linkk -f FILE [--c 0.85] [--max-m 50]\n"
"              [--fit-type real|imag|complex] [--add-cap] [--json]\n"
"       impfit --simulate CODE -v P ... [--fmin 0.1] [--fmax 1e5]\n"
"              [--points 50] [--noise 0] [--seed 0]\n"
"       impfit --read FILE [--format NAME]\n"
"\n"
"  -c, --code CODE        circuit description code, e.g. 'R(QR)'\n"
"  -f, --file FILE        spectra: any format --read reads\n"
"  --read FILE            write the spectra of FILE as CSV:\n"
"                         Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n"
"  --format NAME          read FILE as NAME (default: detected): gamry,\n"
"                         biologic, zplot, versastudio, ivium, palmsens,\n"
"                         dfr, p00, elchemea, chinstruments, parstat,\n"
"                         autolab, powersuite, csv\n"
"  -v, --value P          initial value of the next parameter (repeat, or\n"
"                         give a comma-separated list); default: automatic\n"
"  -m, --method M         levenberg-marquardt (lm, default) or nelder-mead (nm)\n"
"  -w, --weighting W      modulus (default), unity or proportional\n"
"  --max-iterations N     iterations of all starts together (default:\n"
"                         the engine's caps per start)\n"
"  -t, --timeout SECONDS  time budget of each fit (default: none); a fit\n"
"                         out of time keeps its best parameters and has\n"
"                         fit_status timeout\n"
"  --restarts N           random restarts (default: engine's)\n"
"  --fix NAME=VALUE       hold parameter NAME (e.g. R0, Q0.n) at VALUE\n"
"  --bound NAME=LO:HI     keep NAME within [LO, HI] (HI empty: no upper)\n"
"  --json                 one JSON object per spectrum and line\n"
"  --linkk                the Lin-KK test (Schoenleber 2014, as impedance.py's\n"
"                         linKK): M, mu, pseudo chi-square and residuals\n"
"  --c C                  Lin-KK: mu cut-off (0.85; 0: always --max-m RCs)\n"
"  --max-m M              Lin-KK: most RC elements (50)\n"
"  --fit-type T           Lin-KK: real (default), imag or complex\n"
"  --add-cap              Lin-KK: a series capacitance\n"
"  --drt                  the distribution of relaxation times (Tikhonov,\n"
"                         Gaussian basis, gamma >= 0): tau, gamma, R_inf, L\n"
"  --lambda L             DRT: regularisation (default 1e-3)\n"
"  --plot OUT.svg         the picture of each spectrum: Nyquist, Bode,\n"
"                         residuals (fit, Lin-KK), DRT (several spectra:\n"
"                         OUT-<number>.svg)\n"
"  --simulate CODE        write a synthetic spectrum of CODE at the -v values\n"
"  --help                 this text\n"
"\n"
"Exit status: 0 fitted, 1 a fit diverged, 2 bad arguments, file, code or data.\n");
}

static void
cmd_die(const char *fmt, const char *arg)
{
	fprintf(stderr, "impfit: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(IMPFIT_EXIT_USAGE);
}

static double
cmd_number(const char *opt, const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) {
		fprintf(stderr, "impfit: %s: '%s' is not a number\n", opt, s);
		exit(IMPFIT_EXIT_USAGE);
	}
	return (v);
}

/* Append the comma-separated values of s to v[*n]. */
static void
cmd_values(const char *s, double *v, int *n)
{
	char	buf[1024], *tok, *save;

	if (strlen(s) >= sizeof buf)
		cmd_die("-v: '%s' is too long", s);
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",; ", &save); tok != NULL;
	    tok = strtok_r(NULL, ",; ", &save)) {
		if (*n >= IMPFIT_MAX_PARAMS)
			cmd_die("-v: more than %s values", "64");
		v[(*n)++] = cmd_number("-v", tok);
	}
}

/* --fix and --bound as given, resolved once the circuit is parsed. */
struct cmd_cons {
	char	name[32];
	double	lo, hi;
};
static struct cmd_cons	cmd_cons[IMPFIT_MAX_PARAMS];
static int			cmd_ncons;

/* Record --fix NAME=VALUE (fix) or --bound NAME=LO:HI. */
static void
cmd_cons_add(const char *arg, int fix)
{
	struct cmd_cons	*k;
	const char		*eq = strchr(arg, '=');
	char			 buf[128], *colon;

	if (cmd_ncons >= IMPFIT_MAX_PARAMS)
		cmd_die("too many --fix/--bound: '%s'", arg);
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof k->name ||
	    strlen(eq + 1) >= sizeof buf)
		cmd_die(fix ? "--fix: '%s' is not NAME=VALUE" :
		    "--bound: '%s' is not NAME=LO:HI", arg);
	k = &cmd_cons[cmd_ncons++];
	memcpy(k->name, arg, eq - arg);
	k->name[eq - arg] = '\0';
	strcpy(buf, eq + 1);
	if (fix) {
		k->lo = k->hi = cmd_number("--fix", buf);
		return;
	}
	if ((colon = strchr(buf, ':')) == NULL)
		cmd_die("--bound: '%s' is not NAME=LO:HI", arg);
	*colon = '\0';
	k->lo = cmd_number("--bound", buf);
	k->hi = colon[1] == '\0' ? INFINITY : cmd_number("--bound",
	    colon + 1);
}

/*
 * The constraints of c into lo/hi (NaN where none); a name c lacks or a
 * bound outside the parameter's domain stops impfit.  Returns the free
 * parameters.
 */
static int
cmd_cons_apply(const struct impfit_circuit *c, double *lo, double *hi)
{
	char	err[160];
	int	i, j, np = impfit_circuit_nparams(c), nfree = np;

	for (i = 0; i < np; i++)
		lo[i] = hi[i] = NAN;
	for (j = 0; j < cmd_ncons; j++) {
		if ((i = impfit_circuit_param_index(c, cmd_cons[j].name)) < 0) {
			fprintf(stderr, "impfit: %s has no parameter '%s'\n",
			    impfit_circuit_code(c), cmd_cons[j].name);
			exit(IMPFIT_EXIT_USAGE);
		}
		if (impfit_bound_check(c, i, cmd_cons[j].lo, cmd_cons[j].hi,
		    err, sizeof err) != 0)
			cmd_die("%s", err);
		if (lo[i] == hi[i] && !isnan(lo[i]))
			nfree++;
		lo[i] = cmd_cons[j].lo;
		hi[i] = cmd_cons[j].hi;
		if (lo[i] == hi[i])
			nfree--;
	}
	return (nfree);
}

/*
 * A JSON number in the server's form (buf_num_at: the shortest text that
 * reads back as the same double, 0.9938937775257921 and not
 * 0.99389377752579211), or null when it is not finite.
 */
static void
cmd_json_num(double v)
{
	char num[BUF_NUM_MAX + 1];

	if (isfinite(v)) {
		*buf_num_at(num, v) = '\0';
		fputs(num, stdout);
	} else
		printf("null");
}

/* A JSON string of our own making (codes, names: no escapes needed, but
 * escape anyway so that nothing can break the line). */
static void
cmd_json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* A JSON array of n numbers. */
static void
cmd_json_array(const char *key, const double *v, int n)
{
	int	i;

	printf(",\"%s\":[", key);
	for (i = 0; i < n; i++) {
		printf("%s", i ? "," : "");
		cmd_json_num(v[i]);
	}
	printf("]");
}

/*
 * The statistics of a fit (issue 15, part 4), as the server renders them:
 * residuals relative to |Z|, dof, rmse, aic, bic, 95 % intervals.
 */
static void
cmd_print_stats(const struct impfit_circuit *c, const struct impfit_options *o,
    const struct impfit_result *r, const struct impfit_spectrum *sp, int nfree)
{
	struct impfit_stats	 st;
	double			*rre, *rim, lo[IMPFIT_MAX_PARAMS];
	double			 hi[IMPFIT_MAX_PARAMS];
	int			 i, np = impfit_circuit_nparams(c);

	if ((rre = calloc(2 * (size_t)sp->n, sizeof *rre)) == NULL)
		cmd_die("%s", "out of memory");
	rim = rre + sp->n;
	if (impfit_stats_compute(c, r->params, nfree, sp->freq, sp->zre, sp->zim,
	    sp->n, o->weighting, rre, rim, &st) == 0) {
		cmd_json_array("residuals_real", rre, sp->n);
		cmd_json_array("residuals_imag", rim, sp->n);
		printf(",\"dof\":%d,\"rmse\":", st.dof);
		cmd_json_num(st.rmse);
		printf(",\"aic\":");
		cmd_json_num(st.aic);
		printf(",\"bic\":");
		cmd_json_num(st.bic);
		for (i = 0; i < np; i++) {
			lo[i] = r->params[i] - st.t95 * r->std_errors[i];
			hi[i] = r->params[i] + st.t95 * r->std_errors[i];
		}
		cmd_json_array("ci95_low", lo, np);
		cmd_json_array("ci95_high", hi, np);
	}
	free(rre);
}

static void
cmd_print_json(const struct impfit_circuit *c, const struct impfit_options *o,
    const struct impfit_result *r, const struct impfit_spectrum *sp, int nfree)
{
	int	i, np = impfit_circuit_nparams(c), number = sp->number;
	int	points = sp->n;

	printf("{\"spectrum\":%d,\"circuit_type\":", number);
	cmd_json_str(impfit_circuit_code(c));
	printf(",\"method\":\"%s\",\"weighting\":\"%s\",\"points\":%d,"
	    "\"element_names\":[", impfit_method_name(o->method),
	    impfit_weighting_name(o->weighting), points);
	for (i = 0; i < np; i++) {
		printf("%s", i ? "," : "");
		cmd_json_str(impfit_circuit_param_name(c, i));
	}
	printf("],\"parameters\":[");
	for (i = 0; i < np; i++) {
		printf("%s", i ? "," : "");
		cmd_json_num(r->params[i]);
	}
	printf("],\"std_errors\":[");
	for (i = 0; i < np; i++) {
		printf("%s", i ? "," : "");
		cmd_json_num(r->std_errors[i]);
	}
	printf("],\"chi_square\":");
	cmd_json_num(r->chi_square);
	if (r->status != IMPFIT_BAD_INPUT && r->status != IMPFIT_DIVERGED)
		cmd_print_stats(c, o, r, sp, nfree);
	printf(",\"iterations\":%d,\"evaluations\":%d,\"fit_status\":\"%s\","
	    "\"fit_ms\":", r->iterations, r->evaluations,
	    impfit_status_name(r->status));
	cmd_json_num(r->seconds * 1e3);
	if (r->status == IMPFIT_BAD_INPUT) {
		printf(",\"error\":");
		cmd_json_str(r->error);
	}
	printf("}\n");
}

static void
cmd_print_text(const struct impfit_circuit *c, const struct impfit_options *o,
    const struct impfit_result *r, int number, int points)
{
	int	i, np = impfit_circuit_nparams(c);

	printf("spectrum %d: %s, %d points, %s, %s weighting\n", number,
	    impfit_circuit_code(c), points, impfit_method_name(o->method),
	    impfit_weighting_name(o->weighting));
	if (r->status == IMPFIT_BAD_INPUT) {
		printf("  fit_status bad_input: %s\n", r->error);
		return;
	}
	for (i = 0; i < np; i++)
		printf("  %-10s %15.8g  +/- %.3g\n",
		    impfit_circuit_param_name(c, i), r->params[i],
		    r->std_errors[i]);
	printf("  chi_square %.8g  iterations %d  evaluations %d  "
	    "fit_status %s  fit_ms %.3f\n", r->chi_square, r->iterations,
	    r->evaluations, impfit_status_name(r->status), r->seconds * 1e3);
}

/* A JSON array of n numbers. */
static void
cmd_json_arr(const double *v, int n)
{
	int	i;

	putchar('[');
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		cmd_json_num(v[i]);
	}
	putchar(']');
}

/* --linkk: the test of one spectrum, residuals into rr, ri.  0 or exit code. */
static int
cmd_linkk(const struct impfit_spectrum *sp, const struct impfit_linkk_options *lo,
    int json, double *rr, double *ri)
{
	struct impfit_linkk_result	 r;
	int			 k;

	if (impfit_linkk(sp->freq, sp->zre, sp->zim, sp->n, lo, &r, rr, ri) != 0) {
		fprintf(stderr, "impfit: spectrum %d: Lin-KK failed\n",
		    sp->number);
		return (IMPFIT_EXIT_FIT);
	}
	if (json) {
		printf("{\"spectrum\":%d,\"points\":%d,\"fit_type\":\"%s\","
		    "\"add_cap\":%s,\"c\":", sp->number, sp->n,
		    impfit_linkk_type_name(lo->type), lo->add_cap ? "true" : "false");
		cmd_json_num(lo->c);
		printf(",\"max_m\":%d,\"M\":%d,\"mu\":", lo->max_m, r.m);
		cmd_json_num(r.mu);
		printf(",\"pseudo_chi_square\":");
		cmd_json_num(r.pseudo_chi_square);
		printf(",\"residuals_real\":");
		cmd_json_arr(rr, sp->n);
		printf(",\"residuals_imag\":");
		cmd_json_arr(ri, sp->n);
		printf(",\"linkk_ms\":");
		cmd_json_num(r.seconds * 1e3);
		printf("}\n");
		return (0);
	}
	printf("spectrum %d: Lin-KK %s%s, %d points: M %d  mu %.6f  "
	    "pseudo_chi_square %.6g  linkk_ms %.3f\n", sp->number,
	    impfit_linkk_type_name(lo->type), lo->add_cap ? " +C" : "", sp->n,
	    r.m, r.mu, r.pseudo_chi_square, r.seconds * 1e3);
	printf("  %14s %12s %12s\n", "freq_Hz", "res_real_%", "res_imag_%");
	for (k = 0; k < sp->n; k++)
		printf("  %14.6g %12.4f %12.4f\n", sp->freq[k], rr[k] * 100,
		    ri[k] * 100);
	return (0);
}

/*
 * --plot OUT.svg: the picture of spectrum i of ns; with several spectra
 * OUT-<number>.svg (number: Spectrum_Number).  Returns 0 or an exit code.
 */
static int
cmd_plot(const char *out, const struct plot_data *pd, int number, int ns)
{
	char	 path[4096];
	size_t	 len, l = strlen(out);
	char	*svg;
	FILE	*fp;

	if (ns > 1 && l > 4 && strcmp(out + l - 4, ".svg") == 0)
		snprintf(path, sizeof path, "%.*s-%d.svg", (int)(l - 4), out,
		    number);
	else if (ns > 1)
		snprintf(path, sizeof path, "%s-%d.svg", out, number);
	else
		snprintf(path, sizeof path, "%s", out);
	if ((svg = plot_svg(pd, PLOT_ALL, &len)) == NULL) {
		fprintf(stderr, "impfit: %s: nothing to draw\n", path);
		return (IMPFIT_EXIT_USAGE);
	}
	if ((fp = fopen(path, "w")) == NULL || fwrite(svg, 1, len, fp) != len ||
	    fclose(fp) != 0) {
		fprintf(stderr, "impfit: %s: %s\n", path, strerror(errno));
		free(svg);
		return (IMPFIT_EXIT_USAGE);
	}
	free(svg);
	return (0);
}

/* --simulate: the spectrum of c at v on stdout. */
static int
cmd_simulate(const struct impfit_circuit *c, const double *v, double fmin,
    double fmax, int points, double noise, unsigned long long seed)
{
	double	*f, *zr, *zi;
	int	 i;

	f = calloc(points, sizeof *f);
	zr = calloc(points, sizeof *zr);
	zi = calloc(points, sizeof *zi);
	if (f == NULL || zr == NULL || zi == NULL)
		cmd_die("%s", "out of memory");
	impfit_simulate(c, v, fmin, fmax, points, noise, seed, f, zr, zi);
	for (i = 0; i < points; i++)
		printf("%.10g\t%.10g\t%.10g\n", f[i], zr[i], zi[i]);
	free(f);
	free(zr);
	free(zi);
	return (0);
}

/* What to do beside (or instead of) a fit. */
struct cmd_xopts {
	int				linkk, drt, json;
	struct impfit_linkk_options	lo;
	struct impfit_drt_options		dro;
	const char			*plot;
};

/* --drt: the DRT of one spectrum into tau, gam.  0 or exit code. */
static int
cmd_drt(const struct impfit_spectrum *sp, const struct impfit_drt_options *o,
    int json, struct impfit_drt_result *r, double *tau, double *gam)
{
	double	*zr, *zi;
	int	 k, rc;

	zr = calloc(sp->n, sizeof *zr);
	zi = calloc(sp->n, sizeof *zi);
	if (zr == NULL || zi == NULL)
		cmd_die("%s", "out of memory");
	rc = impfit_drt(sp->freq, sp->zre, sp->zim, sp->n, o, r, tau, gam, zr, zi);
	if (rc != 0)
		fprintf(stderr, "impfit: spectrum %d: DRT failed\n", sp->number);
	else if (json) {
		printf("{\"spectrum\":%d,\"points\":%d,\"lambda\":", sp->number,
		    sp->n);
		cmd_json_num(r->lambda);
		printf(",\"R_inf\":");
		cmd_json_num(r->r_inf);
		printf(",\"L\":");
		cmd_json_num(r->l);
		printf(",\"R_pol\":");
		cmd_json_num(r->r_pol);
		printf(",\"tau\":");
		cmd_json_arr(tau, r->npoints);
		printf(",\"gamma\":");
		cmd_json_arr(gam, r->npoints);
		printf(",\"real_impedance\":");
		cmd_json_arr(zr, sp->n);
		printf(",\"imaginary_impedance\":");
		cmd_json_arr(zi, sp->n);
		printf(",\"drt_ms\":");
		cmd_json_num(r->seconds * 1e3);
		printf("}\n");
	} else {
		printf("spectrum %d: DRT, %d points, lambda %g: R_inf %.6g  L "
		    "%.6g  R_pol %.6g  drt_ms %.3f\n", sp->number, sp->n,
		    r->lambda, r->r_inf, r->l, r->r_pol, r->seconds * 1e3);
		printf("  %14s %14s\n", "tau_s", "gamma_ohm");
		for (k = 0; k < r->npoints; k++)
			printf("  %14.6g %14.6g\n", tau[k], gam[k]);
	}
	free(zr);
	free(zi);
	return (rc);
}

/*
 * After the fit of spectrum s (c and res, or none): its Lin-KK test and its
 * picture, as asked.  Returns 0 or an exit code.
 */
static int
cmd_extras(const struct impfit_spectrum *s, int ns, const struct impfit_circuit *c,
    const struct impfit_result *res, const struct cmd_xopts *xo)
{
	struct plot_data	 pd;
	struct impfit_drt_result	 dr;
	double			*rr, *ri, *tau = NULL, *gam = NULL;
	char			 title[160];
	int			 rc = 0, linkk = xo->linkk, json = xo->json;
	int			 ndrt = 0;
	const char		*plot = xo->plot;

	rr = calloc(s->n, sizeof *rr);
	ri = calloc(s->n, sizeof *ri);
	if (rr == NULL || ri == NULL)
		cmd_die("%s", "out of memory");
	if (linkk && (rc = cmd_linkk(s, &xo->lo, json, rr, ri)) != 0)
		linkk = 0;
	if (xo->drt) {
		ndrt = impfit_drt_npoints(s->n);
		tau = calloc(ndrt, sizeof *tau);
		gam = calloc(ndrt, sizeof *gam);
		if (tau == NULL || gam == NULL)
			cmd_die("%s", "out of memory");
		if (cmd_drt(s, &xo->dro, json, &dr, tau, gam) != 0) {
			ndrt = 0;
			rc = IMPFIT_EXIT_FIT;
		}
	}
	if (plot != NULL) {
		memset(&pd, 0, sizeof pd);
		snprintf(title, sizeof title, "spectrum %d, %d points", s->number,
		    s->n);
		pd.title = title;
		pd.n = s->n;
		pd.freq = s->freq;
		pd.zre = s->zre;
		pd.zim = s->zim;
		if (c != NULL && res->status != IMPFIT_DIVERGED) {
			pd.circuit = c;
			pd.params = res->params;
			pd.chi_square = res->chi_square;
		}
		if (linkk) {
			pd.lk_re = rr;
			pd.lk_im = ri;
		}
		pd.ndrt = ndrt;
		pd.tau = tau;
		pd.gamma = gam;
		if (cmd_plot(plot, &pd, s->number, ns) != 0)
			rc = IMPFIT_EXIT_USAGE;
	}
	free(rr);
	free(ri);
	free(tau);
	free(gam);
	return (rc);
}

/* ==== Files of any format (src/data) ================================== */

static const char	*cmd_format;	/* --format; NULL: detected */

/*
 * The spectra of file through the readers of src/data, as the engine's
 * struct impfit_spectrum (free with impfit_spectra_free).  Returns their count,
 * or -1 with the reader's message in err.
 */
static int
cmd_spectra_read(const char *file, struct impfit_spectrum **out, char *err,
    size_t errlen)
{
	struct dat_set		*ds;
	struct impfit_spectrum	*sp;
	int			 i, n;
	size_t			 sz;

	if (dat_read_file(file, cmd_format, NULL, &ds, err, errlen) !=
	    DAT_OK)
		return (-1);
	if ((sp = calloc((size_t)ds->nspec, sizeof *sp)) == NULL)
		cmd_die("%s", "out of memory");
	for (i = 0; i < ds->nspec; i++) {
		n = ds->spec[i].n;
		sz = (size_t)n * sizeof(double);
		sp[i].n = n;
		sp[i].number = ds->spec[i].number;
		if ((sp[i].freq = malloc(sz)) == NULL ||
		    (sp[i].zre = malloc(sz)) == NULL ||
		    (sp[i].zim = malloc(sz)) == NULL)
			cmd_die("%s", "out of memory");
		memcpy(sp[i].freq, ds->spec[i].freq, sz);
		memcpy(sp[i].zre, ds->spec[i].zre, sz);
		memcpy(sp[i].zim, ds->spec[i].zim, sz);
	}
	n = ds->nspec;
	dat_free(ds);
	*out = sp;
	return (n);
}

/* The shortest text that reads back as v (dtoa_shortest), at o. */
static char *
cmd_num(char *o, double v)
{
	char		 d[24] = { 0 };
	uint64_t	 m;
	int		 nd = 0, x, i;

	if (v == 0)
		return (o + sprintf(o, "0"));
	if (v < 0)
		*o++ = '-';
	dtoa_shortest(fabs(v), &m, &x);
	for (i = sizeof d; m > 0; m /= 10)
		d[--i] = (char)('0' + m % 10), nd++;
	memmove(d, d + sizeof d - nd, (size_t)nd);
	x += nd - 1;		/* v = d.ddd x 10^x */
	if (x < -5 || x > 15) {
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		return (o + sprintf(o, "e%d", x));
	}
	if (x < 0) {
		*o++ = '0';
		*o++ = '.';
		for (i = x + 1; i < 0; i++)
			*o++ = '0';
		memcpy(o, d, (size_t)nd);
		return (o + nd);
	}
	for (i = 0; i < nd || i <= x; i++) {
		if (i == x + 1)
			*o++ = '.';
		*o++ = i < nd ? d[i] : '0';
	}
	return (o);
}

/* --read FILE: what the readers read, as CSV on stdout. */
static int
cmd_read_csv(const char *file)
{
	struct dat_set	*ds;
	char		 err[512], line[160], *o;
	int		 i, j;

	if (dat_read_file(file, cmd_format, NULL, &ds, err, sizeof err) !=
	    DAT_OK) {
		fprintf(stderr, "impfit: %s\n", err);
		return (IMPFIT_EXIT_USAGE);
	}
	printf("Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n");
	for (i = 0; i < ds->nspec; i++)
		for (j = 0; j < ds->spec[i].n; j++) {
			o = cmd_num(line, ds->spec[i].freq[j]);
			*o++ = ',';
			o = cmd_num(o, ds->spec[i].zre[j]);
			*o++ = ',';
			o = cmd_num(o, ds->spec[i].zim[j]);
			o += sprintf(o, ",%d\n", ds->spec[i].number);
			fwrite(line, 1, (size_t)(o - line), stdout);
		}
	fprintf(stderr, "impfit: %s: %s, %d spectra\n", file, ds->format,
	    ds->nspec);
	dat_free(ds);
	return (fflush(stdout) == 0 ? 0 : IMPFIT_EXIT_USAGE);
}

/* No circuit: --linkk and/or --plot of the spectra of file. */
static int
cmd_nofit(const char *file, const struct cmd_xopts *xo)
{
	struct impfit_spectrum	*sp;
	char			 err[256];
	int			 ns, i, r, rc = 0;

	if ((ns = cmd_spectra_read(file, &sp, err, sizeof err)) < 0) {
		fprintf(stderr, "impfit: %s\n", err);
		return (IMPFIT_EXIT_USAGE);
	}
	for (i = 0; i < ns; i++)
		if ((r = cmd_extras(&sp[i], ns, NULL, NULL, xo)) != 0 &&
		    rc == 0)
			rc = r;
	fflush(stdout);
	impfit_spectra_free(sp, ns);
	return (rc);
}

int
main(int argc, char **argv)
{
	struct impfit_options	 o;
	struct impfit_result	 res;
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_spectrum	*sp;
	const char		*code = NULL, *file = NULL, *sim = NULL;
	char			 err[256];
	double			 v[IMPFIT_MAX_PARAMS], fmin = 0.1, fmax = 1e5;
	double			 noise = 0, d, lo[IMPFIT_MAX_PARAMS];
	double			 hi[IMPFIT_MAX_PARAMS];
	unsigned long long	 seed = 0;
	int			 nv = 0, json = 0, points = 50, ch, i, i2, ns, np;
	int			 maxn = 0, rc = 0, nfree, readonly = 0;
	struct cmd_xopts	 xo;

	impfit_options_default(&o);
	memset(&xo, 0, sizeof xo);
	impfit_linkk_options_default(&xo.lo);
	impfit_drt_options_default(&xo.dro);
	while ((ch = getopt_long(argc, argv, "c:f:v:m:w:t:h", cmd_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			code = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'v':
			cmd_values(optarg, v, &nv);
			break;
		case 'm':
			if ((i = impfit_method_parse(optarg)) < 0)
				cmd_die("unknown method '%s'", optarg);
			o.method = i;
			break;
		case 'w':
			if ((i = impfit_weighting_parse(optarg)) < 0)
				cmd_die("unknown weighting '%s'", optarg);
			o.weighting = i;
			break;
		case OPT_MAXIT:
			d = cmd_number("--max-iterations", optarg);
			if (d < 1 || d > 1e8)
				cmd_die("--max-iterations: bad value '%s'",
				    optarg);
			o.max_iterations = d;
			break;
		case 't':
			d = cmd_number("--timeout", optarg);
			if (d <= 0 || d > 1e9)
				cmd_die("--timeout: bad value '%s'", optarg);
			o.max_seconds = d;
			break;
		case OPT_RESTARTS:
			d = cmd_number("--restarts", optarg);
			if (d < 0 || d > 1000)
				cmd_die("--restarts: bad value '%s'", optarg);
			o.restarts = d;
			break;
		case OPT_LINKK:
			xo.linkk = 1;
			break;
		case OPT_LK_C:
			xo.lo.c = cmd_number("--c", optarg);
			if (xo.lo.c >= 1)
				cmd_die("--c: bad value '%s'", optarg);
			break;
		case OPT_LK_MAXM:
			d = cmd_number("--max-m", optarg);
			if (d < 1 || d > IMPFIT_LINKK_MAX_M || d != (int)d)
				cmd_die("--max-m: bad value '%s' (1 .. 200)",
				    optarg);
			xo.lo.max_m = d;
			break;
		case OPT_LK_TYPE:
			if ((i = impfit_linkk_type_parse(optarg)) < 0)
				cmd_die("unknown --fit-type '%s'", optarg);
			xo.lo.type = i;
			break;
		case OPT_DRT:
			xo.drt = 1;
			break;
		case OPT_LAMBDA:
			d = cmd_number("--lambda", optarg);
			if (!(d > 0) || d > 1e6)
				cmd_die("--lambda: bad value '%s'", optarg);
			xo.dro.lambda = d;
			break;
		case OPT_PLOT:
			xo.plot = optarg;
			break;
		case OPT_LK_CAP:
			xo.lo.add_cap = 1;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_FIX:
		case OPT_BOUND:
			cmd_cons_add(optarg, ch == OPT_FIX);
			break;
		case OPT_SIMULATE:
			sim = optarg;
			break;
		case OPT_FMIN:
			fmin = cmd_number("--fmin", optarg);
			break;
		case OPT_FMAX:
			fmax = cmd_number("--fmax", optarg);
			break;
		case OPT_POINTS:
			d = cmd_number("--points", optarg);
			if (d < 1 || d > 1e7)
				cmd_die("--points: bad value '%s'", optarg);
			points = d;
			break;
		case OPT_NOISE:
			noise = cmd_number("--noise", optarg);
			break;
		case OPT_SEED:
			seed = cmd_number("--seed", optarg);
			break;
		case OPT_READ:
			file = optarg;
			readonly = 1;
			break;
		case OPT_FORMAT:
			cmd_format = optarg;
			break;
		case 'h':
		case OPT_HELP:
			cmd_usage(stdout);
			return (0);
		default:
			cmd_usage(stderr);
			return (IMPFIT_EXIT_USAGE);
		}
	}
	if (optind < argc)
		cmd_die("unexpected argument '%s'", argv[optind]);
	if (readonly)
		return (cmd_read_csv(file));
	if (sim != NULL)
		code = sim;
	if ((code == NULL && !xo.linkk && !xo.drt && xo.plot == NULL) ||
	    (sim == NULL && file == NULL)) {
		cmd_usage(stderr);
		return (IMPFIT_EXIT_USAGE);
	}
	xo.json = json;
	if (code == NULL)
		return (cmd_nofit(file, &xo));
	if ((c = impfit_circuit_parse(code, err, sizeof err)) == NULL) {
		fprintf(stderr, "impfit: circuit '%s': %s\n", code, err);
		return (IMPFIT_EXIT_USAGE);
	}
	np = impfit_circuit_nparams(c);
	if ((nv > 0 || sim != NULL) && nv != np) {
		fprintf(stderr, "impfit: %s has %d parameters, -v gave %d\n",
		    impfit_circuit_code(c), np, nv);
		impfit_circuit_free(c);
		return (IMPFIT_EXIT_USAGE);
	}
	if (sim != NULL) {
		for (i = 0; i < np; i++)
			if (!(v[i] > 0) || (impfit_circuit_param_is_exponent(c,
			    i) && v[i] > 1))
				cmd_die("-v: value of %s out of range",
				    impfit_circuit_param_name(c, i));
		if (!(fmin > 0) || !(fmax > 0))
			cmd_die("%s", "--fmin and --fmax must be positive");
		rc = cmd_simulate(c, v, fmin, fmax, points, noise, seed);
		impfit_circuit_free(c);
		return (rc);
	}
	if (nv > 0)
		o.init = v;
	nfree = cmd_cons_apply(c, lo, hi);
	o.lower = lo;
	o.upper = hi;

	if ((ns = cmd_spectra_read(file, &sp, err, sizeof err)) < 0) {
		fprintf(stderr, "impfit: %s\n", err);
		impfit_circuit_free(c);
		return (IMPFIT_EXIT_USAGE);
	}
	for (i = 0; i < ns; i++)
		if (sp[i].n > maxn)
			maxn = sp[i].n;
	if ((ws = impfit_workspace_new(maxn, np)) == NULL)
		cmd_die("%s", "out of memory");
	for (i = 0; i < ns; i++) {
		impfit_run(c, sp[i].freq, sp[i].zre, sp[i].zim, sp[i].n, &o, ws,
		    &res);
		/* number: Spectrum_Number of the CSV layout, else 0 */
		if (json)
			cmd_print_json(c, &o, &res, &sp[i], nfree);
		else
			cmd_print_text(c, &o, &res, sp[i].number, sp[i].n);
		if (res.status == IMPFIT_BAD_INPUT) {
			fprintf(stderr, "impfit: %s: spectrum %d: %s\n", file,
			    sp[i].number, res.error);
			rc = IMPFIT_EXIT_USAGE;
			continue;
		} else if (res.status == IMPFIT_DIVERGED && rc == 0)
			rc = IMPFIT_EXIT_FIT;
		if ((i2 = cmd_extras(&sp[i], ns, c, &res, &xo)) != 0 &&
		    rc == 0)
			rc = i2;
	}
	fflush(stdout);
	impfit_workspace_free(ws);
	impfit_spectra_free(sp, ns);
	impfit_circuit_free(c);
	return (rc);
}
