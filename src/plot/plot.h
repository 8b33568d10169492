/*
 * impcore - plot: spectra as SVG pictures (Nyquist, Bode, residuals, DRT),
 * written by us as plain SVG 1.1: no scripts, no external fonts or images.
 * Used by impfit --plot, the worker's GET .../plot.svg and impctl --plot.
 */
#ifndef IMP_PLOT_H
#define IMP_PLOT_H

#include <stddef.h>

struct impfit_circuit;

#define PLOT_NYQUIST	0x01u
#define PLOT_BODE	0x02u
#define PLOT_RESIDUALS	0x04u
#define PLOT_DRT	0x08u
#define PLOT_ALL	0x0fu

/* What to draw; everything but the measured spectrum may be absent. */
struct plot_data {
	const char		*title;		/* NULL: none */
	int			 n;		/* measured points */
	const double		*freq, *zre, *zim;
	const struct impfit_circuit *circuit;	/* the fit, or NULL */
	const double		*params;
	double			 chi_square;
	const double		*lk_re, *lk_im;	/* Lin-KK residuals, or NULL */
	int			 ndrt;		/* DRT points, 0: none */
	const double		*tau, *gamma;
};

/*
 * The SVG of the panels in kinds (PLOT_*; a DRT panel only when d->ndrt >
 * 0).  Returns a NUL-terminated malloc'd string and its length in *len, or
 * NULL when out of memory or there is nothing to draw.
 */
char *plot_svg(const struct plot_data *d, unsigned kinds, size_t *len);
/* "nyquist", "bode", "residuals", "drt", "all" -> PLOT_*; 0 when unknown. */
unsigned plot_kind_parse(const char *s);

#endif /* IMP_PLOT_H */
