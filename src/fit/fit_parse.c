/*
 * impcore - fit_parse.c: circuit description codes (CDC, DESIGN section 8).
 *
 * A code such as "R(Q(R(QR)))" is parsed once into a tree stored in postfix
 * order (children before their group, root last), which fit_eval.c walks
 * once per frequency.  Also the accessors of struct impfit_circuit.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit/fit_priv.h"

/*
 * The element table.  CDC entries are one letter (matched without case);
 * impedance.py entries are its element names (matched with case, as
 * impedance.py does) with its parameter order.  exp has bit j set when
 * parameter j is an exponent in (0, 1]; suffix names the parameters of a
 * CDC element with several ("Q0.Y0"), impedance.py numbers them ("CPE1_0").
 */
static const struct fit_etype {
	const char	*name;
	unsigned char	 cdc;		/* 1: CDC letter, 0: impedance.py */
	unsigned char	 kind;		/* enum fit_ekind */
	unsigned char	 np;
	unsigned char	 exp;
	const char	*suffix[3];
} fit_etypes[] = {
	{ "R", 1, FIT_EK_R, 1, 0, { NULL } },
	{ "C", 1, FIT_EK_C, 1, 0, { NULL } },
	{ "L", 1, FIT_EK_L, 1, 0, { NULL } },
	{ "W", 1, FIT_EK_W, 1, 0, { NULL } },
	{ "Q", 1, FIT_EK_Q, 2, 0x2, { "Y0", "n" } },
	{ "O", 1, FIT_EK_O, 2, 0, { "Y0", "B" } },
	{ "T", 1, FIT_EK_T, 2, 0, { "Y0", "B" } },
	{ "G", 1, FIT_EK_G, 2, 0, { "Y0", "k" } },
	{ "F", 1, FIT_EK_F, 3, 0x4, { "Y0", "k", "a" } },
	/* impedance.py (elements.py); Zarc's and TLMQ's gamma are CPE
	 * exponents, held to (0, 1] like CPE and La alpha. */
	{ "R", 0, FIT_EK_R, 1, 0, { NULL } },
	{ "C", 0, FIT_EK_C, 1, 0, { NULL } },
	{ "L", 0, FIT_EK_L, 1, 0, { NULL } },
	{ "W", 0, FIT_EK_PY_W, 1, 0, { NULL } },
	{ "Wo", 0, FIT_EK_WO, 2, 0, { NULL } },
	{ "Ws", 0, FIT_EK_WS, 2, 0, { NULL } },
	{ "CPE", 0, FIT_EK_Q, 2, 0x2, { NULL } },
	{ "La", 0, FIT_EK_LA, 2, 0x2, { NULL } },
	{ "G", 0, FIT_EK_PY_G, 2, 0, { NULL } },
	{ "Gs", 0, FIT_EK_GS, 3, 0, { NULL } },
	{ "K", 0, FIT_EK_K, 2, 0, { NULL } },
	{ "Zarc", 0, FIT_EK_ZARC, 3, 0x4, { NULL } },
	{ "TLMQ", 0, FIT_EK_TLMQ, 3, 0x4, { NULL } },
	{ "T", 0, FIT_EK_PY_T, 4, 0, { NULL } },
};
#define FIT_NETYPES (sizeof fit_etypes / sizeof fit_etypes[0])

/* Parser state: pending children of the open groups, one mark per group. */
struct fit_pstate {
	struct impfit_circuit	*c;
	int			 stack[FIT_MAX_NODES];	/* node indices */
	int			 sp;
	int			 gstart[FIT_MAX_NODES];	/* stack mark per group */
	int			 gcol[FIT_MAX_NODES];	/* column of its '(' */
	int			 depth;			/* 0: top level */
	int			 count[26];		/* elements per letter */
	size_t			 codelen;
};

static int
fit_parse_kind(int depth)
{
	/* The top level is in series; each parenthesis toggles. */
	return (depth % 2) ? FIT_NODE_PARALLEL : FIT_NODE_SERIES;
}

/* Append a node; returns its index or -1 when the tree is full. */
static int
fit_parse_node(struct fit_pstate *ps, int kind, int elem)
{
	struct impfit_circuit	*c = ps->c;
	int			 i;

	if (c->nnode >= FIT_MAX_NODES || ps->sp >= FIT_MAX_NODES)
		return (-1);
	i = c->nnode++;
	c->node[i].kind = kind;
	c->node[i].parent = -1;
	c->node[i].elem = elem;
	ps->stack[ps->sp++] = i;
	return (i);
}

/* Make the pending children from stack mark start on a new group of
 * kind; returns 0 or -1 when the tree is full. */
static int
fit_parse_group(struct fit_pstate *ps, int start, int kind)
{
	struct impfit_circuit	*c = ps->c;
	int			 i, k, g;

	if (c->nnode >= FIT_MAX_NODES)
		return (-1);
	g = c->nnode++;
	c->node[g].kind = kind;
	c->node[g].parent = -1;
	c->node[g].elem = -1;
	for (k = start; k < ps->sp; k++) {
		i = ps->stack[k];
		c->node[i].parent = g;
		c->node[i].first = (k == start);
	}
	ps->sp = start;
	ps->stack[ps->sp++] = g;
	return (0);
}

/* Close the innermost CDC group: its pending children become its children. */
static int
fit_parse_close(struct fit_pstate *ps)
{
	return (fit_parse_group(ps, ps->gstart[ps->depth],
	    fit_parse_kind(ps->depth)));
}

/*
 * Add an element of type t named name (NULL: CDC, named by its letter and
 * count) at column col; returns 0 or -1 with err set.
 */
static int
fit_parse_add(struct fit_pstate *ps, const struct fit_etype *t,
    const char *pyname, int col, char *err, size_t errlen)
{
	struct impfit_circuit	*c = ps->c;
	struct fit_elem		*e;
	char			 name[sizeof e->name];
	int			 i, j;

	if (c->nelem >= IMPFIT_MAX_ELEMENTS) {
		snprintf(err, errlen, "too many elements (more than %d) at "
		    "column %d", IMPFIT_MAX_ELEMENTS, col);
		return (-1);
	}
	if (c->nparam + t->np > IMPFIT_MAX_PARAMS) {
		snprintf(err, errlen, "too many parameters (more than %d) at "
		    "column %d", IMPFIT_MAX_PARAMS, col);
		return (-1);
	}
	i = fit_parse_node(ps, FIT_NODE_ELEM, c->nelem);
	if (i < 0) {
		snprintf(err, errlen, "circuit too deep at column %d", col);
		return (-1);
	}
	e = &c->elem[c->nelem++];
	e->kind = t->kind;
	e->p0 = c->nparam;
	e->np = t->np;
	e->node = i;
	/* A local copy: gcc cannot tell e->name from c->pname apart. */
	if (pyname != NULL)
		snprintf(name, sizeof name, "%s", pyname);
	else
		snprintf(name, sizeof name, "%c%d", t->name[0],
		    ps->count[t->name[0] - 'A']++);
	memcpy(e->name, name, sizeof e->name);
	for (j = 0; j < e->np; j++) {
		if (e->np == 1)
			snprintf(c->pname[e->p0], sizeof c->pname[0], "%s",
			    name);
		else if (pyname != NULL)
			/* impedance.py's names: "CPE1_0", "CPE1_1" */
			snprintf(c->pname[e->p0 + j], sizeof c->pname[0],
			    "%s_%d", name, j);
		else
			snprintf(c->pname[e->p0 + j], sizeof c->pname[0],
			    "%s.%s", name, t->suffix[j]);
		c->is_exp[e->p0 + j] = (t->exp >> j) & 1;
	}
	c->nparam += e->np;
	return (0);
}

/* Add CDC element letter at column col; returns 0 or -1 with err set. */
static int
fit_parse_elem(struct fit_pstate *ps, int letter, int col, char *err,
    size_t errlen)
{
	size_t	t;

	for (t = 0; t < FIT_NETYPES; t++)
		if (fit_etypes[t].cdc && fit_etypes[t].name[0] == letter)
			break;
	if (t == FIT_NETYPES) {
		if (isprint(letter))
			snprintf(err, errlen, "unknown element '%c' at column %d",
			    letter, col);
		else
			snprintf(err, errlen, "unknown element '\\x%02x' at "
			    "column %d", letter & 0xff, col);
		return (-1);
	}
	return (fit_parse_add(ps, &fit_etypes[t], NULL, col, err, errlen));
}

static void
fit_parse_emit(struct fit_pstate *ps, int ch)
{
	if (ps->codelen + 1 < sizeof ps->c->code)
		ps->c->code[ps->codelen++] = ch;
	ps->c->code[ps->codelen] = '\0';
}

/* The CDC code into ps; returns 0 or -1 with err set. */
static int
fit_parse_cdc(struct fit_pstate *ps, const char *code, char *err,
    size_t errlen)
{
	const char	*s;
	int		 col, ch;

	for (s = code, col = 1; *s != '\0'; s++, col++) {
		ch = (unsigned char)*s;
		if (isspace(ch))
			continue;
		if (ch == '(') {
			if (ps->depth + 1 >= FIT_MAX_NODES) {
				snprintf(err, errlen, "circuit too deep at "
				    "column %d", col);
				return (-1);
			}
			ps->depth++;
			ps->gstart[ps->depth] = ps->sp;
			ps->gcol[ps->depth] = col;
			fit_parse_emit(ps, '(');
		} else if (ch == ')') {
			if (ps->depth == 0) {
				snprintf(err, errlen, "unbalanced ')' at "
				    "column %d", col);
				return (-1);
			}
			if (ps->sp == ps->gstart[ps->depth]) {
				snprintf(err, errlen, "empty group at column "
				    "%d", ps->gcol[ps->depth]);
				return (-1);
			}
			if (fit_parse_close(ps) != 0) {
				snprintf(err, errlen, "circuit too deep at "
				    "column %d", col);
				return (-1);
			}
			ps->depth--;
			fit_parse_emit(ps, ')');
		} else {
			if (fit_parse_elem(ps, toupper(ch), col, err,
			    errlen) != 0)
				return (-1);
			fit_parse_emit(ps, toupper(ch));
		}
	}
	if (ps->depth > 0) {
		/* Name the innermost '(' left open. */
		snprintf(err, errlen, "missing ')' for '(' at column %d",
		    ps->gcol[ps->depth]);
		return (-1);
	}
	if (ps->c->nelem == 0) {
		snprintf(err, errlen, "empty circuit code");
		return (-1);
	}
	return (0);
}

/*=====================================================================
 * impedance.py's circuit strings: "R0-p(R1,CPE1)-Wo1".  '-' joins in
 * series, p(a, b, ...) in parallel (each of a, b a series chain), every
 * element is a type name and a number.  Recursive descent over the same
 * postfix stack as the CDC parser; the canonical form is the string
 * without blanks, so users see their own syntax back.
 */

struct fit_pycur {
	const char	*s;		/* the whole code */
	size_t		 i;		/* current character */
	int		 depth;		/* open p( */
};

static void
fit_py_blank(struct fit_pycur *cur)
{
	while (isspace((unsigned char)cur->s[cur->i]))
		cur->i++;
}

static int fit_py_chain(struct fit_pstate *, struct fit_pycur *, int,
    char *, size_t);

/* An element name ("CPE1") at the cursor; returns 0 or -1 with err set. */
static int
fit_py_elem(struct fit_pstate *ps, struct fit_pycur *cur, char *err,
    size_t errlen)
{
	const char	*s = cur->s + cur->i;
	char		 name[FIT_MAX_NAME + 1];
	size_t		 nl, nd, t;
	int		 col = (int)cur->i + 1, e;

	for (nl = 0; isalpha((unsigned char)s[nl]); nl++)
		;
	for (nd = 0; isdigit((unsigned char)s[nl + nd]); nd++)
		;
	if (nl == 0) {
		if (s[0] == '\0')
			snprintf(err, errlen, "expected an element at the "
			    "end (column %d)", col);
		else if (isprint((unsigned char)s[0]))
			snprintf(err, errlen, "expected an element at column "
			    "%d, not '%c'", col, s[0]);
		else
			snprintf(err, errlen, "expected an element at column "
			    "%d, not '\\x%02x'", col, s[0] & 0xff);
		return (-1);
	}
	for (t = 0; t < FIT_NETYPES; t++)
		if (!fit_etypes[t].cdc && strlen(fit_etypes[t].name) == nl &&
		    strncmp(fit_etypes[t].name, s, nl) == 0)
			break;
	if (t == FIT_NETYPES) {
		snprintf(err, errlen, "unknown element '%.*s' at column %d",
		    (int)(nl + nd > 16 ? 16 : nl + nd), s, col);
		return (-1);
	}
	if (nd == 0) {
		snprintf(err, errlen, "element '%.*s' at column %d needs a "
		    "number (%.*s0)", (int)nl, s, col, (int)nl, s);
		return (-1);
	}
	if (nl + nd > FIT_MAX_NAME) {
		snprintf(err, errlen, "element name at column %d longer than "
		    "%d characters", col, FIT_MAX_NAME);
		return (-1);
	}
	memcpy(name, s, nl + nd);
	name[nl + nd] = '\0';
	/* Parameter names must say one parameter each (constants, bounds). */
	for (e = 0; e < ps->c->nelem; e++)
		if (strcmp(ps->c->elem[e].name, name) == 0) {
			snprintf(err, errlen, "element '%s' at column %d "
			    "appears twice", name, col);
			return (-1);
		}
	if (fit_parse_add(ps, &fit_etypes[t], name, col, err, errlen) != 0)
		return (-1);
	for (t = 0; t < nl + nd; t++)
		fit_parse_emit(ps, name[t]);
	cur->i += nl + nd;
	return (0);
}

/* One item: p(...) or an element; returns 0 or -1 with err set. */
static int
fit_py_item(struct fit_pstate *ps, struct fit_pycur *cur, char *err,
    size_t errlen)
{
	int	start, col;

	fit_py_blank(cur);
	if (cur->s[cur->i] != 'p' || cur->s[cur->i + 1] != '(')
		return (fit_py_elem(ps, cur, err, errlen));
	col = (int)cur->i + 1;
	/* Each open p( will make a node: deeper than the tree is too deep. */
	if (++cur->depth >= FIT_MAX_NODES) {
		snprintf(err, errlen, "circuit too deep at column %d", col);
		return (-1);
	}
	cur->i += 2;
	fit_parse_emit(ps, 'p');
	fit_parse_emit(ps, '(');
	start = ps->sp;
	for (;;) {
		if (fit_py_chain(ps, cur, 0, err, errlen) != 0)
			return (-1);
		fit_py_blank(cur);
		if (cur->s[cur->i] == ',') {
			cur->i++;
			fit_parse_emit(ps, ',');
			continue;
		}
		if (cur->s[cur->i] == ')')
			break;
		if (cur->s[cur->i] == '\0')
			snprintf(err, errlen, "missing ')' for 'p(' at column "
			    "%d", col);
		else
			snprintf(err, errlen, "expected ',' or ')' at column "
			    "%d", (int)cur->i + 1);
		return (-1);
	}
	cur->i++;
	cur->depth--;
	fit_parse_emit(ps, ')');
	if (fit_parse_group(ps, start, FIT_NODE_PARALLEL) != 0) {
		snprintf(err, errlen, "circuit too deep at column %d", col);
		return (-1);
	}
	return (0);
}

/*
 * A chain of items joined by '-'; a chain of several (or the whole
 * circuit, always) becomes a series group.  Returns 0 or -1.
 */
static int
fit_py_chain(struct fit_pstate *ps, struct fit_pycur *cur, int top, char *err,
    size_t errlen)
{
	int	start = ps->sp;

	for (;;) {
		if (fit_py_item(ps, cur, err, errlen) != 0)
			return (-1);
		fit_py_blank(cur);
		if (cur->s[cur->i] != '-')
			break;
		cur->i++;
		fit_parse_emit(ps, '-');
	}
	if (top || ps->sp - start > 1) {
		if (fit_parse_group(ps, start, FIT_NODE_SERIES) != 0) {
			snprintf(err, errlen, "circuit too deep at column %d",
			    (int)cur->i + 1);
			return (-1);
		}
	}
	return (0);
}

/* The impedance.py code into ps; returns 0 or -1 with err set. */
static int
fit_parse_py(struct fit_pstate *ps, const char *code, char *err,
    size_t errlen)
{
	struct fit_pycur	cur = { code, 0, 0 };

	if (fit_py_chain(ps, &cur, 1, err, errlen) != 0)
		return (-1);
	fit_py_blank(&cur);
	if (code[cur.i] != '\0') {
		if (code[cur.i] == ')')
			snprintf(err, errlen, "unbalanced ')' at column %d",
			    (int)cur.i + 1);
		else
			snprintf(err, errlen, "expected '-' at column %d",
			    (int)cur.i + 1);
		return (-1);
	}
	if (ps->codelen + 1 >= sizeof ps->c->code) {
		snprintf(err, errlen, "circuit code longer than %d characters",
		    (int)sizeof ps->c->code - 2);
		return (-1);
	}
	return (0);
}

/*
 * Which syntax code is in: impedance.py's joins elements with '-' and ','
 * and names each with a number ("R0"), a CDC is letters and parentheses.
 * A code with a stray digit elsewhere ("R(QR)1") stays a CDC, so that its
 * error is the one it always was ("unknown element '1' at column 6").
 */
static bool
fit_code_is_py(const char *code)
{
	const char	*s = code, *t;

	if (strpbrk(code, "-,") != NULL)
		return (true);
	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == 'p' && s[1] == '(')
		return (true);
	for (t = s; isalpha((unsigned char)*t); t++)
		;
	return (t != s && isdigit((unsigned char)*t));
}

/*
 * Parse code into a new circuit.  Returns NULL with a one-line reason in err
 * (columns count characters of code from 1, blanks included).
 */
struct impfit_circuit *
impfit_circuit_parse(const char *code, char *err, size_t errlen)
{
	struct fit_pstate	 ps;
	struct impfit_circuit	*c;
	int			 e, n, rc;

	if (errlen > 0)
		err[0] = '\0';
	if (code == NULL) {
		snprintf(err, errlen, "empty circuit code");
		return (NULL);
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	memset(&ps, 0, sizeof ps);
	ps.c = c;
	if (fit_code_is_py(code))
		rc = fit_parse_py(&ps, code, err, errlen);
	else {
		rc = fit_parse_cdc(&ps, code, err, errlen);
		if (rc == 0 && fit_parse_close(&ps) != 0) {
			snprintf(err, errlen, "circuit too deep");
			rc = -1;
		}
	}
	if (rc != 0)
		goto fail;

	/* Count the parallel groups above each element (fit_init.c). */
	for (e = 0; e < c->nelem; e++) {
		c->elem[e].par_depth = 0;
		for (n = c->node[c->elem[e].node].parent; n >= 0;
		    n = c->node[n].parent)
			if (c->node[n].kind == FIT_NODE_PARALLEL)
				c->elem[e].par_depth++;
	}
	return (c);

fail:
	free(c);
	return (NULL);
}

void
impfit_circuit_free(struct impfit_circuit *c)
{
	free(c);
}

int
impfit_circuit_nparams(const struct impfit_circuit *c)
{
	return (c->nparam);
}

int
impfit_circuit_nelements(const struct impfit_circuit *c)
{
	return (c->nelem);
}

const char *
impfit_circuit_code(const struct impfit_circuit *c)
{
	return (c->code);
}

const char *
impfit_circuit_param_name(const struct impfit_circuit *c, int i)
{
	if (i < 0 || i >= c->nparam)
		return (NULL);
	return (c->pname[i]);
}

const char *
impfit_circuit_element_name(const struct impfit_circuit *c, int e)
{
	if (e < 0 || e >= c->nelem)
		return (NULL);
	return (c->elem[e].name);
}

/* First parameter of element e (and its count in *count); -1 if no such e. */
int
impfit_circuit_element_param(const struct impfit_circuit *c, int e, int *count)
{
	if (e < 0 || e >= c->nelem) {
		if (count != NULL)
			*count = 0;
		return (-1);
	}
	if (count != NULL)
		*count = c->elem[e].np;
	return (c->elem[e].p0);
}

int
impfit_circuit_param_is_exponent(const struct impfit_circuit *c, int i)
{
	if (i < 0 || i >= c->nparam)
		return (0);
	return (c->is_exp[i]);
}

int
impfit_circuit_param_index(const struct impfit_circuit *c, const char *name)
{
	int	i;

	for (i = 0; i < c->nparam; i++)
		if (strcmp(c->pname[i], name) == 0)
			return (i);
	return (-1);
}

int
impfit_bound_check(const struct impfit_circuit *c, int i, double lo, double hi,
    char *err, size_t errlen)
{
	double	top;

	if (i < 0 || i >= c->nparam) {
		snprintf(err, errlen, "no parameter %d", i);
		return (-1);
	}
	top = c->is_exp[i] ? 1 : INFINITY;
	if (lo == hi) {
		if (!(lo > 0) || !(lo <= top)) {
			snprintf(err, errlen, "%s: %g is outside %s", c->pname[i],
			    lo, c->is_exp[i] ? "(0, 1]" : "(0, inf)");
			return (-1);
		}
		return (0);
	}
	if (isnan(lo) || isnan(hi) || !(lo >= 0) || !(lo < hi) ||
	    !(hi <= top) || isinf(lo)) {
		snprintf(err, errlen, "%s: bound [%g, %g] is not within %s "
		    "with low < high", c->pname[i], lo, hi,
		    c->is_exp[i] ? "[0, 1]" : "[0, inf)");
		return (-1);
	}
	return (0);
}
