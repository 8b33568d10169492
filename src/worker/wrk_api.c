/*
 * impcore - worker: the HTTP API of DESIGN section 4.
 *
 * Every answer is JSON, errors included; with -profile every answer carries
 * the Go server's X- profiling headers.  Routing is by path first, through
 * one table (wrk_routes[], at the end): an unknown path is 404, a known
 * path with a method it does not serve is 405 with Allow (whatever the
 * method, also ones no library knows).
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "impfit.h"

#include "daemon/cfg.h"
#include "daemon/children.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "net/hsrv.h"
#include "plot/plot.h"
#include "render/plot_view.h"
#include "render/prom.h"
#include "render/render.h"
#include "state/ctl.h"
#include "state/rtab.h"
#include "state/shm.h"
#include "worker/wrk_priv.h"

/* What a request needs to remember for its answer (profiling headers). */
struct wrk_rq {
	const char	*name;		/* X-Handler-Name */
	uint64_t	t0, t0real;
	int64_t		mem0;
	int		tasks0;
};

static void
rq_begin(struct wrk_rq *q, struct hreq *r, const char *name)
{
	q->name = name;
	q->t0 = hreq_start(r);
	q->t0real = hreq_start_real(r);
	q->mem0 = mem_in_use();
	q->tasks0 = wrk.cfg->profile ? wrk_tasks(q->t0) : 0;
}

static void
inflight_update(void)
{
	int n;

	if (wrk.http == NULL)
		return;		/* at exit: sync fits answered after hsrv_free */
	n = hsrv_pending(wrk.http);

	shm_proc_set_inflight(wrk.proc, n);
	stat_set(STAT_http_inflight, (uint64_t)n);
}

/*
 * The X- profiling headers are on every answer with -profile, so they are
 * formatted by hand: printf's machinery (vfprintf, %f) cost a tenth of the
 * CPU of a GET /health.  The output is exactly what the printf formats in
 * the comments give.
 */

/* "%.3f" of ns / 1e6 (milliseconds). */
static char *
xh_ms(char *p, uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned rem = (unsigned)(ns % 1000);

	/*
	 * Round to the microsecond as printf rounds the double: exact except
	 * on a tie (rem 500), where the double's own rounding decides, and
	 * for huge values (> 1 day), where the double has too few digits.
	 */
	if (rem == 500 || ns >= 86400ull * 1000000000u)
		return (p + snprintf(p, 32, "%.3f", (double)ns / 1e6));
	us += rem > 500;
	p = buf_int_at(p, (int64_t)(us / 1000));
	*p++ = '.';
	return (buf_digits_at(p, (uint32_t)(us % 1000), 3));
}

/* tim_rfc3339(real_ns, 1, ...): the date part changes once a second. */
static char *
xh_time(char *p, uint64_t real_ns)
{
	static uint64_t sec = UINT64_MAX;
	static char date[48];
	static size_t len;

	if (real_ns / 1000000000u != sec) {
		sec = real_ns / 1000000000u;
		/* "YYYY-MM-DDTHH:MM:SSZ" without its Z */
		len = strlen(tim_rfc3339(sec * 1000000000u, 0, date, sizeof date));
		len = len > 0 ? len - 1 : 0;
	}
	memcpy(p, date, len);
	p += len;
	*p++ = '.';
	p = buf_digits_at(p, (uint32_t)(real_ns % 1000000000u), 9);
	*p++ = 'Z';
	return (p);
}

/* The X- headers into h (XH_MAX bytes); returns their length. */
#define XH_MAX		512
static size_t
reply_profile_headers(char *h, const struct wrk_rq *q, int status,
    uint64_t ns)
{
	char *p = h;
	size_t nl = strnlen(q->name, 64);
	int tasks1 = wrk_tasks(q->t0 + ns);

	/* one block, handed to hreq_reply_lines(): nine hreq_add_header()
	 * calls cost more than the formatting, and even one copy into the
	 * request (an allocation, a free) was a tenth of what -profile adds */
	p = BUF_LIT_AT(p, "X-Profiling-Enabled: true\r\nX-Handler-Name: ");
	memcpy(p, q->name, nl);
	p += nl;
	p = BUF_LIT_AT(p, "\r\nX-Start-Time: ");
	p = xh_time(p, q->t0real);
	p = BUF_LIT_AT(p, "\r\nX-Duration-Ms: ");
	p = xh_ms(p, ns);
	p = BUF_LIT_AT(p, "\r\nX-Memory-Delta-Bytes: ");
	p = buf_int_at(p, mem_in_use() - q->mem0);
	p = BUF_LIT_AT(p, "\r\nX-Start-Goroutines: ");
	p = buf_int_at(p, q->tasks0);
	p = BUF_LIT_AT(p, "\r\nX-End-Goroutines: ");
	p = buf_int_at(p, tasks1);
	p = BUF_LIT_AT(p, "\r\nX-Goroutine-Delta: ");
	p = buf_int_at(p, tasks1 - q->tasks0);
	p = BUF_LIT_AT(p, "\r\nX-Status-Code: ");
	p = buf_int_at(p, status);
	p = BUF_LIT_AT(p, "\r\n");
	return ((size_t)(p - h));
}

/* The request's log line; its parts are fields of a JSON line too. */
static void
rq_log(struct hreq *r, const struct wrk_rq *q, int status, uint64_t ns,
    const char *tail)
{
	const char *method = hreq_method(r), *path = hreq_path(r);
	const char *peer = hreq_peer(r);
	struct log_field f[] = {
		LOG_FS("method", method),
		LOG_FS("path", path),
		LOG_FI("status", status),
		LOG_FN("duration_ms", (double)ns / 1e6),
		LOG_FS("peer", peer),
		LOG_FS("handler", q->name),
	};

	log_req_fields(f, (int)(sizeof f / sizeof f[0]), "%.16s %.120s %d "
	    "%.3fms %s%s", method, path, status, (double)ns / 1e6, peer, tail);
}

/* Send b as the answer and account for it.  b is freed. */
static void
reply(struct hreq *r, const struct wrk_rq *q, int status, struct buf *b)
{
	uint64_t ns = tim_mono() - q->t0;
	char xh[XH_MAX];
	size_t xhl = 0;

	STAT_INC(http_requests);
	STAT_STATUS(status);
	if (status >= 400 && status < 500)
		STAT_INC(http_4xx);
	else if (status >= 500)
		STAT_INC(http_5xx);
	stat_hist_add(STAT_H_request_time, ns);
	if (wrk.cfg->profile)
		xhl = reply_profile_headers(xh, q, status, ns);
	if (!log_quiet())
		rq_log(r, q, status, ns, "");
	if (b->len == 0)
		buf_adds(b, "{}");
	buf_addc(b, '\n');
	hreq_reply_lines(r, status, xh, xhl, b->p, b->len);
	buf_free(b);
	inflight_update();
}

/*
 * reply() for an answer too large to build whole: b is its start (freed),
 * fill renders the rest as the client reads (hreq_reply_stream).  The log
 * line and the request time are those of the start.
 */
static void
reply_stream(struct hreq *r, const struct wrk_rq *q, int status,
    struct buf *b, hsrv_fill_fn *fill, hsrv_fini_fn *fini, void *arg)
{
	uint64_t ns = tim_mono() - q->t0;
	char xh[XH_MAX];
	size_t xhl = 0;

	STAT_INC(http_requests);
	STAT_STATUS(status);
	stat_hist_add(STAT_H_request_time, ns);
	if (wrk.cfg->profile)
		xhl = reply_profile_headers(xh, q, status, ns);
	if (!log_quiet())
		rq_log(r, q, status, ns, " (streamed)");
	hreq_reply_stream(r, status, xh, xhl, b->p, b->len, fill, fini, arg);
	buf_free(b);
	inflight_update();
}

static void
reply_error(struct hreq *r, const struct wrk_rq *q, int status,
    const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reply_error(struct hreq *r, const struct wrk_rq *q, int status,
    const char *field, const char *fmt, ...)
{
	struct buf b;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	switch (status) {
	case 400: STAT_INC(http_bad_request); break;
	case 401: STAT_INC(http_unauthorized); break;
	case 413: STAT_INC(http_too_large); break;
	default: break;
	}
	buf_init(&b);
	buf_adds(&b, "{\"success\":false,\"error\":");
	buf_json_str(&b, msg);
	if (field != NULL && *field != '\0') {
		buf_adds(&b, ",\"field\":");
		buf_json_str(&b, field);
	}
	buf_addc(&b, '}');
	reply(r, q, status, &b);
}

/* Errors the HTTP layer found (bad request line, 413 by Content-Length ...). */
void
wrk_api_error(struct hreq *r, int status, const char *msg, void *arg)
{
	struct wrk_rq q;

	(void)arg;
	rq_begin(&q, r, "error");
	inflight_update();
	if (status == 503)
		hreq_add_header(r, "Retry-After", "1");
	reply_error(r, &q, status, NULL, "%s", msg);
}

/*==================================================================
 * Handlers
 */

static void
h_health(struct hreq *r, struct wrk_rq *q, const char *id)
{
	uint64_t now = tim_real(), start = wrk.ctx->master_start, ms;
	struct buf b;
	char *p;

	(void)id;
	/* the liveness probe of load balancers: by hand, not printf; the
	 * same text as "...\"uptime_s\":%.3f..." (milliseconds rounded) */
	ms = now > start ? (now - start + 500000) / 1000000 : 0;
	buf_init(&b);
	buf_need(&b, 160);
	p = b.p;
	p = BUF_LIT_AT(p, "{\"status\":\"ok\",\"queue_depth\":");
	p = buf_int_at(p, rtab_queue_depth(wrk.shm));
	p = BUF_LIT_AT(p, ",\"workers\":");
	p = buf_int_at(p, shm_proc_count(wrk.shm, SHM_ROLE_WORKER));
	p = BUF_LIT_AT(p, ",\"uptime_s\":");
	p = buf_int_at(p, (long long)(ms / 1000));
	*p++ = '.';
	p = buf_digits_at(p, (uint32_t)(ms % 1000), 3);
	p = BUF_LIT_AT(p, ",\"pid\":");
	p = buf_int_at(p, wrk.pid);
	p = BUF_LIT_AT(p, ",\"worker\":");
	p = buf_int_at(p, wrk.index);
	*p++ = '}';
	b.len = (size_t)(p - b.p);
	b.p[b.len] = '\0';
	reply(r, q, 200, &b);
}

/* The fit statistics of every result (issue 15, part 4), described. */
static void
wrk_api_describe_stats(struct buf *b)
{
	buf_adds(b, "\"result_statistics\":{"
	    "\"residuals_real\":\"(Z'obs - Z'fit) / |Zobs| per point\","
	    "\"residuals_imag\":\"(Z''obs - Z''fit) / |Zobs| per point\","
	    "\"dof\":\"2 points - fitted parameters\","
	    "\"rmse\":\"sqrt(sum |Zobs - Zfit|^2 / points), ohm\","
	    "\"aic\":\"m ln(SSR/m) + 2k, m = 2 points, SSR weighted, "
	    "k fitted parameters\","
	    "\"bic\":\"m ln(SSR/m) + k ln(m)\","
	    "\"ci95_low\":\"parameters - t(0.975, dof) std_errors\","
	    "\"ci95_high\":\"parameters + t(0.975, dof) std_errors\"}");
}

static void
h_describe(struct hreq *r, struct wrk_rq *q, const char *id)
{
	static const struct {
		const char *letter, *name, *params, *z;
	} el[] = {
		{ "R", "resistor", "\"R\"", "R" },
		{ "C", "capacitor", "\"C\"", "1/(jwC)" },
		{ "L", "inductor", "\"L\"", "jwL" },
		{ "W", "infinite Warburg", "\"Y0\"", "1/(Y0 sqrt(jw))" },
		{ "Q", "constant phase element", "\"Y0\",\"n\"", "1/(Y0 (jw)^n), 0<n<=1" },
		{ "O", "finite-length Warburg", "\"Y0\",\"B\"", "tanh(B sqrt(jw))/(Y0 sqrt(jw))" },
		{ "T", "finite-space Warburg", "\"Y0\",\"B\"", "coth(B sqrt(jw))/(Y0 sqrt(jw))" },
		{ "G", "Gerischer", "\"Y0\",\"k\"", "1/(Y0 sqrt(k+jw))" },
		{ "F", "fractal Gerischer", "\"Y0\",\"k\",\"a\"", "1/(Y0 (k+jw)^a), 0<a<=1" },
	};
	/* impedance.py's elements (issue 15, part 2), its definitions */
	static const struct {
		const char *name, *params, *z;
	} py[] = {
		{ "R", "\"R\"", "R" },
		{ "C", "\"C\"", "1/(jwC)" },
		{ "L", "\"L\"", "jwL" },
		{ "W", "\"A_W\"", "A_W (1-j)/sqrt(w)" },
		{ "Wo", "\"Z0\",\"tau\"", "Z0 coth(sqrt(jw tau))/sqrt(jw tau)" },
		{ "Ws", "\"Z0\",\"tau\"", "Z0 tanh(sqrt(jw tau))/sqrt(jw tau)" },
		{ "CPE", "\"Q\",\"alpha\"", "1/(Q (jw)^alpha), 0<alpha<=1" },
		{ "La", "\"L\",\"alpha\"", "(jw L)^alpha, 0<alpha<=1" },
		{ "G", "\"R_G\",\"t_G\"", "R_G/sqrt(1+jw t_G)" },
		{ "Gs", "\"R_G\",\"t_G\",\"phi\"", "R_G/(sqrt(1+jw t_G) tanh(phi sqrt(1+jw t_G)))" },
		{ "K", "\"R\",\"tau_k\"", "R/(1+jw tau_k)" },
		{ "Zarc", "\"R\",\"tau_k\",\"gamma\"", "R/(1+(jw tau_k)^gamma), 0<gamma<=1" },
		{ "TLMQ", "\"R_ion\",\"Q_s\",\"gamma\"", "sqrt(R_ion Z_s) coth(sqrt(R_ion/Z_s)), Z_s=1/(Q_s (jw)^gamma), 0<gamma<=1" },
		{ "T", "\"A\",\"B\",\"a\",\"b\"", "A coth(beta)/beta + B/(beta sinh(beta)), beta=sqrt(a+jw b)" },
	};
	struct buf b;
	struct shm_geom g;
	size_t i;

	(void)id;
	shm_geom_get(wrk.shm, &g);
	buf_init(&b);
	buf_printf(&b, "{\"service\":\"impcore\",\"version\":\"%s\","
	    "\"message\":\"EIS equivalent-circuit fitting: POST one spectrum "
	    "here (fitted now) or a batch to /eis-data/batch\","
	    "\"endpoints\":{\"POST /eis-data\":\"fit one spectrum now\","
	    "\"POST /eis-data/batch\":\"queue a batch (202; without webhook "
	    "with expires_at, results readable at least until then; a known "
	    "batch_id with the same spectra: 200, its status, duplicate: true, "
	    "nothing queued; with other spectra: 409)\","
	    "\"GET /eis-data/batch/{batch_id}[?offset=N&limit=M]\":\"batch "
	    "status and results (results[offset..offset+limit); large answers "
	    "are chunked)\","
	    "\"POST /eis-data/file?circuit=...\":\"a spectrum file as the "
	    "body (gamry, biologic, zplot, versastudio, ivium, palmsens, dfr, "
	    "p00, elchemea, chinstruments, parstat, autolab, powersuite, csv; "
	    "detected, or format=NAME), "
	    "options as query parameters (format, name, batch_id, circuit, "
	    "method, weighting, webhook_url, webhook_mode, max_iterations, "
	    "timeout, initial_values, validate, linkk_*, drt, drt_lambda): 202 "
	    "like a "
	    "batch, 415 unknown format, 400 naming the line\","
	    "\"DELETE /eis-data/batch/{batch_id}\":\"cancel what is not fitted yet\","
	    "\"GET /eis-data/batch/{batch_id}/plot.svg?spectrum=N&kind="
	    "nyquist|bode|residuals|drt|all\":\"the picture of spectrum N "
	    "(image/svg+xml)\","
	    "\"GET /metrics\":\"Prometheus text format (0.0.4): every "
	    "counter, answers by code (impcore_http_responses_total{code}), "
	    "per-process series by role and index; loopback only unless "
	    "-api-token (then with it), without -profile\","
	    "\"GET /health\":\"liveness\"},", PACKAGE_VERSION);
	buf_adds(&b, "\"input\":{\"batch\":{\"batch_id\":\"optional, 1-64 of "
	    "A-Z a-z 0-9 . _ : -, not . or ..; else the Idempotency-Key "
	    "header\",\"spectra\":[{\"iteration\":0,"
	    "\"impedance_data\":{\"frequencies\":\"[Hz, > 0]\","
	    "\"impedance\":\"[{real, imag}] (wins)\",\"magnitude\":\"[ohm]\","
	    "\"phase\":\"[degrees]\"}}]},\"optional\":[\"circuit\",\"method\","
	    "\"initial_values\",\"weighting\",\"webhook_url\",\"max_iterations\","
	    "\"timeout\",\"constants\",\"bounds\",\"validate\",\"linkk_c\","
	    "\"linkk_max_m\",\"linkk_fit_type\",\"linkk_add_cap\",\"drt\","
	    "\"drt_lambda\",\"webhook_mode\"],\"webhook_mode\":\"batch level: "
	    "spectrum (one POST per result) or batch (one POST per batch once "
	    "all its spectra are done, failed or cancelled: {batch_id, time, "
	    "[part, parts,] results}, in parts past -webhook-batch-max); "
	    "default -webhook-mode\",\"constants\":\"{name: "
	    "value}: parameters held at a value (std_error null)\","
	    "\"bounds\":\"{name: [low, high]}: parameters kept within\",\"timeout\":\"the fit's time budget: seconds "
	    "(> 0, e.g. 2.5) or a duration string (\\\"500ms\\\", \\\"2s\\\"), at "
	    "most -fit-timeout\","
	    "\"validate\":{\"linkk\":\"Lin-KK test (Schoenleber 2014, as "
	    "impedance.py linKK): linkk_c mu cut-off (0.85), linkk_max_m (50, "
	    "1-200), linkk_fit_type real|imag|complex, linkk_add_cap (false); "
	    "adds a linkk object: M, mu, pseudo_chi_square, residuals_real, "
	    "residuals_imag\"},\"drt\":\"true: adds a drt object, the "
	    "distribution of relaxation times (Tikhonov, Gaussian basis, gamma >= "
	    "0; drt_lambda, default 0.001): tau [s], gamma [ohm per ln tau], "
	    "R_inf, L, R_pol, real_impedance, imaginary_impedance\"},");
	buf_adds(&b, "\"circuit_elements\":[");
	for (i = 0; i < sizeof el / sizeof el[0]; i++)
		buf_printf(&b, "%s{\"letter\":\"%s\",\"name\":\"%s\","
		    "\"parameters\":[%s],\"impedance\":\"%s\"}", i ? "," : "",
		    el[i].letter, el[i].name, el[i].params, el[i].z);
	buf_printf(&b, "],\"circuit_syntax\":{\"cdc\":\"letters, each pair of "
	    "parentheses toggles series/parallel: R(Q(R(QR))); names R0, Q0.Y0, "
	    "Q0.n\",\"impedance.py\":\"R0-p(R1,CPE1)-Wo1: - in series, "
	    "p(a,b,...) in parallel, each element a name and a number; read so "
	    "when the code has - or , or starts with p( or a name and a number; "
	    "names R0, CPE1_0, CPE1_1 "
	    "(constants and bounds too)\",\"max_bytes\":%d},"
	    "\"impedance_py_elements\":[", RTAB_CIRCUIT_MAX);
	for (i = 0; i < sizeof py / sizeof py[0]; i++)
		buf_printf(&b, "%s{\"name\":\"%s\",\"parameters\":[%s],"
		    "\"impedance\":\"%s\"}", i ? "," : "", py[i].name,
		    py[i].params, py[i].z);
	buf_printf(&b, "],\"methods\":[\"levenberg-marquardt\",\"nelder-mead\"],"
	    "\"weightings\":[\"modulus\",\"unity\",\"proportional\"],"
	    "\"defaults\":{\"circuit\":");
	buf_json_str(&b, wrk.def_circuit);
	buf_adds(&b, ",\"method\":");
	buf_json_str(&b, impfit_method_name((enum impfit_method)wrk.def_method));
	buf_adds(&b, ",\"webhook_mode\":");
	buf_json_str(&b, wrk.cfg->webhook_mode != NULL ? wrk.cfg->webhook_mode :
	    "spectrum");
	buf_printf(&b, ",\"weighting\":\"modulus\"},\"limits\":{\"max_points\":%u,"
	    "\"queue_size\":%u,\"results\":%u,\"max_body_bytes\":%ju,"
	    "\"fit_timeout_s\":%.9g,\"body_timeout_s\":%.9g,"
	    "\"max_iterations\":%d,\"webhook_batch_max_bytes\":%ju},"
	    "\"fit_status\":[\"ok\",\"max_iterations\",\"diverged\","
	    "\"bad_input\",\"timeout\"],",
	    wrk.max_points, g.queue_size, g.results,
	    (uintmax_t)wrk.cfg->body_max, (double)wrk.cfg->fit_timeout / 1e9,
	    (double)wrk.cfg->body_timeout / 1e9, WRK_MAX_ITERATIONS,
	    (uintmax_t)wrk.cfg->webhook_batch_max);
	wrk_api_describe_stats(&b);
	buf_addc(&b, '}');
	reply(r, q, 200, &b);
}

/*=====================================================================
 * Rendered finished results, for the polls of GET /eis-data/batch/{id}
 *
 * A DONE or FAILED record's JSON never changes while its state word does
 * not, and the word (gen) changes on every transition, eviction and reuse
 * included (gen has 24 bits: a stale hit needs 16M transitions of one
 * record between two lookups).  Direct-mapped by record index, at most
 * RC_BYTES of JSON; over that, a clock hand frees entries not used since
 * its last pass.
 */

#define RC_SLOTS	4096
#define RC_BYTES	(8u << 20)

struct rc_ent {
	uint64_t	word;
	uint32_t	ri;
	int		ref;
	size_t		len;
	char		*json;
};

static struct rc_ent	rc_slot[RC_SLOTS];
/* the circuit, quantile and frequencies of the last result rendered here:
 * a batch's results share them (the HTTP thread's, like rc_slot) */
static struct render_cache	wrk_rcache;
static size_t		rc_bytes;
static unsigned		rc_hand;

static void
rc_drop(struct rc_ent *e)
{
	if (e->json == NULL)
		return;
	rc_bytes -= e->len;
	imp_free(e->json);
	e->json = NULL;
}

static const struct rc_ent *
rc_get(uint32_t ri, uint64_t word)
{
	struct rc_ent *e = &rc_slot[ri % RC_SLOTS];

	if (e->json == NULL || e->ri != ri || e->word != word)
		return (NULL);
	e->ref = 1;
	return (e);
}

static void
rc_put(uint32_t ri, uint64_t word, const char *json, size_t len)
{
	struct rc_ent *e = &rc_slot[ri % RC_SLOTS], *f;

	if (len > RC_BYTES / 64)
		return;
	rc_drop(e);
	while (rc_bytes + len > RC_BYTES) {
		f = &rc_slot[rc_hand++ % RC_SLOTS];
		if (f->ref)
			f->ref = 0;
		else
			rc_drop(f);
	}
	e->json = imp_malloc(len);
	memcpy(e->json, json, len);
	e->len = len;
	e->ri = ri;
	e->word = word;
	e->ref = 0;
	rc_bytes += len;
}

/*
 * Append record ri's result object, from the cache when it is finished.
 * -1 (nothing appended) when the record is gone, or no longer of batch
 * bid: a streamed answer reads its records long after it found them.
 */
static int
batch_result_json(struct buf *b, uint32_t ri, const char *bid)
{
	const struct rc_ent *e;
	struct rtab_view v;
	size_t start = b->len;
	int fin;

	/* the state word alone first: a hit needs no copy of the arrays */
	if (rtab_view_get(wrk.shm, ri, 0, &v) < 0)
		return (-1);
	if (strcmp(v.batch_id, bid) != 0) {
		rtab_view_free(&v);
		return (-1);
	}
	fin = v.state == RTAB_DONE || v.state == RTAB_FAILED;
	if (fin && (e = rc_get(ri, v.word)) != NULL) {
		rtab_view_free(&v);
		buf_add(b, e->json, e->len);
		return (0);
	}
	rtab_view_free(&v);
	if (rtab_view_get(wrk.shm, ri, 1, &v) < 0)
		return (-1);
	if (strcmp(v.batch_id, bid) != 0) {
		rtab_view_free(&v);
		return (-1);
	}
	render_result_cached(b, &v, &wrk_rcache);
	if (v.state == RTAB_DONE || v.state == RTAB_FAILED)
		rc_put(ri, v.word, b->p + start, b->len - start);
	rtab_view_free(&v);
	return (0);
}

/* A page of results: ?offset=N&limit=M (given: echoed in the answer). */
struct bpage {
	int	off, lim;		/* lim < 0: to the end */
	int	has_off, has_lim;
};

/* The batch status object up to its results (without the closing brace). */
static void
batch_head_json(struct buf *b, const struct rtab_batch_info *bi,
    int extra_cancelled, const struct bpage *pg)
{
	char ts[48];

	buf_adds(b, "{\"success\":true,\"batch_id\":");
	buf_json_str(b, bi->id);
	buf_adds(b, ",\"status\":");
	buf_json_str(b, rtab_batch_status(bi));
	buf_printf(b, ",\"spectra\":%d,\"done\":%d,\"failed\":%d,\"queued\":%d,"
	    "\"running\":%d,\"cancelled\":%d", bi->count, bi->done, bi->failed,
	    bi->queued, bi->running, bi->cancelled);
	buf_adds(b, ",\"created\":");
	buf_json_str(b, tim_rfc3339(bi->created, 1, ts, sizeof ts));
	if (bi->url[0] != '\0' || bi->wh_pending + bi->wh_inflight +
	    bi->wh_delivered + bi->wh_failed > 0)
		buf_printf(b, ",\"webhooks\":{\"pending\":%d,\"inflight\":%d,"
		    "\"delivered\":%d,\"failed\":%d}", bi->wh_pending,
		    bi->wh_inflight, bi->wh_delivered, bi->wh_failed);
	if (bi->wh_mode == RTAB_WHMODE_BATCH)
		buf_adds(b, ",\"webhook_mode\":\"batch\"");
	if (extra_cancelled >= 0)
		buf_printf(b, ",\"cancelled_now\":%d", extra_cancelled);
	buf_printf(b, ",\"status_url\":\"/eis-data/batch/%s\"", bi->id);
	if (pg != NULL && pg->has_off)
		buf_printf(b, ",\"offset\":%d", pg->off);
	if (pg != NULL && pg->has_lim)
		buf_printf(b, ",\"limit\":%d", pg->lim);
}

/*
 * The results of a batch GET, rendered in steps: whole, or as the client
 * reads (bstream_fill), so that a batch of 200 x 1024 points (111 MB of
 * JSON) never sits in a worker's memory whole; twelve clients that asked
 * for it and did not read took a worker to 750 MB (issue 13).
 */
struct bstream {
	unsigned		magic;
#define BSTREAM_MAGIC		0x42535452u
	struct rtab_batch_info	bi;
	uint32_t		*recs;
	int			i, end;		/* next result, end of the page */
	int			first;		/* no result appended yet */
};

#define WRK_STREAM_AT		(256u * 1024)	/* larger answers are streamed */
#define WRK_STREAM_STEP		(64u * 1024)	/* rendered per fill */

/* Append results until b holds budget bytes or the page is done; 1: done. */
static int
bstream_step(struct buf *b, struct bstream *bs, size_t budget)
{
	while (bs->i < bs->end && b->len < budget) {
		size_t mark = b->len;
		if (!bs->first)
			buf_addc(b, ',');
		if (batch_result_json(b, bs->recs[bs->i++], bs->bi.id) < 0) {
			b->len = mark;	/* gone meanwhile: no comma */
			if (b->p != NULL)
				b->p[mark] = '\0';
			continue;
		}
		bs->first = 0;
	}
	return (bs->i >= bs->end);
}

static int
bstream_fill(struct buf *b, void *arg)
{
	struct bstream *bs = arg;

	assert(bs->magic == BSTREAM_MAGIC);
	if (!bstream_step(b, bs, WRK_STREAM_STEP))
		return (1);
	buf_adds(b, "]}\n");
	return (0);
}

static void
bstream_fini(void *arg)
{
	struct bstream *bs = arg;

	assert(bs->magic == BSTREAM_MAGIC);
	bs->magic = 0;
	imp_free(bs->recs);
	imp_free(bs);
}

/*
 * ?offset= and ?limit=: 0 with *pg filled, or -1 after a 400 naming the
 * parameter.
 */
static int
page_parse(struct hreq *r, struct wrk_rq *q, struct bpage *pg)
{
	static const char *const names[2] = { "offset", "limit" };
	char v[32], *end;
	unsigned long long n;
	int k, *dst[2], *has[2];

	memset(pg, 0, sizeof *pg);
	pg->lim = -1;
	dst[0] = &pg->off;
	dst[1] = &pg->lim;
	has[0] = &pg->has_off;
	has[1] = &pg->has_lim;
	for (k = 0; k < 2; k++) {
		if (hreq_arg(r, names[k], v, sizeof v) == NULL)
			continue;
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end != '\0' ||
		    errno != 0 || n > INT32_MAX || strlen(v) > 10) {
			reply_error(r, q, 400, names[k], "%s: want an integer "
			    "in [0, 2147483647]", names[k]);
			return (-1);
		}
		*dst[k] = (int)n;
		*has[k] = 1;
	}
	return (0);
}

/*
 * The batch's status; dup: the answer to a re-posted batch (its id and
 * spectra known already), marked "duplicate": true.
 */
static void
h_batch_get(struct hreq *r, struct wrk_rq *q, const char *id, int dup)
{
	struct bstream bs0, *bs;
	struct bpage pg;
	struct buf b;

	if (page_parse(r, q, &pg) < 0)
		return;
	memset(&bs0, 0, sizeof bs0);
	bs0.magic = BSTREAM_MAGIC;
	if (rtab_batch_find(wrk.shm, id, &bs0.bi, &bs0.recs) < 0) {
		reply_error(r, q, 404, NULL, "no batch '%s' (unknown, or evicted "
		    "after -retention)", id);
		return;
	}
	bs0.i = pg.off < bs0.bi.count ? pg.off : bs0.bi.count;
	bs0.end = pg.lim >= 0 && pg.lim < bs0.bi.count - bs0.i ?
	    bs0.i + pg.lim : bs0.bi.count;
	bs0.first = 1;
	buf_init(&b);
	batch_head_json(&b, &bs0.bi, -1, &pg);
	if (dup)
		buf_adds(&b, ",\"duplicate\":true");
	buf_adds(&b, ",\"results\":[");
	if (bstream_step(&b, &bs0, WRK_STREAM_AT)) {
		buf_adds(&b, "]}");
		imp_free(bs0.recs);
		reply(r, q, 200, &b);
		return;
	}
	/* large: the rest as the client reads */
	bs = imp_malloc(sizeof *bs);
	*bs = bs0;
	reply_stream(r, q, 200, &b, bstream_fill, bstream_fini, bs);
}

/*
 * GET /eis-data/batch/{id}/plot.svg?spectrum=N&kind=K: the picture of the
 * batch's spectrum N (its place in "results", from 0; default 0), drawn
 * from the state file like the status (plot/plot_view.c).  kind is
 * nyquist, bode, residuals, drt or all (default); the DRT is computed for
 * drt and all, a few ms for 100 points.
 */
static void
h_batch_plot(struct hreq *r, struct wrk_rq *q, const char *id)
{
	struct rtab_batch_info bi;
	struct rtab_view v;
	uint32_t *recs = NULL;
	char arg[32], *end, *svg;
	unsigned kinds = PLOT_ALL;
	long n = 0;
	size_t len;
	struct buf b;

	if (hreq_arg(r, "kind", arg, sizeof arg) != NULL &&
	    (kinds = plot_kind_parse(arg)) == 0) {
		reply_error(r, q, 400, "kind", "kind must be nyquist, bode, "
		    "residuals, drt or all");
		return;
	}
	if (hreq_arg(r, "spectrum", arg, sizeof arg) != NULL) {
		n = strtol(arg, &end, 10);
		if (end == arg || *end != '\0' || n < 0) {
			reply_error(r, q, 400, "spectrum", "spectrum must be "
			    "an index from 0");
			return;
		}
	}
	if (rtab_batch_find(wrk.shm, id, &bi, &recs) < 0) {
		reply_error(r, q, 404, NULL, "no batch '%s' (unknown, or evicted "
		    "after -retention)", id);
		return;
	}
	if (n >= bi.count || rtab_view_get(wrk.shm, recs[n], 1, &v) < 0) {
		imp_free(recs);
		reply_error(r, q, 404, "spectrum", "batch '%s' has no spectrum "
		    "%ld (%d spectra)", id, n, bi.count);
		return;
	}
	imp_free(recs);
	svg = plot_view_svg(&v, kinds, &len);
	rtab_view_free(&v);
	if (svg == NULL) {
		reply_error(r, q, 500, NULL, "out of memory drawing the plot");
		return;
	}
	buf_init(&b);
	buf_add(&b, svg, len);
	free(svg);
	hreq_add_header(r, "Content-Type", "image/svg+xml");
	reply(r, q, 200, &b);
}

static void
h_batch_delete(struct hreq *r, struct wrk_rq *q, const char *id)
{
	struct rtab_batch_info bi;
	struct rtab_due due;
	struct buf b;
	int n = 0, found;

	found = rtab_batch_cancel(wrk.shm, id, &n, &due) == 0;
	/* a batch delivery may have waited for the spectra cancelled */
	ctl_wake_due(wrk.shm, 0, due.webhooks);
	if (!found || rtab_batch_find(wrk.shm, id, &bi, NULL) < 0) {
		reply_error(r, q, 404, NULL, "no batch '%s'", id);
		return;
	}
	buf_init(&b);
	batch_head_json(&b, &bi, n, NULL);
	buf_addc(&b, '}');
	reply(r, q, 200, &b);
}

static void
reply_full(struct hreq *r, struct wrk_rq *q, enum rtab_rc rc)
{
	struct shm_geom g;

	STAT_INC(http_rejected_full);
	shm_geom_get(wrk.shm, &g);
	hreq_add_header(r, "Retry-After", "1");
	if (rc == RTAB_FULL)
		reply_error(r, q, 503, NULL, "queue full: %u spectra queued or "
		    "running (-queue-size %u); retry later",
		    rtab_queue_depth(wrk.shm), g.queue_size);
	else
		reply_error(r, q, 503, NULL, "result table full: finished "
		    "results await delivery, or polling within -retention "
		    "(-results %u); retry later", g.results);
}

/*
 * A batch the state file cannot hold even empty: 413 naming the limit, not
 * a 503 that asks for a retry which can never succeed.
 */
static void
reply_toobig(struct hreq *r, struct wrk_rq *q, const struct wrk_batch *wb)
{
	struct shm_geom g;
	uint64_t points = 0;
	int i;

	shm_geom_get(wrk.shm, &g);
	for (i = 0; i < wb->n; i++)
		points += (uint64_t)wb->spec[i].n;
	if ((uint32_t)wb->n > g.queue_size)
		reply_error(r, q, 413, "spectra", "batch of %d spectra can never "
		    "be queued: at most %u (-queue-size); split it", wb->n,
		    g.queue_size);
	else
		reply_error(r, q, 413, "spectra", "batch of %ju points can never "
		    "fit in the state file's data arena, %ju bytes even when "
		    "empty (-arena-size); split it", (uintmax_t)points,
		    (uintmax_t)g.arena_bytes);
}

/* A parsed spectrum as the result table takes it (pointers into s; no URL). */
static void
spec_for_rtab(struct rtab_spec *sp, const struct wrk_spectrum *s)
{
	memset(sp, 0, sizeof *sp);
	sp->iteration = s->iteration;
	sp->n = s->n;
	sp->freq = s->freq;
	sp->zre = s->zre;
	sp->zim = s->zim;
	sp->circuit = s->circuit;
	sp->nparams = s->nparams;
	sp->method = s->method;
	sp->weighting = s->weighting;
	sp->max_iterations = s->max_iterations;
	sp->ninit = s->ninit;
	sp->init = s->init;
	sp->ncons = s->ncons;
	sp->lower = s->lower;
	sp->upper = s->upper;
	/* capped now, so that the record says what the fit will get */
	sp->timeout_ms = (uint32_t)((wrk_fit_budget(s->timeout_ns) + TIM_MS - 1) /
	    TIM_MS);
	sp->extras = s->extras;
}

/*
 * A parsed batch POST.  When the queue filled between admission and the
 * end of the parse (another worker's batch got there first), the batch is
 * parked, parsed, and submitted again as room comes, up to -queue-wait
 * from its arrival: a body is never parsed twice, nor refused after it
 * was parsed while room was coming.
 */
struct bpost {
	TAILQ_ENTRY(bpost)	link;
	struct hreq		*r;
	struct wrk_rq		q;
	struct wrk_batch	wb;
};
static TAILQ_HEAD(, bpost)	parked = TAILQ_HEAD_INITIALIZER(parked);
static int			nparked;

static void admit_arm(void);

/* Is b delivered as one POST per batch (its own "webhook_mode", else -webhook-mode)? */
static int
batch_whmode(const struct wrk_batch *b)
{
	if (b->webhook_mode != WRK_WHMODE_DEFAULT)
		return (b->webhook_mode == WRK_WHMODE_BATCH);
	return (wrk.cfg->webhook_mode != NULL &&
	    strcmp(wrk.cfg->webhook_mode, "batch") == 0);
}

/* Submit bp.  1: answered (bp freed), 0: parked for later. */
static int
batch_submit(struct bpost *bp, int may_park)
{
	struct rtab_batch_in in;
	struct rtab_spec *sp;
	struct shm_geom g;
	char id[RTAB_ID_MAX + 1];
	uint32_t bidx;
	enum rtab_rc rc;
	int i, n = bp->wb.n, polled;

	shm_geom_get(wrk.shm, &g);
	sp = imp_calloc((size_t)n, sizeof *sp);
	polled = bp->wb.webhook_url == NULL;
	for (i = 0; i < n; i++) {
		spec_for_rtab(&sp[i], &bp->wb.spec[i]);
		/* only a spectrum's own URL is stored with it */
		sp[i].webhook_url = bp->wb.spec[i].own_url ?
		    bp->wb.spec[i].webhook_url : NULL;
		if (sp[i].webhook_url != NULL)
			polled = 0;
	}
	memset(&in, 0, sizeof in);
	in.id = bp->wb.id;
	in.webhook_url = bp->wb.webhook_url;
	in.webhook_mode = batch_whmode(&bp->wb) ? RTAB_WHMODE_BATCH :
	    RTAB_WHMODE_SPECTRUM;
	in.n = n;
	in.spec = sp;
	in.queue_limit = g.queue_size;
	rc = rtab_submit(wrk.shm, &in, &bidx, id);
	imp_free(sp);
	if (rc == RTAB_FULL && may_park && !wrk.stopping &&
	    tim_mono() - hreq_start(bp->r) < wrk.cfg->queue_wait) {
		if (hreq_get_data(bp->r) == NULL) {
			hreq_set_data(bp->r, (void *)1);
			STAT_INC(http_held);
		}
		return (0);
	}
	if (rc == RTAB_TOOBIG)
		reply_toobig(bp->r, &bp->q, &bp->wb);
	wrk_batch_free(&bp->wb);
	if (rc == RTAB_OK) {
		struct buf b;

		STAT_INC(batches_accepted);
		STAT_ADD(spectra_accepted, (uint64_t)n);
		ctl_wake_workers(wrk.shm, n);
		buf_init(&b);
		buf_adds(&b, "{\"batch_id\":");
		buf_json_str(&b, id);
		buf_printf(&b, ",\"message\":\"Batch processing started with "
		    "worker pool\",\"spectra\":%d,\"success\":true,"
		    "\"status_url\":\"/eis-data/batch/%s\"", n, id);
		if (polled) {
			/*
			 * Kept -retention from when each result is done, so
			 * at least until now + -retention (rtab_batch.c keeps
			 * polled results that long, answering 503 instead).
			 */
			char ts[48];
			buf_adds(&b, ",\"expires_at\":");
			buf_json_str(&b, tim_rfc3339(tim_real() +
			    wrk.cfg->retention, 0, ts, sizeof ts));
		}
		buf_addc(&b, '}');
		reply(bp->r, &bp->q, 202, &b);
	} else if (rc == RTAB_EXISTS) {
		/*
		 * A client's retry: idempotent, but said, so that a load test
		 * that re-posts one file knows its spectra were not fitted
		 * again (issue 17).
		 */
		log_info("batch %s posted again with the same spectra: "
		    "answered its status, nothing queued", id);
		h_batch_get(bp->r, &bp->q, id, 1);
	} else if (rc == RTAB_CONFLICT) {
		log_info("batch %s posted again with other spectra: 409, "
		    "nothing queued", id);
		reply_error(bp->r, &bp->q, 409, "batch_id", "batch_id already "
		    "used for other spectra (batch '%s'; a new batch needs a "
		    "new id)", id);
	} else if (rc != RTAB_TOOBIG)
		reply_full(bp->r, &bp->q, rc);
	imp_free(bp);
	return (1);
}

/* Parked batches, oldest first, until one still finds no room. */
static void
parked_retry(void)
{
	struct bpost *bp;

	while ((bp = TAILQ_FIRST(&parked)) != NULL) {
		TAILQ_REMOVE(&parked, bp, link);
		nparked--;
		if (batch_submit(bp, 1) == 0) {
			/* still full: keep the order */
			TAILQ_INSERT_HEAD(&parked, bp, link);
			nparked++;
			break;
		}
	}
}

static void batch_post_parsed(struct hreq *r, struct wrk_rq *q,
    struct bpost *bp);

static void
h_batch_post(struct hreq *r, struct wrk_rq *q, const char *id)
{
	struct bpost *bp = imp_calloc(1, sizeof *bp);
	struct wrk_err e;
	const char *body;
	size_t len;

	(void)id;
	body = hreq_body(r, &len);
	if (wrk_parse_batch(body, len, &bp->wb, &e) < 0) {
		imp_free(bp);
		reply_error(r, q, e.status, e.field, "%s", e.msg);
		return;
	}
	batch_post_parsed(r, q, bp);
}

/* POST /eis-data/file: the file's spectra as a batch (wrk_file.c). */
static void
h_file_post(struct hreq *r, struct wrk_rq *q, const char *id)
{
	struct bpost *bp = imp_calloc(1, sizeof *bp);
	struct wrk_err e;

	(void)id;
	if (wrk_file_batch(r, &bp->wb, &e) < 0) {
		imp_free(bp);
		/* a refused input: counted with the 400s (no counter of
		 * its own, so the state file's layout stays) */
		if (e.status == 415)
			STAT_INC(http_bad_request);
		reply_error(r, q, e.status, e.field, "%s", e.msg);
		return;
	}
	batch_post_parsed(r, q, bp);
}

/* A parsed batch: queued now, or parked until there is room. */
static void
batch_post_parsed(struct hreq *r, struct wrk_rq *q, struct bpost *bp)
{
	if (bp->wb.id == NULL) {
		/* the IETF draft's retry key, as the id the body did not give */
		const char *key = hreq_header(r, "Idempotency-Key");
		const char *why;

		if (key != NULL && (why = wrk_batch_id_why(key)) != NULL) {
			wrk_batch_free(&bp->wb);
			imp_free(bp);
			reply_error(r, q, 400, "Idempotency-Key", "Idempotency-Key "
			    "(the batch id) %s", why);
			return;
		}
		if (key != NULL)
			bp->wb.id = imp_strdup(key);
	}
	/*
	 * One POST per batch goes to the batch's URL: a spectrum that names
	 * a target of its own asks for something else, and is told so.
	 */
	if (batch_whmode(&bp->wb)) {
		int i;
		char f[64];

		for (i = 0; i < bp->wb.n; i++)
			if (bp->wb.spec[i].own_url)
				break;
		if (i < bp->wb.n) {
			snprintf(f, sizeof f, "spectra[%d].webhook_url", i);
			wrk_batch_free(&bp->wb);
			imp_free(bp);
			reply_error(r, q, 400, f, "a spectrum's own webhook_url "
			    "cannot be used with webhook_mode batch (the batch "
			    "is one POST to the batch's webhook_url)");
			return;
		}
	}
	/*
	 * Admission asks for room for a batch like this one (wrk_api_admit);
	 * one that can never be queued must not hold back all that follow.
	 */
	{
		struct shm_geom g;
		shm_geom_get(wrk.shm, &g);
		wrk.batch_est = (uint32_t)bp->wb.n <= g.queue_size ?
		    bp->wb.n : 1;
	}
	bp->r = r;
	bp->q = *q;
	/* behind the parked ones: first come, first queued */
	if (nparked > 0 || batch_submit(bp, 1) == 0) {
		TAILQ_INSERT_TAIL(&parked, bp, link);
		nparked++;
		admit_arm();
	}
}

/*
 * POST /eis-data: parsed here; fitted, stored (when it has a webhook) and
 * rendered by the fitting thread (single_fitted), so that its Lin-KK and
 * DRT (a few ms for 100 points, tens with IMPFIT_LINKK_MAX_M RCs) and the
 * statistics of its answer never hold this thread; answered by
 * single_done here.
 */
struct single {
	struct wrk_sync	j;		/* first: the callbacks get &j */
	struct hreq	*r;
	struct wrk_rq	q;
	/* single_fitted's outcome: the answer, or a refusal */
	enum rtab_rc	rc;		/* not RTAB_OK: the store failed */
	struct buf	out;		/* the result object */
};

/* The fitting thread, after the fit: store and render (see above). */
static void
single_fitted(struct wrk_sync *j)
{
	struct single *sg = (struct single *)(void *)j;
	struct wrk_spectrum *s = &j->s;
	struct impfit_result *res = &j->res;
	struct rtab_view v;

	sg->rc = RTAB_OK;
	if (res->status == IMPFIT_BAD_INPUT)
		return;
	memset(&v, 0, sizeof v);
	v.state = RTAB_DONE;
	v.iteration = s->iteration;
	v.n = s->n;
	v.nparams = res->nparams;
	snprintf(v.circuit, sizeof v.circuit, "%s", s->circuit);
	v.method = s->method;
	v.weighting = s->weighting;
	v.fit_status = res->status;
	v.chi_square = res->chi_square;
	v.iterations = res->iterations;
	v.evaluations = res->evaluations;
	v.fit_ns = j->fit_ns;
	v.t_accepted = v.t_finished = tim_real();
	v.freq = s->freq;
	v.zre = s->zre;
	v.zim = s->zim;
	v.params = res->params;
	v.std_errors = res->std_errors;
	v.lower = s->ncons > 0 ? s->lower : NULL;
	v.upper = s->ncons > 0 ? s->upper : NULL;
	v.extras = s->extras;
	if (s->webhook_url != NULL) {
		/* stored so that the webhook process delivers it */
		struct rtab_spec sp;
		struct rtab_outcome out;
		struct rtab_view sv;
		uint32_t rec;

		spec_for_rtab(&sp, s);
		wrk_outcome(&out, res, j->fit_ns);
		sg->rc = rtab_store_done(wrk.shm, &sp, s->webhook_url, &out,
		    &rec, v.result_id);
		if (sg->rc != RTAB_OK)
			return;
		ctl_wake_due(wrk.shm, 0, 1);	/* its delivery */
		if (rtab_view_get(wrk.shm, rec, 0, &sv) == 0)
			snprintf(v.batch_id, sizeof v.batch_id, "%s", sv.batch_id);
	} else
		snprintf(v.result_id, sizeof v.result_id, "%016jx",
		    (uintmax_t)shm_next_id(wrk.shm));
	/* Lin-KK and the DRT, when asked, are computed here */
	render_result(&sg->out, &v);
}

/* The HTTP thread: answer what single_fitted made. */
static void
single_done(struct wrk_sync *j)
{
	struct single *sg = (struct single *)(void *)j;
	struct hreq *r = sg->r;
	struct wrk_rq *q = &sg->q;

	if (j->res.status == IMPFIT_BAD_INPUT)
		reply_error(r, q, 400, NULL, "the fitting engine refused the "
		    "spectrum: %s", j->res.error);
	else if (sg->rc != RTAB_OK)
		reply_full(r, q, sg->rc);
	else
		reply(r, q, 200, &sg->out);
	/* parse, fit, store and render: what the handling holds now */
	wrk_spectrum_log(j->fit_ns, mem_in_use() - j->mem0);
	buf_free(&sg->out);
	wrk_spectrum_free(&j->s);
	imp_free(sg);
}

static void
h_single(struct hreq *r, struct wrk_rq *q, const char *id)
{
	int64_t mem0 = mem_in_use();
	struct single *sg = imp_calloc(1, sizeof *sg);
	struct wrk_err e;
	const char *body;
	size_t len;

	(void)id;
	sg->j.mem0 = mem0;
	body = hreq_body(r, &len);
	if (wrk_parse_single(body, len, &sg->j.s, &e) < 0) {
		imp_free(sg);
		reply_error(r, q, e.status, e.field, "%s", e.msg);
		return;
	}
	sg->r = r;
	sg->q = *q;
	buf_init(&sg->out);
	sg->j.fitted = single_fitted;
	sg->j.done = single_done;
	wrk_fit_submit(&sg->j);
}

/*==================================================================
 * Admission: before a body is read (hsrv_admit_fn)
 */

/* The route table's flags (Routing, below). */
#define R_OPEN	0x01	/* no -api-token needed (the liveness probe) */
#define R_WAIT	0x02	/* may wait, body unread, for room in the queue */

static bool auth_ok(struct hreq *r);
static bool method_is(struct hreq *r, const char *m);
struct wrk_route;
static const struct wrk_route *route_find(const char *path, size_t pl,
    const char **id, size_t *idlen);
static unsigned route_flags(const struct wrk_route *rt, struct hreq *r);
static void admit_tick(evutil_socket_t fd, short what, void *arg);

/* Ask again in WRK_ADMIT_POLL_US (the queue drains at fitting speed). */
static void
admit_arm(void)
{
	struct timeval tv = { 0, WRK_ADMIT_POLL_US };

	if (wrk.ev_admit == NULL)
		wrk.ev_admit = evtimer_new(wrk.base, admit_tick, NULL);
	if (!evtimer_pending(wrk.ev_admit, NULL))
		evtimer_add(wrk.ev_admit, &tv);
}

static void
admit_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	wrk_api_admit_again();
}

void
wrk_api_admit_again(void)
{
	/* the parsed ones first: they are older */
	parked_retry();
	if (wrk.http != NULL)
		hsrv_admit_again(wrk.http);
	if (nparked > 0 || (wrk.http != NULL && hsrv_held(wrk.http) > 0))
		admit_arm();
}

/* Room in the queue for a batch like the last one posted here? */
static bool
queue_has_room(void)
{
	struct shm_geom g;
	uint64_t want = wrk.batch_est > 0 ? (uint64_t)wrk.batch_est : 1;

	shm_geom_get(wrk.shm, &g);
	return ((uint64_t)rtab_queue_depth(wrk.shm) + want <= g.queue_size);
}

/*
 * The token before 100 Continue and before a byte of body; and a batch
 * POST that the queue cannot take waits, unread, up to -queue-wait for
 * room (the client's bytes stay in the kernel: TCP pushes back, and no CPU
 * goes to a body that would be refused), then gets its 503 unread.
 */
int
wrk_api_admit(struct hreq *r, void *arg)
{
	struct wrk_rq q;
	const char *path = hreq_path(r), *id;
	size_t pl = strlen(path), idlen;
	unsigned flags;

	(void)arg;
	if (pl > 1 && path[pl - 1] == '/')
		pl--;
	flags = route_flags(route_find(path, pl, &id, &idlen), r);
	if (flags & R_OPEN)
		return (HSRV_ADMIT);
	if (!auth_ok(r)) {
		rq_begin(&q, r, "unknown");
		STAT_INC(http_refused_early);
		hreq_add_header(r, "WWW-Authenticate", "Bearer");
		reply_error(r, &q, 401, NULL, "missing or wrong bearer token "
		    "(Authorization: Bearer <-api-token>)");
		return (HSRV_ANSWERED);
	}
	if (!(flags & R_WAIT))
		return (HSRV_ADMIT);
	/* first come, first served: a newcomer queues behind those waiting */
	if ((hreq_get_data(r) != NULL ||
	    (nparked == 0 && hsrv_held(wrk.http) == 0)) && queue_has_room())
		return (HSRV_ADMIT);
	if (wrk.stopping || tim_mono() - hreq_start(r) >= wrk.cfg->queue_wait) {
		rq_begin(&q, r, "eis-batch");
		STAT_INC(http_refused_early);
		reply_full(r, &q, RTAB_FULL);
		return (HSRV_ANSWERED);
	}
	if (hreq_get_data(r) == NULL) {
		/* counted once a request, however often it is asked */
		hreq_set_data(r, (void *)1);
		STAT_INC(http_held);
	}
	admit_arm();
	return (HSRV_HOLD);
}

/*==================================================================
 * /debug/gc and /debug/memory: ask every process, wait for the acks.
 */

struct dbg_wait {
	struct hreq	*r;
	struct wrk_rq	q;
	int		cmd;
	int		n;
	int		slot[SHM_NPROC];
	uint64_t	ack[SHM_NPROC];
	uint64_t	deadline;
	struct event	*tm;
};

static void
dbg_answer(struct dbg_wait *w)
{
	struct buf b;
	struct shm_proc_info pi;
	uint64_t sum[4] = { 0, 0, 0, 0 };
	int i, first = 1;

	buf_init(&b);
	buf_adds(&b, w->cmd == CTL_CMD_TRIM ? "{\"success\":true,\"processes\":[" :
	    "{\"success\":true,\"lines\":[");
	for (i = 0; i < w->n; i++) {
		struct shm_proc *p = shm_proc(wrk.shm, w->slot[i]);
		const uint64_t *res = shm_proc_ctl_res(p, w->cmd);
		int done = ctl_acked(wrk.shm, w->slot[i], w->cmd, w->ack[i]);

		if (shm_proc_get(wrk.shm, w->slot[i], &pi) < 0)
			continue;
		if (!first)
			buf_addc(&b, ',');
		first = 0;
		if (w->cmd == CTL_CMD_TRIM) {
			/* heap: in use, as everywhere (ctl.c, ctl_trim_fn) */
			buf_printf(&b, "{\"pid\":%d,\"role\":\"%s\",\"index\":%d,"
			    "\"answered\":%s,\"heap_before\":%ju,\"heap_after\":%ju,"
			    "\"malloc_held_before\":%ju,"
			    "\"rss_before\":%ju,\"rss_after\":%ju}", (int)pi.pid,
			    shm_role_name(pi.role), pi.index, done ? "true" : "false",
			    (uintmax_t)res[0], (uintmax_t)res[0], (uintmax_t)res[1],
			    (uintmax_t)res[2], (uintmax_t)res[3]);
			if (done) {
				sum[0] += res[0]; sum[1] += res[1];
				sum[2] += res[2]; sum[3] += res[3];
			}
		} else {
			char line[256], full[320], who[32];
			ctl_memory_line(line, sizeof line, res, wrk_tasks(tim_mono()));
			if (pi.role == SHM_ROLE_WORKER)
				snprintf(who, sizeof who, "worker[%d]", pi.index);
			else
				snprintf(who, sizeof who, "%s", shm_role_name(pi.role));
			snprintf(full, sizeof full, "%s pid %d: %s", who,
			    (int)pi.pid, done ? line : "(no answer)");
			buf_json_str(&b, full);
		}
	}
	buf_addc(&b, ']');
	if (w->cmd == CTL_CMD_TRIM)
		buf_printf(&b, ",\"heap_before\":%ju,\"heap_after\":%ju,"
		    "\"malloc_held_before\":%ju,"
		    "\"rss_before\":%ju,\"rss_after\":%ju,\"rss_released\":%jd",
		    (uintmax_t)sum[0], (uintmax_t)sum[0], (uintmax_t)sum[1],
		    (uintmax_t)sum[2], (uintmax_t)sum[3], (intmax_t)(sum[2] - sum[3]));
	buf_addc(&b, '}');
	reply(w->r, &w->q, 200, &b);
	event_free(w->tm);
	imp_free(w);
}

static void
dbg_tick(evutil_socket_t fd, short what, void *arg)
{
	struct dbg_wait *w = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < w->n; i++)
		if (!ctl_acked(wrk.shm, w->slot[i], w->cmd, w->ack[i]))
			break;
	if (i == w->n || tim_mono() > w->deadline || wrk.stopping)
		dbg_answer(w);
}

static void
h_debug(struct hreq *r, struct wrk_rq *q, int cmd)
{
	struct dbg_wait *w = imp_calloc(1, sizeof *w);
	struct timeval tv = { 0, 5000 };
	int i;
	uint64_t arg = cmd == CTL_CMD_MEMLOG ? (uint64_t)wrk_tasks(tim_mono()) : 0;

	w->r = r;
	w->q = *q;
	w->cmd = cmd;
	for (i = 0; i < SHM_NPROC; i++) {
		uint64_t ack;
		if (!shm_proc_live(wrk.shm, i))
			continue;
		ack = ctl_send(wrk.shm, i, cmd, arg);
		if (ack == 0)
			continue;
		w->slot[w->n] = i;
		w->ack[w->n++] = ack;
	}
	w->deadline = tim_mono() + 3 * TIM_SEC;
	w->tm = event_new(wrk.base, -1, EV_PERSIST, dbg_tick, w);
	event_add(w->tm, &tv);
}

/*
 * GET /metrics: the profiler's exposition (render/prom.c), from the state
 * file, without -profile: scraping must not need the profiler running.
 */
static void
h_metrics(struct hreq *r, struct wrk_rq *q, const char *id)
{
	struct buf b;

	(void)id;
	buf_init(&b);
	prom_render(&b, wrk.shm);
	hreq_add_header(r, "Content-Type", PROM_CONTENT_TYPE);
	reply(r, q, 200, &b);
}

/*==================================================================
 * Routing: one row per path, 404, 405 and Allow from the table
 */

/* The methods a route serves (a GET route lists HEAD: hsrv sends no body). */
#define M_GET		0x01
#define M_HEAD		0x02
#define M_POST		0x04
#define M_DELETE	0x08

/* In bit order, which is the order of Allow. */
static const char *const method_names[] = { "GET", "HEAD", "POST", "DELETE" };

/* id: the decoded {id} of the path, NULL on a path without one. */
typedef void wrk_route_fn(struct hreq *r, struct wrk_rq *q, const char *id);

static void
r_batch_status(struct hreq *r, struct wrk_rq *q, const char *id)
{
	h_batch_get(r, q, id, 0);
}

static void
r_debug_gc(struct hreq *r, struct wrk_rq *q, const char *id)
{
	(void)id;
	h_debug(r, q, CTL_CMD_TRIM);
}

static void
r_debug_memory(struct hreq *r, struct wrk_rq *q, const char *id)
{
	(void)id;
	h_debug(r, q, CTL_CMD_MEMLOG);
}

/*
 * The API.  A path matches exactly, after one trailing '/' is dropped;
 * "{id}" stands for one non-empty path segment, percent-decoded, at most
 * RTAB_ID_MAX bytes (else 404 with badid).  The checks run in the order
 * of the columns: the token (unless R_OPEN), the id, loopback (a row
 * with a local scope answers loopback clients only, unless -api-token
 * is set: 403 naming the scope), then the method: the first of m[] that
 * serves it runs, under its own X-Handler-Name if it has one, and any
 * other method is 405 with Allow listing the row's methods (DESIGN.md
 * section 4).  A new route is a row here and a line in t-srv-routes.sh.
 */
static const struct wrk_route {
	const char	*path;
	const char	*name;		/* X-Handler-Name, also of refusals */
	unsigned	flags;		/* R_* */
	const char	*badid;		/* 404 message of an id too long */
	const char	*local;		/* loopback only: the scope named */
	struct {
		unsigned	methods;	/* M_* */
		const char	*name;		/* NULL: the row's */
		wrk_route_fn	*fn;
	} m[2];
} wrk_routes[] = {
	{ "/health", "health", R_OPEN, NULL, NULL,
	    { { M_GET | M_HEAD, NULL, h_health } } },
	{ "/eis-data", "eis-single", 0, NULL, NULL,
	    { { M_GET | M_HEAD, "eis-info", h_describe },
	      { M_POST, NULL, h_single } } },
	{ "/eis-data/batch", "eis-batch", R_WAIT, NULL, NULL,
	    { { M_POST, NULL, h_batch_post } } },
	{ "/eis-data/file", "eis-file", R_WAIT, NULL, NULL,
	    { { M_POST, NULL, h_file_post } } },
	{ "/eis-data/batch/{id}/plot.svg", "eis-batch-plot", 0,
	    "no such batch", NULL,
	    { { M_GET | M_HEAD, NULL, h_batch_plot } } },
	{ "/eis-data/batch/{id}", "eis-batch-status", 0,
	    "no such batch (id too long)", NULL,
	    { { M_GET | M_HEAD, NULL, r_batch_status },
	      { M_DELETE, "eis-batch-cancel", h_batch_delete } } },
	{ "/debug/gc", "debug-gc", 0, NULL, "/debug/*",
	    { { M_GET | M_HEAD, NULL, r_debug_gc } } },
	{ "/debug/memory", "debug-memory", 0, NULL, "/debug/*",
	    { { M_GET | M_HEAD, NULL, r_debug_memory } } },
	/* as for /debug: scraping is not for everyone */
	{ "/metrics", "metrics", 0, NULL, "/metrics",
	    { { M_GET | M_HEAD, NULL, h_metrics } } },
};
#define NROUTES	(sizeof wrk_routes / sizeof wrk_routes[0])

/*
 * The row of path[0..pl) (its trailing '/' already dropped), or NULL;
 * *id and *idlen: where its {id} segment is, if it has one.
 */
static const struct wrk_route *
route_find(const char *path, size_t pl, const char **id, size_t *idlen)
{
	size_t i;

	*id = NULL;
	*idlen = 0;
	for (i = 0; i < NROUTES; i++) {
		const char *p = wrk_routes[i].path, *hole = strstr(p, "{id}");
		size_t pre, suf;

		if (hole == NULL) {
			if (strlen(p) == pl && strncmp(path, p, pl) == 0)
				return (&wrk_routes[i]);
			continue;
		}
		pre = (size_t)(hole - p);
		suf = strlen(hole + 4);
		if (pl <= pre + suf || strncmp(path, p, pre) != 0 ||
		    strncmp(path + pl - suf, hole + 4, suf) != 0 ||
		    memchr(path + pre, '/', pl - pre - suf) != NULL)
			continue;
		*id = path + pre;
		*idlen = pl - pre - suf;
		return (&wrk_routes[i]);
	}
	return (NULL);
}

/* The M_* bit of the request's method; 0 for any other. */
static unsigned
method_bit(struct hreq *r)
{
	size_t i;

	for (i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
		if (method_is(r, method_names[i]))
			return (1u << i);
	return (0);
}

/*
 * The R_* flags of rt for what r asks; R_WAIT only for a method rt
 * serves (a 405 is answered, not held).  0 for no route.
 */
static unsigned
route_flags(const struct wrk_route *rt, struct hreq *r)
{
	unsigned mb = method_bit(r), flags;
	size_t i;

	if (rt == NULL)
		return (0);
	flags = rt->flags & ~(unsigned)R_WAIT;
	for (i = 0; i < sizeof rt->m / sizeof rt->m[0]; i++)
		if (rt->m[i].methods & mb)
			flags |= rt->flags & R_WAIT;
	return (flags);
}

/* "GET, HEAD, POST": the methods of rt, for Allow and the 405's error. */
static void
route_allow(const struct wrk_route *rt, char *out, size_t len)
{
	unsigned all = 0;
	size_t i, o = 0;

	for (i = 0; i < sizeof rt->m / sizeof rt->m[0]; i++)
		all |= rt->m[i].methods;
	out[0] = '\0';
	for (i = 0; i < sizeof method_names / sizeof method_names[0] &&
	    o < len; i++)
		if (all & (1u << i))
			o += (size_t)snprintf(out + o, len - o, "%s%s",
			    o > 0 ? ", " : "", method_names[i]);
}

static bool
method_is(struct hreq *r, const char *m)
{
	return (strcmp(hreq_method(r), m) == 0);
}

static int
pct_decode(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in != '\0') {
		int c = (unsigned char)*in;
		if (c == '%' && isxdigit((unsigned char)in[1]) &&
		    isxdigit((unsigned char)in[2])) {
			char hex[3] = { in[1], in[2], '\0' };
			c = (int)strtol(hex, NULL, 16);
			in += 3;
		} else
			in++;
		if (o + 1 >= len)
			return (-1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (0);
}

static bool
auth_ok(struct hreq *r)
{
	const char *h = hreq_header(r, "Authorization");
	const char *tok = wrk.cfg->api_token;
	size_t a, b, i;
	unsigned char diff = 0;

	if (tok == NULL)
		return (true);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (false);
	h += 7;
	while (*h == ' ')
		h++;
	a = strlen(h);
	b = strlen(tok);
	/* constant time in the token's length */
	for (i = 0; i < b; i++)
		diff |= (unsigned char)(tok[i] ^ (i < a ? h[i] : 0));
	return (diff == 0 && a == b);
}

void
wrk_api_request(struct hreq *r, void *arg)
{
	struct wrk_rq q;
	const struct wrk_route *rt;
	char path[512], seg[512], id[RTAB_ID_MAX * 3 + 1], allow[64];
	const char *idp;
	size_t pl, idlen, i;
	unsigned mb;

	(void)arg;
	inflight_update();
	snprintf(path, sizeof path, "%s", hreq_path(r));
	pl = strlen(path);
	if (pl > 1 && path[pl - 1] == '/')
		path[--pl] = '\0';
	rt = route_find(path, pl, &idp, &idlen);

	if (rt != NULL && (rt->flags & R_OPEN))
		rq_begin(&q, r, rt->name);
	else {
		rq_begin(&q, r, "unknown");
		if (!auth_ok(r)) {
			hreq_add_header(r, "WWW-Authenticate", "Bearer");
			reply_error(r, &q, 401, NULL, "missing or wrong bearer "
			    "token (Authorization: Bearer <-api-token>)");
			return;
		}
	}
	if (rt == NULL) {
		reply_error(r, &q, 404, NULL, "no such endpoint: %s (see GET "
		    "/eis-data)", hreq_path(r));
		return;
	}
	q.name = rt->name;
	if (idp != NULL) {
		/* idlen < sizeof seg: a part of path */
		memcpy(seg, idp, idlen);
		seg[idlen] = '\0';
		if (pct_decode(seg, id, sizeof id) < 0 ||
		    strlen(id) > RTAB_ID_MAX) {
			reply_error(r, &q, 404, NULL, "%s", rt->badid);
			return;
		}
	}
	if (rt->local != NULL && wrk.cfg->api_token == NULL &&
	    !hreq_peer_is_loopback(r)) {
		reply_error(r, &q, 403, NULL, "%s answers loopback clients "
		    "only (or set -api-token)", rt->local);
		return;
	}
	mb = method_bit(r);
	for (i = 0; i < sizeof rt->m / sizeof rt->m[0]; i++) {
		if (rt->m[i].fn == NULL || !(rt->m[i].methods & mb))
			continue;
		if (rt->m[i].name != NULL)
			q.name = rt->m[i].name;
		rt->m[i].fn(r, &q, idp != NULL ? id : NULL);
		return;
	}
	route_allow(rt, allow, sizeof allow);
	hreq_add_header(r, "Allow", allow);
	reply_error(r, &q, 405, NULL, "method %s not allowed on %s (allowed: %s)",
	    hreq_method(r), path, allow);
}
