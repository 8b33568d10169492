/*
 * impcore - dat_dfr.c: Eco Chemie / Metrohm Autolab .dfr files (FRA).
 *
 * One number a line: "VERSIONx.y", the point count, one more number,
 * then nine lines per point: frequency, Z', -Z'', then Edc, Idc, time
 * and three we do not use.  Blank lines do not count.  A point short of
 * its nine lines is an error naming the line.
 */
#include <math.h>
#include <string.h>

#include "data/dat_priv.h"

#define DAT_DFR_MAXPTS	100000000
#define DAT_DFR_LINES	9	/* lines per point */

/* The number that is all of l (blanks aside) into *v; 1, or 0. */
static int
dat_dfr_num(const struct dat_line *l, double *v)
{
	const char	*s = l->s, *e = l->s + l->len;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return (s < e && dat_num(s, (size_t)(e - s), '.', v) ==
	    (size_t)(e - s) && isfinite(*v));
}

int
dat_dfr_probe(const char *t, size_t len)
{
	struct dat_cur	cur = { t, t + len, 0 };
	struct dat_line	l;
	size_t		n;

	if (!dat_next_nonblank(&cur, &l) || !dat_starts(&l, "VERSION"))
		return (0);
	if (dat_next_nonblank(&cur, &l) &&
	    dat_line_count(&l, DAT_DFR_MAXPTS, &n))
		return (70);
	return (0);
}

int
dat_dfr_read(struct dat_ctx *ctx)
{
	static const char *const what[3] = { "the frequency", "Z'", "-Z''" };
	struct dat_cur	 cur;
	struct dat_line	 l, count;
	size_t		 npt, i, fno = 0;
	double		 v[DAT_DFR_LINES];
	int		 k;

	dat_cur_init(&cur, ctx);
	if (!dat_next_nonblank(&cur, &l) || !dat_starts(&l, "VERSION"))
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "dfr: expected a "
		    "first line 'VERSIONx.y'"));
	if (!dat_next_nonblank(&cur, &count) ||
	    !dat_line_count(&count, DAT_DFR_MAXPTS, &npt) || npt == 0)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "dfr: expected the "
		    "point count after the VERSION line"));
	if (!dat_next_nonblank(&cur, &l) || !dat_dfr_num(&l, &v[0]))
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "dfr: expected a "
		    "number after the point count"));
	for (i = 0; i < npt; i++) {
		for (k = 0; k < DAT_DFR_LINES; k++) {
			if (!dat_next_nonblank(&cur, &l))
				return (dat_fail(ctx, DAT_BROKEN, cur.no, "dfr: "
				    "the count (line %zu) says %zu points, "
				    "the file ends in point %zu", count.no,
				    npt, i + 1));
			if (!dat_dfr_num(&l, &v[k]))
				return (dat_fail(ctx, DAT_BROKEN, l.no, "dfr: "
				    "expected a number (%s of point %zu)",
				    k < 3 ? what[k] : "a value", i + 1));
			if (k == 0)
				fno = l.no;
		}
		if (!(v[0] > 0))
			return (dat_fail(ctx, DAT_BROKEN, fno, "dfr: "
			    "expected a frequency > 0, found %g", v[0]));
		if (dat_push(ctx, v[0], v[1], -v[2], ctx->key, fno) != 0)
			return (-1);
	}
	return (0);
}
