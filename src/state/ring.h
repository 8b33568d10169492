/*
 * impcore - bounded lock-free MPMC ring of 32-bit values in shared memory.
 *
 * Each cell is one 64-bit word {seq:32, value+1:32}; claiming a cell and
 * publishing the value is ONE compare-and-swap on the cell, so a process
 * killed at any instruction leaves the ring usable by the others.  Head and
 * tail are hints that everybody helps advance.  There is no "in progress"
 * state to clean up.
 *
 * The rings in the state file hold record indexes and are hints only: the
 * record's state word is the truth (rtab.h), duplicates are harmless, and
 * recovery may push a record again.
 */
#ifndef IMP_RING_H
#define IMP_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

#define RING_VALUE_MAX	0xfffffffeu

/*
 * Bytes needed for a ring of capacity cells (a power of two >= 2).  A
 * macro, not a call: the state file's layout (shm.c) sizes its rings
 * without linking the ring's code.  ring.c asserts the head's size.
 */
#define RING_HEAD_BYTES	192
#define RING_BYTES(capacity) \
	((size_t)RING_HEAD_BYTES + (size_t)(capacity) * sizeof(uint64_t))
/* Initialise (or rebuild: empties it) a ring.  Nobody else may use it meanwhile. */
void ring_init(struct ring *r, uint32_t capacity);
/* Check magic and capacity against the bytes available; 0 ok, -1 bad. */
int ring_check(const struct ring *r, size_t bytes);

/* Push v (<= RING_VALUE_MAX); 0 ok, -1 full. */
int ring_push(struct ring *r, uint32_t v);
/* Pop into *v; 0 ok, -1 empty. */
int ring_pop(struct ring *r, uint32_t *v);

uint32_t ring_capacity(const struct ring *r);
/* Approximate number of values held (tail - head hints). */
uint32_t ring_count(const struct ring *r);

/*
 * Call fn for each value held at the moment each cell is read (no
 * snapshot consistency: a value may be seen twice or missed while others
 * push and pop).  Read-only; works on a PROT_READ mapping.
 */
void ring_foreach(const struct ring *r, void (*fn)(uint32_t v, void *arg),
    void *arg);

#endif /* IMP_RING_H */
