/*
 * impcore - dat_ivium.c: Ivium IviumSoft files, .idf (one spectrum) and
 * .ids (a sequence of them).
 *
 * A binary preamble, then text lines "key=value" (Title=, Peaks=false,
 * Mconfig=0 ...) and, per measurement, a list of data objects: the line
 * "primary_data", its column count (3), its point count, then that many
 * rows "Z' Z'' f" (blanks or a tab between them, Z'' negative when
 * capacitive).  Other data objects follow (osc_data: the time signals),
 * with counts of their own: we read only the points primary_data counts,
 * and each primary_data is a spectrum.
 */
#include <stdbool.h>
#include <string.h>

#include "data/dat_priv.h"

#define DAT_IVIUM_MAXPTS	100000000	/* a count past it is no count */

/* Is l, blanks around it aside, word? */
static bool
dat_ivium_is(const struct dat_line *l, const char *word)
{
	size_t	n = strlen(word);

	return (dat_starts(l, word) && (l->len == n ||
	    dat_blank(&(struct dat_line){ l->s + n, l->len - n, l->no })));
}

int
dat_ivium_probe(const char *t, size_t len)
{
	if (dat_contains(t, len, "\nprimary_data"))
		return (90);
	/* a long preamble pushes primary_data past what the probes see;
	 * the file's first text lines are these flags */
	if (dat_contains(t, len, "\nPeaks=") &&
	    dat_contains(t, len, "\nCorrosion=") &&
	    dat_contains(t, len, "\nSolarcell="))
		return (70);
	return (0);
}

int
dat_ivium_read(struct dat_ctx *ctx)
{
	struct dat_cur	 cur, sub, peek;
	struct dat_line	 l, row;
	struct dat_cols	 c;
	size_t		 ncol, npt, got;
	int		 found = 0, rows;

	dat_cur_init(&cur, ctx);
	while (dat_next(&cur, &l)) {
		if (!dat_ivium_is(&l, "primary_data"))
			continue;
		found++;
		if (!dat_next_nonblank(&cur, &l) ||
		    !dat_line_count(&l, 64, &ncol) || ncol < 3)
			return (dat_fail(ctx, DAT_BROKEN, l.no, "ivium: "
			    "expected the column count (3) after "
			    "primary_data"));
		if (!dat_next_nonblank(&cur, &l) ||
		    !dat_line_count(&l, DAT_IVIUM_MAXPTS, &npt) || npt == 0)
			return (dat_fail(ctx, DAT_BROKEN, l.no, "ivium: "
			    "expected the point count of primary_data"));
		got = dat_cur_rows(&cur, npt, &sub);
		dat_cols_fixed(&c, 2, 0, 1);
		/* decimal commas, if a locale wrote them */
		peek = sub;
		if (dat_next_nonblank(&peek, &row) &&
		    memchr(row.s, ',', row.len) != NULL &&
		    memchr(row.s, '.', row.len) == NULL)
			c.dec = ',';
		rows = dat_table(ctx, &sub, &c, 0, "ivium primary_data");
		if (rows < 0)
			return (-1);
		if (got < npt || (size_t)rows != npt)
			return (dat_fail(ctx, DAT_BROKEN, cur.no, "ivium: "
			    "primary_data (line %zu) counts %zu points, "
			    "found %zu", l.no, npt, got < npt ? got :
			    (size_t)rows));
		dat_new_spectrum(ctx);
	}
	if (found == 0)
		return (dat_fail(ctx, DAT_BROKEN, cur.no, "ivium: expected a "
		    "line 'primary_data', found none"));
	return (0);
}
