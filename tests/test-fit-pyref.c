/*
 * impcore - tests/test-fit-pyref.c: every impedance.py element, and three
 * circuits of them, evaluated by the engine against the impedances that
 * impedance.py itself computed (tests/data/impedancepy/elements-ref.txt,
 * see tests/data/README): equal to 1e-10 of |Z| at every frequency.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "impfit.h"
#include "test-fit.h"

#define MAXF	64

static int ncircuits;

/* Compare one circuit's block; returns the worst relative error. */
static double
check(const char *code, const double *p, int np, const double *f,
    const double *zr, const double *zi, int n)
{
	struct impfit_circuit	*c;
	double			 mr[MAXF], mi[MAXF], e, worst = 0;
	char			 err[128];
	int			 k;

	c = impfit_circuit_parse(code, err, sizeof err);
	CHECK(c != NULL, "%s: %s", code, err);
	if (c == NULL)
		return (INFINITY);
	CHECK(impfit_circuit_nparams(c) == np, "%s: %d parameters, file has %d",
	    code, impfit_circuit_nparams(c), np);
	CHECK(strcmp(impfit_circuit_code(c), code) == 0, "%s: canonical %s",
	    code, impfit_circuit_code(c));
	impfit_circuit_eval(c, p, f, n, mr, mi);
	for (k = 0; k < n; k++) {
		e = hypot(mr[k] - zr[k], mi[k] - zi[k]) / hypot(zr[k], zi[k]);
		CHECK(e <= 1e-10, "%s at %g Hz: %.17g%+.17gj, impedance.py "
		    "%.17g%+.17gj (%.2g relative)", code, f[k], mr[k], mi[k],
		    zr[k], zi[k], e);
		if (!(e <= worst))
			worst = e;
	}
	impfit_circuit_free(c);
	ncircuits++;
	return (worst);
}

int
main(void)
{
	const char	*srcdir = getenv("srcdir");
	char		 path[1024], line[1024], code[256], *s, *end;
	double		 p[64], f[MAXF], zr[MAXF], zi[MAXF], w, worst = 0;
	int		 np = 0, n = 0, i, have = 0;
	FILE		*fp;

	snprintf(path, sizeof path, "%s/tests/data/impedancepy/"
	    "elements-ref.txt", srcdir != NULL ? srcdir : "..");
	fp = fopen(path, "r");
	CHECK(fp != NULL, "cannot open %s", path);
	if (fp == NULL)
		return (test_done("test-fit-pyref"));
	for (;;) {
		s = fgets(line, sizeof line, fp);
		if (s == NULL || strncmp(line, "circuit ", 8) == 0) {
			if (have) {
				w = check(code, p, np, f, zr, zi, n);
				printf("%-34s worst %.2g\n", code, w);
				if (!(w <= worst))
					worst = w;
			}
			if (s == NULL)
				break;
			if (sscanf(line, "circuit %255s %d", code, &np) != 2 ||
			    np < 1 || np > 64) {
				CHECK(0, "bad line %s", line);
				break;
			}
			s = strchr(strchr(line + 8, ' ') + 1, ' ');
			for (i = 0; i < np; i++)
				p[i] = strtod(s, &s);
			n = 0;
			have = 1;
			continue;
		}
		if (line[0] == '#' || !have || n >= MAXF)
			continue;
		f[n] = strtod(line, &end);
		zr[n] = strtod(end, &end);
		zi[n] = strtod(end, &end);
		n++;
	}
	fclose(fp);
	/* 14 elements with 22 parameter sets, 3 circuits */
	CHECK(ncircuits == 25, "%d circuits compared", ncircuits);
	printf("worst relative difference %.2g\n", worst);
	return (test_done("test-fit-pyref"));
}
