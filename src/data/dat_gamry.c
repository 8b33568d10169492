/*
 * impcore - dat_gamry.c: Gamry Framework .DTA files.
 *
 * A DTA file is tagged lines ("TAG<TAB>KIND<TAB>value...") and tables: a
 * tag line "ZCURVE<TAB>TABLE", a line of column names, a line of units,
 * then rows that start with a tab; the first line that does not start
 * with a blank ends the table (an aborted experiment ends it with
 * EXPERIMENTABORTED).  Each ZCURVE table is a spectrum.  With drift
 * correction the table carries the corrected impedance in Zreal/Zimag
 * and the uncorrected one in a second Zreal.../Zimag... pair of columns:
 * we give the corrected spectrum first, then the uncorrected.
 */
#include <string.h>
#include <strings.h>

#include "data/dat_priv.h"

int
dat_gamry_probe(const char *t, size_t len)
{
	struct dat_line	l = { t, len, 1 };

	if (dat_starts(&l, "EXPLAIN"))
		return (100);
	if (dat_contains(t, len, "ZCURVE\tTABLE"))
		return (90);
	return (0);
}

/* The column of the second field named prefix... after first, or -1. */
static int
dat_gamry_second(const struct dat_line *hdr, const char *prefix, int first)
{
	const char	*fs[64];
	size_t		 fl[64], n = strlen(prefix);
	int		 nf, i;

	nf = dat_split(hdr, DAT_D_TAB, fs, fl, 64);
	for (i = first + 1; i < nf; i++)
		if (fl[i] >= n && strncasecmp(fs[i], prefix, n) == 0)
			return (i);
	return (-1);
}

int
dat_gamry_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, start;
	struct dat_line	 l, hdr;
	struct dat_cols	 c, c2;
	char		 dec;
	double		 f;
	int		 tables = 0;

	dat_cur_init(&cur, ctx);
	while (dat_next(&cur, &l)) {
		if (!dat_starts(&l, "ZCURVE") || l.len < 7 ||
		    (l.s[6] != '\t' && l.s[6] != ' '))
			continue;
		tables++;
		if (!dat_next(&cur, &hdr) || !dat_header(&hdr, DAT_D_TAB, &c))
			return (dat_fail(ctx, DAT_BROKEN, l.no + 1, "gamry: "
			    "expected the ZCURVE column names (Freq, Zreal, "
			    "Zimag or Zmod, Zphz)"));
		/* the units line, then rows that start with a blank */
		start = cur;
		if (dat_next(&cur, &l)) {
			const char *fs[4];
			size_t fl[4];

			if (dat_split(&l, DAT_D_TAB, fs, fl, 4) > 0 &&
			    dat_num(fs[0], fl[0], '.', &f) == fl[0] &&
			    fl[0] > 0)
				cur = start;	/* no units line */
		}
		start = cur;
		if (dat_next(&start, &l)) {
			(void)dat_guess_delim(&l, &dec);
			c.dec = dec;
		}
		c.delim = DAT_D_TAB;
		start = cur;
		if (dat_table(ctx, &cur, &c, DAT_T_INDENTED, "gamry ZCURVE") <
		    0)
			return (-1);
		dat_new_spectrum(ctx);
		/* drift correction: the uncorrected pair, as its own spectrum */
		c2 = c;
		c2.re = c.re >= 0 ? dat_gamry_second(&hdr, "Zreal", c.re) : -1;
		c2.im = c.im >= 0 ? dat_gamry_second(&hdr, "Zimag", c.im) : -1;
		if (c2.re >= 0 && c2.im >= 0) {
			if (dat_table(ctx, &start, &c2, DAT_T_INDENTED,
			    "gamry ZCURVE (uncorrected)") < 0)
				return (-1);
			dat_new_spectrum(ctx);
		}
	}
	if (tables == 0)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "gamry: expected a "
		    "table 'ZCURVE<TAB>TABLE', found none"));
	return (0);
}
