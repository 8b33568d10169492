/*
 * impcore - dat_mpt.c: BioLogic EC-Lab .mpt (ASCII export).
 *
 * "EC-Lab ASCII FILE", then "Nb header lines : N": line N names the
 * columns (tab-separated: freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm, ...), the data
 * follows.  An export without the header starts with the column line.
 * EC-Lab writes the decimal mark of the PC's locale.  A file may hold
 * several spectra (loops: "cycle number" changes, or the sweep starts
 * again); rows of frequency 0 belong to another technique of the same
 * run (an OCV before the PEIS) and are skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "data/dat_priv.h"

int
dat_mpt_probe(const char *t, size_t len)
{
	struct dat_line	l = { t, len, 1 };

	if (dat_starts(&l, "EC-Lab ASCII FILE") ||
	    dat_starts(&l, "BT-Lab ASCII FILE"))
		return (100);
	if (dat_starts(&l, "freq/Hz") && dat_contains(t, len, "Re(Z)/Ohm"))
		return (70);
	return (0);
}

int
dat_mpt_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, save;
	struct dat_line	 l;
	struct dat_cols	 c;
	size_t		 nhdr = 0, i;
	char		 dec = '.';

	dat_cur_init(&cur, ctx);
	if (!dat_next(&cur, &l))
		return (dat_fail(ctx, DAT_BROKEN, 0, "biologic: empty"));
	if (dat_starts(&l, "EC-Lab") || dat_starts(&l, "BT-Lab")) {
		if (!dat_next(&cur, &l) || !dat_starts(&l, "Nb header lines"))
			return (dat_fail(ctx, DAT_BROKEN, l.no, "biologic: "
			    "expected 'Nb header lines : N'"));
		for (i = 0; i < l.len && (l.s[i] < '0' || l.s[i] > '9'); i++)
			;
		for (; i < l.len && l.s[i] >= '0' && l.s[i] <= '9'; i++)
			nhdr = nhdr * 10 + (size_t)(l.s[i] - '0');
		if (nhdr < 3 || nhdr > 100000)
			return (dat_fail(ctx, DAT_BROKEN, l.no, "biologic: "
			    "expected a number of header lines >= 3"));
		while (cur.no < nhdr - 1)
			if (!dat_next(&cur, &l))
				return (dat_fail(ctx, DAT_BROKEN, cur.no,
				    "biologic: the file ends inside its "
				    "%zu header lines", nhdr));
		if (!dat_next(&cur, &l))
			return (dat_fail(ctx, DAT_BROKEN, cur.no, "biologic: "
			    "the file ends inside its %zu header lines",
			    nhdr));
	}
	if (!dat_header(&l, DAT_D_TAB, &c))
		return (dat_fail(ctx, DAT_BROKEN, l.no, "biologic: expected "
		    "the column names freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm (or "
		    "|Z|/Ohm, Phase(Z)/deg)"));
	save = cur;
	while (dat_next(&save, &l))
		if (!dat_blank(&l)) {
			(void)dat_guess_delim(&l, &dec);
			break;
		}
	c.dec = dec;
	c.delim = DAT_D_TAB;
	if (dat_table(ctx, &cur, &c, DAT_T_SKIPZERO | DAT_T_SWEEPS,
	    "biologic") < 0)
		return (-1);
	return (0);
}
