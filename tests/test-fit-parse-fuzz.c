/*
 * impcore - the circuit code parser (src/fit/fit_parse.c) under fuzzing:
 * the code is a field of every request, so untrusted bytes.  Valid codes
 * of both syntaxes (CDC "R(QR)(QR)W", impedance.py "R0-p(R1,CPE1)-Wo1")
 * go through random mutations: byte flips, deletions, insertions of the
 * grammar's characters and of any byte, repeated spans, truncations, deep
 * nesting, long codes.  For every text: either NULL with a one-line reason
 * that fits the buffer (also a tiny one), or a circuit within the limits
 * whose canonical code parses again to itself with the same parameters,
 * whose parameter names are unique and found by impfit_circuit_param_index(),
 * and which evaluates without a sanitizer report.  About a second, half
 * from fixed seeds and half from a random one it prints
 * (IMPCORE_TEST_SEED=N replays it, IMPCORE_TEST_SECONDS the time).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "impfit.h"
#include "test-fit.h"

#define MAXLEN	4096

static const char *seeds[] = {
	"R", "R(RC)", "R(QR)", "R(QR)(QR)", "R(QR)W", "R(CR)(QR)W",
	"R(Q(RW))", "R(QR)(LR)O", "RL(QR(QR(QR)))TGF", "R(RC)(RC)(RC)(RC)",
	"R0-p(R1,C1)", "R0-p(R1,CPE1)-Wo1", "R0-p(R1-p(R2,C2),CPE1)-L0",
	"p(R1,C1)-p(R2,C2)-Ws3", "R0-Zarc1-TLMQ2", "L0-R0-p(C1,R1-W1)",
};
static const char alphabet[] = "RCLQWOTGFKHp()-,_0123456789 aoszZrcEPM\t";

static uint64_t rng;

static uint32_t
rnd(uint32_t n)	/* [0, n): xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((uint32_t)((rng * 2685821657736338717ULL) >> 33) % n);
}

static int ncircuits, nrefused;

/* Parse s and check what came back; see the head comment. */
static void
check(const char *s)
{
	struct impfit_circuit	*c, *c2;
	char			 err[256], tiny[8], code[300];
	double			 p[IMPFIT_MAX_PARAMS], f[3] = { 0.1, 10, 1e5 };
	double			 zr[3], zi[3];
	const char		*name;
	int			 i, j, np;

	memset(err, 'x', sizeof err);
	c = impfit_circuit_parse(s, err, sizeof err);
	if (c == NULL) {
		nrefused++;
		CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0' &&
		    strchr(err, '\n') == NULL, "\"%.80s\": a reason that is not "
		    "one line", s);
		/* a tiny buffer truncates, NUL-terminated */
		memset(tiny, 'x', sizeof tiny);
		c = impfit_circuit_parse(s, tiny, sizeof tiny);
		CHECK(c == NULL && memchr(tiny, '\0', sizeof tiny) != NULL,
		    "\"%.80s\": tiny error buffer", s);
		impfit_circuit_free(c);
		return;
	}
	ncircuits++;
	np = impfit_circuit_nparams(c);
	CHECK(np >= 1 && np <= IMPFIT_MAX_PARAMS, "\"%.80s\": %d parameters", s,
	    np);
	CHECK(impfit_circuit_nelements(c) >= 1 &&
	    impfit_circuit_nelements(c) <= IMPFIT_MAX_ELEMENTS, "\"%.80s\": %d "
	    "elements", s, impfit_circuit_nelements(c));
	snprintf(code, sizeof code, "%s", impfit_circuit_code(c));
	c2 = impfit_circuit_parse(code, err, sizeof err);
	CHECK(c2 != NULL, "\"%.80s\": its canonical code \"%s\" is refused: %s",
	    s, code, err);
	if (c2 != NULL) {
		CHECK(strcmp(impfit_circuit_code(c2), code) == 0 &&
		    impfit_circuit_nparams(c2) == np, "\"%.80s\": \"%s\" parses "
		    "again to \"%s\"", s, code, impfit_circuit_code(c2));
		impfit_circuit_free(c2);
	}
	for (i = 0; i < np && i < IMPFIT_MAX_PARAMS; i++) {
		name = impfit_circuit_param_name(c, i);
		CHECK(name != NULL && name[0] != '\0', "\"%s\": p%d unnamed",
		    code, i);
		if (name == NULL)
			continue;
		CHECK(impfit_circuit_param_index(c, name) == i, "\"%s\": %s is "
		    "found at %d, not %d", code, name,
		    impfit_circuit_param_index(c, name), i);
		for (j = 0; j < i; j++)
			CHECK(strcmp(impfit_circuit_param_name(c, j), name) != 0,
			    "\"%s\": p%d and p%d are both %s", code, j, i, name);
		p[i] = impfit_circuit_param_is_exponent(c, i) ? 0.7 : 1.5;
	}
	impfit_circuit_eval(c, p, f, 3, zr, zi);
	impfit_circuit_free(c);
}

/* A mutation of a seed into buf (NUL-terminated, < MAXLEN). */
static void
mutate(char *buf)
{
	const char	*s = seeds[rnd(sizeof seeds / sizeof seeds[0])];
	size_t		 n, i, k, a, b, m;
	int		 rounds = 1 + (int)rnd(4), r;

	n = strlen(s);
	memcpy(buf, s, n + 1);
	for (r = 0; r < rounds; r++) {
		switch (rnd(8)) {
		case 0:		/* flip a byte to any value but NUL */
			if (n > 0)
				buf[rnd(n)] = (char)(1 + rnd(255));
			break;
		case 1:		/* delete one */
			if (n > 0) {
				i = rnd(n);
				memmove(buf + i, buf + i + 1, n - i);
				n--;
			}
			break;
		case 2:		/* insert a character of the grammar */
		case 3:
			if (n + 1 < MAXLEN) {
				i = rnd(n + 1);
				memmove(buf + i + 1, buf + i, n - i + 1);
				buf[i] = alphabet[rnd(sizeof alphabet - 1)];
				n++;
			}
			break;
		case 4:		/* repeat a span, up to 64 times */
			if (n > 0) {
				a = rnd(n);
				b = a + 1 + rnd(n - a);
				m = 1 + rnd(64);
				for (k = 0; k < m && n + (b - a) < MAXLEN; k++) {
					memmove(buf + b + (b - a), buf + b,
					    n - b + 1);
					memmove(buf + b, buf + a, b - a);
					n += b - a;
				}
			}
			break;
		case 5:		/* truncate */
			n = rnd(n + 1);
			buf[n] = '\0';
			break;
		case 6:		/* splice another seed in */
			s = seeds[rnd(sizeof seeds / sizeof seeds[0])];
			m = strlen(s);
			if (n + m < MAXLEN) {
				i = rnd(n + 1);
				memmove(buf + i + m, buf + i, n - i + 1);
				memcpy(buf + i, s, m);
				n += m;
			}
			break;
		default:	/* nest: wrap a span in ( ) or p( , ) */
			if (n + 4 < MAXLEN && n > 0) {
				a = rnd(n);
				b = a + rnd(n - a + 1);
				memmove(buf + b + 1, buf + b, n - b + 1);
				buf[b] = ')';
				memmove(buf + a + 1, buf + a, b + 1 - a + n - b);
				buf[a] = '(';
				n += 2;
			}
			break;
		}
	}
}

int
main(void)
{
	static char	 buf[MAXLEN + 8];
	unsigned long long seed, fixed = 0x1f2e3d4c5b6a7988ULL;
	double		 secs = 1, t0;
	size_t		 k;
	int		 half, i;

	if (getenv("IMPCORE_TEST_SECONDS") != NULL)
		secs = atof(getenv("IMPCORE_TEST_SECONDS"));
	for (k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
		struct impfit_circuit *c = impfit_circuit_parse(seeds[k], buf, 256);

		CHECK(c != NULL, "seed \"%s\" refused: %s", seeds[k], buf);
		impfit_circuit_free(c);
		check(seeds[k]);
	}
	/* the limits: deep nesting, long chains, many elements */
	for (i = 0; i < 3; i++) {
		size_t	n = 0, d = i == 0 ? 2000 : 40;

		for (k = 0; k < d; k++) {
			buf[n++] = i == 2 ? 'p' : '(';
			buf[n++] = i == 2 ? '(' : 'R';
		}
		buf[n++] = 'C';
		for (k = 0; k < d && n < MAXLEN; k++)
			buf[n++] = ')';
		buf[n] = '\0';
		check(buf);
	}
	memset(buf, 'R', MAXLEN);
	buf[MAXLEN] = '\0';
	check(buf);
	check("");
	check("()");
	check("p()");

	for (half = 0; half < 2; half++) {
		if (half == 0)
			seed = fixed;
		else if (getenv("IMPCORE_TEST_SEED") != NULL)
			seed = strtoull(getenv("IMPCORE_TEST_SEED"), NULL, 0);
		else
			seed = (unsigned long long)time(NULL) * 2654435761ULL ^
			    (unsigned long long)clock();
		printf("# %s seed %#llx%s\n", half ? "random" : "fixed", seed,
		    half ? " (IMPCORE_TEST_SEED=it replays it)" : "");
		rng = seed | 1;
		t0 = (double)clock() / CLOCKS_PER_SEC;
		do {
			for (i = 0; i < 1000; i++) {
				mutate(buf);
				check(buf);
			}
		} while ((double)clock() / CLOCKS_PER_SEC - t0 < secs / 2);
	}
	printf("# %d codes parsed, %d refused\n", ncircuits, nrefused);
	return (test_done("test-fit-parse-fuzz"));
}
