/*
 * impcore - bench-parse: what parsing a batch body costs next to fitting it.
 *
 * Builds the load generator's batch (tools/impload: 12 spectra x 23 points
 * of R(RC), magnitude, phase and impedance, reals with 12 digits), parses it
 * with the worker's own wrk_parse_batch() many times, then fits the parsed
 * spectra with impfit_run() as a worker does, and prints microseconds per
 * spectrum for both and their ratio.  Each figure is the median of -r
 * rounds; run it pinned to one core (tools/bench-parse.sh does).
 *
 * It links the worker's JSON files and stands in for the rest of the worker
 * (the global struct wrk, the circuit cache) with the least that
 * wrk_parse_batch() reads: a state file for the queue size, a zeroed config.
 */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "impfit.h"
#include "daemon/cfg.h"
#include "state/shm.h"
#include "state/state.h"
#include "worker/wrk_priv.h"

#define BP_TRUE_R0	10.0
#define BP_TRUE_R1	100.0
#define BP_TRUE_C0	1e-4

/* what wrk_parse_batch() reads of the worker */
struct wrk		wrk;
static struct cfg	bp_cfg;

const struct impfit_circuit *
wrk_circuit(const char *code, char *err, size_t len)
{
	static struct impfit_circuit *c;
	static char last[RTAB_CIRCUIT_MAX + 1];

	/* one code in this benchmark: a cache of one, as cheap as the worker's */
	if (c != NULL && strcmp(last, code) == 0)
		return (c);
	impfit_circuit_free(c);
	c = impfit_circuit_parse(code, err, len);
	snprintf(last, sizeof last, "%s", code);
	return (c);
}

/* The batch body impload posts: same spectra, same number formatting. */
static char *
bp_body(int nspectra, int npoints)
{
	json_t *arr = json_array(), *root;
	char *s;
	int i, k;

	for (i = 0; i < nspectra; i++) {
		json_t *f = json_array(), *m = json_array(), *p = json_array();
		json_t *z = json_array(), *data;
		double r1 = BP_TRUE_R1 * (1.0 + 0.01 * i);

		for (k = 0; k < npoints; k++) {
			double fr = pow(10.0, 5.0 - 6.0 * k / (npoints - 1));
			double w = 2.0 * M_PI * fr, a = w * r1 * BP_TRUE_C0;
			double re = BP_TRUE_R0 + r1 / (1.0 + a * a);
			double im = -r1 * a / (1.0 + a * a);

			json_array_append_new(f, json_real(fr));
			json_array_append_new(m, json_real(hypot(re, im)));
			json_array_append_new(p, json_real(atan2(im, re) * 180.0 / M_PI));
			json_array_append_new(z, json_pack("{s:f,s:f}", "real", re,
			    "imag", im));
		}
		data = json_pack("{s:s,s:o,s:o,s:o,s:o}", "timestamp",
		    "2025-01-01T12:00:00Z", "frequencies", f, "magnitude", m,
		    "phase", p, "impedance", z);
		json_array_append_new(arr, json_pack("{s:i,s:o}", "iteration", i,
		    "impedance_data", data));
	}
	root = json_pack("{s:s,s:o}", "batch_id", "bench-parse-1", "spectra", arr);
	s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12));
	json_decref(root);
	return (s);
}

static double
bp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

static int
bp_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static void
bp_usage(void)
{
	fprintf(stderr, "usage: bench-parse [-s spectra] [-p points] "
	    "[-n parses-per-round] [-r rounds] [-o body-file]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct shm_geom g = { .queue_size = 4096, .results = 4096,
	    .max_points = 1000 };
	struct impfit_workspace *ws;
	struct impfit_options o;
	struct impfit_result res;
	struct wrk_batch b;
	struct wrk_err e;
	char dir[] = "/tmp/bench-parse.XXXXXX", *cause = NULL, *body, path[64];
	const char *out = NULL;
	double *tp, *tf, t0, sum = 0, mp, mf;
	size_t len;
	int nspectra = 12, npoints = 23, n = 2000, rounds = 7, ch, r, i, k, rec;
	FILE *fp;

	while ((ch = getopt(argc, argv, "s:p:n:r:o:")) != -1) {
		switch (ch) {
		case 's': nspectra = atoi(optarg); break;
		case 'p': npoints = atoi(optarg); break;
		case 'n': n = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'o': out = optarg; break;
		default: bp_usage();
		}
	}
	if (nspectra < 1 || npoints < 2 || n < 1 || rounds < 1 ||
	    npoints > (int)g.max_points || nspectra > (int)g.queue_size)
		bp_usage();
	if (mkdtemp(dir) == NULL || state_open(dir, &g, &wrk.shm, &rec,
	    &cause) < 0) {
		fprintf(stderr, "bench-parse: state file in %s: %s\n", dir,
		    cause != NULL ? cause : "mkdtemp failed");
		return (1);
	}
	wrk.cfg = &bp_cfg;
	wrk.max_points = g.max_points;
	wrk.def_method = IMPFIT_METHOD_LM;
	snprintf(wrk.def_circuit, sizeof wrk.def_circuit, "R(RC)");

	body = bp_body(nspectra, npoints);
	len = strlen(body);
	if (out != NULL) {
		if ((fp = fopen(out, "w")) == NULL || fwrite(body, 1, len, fp) != len ||
		    fclose(fp) != 0) {
			perror(out);
			return (1);
		}
	}
	ws = impfit_workspace_new(npoints, IMPFIT_MAX_PARAMS);
	tp = calloc((size_t)rounds, sizeof *tp);
	tf = calloc((size_t)rounds, sizeof *tf);
	if (wrk_parse_batch(body, len, &b, &e) < 0) {
		fprintf(stderr, "bench-parse: %d %s (%s)\n", e.status, e.msg, e.field);
		return (1);
	}
	for (r = 0; r < rounds; r++) {
		t0 = bp_now();
		for (i = 0; i < n; i++) {
			wrk_batch_free(&b);
			if (wrk_parse_batch(body, len, &b, &e) < 0)
				return (1);
		}
		tp[r] = (bp_now() - t0) * 1e6 / ((double)n * nspectra);
		/* fits are slower: as many spectra as in 1/20 of the parses */
		t0 = bp_now();
		for (i = 0; i < (n + 19) / 20; i++)
			for (k = 0; k < b.n; k++) {
				const struct wrk_spectrum *s = &b.spec[k];
				impfit_options_default(&o);
				o.method = (enum impfit_method)s->method;
				o.weighting = (enum impfit_weighting)s->weighting;
				o.max_iterations = s->max_iterations;
				o.init = s->ninit > 0 ? s->init : NULL;
				impfit_run(wrk_circuit(s->circuit, NULL, 0), s->freq,
				    s->zre, s->zim, s->n, &o, ws, &res);
				sum += res.chi_square;
			}
		tf[r] = (bp_now() - t0) * 1e6 / ((double)((n + 19) / 20) * b.n);
	}
	qsort(tp, (size_t)rounds, sizeof *tp, bp_cmp);
	qsort(tf, (size_t)rounds, sizeof *tf, bp_cmp);
	mp = tp[rounds / 2];
	mf = tf[rounds / 2];
	printf("body: %d spectra x %d points, %zu bytes (%.0f bytes/spectrum)\n",
	    nspectra, npoints, len, (double)len / nspectra);
	printf("%-8s %10s %10s %10s\n", "", "us/spectrum", "min", "max");
	printf("%-8s %10.3f %10.3f %10.3f   (%.0f MB/s)\n", "parse", mp, tp[0],
	    tp[rounds - 1], (double)len / nspectra / mp);
	printf("%-8s %10.3f %10.3f %10.3f   (%s, chi2 sum %.3g)\n", "fit", mf,
	    tf[0], tf[rounds - 1], b.spec[0].circuit, sum);
	printf("parse/fit: %.1f%%\n", 100.0 * mp / mf);
	wrk_batch_free(&b);
	impfit_workspace_free(ws);
	free(body);
	free(tp);
	free(tf);
	shm_close(wrk.shm);
	snprintf(path, sizeof path, "%s/impsolverd.state", dir);
	unlink(path);
	rmdir(dir);
	return (0);
}
