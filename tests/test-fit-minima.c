/*
 * impcore - tests/test-fit-minima.c: the automatic multi-start finds the
 * global minimum (issue 19).  Every measured spectrum in tests/data (and the
 * ASTM dummy cell when ../shared/data has it) and synthetic hard cases (two
 * arcs with close time constants, a CPE with n near 0.5, a Warburg tail,
 * noise-free spectra, 5% noise) are fitted with the default options; the
 * chi-square must be within 1% of the best one known for the case.
 *
 * The best known values below come from `test-fit-minima -s`: per case the
 * minimum over the default fit, the most restarts the engine allows, and
 * 2 x 60 fits from random initial values (around the default fit and
 * log-uniform over the whole domain), each with those restarts (10 s
 * here); reffit.py --starts 30 finds none lower on the measured spectra.
 * A fit that beats the table by more than 1e-6 says so: the table
 * is then stale.  test-fit-minima -S N checks more seeds (slow).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impfit.h"
#include "fit/fit_priv.h"
#include "test-fit.h"

#define NPTS		50
#define MAXPTS		4096
#define SEARCH_INITS	60

/* One case: a data file (relative to tests/data or ../shared/data), or a
 * spectrum simulated from p with noise and seed as bench-fit makes them. */
static const struct mcase {
	const char	*file;
	const char	*code;
	double		 p[8];
	double		 noise;
	int		 seed;
	double		 best;	/* best chi-square known (test-fit-minima -s) */
} cases[] = {
	/* the shared real spectra, with t-reffit-data's circuits */
	{ "impedancepy/Circuit1_EIS_1.3col.txt", "R(QR)(QR)", {0}, 0, 0,
	    5.870987e-05 },
	{ "impedancepy/Circuit1_EIS_2.3col.txt", "R(QR)(QR)", {0}, 0, 0,
	    5.739685e-05 },
	{ "impedancepy/Circuit2_EIS_1.3col.txt", "R(QR)(QR)", {0}, 0, 0,
	    7.097418e-05 },
	{ "impedancepy/Circuit2_EIS_2.3col.txt", "R(QR)(QR)", {0}, 0, 0,
	    6.998596e-05 },
	{ "impedancepy/Circuit3_EIS_1.3col.txt", "R(QR)W", {0}, 0, 0,
	    9.277271e-05 },
	{ "impedancepy/Circuit3_EIS_2.3col.txt", "R(QR)W", {0}, 0, 0,
	    9.444085e-05 },
	{ "impedancepy/exampleData.3col.txt", "R(RC)(C(RO))", {0}, 0, 0,
	    0.0138911 },
	{ "impedancepy/exampleDataAutolab.3col.txt", "RL(QR)(QR)", {0}, 0, 0,
	    0.0004253326 },
	{ "impedancepy/exampleDataBioLogic.3col.txt", "R(QR)(QR)", {0}, 0, 0,
	    0.0007638924 },
	{ "impedancepy/exampleDataCHInstruments.3col.txt", "R(QR)(QR)", {0},
	    0, 0, 0.0009687428 },
	{ "impedancepy/exampleDataGamry.3col.txt", "RL(QR)(QR)", {0}, 0, 0,
	    0.003140299 },
	{ "impedancepy/exampleDataGamryABORT.3col.txt", "RL(QR)(QR)", {0}, 0,
	    0, 0.003140299 },
	{ "impedancepy/exampleDataParstat.3col.txt", "RL(QR)(QR)", {0}, 0, 0,
	    0.0467852 },
	{ "impedancepy/exampleDataPowersuite.3col.txt", "RL(QR)(QR)", {0}, 0,
	    0, 0.1513359 },
	{ "impedancepy/exampleDataVersaStudio.3col.txt", "R(QR)(QR)", {0}, 0,
	    0, 0.001285473 },
	{ "impedancepy/exampleDataZPlot.3col.txt", "RL(QR)(QR)", {0}, 0, 0,
	    2.327776e-06 },
	{ "impedancepy/exampleDataZPlot_noComments.3col.txt", "R(QR)(QR)",
	    {0}, 0, 0, 0.0001320708 },
	{ "impedancepy/exampleData_ignoreBelowX.3col.txt", "R(RC)(C(RO))",
	    {0}, 0, 0, 0.000311714 },
	{ "astm_dummy_cell.txt", "R(QR)(QR)", {0}, 0, 0, 0.0003449555 },
	/* the benchmark's two (tools/bench-fit.c: seeds 2 and 3) */
	{ NULL, "R(QR)", { 10, 1e-4, 0.85, 100 }, 0.01, 2, 0.0002189271 },
	{ NULL, "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 }, 0.01,
	    3, 0.0001892495 },
	/* two arcs with close time constants (6 and 16 ms; 50 and 160 us;
	 * 6 and 10 ms, where only a random start finds the best) */
	{ NULL, "R(QR)(QR)", { 10, 1e-4, 0.9, 100, 4e-4, 0.9, 60 }, 0.01, 4,
	    0.0001745551 },
	{ NULL, "R(RC)(RC)", { 10, 50, 1e-6, 80, 2e-6 }, 0.01, 5,
	    0.0001736929 },
	{ NULL, "R(Q(R(QR)))", { 10, 1e-4, 0.9, 100, 4e-4, 0.9, 60 }, 0.01,
	    6, 0.000219358 },
	{ NULL, "R(QR)(QR)", { 10, 1e-4, 0.9, 100, 2e-4, 0.85, 100 }, 0.01,
	    101, 0.0002316113 },
	/* a CPE with n near 0.5 */
	{ NULL, "R(QR)", { 10, 1e-3, 0.52, 100 }, 0.01, 7, 0.0001859774 },
	{ NULL, "R(QR)(QR)", { 10, 1e-5, 0.55, 100, 1e-3, 0.8, 200 }, 0.01,
	    8, 0.0001347031 },
	/* a Warburg tail */
	{ NULL, "R(QR)W", { 10, 1e-5, 0.9, 100, 1e-2 }, 0.01, 9, 0.0001806007 },
	{ NULL, "R(RC)W", { 10, 100, 1e-5, 1e-2 }, 0.01, 10, 0.0001611071 },
	/* noise-free */
	{ NULL, "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 }, 0, 0,
	    0 },
	{ NULL, "R(QR)(QR)", { 10, 1e-5, 0.9, 100, 1e-3, 0.8, 200 }, 0, 0,
	    0 },
	{ NULL, "R(RC)W", { 10, 100, 1e-5, 1e-2 }, 0, 0, 0 },
	/* 5% noise */
	{ NULL, "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 }, 0.05,
	    11, 0.004317916 },
	{ NULL, "R(QR)(QR)", { 10, 1e-5, 0.9, 100, 1e-3, 0.8, 200 }, 0.05,
	    12, 0.00513107 },
	{ NULL, "R(QR)", { 10, 1e-4, 0.85, 100 }, 0.05, 13, 0.003526758 },
};
#define NCASES	(sizeof cases / sizeof cases[0])

static double	f[MAXPTS], zr[MAXPTS], zi[MAXPTS];

/* The spectrum of case i in fq, re, im; its point count, 0 when absent. */
static int
load_case(const struct mcase *mc, const struct impfit_circuit *c, double *fq,
    double *re, double *im)
{
	struct impfit_spectrum	*sp;
	const char		*dir;
	char			 path[1024], err[256];
	int			 n, k;

	if (mc->file == NULL) {
		impfit_simulate(c, mc->p, 0.1, 1e5, NPTS, mc->noise, mc->seed,
		    fq, re, im);
		return (NPTS);
	}
	if (strncmp(mc->file, "impedancepy/", 12) == 0) {
		dir = getenv("IMP_SRCDIR");
		snprintf(path, sizeof path, "%s/tests/data/%s",
		    dir != NULL ? dir : "..", mc->file);
	} else {
		dir = getenv("IMP_SHARED");
		snprintf(path, sizeof path, "%s/data/%s",
		    dir != NULL ? dir : "../../shared", mc->file);
	}
	if (impfit_spectra_read(path, &sp, err, sizeof err) < 1)
		return (0);
	n = sp[0].n < MAXPTS ? sp[0].n : MAXPTS;
	for (k = 0; k < n; k++) {
		fq[k] = sp[0].freq[k];
		re[k] = sp[0].zre[k];
		im[k] = sp[0].zim[k];
	}
	impfit_spectra_free(sp, 1);
	return (n);
}

/*
 * The lowest chi-square that many starts find: the most restarts, from the
 * automatic start and from random initial values (seeded).
 */
static double
search_best(const struct impfit_circuit *c, const double *fq, const double *re,
    const double *im, int n, struct impfit_workspace *ws, const double *dflt)
{
	struct impfit_options	 o;
	struct impfit_result	 res;
	struct fit_rng		 rng;
	double			 init[IMPFIT_MAX_PARAMS], best;
	int			 np = impfit_circuit_nparams(c), t, i;

	impfit_options_default(&o);
	o.restarts = 1000;	/* the engine caps it */
	impfit_run(c, fq, re, im, n, &o, ws, &res);
	best = res.chi_square;
	fit_rng_seed(&rng, 12345);
	o.init = init;
	for (t = 0; t < 2 * SEARCH_INITS; t++) {
		for (i = 0; i < np; i++) {
			if (impfit_circuit_param_is_exponent(c, i))
				init[i] = 0.3 + 0.7 * fit_rng_uniform(&rng);
			else if (t < SEARCH_INITS)
				init[i] = dflt[i] * pow(10, 4 *
				    fit_rng_uniform(&rng) - 2);
			else
				init[i] = pow(10, 14 * fit_rng_uniform(&rng) -
				    9);
		}
		impfit_run(c, fq, re, im, n, &o, ws, &res);
		if (res.chi_square < best)
			best = res.chi_square;
	}
	return (best);
}

/*
 * test-fit-minima -S N: the hard circuits of the table, each with 0.3%, 1%
 * and 5% noise and N seeds (from 100), fitted by default and searched as
 * by -s (fewer random starts); prints the misses and their count.  Too slow
 * for make check; run it when the multi-start strategy changes.
 */
static int
stress(int nseed)
{
	static const double	 noise[] = { 0.003, 0.01, 0.05 };
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res, r2;
	struct fit_rng		 rng;
	double			 init[IMPFIT_MAX_PARAMS], best;
	char			 err[256];
	size_t			 i;
	int			 ni, sd, t, k, np, miss = 0, tot = 0;

	for (i = 0; i < NCASES; i++) {
		if (cases[i].file != NULL || cases[i].noise != 0.01)
			continue;
		c = impfit_circuit_parse(cases[i].code, err, sizeof err);
		np = impfit_circuit_nparams(c);
		ws = impfit_workspace_new(NPTS, np);
		for (ni = 0; ni < 3; ni++)
			for (sd = 100; sd < 100 + nseed; sd++) {
				impfit_simulate(c, cases[i].p, 0.1, 1e5, NPTS,
				    noise[ni], sd, f, zr, zi);
				impfit_options_default(&o);
				impfit_run(c, f, zr, zi, NPTS, &o, ws, &res);
				o.restarts = 1000;
				impfit_run(c, f, zr, zi, NPTS, &o, ws, &r2);
				best = fmin(res.chi_square, r2.chi_square);
				fit_rng_seed(&rng, 7);
				o.init = init;
				for (t = 0; t < 20; t++) {
					for (k = 0; k < np; k++)
						init[k] =
						    impfit_circuit_param_is_exponent(
						    c, k) ? 0.3 + 0.7 *
						    fit_rng_uniform(&rng) :
						    res.params[k] * pow(10, 4 *
						    fit_rng_uniform(&rng) - 2);
					impfit_run(c, f, zr, zi, NPTS, &o, ws, &r2);
					best = fmin(best, r2.chi_square);
				}
				tot++;
				if (res.chi_square > best * 1.01 + 1e-20) {
					miss++;
					printf("MISSED %s noise %g seed %d: chi2 "
					    "%.6e, best %.6e (%d starts)\n",
					    cases[i].code, noise[ni], sd,
					    res.chi_square, best, res.starts);
				}
			}
		impfit_workspace_free(ws);
		impfit_circuit_free(c);
	}
	printf("%d of %d missed\n", miss, tot);
	return (miss != 0);
}

/*
 * A start whose answer has a parameter run off to infinity does not win
 * (issue 19): the 1024-point R(QR)(WC)(LO)(TG)F spectrum of t-srv-fitthread
 * ended "diverged" with finite answers from other starts at hand.
 */
static void
test_runaway(void)
{
	static const double	 p[] = { 10, 1e-5, 0.9, 100, 1e-3, 1e-6,
	    1e-7, 1e-2, 1, 1e-2, 1, 1e-2, 10, 1e-2, 10, 0.8 };
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_result	 res;
	char			 err[256];
	int			 i;

	c = impfit_circuit_parse("R(QR)(WC)(LO)(TG)F", err, sizeof err);
	ws = impfit_workspace_new(1024, impfit_circuit_nparams(c));
	impfit_simulate(c, p, 0.01, 1e6, 1024, 0.01, 7, f, zr, zi);
	impfit_run(c, f, zr, zi, 1024, NULL, ws, &res);
	CHECK(res.status == IMPFIT_OK || res.status == IMPFIT_MAX_ITERATIONS,
	    "R(QR)(WC)(LO)(TG)F, 1024 points: %s, chi2 %g",
	    impfit_status_name(res.status), res.chi_square);
	for (i = 0; i < res.nparams; i++)
		CHECK(fabs(res.params[i]) <= 1e200, "%s = %g",
		    impfit_circuit_param_name(c, i), res.params[i]);
	printf("R(QR)(WC)(LO)(TG)F, 1024 points: %s, chi2 %.6e, %d starts, "
	    "%d iterations\n", impfit_status_name(res.status), res.chi_square,
	    res.starts, res.iterations);
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

int
main(int argc, char **argv)
{
	const struct mcase	*mc;
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res;
	char			 err[256];
	double			 best;
	int			 search = argc > 1 && strcmp(argv[1], "-s") == 0;
	int			 n;
	size_t			 i;

	if (argc > 2 && strcmp(argv[1], "-S") == 0)
		return (stress(atoi(argv[2])));
	for (i = 0; i < NCASES; i++) {
		mc = &cases[i];
		c = impfit_circuit_parse(mc->code, err, sizeof err);
		CHECK(c != NULL, "%s: %s", mc->code, err);
		if (c == NULL)
			continue;
		if ((n = load_case(mc, c, f, zr, zi)) == 0) {
			/* tests/data travels with the repository: only the
			 * files of ../shared may be missing (a lone clone) */
			CHECK(strncmp(mc->file, "impedancepy/", 12) != 0,
			    "%s: not found in tests/data", mc->file);
			printf("# %s: not found, left out\n", mc->file);
			impfit_circuit_free(c);
			continue;
		}
		ws = impfit_workspace_new(n, impfit_circuit_nparams(c));
		impfit_options_default(&o);
		impfit_run(c, f, zr, zi, n, &o, ws, &res);
		if (search) {
			best = search_best(c, f, zr, zi, n, ws, res.params);
			printf("%-48s %-13s %5.2f %2d best %.6e default %.6e "
			    "%s\n", mc->file != NULL ? mc->file : "-",
			    mc->code, mc->noise, mc->seed, best,
			    res.chi_square, res.chi_square > best * 1.01 +
			    1e-20 ? "MISSED" : "");
		} else {
			/* Noise-free: the minimum is 0 to rounding. */
			CHECK(res.chi_square <= mc->best * 1.01 + 1e-20,
			    "%s %s (noise %g seed %d): chi2 %.6e > 1.01 x "
			    "best known %.6e", mc->file != NULL ? mc->file :
			    "simulated", mc->code, mc->noise, mc->seed,
			    res.chi_square, mc->best);
			printf("%-48s %-13s chi2 %.6e best %.6e, %d starts, "
			    "%d iterations, %d evaluations%s\n",
			    mc->file != NULL ? mc->file : "simulated",
			    mc->code, res.chi_square, mc->best, res.starts,
			    res.iterations, res.evaluations,
			    res.chi_square < mc->best * (1 - 1e-6) - 1e-20 ?
			    " (below the table: stale?)" : "");
		}
		impfit_workspace_free(ws);
		impfit_circuit_free(c);
	}
	if (!search)
		test_runaway();
	return (test_done("test-fit-minima"));
}
