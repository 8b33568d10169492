/*
 * impcore - the file readers (src/data) on mutated files: they parse
 * untrusted bytes inside the workers (POST /eis-data/file).
 *
 * Seeds: every file under tests/data/readers (instrument files, text
 * variants, broken ones; Ivium, PalmSens, .dfr, .P00 and .i2b among them)
 * and a few made here (the same formats in small, PalmSens JSON as UTF-8
 * and nested past the scanner's depth limit).  Mutations: byte flips,
 * deletions, insertions of separators, digits, decimal marks, line ends,
 * quotes, NUL bytes, JSON brackets and the formats' keywords, duplicated
 * and dropped lines, truncations, huge numbers.  Each text goes to
 * dat_read detected, and forced to a random reader, in a buffer of
 * exactly its length (ASan sees a read past it).
 * For every text: a DAT_* status; an error has a message; a result has
 * spectra of at least one point, within the limits, with finite numbers
 * and frequencies > 0.
 * Runs about 2 seconds (IMPCORE_TEST_SECONDS), half from a fixed seed and
 * half from a random one it prints (IMPCORE_TEST_SEED replays it).
 */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "impdata.h"

static long	nfail, ntexts, nread;
#define FUZZ_SEED	0x9e3779b97f4a7c15ull
#include "fuzz.h"

struct seed {
	char	*p;
	size_t	 len;
	char	*name;
};

static struct seed	seeds[128];
static int		nseeds;

static void
add_seed(const char *name, const char *p, size_t len)
{
	if (nseeds == (int)(sizeof seeds / sizeof seeds[0]))
		return;
	seeds[nseeds].p = malloc(len + 1);
	memcpy(seeds[nseeds].p, p, len);
	seeds[nseeds].len = len;
	seeds[nseeds].name = strdup(name);
	nseeds++;
}

static void
load_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[1024], *buf;
	FILE		*fp;
	long		 n;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".expect.csv") ||
		    strstr(e->d_name, ".py"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if ((fp = fopen(path, "rb")) == NULL)
			continue;
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		rewind(fp);
		if (n > 0 && n < 1 << 20 && (buf = malloc((size_t)n)) != NULL) {
			if (fread(buf, 1, (size_t)n, fp) == (size_t)n)
				add_seed(e->d_name, buf, (size_t)n);
			free(buf);
		}
		fclose(fp);
	}
	closedir(d);
}

static const char *const handmade[] = {
	"1 2 3\n",
	"f,Z',Z''\n1,2,3\n",
	"freq;Re(Z);-Im(Z)\n1,5;2,5;3,5\n",
	"Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n1,2,3,0\n2,2,3,1\n1,1,1,0\n",
	"EXPLAIN\nZCURVE\tTABLE\n\tPt\tFreq\tZreal\tZimag\tZrealU\tZimagU\n\t#\tHz\n\t0\t1\t2\t3\t4\t5\n",
	"EC-Lab ASCII FILE\nNb header lines : 3\n\nfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n1\t2\t3\n",
	"ZPLOT2 ASCII\nEnd Comments\n1\t0\t0\t0\t2\t3\n",
	"\"Z60W Data File\"\n\"  Freq (Hz)   a  b  c  Z'(a)  Z''(b)\"\n1,0,0,0,2,3\n",
	"<Application>\n<Segment1>\nDefinition=Frequency(Hz), Z Real, Z Imag\n1,2,3\n</Segment1>\n",
	"frequency,|Z|,-phase\n1,2,30\n",
	/* Ivium, PalmSens (as UTF-8), Autolab .dfr, .P00, Elchemea .i2b */
	"Title=x\nprimary_data\n3\n2\n10 -1\t1000\n11 -2\t100\n7\nosc_data\n1\n",
	"{\"Measurements\":[{\"DataSet\":{\"Type\":\"PalmSens.Data.DataSetEIS\","
	    "\"Values\":[{\"Unit\":{\"Type\":\"PalmSens.Units.Hertz\"},"
	    "\"DataValues\":[{\"V\":1000},{\"V\":1e2}]},{\"DataValues\":"
	    "[{\"V\":10},{\"V\":11.5}],\"Unit\":{\"Type\":\"PalmSens.Units.ZRe\"}},"
	    "{\"Unit\":{\"Type\":\"PalmSens.Units.ZIm\"},\"DataValues\":"
	    "[{\"V\":1},{\"V\":-2}]}]}}]}\xef\xbb\xbf",
	"{\"Measurements\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	"VERSION8.0\n1\n1\n1000\n10\n5\n0\n0\n0\n0\n0\n0\n",
	"x\n f/Hz\t Z'/Ohm\t -Z''/Ohm\t\n 2\n 1000\t 10\t 5\t\n 100\t 10\t 6\t\n",
	"meta\n\n2\n1000 10 -5\n100 10 -6\n",
};

static const char *const inserts[] = {
	",", ";", "\t", " ", "\n", "\r", "\r\n", ".", "-", "+", "e", "E",
	"\"", "'", "0", "9", "1e308", "1e999", "-0", "nan", "inf", "#",
	"(", "<", "Spectrum_Number", "ZCURVE\tTABLE\n", "End Comments\n",
	"Nb header lines : 99999\n", "\xff\xfe", "\x00", "\xe2\x88\x92",
	"99999999999999999999999", "0.000000000000000000000001",
	"primary_data\n", "3\n", "{", "}", "[", "]", "\"V\":", "\\", "VERSION",
	"f/Hz\t", "\"DataValues\":[", "PalmSens.Units.Hertz",
};

static void
mutate(struct seed *out, const struct seed *s)
{
	size_t	cap = s->len * 2 + 256, n = s->len, i, k, m, a, b;
	char	*p = malloc(cap);
	int	 nm = 1 + (int)(rnd() % 8), j;
	const char *ins;

	memcpy(p, s->p, n);
	for (j = 0; j < nm; j++) {
		i = n ? rnd() % n : 0;
		switch (rnd() % 8) {
		case 0:
			if (n)
				p[i] = (char)rnd();
			break;
		case 1:
			if (n) {
				m = 1 + rnd() % 8;
				if (m > n - i)
					m = n - i;
				memmove(p + i, p + i + m, n - i - m);
				n -= m;
			}
			break;
		case 2:
		case 3:
			ins = inserts[rnd() % (sizeof inserts / sizeof inserts[0])];
			k = strlen(ins) ? strlen(ins) : 1;
			if (n + k <= cap) {
				memmove(p + i + k, p + i, n - i);
				memcpy(p + i, ins, k);
				n += k;
			}
			break;
		case 4:
			n = i;		/* truncate */
			break;
		case 5:
			/* duplicate a line-sized piece */
			a = i;
			b = a + rnd() % 200;
			if (b > n)
				b = n;
			if (n + (b - a) <= cap) {
				memmove(p + b + (b - a), p + b, n - b);
				memcpy(p + b, p + a, b - a);
				n += b - a;
			}
			break;
		case 6:
			/* drop up to a line end */
			for (k = i; k < n && p[k] != '\n'; k++)
				;
			memmove(p + i, p + k, n - k);
			n -= k - i;
			break;
		default:
			if (n)
				p[i] = "0123456789.,;\t -e\n"[rnd() % 18];
			break;
		}
	}
	out->p = p;
	out->len = n;
	out->name = s->name;
}

static void
show(const char *why, const struct seed *t, const char *fmt)
{
	if (nfail++ >= 10)
		return;
	printf("not ok: %s (from %s, format %s, %zu bytes)\n", why, t->name,
	    fmt ? fmt : "detected", t->len);
}

/* Read t (in a buffer of its exact length) and check the answer. */
static void
check(const struct seed *t, const char *fmt)
{
	struct dat_limits	 lim = { 1024, 64 };
	struct dat_set		*s;
	char			 err[256], *exact;
	int			 rc, i, j;

	ntexts++;
	exact = malloc(t->len ? t->len : 1);
	memcpy(exact, t->p, t->len);
	memset(err, 'x', sizeof err);
	rc = dat_read(exact, t->len, t->name, fmt, &lim, &s, err, sizeof err);
	if (rc == DAT_OK) {
		nread++;
		if (s == NULL || s->magic != DAT_SET_MAGIC || s->nspec < 1 ||
		    s->nspec > 64)
			show("a bad set", t, fmt);
		else
			for (i = 0; i < s->nspec; i++) {
				const struct dat_spectrum *sp = &s->spec[i];

				if (sp->n < 1 || sp->n > 1024) {
					show("a bad spectrum length", t, fmt);
					break;
				}
				for (j = 0; j < sp->n; j++)
					if (!(sp->freq[j] > 0) ||
					    !isfinite(sp->freq[j]) ||
					    !isfinite(sp->zre[j]) ||
					    !isfinite(sp->zim[j])) {
						show("a bad point", t, fmt);
						break;
					}
			}
		dat_free(s);
	} else if (rc != DAT_UNKNOWN && rc != DAT_BROKEN &&
	    rc != DAT_TOOBIG && rc != DAT_NOMEM && rc != DAT_BADNAME)
		show("an unknown status", t, fmt);
	else if (s != NULL)
		show("a set with an error", t, fmt);
	else if (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0')
		show("no message", t, fmt);
	free(exact);
}

int
main(void)
{
	const char	*src = getenv("IMP_SRCDIR");
	char		 dir[1024];
	double		 secs = 2, tend;
	struct seed	 t;
	int		 i, round;
	size_t		 k;

	if (getenv("IMPCORE_TEST_SECONDS") != NULL)
		secs = atof(getenv("IMPCORE_TEST_SECONDS"));
	if (src == NULL)
		src = ".";
	snprintf(dir, sizeof dir, "%s/tests/data/readers/impedancepy", src);
	load_dir(dir);
	snprintf(dir, sizeof dir, "%s/tests/data/readers/variants", src);
	load_dir(dir);
	printf("# %d seed files from %s/tests/data/readers\n", nseeds, src);
	for (k = 0; k < sizeof handmade / sizeof handmade[0]; k++)
		add_seed("handmade", handmade[k], strlen(handmade[k]));
	for (i = 0; i < nseeds; i++) {
		check(&seeds[i], NULL);
		for (k = 0; dat_format_name((int)k) != NULL; k++)
			check(&seeds[i], dat_format_name((int)k));
	}
	printf("# fixed seed %#llx\n", (unsigned long long)rng);
	for (round = 0; round < 2; round++) {
		if (round == 1) {
			if (getenv("IMPCORE_TEST_SEED") != NULL)
				rng = strtoull(getenv("IMPCORE_TEST_SEED"), NULL, 0);
			else
				rng = ((uint64_t)time(NULL) << 20) ^
				    (uint64_t)getpid() ^ (uint64_t)(now() * 1e9);
			if (rng == 0)
				rng = 1;
			printf("# random seed %#llx (IMPCORE_TEST_SEED=%#llx "
			    "replays it)\n", (unsigned long long)rng,
			    (unsigned long long)rng);
		}
		tend = now() + secs / 2;
		while (now() < tend && nfail < 10)
			for (i = 0; i < 50; i++) {
				const char *fmt = NULL;
				int nf = 0;

				mutate(&t, &seeds[rnd() % (uint64_t)nseeds]);
				while (dat_format_name(nf) != NULL)
					nf++;
				if (rnd() % 3 == 0)
					fmt = dat_format_name((int)(rnd() %
					    (uint64_t)nf));
				check(&t, fmt);
				free(t.p);
			}
	}
	printf("%s: %ld texts (%ld read), %ld failures\n", nfail ? "FAIL" : "ok",
	    ntexts, nread, nfail);
	for (i = 0; i < nseeds; i++) {
		free(seeds[i].p);
		free(seeds[i].name);
	}
	return (nfail ? 1 : 0);
}
