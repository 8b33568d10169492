/*
 * impcore - dat_gamry.c: Gamry Framework .DTA files.
 *
 * A DTA file is tagged lines ("TAG<TAB>KIND<TAB>value...") and tables: a
 * tag line "ZCURVE<TAB>TABLE", a line of column names, a line of units,
 * then rows that start with a tab; the first line that does not start
 * with a blank ends the table (an aborted experiment ends it with
 * EXPERIMENTABORTED).  Each ZCURVE table is a spectrum.  With drift
 * correction (DRIFTCOR SELECTOR 1) the table keeps the measured impedance
 * in Zreal/Zimag and adds the corrected one in ZrealDrCor/ZimagDrCor
 * (with ZmodDrCor, ZphzDrCor), as Framework 7.9 writes it and pyimpspec
 * reads it: we give the corrected spectrum first, then the uncorrected.
 * (The first version of this reader guessed the opposite layout, a second
 * "Zreal..." pair uncorrected, with no file to check it against.)
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

/* The column named name exactly (case aside, blanks around it), or -1. */
static int
dat_gamry_col(const struct dat_line *hdr, const char *name)
{
	const char	*fs[64];
	size_t		 fl[64], n = strlen(name);
	int		 nf, i;

	nf = dat_split(hdr, DAT_D_TAB, fs, fl, 64);
	for (i = 0; i < nf; i++)
		if (fl[i] == n && strncasecmp(fs[i], name, n) == 0)
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
		/* drift correction: the corrected pair first, as its own
		 * spectrum, then the measured one */
		c2 = c;
		c2.re = dat_gamry_col(&hdr, "ZrealDrCor");
		c2.im = dat_gamry_col(&hdr, "ZimagDrCor");
		c2.mod = c2.ph = -1;
		c2.im_neg = 0;
		if (c2.re >= 0 && c2.im >= 0) {
			start = cur;
			if (dat_table(ctx, &start, &c2, DAT_T_INDENTED,
			    "gamry ZCURVE (drift-corrected)") < 0)
				return (-1);
			dat_new_spectrum(ctx);
		}
		if (dat_table(ctx, &cur, &c, DAT_T_INDENTED, "gamry ZCURVE") <
		    0)
			return (-1);
		dat_new_spectrum(ctx);
	}
	if (tables == 0)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "gamry: expected a "
		    "table 'ZCURVE<TAB>TABLE', found none"));
	return (0);
}
