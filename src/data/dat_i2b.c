/*
 * impcore - dat_i2b.c: Elchemea Analytical .i2b files.
 *
 * Free text first (a few lines of metadata), then a line holding the
 * point count, then that many rows "f Z' Z''" separated by blanks (Z''
 * negative when capacitive).  The metadata has no fixed length: the
 * table starts at the first count line followed by a row of three
 * numbers (or, with no count line, at the first such row).  The signature
 * is weak, so the probe claims little: a file another reader knows by
 * content is that reader's.
 */
#include <string.h>

#include "data/dat_priv.h"

#define DAT_I2B_MAXPTS	100000000

/* Is l a row of exactly three numbers? */
static int
dat_i2b_row(const struct dat_line *l)
{
	const char	*fs[4];
	size_t		 fl[4];
	double		 v;
	int		 n, i;
	char		 dec;

	(void)dat_guess_delim(l, &dec);
	if ((n = dat_split(l, DAT_D_WS, fs, fl, 4)) != 3)
		return (0);
	for (i = 0; i < n; i++)
		if (dat_num(fs[i], fl[i], dec, &v) != fl[i])
			return (0);
	return (1);
}

/*
 * Find the table: *cur after the count line (*npt its count, 0 for none),
 * at the first row.  Returns 1, or 0 when there is none in the first
 * maxlines lines (0: all).
 */
static int
dat_i2b_find(struct dat_cur *cur, size_t maxlines, size_t *npt)
{
	struct dat_cur	 prev, next;
	struct dat_line	 l, r;
	size_t		 n;

	for (;;) {
		prev = *cur;
		if ((maxlines > 0 && cur->no >= maxlines) ||
		    !dat_next(cur, &l))
			return (0);
		if (dat_blank(&l))
			continue;
		if (dat_line_count(&l, DAT_I2B_MAXPTS, &n) && n > 0) {
			next = *cur;
			if (dat_next_nonblank(&next, &r) && dat_i2b_row(&r)) {
				*npt = n;
				return (1);
			}
		}
		if (dat_i2b_row(&l)) {
			*cur = prev;
			*npt = 0;
			return (1);
		}
	}
}

int
dat_i2b_probe(const char *t, size_t len)
{
	struct dat_cur	cur = { t, t + len, 0 };
	struct dat_line	l;
	size_t		n;

	/* text first, then a count and rows of three */
	if (!dat_next_nonblank(&cur, &l) || dat_i2b_row(&l) ||
	    dat_line_count(&l, DAT_I2B_MAXPTS, &n))
		return (0);
	if (dat_i2b_find(&cur, 40, &n) && n > 0)
		return (20);
	return (0);
}

int
dat_i2b_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, sub, peek;
	struct dat_line	 row;
	struct dat_cols	 c;
	size_t		 npt, got = 0, cno;
	int		 rows;
	char		 dec;

	dat_cur_init(&cur, ctx);
	if (!dat_i2b_find(&cur, 0, &npt))
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "i2b: expected the "
		    "point count and rows of three numbers (f, Z', Z''), "
		    "found none"));
	cno = cur.no;
	if (npt > 0)
		got = dat_cur_rows(&cur, npt, &sub);
	else
		sub = cur;
	dat_cols_fixed(&c, 0, 1, 2);
	peek = sub;
	if (dat_next_nonblank(&peek, &row)) {
		(void)dat_guess_delim(&row, &dec);
		c.dec = dec;
	}
	if ((rows = dat_table(ctx, &sub, &c, 0, "i2b")) < 0)
		return (-1);
	if (npt > 0 && (got < npt || (size_t)rows != npt))
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "i2b: the count "
		    "(line %zu) says %zu points, found %zu", cno, npt,
		    got < npt ? got : (size_t)rows));
	return (0);
}
