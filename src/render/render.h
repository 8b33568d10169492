/*
 * impcore - the result object of DESIGN section 5, as JSON.
 *
 * Used by the workers (GET /eis-data/batch/{id}, POST /eis-data) and the
 * webhook process (delivery body), so a result reads the same everywhere.
 * Model and element impedances are recomputed from circuit, parameters and
 * frequencies (impfit.h); non-finite numbers become null.
 */
#ifndef IMP_RENDER_H
#define IMP_RENDER_H

#include <stddef.h>

#include "state/rtab.h"

struct buf;
struct impfit_circuit;
struct impfit_evaluator;
struct rtab_view;

/*
 * Append the result object of v (a view taken with data) to b.  Fields that
 * do not apply yet (a queued spectrum has no parameters) are left out.
 */
void render_result(struct buf *b, const struct rtab_view *v);
/*
 * The same, with the last circuit parsed kept in rc between calls (one
 * caller, one thread): the webhook process renders one result per
 * delivery, nearly all of the same circuit, and parsing it is a few
 * percent of a delivery; with it the quantile of the 95 % intervals, the
 * frequencies' text and an evaluator (impfit.h).  All zero is an empty cache; render_cache_free()
 * empties it.
 */
struct render_cache {
	char			circuit[RTAB_CIRCUIT_MAX + 1];
	struct impfit_circuit	*c;
	/* Student's t of the last dof (t95_ok: computed) */
	int			t95_ok, t95_dof;
	double			t95;
	/* the last frequencies and their JSON array: a batch's spectra
	 * are nearly always measured at the same ones */
	int			nfreq;
	double			*freq;
	char			*ftext;
	size_t			ftext_len;
	/* the model's and elements' evaluations: scratch, and the last
	 * frequencies' constants */
	struct impfit_evaluator	*ev;
};
void render_result_cached(struct buf *b, const struct rtab_view *v,
    struct render_cache *rc);
void render_cache_free(struct render_cache *rc);
/* Convenience: the object alone, imp_malloc'd, length in *len. */
char *render_result_str(const struct rtab_view *v, size_t *len);

#endif /* IMP_RENDER_H */
