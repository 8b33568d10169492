/*
 * impcore - dat_p00.c: .P00 files (Parstat/VersaStudio-era text exports).
 *
 * A few lines of free text (procedure, dates, currents, a description),
 * the tab-separated column names "f/Hz  Z'/Ohm  -Z''/Ohm  time/s  Edc/V
 * Idc/A", a line holding the point count, then that many tab-separated
 * rows.  The columns are taken from the names (the third is -Z''); the
 * count is checked: a short file is an error, not a smaller spectrum.
 */
#include <string.h>

#include "data/dat_priv.h"

#define DAT_P00_MAXPTS	100000000

/* Is l the column names of a P00 table (f/Hz first)? c filled when so. */
static int
dat_p00_names(const struct dat_line *l, struct dat_cols *c)
{
	return (dat_starts(l, "f/Hz") && dat_header(l, DAT_D_TAB, c));
}

int
dat_p00_probe(const char *t, size_t len)
{
	struct dat_cur	cur = { t, t + len, 0 };
	struct dat_line	l;
	struct dat_cols	c;
	size_t		n;

	while (cur.no < 40 && dat_next(&cur, &l))
		if (dat_p00_names(&l, &c))
			return (dat_next_nonblank(&cur, &l) &&
			    dat_line_count(&l, DAT_P00_MAXPTS, &n) ? 70 : 0);
	return (0);
}

int
dat_p00_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, sub, peek;
	struct dat_line	 l, row;
	struct dat_cols	 c;
	size_t		 npt, got;
	int		 rows;
	char		 dec;

	dat_cur_init(&cur, ctx);
	for (;;) {
		if (!dat_next(&cur, &l))
			return (dat_fail(ctx, DAT_BROKEN, cur.no, "p00: expected "
			    "the column names (f/Hz, Z'/Ohm, -Z''/Ohm), found "
			    "none"));
		if (dat_p00_names(&l, &c))
			break;
	}
	if (!dat_next_nonblank(&cur, &l) ||
	    !dat_line_count(&l, DAT_P00_MAXPTS, &npt) || npt == 0)
		return (dat_fail(ctx, DAT_BROKEN, l.no, "p00: expected the "
		    "point count after the column names"));
	got = dat_cur_rows(&cur, npt, &sub);
	peek = sub;
	if (dat_next_nonblank(&peek, &row)) {
		c.delim = dat_guess_delim(&row, &dec);
		c.dec = dec;
	}
	if ((rows = dat_table(ctx, &sub, &c, 0, "p00")) < 0)
		return (-1);
	if (got < npt || (size_t)rows != npt)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "p00: the count "
		    "(line %zu) says %zu points, found %zu", l.no, npt,
		    got < npt ? got : (size_t)rows));
	return (0);
}
