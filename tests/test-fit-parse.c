/*
 * impcore - tests/test-fit-parse.c: circuit codes (errors with columns,
 * case, blanks, names) and impfit_run()'s rejection of bad input.
 */
#include <math.h>
#include <string.h>

#include "impfit.h"
#include "test-fit.h"

/* code must fail with exactly msg. */
static void
bad(const char *code, const char *msg)
{
	struct impfit_circuit	*c;
	char			 err[128];

	c = impfit_circuit_parse(code, err, sizeof err);
	CHECK(c == NULL, "'%s' parsed", code);
	CHECK(strcmp(err, msg) == 0, "'%s': got '%s', want '%s'", code, err,
	    msg);
	impfit_circuit_free(c);
}

/* code must parse to canonical form canon with the given names. */
static void
good(const char *code, const char *canon, const char *names)
{
	struct impfit_circuit	*c;
	char			 err[128], got[512];
	int			 i;

	c = impfit_circuit_parse(code, err, sizeof err);
	CHECK(c != NULL, "'%s': %s", code, err);
	if (c == NULL)
		return;
	CHECK(strcmp(impfit_circuit_code(c), canon) == 0, "'%s': canonical '%s'",
	    code, impfit_circuit_code(c));
	got[0] = '\0';
	for (i = 0; i < impfit_circuit_nparams(c); i++) {
		strcat(got, i ? " " : "");
		strcat(got, impfit_circuit_param_name(c, i));
	}
	CHECK(strcmp(got, names) == 0, "'%s': names '%s', want '%s'", code,
	    got, names);
	impfit_circuit_free(c);
}

static void
test_parser(void)
{
	struct impfit_circuit	*c;
	char			 err[128], big[300];
	int			 n, i;

	bad("", "empty circuit code");
	bad("   ", "empty circuit code");
	bad("R)", "unbalanced ')' at column 2");
	bad("R(CR))", "unbalanced ')' at column 6");
	bad("R (C R))", "unbalanced ')' at column 8");
	bad("R(CR", "missing ')' for '(' at column 2");
	bad("R(C(RQ)", "missing ')' for '(' at column 2");
	bad("R(C(RQ", "missing ')' for '(' at column 4");
	bad("RX", "unknown element 'X' at column 2");
	bad("R(C$)", "unknown element '$' at column 4");
	bad("R()", "empty group at column 2");
	bad("R(C())", "empty group at column 4");
	bad("()", "empty group at column 1");
	for (i = 0; i < 33; i++)
		big[i] = 'R';
	big[33] = '\0';
	bad(big, "too many elements (more than 32) at column 33");
	for (i = 0; i < 22; i++)
		big[i] = 'F';		/* 3 parameters each */
	big[22] = '\0';
	bad(big, "too many parameters (more than 64) at column 22");

	good("R(QR)", "R(QR)", "R0 Q0.Y0 Q0.n R1");
	good(" r ( q r ) ", "R(QR)", "R0 Q0.Y0 Q0.n R1");
	good("R(RC)W", "R(RC)W", "R0 R1 C0 W0");
	good("rl(QR)(qr)", "RL(QR)(QR)", "R0 L0 Q0.Y0 Q0.n R1 Q1.Y0 Q1.n R2");
	good("R(RO)T", "R(RO)T", "R0 R1 O0.Y0 O0.B T0.Y0 T0.B");
	good("R(RG)F", "R(RG)F", "R0 R1 G0.Y0 G0.k F0.Y0 F0.k F0.a");
	good("R(Q(R(QR)))", "R(Q(R(QR)))", "R0 Q0.Y0 Q0.n R1 Q1.Y0 Q1.n R2");

	c = impfit_circuit_parse("R(QR)W", err, sizeof err);
	CHECK(c != NULL, "R(QR)W");
	CHECK(impfit_circuit_nelements(c) == 4, "elements");
	CHECK(strcmp(impfit_circuit_element_name(c, 1), "Q0") == 0, "Q0");
	CHECK(strcmp(impfit_circuit_element_name(c, 3), "W0") == 0, "W0");
	CHECK(impfit_circuit_element_param(c, 1, &n) == 1 && n == 2, "Q0 params");
	CHECK(impfit_circuit_element_param(c, 3, &n) == 4 && n == 1, "W0 params");
	CHECK(impfit_circuit_param_is_exponent(c, 2), "Q0.n is an exponent");
	CHECK(!impfit_circuit_param_is_exponent(c, 1), "Q0.Y0 is not");
	CHECK(impfit_circuit_param_name(c, 5) == NULL, "name out of range");
	impfit_circuit_free(c);
}

/* impedance.py's syntax (issue 15, part 2). */
static void
test_py(void)
{
	struct impfit_circuit	*c, *d;
	char			 err[128], big[400];
	double			 f[3] = { 0.1, 10, 1e3 }, p[7] = { .01, .01, 100,
	    .01, .05, 100, 1 }, zr[3], zi[3], zr2[3], zi2[3];
	int			 i, n;

	good("R0-p(R1,CPE1)-Wo1", "R0-p(R1,CPE1)-Wo1",
	    "R0 R1 CPE1_0 CPE1_1 Wo1_0 Wo1_1");
	good(" R0 - p( R1 , C1 ) - p(R2-Wo1, C2) ",
	    "R0-p(R1,C1)-p(R2-Wo1,C2)", "R0 R1 C1 R2 Wo1_0 Wo1_1 C2");
	good("R0", "R0", "R0");
	good("p(R1,C1)", "p(R1,C1)", "R1 C1");
	good("L0-W0-Ws1-La2-G3-Gs4-K5-Zarc6-TLMQ7-T8",
	    "L0-W0-Ws1-La2-G3-Gs4-K5-Zarc6-TLMQ7-T8", "L0 W0 Ws1_0 Ws1_1 "
	    "La2_0 La2_1 G3_0 G3_1 Gs4_0 Gs4_1 Gs4_2 K5_0 K5_1 Zarc6_0 "
	    "Zarc6_1 Zarc6_2 TLMQ7_0 TLMQ7_1 TLMQ7_2 T8_0 T8_1 T8_2 T8_3");
	good("p(p(R1,C1)-R2,p(K1,Zarc1,R3))", "p(p(R1,C1)-R2,p(K1,Zarc1,R3))",
	    "R1 C1 R2 K1_0 K1_1 Zarc1_0 Zarc1_1 Zarc1_2 R3");

	/* A CDC with a stray digit keeps the CDC's message. */
	bad("R(QR)1", "unknown element '1' at column 6");
	bad("1R", "unknown element '1' at column 1");
	bad("R0(QR)", "expected '-' at column 3");
	bad("R0-", "expected an element at the end (column 4)");
	bad("R0--C1", "expected an element at column 4, not '-'");
	bad("R0-X1", "unknown element 'X1' at column 4");
	bad("R0-cpe1", "unknown element 'cpe1' at column 4");
	bad("R0-CPE", "element 'CPE' at column 4 needs a number (CPE0)");
	bad("R0-p(R1,C1", "missing ')' for 'p(' at column 4");
	bad("R0-p(R1;C1)", "expected ',' or ')' at column 8");
	bad("R0-p()", "expected an element at column 6, not ')'");
	bad("R0-p(R1,)", "expected an element at column 9, not ')'");
	bad("R0)", "unbalanced ')' at column 3");
	bad("R0 C1", "expected '-' at column 4");
	bad("R0-p(R1,C1)-R0", "element 'R0' at column 13 appears twice");
	bad("R0-Zarc12345678", "element name at column 4 longer than 11 "
	    "characters");
	for (i = 0, n = 0; i < 33; i++)
		n += snprintf(big + n, sizeof big - n, "%sR%d", i ? "-" : "", i);
	bad(big, "too many elements (more than 32) at column 119");
	for (i = 0, n = 0; i < 17; i++)
		n += snprintf(big + n, sizeof big - n, "%sT%d", i ? "-" : "", i);
	bad(big, "too many parameters (more than 64) at column 55");
	for (i = 0, n = 0; i < 70; i++)
		n += snprintf(big + n, sizeof big - n, "p(");
	snprintf(big + n, sizeof big - n, "R1");
	bad(big, "circuit too deep at column 129");

	/* Exponents: CPE and La alpha, Zarc and TLMQ gamma. */
	c = impfit_circuit_parse("CPE1-La1-Zarc1-TLMQ1-Gs1", err, sizeof err);
	CHECK(c != NULL, "%s", err);
	for (i = 0; c != NULL && i < impfit_circuit_nparams(c); i++)
		CHECK(impfit_circuit_param_is_exponent(c, i) == (i == 1 ||
		    i == 3 || i == 6 || i == 9), "exponent %s",
		    impfit_circuit_param_name(c, i));
	CHECK(c != NULL && impfit_circuit_param_index(c, "Zarc1_2") == 6,
	    "index of Zarc1_2");
	CHECK(c != NULL && strcmp(impfit_circuit_element_name(c, 3), "TLMQ1") ==
	    0, "element name");
	impfit_circuit_free(c);

	/* The same circuit in both syntaxes: the same impedance, CPE = Q. */
	c = impfit_circuit_parse("R0-p(R1,C1)-p(R2-CPE1,C2)", err, sizeof err);
	d = impfit_circuit_parse("R(RC)((RQ)C)", err, sizeof err);
	CHECK(c != NULL && d != NULL, "%s", err);
	if (c != NULL && d != NULL) {
		impfit_circuit_eval(c, p, f, 3, zr, zi);
		impfit_circuit_eval(d, p, f, 3, zr2, zi2);
		for (i = 0; i < 3; i++)
			CHECK(fabs(zr[i] - zr2[i]) <= 1e-12 * fabs(zr[i]) &&
			    fabs(zi[i] - zi2[i]) <= 1e-12 * fabs(zi[i]),
			    "point %d: %g%+gj vs %g%+gj", i, zr[i], zi[i],
			    zr2[i], zi2[i]);
	}
	impfit_circuit_free(c);
	impfit_circuit_free(d);
}

/* impfit_run() on bad input: IMPFIT_BAD_INPUT and the message. */
static void
bad_run(const char *code, const double *f, const double *zr,
    const double *zi, int n, const double *init, enum impfit_weighting w,
    const char *msg)
{
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res;
	char			 err[128];

	c = impfit_circuit_parse(code, err, sizeof err);
	ws = impfit_workspace_new(64, 16);
	impfit_options_default(&o);
	o.init = init;
	o.weighting = w;
	CHECK(impfit_run(c, f, zr, zi, n, &o, ws, &res) == IMPFIT_BAD_INPUT,
	    "%s: status %s", msg, impfit_status_name(res.status));
	CHECK(res.status == IMPFIT_BAD_INPUT, "status stored");
	CHECK(strcmp(res.error, msg) == 0, "got '%s', want '%s'", res.error,
	    msg);
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
}

static void
test_input(void)
{
	double	f[12], zr[12], zi[12], init[4] = { 10, 1e-4, 0.8, 100 };
	double	v[4];
	int	i;

	for (i = 0; i < 12; i++) {
		f[i] = pow(10, 5 - i * 0.5);
		zr[i] = 10 + i;
		zi[i] = -1 - i;
	}
	bad_run("R(QR)", f, zr, zi, 3, NULL, IMPFIT_WEIGHT_MODULUS,
	    "3 points are too few for 4 parameters");
	bad_run("R(Q(R(QR)))R(QR)(QR)L", f, zr, zi, 12, NULL,
	    IMPFIT_WEIGHT_MODULUS, "12 points are too few for 15 parameters");
	bad_run("R(QR)", f, zr, zi, 0, NULL, IMPFIT_WEIGHT_MODULUS,
	    "no data points");
	f[2] = 0;
	bad_run("R(QR)", f, zr, zi, 12, NULL, IMPFIT_WEIGHT_MODULUS,
	    "frequency 3 is not positive");
	f[2] = -5;
	bad_run("R(QR)", f, zr, zi, 12, NULL, IMPFIT_WEIGHT_MODULUS,
	    "frequency 3 is not positive");
	f[2] = NAN;
	bad_run("R(QR)", f, zr, zi, 12, NULL, IMPFIT_WEIGHT_MODULUS,
	    "frequency 3 is not finite");
	f[2] = 1000;
	zr[3] = INFINITY;
	bad_run("R(QR)", f, zr, zi, 12, NULL, IMPFIT_WEIGHT_MODULUS,
	    "Z' of point 4 is not finite");
	zr[3] = 13;
	zi[4] = NAN;
	bad_run("R(QR)", f, zr, zi, 12, NULL, IMPFIT_WEIGHT_MODULUS,
	    "Z'' of point 5 is not finite");
	zi[4] = 0;
	bad_run("R(QR)", f, zr, zi, 12, NULL, IMPFIT_WEIGHT_PROPORTIONAL,
	    "point 5 cannot be weighted (proportional weighting divides by "
	    "zero)");
	zi[4] = -5;
	memcpy(v, init, sizeof v);
	v[1] = 0;
	bad_run("R(QR)", f, zr, zi, 12, v, IMPFIT_WEIGHT_MODULUS,
	    "initial value 2 (Q0.Y0) is not positive");
	v[1] = 1e-4;
	v[2] = 1.5;
	bad_run("R(QR)", f, zr, zi, 12, v, IMPFIT_WEIGHT_MODULUS,
	    "initial value 3 (Q0.n) is not in (0, 1]");
	v[2] = 0.8;
	v[3] = -100;
	bad_run("R(QR)", f, zr, zi, 12, v, IMPFIT_WEIGHT_MODULUS,
	    "initial value 4 (R1) is not positive");
}

static void
test_names(void)
{
	CHECK(impfit_method_parse("lm") == IMPFIT_METHOD_LM, "lm");
	CHECK(impfit_method_parse("Nelder-Mead") == IMPFIT_METHOD_NM, "nm");
	CHECK(impfit_method_parse("newton") == -1, "newton");
	CHECK(impfit_weighting_parse("unity") == IMPFIT_WEIGHT_UNITY, "unity");
	CHECK(impfit_weighting_parse("x") == -1, "x");
	CHECK(strcmp(impfit_status_name(IMPFIT_MAX_ITERATIONS), "max_iterations") ==
	    0, "max_iterations");
	CHECK(strcmp(impfit_method_name(IMPFIT_METHOD_LM), "levenberg-marquardt") ==
	    0, "lm name");
	CHECK(impfit_workspace_new(0, 4) == NULL, "empty workspace");
	CHECK(impfit_workspace_new(10, IMPFIT_MAX_PARAMS + 1) == NULL, "too wide");
}

int
main(void)
{
	test_parser();
	test_py();
	test_input();
	test_names();
	return (test_done("test-fit-parse"));
}
