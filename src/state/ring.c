/*
 * impcore - bounded lock-free MPMC ring in shared memory.
 *
 * Cell i holds {seq:32, val:32}.  val 0 means empty; a value v is stored as
 * v + 1.  A producer at position t may fill the cell t & mask when it reads
 * {t, 0}; it CASes it to {t, v+1}: that single CAS claims and publishes.  A
 * consumer at position h takes the cell when it reads {h, v+1} and CASes
 * it to {h + cap, 0}, which makes it the empty cell of the next lap.  So a
 * cell always says by itself which position it serves and whether it is
 * full; head and tail are only hints, advanced by whoever notices they lag
 * (a process that died right after its cell CAS leaves a lagging hint, never
 * a hole).  Positions are 32-bit and compared modulo 2^32.
 */
#include "config.h"

#include <string.h>
#include <urcu/uatomic.h>

#include "prof/prof_cont.h"	/* profiler: retries in the block profile */
#include "state/ring.h"

#define RING_MAGIC	0x52494e47u	/* "RING" */

struct ring {
	uint32_t	magic;
	uint32_t	cap;
	uint32_t	mask;
	uint32_t	pad0;
	/* producers and consumers on separate cache lines */
	uint32_t	tail __attribute__((aligned(64)));
	uint32_t	head __attribute__((aligned(64)));
	uint64_t	cell[] __attribute__((aligned(64)));
};

/* the state file's layout counts on it (RING_BYTES in ring.h) */
_Static_assert(sizeof(struct ring) == RING_HEAD_BYTES, "ring head size");

#define CELL(seq, val)	(((uint64_t)(seq) << 32) | (uint64_t)(val))
#define C_SEQ(c)	((uint32_t)((c) >> 32))
#define C_VAL(c)	((uint32_t)(c))

void
ring_init(struct ring *r, uint32_t capacity)
{
	uint32_t i;

	r->cap = capacity;
	r->mask = capacity - 1;
	r->tail = 0;
	r->head = 0;
	for (i = 0; i < capacity; i++)
		r->cell[i] = CELL(i, 0);
	cmm_smp_mb();
	r->magic = RING_MAGIC;
}

int
ring_check(const struct ring *r, size_t bytes)
{
	if (bytes < sizeof(struct ring) || r->magic != RING_MAGIC)
		return (-1);
	if (r->cap < 2 || (r->cap & (r->cap - 1)) != 0 || r->mask != r->cap - 1)
		return (-1);
	if (RING_BYTES(r->cap) > bytes)
		return (-1);
	return (0);
}

int
ring_push(struct ring *r, uint32_t v)
{
	uint32_t t;
	uint64_t c;
	int32_t d;
	uint64_t t0 = 0;	/* profiler */
	int spins = 0;		/* profiler */

	for (;; spins++) {
		if (spins == 1)
			t0 = prof_wait_begin();	/* profiler: contended, retrying */
		t = uatomic_read(&r->tail);
		c = uatomic_read(&r->cell[t & r->mask]);
		d = (int32_t)(C_SEQ(c) - t);
		if (d == 0 && C_VAL(c) == 0) {
			/* claim + publish: one CAS */
			if (uatomic_cmpxchg(&r->cell[t & r->mask], c,
			    CELL(t, v + 1)) == c) {
				(void)uatomic_cmpxchg(&r->tail, t, t + 1);
				prof_wait_end(PROF_BLOCK, t0);	/* profiler */
				return (0);
			}
			continue;
		}
		if (d == 0 || d > 0) {
			/*
			 * d == 0, full: published at t by someone who did not
			 * advance the tail yet.  d > 0: our tail read is old.
			 */
			(void)uatomic_cmpxchg(&r->tail, t, t + 1);
			continue;
		}
		/* d < 0: the cell still holds the previous lap's value */
		if (uatomic_read(&r->tail) != t)
			continue;
		prof_wait_end(PROF_BLOCK, t0);	/* profiler */
		return (-1);
	}
}

int
ring_pop(struct ring *r, uint32_t *v)
{
	uint32_t h;
	uint64_t c;
	int32_t d;
	uint64_t t0 = 0;	/* profiler */
	int spins = 0;		/* profiler */

	for (;; spins++) {
		if (spins == 1)
			t0 = prof_wait_begin();	/* profiler: contended, retrying */
		h = uatomic_read(&r->head);
		c = uatomic_read(&r->cell[h & r->mask]);
		d = (int32_t)(C_SEQ(c) - h);
		if (d == 0 && C_VAL(c) != 0) {
			if (uatomic_cmpxchg(&r->cell[h & r->mask], c,
			    CELL(h + r->cap, 0)) == c) {
				(void)uatomic_cmpxchg(&r->head, h, h + 1);
				*v = C_VAL(c) - 1;
				prof_wait_end(PROF_BLOCK, t0);	/* profiler */
				return (0);
			}
			continue;
		}
		if (d == 0) {
			/* empty at h: nothing published there yet */
			if (uatomic_read(&r->head) != h)
				continue;
			prof_wait_end(PROF_BLOCK, t0);	/* profiler */
			return (-1);
		}
		if (d > 0) {
			/* consumed already (seq h + cap) or stale head read */
			(void)uatomic_cmpxchg(&r->head, h, h + 1);
			continue;
		}
		/* d < 0: cannot happen with a sane head; re-read */
		if (uatomic_read(&r->head) == h) {
			prof_wait_end(PROF_BLOCK, t0);	/* profiler */
			return (-1);
		}
	}
}

uint32_t
ring_capacity(const struct ring *r)
{
	return (r->cap);
}

uint32_t
ring_count(const struct ring *r)
{
	uint32_t t = CMM_LOAD_SHARED(r->tail);
	uint32_t h = CMM_LOAD_SHARED(r->head);
	int32_t d = (int32_t)(t - h);

	if (d < 0)
		return (0);
	return ((uint32_t)d > r->cap ? r->cap : (uint32_t)d);
}

void
ring_foreach(const struct ring *r, void (*fn)(uint32_t v, void *arg), void *arg)
{
	uint32_t i;
	uint64_t c;

	for (i = 0; i < r->cap; i++) {
		c = CMM_LOAD_SHARED(r->cell[i]);
		if (C_VAL(c) != 0)
			fn(C_VAL(c) - 1, arg);
	}
}
