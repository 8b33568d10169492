/*
 * impcore - the picture of one spectrum of the state file (plot/plot.h
 * draws; this takes the data from a record view).
 */
#ifndef IMP_RENDER_PLOT_VIEW_H
#define IMP_RENDER_PLOT_VIEW_H

#include <stddef.h>

/*
 * The picture of a record view taken with its data (state/rtab.h): the
 * measured spectrum, the fit once the record is done, the DRT when kinds
 * has PLOT_DRT.  As plot_svg(); NULL also when the view has no data.
 */
struct rtab_view;
char *plot_view_svg(const struct rtab_view *v, unsigned kinds, size_t *len);

#endif /* IMP_RENDER_PLOT_VIEW_H */
