/*
 * impcore - opening the state file as a whole: the file (shm.c), then its
 * sections (rings, result table, history) initialised, recovered or
 * checked by their own modules.  The one way in for the master and impctl.
 */
#ifndef IMP_STATE_H
#define IMP_STATE_H

struct shm;
struct shm_geom;

/*
 * Master only, before it forks.  Open <dir>/impsolverd.state if it exists
 * and matches (magic, layout version and build, geometry); else create it,
 * sized for g and fully allocated.  A file kept is recovered (rtab_recover:
 * queued and running jobs queued again, rings rebuilt); *recovered is then
 * 1.  A file of another layout, build or geometry that still holds
 * pending work is refused (-1, *cause says why) or, for a new geometry,
 * kept as it is until drained; one without pending work is set aside or
 * recreated, never deleted.  On error returns -1 with an imp_malloc'd
 * *cause.
 */
int state_open(const char *dir, const struct shm_geom *g, struct shm **out,
    int *recovered, char **cause);

/*
 * Read-only open (impctl, post-mortem included).  Errors, in *cause:
 * missing file, not an impcore state file (bad magic), incompatible layout
 * version, truncated file, offsets out of bounds, corrupt rings.
 */
int state_open_ro(const char *dir, struct shm **out, char **cause);
/*
 * Read-write open of an existing file for impctl webhook-retry: the same
 * checks, no lock, nothing created or recovered; the server keeps running.
 * Only CAS-based rtab functions that need no mutex may be used on it.
 */
int state_open_rw(const char *dir, struct shm **out, char **cause);

#endif /* IMP_STATE_H */
