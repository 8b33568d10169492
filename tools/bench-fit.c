/*
 * impcore - bench-fit: speed and quality of the fitting engine against the
 * SciPy reference (reffit.py) on the same synthetic spectra.
 *
 * For each benchmark circuit: a 50-point spectrum (-p) from 100 kHz down to
 * 0.1 Hz with 1% noise (seeded), fitted from the automatic start many times
 * on one core (median microseconds), and by `reffit.py FILE CODE --repeat N`
 * (its median seconds).  Prints one table row per circuit: the engine's
 * starts (local runs begun), iterations and evaluations of one fit.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "impfit.h"

static const struct bench_case {
	const char	*code;
	double		 p[8];
} bench_cases[] = {
	{ "R(CR)",	 { 10, 1e-5, 100 } },
	{ "R(QR)",	 { 10, 1e-4, 0.85, 100 } },
	{ "R(Q(R(QR)))", { 10, 1e-5, 0.9, 50, 1e-3, 0.8, 200 } },
	{ "R(RC)W",	 { 10, 100, 1e-5, 1e-2 } },
	{ "R(RC)O",	 { 10, 100, 1e-5, 1e-2, 1 } },
	{ "R(RC)T",	 { 10, 100, 1e-5, 1e-2, 1 } },
	{ "R(RG)",	 { 10, 100, 1e-3, 10 } },
	{ "RL(QR)",	 { 10, 1e-6, 1e-4, 0.85, 100 } },
	/* the server's load (impload, issue 12): -c 'R(RC)' -p 23 */
	{ "R(RC)",	 { 10, 100, 1e-5 } },
};
#define BENCH_NCASES	(sizeof bench_cases / sizeof bench_cases[0])
#define BENCH_POINTS	50
#define BENCH_MAXPTS	1024

static int
bench_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* Median seconds of reffit.py on file, and its chi-square; -1 on failure. */
static int
bench_reffit(const char *reffit, const char *file, const char *code,
    int repeat, double *sec, double *chi2)
{
	char	 cmd[1024], out[4096], *s;
	FILE	*fp;
	size_t	 n;

	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s' --repeat %d",
	    reffit, file, code, repeat);
	if ((fp = popen(cmd, "r")) == NULL)
		return (-1);
	n = fread(out, 1, sizeof out - 1, fp);
	out[n] = '\0';
	if (pclose(fp) != 0)
		return (-1);
	if ((s = strstr(out, "\"chi_square\": ")) == NULL)
		return (-1);
	*chi2 = strtod(s + 14, NULL);
	if ((s = strstr(out, "\"seconds\": ")) == NULL)
		return (-1);
	*sec = strtod(s + 11, NULL);
	return (0);
}

static void
bench_usage(void)
{
	fprintf(stderr, "usage: bench-fit [-n fits] [-r reffit-repeats] "
	    "[-R reffit.py] [-x] [-c code] [-p points]\n"
	    "  -x: engine only (no reffit.py)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const struct bench_case	*bc;
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res;
	const char		*reffit = getenv("IMP_REFFIT"), *only = NULL;
	char			 err[256], path[] = "/tmp/bench-fit.XXXXXX";
	double			 f[BENCH_MAXPTS], zr[BENCH_MAXPTS];
	double			 zi[BENCH_MAXPTS], *t, med, rsec, rchi;
	size_t			 k;
	int			 nfit = 300, nref = 3, noref = 0, ch, i, fd;
	int			 npts = BENCH_POINTS;
	int			 worst = 0;
	FILE			*fp;

	if (reffit == NULL)
		reffit = "../shared/tools/reffit.py";
	while ((ch = getopt(argc, argv, "n:r:R:xc:p:")) != -1) {
		switch (ch) {
		case 'n':
			nfit = atoi(optarg);
			break;
		case 'r':
			nref = atoi(optarg);
			break;
		case 'R':
			reffit = optarg;
			break;
		case 'x':
			noref = 1;
			break;
		case 'c':
			only = optarg;
			break;
		case 'p':
			npts = atoi(optarg);
			break;
		default:
			bench_usage();
		}
	}
	if (nfit < 1 || nref < 1 || npts < 8 || npts > BENCH_MAXPTS)
		bench_usage();
	if ((t = calloc(nfit, sizeof *t)) == NULL)
		return (1);
	printf("%-12s %9s %8s %6s %5s %6s %10s %8s %14s %14s %s\n",
	    "circuit", "us/fit", "fits/s", "starts", "iters", "evals",
	    "reffit_ms", "speedup", "chi2", "chi2_reffit", "status");
	for (k = 0; k < BENCH_NCASES; k++) {
		bc = &bench_cases[k];
		if (only != NULL && strcmp(only, bc->code) != 0)
			continue;
		if ((c = impfit_circuit_parse(bc->code, err, sizeof err)) == NULL) {
			fprintf(stderr, "bench-fit: %s: %s\n", bc->code, err);
			return (1);
		}
		impfit_simulate(c, bc->p, 0.1, 1e5, npts, 0.01, k + 1, f,
		    zr, zi);
		ws = impfit_workspace_new(npts, impfit_circuit_nparams(c));
		impfit_options_default(&o);
		for (i = 0; i < nfit; i++) {
			impfit_run(c, f, zr, zi, npts, &o, ws, &res);
			t[i] = res.seconds;
		}
		qsort(t, nfit, sizeof *t, bench_cmp);
		med = t[nfit / 2];

		rsec = rchi = NAN;
		if (!noref) {
			if ((fd = mkstemp(path)) < 0 ||
			    (fp = fdopen(fd, "w")) == NULL) {
				perror("bench-fit: mkstemp");
				return (1);
			}
			/* %.17g: reffit must see exactly our data. */
			for (i = 0; i < npts; i++)
				fprintf(fp, "%.17g\t%.17g\t%.17g\n", f[i], zr[i],
				    zi[i]);
			fclose(fp);
			if (bench_reffit(reffit, path, bc->code, nref, &rsec,
			    &rchi) != 0)
				fprintf(stderr, "bench-fit: reffit.py failed on "
				    "%s\n", bc->code);
			unlink(path);
			strcpy(path, "/tmp/bench-fit.XXXXXX");
		}
		printf("%-12s %9.1f %8.0f %6d %5d %6d %10.2f %8.0f %14.8g "
		    "%14.8g %s%s\n", bc->code, med * 1e6, 1 / med, res.starts,
		    res.iterations, res.evaluations, rsec * 1e3,
		    rsec / med,
		    res.chi_square, rchi, impfit_status_name(res.status),
		    res.chi_square > rchi * 1.0001 ? " WORSE" : "");
		fflush(stdout);
		if (res.chi_square > rchi * 1.0001 || rsec / med < 200)
			worst = 1;
		impfit_workspace_free(ws);
		impfit_circuit_free(c);
	}
	free(t);
	return (noref ? 0 : worst);
}
