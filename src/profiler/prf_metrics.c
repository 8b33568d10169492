/*
 * impcore - /metrics on -profile-port: the same exposition a worker serves
 * on the API port (render/prom.c), so the two never disagree.
 */
#include "config.h"

#include "lib/buf.h"
#include "lib/check.h"
#include "profiler/prf.h"
#include "render/prom.h"

void
prf_metrics(struct prf *prf, struct hreq *req)
{
	struct buf b;

	CHECK_OBJ_NOTNULL(prf, PRF_MAGIC);

	buf_init(&b);
	prom_render(&b, prf->shm);
	prf_reply_buf(req, 200, PROM_CONTENT_TYPE, &b);
	buf_free(&b);
}
