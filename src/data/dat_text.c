/*
 * impcore - dat_text.c: delimited text, and the instruments whose exports
 * are delimited text with a header of their own (CH Instruments, Parstat,
 * Autolab/NOVA, PowerSuite).
 *
 * The table is found, not assumed: lines before the first row of numbers
 * are comments, titles or settings, and the last of them that names the
 * columns (dat_header) says where the values are; with no such line the
 * columns are frequency, Z', Z''.  The separator and decimal mark come
 * from the first row.  After the first row, a line of text (a repeated
 * header, "Sweep 2") starts another spectrum, as does a sweep that starts
 * again; a Spectrum_Number column numbers them instead.
 */
#include <string.h>

#include "data/dat_priv.h"

/* Does one of the first 40 lines start with a and contain b (and c)? */
static int
dat_text_line_has(const char *t, size_t len, const char *a, const char *b,
    const char *c)
{
	struct dat_cur	cur = { t, t + len, 0 };
	struct dat_line	l;

	while (cur.no < 40 && dat_next(&cur, &l))
		if (dat_starts(&l, a) && dat_contains(l.s, l.len, b) &&
		    (c == NULL || dat_contains(l.s, l.len, c)))
			return (1);
	return (0);
}

int
dat_text_probe_chi(const char *t, size_t len)
{
	if (dat_text_line_has(t, len, "Freq/Hz", "Z'/ohm", NULL) ||
	    (dat_text_line_has(t, len, "A.C. Impedance", "", NULL) &&
	    dat_text_line_has(t, len, "Freq/Hz", "", NULL)))
		return (50);
	return (0);
}

int
dat_text_probe_parstat(const char *t, size_t len)
{
	if (dat_text_line_has(t, len, "Potential (V)", "Frequency (Hz)",
	    "Zre (ohms)"))
		return (50);
	return (0);
}

int
dat_text_probe_autolab(const char *t, size_t len)
{
	if (dat_text_line_has(t, len, "Index", "Frequency (Hz)", "Z'") ||
	    dat_text_line_has(t, len, "Frequency (Hz)", "Z' (\xce\xa9)", NULL) ||
	    dat_text_line_has(t, len, "Frequency (Hz)", "-Z'' (", NULL))
		return (50);
	return (0);
}

int
dat_text_probe_powersuite(const char *t, size_t len)
{
	if (dat_text_line_has(t, len, "Frequency", "Zre", "Zimg"))
		return (40);
	return (0);
}

static int
dat_text(struct dat_ctx *ctx, unsigned flags, const char *what)
{
	struct dat_cur	 cur, data;
	struct dat_line	 l, hdr;
	struct dat_cols	 c, hc, tc;
	const char	*fs[2];
	size_t		 fl[2];
	int		 have = 0, delim, n;
	char		 dec;
	double		 f;

	dat_cur_init(&cur, ctx);
	for (;;) {
		data = cur;
		if (!dat_next(&cur, &l))
			return (dat_fail(ctx, ctx->len > 0 && memchr(ctx->text,
			    '\0', ctx->len) ? DAT_UNKNOWN : DAT_BROKEN,
			    have ? hdr.no : 0, "%s: expected rows of numbers "
			    "(frequency, Z', Z'') %s, found none", what,
			    have ? "after the column names" : "or a line "
			    "naming the columns (f, Z', Z'' or |Z|, phase)"));
		if (dat_blank(&l) || l.s[0] == '#')
			continue;
		delim = dat_guess_delim(&l, &dec);
		n = dat_split(&l, delim, fs, fl, 2);
		if (n > 0 && fl[0] > 0 && dat_num(fs[0], fl[0], dec, &f) ==
		    fl[0])
			break;
		/* names have blanks: the data's separator is not known yet */
		if (dat_header(&l, delim, &tc) ||
		    dat_header(&l, DAT_D_TAB, &tc) ||
		    dat_header(&l, DAT_D_SEMI, &tc) ||
		    dat_header(&l, DAT_D_COMMA, &tc)) {
			hc = tc;
			hdr = l;
			have = 1;
		}
	}
	/* the names split as the rows are (else as they were found) */
	if (have && !dat_header(&hdr, delim, &c))
		c = hc;
	else if (!have)
		dat_cols_fixed(&c, 0, 1, 2);
	c.delim = delim;
	c.dec = dec;
	if (dat_table(ctx, &data, &c, flags | DAT_T_TEXTSEP | DAT_T_SWEEPS,
	    what) < 0)
		return (-1);
	return (0);
}

int
dat_text_read(struct dat_ctx *ctx)
{
	return (dat_text(ctx, 0, "text"));
}

int
dat_text_read_instr(struct dat_ctx *ctx)
{
	return (dat_text(ctx, DAT_T_SKIPZERO, "text"));
}
