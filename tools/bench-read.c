/*
 * impcore - bench-read: the time dat_read takes on a 10 MB BioLogic .mpt
 * (the bar: under 50 ms), or on the files given as arguments.
 *
 * The made-up file has EC-Lab's 18 columns in its %.7E style, 50 points a
 * loop, "cycle number" counting the loops.  Prints the best and the
 * median of 15 reads, and MB/s.  Usage: tools/bench-read [-s MB] [FILE...]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "impdata.h"

#define BENCH_REPS	15

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static char *
make_mpt(size_t want, size_t *len)
{
	static const char head[] = "EC-Lab ASCII FILE\r\n"
	    "Nb header lines : 4\r\n"
	    "\r\n"
	    "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\t|Z|/Ohm\tPhase(Z)/deg\ttime/s\t"
	    "<Ewe>/V\t<I>/mA\tCs/\xb5" "F\tCp/\xb5" "F\tcycle number\tI Range\t"
	    "|Ewe|/V\t|I|/A\tRe(Y)/Ohm-1\tIm(Y)/Ohm-1\t|Y|/Ohm-1\t"
	    "Phase(Y)/deg\t\r\n";
	char	*p = malloc(want + 4096), *o = p;
	int	 i = 0, cyc = 1;
	double	 f, re, im, t = 0;

	memcpy(o, head, sizeof head - 1);
	o += sizeof head - 1;
	while ((size_t)(o - p) < want) {
		f = 1e5 * pow(10, -(i % 50) * 0.14);
		re = 10 + 100 / (1 + pow(2 * M_PI * f * 1e-3, 2));
		im = 100 * 2 * M_PI * f * 1e-3 / (1 + pow(2 * M_PI * f * 1e-3, 2));
		t += 0.25;
		o += sprintf(o, "%.7E\t%.7E\t%.7E\t%.7E\t%.7E\t%.15E\t%.7E\t"
		    "%.7E\t%.7E\t%.7E\t%.15E\t11\t%.7E\t%.7E\t%.7E\t%.7E\t"
		    "%.7E\t%.7E\r\n", f, re, im, hypot(re, im),
		    -atan2(im, re) * 180 / M_PI, t, -2.8e-4, -4.8e-2, 407.9,
		    1.4e-2, (double)cyc, 2.09e-2, 3.2e-4, 1.5e-2, 9.1e-5,
		    1.5e-2, atan2(im, re) * 180 / M_PI);
		if (++i % 50 == 0)
			cyc++;
	}
	*len = (size_t)(o - p);
	return (p);
}

static void
bench(const char *name, const char *buf, size_t len)
{
	double		 t[BENCH_REPS], t0;
	struct dat_set	*s = NULL;
	char		 err[256];
	size_t		 points = 0;
	int		 i, rc;

	for (i = 0; i < BENCH_REPS; i++) {
		t0 = now();
		rc = dat_read(buf, len, name, NULL, NULL, &s, err, sizeof err);
		t[i] = now() - t0;
		if (rc != DAT_OK) {
			printf("%s: %s\n", name, err);
			return;
		}
		if (i == 0)
			for (points = 0, rc = 0; rc < s->nspec; rc++)
				points += (size_t)s->spec[rc].n;
		if (i + 1 < BENCH_REPS)
			dat_free(s);
	}
	qsort(t, BENCH_REPS, sizeof t[0], cmp);
	printf("%s: %.1f MB, %s, %d spectra, %zu points: best %.1f ms, "
	    "median %.1f ms (%.0f MB/s)\n", name, len / 1e6, s->format,
	    s->nspec, points, t[0] * 1e3, t[BENCH_REPS / 2] * 1e3,
	    len / 1e6 / t[BENCH_REPS / 2]);
	dat_free(s);
}

int
main(int argc, char **argv)
{
	double	 mb = 10;
	size_t	 len;
	char	*buf;
	FILE	*fp;
	int	 ch, i;

	while ((ch = getopt(argc, argv, "s:")) != -1)
		if (ch == 's')
			mb = atof(optarg);
		else {
			fprintf(stderr, "usage: bench-read [-s MB] [FILE...]\n");
			return (2);
		}
	if (optind == argc) {
		buf = make_mpt((size_t)(mb * 1e6), &len);
		bench("made-up.mpt", buf, len);
		free(buf);
	}
	for (i = optind; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			continue;
		}
		fseek(fp, 0, SEEK_END);
		len = (size_t)ftell(fp);
		rewind(fp);
		buf = malloc(len + 1);
		if (fread(buf, 1, len, fp) == len)
			bench(argv[i], buf, len);
		free(buf);
		fclose(fp);
	}
	return (0);
}
