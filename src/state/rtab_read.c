/*
 * impcore - the result table, read side: exactly what is safe on impctl's
 * read-only mapping, and nothing else.
 *
 * The contract of every function here (and of any added here): no mutex
 * (a PROT_READ mapping cannot take it, and a reader must not inherit its
 * repair duty); no store into the state file, not even a CAS; a record is
 * used only as a private copy taken between two equal reads of its state
 * word (a batch delivery: of its webhook word), and given up when it keeps
 * changing; every index, offset and length followed (records, batches,
 * hash slots, chains, arena runs) is bounded by the geometry in the head
 * first.  Writers use rtab_rec_invalid and rtab_hash_find too.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "impfit.h"		/* the enums a record may name */
#include "lib/check.h"
#include "lib/mem.h"
#include "state/rtab.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"

/* A record holds every parameter a fit can have; CAS words come first. */
_Static_assert(RTAB_PARAMS_MAX == IMPFIT_MAX_PARAMS, "RTAB_PARAMS_MAX is IMPFIT_MAX_PARAMS");
_Static_assert(offsetof(struct rtab_rec, word) == 0, "a record's state word comes first");

/*==================================================================
 * Record checks, batch lookup, queue counts
 */

/* Is the record's arena run inside the arena (untrusted readers)? */
static int
rec_run_ok(const struct shm *s, const struct rtab_rec *r)
{
	uint64_t end = (uint64_t)r->data_unit + r->data_units;

	/* a quarantined record holds no data at all */
	if (r->data_units == 0 && r->n == 0 && r->ninit == 0 &&
	    r->nparams == 0 && r->url_len == 0 && r->ncons == 0)
		return (1);
	if (r->n > s->head->max_points || r->ninit > RTAB_PARAMS_MAX ||
	    r->nparams > RTAB_PARAMS_MAX || r->url_len > RTAB_URL_MAX)
		return (0);
	if (end > s->head->arena_units)
		return (0);
	if (r->ncons > RTAB_PARAMS_MAX)
		return (0);
	return (rec_units(r->n, r->ninit, r->nparams, r->ncons, r->url_len) <=
	    r->data_units);
}

/*
 * Why a copy of a non-FREE record cannot be followed or rendered, or NULL
 * when it can: everything a reader indexes with, every enum it names,
 * every text it prints.  Callers check one copy (or a record they own),
 * never fields re-read from the file.
 */
const char *
rtab_rec_invalid(const struct shm *s, const struct rtab_rec *r)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (r->magic != RTAB_REC_MAGIC)
		return ("bad magic");
	if (W_STATE(r->word) > RTAB_CANCELLED)
		return ("bad state");
	if (W_STATE(r->whword) > RTAB_WH_FAILED)
		return ("bad webhook state");
	if (r->method > IMPFIT_METHOD_NM || r->weighting > IMPFIT_WEIGHT_PROPORTIONAL ||
	    r->fit_status < 0 || r->fit_status > IMPFIT_STATUS_LAST)
		return ("bad method, weighting or fit status");
	if (memchr(r->circuit, '\0', sizeof r->circuit) == NULL ||
	    memchr(r->resid, '\0', sizeof r->resid) == NULL ||
	    memchr(r->error, '\0', sizeof r->error) == NULL ||
	    memchr(r->wh_error, '\0', sizeof r->wh_error) == NULL)
		return ("unterminated text");
	if (r->ninit != 0 && r->ninit != r->nparams)
		return ("bad initial values");
	if (r->ncons != 0 && r->ncons != r->nparams)
		return ("bad constraints");
	if (!rec_run_ok(s, r))
		return ("data outside the arena");
	if (s->salvage_size != 0 && r->data_units > 0 &&
	    s->head->off_arena + ((uint64_t)r->data_unit + r->data_units) *
	    RTAB_UNIT > s->salvage_size)
		return ("its data was in the truncated part of the file");
	return (NULL);
}

/* Find batch by id (works without the lock: bounded, validated). */
uint32_t
rtab_hash_find(const struct shm *s, const char *id)
{
	uint32_t mask = s->head->nhash - 1, i, n, v;
	const struct rtab_batch *b;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	i = (uint32_t)hash_str(id) & mask;
	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		v = CMM_LOAD_SHARED(s->hash[i]);
		if (v == RTAB_HASH_EMPTY)
			return (RTAB_NONE);
		if (v == RTAB_HASH_TOMB || v > NBATCH(s))
			continue;
		b = &s->batches[v - 1];
		if (b->state == RTAB_B_READY &&
		    strncmp(b->id, id, RTAB_ID_MAX + 1) == 0)
			return (v - 1);
	}
	return (RTAB_NONE);
}

uint32_t
rtab_queue_depth(const struct shm *s)
{
	int32_t a = (int32_t)CMM_LOAD_SHARED(s->rt->active);

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (a < 0 ? 0 : (uint32_t)a);
}

uint64_t
rtab_pending(const struct shm *s)
{
	uint64_t n = 0;
	uint32_t i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < NREC(s); i++) {
		const struct rtab_rec *r = &s->recs[i];
		unsigned st = W_STATE(CMM_LOAD_SHARED(r->word));
		unsigned wh = W_STATE(CMM_LOAD_SHARED(r->whword));

		if (st == RTAB_QUEUED || st == RTAB_RUNNING || st == RTAB_FILLING)
			n++;
		else if (st != RTAB_FREE && (wh == RTAB_WH_WAITING ||
		    wh == RTAB_WH_PENDING || wh == RTAB_WH_INFLIGHT))
			n++;
	}
	for (i = 0; i < NBATCH(s); i++) {
		unsigned wh = W_STATE(CMM_LOAD_SHARED(s->batches[i].whword));

		if (batch_whmode(s, i) && (wh == RTAB_WH_PENDING ||
		    wh == RTAB_WH_INFLIGHT))
			n++;
	}
	return (n);
}

/*==================================================================
 * Reading
 */

/*
 * The delivery of batch item (webhook_mode batch) as a view: a copy taken
 * between two equal reads of its webhook word, texts bounded.  0 ok, -1
 * not such a batch (or it kept changing).
 */
static int
batch_wh_view(const struct shm *s, uint32_t item, struct rtab_view *v)
{
	const struct rtab_batch *b;
	uint32_t bi = item - NREC(s);
	uint64_t w1;
	int tries;

	if (bi >= NBATCH(s))
		return (-1);
	b = &s->batches[bi];
	for (tries = 0; tries < 16; tries++) {
		memset(v, 0, sizeof *v);
		if (!batch_whmode(s, bi))
			return (-1);
		w1 = CMM_LOAD_SHARED(b->whword);
		cmm_smp_rmb();
		v->rec = item;
		v->state = RTAB_DONE;
		v->wh_batch = 1;
		v->iteration = -1;
		copy_str(v->batch_id, b->id, sizeof v->batch_id);
		copy_str(v->result_id, b->wh_id, sizeof v->result_id);
		v->t_accepted = b->created;
		v->t_finished = b->t_done;
		v->wh = W_STATE(w1) <= RTAB_WH_FAILED ?
		    (enum rtab_wh)W_STATE(w1) : RTAB_WH_NONE;
		v->wh_attempts = (int)W_GEN(w1);
		v->wh_owner = W_PID(w1);
		v->wh_first = b->wh_first;
		v->wh_last = b->wh_last;
		v->wh_next = b->wh_next;
		v->wh_part = b->wh_part;
		copy_str(v->wh_error, b->wh_error, sizeof v->wh_error);
		if (b->url_units > 0 && b->url_len <= RTAB_URL_MAX &&
		    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units)
			copy_str(v->url, (const char *)s->arena +
			    (uint64_t)b->url_unit * RTAB_UNIT, sizeof v->url);
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(b->whword) == w1)
			return (0);
	}
	return (-1);
}

/*
 * One snapshot of the record (copied between two equal reads of its state
 * word), validated, and nothing but it used afterwards: sizes and offsets
 * re-read from the file could differ from the ones checked (a reader sized
 * its copy from one read and copied from another).  Only the arena bytes
 * are read from the file again, at the validated place, and the state word
 * once more after them.
 */
int
rtab_view_get(const struct shm *s, uint32_t ri, int with_data,
    struct rtab_view *v)
{
	const struct rtab_rec *r;
	struct rtab_rec snap;
	const struct rtab_batch *b = NULL;
	const char *why;
	uint64_t w1;
	unsigned st;
	int tries;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	memset(v, 0, sizeof *v);
	if (ri >= NREC(s))
		return (batch_wh_view(s, ri, v));
	r = &s->recs[ri];
	for (tries = 0; tries < 16; tries++) {
		w1 = CMM_LOAD_SHARED(r->word);
		cmm_smp_rmb();
		memcpy(&snap, r, sizeof snap);
		snap.whword = CMM_LOAD_SHARED(r->whword);
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(r->word) != w1)
			continue;
		snap.word = w1;
		st = W_STATE(w1);
		if (st == RTAB_FREE || st == RTAB_FILLING)
			return (-1);
		v->rec = ri;
		v->word = w1;
		if (snap.batch < NBATCH(s)) {
			b = &s->batches[snap.batch];
			copy_str(v->batch_id, b->id, sizeof v->batch_id);
		}
		if ((why = rtab_rec_invalid(s, &snap)) != NULL) {
			/*
			 * Not ours to repair (a reader; the master does at
			 * start, the worker that takes it): shown as what it
			 * will be, FAILED, with nothing of it followed.
			 */
			v->state = RTAB_FAILED;
			v->fit_status = IMPFIT_BAD_INPUT;
			copy_str(v->error, RTAB_CORRUPT_ERROR, sizeof v->error);
			v->wh = W_STATE(snap.whword) <= RTAB_WH_FAILED ?
			    (enum rtab_wh)W_STATE(snap.whword) : RTAB_WH_NONE;
			copy_str(v->result_id, snap.resid, sizeof v->result_id);
			copy_str(v->circuit, snap.circuit, sizeof v->circuit);
			v->iteration = snap.iteration;
			v->t_accepted = snap.t_accepted;
			v->t_finished = snap.t_finished;
			return (0);
		}
		v->state = (enum rtab_state)st;
		v->owner = st == RTAB_RUNNING ? W_PID(w1) : 0;
		copy_str(v->result_id, snap.resid, sizeof v->result_id);
		v->iteration = snap.iteration;
		v->n = (int)snap.n;
		v->nparams = (int)snap.nparams;
		v->ninit = (int)snap.ninit;
		copy_str(v->circuit, snap.circuit, sizeof v->circuit);
		v->method = snap.method;
		v->weighting = snap.weighting;
		v->max_iterations = snap.max_iterations;
		v->timeout_ms = snap.timeout_ms;
		v->extras = snap.extras;
		v->lease_losses = snap.losses;
		v->fit_status = snap.fit_status;
		v->chi_square = snap.chi2;
		v->iterations = snap.iterations;
		v->evaluations = snap.evaluations;
		v->fit_ns = snap.fit_ns;
		v->t_accepted = snap.t_accepted;
		v->t_started = snap.t_started;
		v->t_finished = snap.t_finished;
		copy_str(v->error, snap.error, sizeof v->error);
		v->wh = (enum rtab_wh)W_STATE(snap.whword);
		v->wh_attempts = (int)W_GEN(snap.whword);
		v->wh_owner = W_PID(snap.whword);
		v->wh_first = snap.wh_first;
		v->wh_last = snap.wh_last;
		v->wh_next = snap.wh_next;
		copy_str(v->wh_error, snap.wh_error, sizeof v->wh_error);
		if (snap.url_len > 0)
			copy_str(v->url, rec_url(s, &snap), snap.url_len + 1);
		else if (b != NULL && b->url_units > 0 &&
		    b->url_len <= RTAB_URL_MAX &&
		    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units)
			copy_str(v->url, (const char *)s->arena +
			    (uint64_t)b->url_unit * RTAB_UNIT,
			    sizeof v->url);
		if (with_data) {
			size_t nd = 3 * (size_t)snap.n + snap.ninit +
			    2 * (size_t)snap.nparams + 2 * (size_t)snap.ncons;
			double *d = imp_malloc(sizeof(double) * (nd ? nd : 1));
			memcpy(d, rec_data(s, &snap), sizeof(double) * nd);
			v->freq = d;
			v->zre = d + v->n;
			v->zim = d + 2 * v->n;
			v->init = v->ninit > 0 ? d + 3 * v->n : NULL;
			v->params = d + 3 * v->n + v->ninit;
			v->std_errors = v->params + v->nparams;
			v->lower = snap.ncons > 0 ? v->std_errors +
			    v->nparams : NULL;
			v->upper = snap.ncons > 0 ? v->lower + snap.ncons :
			    NULL;
		}
		cmm_smp_rmb();
		if (CMM_LOAD_SHARED(r->word) == w1)
			return (0);
		rtab_view_free(v);
		memset(v, 0, sizeof *v);
		b = NULL;
	}
	return (-1);
}

void
rtab_view_free(struct rtab_view *v)
{
	imp_free(v->freq);
	v->freq = v->zre = v->zim = v->init = v->params = v->std_errors = NULL;
}

static void
batch_info(const struct shm *s, uint32_t bi, struct rtab_batch_info *info,
    uint32_t **recs)
{
	const struct rtab_batch *b = &s->batches[bi];
	uint32_t r, n = 0, *out = NULL;

	memset(info, 0, sizeof *info);
	info->batch = bi;
	copy_str(info->id, b->id, sizeof info->id);
	if (b->url_units > 0 && b->url_len <= RTAB_URL_MAX &&
	    (uint64_t)b->url_unit + b->url_units <= s->head->arena_units)
		copy_str(info->url, (const char *)s->arena +
		    (uint64_t)b->url_unit * RTAB_UNIT, sizeof info->url);
	info->created = b->created;
	if (recs != NULL)
		out = imp_calloc(b->count > 0 ? b->count : 1, sizeof *out);
	for (r = b->first; r != RTAB_NONE && r < NREC(s) && n < b->count &&
	    n <= NREC(s); r = s->recs[r].next) {
		uint64_t w = CMM_LOAD_SHARED(s->recs[r].word);
		uint64_t wh = CMM_LOAD_SHARED(s->recs[r].whword);

		switch (W_STATE(w)) {
		case RTAB_QUEUED:	info->queued++; break;
		case RTAB_RUNNING:	info->running++; break;
		case RTAB_DONE:		info->done++; break;
		case RTAB_FAILED:	info->failed++; break;
		case RTAB_CANCELLED:	info->cancelled++; break;
		default:		break;
		}
		switch (W_STATE(wh)) {
		case RTAB_WH_WAITING:
		case RTAB_WH_PENDING:	info->wh_pending++; break;
		case RTAB_WH_INFLIGHT:	info->wh_inflight++; break;
		case RTAB_WH_DELIVERED:	info->wh_delivered++; break;
		case RTAB_WH_FAILED:	info->wh_failed++; break;
		default:		break;
		}
		if (out != NULL)
			out[n] = r;
		n++;
	}
	info->count = (int)n;
	if (batch_whmode(s, bi)) {
		/* its records have no webhook of their own: count its one */
		info->wh_mode = RTAB_WHMODE_BATCH;
		info->wh_pending = info->wh_inflight = info->wh_delivered =
		    info->wh_failed = 0;
		switch (W_STATE(CMM_LOAD_SHARED(b->whword))) {
		case RTAB_WH_WAITING:
		case RTAB_WH_PENDING:	info->wh_pending = 1; break;
		case RTAB_WH_INFLIGHT:	info->wh_inflight = 1; break;
		case RTAB_WH_DELIVERED:	info->wh_delivered = 1; break;
		case RTAB_WH_FAILED:	info->wh_failed = 1; break;
		default:		break;
		}
	}
	if (recs != NULL)
		*recs = out;
}

int
rtab_batch_find_ro(const struct shm *s, const char *id,
    struct rtab_batch_info *bi, uint32_t **recs)
{
	uint32_t b = rtab_hash_find(s, id);

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (b != RTAB_NONE)
		batch_info(s, b, bi, recs);
	return (b == RTAB_NONE ? -1 : 0);
}

void
rtab_batch_foreach(const struct shm *s,
    int (*fn)(const struct rtab_batch_info *bi, void *arg), void *arg)
{
	struct seqidx *v;
	struct rtab_batch_info info;
	uint32_t i, n = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	v = imp_calloc(NBATCH(s), sizeof *v);
	for (i = 0; i < NBATCH(s); i++)
		if (CMM_LOAD_SHARED(s->batches[i].state) == RTAB_B_READY) {
			v[n].seq = s->batches[i].seq;
			v[n++].idx = i;
		}
	qsort(v, n, sizeof *v, seqidx_cmp);
	for (i = 0; i < n; i++) {
		if (CMM_LOAD_SHARED(s->batches[v[i].idx].state) != RTAB_B_READY)
			continue;
		batch_info(s, v[i].idx, &info, NULL);
		if (fn(&info, arg) != 0)
			break;
	}
	imp_free(v);
}

const char *
rtab_batch_status(const struct rtab_batch_info *bi)
{
	if (bi->queued + bi->running > 0)
		return (bi->running + bi->done + bi->failed > 0 ? "running" : "queued");
	if (bi->count > 0 && bi->cancelled == bi->count)
		return ("cancelled");
	if (bi->count > 0 && bi->failed == bi->count)
		return ("failed");
	if (bi->done == bi->count)
		return ("completed");
	return ("partial");
}

uint32_t
rtab_nrecords(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (NREC(s));
}

enum rtab_state
rtab_state_of(const struct shm *s, uint32_t ri, pid_t *owner)
{
	uint64_t w;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (ri >= NREC(s))
		return (RTAB_FREE);
	w = CMM_LOAD_SHARED(s->recs[ri].word);
	if (owner != NULL)
		*owner = W_STATE(w) == RTAB_RUNNING ? W_PID(w) : 0;
	return (W_STATE(w) <= RTAB_CANCELLED ? (enum rtab_state)W_STATE(w) : RTAB_FREE);
}

uint32_t
rtab_find_result(const struct shm *s, const char *resid)
{
	uint32_t i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < NREC(s); i++) {
		unsigned st = W_STATE(CMM_LOAD_SHARED(s->recs[i].word));
		if (st != RTAB_FREE && st != RTAB_FILLING &&
		    strncmp(s->recs[i].resid, resid, RTAB_RESID_LEN + 1) == 0)
			return (i);
	}
	return (RTAB_NONE);
}

const char *
rtab_state_name(enum rtab_state st)
{
	static const char *const n[] = { "free", "filling", "queued", "running",
	    "done", "failed", "cancelled" };

	return ((unsigned)st <= RTAB_CANCELLED ? n[st] : "?");
}

const char *
rtab_wh_name(enum rtab_wh w)
{
	static const char *const n[] = { "none", "waiting", "pending",
	    "inflight", "delivered", "failed" };

	return ((unsigned)w <= RTAB_WH_FAILED ? n[w] : "?");
}

/*==================================================================
 * Webhook deliveries: what is due, a batch delivery's records, URLs
 */

uint32_t
rtab_wh_items(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (NREC(s) + NBATCH(s));
}

int
rtab_wh_due(const struct shm *s, uint64_t now, uint32_t *out, int max)
{
	uint32_t i;
	int n = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < NREC(s) && n < max; i++) {
		const struct rtab_rec *r = &s->recs[i];
		uint64_t wh = CMM_LOAD_SHARED(r->whword);

		if (W_STATE(wh) != RTAB_WH_PENDING)
			continue;
		if (!st_final(W_STATE(CMM_LOAD_SHARED(r->word))))
			continue;
		if (CMM_LOAD_SHARED(r->wh_next) <= now)
			out[n++] = i;
	}
	for (i = 0; i < NBATCH(s) && n < max; i++) {
		const struct rtab_batch *b = &s->batches[i];

		if (batch_whmode(s, i) &&
		    W_STATE(CMM_LOAD_SHARED(b->whword)) == RTAB_WH_PENDING &&
		    CMM_LOAD_SHARED(b->wh_next) <= now)
			out[n++] = NREC(s) + i;
	}
	return (n);
}

int
rtab_wh_batch_recs(const struct shm *s, uint32_t item, uint32_t **recs)
{
	const struct rtab_batch *b;
	uint32_t r, n = 0, *out;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	*recs = NULL;
	if (item < NREC(s) || item - NREC(s) >= NBATCH(s) ||
	    !batch_whmode(s, item - NREC(s)))
		return (-1);
	b = &s->batches[item - NREC(s)];
	out = imp_calloc(b->count > 0 && b->count <= NREC(s) ? b->count : 1,
	    sizeof *out);
	for (r = b->first; r != RTAB_NONE && r < NREC(s) && n < b->count &&
	    n < NREC(s); r = s->recs[r].next)
		out[n++] = r;
	*recs = out;
	return ((int)n);
}

int
rtab_wh_url(const struct shm *s, uint32_t ri, char url[RTAB_URL_MAX + 1])
{
	struct rtab_view v;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	url[0] = '\0';
	if (rtab_view_get(s, ri, 0, &v) < 0)
		return (-1);
	memcpy(url, v.url, RTAB_URL_MAX + 1);
	return (0);
}
