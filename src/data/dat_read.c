/*
 * impcore - dat_read.c: the entry point of the readers: text encodings,
 * the table of formats, detection, and the spectra out of the rows.
 *
 * Detection goes by content first: each reader's probe looks at the
 * start of the text and scores how sure it is (a signature line beats a
 * column header).  Without a claim, the name's extension picks; without
 * one either, the delimited-text reader tries, and a text in which it
 * finds no table is DAT_UNKNOWN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dat_priv.h"

#define DAT_PROBE_LEN	8192	/* the probes look at this much of the start */

static const struct dat_format {
	const char	*name;
	const char	*exts;		/* ".a .b": lower case */
	const char	*what;
	int		(*probe)(const char *t, size_t len);
	int		(*read)(struct dat_ctx *ctx);
} dat_formats[] = {
	{ "gamry", ".dta", "Gamry .DTA: the ZCURVE tables (drift "
	    "correction: the corrected spectrum, then the uncorrected)",
	    dat_gamry_probe, dat_gamry_read },
	{ "biologic", ".mpt", "BioLogic EC-Lab .mpt (ASCII, any header "
	    "length, cycles and repeated sweeps as spectra)",
	    dat_mpt_probe, dat_mpt_read },
	{ "zplot", ".z", "ZPlot/ZView .z (ZPLOT2 ASCII, ZPlotW, Z60W)",
	    dat_zplot_probe, dat_zplot_read },
	{ "versastudio", ".par", "VersaStudio .par (each <Segment>)",
	    dat_par_probe, dat_par_read },
	{ "ivium", ".idf .ids", "Ivium .idf and .ids (each primary_data "
	    "a spectrum)", dat_ivium_probe, dat_ivium_read },
	{ "palmsens", ".pssession", "PalmSens PSTrace .pssession (UTF-16 "
	    "JSON, each EIS measurement a spectrum)",
	    dat_pss_probe, dat_pss_read },
	{ "dfr", ".dfr", "Eco Chemie/Metrohm Autolab .dfr (VERSION line, "
	    "point count, nine lines a point)", dat_dfr_probe, dat_dfr_read },
	{ "p00", ".p00", "Parstat .P00 (f/Hz, Z'/Ohm, -Z''/Ohm, point count)",
	    dat_p00_probe, dat_p00_read },
	{ "elchemea", ".i2b", "Elchemea Analytical .i2b (metadata, point "
	    "count, rows f, Z', Z'')", dat_i2b_probe, dat_i2b_read },
	{ "chinstruments", "", "CH Instruments text (Freq/Hz, Z'/ohm, "
	    "Z\"/ohm)", dat_text_probe_chi, dat_text_read_instr },
	{ "parstat", "", "Parstat text (Frequency (Hz), Zre (ohms), Zim "
	    "(ohms); rows of other techniques skipped)",
	    dat_text_probe_parstat, dat_text_read_instr },
	{ "autolab", "", "Autolab/NOVA text export (Frequency (Hz), Z', "
	    "-Z'')", dat_text_probe_autolab, dat_text_read_instr },
	{ "powersuite", "", "PowerSuite text (Frequency, Zre, Zimg)",
	    dat_text_probe_powersuite, dat_text_read_instr },
	{ "csv", ".csv .txt .tsv .dat", "delimited text: comma, tab, "
	    "semicolon or blanks, decimal commas, a header naming the "
	    "columns (f, Z', Z'' or |Z| and phase, Spectrum_Number) or 3 "
	    "columns f, Z', Z''", NULL, dat_text_read },
};
#define DAT_NFORMATS	(int)(sizeof dat_formats / sizeof dat_formats[0])

const char *
dat_format_name(int i)
{
	return (i >= 0 && i < DAT_NFORMATS ? dat_formats[i].name : NULL);
}

const char *
dat_format_what(int i)
{
	return (i >= 0 && i < DAT_NFORMATS ? dat_formats[i].what : NULL);
}

/* ==== Encodings ========================================================== */

static char *
dat_put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return (o);
}

/*
 * UTF-16 (with a byte order mark, or ASCII text every other byte of which
 * is 0: PalmSens writes its .pssession so) as UTF-8 in a new buffer; NULL
 * when b is not UTF-16 (or no memory: *nomem).
 */
static char *
dat_utf16(const unsigned char *b, size_t len, size_t *outlen, int *nomem)
{
	size_t		 i, start = 0, zeros_even = 0, zeros_odd = 0, n;
	int		 be;
	char		*out, *o;
	unsigned	 u, u2;

	*nomem = 0;
	if (len >= 2 && b[0] == 0xff && b[1] == 0xfe)
		be = 0, start = 2;
	else if (len >= 2 && b[0] == 0xfe && b[1] == 0xff)
		be = 1, start = 2;
	else {
		n = len < 512 ? len & ~(size_t)1 : 512;
		if (n < 4)
			return (NULL);
		for (i = 0; i < n; i += 2) {
			zeros_even += b[i] == 0;
			zeros_odd += b[i + 1] == 0;
		}
		if (zeros_odd == n / 2 && zeros_even == 0)
			be = 0;
		else if (zeros_even == n / 2 && zeros_odd == 0)
			be = 1;
		else
			return (NULL);
	}
	/* 3 bytes of UTF-8 at most for each unit of 2 bytes */
	if ((out = malloc((len - start) / 2 * 3 + 1)) == NULL) {
		*nomem = 1;
		return (NULL);
	}
	o = out;
	for (i = start; i + 1 < len; i += 2) {
		u = be ? (unsigned)b[i] << 8 | b[i + 1] :
		    (unsigned)b[i + 1] << 8 | b[i];
		if (u >= 0xd800 && u < 0xdc00 && i + 3 < len) {
			u2 = be ? (unsigned)b[i + 2] << 8 | b[i + 3] :
			    (unsigned)b[i + 3] << 8 | b[i + 2];
			if (u2 >= 0xdc00 && u2 < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (u2 - 0xdc00);
				i += 2;
				/* 4 bytes for 4 bytes: the bound holds */
			} else
				u = '?';
		} else if (u >= 0xd800 && u < 0xe000)
			u = '?';
		o = dat_put_utf8(o, u);
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return (out);
}

/* ==== Spectra out of rows ================================================ */

/* A row's place in the sort by key (qsort has no context argument). */
struct dat_ord {
	double	key;
	size_t	i;
};

static int
dat_cmp_ord(const void *a, const void *b)
{
	const struct dat_ord *x = a, *y = b;

	if (x->key != y->key)
		return (x->key < y->key ? -1 : 1);
	return (x->i < y->i ? -1 : x->i > y->i);
}

struct dat_group {
	size_t	first;		/* its first row */
	size_t	start, n;	/* in the sorted order */
};

static int
dat_cmp_group(const void *a, const void *b)
{
	const struct dat_group *x = a, *y = b;

	return (x->first < y->first ? -1 : x->first > y->first);
}

/*
 * Rows to spectra, grouped by key in order of first appearance.  Returns
 * 0 with *out, or -1 (ctx status set).
 */
static int
dat_group(struct dat_ctx *ctx, const char *format, struct dat_set **out)
{
	const double	 *v = ctx->rows.v;
	size_t		  n = ctx->rows.n, i, ng = 0, k, j;
	struct dat_ord	 *idx = NULL;
	struct dat_group *g = NULL;
	struct dat_set	 *s = NULL;
	int		  sorted = 1, rc = -1;
	double		 *p;

	if (n == 0 || (idx = malloc(n * sizeof *idx)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		idx[i].i = i;
		idx[i].key = v[i * 4 + 3];
		if (i > 0 && v[i * 4 + 3] < v[i * 4 - 1])
			sorted = 0;
	}
	/* keys only grow unless the file numbers its spectra itself */
	if (!sorted)
		qsort(idx, n, sizeof *idx, dat_cmp_ord);
	for (i = 0; i < n; i++)
		if (i == 0 || idx[i].key != idx[i - 1].key)
			ng++;
	if (ctx->lim != NULL && ctx->lim->max_spectra > 0 &&
	    ng > ctx->lim->max_spectra) {
		dat_fail(ctx, DAT_TOOBIG, 0, "%zu spectra, more than the limit "
		    "%zu", ng, ctx->lim->max_spectra);
		goto fail;
	}
	if ((g = calloc(ng, sizeof *g)) == NULL)
		goto nomem;
	for (i = 0, k = 0; i < n; i++) {
		if (i > 0 && idx[i].key != idx[i - 1].key)
			k++;
		if (g[k].n == 0) {
			g[k].start = i;
			g[k].first = idx[i].i;
		}
		g[k].n++;
	}
	if (!sorted)
		qsort(g, ng, sizeof *g, dat_cmp_group);
	for (k = 0; k < ng; k++)
		if (ctx->lim != NULL && ctx->lim->max_points > 0 &&
		    g[k].n > ctx->lim->max_points) {
			dat_fail(ctx, DAT_TOOBIG, 0, "spectrum %zu has %zu "
			    "points, more than the limit %zu", k, g[k].n,
			    ctx->lim->max_points);
			goto fail;
		}
	if ((s = calloc(1, sizeof *s + ng * sizeof *s->spec)) == NULL ||
	    (s->pool = malloc((n ? n : 1) * 3 * sizeof *s->pool)) == NULL)
		goto nomem;
	s->magic = DAT_SET_MAGIC;
	s->format = format;
	s->nspec = (int)ng;
	s->spec = (struct dat_spectrum *)(s + 1);
	p = s->pool;
	for (k = 0; k < ng; k++) {
		struct dat_spectrum *sp = &s->spec[k];

		sp->n = (int)g[k].n;
		sp->number = ctx->explicit_keys ?
		    (int)idx[g[k].start].key : (int)k;
		sp->freq = p;
		sp->zre = p + g[k].n;
		sp->zim = p + 2 * g[k].n;
		for (j = 0; j < g[k].n; j++) {
			const double *r = v + idx[g[k].start + j].i * 4;

			sp->freq[j] = r[0];
			sp->zre[j] = r[1];
			sp->zim[j] = r[2];
		}
		p += 3 * g[k].n;
	}
	*out = s;
	s = NULL;
	rc = 0;
	goto fail;
nomem:
	dat_fail(ctx, DAT_NOMEM, 0, "out of memory");
fail:
	dat_free(s);
	free(g);
	free(idx);
	return (rc);
}

/* ==== Entry ============================================================== */

static bool
dat_ext_is(const char *name, const char *exts)
{
	const char	*dot, *p;
	size_t		 n;

	if (name == NULL || (dot = strrchr(name, '.')) == NULL)
		return (false);
	n = strlen(dot);
	for (p = exts; *p != '\0'; ) {
		size_t k = strcspn(p, " ");

		if (k == n && strncasecmp(p, dot, n) == 0)
			return (true);
		p += k;
		while (*p == ' ')
			p++;
	}
	return (false);
}

/* See impdata.h. */
int
dat_read(const void *buf, size_t len, const char *name, const char *format,
    const struct dat_limits *lim, struct dat_set **out, char *err,
    size_t errlen)
{
	struct dat_ctx	 ctx;
	const struct dat_format *fmt = NULL;
	char		*conv = NULL;
	const char	*text = buf;
	int		 i, score, best = 0, nomem, rc;
	size_t		 n = len, probe;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	memset(&ctx, 0, sizeof ctx);
	ctx.lim = lim;
	ctx.err = err;
	ctx.errlen = errlen;
	if (lim != NULL && lim->max_points > 0 && lim->max_spectra > 0 &&
	    lim->max_points <= SIZE_MAX / lim->max_spectra)
		ctx.max_rows = lim->max_points * lim->max_spectra;
	if (format != NULL) {
		for (i = 0; i < DAT_NFORMATS; i++)
			if (strcasecmp(format, dat_formats[i].name) == 0)
				fmt = &dat_formats[i];
		if (fmt == NULL) {
			dat_fail(&ctx, DAT_BADNAME, 0, "unknown format '%.40s'",
			    format);
			return (ctx.status);
		}
	}
	if (len == 0 || buf == NULL) {
		dat_fail(&ctx, DAT_BROKEN, 0, "empty file");
		return (ctx.status);
	}
	if ((conv = dat_utf16(buf, len, &n, &nomem)) != NULL)
		text = conv;
	else if (nomem)
		return (dat_fail(&ctx, DAT_NOMEM, 0, "out of memory"),
		    ctx.status);
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3, n -= 3;
	ctx.text = text;
	ctx.len = n;
	if (fmt == NULL) {
		probe = n < DAT_PROBE_LEN ? n : DAT_PROBE_LEN;
		for (i = 0; i < DAT_NFORMATS; i++) {
			if (dat_formats[i].probe == NULL)
				continue;
			score = dat_formats[i].probe(text, probe);
			if (score > best) {
				best = score;
				fmt = &dat_formats[i];
			}
		}
		for (i = 0; fmt == NULL && i < DAT_NFORMATS; i++)
			if (dat_ext_is(name, dat_formats[i].exts))
				fmt = &dat_formats[i];
		if (fmt == NULL) {
			/* no claim, no known extension: text, if text */
			if (memchr(text, '\0', n) != NULL) {
				dat_fail(&ctx, DAT_UNKNOWN, 0, "not a text "
				    "file, and no reader knows its format");
				goto done;
			}
			fmt = &dat_formats[DAT_NFORMATS - 1];
		}
	} else
		ctx.explicit_keys = 0;
	if (fmt->read(&ctx) == 0 && ctx.status == DAT_OK) {
		if (ctx.rows.n == 0)
			dat_fail(&ctx, DAT_BROKEN, 0, "%s: no data rows",
			    fmt->name);
		else
			(void)dat_group(&ctx, fmt->name, out);
	} else if (ctx.status == DAT_OK)
		dat_fail(&ctx, DAT_BROKEN, 0, "%s: unreadable", fmt->name);
	/* a detected text format that found no table: not ours to read */
	if (ctx.status == DAT_BROKEN && format == NULL && best == 0 &&
	    ctx.rows.n == 0 && !dat_ext_is(name, fmt->exts) &&
	    strncmp(ctx.err, "line", 4) != 0)
		ctx.status = DAT_UNKNOWN;
done:
	rc = ctx.status;
	free(ctx.rows.v);
	free(conv);
	return (rc);
}

/* See impdata.h. */
int
dat_read_file(const char *path, const char *format,
    const struct dat_limits *lim, struct dat_set **out, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL, sub[256];
	size_t		 cap = 0, n = 0, k;
	ssize_t		 r;
	int		 fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (DAT_BROKEN);
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		cap = (size_t)st.st_size + 1;
	for (;;) {
		if (n == cap) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (nb == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				free(buf);
				close(fd);
				return (DAT_NOMEM);
			}
			buf = nb;
		} else if (buf == NULL && (buf = malloc(cap)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			close(fd);
			return (DAT_NOMEM);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return (DAT_BROKEN);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	rc = dat_read(buf, n, path, format, lim, out, sub, sizeof sub);
	/* "line 4: ..." becomes "path:4: ...", as compilers say it */
	if (rc != DAT_OK && strncmp(sub, "line ", 5) == 0 &&
	    (k = strspn(sub + 5, "0123456789")) > 0 && sub[5 + k] == ':')
		snprintf(err, errlen, "%s:%.*s%s", path, (int)k, sub + 5,
		    sub + 5 + k);
	else if (rc != DAT_OK)
		snprintf(err, errlen, "%s: %s", path, sub);
	free(buf);
	return (rc);
}

void
dat_free(struct dat_set *s)
{
	if (s == NULL)
		return;
	free(s->pool);
	s->magic = 0;
	free(s);
}
