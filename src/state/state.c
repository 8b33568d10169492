/*
 * impcore - opening the state file as a whole.
 *
 * shm.c opens, locks, validates and maps the file and owns its head and
 * process table; the sections above them belong to their modules (ring.c,
 * rtab.c, phist.c), which call shm.c and not the other way round.  Here
 * the two meet: open the file, then initialise a new file's sections or
 * recover a kept file's, then decide whether a kept file of another
 * geometry is recreated.  The file's safety rules (never recreate a file
 * that may hold work, refuse links, set a corrupt file aside) live in
 * shm.c, and in rtab_pending() for the decision made here.
 */
#include "config.h"

#include <stdint.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "state/phist.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "state/shm_priv.h"
#include "state/state.h"

/* A new (or recreated) file's sections: empty rings, table and history. */
static int
state_init_fresh(struct shm *s, char **cause)
{
	ring_init(s->job_ring, s->head->job_ring_cap);
	ring_init(s->wh_ring, s->head->wh_ring_cap);
	phist_init(s->phist);
	return (rtab_recover(s, 1, cause));
}

/*
 * A kept file: rebuild everything derived from the records (free lists,
 * hash, bitmap, both rings); jobs of the dead processes queued again.
 * 0, or -1 with *cause naming the file.
 */
static int
state_recover(struct shm *s, char **cause)
{
	if (rtab_recover(s, 0, cause) < 0) {
		char *c = *cause;
		imp_asprintf(cause, "%s: %s (move it away to start "
		    "afresh)", shm_path(s), c);
		imp_free(c);
		return (-1);
	}
	/* the salvaged records are read: from now on the file is whole */
	s->salvage_size = 0;
	return (0);
}

/*
 * A kept file of another geometry than g: keep it as it is while it holds
 * pending work (1), else it is recreated (0).  The same geometry: 1.
 */
static int
state_keep(struct shm *s, const struct shm_geom *g)
{
	struct shm_geom have;

	if (shm_geom_is(s, g))
		return (1);
	shm_geom_get(s, &have);
	if (rtab_pending(s) != 0) {
		log_warn("%s: holds pending work: keeping its geometry "
		    "(queue-size %u, results %u, max-points %u) until "
		    "it is drained", shm_path(s), have.queue_size,
		    have.results, have.max_points);
		return (1);
	}
	/* a new geometry, and nothing would be lost */
	log_info("%s: new geometry (queue-size %u, results %u, "
	    "max-points %u): recreating it", shm_path(s), g->queue_size,
	    g->results, g->max_points);
	return (0);
}

int
state_open(const char *dir, const struct shm_geom *g, struct shm **out,
    int *recovered, char **cause)
{
	struct shm *s;
	int kept;

	*out = NULL;
	*recovered = 0;
	/* the file: opened and locked, validated or set aside, mapped */
	if (shm_create(dir, g, &s, &kept, cause) < 0)
		return (-1);
	/* a kept file's sections rebuilt from its records */
	if (kept && state_recover(s, cause) < 0)
		goto fail;
	/* of another geometry, and nothing pending: recreated */
	if (kept && !state_keep(s, g)) {
		kept = 0;
		if (shm_recreate(s, g, cause) < 0)
			goto fail;
	}
	/* a new file's sections initialised */
	if (!kept && state_init_fresh(s, cause) < 0)
		goto fail;
	*recovered = kept;
	*out = s;
	return (0);
fail:
	shm_close(s);
	return (-1);
}

/*
 * The tools' open: shm.c checks the head and offsets, the rings are
 * checked here (an index read from a corrupt ring must not leave it).
 */
static int
state_open_tool(struct shm *s, struct shm **out, char **cause)
{
	const struct shm_head *h = s->head;

	if (ring_check(s->job_ring, h->off_wh_ring - h->off_job_ring) < 0 ||
	    ring_check(s->wh_ring, h->off_rtab - h->off_wh_ring) < 0) {
		imp_asprintf(cause, "%s: rings are corrupt", s->path);
		shm_close(s);
		return (-1);
	}
	*out = s;
	return (0);
}

int
state_open_ro(const char *dir, struct shm **out, char **cause)
{
	struct shm *s;

	*out = NULL;
	if (shm_open_ro(dir, &s, cause) < 0)
		return (-1);
	return (state_open_tool(s, out, cause));
}

int
state_open_rw(const char *dir, struct shm **out, char **cause)
{
	struct shm *s;

	*out = NULL;
	if (shm_open_rw(dir, &s, cause) < 0)
		return (-1);
	return (state_open_tool(s, out, cause));
}
