/*
 * impcore - dat_tab.c: what every reader shares: lines, fields, column
 * headers and the rows of a table.
 *
 * Column headers are matched by name, liberally: case, blanks and quotes
 * do not matter, and a unit may follow the name after '(', '[', '/' or '_'
 * ("freq/Hz", "Frequency (Hz)", "Frequency_Hz", "Z'(a)").  The first
 * column of each role wins (EC-Lab's Phase(Z) comes before its Phase(Y)).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dat_priv.h"

#define DAT_MAXFIELDS	64	/* columns a header may name; more are ignored */

static int dat_isblank(char c);

/* ==== Lines ============================================================== */

void
dat_cur_init(struct dat_cur *c, const struct dat_ctx *ctx)
{
	c->p = ctx->text;
	c->end = ctx->text + ctx->len;
	c->no = 0;
}

/* The next line into *l (its end, "\n", "\r\n" or "\r", not included); 0 at the end. */
int
dat_next(struct dat_cur *c, struct dat_line *l)
{
	const char	*nl;
	size_t		 n;

	if (c->p >= c->end)
		return (0);
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	n = nl != NULL ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
	l->s = c->p;
	l->len = n;
	/* a lone CR ends a line too (old Mac exports): look for one */
	if (nl == NULL || (n > 0 && memchr(c->p, '\r', n - 1) != NULL)) {
		const char *cr = memchr(c->p, '\r', n);

		if (cr != NULL && cr + 1 < c->p + n) {
			l->len = (size_t)(cr - c->p);
			c->p = cr + 1;
			l->no = ++c->no;
			return (1);
		}
	}
	if (l->len > 0 && l->s[l->len - 1] == '\r')
		l->len--;
	c->p += n + (nl != NULL);
	l->no = ++c->no;
	return (1);
}

int
dat_blank(const struct dat_line *l)
{
	size_t	i;

	for (i = 0; i < l->len; i++)
		if (l->s[i] != ' ' && l->s[i] != '\t' && l->s[i] != '\f' &&
		    l->s[i] != '\v')
			return (0);
	return (1);
}

/* Does the line start with prefix (case-insensitive, leading blanks skipped)? */
int
dat_starts(const struct dat_line *l, const char *prefix)
{
	size_t	i = 0, k, n = strlen(prefix);

	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t' ||
	    l->s[i] == '"'))
		i++;
	if (l->len - i < n)
		return (0);
	for (k = 0; k < n; k++) {
		char a = l->s[i + k], b = prefix[k];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return (0);
	}
	return (1);
}

/* Is needle in s[0..len) (case-sensitive)? */
int
dat_contains(const char *s, size_t len, const char *needle)
{
	size_t	n = strlen(needle);

	if (n == 0)
		return (1);
	while (len >= n) {
		const char *p = memchr(s, needle[0], len - n + 1);

		if (p == NULL)
			return (0);
		if (memcmp(p, needle, n) == 0)
			return (1);
		len -= (size_t)(p - s) + 1;
		s = p + 1;
	}
	return (0);
}

/*
 * Record the first error: "line N: ..." (line 0: no line).  Returns -1
 * so that readers can return dat_fail(...).
 */
int
dat_fail(struct dat_ctx *ctx, int status, size_t line, const char *fmt, ...)
{
	va_list	ap;
	int	n = 0;

	if (ctx->status != DAT_OK)
		return (-1);
	ctx->status = status;
	if (ctx->errlen == 0)
		return (-1);
	if (line > 0)
		n = snprintf(ctx->err, ctx->errlen, "line %zu: ", line);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return (-1);
}

/* The next line that is not blank into *l; 0 at the end. */
int
dat_next_nonblank(struct dat_cur *c, struct dat_line *l)
{
	while (dat_next(c, l))
		if (!dat_blank(l))
			return (1);
	return (0);
}

/*
 * Is l, blanks around it aside, an integer from 0 to max?  (A point or
 * column count of the instruments that write one before their rows.)
 */
int
dat_line_count(const struct dat_line *l, size_t max, size_t *v)
{
	size_t	i = 0, n = 0, end = l->len;

	while (i < end && dat_isblank(l->s[i]))
		i++;
	while (end > i && dat_isblank(l->s[end - 1]))
		end--;
	if (i == end)
		return (0);
	for (; i < end; i++) {
		if (l->s[i] < '0' || l->s[i] > '9' ||
		    n > (max - (size_t)(l->s[i] - '0')) / 10)
			return (0);
		n = n * 10 + (size_t)(l->s[i] - '0');
	}
	*v = n;
	return (1);
}

/*
 * The next n lines that are not blank, as a cursor of their own in *sub
 * (dat_table reads exactly them); *c moves past them.  Returns how many
 * there were: fewer than n at the end of the text.  A claimed count costs
 * no memory, however large: the lines are counted, not kept.
 */
size_t
dat_cur_rows(struct dat_cur *c, size_t n, struct dat_cur *sub)
{
	struct dat_line	l;
	size_t		k = 0;

	*sub = *c;
	while (k < n && dat_next(c, &l))
		if (!dat_blank(&l))
			k++;
	sub->end = c->p;
	return (k);
}

/* ==== Fields ============================================================= */

static int
dat_isblank(char c)
{
	return (c == ' ' || c == '\t' || c == '\f' || c == '\v');
}

/*
 * Split l into at most max fields (pointers into the line, blanks and
 * double quotes around each trimmed).  Returns the field count.
 */
int
dat_split(const struct dat_line *l, int delim, const char **fs, size_t *fl,
    int max)
{
	const char	*p = l->s, *end = l->s + l->len, *q;
	char		 sep = delim == DAT_D_COMMA ? ',' : delim == DAT_D_SEMI ?
			    ';' : '\t';
	int		 n = 0;

	if (delim == DAT_D_WS) {
		while (n < max) {
			while (p < end && dat_isblank(*p))
				p++;
			if (p == end)
				break;
			q = p;
			while (q < end && !dat_isblank(*q))
				q++;
			fs[n] = p;
			fl[n] = (size_t)(q - p);
			if (fl[n] >= 2 && *p == '"' && q[-1] == '"')
				fs[n]++, fl[n] -= 2;
			n++;
			p = q;
		}
		return (n);
	}
	if (p == end)
		return (0);
	while (n < max) {
		q = memchr(p, sep, (size_t)(end - p));
		if (q == NULL)
			q = end;
		fs[n] = p;
		fl[n] = (size_t)(q - p);
		while (fl[n] > 0 && dat_isblank(*fs[n]))
			fs[n]++, fl[n]--;
		while (fl[n] > 0 && dat_isblank(fs[n][fl[n] - 1]))
			fl[n]--;
		if (fl[n] >= 2 && *fs[n] == '"' && fs[n][fl[n] - 1] == '"')
			fs[n]++, fl[n] -= 2;
		n++;
		if (q == end)
			break;
		p = q + 1;
	}
	return (n);
}

/*
 * The separator of a data line, and its decimal mark in *dec: tabs or
 * semicolons separate, and then commas are decimal marks; commas
 * separate when followed by a blank or when the line has no blank;
 * otherwise blanks separate ("1,5 2,25" has decimal commas).  Each tab
 * separates (a header's names have blanks: "Elapsed Time (s)").
 */
int
dat_guess_delim(const struct dat_line *l, char *dec)
{
	int	tab = 0, semi = 0, comma = 0, blank = 0, dot = 0, cblank = 0;
	size_t	i;

	for (i = 0; i < l->len; i++) {
		switch (l->s[i]) {
		case '\t': tab = 1; break;
		case ';': semi = 1; break;
		case ',':
			comma = 1;
			if (i + 1 < l->len && dat_isblank(l->s[i + 1]))
				cblank = 1;
			break;
		case ' ': blank = 1; break;
		case '.': dot = 1; break;
		}
	}
	*dec = '.';
	if (semi) {
		if (comma)
			*dec = ',';
		return (DAT_D_SEMI);
	}
	if (tab) {
		if (comma && !dot)
			*dec = ',';
		return (DAT_D_TAB);
	}
	if (comma && (cblank || !blank))
		return (DAT_D_COMMA);
	if (comma && !dot)
		*dec = ',';
	return (DAT_D_WS);
}

/* ==== Column headers ===================================================== */

enum { R_F, R_RE, R_IM, R_IMNEG, R_MOD, R_PH, R_PHNEG, R_NUM, R_CYC };

static const struct {
	const char	*name;
	int		 role;
} dat_names[] = {
	{ "f", R_F }, { "freq", R_F }, { "frequency", R_F }, { "freq.", R_F },
	{ "z'", R_RE }, { "zre", R_RE }, { "zreal", R_RE }, { "z_real", R_RE },
	{ "z_re", R_RE }, { "re(z)", R_RE }, { "real", R_RE },
	{ "real(z)", R_RE }, { "zr", R_RE }, { "re_z", R_RE },
	{ "z''", R_IM }, { "z\"", R_IM }, { "zim", R_IM }, { "zimg", R_IM },
	{ "zimag", R_IM }, { "z_imag", R_IM }, { "z_im", R_IM },
	{ "im(z)", R_IM }, { "imaginary", R_IM }, { "imag", R_IM },
	{ "imag(z)", R_IM }, { "zi", R_IM }, { "im_z", R_IM },
	{ "|z|", R_MOD }, { "z", R_MOD }, { "zmod", R_MOD },
	{ "mod(z)", R_MOD }, { "modulus", R_MOD }, { "magnitude", R_MOD },
	{ "z_mod", R_MOD }, { "|z|", R_MOD },
	{ "phase", R_PH }, { "phase(z)", R_PH }, { "zphz", R_PH },
	{ "phz", R_PH }, { "theta", R_PH }, { "phi", R_PH },
	{ "z_phase", R_PH }, { "phase_angle", R_PH },
	{ "spectrum_number", R_NUM }, { "spectrumnumber", R_NUM },
	{ "cyclenumber", R_CYC }, { "zcycle", R_CYC },
};

/*
 * The role of header field s (n bytes), or -1.  key is s lower-cased
 * without blanks (a '"' stays: CH Instruments' Z"/ohm); a leading '-' (or U+2212) negates Z'' and
 * the phase.
 */
static int
dat_role(const char *s, size_t n)
{
	char	 key[80];
	size_t	 k = 0, i, nl;
	int	 neg = 0, r;
	const char *rest;

	for (i = 0; i < n && k < sizeof key - 1; i++) {
		char c = s[i];

		if (dat_isblank(c))
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		key[k++] = c;
	}
	key[k] = '\0';
	rest = key;
	if (*rest == '-')
		neg = 1, rest++;
	else if (strncmp(rest, "\xe2\x88\x92", 3) == 0)
		neg = 1, rest += 3;
	for (i = 0; i < sizeof dat_names / sizeof dat_names[0]; i++) {
		nl = strlen(dat_names[i].name);
		if (strncmp(rest, dat_names[i].name, nl) != 0)
			continue;
		/* what follows the name must be a unit, or nothing */
		if (rest[nl] != '\0' && rest[nl] != '(' && rest[nl] != '[' &&
		    rest[nl] != '/' && rest[nl] != '_' && rest[nl] != ',')
			continue;
		r = dat_names[i].role;
		if (neg) {
			if (r == R_IM)
				return (R_IMNEG);
			if (r == R_PH)
				return (R_PHNEG);
			return (-1);
		}
		return (r);
	}
	return (-1);
}

void
dat_cols_fixed(struct dat_cols *c, int f, int re, int im)
{
	memset(c, 0, sizeof *c);
	c->f = f;
	c->re = re;
	c->im = im;
	c->mod = c->ph = c->num = c->cyc = -1;
	c->dec = '.';
	c->delim = DAT_D_WS;
}

/*
 * Map header line l (fields separated by delim, or by blanks when it has
 * no delim at all).  Returns 1 when it names a frequency and either Z'
 * and Z'' or |Z| and the phase (c filled), else 0.
 */
int
dat_header(const struct dat_line *l, int delim, struct dat_cols *c)
{
	const char	*fs[DAT_MAXFIELDS];
	size_t		 fl[DAT_MAXFIELDS];
	int		 n, i, k, r;
	char		 sep;

	sep = delim == DAT_D_COMMA ? ',' : delim == DAT_D_SEMI ? ';' : '\t';
	if (delim != DAT_D_WS && memchr(l->s, sep, l->len) == NULL)
		delim = DAT_D_WS;
	n = dat_split(l, delim, fs, fl, DAT_MAXFIELDS);
	if (delim == DAT_D_WS) {
		/* "Freq (Hz)": a unit alone belongs to the name before it */
		for (i = 1, k = 1; i < n; i++) {
			if (fl[i] > 0 && (fs[i][0] == '(' || fs[i][0] == '[')) {
				fl[k - 1] = (size_t)(fs[i] + fl[i] - fs[k - 1]);
				continue;
			}
			fs[k] = fs[i];
			fl[k++] = fl[i];
		}
		if (n > 0)
			n = k;
	}
	dat_cols_fixed(c, -1, -1, -1);
	c->delim = delim;
	for (i = 0; i < n; i++) {
		r = dat_role(fs[i], fl[i]);
		switch (r) {
		case R_F: if (c->f < 0) c->f = i; break;
		case R_RE: if (c->re < 0) c->re = i; break;
		case R_IM:
		case R_IMNEG:
			if (c->im < 0) {
				c->im = i;
				c->im_neg = r == R_IMNEG;
			}
			break;
		case R_MOD: if (c->mod < 0) c->mod = i; break;
		case R_PH:
		case R_PHNEG:
			if (c->ph < 0) {
				c->ph = i;
				c->ph_neg = r == R_PHNEG;
			}
			break;
		case R_NUM: if (c->num < 0) c->num = i; break;
		case R_CYC: if (c->cyc < 0) c->cyc = i; break;
		}
	}
	if (c->f < 0)
		return (0);
	if (c->re >= 0 && c->im >= 0) {
		c->mod = c->ph = -1;
		return (1);
	}
	if (c->mod >= 0 && c->ph >= 0) {
		c->re = c->im = -1;
		return (1);
	}
	return (0);
}

/* ==== Rows =============================================================== */

/* Add a point; 0, or -1 past the limits or out of memory. */
int
dat_push(struct dat_ctx *ctx, double f, double re, double im, double key,
    size_t line)
{
	double	*nv;
	size_t	 ncap;

	if (ctx->max_rows > 0 && ctx->rows.n >= ctx->max_rows)
		return (dat_fail(ctx, DAT_TOOBIG, line, "more than %zu points "
		    "in all (the limits: %zu spectra of %zu points)",
		    ctx->max_rows, ctx->lim->max_spectra,
		    ctx->lim->max_points));
	if (ctx->rows.n == ctx->rows.cap) {
		ncap = ctx->rows.cap ? 2 * ctx->rows.cap : 256;
		if ((nv = realloc(ctx->rows.v, ncap * 4 * sizeof *nv)) == NULL)
			return (dat_fail(ctx, DAT_NOMEM, 0, "out of memory"));
		ctx->rows.v = nv;
		ctx->rows.cap = ncap;
	}
	nv = ctx->rows.v + ctx->rows.n * 4;
	nv[0] = f;
	nv[1] = re;
	nv[2] = im;
	nv[3] = key;
	ctx->rows.n++;
	return (0);
}

void
dat_new_spectrum(struct dat_ctx *ctx)
{
	if (ctx->rows.n > 0 && ctx->rows.v[ctx->rows.n * 4 - 1] == ctx->key)
		ctx->key++;
}

/* The header name of column i for messages. */
static const char *
dat_colname(const struct dat_cols *c, int i)
{
	if (i == c->f)
		return ("frequency");
	if (i == c->re)
		return ("Z'");
	if (i == c->im)
		return (c->im_neg ? "-Z''" : "Z''");
	if (i == c->mod)
		return ("|Z|");
	if (i == c->ph)
		return (c->ph_neg ? "-phase" : "phase");
	if (i == c->num)
		return ("Spectrum_Number");
	return ("cycle number");
}

/* Show a field in a message: at most 24 bytes, printable only. */
static const char *
dat_show(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	i, k = 0;

	for (i = 0; i < n && k + 5 < outlen && i < 24; i++)
		out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < n && k + 4 < outlen) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return (out);
}

/*
 * Read the rows of a table from cur, up to its end (the end of the text,
 * or what flags say ends it; the line that ends it is left unread).  what
 * names the table in messages.  Returns the rows read, or -1 (ctx
 * status set).
 */
int
dat_table(struct dat_ctx *ctx, struct dat_cur *cur, const struct dat_cols *c,
    unsigned flags, const char *what)
{
	const char	*fs[DAT_MAXFIELDS];
	size_t		 fl[DAT_MAXFIELDS], k;
	struct dat_line	 l;
	struct dat_cur	 save;
	double		 v[7], first = 0, second = 0, prev = 0, cyc = 0, f;
	int		 need, n, i, nread = 0, ncur = 0, role[7];
	char		 shown[32];

	role[0] = c->f; role[1] = c->re; role[2] = c->im; role[3] = c->mod;
	role[4] = c->ph; role[5] = c->num; role[6] = c->cyc;
	for (need = 0, i = 0; i < 7; i++)
		if (role[i] + 1 > need)
			need = role[i] + 1;
	if (need > DAT_MAXFIELDS || c->f < 0)
		return (dat_fail(ctx, DAT_BROKEN, 0, "%s: no frequency column "
		    "or too many columns", what));
	if (c->num >= 0)
		ctx->explicit_keys = 1;
	for (;;) {
		save = *cur;
		if (!dat_next(cur, &l))
			break;
		if (l.len == 0 || dat_blank(&l))
			continue;
		if ((flags & DAT_T_INDENTED) && !dat_isblank(l.s[0])) {
			*cur = save;
			break;
		}
		if ((flags & DAT_T_STOPTAG) && dat_starts(&l, "<")) {
			*cur = save;
			break;
		}
		if (l.s[0] == '#')
			continue;
		memset(v, 0, sizeof v);
		n = dat_split(&l, c->delim, fs, fl, need);
		k = (size_t)(c->f < n ? c->f : 0);
		if (n < 1 || dat_num(fs[k], fl[k], c->dec, &f) == 0) {
			/* a text line: a separator, or where numbers belong */
			if ((flags & DAT_T_TEXTSEP) || nread == 0) {
				if (flags & DAT_T_TEXTSEP) {
					dat_new_spectrum(ctx);
					ncur = 0;
				}
				if (nread == 0 && !(flags & DAT_T_TEXTSEP))
					return (dat_fail(ctx, DAT_BROKEN,
					    l.no, "%s: expected a row of "
					    "numbers, found '%s'", what,
					    dat_show(l.s, l.len, shown,
					    sizeof shown)));
				continue;
			}
			return (dat_fail(ctx, DAT_BROKEN, l.no, "%s: expected "
			    "a number in column %d (frequency), found '%s'",
			    what, c->f + 1, dat_show(l.s, l.len, shown,
			    sizeof shown)));
		}
		for (i = 0; i < 7; i++) {
			if (role[i] < 0)
				continue;
			if (role[i] >= n)
				return (dat_fail(ctx, DAT_BROKEN, l.no, "%s: "
				    "%d columns, expected %d (%s in column "
				    "%d)", what, n, need, dat_colname(c,
				    role[i]), role[i] + 1));
			k = dat_num(fs[role[i]], fl[role[i]], c->dec, &v[i]);
			if (k == 0 || k != fl[role[i]])
				return (dat_fail(ctx, DAT_BROKEN, l.no, "%s: "
				    "expected a number in column %d (%s), "
				    "found '%s'", what, role[i] + 1,
				    dat_colname(c, role[i]), dat_show(
				    fs[role[i]], fl[role[i]], shown,
				    sizeof shown)));
			if (!isfinite(v[i]))
				return (dat_fail(ctx, DAT_BROKEN, l.no, "%s: "
				    "%s in column %d is out of range", what,
				    dat_colname(c, role[i]), role[i] + 1));
		}
		f = v[0];
		if (f == 0 && (flags & DAT_T_SKIPZERO))
			continue;
		if (!(f > 0))
			return (dat_fail(ctx, DAT_BROKEN, l.no, "%s: expected "
			    "a frequency > 0 in column %d, found %g", what,
			    c->f + 1, f));
		if (c->mod >= 0) {
			double ph = (c->ph_neg ? -v[4] : v[4]) * (M_PI / 180);

			v[1] = v[3] * cos(ph);
			v[2] = v[3] * sin(ph);
		} else if (c->im_neg)
			v[2] = -v[2];
		if (c->num >= 0) {
			if (v[5] != floor(v[5]) || fabs(v[5]) > 2e9)
				return (dat_fail(ctx, DAT_BROKEN, l.no, "%s: "
				    "expected an integer Spectrum_Number in "
				    "column %d", what, c->num + 1));
		} else {
			if (c->cyc >= 0 && ncur > 0 && v[6] != cyc) {
				dat_new_spectrum(ctx);
				ncur = 0;
			}
			/* a sweep over the same frequencies again */
			if ((flags & DAT_T_SWEEPS) && ncur >= 2 &&
			    fabs(f - first) <= 1e-6 * first &&
			    (second - first) * (f - prev) < 0) {
				dat_new_spectrum(ctx);
				ncur = 0;
			}
			v[5] = ctx->key;
		}
		if (ncur == 0)
			first = f;
		else if (ncur == 1)
			second = f;
		prev = f;
		cyc = v[6];
		ncur++;
		if (dat_push(ctx, f, v[1], v[2], v[5], l.no) != 0)
			return (-1);
		nread++;
	}
	return (nread);
}
