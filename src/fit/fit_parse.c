/*
 * impcore - fit_parse.c: circuit description codes (CDC, DESIGN section 8).
 *
 * A code such as "R(Q(R(QR)))" is parsed once into a tree stored in postfix
 * order (children before their group, root last), which fit_eval.c walks
 * once per frequency.  Also the accessors of struct fit_circuit.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit/fit_priv.h"

/* The element table: letter, parameter suffixes (NULL: single parameter). */
static const struct {
	char		 letter;
	int		 np;
	const char	*suffix[3];
} fit_elements[] = {
	{ 'R', 1, { NULL } },
	{ 'C', 1, { NULL } },
	{ 'L', 1, { NULL } },
	{ 'W', 1, { NULL } },
	{ 'Q', 2, { "Y0", "n" } },
	{ 'O', 2, { "Y0", "B" } },
	{ 'T', 2, { "Y0", "B" } },
	{ 'G', 2, { "Y0", "k" } },
	{ 'F', 3, { "Y0", "k", "a" } },
};
#define FIT_NELEMENTS (sizeof fit_elements / sizeof fit_elements[0])

/* Parser state: pending children of the open groups, one mark per group. */
struct fit_pstate {
	struct fit_circuit	*c;
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
	struct fit_circuit	*c = ps->c;
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

/* Close the innermost group: its pending children become its children. */
static int
fit_parse_close(struct fit_pstate *ps)
{
	struct fit_circuit	*c = ps->c;
	int			 start = ps->gstart[ps->depth], i, k, g;

	if (c->nnode >= FIT_MAX_NODES)
		return (-1);
	g = c->nnode++;
	c->node[g].kind = fit_parse_kind(ps->depth);
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

/* Add element letter at column col; returns 0 or -1 with err set. */
static int
fit_parse_elem(struct fit_pstate *ps, int letter, int col, char *err,
    size_t errlen)
{
	struct fit_circuit	*c = ps->c;
	struct fit_elem		*e;
	size_t			 t;
	char			 name[sizeof e->name];
	int			 i, j;

	for (t = 0; t < FIT_NELEMENTS; t++)
		if (fit_elements[t].letter == letter)
			break;
	if (t == FIT_NELEMENTS) {
		if (isprint(letter))
			snprintf(err, errlen, "unknown element '%c' at column %d",
			    letter, col);
		else
			snprintf(err, errlen, "unknown element '\\x%02x' at "
			    "column %d", letter & 0xff, col);
		return (-1);
	}
	if (c->nelem >= FIT_MAX_ELEMENTS) {
		snprintf(err, errlen, "too many elements (more than %d) at "
		    "column %d", FIT_MAX_ELEMENTS, col);
		return (-1);
	}
	if (c->nparam + fit_elements[t].np > FIT_MAX_PARAMS) {
		snprintf(err, errlen, "too many parameters (more than %d) at "
		    "column %d", FIT_MAX_PARAMS, col);
		return (-1);
	}
	i = fit_parse_node(ps, FIT_NODE_ELEM, c->nelem);
	if (i < 0) {
		snprintf(err, errlen, "circuit too deep at column %d", col);
		return (-1);
	}
	e = &c->elem[c->nelem++];
	e->letter = letter;
	e->p0 = c->nparam;
	e->np = fit_elements[t].np;
	e->node = i;
	/* A local copy: gcc cannot tell e->name from c->pname apart. */
	snprintf(name, sizeof name, "%c%d", letter, ps->count[letter - 'A']++);
	memcpy(e->name, name, sizeof e->name);
	for (j = 0; j < e->np; j++) {
		if (e->np == 1)
			snprintf(c->pname[e->p0], sizeof c->pname[0], "%s",
			    name);
		else
			snprintf(c->pname[e->p0 + j], sizeof c->pname[0],
			    "%s.%s", name, fit_elements[t].suffix[j]);
		/* CPE n and fractal a are the exponents in (0, 1]. */
		c->is_exp[e->p0 + j] = (letter == 'Q' && j == 1) ||
		    (letter == 'F' && j == 2);
	}
	c->nparam += e->np;
	return (0);
}

static void
fit_parse_emit(struct fit_pstate *ps, int ch)
{
	if (ps->codelen + 1 < sizeof ps->c->code)
		ps->c->code[ps->codelen++] = ch;
	ps->c->code[ps->codelen] = '\0';
}

/*
 * Parse code into a new circuit.  Returns NULL with a one-line reason in err
 * (columns count characters of code from 1, blanks included).
 */
struct fit_circuit *
fit_circuit_parse(const char *code, char *err, size_t errlen)
{
	struct fit_pstate	 ps;
	struct fit_circuit	*c;
	const char		*s;
	int			 col, ch, e, n;

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
	for (s = code, col = 1; *s != '\0'; s++, col++) {
		ch = (unsigned char)*s;
		if (isspace(ch))
			continue;
		if (ch == '(') {
			if (ps.depth + 1 >= FIT_MAX_NODES) {
				snprintf(err, errlen, "circuit too deep at "
				    "column %d", col);
				goto fail;
			}
			ps.depth++;
			ps.gstart[ps.depth] = ps.sp;
			ps.gcol[ps.depth] = col;
			fit_parse_emit(&ps, '(');
		} else if (ch == ')') {
			if (ps.depth == 0) {
				snprintf(err, errlen, "unbalanced ')' at "
				    "column %d", col);
				goto fail;
			}
			if (ps.sp == ps.gstart[ps.depth]) {
				snprintf(err, errlen, "empty group at column "
				    "%d", ps.gcol[ps.depth]);
				goto fail;
			}
			if (fit_parse_close(&ps) != 0) {
				snprintf(err, errlen, "circuit too deep at "
				    "column %d", col);
				goto fail;
			}
			ps.depth--;
			fit_parse_emit(&ps, ')');
		} else {
			if (fit_parse_elem(&ps, toupper(ch), col, err,
			    errlen) != 0)
				goto fail;
			fit_parse_emit(&ps, toupper(ch));
		}
	}
	if (ps.depth > 0) {
		/* Name the innermost '(' left open. */
		snprintf(err, errlen, "missing ')' for '(' at column %d",
		    ps.gcol[ps.depth]);
		goto fail;
	}
	if (c->nelem == 0) {
		snprintf(err, errlen, "empty circuit code");
		goto fail;
	}
	if (fit_parse_close(&ps) != 0) {
		snprintf(err, errlen, "circuit too deep");
		goto fail;
	}

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
fit_circuit_free(struct fit_circuit *c)
{
	free(c);
}

int
fit_circuit_nparams(const struct fit_circuit *c)
{
	return (c->nparam);
}

int
fit_circuit_nelements(const struct fit_circuit *c)
{
	return (c->nelem);
}

const char *
fit_circuit_code(const struct fit_circuit *c)
{
	return (c->code);
}

const char *
fit_circuit_param_name(const struct fit_circuit *c, int i)
{
	if (i < 0 || i >= c->nparam)
		return (NULL);
	return (c->pname[i]);
}

const char *
fit_circuit_element_name(const struct fit_circuit *c, int e)
{
	if (e < 0 || e >= c->nelem)
		return (NULL);
	return (c->elem[e].name);
}

/* First parameter of element e (and its count in *count); -1 if no such e. */
int
fit_circuit_element_param(const struct fit_circuit *c, int e, int *count)
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
fit_circuit_param_is_exponent(const struct fit_circuit *c, int i)
{
	if (i < 0 || i >= c->nparam)
		return (0);
	return (c->is_exp[i]);
}

int
fit_circuit_param_index(const struct fit_circuit *c, const char *name)
{
	int	i;

	for (i = 0; i < c->nparam; i++)
		if (strcmp(c->pname[i], name) == 0)
			return (i);
	return (-1);
}

int
fit_bound_check(const struct fit_circuit *c, int i, double lo, double hi,
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
