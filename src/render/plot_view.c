/*
 * impcore - plot_view.c: the picture of one spectrum of the state file (a
 * record view with its arrays), for the worker's GET .../plot.svg and for
 * impctl batch ID --plot, which reads a dead server's state file: both
 * draw from what the record holds, the fit from its circuit and
 * parameters once it is done.  The DRT is computed here when asked for.
 */
#include <stdio.h>
#include <stdlib.h>

#include "impfit.h"
#include "plot/plot.h"
#include "render/plot_view.h"
#include "state/rtab.h"

char *
plot_view_svg(const struct rtab_view *v, unsigned kinds, size_t *len)
{
	struct plot_data	 pd = { 0 };
	struct impfit_drt_result	 dr;
	struct impfit_circuit	*c = NULL;
	char			 title[200], err[128];
	double			*tau = NULL, *gam = NULL;
	char			*svg;

	if (v->freq == NULL || v->n < 1)
		return (NULL);
	snprintf(title, sizeof title, "batch %s, spectrum %d (%s), %d points",
	    v->batch_id, v->iteration, rtab_state_name(v->state), v->n);
	pd.title = title;
	pd.n = v->n;
	pd.freq = v->freq;
	pd.zre = v->zre;
	pd.zim = v->zim;
	if (v->state == RTAB_DONE && v->params != NULL && v->nparams > 0 &&
	    (c = impfit_circuit_parse(v->circuit, err, sizeof err)) != NULL &&
	    impfit_circuit_nparams(c) == v->nparams) {
		pd.circuit = c;
		pd.params = v->params;
		pd.chi_square = v->chi_square;
	}
	if ((kinds & PLOT_DRT) && v->n >= 3) {
		pd.ndrt = impfit_drt_npoints(v->n);
		tau = calloc(pd.ndrt, sizeof *tau);
		gam = calloc(pd.ndrt, sizeof *gam);
		if (tau == NULL || gam == NULL || impfit_drt(v->freq, v->zre,
		    v->zim, v->n, NULL, &dr, tau, gam, NULL, NULL) != 0)
			pd.ndrt = 0;
		pd.tau = tau;
		pd.gamma = gam;
	}
	svg = plot_svg(&pd, kinds, len);
	free(tau);
	free(gam);
	if (c != NULL)
		impfit_circuit_free(c);
	return (svg);
}
