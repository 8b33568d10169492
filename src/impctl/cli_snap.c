/*
 * impcore - impctl: a snapshot of the counters of every process slot, for
 * stats (one consistent output) and top (rates from two snapshots).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <urcu/system.h>

#include "impctl/impctl.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "state/shm.h"

const char *const cli_hist_unit[STAT_H__N] = {
#define H(name, unit, help)	#unit,
#include "lib/counters.def"
};

bool
cli_snap_live(const struct cli_snap_proc *p)
{
	return (p->pi.state == SHM_P_STARTING || p->pi.state == SHM_P_RUNNING ||
	    p->pi.state == SHM_P_DRAINING);
}

void
cli_snap_take(const struct shm *shm, struct cli_snap *s)
{
	struct cli_snap_proc *p;
	struct stat_block *b;
	int slot, i, j;

	memset(s, 0, sizeof *s);
	s->t_mono = tim_mono();
	for (slot = 0; slot < SHM_NPROC; slot++) {
		b = shm_proc_stats(shm, slot);
		/* a block of another counter table cannot be summed by name */
		if (b == NULL || CMM_LOAD_SHARED(b->magic) != STAT_BLOCK_MAGIC ||
		    CMM_LOAD_SHARED(b->ncounters) != STAT__N)
			continue;
		p = &s->p[s->nproc];
		if (shm_proc_get(shm, slot, &p->pi) != 0)
			continue;
		for (i = 0; i < STAT__N; i++) {
			p->c[i] = CMM_LOAD_SHARED(b->c[i]);
			s->c[i] += p->c[i];
		}
		for (i = 0; i < STAT_H__N; i++)
			for (j = 0; j < STAT_HIST_BUCKETS; j++) {
				p->h[i][j] = CMM_LOAD_SHARED(b->h[i][j]);
				s->h[i][j] += p->h[i][j];
			}
		s->nproc++;
	}
}
