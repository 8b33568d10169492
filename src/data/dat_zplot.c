/*
 * impcore - dat_zplot.c: Scribner ZPlot/ZView files (.z) and their DOS-era
 * relatives.
 *
 * "ZPLOT2 ASCII": "key: value" header lines, the column names (Freq(Hz),
 * Ampl, Bias, Time(Sec), Z'(a), Z''(b), ...) and "End Comments", then
 * tab-separated rows.  "ZPlotW Data File" and "Z60W Data File" (which
 * impedance.py reads as Autolab): a few quoted lines, a line of settings,
 * the point count, the quoted column names, then comma-separated rows.
 * The columns come from the names; without names, 0, 4 and 5.
 */
#include <string.h>

#include "data/dat_priv.h"

int
dat_zplot_probe(const char *t, size_t len)
{
	struct dat_line	l = { t, len, 1 };

	if (dat_starts(&l, "ZPLOT2 ASCII") ||
	    dat_starts(&l, "ZPlotW Data File") ||
	    dat_starts(&l, "Z60W Data File") ||
	    dat_starts(&l, "ZView Data File"))
		return (100);
	return (0);
}

/* l without the double quotes around all of it. */
static struct dat_line
dat_zplot_unquote(struct dat_line l)
{
	while (l.len > 0 && (l.s[0] == ' ' || l.s[0] == '\t'))
		l.s++, l.len--;
	while (l.len > 0 && (l.s[l.len - 1] == ' ' || l.s[l.len - 1] == '\t'))
		l.len--;
	if (l.len >= 2 && l.s[0] == '"' && l.s[l.len - 1] == '"')
		l.s++, l.len -= 2;
	return (l);
}

int
dat_zplot_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, data, save;
	struct dat_line	 l, u;
	struct dat_cols	 c, h;
	int		 found = 0, have = 0;
	char		 dec;

	dat_cols_fixed(&c, 0, 4, 5);
	dat_cur_init(&data, ctx);
	/* the data start after "End Comments", else after the names */
	dat_cur_init(&cur, ctx);
	while (dat_next(&cur, &l)) {
		u = dat_zplot_unquote(l);
		if (dat_starts(&u, "End Comments")) {
			found = 1;
			data = cur;
			break;
		}
		if (dat_header(&u, DAT_D_TAB, &h)) {
			c = h;
			have = 1;
			data = cur;
		}
	}
	if (!found && !have)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "zplot: expected "
		    "'End Comments' or the column names (Freq(Hz) ... Z'(a) "
		    "Z''(b)), found neither"));
	if (!found)
		found = have;
	save = data;
	dec = '.';
	while (dat_next(&save, &l))
		if (!dat_blank(&l)) {
			c.delim = dat_guess_delim(&l, &dec);
			break;
		}
	c.dec = dec;
	if (dat_table(ctx, &data, &c, DAT_T_SWEEPS, "zplot") < 0)
		return (-1);
	return (0);
}
