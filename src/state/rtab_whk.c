/*
 * impcore - the webhook state machine of a record or a batch delivery:
 * every transition is one CAS on its webhook word by the process that owns
 * it; no mutex (impctl's webhook-retry calls rtab_wh_retry_now on a
 * read-write mapping that never takes it).  Finding due deliveries is
 * read-only: rtab_read.c.
 */
#include "config.h"

#include <string.h>
#include <urcu/uatomic.h>

#include "lib/check.h"
#include "lib/tim.h"
#include "state/ring.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm_priv.h"

/*==================================================================
 * Webhooks
 */

/* Where an item's delivery state lives: a record's or a batch's fields. */
struct whref {
	uint64_t		*word;
	uint64_t		*first, *last, *next;
	char			*err;
	size_t			errlen;
	struct rtab_batch	*b;		/* NULL: a record */
};

static int
wh_ref(struct shm *s, uint32_t item, struct whref *x)
{
	if (item < NREC(s)) {
		struct rtab_rec *r = &s->recs[item];

		x->word = &r->whword;
		x->first = &r->wh_first;
		x->last = &r->wh_last;
		x->next = &r->wh_next;
		x->err = r->wh_error;
		x->errlen = sizeof r->wh_error;
		x->b = NULL;
		return (0);
	}
	item -= NREC(s);
	if (item >= NBATCH(s) || !batch_whmode(s, item))
		return (-1);
	x->b = &s->batches[item];
	x->word = &x->b->whword;
	x->first = &x->b->wh_first;
	x->last = &x->b->wh_last;
	x->next = &x->b->wh_next;
	x->err = x->b->wh_error;
	x->errlen = sizeof x->b->wh_error;
	return (0);
}

int
rtab_wh_begin(struct shm *s, uint32_t ri, pid_t pid)
{
	struct whref x;
	uint64_t wh, now = tim_real();

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (wh_ref(s, ri, &x) != 0)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_PENDING)
		return (-1);
	if (uatomic_cmpxchg(x.word, wh, W_MAKE(RTAB_WH_INFLIGHT, W_GEN(wh) + 1,
	    pid)) != wh)
		return (-1);
	if (*x.first == 0)
		*x.first = now;
	*x.last = now;
	return (0);
}

static int
wh_end(struct shm *s, uint32_t ri, pid_t pid, unsigned st, uint64_t next,
    const char *err)
{
	struct whref x;
	uint64_t wh;

	if (wh_ref(s, ri, &x) != 0)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_INFLIGHT || W_PID(wh) != pid)
		return (-1);
	if (err != NULL)
		copy_str(x.err, err, x.errlen);
	else if (st == RTAB_WH_DELIVERED)
		x.err[0] = '\0';
	if (st == RTAB_WH_PENDING)
		*x.next = next;
	return (uatomic_cmpxchg(x.word, wh, W_MAKE(st, W_GEN(wh), 0)) == wh ?
	    0 : -1);
}

int
rtab_wh_delivered(struct shm *s, uint32_t ri, pid_t pid)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (wh_end(s, ri, pid, RTAB_WH_DELIVERED, 0, NULL));
}

int
rtab_wh_retry(struct shm *s, uint32_t ri, pid_t pid, uint64_t next,
    const char *err)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (wh_end(s, ri, pid, RTAB_WH_PENDING, next, err));
}

int
rtab_wh_failed(struct shm *s, uint32_t ri, pid_t pid, const char *err)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (wh_end(s, ri, pid, RTAB_WH_FAILED, 0, err));
}

int
rtab_wh_part_done(struct shm *s, uint32_t item, pid_t pid)
{
	struct whref x;
	uint64_t wh;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (wh_ref(s, item, &x) != 0 || x.b == NULL)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_INFLIGHT || W_PID(wh) != pid)
		return (-1);
	/*
	 * Written before the CAS: if we die in between, the master makes it
	 * PENDING and the next part goes (the one before was delivered).
	 */
	x.b->wh_part++;
	x.b->wh_first = 0;
	x.b->wh_error[0] = '\0';
	x.b->wh_next = tim_real();
	if (uatomic_cmpxchg(x.word, wh, W_MAKE(RTAB_WH_PENDING, 0, 0)) != wh)
		return (-1);
	(void)ring_push(s->wh_ring, item);
	return (0);
}

int
rtab_wh_retry_now(struct shm *s, uint32_t ri)
{
	struct whref x;
	uint64_t wh;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (wh_ref(s, ri, &x) != 0)
		return (-1);
	wh = uatomic_read(x.word);
	if (W_STATE(wh) != RTAB_WH_FAILED)
		return (-1);
	*x.next = tim_real();
	/*
	 * A hand retry starts a fresh max-age window (rtab_wh_begin sets
	 * wh_first again): with the old one, already over, a retry that
	 * failed once more would be FAILED after a single attempt.
	 */
	*x.first = 0;
	if (uatomic_cmpxchg(x.word, wh, W_MAKE(RTAB_WH_PENDING, W_GEN(wh), 0)) !=
	    wh)
		return (-1);
	(void)ring_push(s->wh_ring, ri);
	return (0);
}
