/*
 * impcore - the profiler's history in the state file (phist.h).
 */
#include "config.h"

#include <string.h>
#include <urcu/arch.h>
#include <urcu/system.h>

#include "state/phist.h"
#include "state/shm_priv.h"

void
phist_init(struct phist *h)
{
	memset(h, 0, sizeof *h);
	h->len = PHIST_LEN;
	h->nproc = PHIST_NPROC;
	h->ncounters = STAT__N;
	cmm_smp_wmb();
	h->magic = PHIST_MAGIC;
}

struct phist *
shm_phist(const struct shm *shm)
{
	struct phist *h = shm->phist;

	if (h == NULL || h->magic != PHIST_MAGIC || h->len != PHIST_LEN ||
	    h->nproc != PHIST_NPROC || h->ncounters != STAT__N)
		return (NULL);
	return (h);
}

struct phist_sample *
phist_begin(struct phist *h)
{
	struct phist_sample *s = &h->s[h->n % PHIST_LEN];
	uint64_t q = s->seq;

	/*
	 * Odd, and another number than any reader saw: readers that copy
	 * it now see a changed number afterwards.  Already odd when a
	 * profiler died writing it: +2 keeps it odd (+1 would make a
	 * half-written sample look complete).
	 */
	CMM_STORE_SHARED(s->seq, q + ((q & 1) ? 2 : 1));
	cmm_smp_wmb();
	return (s);
}

void
phist_commit(struct phist *h, struct phist_sample *s)
{
	cmm_smp_wmb();
	CMM_STORE_SHARED(s->seq, s->seq + 1);
	cmm_smp_wmb();
	CMM_STORE_SHARED(h->n, h->n + 1);
}

const struct phist_sample *
phist_last(const struct phist *h, int back)
{
	uint64_t n = CMM_LOAD_SHARED(h->n);

	const struct phist_sample *s;

	if (back < 0 || (uint64_t)back >= n || back >= PHIST_LEN)
		return (NULL);
	s = &h->s[(n - 1 - (uint64_t)back) % PHIST_LEN];
	/* readers loop to nproc over PHIST_NPROC entries: a corrupt file's
	 * sample would send them past the array */
	if ((unsigned)CMM_LOAD_SHARED(s->nproc) > PHIST_NPROC)
		return (NULL);
	return (s);
}

int
phist_read(const struct phist *h, int back, struct phist_sample *out)
{
	const struct phist_sample *s;
	uint64_t seq;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		if ((s = phist_last(h, back)) == NULL)
			return (-1);
		seq = CMM_LOAD_SHARED(s->seq);
		if (seq & 1)
			continue;	/* the writer is on it */
		cmm_smp_rmb();
		memcpy(out, s, sizeof *out);
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(s->seq) != seq)
			continue;
		/* the copy is what we use: check it, not the shared one */
		return ((unsigned)out->nproc > PHIST_NPROC ? -1 : 0);
	}
	return (-1);
}
