/*
 * impcore - dat_par.c: Princeton Applied Research VersaStudio .par files.
 *
 * XML-like sections; each <SegmentN> has "Definition=" naming its
 * comma-separated columns (Frequency(Hz), Z Real, Z Imag among many),
 * then rows up to </SegmentN>.  Each segment with impedance columns is a
 * spectrum; segments of other techniques, and their rows of frequency 0,
 * are skipped.
 */
#include <string.h>

#include "data/dat_priv.h"

int
dat_par_probe(const char *t, size_t len)
{
	struct dat_line	l = { t, len, 1 };

	if (dat_starts(&l, "<Application>") &&
	    (dat_contains(t, len, "VersaStudio") ||
	    dat_contains(t, len, "<Segment")))
		return (80);
	if (dat_starts(&l, "<Application>"))
		return (30);
	return (0);
}

int
dat_par_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, save;
	struct dat_line	 l, d;
	struct dat_cols	 c;
	int		 segs = 0, eis = 0;
	char		 dec;

	dat_cur_init(&cur, ctx);
	while (dat_next(&cur, &l)) {
		if (!dat_starts(&l, "<Segment"))
			continue;
		segs++;
		while (dat_next(&cur, &l) && !dat_starts(&l, "Definition=") &&
		    !dat_starts(&l, "</Segment"))
			;
		if (!dat_starts(&l, "Definition="))
			continue;
		d = l;
		while (d.len > 0 && *d.s != '=')
			d.s++, d.len--;
		d.s++, d.len--;
		if (!dat_header(&d, DAT_D_COMMA, &c))
			continue;	/* not an impedance segment */
		eis++;
		save = cur;
		dec = '.';
		while (dat_next(&save, &l))
			if (!dat_blank(&l)) {
				(void)dat_guess_delim(&l, &dec);
				break;
			}
		c.dec = dec == ',' ? '.' : dec;	/* commas separate here */
		c.delim = DAT_D_COMMA;
		if (dat_table(ctx, &cur, &c, DAT_T_SKIPZERO | DAT_T_STOPTAG,
		    "versastudio segment") < 0)
			return (-1);
		dat_new_spectrum(ctx);
	}
	if (eis == 0)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "versastudio: "
		    "expected a <Segment> whose Definition= names "
		    "Frequency(Hz), Z Real, Z Imag (%d segments)", segs));
	return (0);
}
