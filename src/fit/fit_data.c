/*
 * impcore - fit_data.c: spectrum files.  Three columns (frequency, Z', Z'')
 * separated by blanks, tabs, commas or semicolons, with header and comment
 * lines skipped; or the CSV layout "Frequency_Hz,Z_real,Z_imag,
 * Spectrum_Number" holding several spectra.
 *
 * A line is data when its first field is a number.  Such a line must then
 * be a good point: a malformed, non-finite or non-positive-frequency line is
 * an error naming file and line, never silently dropped (reffit.py drops
 * them; on well-formed files both read the same points).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>

#include "impfit.h"

#define FIT_DATA_MAXFIELDS	8

/* Rows read so far (all spectra). */
struct fit_rows {
	double	*v;		/* 4 per row: f, z', z'', number */
	size_t	 n, cap;
};

/* Split line into at most max fields; returns the field count. */
static int
fit_data_split(char *line, char **field, int max)
{
	int	n = 0;
	char	*s = line;

	for (;;) {
		while (*s != '\0' && strchr(" \t\r\n\f\v,;", *s) != NULL)
			s++;
		if (*s == '\0' || n == max)
			break;
		field[n++] = s;
		while (*s != '\0' && strchr(" \t\r\n\f\v,;", *s) == NULL)
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	return (n);
}

/* Whole-field number; 0 on success. */
static int
fit_data_number(const char *s, double *v)
{
	char	*end;

	errno = 0;
	*v = strtod(s, &end);
	if (end == s || *end != '\0')
		return (-1);
	return (0);
}

/* Field equal to name, ignoring case and surrounding double quotes. */
static bool
fit_data_is(const char *field, const char *name)
{
	size_t	len = strlen(field);

	if (len >= 2 && field[0] == '"' && field[len - 1] == '"')
		return (strlen(name) == len - 2 &&
		    strncasecmp(field + 1, name, len - 2) == 0);
	return (strcasecmp(field, name) == 0);
}

static int
fit_data_push(struct fit_rows *rows, const double *v)
{
	double	*nv;
	size_t	 ncap;

	if (rows->n == rows->cap) {
		ncap = rows->cap ? 2 * rows->cap : 256;
		if ((nv = realloc(rows->v, ncap * 4 * sizeof *nv)) == NULL)
			return (-1);
		rows->v = nv;
		rows->cap = ncap;
	}
	memcpy(rows->v + rows->n * 4, v, 4 * sizeof *v);
	rows->n++;
	return (0);
}

/*
 * Parse one line (number lineno) of the file.  Returns 0 (added or
 * skipped) or -1 with err set.  *csv tells the layout; a header line seen
 * before any data switches it on.
 */
static int
fit_data_line(const char *path, size_t lineno, char *line, int *csv,
    struct fit_rows *rows, char *err, size_t errlen)
{
	static const char *const what[] = { "frequency", "Z'", "Z''" };
	char	*field[FIT_DATA_MAXFIELDS];
	double	 v[4];
	int	 nf, i, want;

	nf = fit_data_split(line, field, FIT_DATA_MAXFIELDS);
	if (nf == 0)
		return (0);
	if (nf >= 4 && rows->n == 0 && fit_data_is(field[0], "Frequency_Hz") &&
	    fit_data_is(field[1], "Z_real") && fit_data_is(field[2], "Z_imag") &&
	    fit_data_is(field[3], "Spectrum_Number")) {
		*csv = 1;
		return (0);
	}
	if (fit_data_number(field[0], &v[0]) != 0)
		return (0);		/* header or comment */
	want = *csv ? 4 : 3;
	if (nf < want) {
		snprintf(err, errlen, "%s:%zu: %d fields, need %d", path,
		    lineno, nf, want);
		return (-1);
	}
	for (i = 0; i < 3; i++) {
		if (fit_data_number(field[i], &v[i]) != 0) {
			snprintf(err, errlen, "%s:%zu: %s '%.20s' is not a "
			    "number", path, lineno, what[i], field[i]);
			return (-1);
		}
		if (!isfinite(v[i])) {
			snprintf(err, errlen, "%s:%zu: %s is not finite",
			    path, lineno, what[i]);
			return (-1);
		}
	}
	if (!(v[0] > 0)) {
		snprintf(err, errlen, "%s:%zu: frequency %g is not positive",
		    path, lineno, v[0]);
		return (-1);
	}
	v[3] = 0;
	if (*csv) {
		if (fit_data_number(field[3], &v[3]) != 0 || v[3] != floor(v[3]) ||
		    fabs(v[3]) > 2e9) {
			snprintf(err, errlen, "%s:%zu: Spectrum_Number '%.20s' "
			    "is not an integer", path, lineno, field[3]);
			return (-1);
		}
	}
	if (fit_data_push(rows, v) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return (-1);
	}
	return (0);
}

/* Group rows into spectra by number, in order of first appearance. */
static int
fit_data_group(struct fit_rows *rows, struct impfit_spectrum **out)
{
	struct impfit_spectrum	*sp = NULL, *s;
	size_t			 i, k, j;
	int			 ns = 0, last = -1, num;

	for (i = 0; i < rows->n; i++) {
		num = (int)rows->v[i * 4 + 3];
		/* Rows of a spectrum are usually together: try the last. */
		if (last >= 0 && sp[last].number == num) {
			sp[last].n++;
			continue;
		}
		for (k = 0; k < (size_t)ns && sp[k].number != num; k++)
			;
		if (k == (size_t)ns) {
			s = realloc(sp, (ns + 1) * sizeof *sp);
			if (s == NULL)
				goto fail;
			sp = s;
			memset(&sp[ns], 0, sizeof sp[ns]);
			sp[ns++].number = num;
		}
		sp[k].n++;
		last = k;
	}
	for (k = 0; k < (size_t)ns; k++) {
		sp[k].freq = malloc(sp[k].n * sizeof(double));
		sp[k].zre = malloc(sp[k].n * sizeof(double));
		sp[k].zim = malloc(sp[k].n * sizeof(double));
		if (sp[k].freq == NULL || sp[k].zre == NULL ||
		    sp[k].zim == NULL) {
			ns = k + 1;
			goto fail;
		}
		sp[k].n = 0;
	}
	last = 0;
	for (i = 0; i < rows->n; i++) {
		num = (int)rows->v[i * 4 + 3];
		if (sp[last].number != num)
			for (last = 0; sp[last].number != num; last++)
				;
		s = &sp[last];
		j = s->n++;
		s->freq[j] = rows->v[i * 4];
		s->zre[j] = rows->v[i * 4 + 1];
		s->zim[j] = rows->v[i * 4 + 2];
	}
	*out = sp;
	return (ns);

fail:
	impfit_spectra_free(sp, ns);
	return (-1);
}

/* See impfit.h. */
int
impfit_spectra_read(const char *path, struct impfit_spectrum **out, char *err,
    size_t errlen)
{
	struct fit_rows	 rows = { NULL, 0, 0 };
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0, lineno = 0;
	ssize_t		 len;
	int		 csv = 0, ns = -1, nonblank = 0;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		/* A UTF-8 byte order mark is not part of the header. */
		if (lineno == 1 && len >= 3 &&
		    memcmp(line, "\xef\xbb\xbf", 3) == 0)
			memmove(line, line + 3, len - 2);
		if (strspn(line, " \t\r\n") != strlen(line))
			nonblank = 1;
		if (fit_data_line(path, lineno, line, &csv, &rows, err,
		    errlen) != 0)
			goto done;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto done;
	}
	if (!nonblank) {
		snprintf(err, errlen, "%s: empty file", path);
		goto done;
	}
	if (rows.n == 0) {
		snprintf(err, errlen, "%s:%zu: no data lines", path, lineno);
		goto done;
	}
	if ((ns = fit_data_group(&rows, out)) < 0)
		snprintf(err, errlen, "%s: out of memory", path);
done:
	free(line);
	free(rows.v);
	fclose(fp);
	return (ns);
}

void
impfit_spectra_free(struct impfit_spectrum *s, int count)
{
	int	i;

	if (s == NULL)
		return;
	for (i = 0; i < count; i++) {
		free(s[i].freq);
		free(s[i].zre);
		free(s[i].zim);
	}
	free(s);
}
