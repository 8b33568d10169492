/*
 * impcore - plot_svg.c: the pictures of a spectrum as SVG.  Each panel maps
 * its data to a plot area with linear or log axes, draws a grid, ticks with
 * short SI labels (1, 10, 100, 1k, 10k), axis titles with units, measured
 * points as markers, the fitted model as a polyline evaluated at many
 * frequencies, and a legend.  Coordinates are written with one decimal:
 * a 100-point spectrum with all panels stays far under 100 kB.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impfit.h"
#include "plot/plot.h"

#define PW		480	/* panel width and height */
#define PH		340
#define ML		70	/* plot area margins inside a panel */
#define MR		20
#define MT		40
#define MB		50
#define TITLE_H		30
#define DENSE		240	/* model points over the measured range */
#define NPANEL_MAX	5

#define C_DATA		"#1f77b4"
#define C_FIT		"#d62728"
#define C_IM		"#ff7f0e"
#define C_LKRE		"#2ca02c"
#define C_LKIM		"#9467bd"

/* An output string that grows; oom sticks. */
struct pbuf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void __attribute__((format(printf, 2, 3)))
pb_printf(struct pbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*np;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		if ((np = realloc(b->p, b->cap * 2 + n + 1)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + n + 1;
	}
}

/* One panel: its place, its axes' ranges (log axes hold log10 values). */
struct panel {
	double	x0, y0;			/* plot area, page coordinates */
	double	w, h;
	double	xmin, xmax, ymin, ymax;
	int	xlog, ylog;
	int	id;
};

static double
px(const struct panel *p, double v)
{
	if (p->xlog)
		v = log10(v);
	return (p->x0 + (v - p->xmin) / (p->xmax - p->xmin) * p->w);
}

static double
py(const struct panel *p, double v)
{
	if (p->ylog)
		v = log10(v);
	return (p->y0 + p->h - (v - p->ymin) / (p->ymax - p->ymin) * p->h);
}

/*
 * A tick label: 1, 2.5, 10, 100, 1k, 10k, 2.5M; 0.1 and 0.001 as such,
 * smaller ones with SI prefixes (10µ).  Labels never say "1e+04".
 */
static void
fmt_num(char *out, size_t len, double v)
{
	static const char *const big[] = { "", "k", "M", "G", "T" };
	static const char *const small[] = { "m", "µ", "n", "p", "f" };
	double	a = fabs(v);
	int	e;

	if (a < 1e-15) {
		snprintf(out, len, "0");
		return;
	}
	if (a >= 1e3) {
		for (e = 0; e < 4 && a >= 999.5; e++, a /= 1e3)
			;
		snprintf(out, len, "%s%.3g%s", v < 0 ? "−" : "", a, big[e]);
	} else if (a >= 1e-3)
		snprintf(out, len, "%s%.3g", v < 0 ? "−" : "", a);
	else {
		for (e = -1; e < 4 && a < 0.9995; e++)
			a *= 1e3;
		snprintf(out, len, "%s%.3g%s", v < 0 ? "−" : "", a,
		    small[e < 0 ? 0 : e]);
	}
}

/* A step of 1, 2 or 5 times a power of ten giving about n intervals. */
static double
nice_step(double range, int n)
{
	double	raw = range / n, mag = pow(10, floor(log10(raw))), f = raw / mag;

	return ((f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag);
}

/* Widen [*lo, *hi] to whole steps (linear) or decades (log10 values). */
static void
axis_round(double *lo, double *hi, int islog)
{
	double	s;

	if (!(*hi > *lo)) {
		*lo -= islog ? 0.5 : fabs(*lo) * 0.1 + 1;
		*hi += islog ? 0.5 : fabs(*hi) * 0.1 + 1;
	}
	if (islog) {
		*lo = floor(*lo + 1e-9);
		*hi = ceil(*hi - 1e-9);
		if (*hi - *lo < 1)
			*hi = *lo + 1;
		return;
	}
	s = nice_step(*hi - *lo, 5);
	*lo = floor(*lo / s + 1e-9) * s;
	*hi = ceil(*hi / s - 1e-9) * s;
}

static void
text(struct pbuf *b, double x, double y, const char *anchor, int size,
    const char *s)
{
	pb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
	    "font-size=\"%d\">%s</text>\n", x, y, anchor, size, s);
}

/* Frame, grid, ticks, labels and axis titles of p. */
static void
axes(struct pbuf *b, const struct panel *p, const char *xt, const char *yt)
{
	char	lab[32];
	double	v, s, t;
	int	k;

	pb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
	    " fill=\"#fff\" stroke=\"#333\"/>\n", p->x0, p->y0, p->w, p->h);
	/* x: decades on a log axis (every other one when crowded) */
	s = p->xlog ? (p->xmax - p->xmin > 8 ? 2 : 1) :
	    nice_step(p->xmax - p->xmin, 5);
	for (k = 0; k < 100; k++) {
		v = ceil(p->xmin / s - 1e-9) * s + k * s;
		if (v > p->xmax + 1e-9 * s)
			break;
		t = p->x0 + (v - p->xmin) / (p->xmax - p->xmin) * p->w;
		pb_printf(b, "<path d=\"M%.1f %.1fV%.1f\" stroke=\"#ddd\"/>\n",
		    t, p->y0, p->y0 + p->h);
		fmt_num(lab, sizeof lab, p->xlog ? pow(10, v) : v);
		text(b, t, p->y0 + p->h + 16, "middle", 12, lab);
	}
	s = p->ylog ? (p->ymax - p->ymin > 8 ? 2 : 1) :
	    nice_step(p->ymax - p->ymin, 5);
	for (k = 0; k < 100; k++) {
		v = ceil(p->ymin / s - 1e-9) * s + k * s;
		if (v > p->ymax + 1e-9 * s)
			break;
		t = p->y0 + p->h - (v - p->ymin) / (p->ymax - p->ymin) * p->h;
		pb_printf(b, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#ddd\"/>\n",
		    p->x0, t, p->x0 + p->w);
		fmt_num(lab, sizeof lab, p->ylog ? pow(10, v) : v);
		text(b, p->x0 - 6, t + 4, "end", 12, lab);
	}
	pb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
	    " fill=\"none\" stroke=\"#333\"/>\n", p->x0, p->y0, p->w, p->h);
	text(b, p->x0 + p->w / 2, p->y0 + p->h + 38, "middle", 13, xt);
	pb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
	    "font-size=\"13\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
	    p->x0 - 52, p->y0 + p->h / 2, p->x0 - 52, p->y0 + p->h / 2, yt);
	pb_printf(b, "<clipPath id=\"c%d\"><rect x=\"%.1f\" y=\"%.1f\" "
	    "width=\"%.1f\" height=\"%.1f\"/></clipPath>\n", p->id, p->x0,
	    p->y0, p->w, p->h);
}

/* Markers: filled circles (shape 0) or open squares (shape 1). */
static void
markers(struct pbuf *b, const struct panel *p, const double *x,
    const double *y, int n, const char *color, int shape)
{
	double	X, Y;
	int	i;

	pb_printf(b, "<g clip-path=\"url(#c%d)\" fill=\"%s\" stroke=\"%s\">\n",
	    p->id, shape ? "none" : color, color);
	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]) ||
		    (p->xlog && !(x[i] > 0)) || (p->ylog && !(y[i] > 0)))
			continue;
		X = px(p, x[i]);
		Y = py(p, y[i]);
		if (shape)
			pb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"5\" "
			    "height=\"5\"/>\n", X - 2.5, Y - 2.5);
		else
			pb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\"/>"
			    "\n", X, Y);
	}
	pb_printf(b, "</g>\n");
}

static void
line(struct pbuf *b, const struct panel *p, const double *x, const double *y,
    int n, const char *color)
{
	int	i;

	pb_printf(b, "<polyline clip-path=\"url(#c%d)\" fill=\"none\" "
	    "stroke=\"%s\" stroke-width=\"1.8\" points=\"", p->id, color);
	for (i = 0; i < n; i++)
		if (isfinite(x[i]) && isfinite(y[i]) &&
		    (!p->xlog || x[i] > 0) && (!p->ylog || y[i] > 0))
			pb_printf(b, "%.1f,%.1f ", px(p, x[i]), py(p, y[i]));
	pb_printf(b, "\"/>\n");
}

/* Legend entries: kind 0 marker, 1 line, 2 text alone. */
struct legend {
	int		 kind;
	const char	*color;
	char		 label[96];
};

/*
 * The legend in one row above the plot area, where it hides no data (a
 * corner box covers the points of one spectrum or another).
 */
static void
legend(struct pbuf *b, const struct panel *p, const struct legend *l, int n)
{
	double	x = p->x0, y = p->y0 - 8;
	int	i;

	for (i = 0; i < n; i++) {
		if (l[i].kind == 0)
			pb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" "
			    "fill=\"%s\"/>\n", x + 6, y - 4, l[i].color);
		else if (l[i].kind == 1)
			pb_printf(b, "<path d=\"M%.1f %.1fh14\" stroke=\"%s\" "
			    "stroke-width=\"1.8\"/>\n", x, y - 4, l[i].color);
		if (l[i].kind != 2)
			x += 18;
		text(b, x, y, "start", 11, l[i].label);
		/* about 6 px a character at 11 px sans-serif */
		x += 6.0 * strlen(l[i].label) + 14;
	}
}

/* XML-escape s into out (circuit codes and titles are ours, but still). */
static void
xml_esc(char *out, size_t len, const char *s)
{
	size_t	o = 0;
	const char *r;

	for (; *s != '\0' && o + 7 < len; s++) {
		r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ?
		    "&amp;" : *s == '"' ? "&quot;" : NULL;
		if (r != NULL) {
			memcpy(out + o, r, strlen(r));
			o += strlen(r);
		} else if ((unsigned char)*s >= 0x20)
			out[o++] = *s;
	}
	out[o] = '\0';
}

/* The common arrays of one picture. */
struct pic {
	const struct plot_data	*d;
	int			 nd;		/* dense model points */
	double			*df, *dre, *dim, *dnim, *dmod, *dph;
	double			*mim, *mmod, *mph;	/* measured -Z'', |Z|, -phase */
	double			*rre, *rim;	/* fit residuals, % */
	double			*lre, *lim;	/* Lin-KK residuals, % */
	int			 nlegend;
	struct legend		 leg[6];
};

static void
fit_legend(struct pic *pc, int with_chi)
{
	const struct plot_data *d = pc->d;
	char	code[80];

	pc->nlegend = 0;
	pc->leg[pc->nlegend].kind = 0;
	pc->leg[pc->nlegend].color = C_DATA;
	snprintf(pc->leg[pc->nlegend++].label, 96, "measured (%d points)",
	    d->n);
	if (d->circuit == NULL)
		return;
	xml_esc(code, sizeof code, impfit_circuit_code(d->circuit));
	pc->leg[pc->nlegend].kind = 1;
	pc->leg[pc->nlegend].color = C_FIT;
	snprintf(pc->leg[pc->nlegend++].label, 96, "fit %s", code);
	if (with_chi && isfinite(d->chi_square)) {
		pc->leg[pc->nlegend].kind = 2;
		snprintf(pc->leg[pc->nlegend++].label, 96, "χ² = %.3g",
		    d->chi_square);
	}
}

/* Range of the finite values of v[0..n) into *lo, *hi (log10 if lg). */
static void
range(const double *v, int n, int lg, double *lo, double *hi)
{
	int	i;
	double	x;

	for (i = 0; i < n; i++) {
		if (!isfinite(v[i]) || (lg && !(v[i] > 0)))
			continue;
		x = lg ? log10(v[i]) : v[i];
		if (x < *lo)
			*lo = x;
		if (x > *hi)
			*hi = x;
	}
}

static void
panel_nyquist(struct pbuf *b, struct panel *p, struct pic *pc)
{
	const struct plot_data *d = pc->d;
	double	xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	double	sx, sy, s, c;

	range(d->zre, d->n, 0, &xlo, &xhi);
	range(pc->mim, d->n, 0, &ylo, &yhi);
	if (pc->nd > 0) {
		range(pc->dre, pc->nd, 0, &xlo, &xhi);
		range(pc->dnim, pc->nd, 0, &ylo, &yhi);
	}
	if (ylo > 0)
		ylo = 0;
	if (xlo > 0 && xlo < 0.25 * (xhi - xlo))
		xlo = 0;
	/* Equal scales: one ohm is as long on both axes. */
	axis_round(&xlo, &xhi, 0);
	axis_round(&ylo, &yhi, 0);
	sx = p->w / (xhi - xlo);
	sy = p->h / (yhi - ylo);
	s = sx < sy ? sx : sy;
	c = (xlo + xhi) / 2;
	p->xmin = c - p->w / s / 2;
	p->xmax = c + p->w / s / 2;
	p->ymin = ylo - (p->h / s - (yhi - ylo)) / 2;
	if (ylo >= 0 && p->ymin < ylo)
		p->ymin = ylo - (p->h / s - (yhi - ylo)) * 0.1;
	p->ymax = p->ymin + p->h / s;
	axes(b, p, "Z′ (Ω)", "−Z″ (Ω)");
	markers(b, p, d->zre, pc->mim, d->n, C_DATA, 0);
	if (pc->nd > 0)
		line(b, p, pc->dre, pc->dnim, pc->nd, C_FIT);
	fit_legend(pc, 1);
	legend(b, p, pc->leg, pc->nlegend);
}

static void
panel_log_f(struct panel *p, const struct plot_data *d)
{
	double	lo = INFINITY, hi = -INFINITY;

	range(d->freq, d->n, 1, &lo, &hi);
	axis_round(&lo, &hi, 1);
	p->xlog = 1;
	p->xmin = lo;
	p->xmax = hi;
}

static void
panel_mag(struct pbuf *b, struct panel *p, struct pic *pc)
{
	double	lo = INFINITY, hi = -INFINITY;

	panel_log_f(p, pc->d);
	range(pc->mmod, pc->d->n, 1, &lo, &hi);
	range(pc->dmod, pc->nd, 1, &lo, &hi);
	axis_round(&lo, &hi, 1);
	p->ylog = 1;
	p->ymin = lo;
	p->ymax = hi;
	axes(b, p, "frequency (Hz)", "|Z| (Ω)");
	markers(b, p, pc->d->freq, pc->mmod, pc->d->n, C_DATA, 0);
	line(b, p, pc->df, pc->dmod, pc->nd, C_FIT);
	fit_legend(pc, 1);
	legend(b, p, pc->leg, pc->nlegend);
}

static void
panel_phase(struct pbuf *b, struct panel *p, struct pic *pc)
{
	double	lo = INFINITY, hi = -INFINITY;

	panel_log_f(p, pc->d);
	range(pc->mph, pc->d->n, 0, &lo, &hi);
	range(pc->dph, pc->nd, 0, &lo, &hi);
	if (lo > 0)
		lo = 0;
	axis_round(&lo, &hi, 0);
	p->ymin = lo;
	p->ymax = hi;
	axes(b, p, "frequency (Hz)", "−phase (°)");
	markers(b, p, pc->d->freq, pc->mph, pc->d->n, C_DATA, 0);
	line(b, p, pc->df, pc->dph, pc->nd, C_FIT);
	fit_legend(pc, 0);
	legend(b, p, pc->leg, pc->nlegend);
}

static void
panel_resid(struct pbuf *b, struct panel *p, struct pic *pc)
{
	const struct plot_data *d = pc->d;
	double	lo = INFINITY, hi = -INFINITY, m;
	int	n = 0;

	panel_log_f(p, d);
	if (pc->rre != NULL) {
		range(pc->rre, d->n, 0, &lo, &hi);
		range(pc->rim, d->n, 0, &lo, &hi);
	}
	if (pc->lre != NULL) {
		range(pc->lre, d->n, 0, &lo, &hi);
		range(pc->lim, d->n, 0, &lo, &hi);
	}
	m = fmax(fabs(lo), fabs(hi));
	if (!(m > 0) || !isfinite(m))
		m = 1;
	lo = -m;
	hi = m;
	axis_round(&lo, &hi, 0);
	p->ymin = lo;
	p->ymax = hi;
	axes(b, p, "frequency (Hz)", "residual (% of |Z|)");
	pb_printf(b, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#666\"/>\n", p->x0,
	    py(p, 0), p->x0 + p->w);
	if (pc->rre != NULL) {
		markers(b, p, d->freq, pc->rre, d->n, C_DATA, 0);
		markers(b, p, d->freq, pc->rim, d->n, C_IM, 1);
		pc->leg[n].kind = 0;
		pc->leg[n].color = C_DATA;
		snprintf(pc->leg[n++].label, 96, "fit, Z′");
		pc->leg[n].kind = 0;
		pc->leg[n].color = C_IM;
		snprintf(pc->leg[n++].label, 96, "fit, Z″ (□)");
	}
	if (pc->lre != NULL) {
		line(b, p, d->freq, pc->lre, d->n, C_LKRE);
		line(b, p, d->freq, pc->lim, d->n, C_LKIM);
		pc->leg[n].kind = 1;
		pc->leg[n].color = C_LKRE;
		snprintf(pc->leg[n++].label, 96, "Lin-KK, Z′");
		pc->leg[n].kind = 1;
		pc->leg[n].color = C_LKIM;
		snprintf(pc->leg[n++].label, 96, "Lin-KK, Z″");
	}
	if (n == 0)
		text(b, p->x0 + p->w / 2, p->y0 + p->h / 2, "middle", 14,
		    "no fit, no Lin-KK: no residuals");
	legend(b, p, pc->leg, n);
}

static void
panel_drt(struct pbuf *b, struct panel *p, struct pic *pc)
{
	const struct plot_data *d = pc->d;
	double	lo = INFINITY, hi = -INFINITY;

	range(d->tau, d->ndrt, 1, &lo, &hi);
	axis_round(&lo, &hi, 1);
	p->xlog = 1;
	p->xmin = lo;
	p->xmax = hi;
	lo = 0;
	hi = -INFINITY;
	range(d->gamma, d->ndrt, 0, &lo, &hi);
	hi *= 1.05;
	axis_round(&lo, &hi, 0);
	p->ymin = lo;
	p->ymax = hi;
	axes(b, p, "τ (s)", "γ (Ω)");
	line(b, p, d->tau, d->gamma, d->ndrt, C_FIT);
	pc->leg[0].kind = 1;
	pc->leg[0].color = C_FIT;
	snprintf(pc->leg[0].label, 96, "DRT (Tikhonov, γ ≥ 0)");
	legend(b, p, pc->leg, 1);
}

unsigned
plot_kind_parse(const char *s)
{
	static const struct { const char *name; unsigned kinds; } t[] = {
		{ "nyquist", PLOT_NYQUIST }, { "bode", PLOT_BODE },
		{ "residuals", PLOT_RESIDUALS }, { "drt", PLOT_DRT },
		{ "all", PLOT_ALL },
	};
	size_t	i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0)
			return (t[i].kinds);
	return (0);
}

char *
plot_svg(const struct plot_data *d, unsigned kinds, size_t *len)
{
	void	(*draw[NPANEL_MAX])(struct pbuf *, struct panel *, struct pic *);
	struct pbuf	 b = { NULL, 0, 0, 0 };
	struct pic	 pc;
	struct panel	 p;
	double		 fmin = INFINITY, fmax = -INFINITY, *blk, m;
	int		 np = 0, i, cols, rows, W, H;
	char		 title[200];

	if (d->n < 1)
		return (NULL);
	if (kinds & PLOT_NYQUIST)
		draw[np++] = panel_nyquist;
	if (kinds & PLOT_BODE) {
		draw[np++] = panel_mag;
		draw[np++] = panel_phase;
	}
	if (kinds & PLOT_RESIDUALS)
		draw[np++] = panel_resid;
	if ((kinds & PLOT_DRT) && d->ndrt > 1)
		draw[np++] = panel_drt;
	if (np == 0)
		return (NULL);
	memset(&pc, 0, sizeof pc);
	pc.d = d;
	pc.nd = d->circuit != NULL ? DENSE : 0;
	blk = calloc((size_t)6 * DENSE + 7 * d->n, sizeof *blk);
	if (blk == NULL)
		return (NULL);
	pc.df = blk;
	pc.dre = pc.df + DENSE;
	pc.dim = pc.dre + DENSE;
	pc.dnim = pc.dim + DENSE;
	pc.dmod = pc.dnim + DENSE;
	pc.dph = pc.dmod + DENSE;
	pc.mim = pc.dph + DENSE;
	pc.mmod = pc.mim + d->n;
	pc.mph = pc.mmod + d->n;
	for (i = 0; i < d->n; i++) {
		pc.mim[i] = -d->zim[i];
		pc.mmod[i] = hypot(d->zre[i], d->zim[i]);
		pc.mph[i] = -atan2(d->zim[i], d->zre[i]) * 180 / M_PI;
		if (d->freq[i] < fmin)
			fmin = d->freq[i];
		if (d->freq[i] > fmax)
			fmax = d->freq[i];
	}
	if (pc.nd > 0) {
		/* The model between the measured points too: a smooth line. */
		for (i = 0; i < DENSE; i++)
			pc.df[i] = exp(log(fmax) + (log(fmin) - log(fmax)) * i /
			    (DENSE - 1.0));
		impfit_circuit_eval(d->circuit, d->params, pc.df, DENSE, pc.dre,
		    pc.dim);
		for (i = 0; i < DENSE; i++) {
			pc.dnim[i] = -pc.dim[i];
			pc.dmod[i] = hypot(pc.dre[i], pc.dim[i]);
			pc.dph[i] = -atan2(pc.dim[i], pc.dre[i]) * 180 / M_PI;
		}
		pc.rre = pc.mph + d->n;
		pc.rim = pc.rre + d->n;
		impfit_circuit_eval(d->circuit, d->params, d->freq, d->n, pc.rre,
		    pc.rim);
		for (i = 0; i < d->n; i++) {
			m = pc.mmod[i] > 0 ? 100 / pc.mmod[i] : NAN;
			pc.rre[i] = (d->zre[i] - pc.rre[i]) * m;
			pc.rim[i] = (d->zim[i] - pc.rim[i]) * m;
		}
	}
	if (d->lk_re != NULL && d->lk_im != NULL) {
		pc.lre = pc.mph + 3 * d->n;
		pc.lim = pc.lre + d->n;
		for (i = 0; i < d->n; i++) {
			pc.lre[i] = d->lk_re[i] * 100;
			pc.lim[i] = d->lk_im[i] * 100;
		}
	}
	cols = np > 1 ? 2 : 1;
	rows = (np + cols - 1) / cols;
	W = cols * PW;
	H = rows * PH + TITLE_H;
	b.cap = 16384;
	if ((b.p = malloc(b.cap)) == NULL) {
		free(blk);
		return (NULL);
	}
	pb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-family=\"sans-serif\">\n<rect width=\"%d\" height=\"%d\" "
	    "fill=\"#fff\"/>\n", W, H, W, H, W, H);
	xml_esc(title, sizeof title, d->title != NULL ? d->title : "");
	text(&b, W / 2.0, 21, "middle", 15, title);
	for (i = 0; i < np; i++) {
		memset(&p, 0, sizeof p);
		p.id = i;
		p.x0 = (i % cols) * PW + ML;
		p.y0 = TITLE_H + (i / cols) * PH + MT - 10;
		p.w = PW - ML - MR;
		p.h = PH - MT - MB;
		draw[i](&b, &p, &pc);
	}
	pb_printf(&b, "</svg>\n");
	free(blk);
	if (b.oom) {
		free(b.p);
		return (NULL);
	}
	*len = b.len;
	return (b.p);
}
