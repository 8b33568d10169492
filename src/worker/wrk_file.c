/*
 * impcore - worker: POST /eis-data/file, a spectrum file as the body and
 * the options as query parameters (issue 15, part 1).
 *
 * The file is read by src/data (any format it knows; ?format= forces
 * one), then its spectra and the options become the batch body the Go
 * clients send, parsed by wrk_parse_batch: the file endpoint validates
 * exactly as POST /eis-data/batch does (circuits, methods, the webhook
 * allow-list, -max-points) at the price of formatting its numbers once,
 * a small cost next to reading the file.  Spectrum k of the file is
 * "iteration" k of the batch (its own Spectrum_Number when it has them).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impdata.h"

#include "lib/buf.h"
#include "lib/mem.h"
#include "net/hsrv.h"
#include "state/shm.h"
#include "worker/wrk_priv.h"

#define WRK_FILE_NAME_MAX	256

/* The query parameters: those passed on to the batch, and how. */
enum { P_STR, P_NUM, P_BOOL, P_LIST, P_OWN };

static const struct {
	const char	*name;
	int		 kind;
} wrk_file_params[] = {
	{ "format", P_OWN }, { "name", P_OWN },
	{ "batch_id", P_STR }, { "circuit", P_STR }, { "method", P_STR },
	{ "weighting", P_STR }, { "webhook_url", P_STR },
	{ "webhook_mode", P_STR },	/* issue 18, item 3 */
	{ "max_iterations", P_NUM }, { "timeout", P_NUM },
	{ "initial_values", P_LIST },
	{ "validate", P_STR }, { "linkk_c", P_NUM }, { "linkk_max_m", P_NUM },
	{ "linkk_fit_type", P_STR }, { "linkk_add_cap", P_BOOL },
	{ "drt", P_BOOL }, { "drt_lambda", P_NUM },
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decode n bytes of a query part (%XX, '+' a space) into out; -1 bad. */
static int
wrk_file_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	i, o = 0;
	int	h, l;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return (-1);
			if ((h = hexval(s[i + 1])) < 0 ||
			    (l = hexval(s[i + 2])) < 0)
				return (-1);
			c = (char)(h << 4 | l);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return (-1);
		out[o++] = c;
	}
	out[o] = '\0';
	return (0);
}

static void
wrk_file_err(struct wrk_err *e, int status, const char *field,
    const char *msg)
{
	e->status = status;
	snprintf(e->msg, sizeof e->msg, "%s", msg);
	snprintf(e->field, sizeof e->field, "%s", field);
}

/* Is s a whole number as JSON writes them (so it can go in unquoted)? */
static int
wrk_file_isnum(const char *s)
{
	char	*end;

	if (*s == '\0' || strchr("+.", *s) != NULL || strpbrk(s, "xXnNiI") ||
	    (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return (0);
	(void)strtod(s, &end);
	return (*end == '\0');
}

/*
 * The options of query q as batch-level members at b (",\"k\":v"...),
 * the format and the file name in fmt and name.  0, or -1 with *e (400
 * naming the parameter).
 */
static int
wrk_file_options(const char *q, struct buf *b, char *fmt, size_t fmtlen,
    char *name, size_t namelen, struct wrk_err *e)
{
	char		 key[64], val[2048], *p, *t;
	const char	*amp, *eq;
	size_t		 i, n;
	int		 kind;

	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		n = amp != NULL ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', n);
		if (n == 0)
			goto next;
		if (wrk_file_decode(q, eq != NULL ? (size_t)(eq - q) : n, key,
		    sizeof key) < 0) {
			wrk_file_err(e, 400, "", "a query parameter name is "
			    "too long or badly encoded");
			return (-1);
		}
		if (wrk_file_decode(eq != NULL ? eq + 1 : q + n, eq != NULL ?
		    n - (size_t)(eq + 1 - q) : 0, val, sizeof val) < 0) {
			wrk_file_err(e, 400, key, "the value is too long or "
			    "badly encoded");
			return (-1);
		}
		for (i = 0; i < sizeof wrk_file_params /
		    sizeof wrk_file_params[0]; i++)
			if (strcmp(key, wrk_file_params[i].name) == 0)
				break;
		if (i == sizeof wrk_file_params / sizeof wrk_file_params[0]) {
			snprintf(e->msg, sizeof e->msg, "unknown query "
			    "parameter '%.60s' (see GET /eis-data)", key);
			snprintf(e->field, sizeof e->field, "%s", key);
			e->status = 400;
			return (-1);
		}
		kind = wrk_file_params[i].kind;
		if (kind == P_OWN) {
			char *to = strcmp(key, "format") == 0 ? fmt : name;
			size_t tolen = to == fmt ? fmtlen : namelen;

			if (strlen(val) >= tolen) {
				wrk_file_err(e, 400, key, "too long");
				return (-1);
			}
			memcpy(to, val, strlen(val) + 1);
			goto next;
		}
		buf_addc(b, ',');
		buf_json_str(b, key);
		buf_addc(b, ':');
		if (kind == P_NUM && wrk_file_isnum(val))
			buf_adds(b, val);
		else if (kind == P_BOOL && (strcmp(val, "true") == 0 ||
		    strcmp(val, "false") == 0))
			buf_adds(b, val);
		else if (kind == P_BOOL && (strcmp(val, "1") == 0 ||
		    val[0] == '\0'))
			buf_adds(b, "true");
		else if (kind == P_BOOL && strcmp(val, "0") == 0)
			buf_adds(b, "false");
		else if (kind == P_LIST) {
			/* initial_values=1e-3,100,0.9 */
			buf_addc(b, '[');
			for (p = val, t = NULL; (t = strsep(&p, ",")) != NULL;) {
				if (!wrk_file_isnum(t)) {
					wrk_file_err(e, 400, key, "expected "
					    "comma-separated numbers");
					return (-1);
				}
				if (t != val)
					buf_addc(b, ',');
				buf_adds(b, t);
			}
			buf_addc(b, ']');
		} else
			buf_json_str(b, val);	/* the parser names a bad type */
next:
		if (amp == NULL)
			break;
		q = amp + 1;
	}
	return (0);
}

/* See wrk_priv.h. */
int
wrk_file_batch(struct hreq *r, struct wrk_batch *wb, struct wrk_err *e)
{
	struct dat_limits	 lim;
	struct dat_set		*ds = NULL;
	struct shm_geom		 g;
	struct buf		 b, ob;
	const char		*body;
	char			 fmt[64] = "", name[WRK_FILE_NAME_MAX] = "";
	char			 err[sizeof e->msg - 16];
	size_t			 len;
	int			 rc, i, j;

	memset(e, 0, sizeof *e);
	body = hreq_body(r, &len);
	buf_init(&ob);
	if (wrk_file_options(hreq_query(r), &ob, fmt, sizeof fmt, name,
	    sizeof name, e) < 0) {
		buf_free(&ob);
		return (-1);
	}
	shm_geom_get(wrk.shm, &g);
	lim.max_points = wrk.max_points;
	lim.max_spectra = g.queue_size;
	rc = dat_read(body, len, name[0] != '\0' ? name : NULL,
	    fmt[0] != '\0' ? fmt : NULL, &lim, &ds, err, sizeof err);
	switch (rc) {
	case DAT_OK:
		break;
	case DAT_UNKNOWN:
		wrk_file_err(e, 415, "", err);
		break;
	case DAT_TOOBIG:
		wrk_file_err(e, 413, "", err);
		break;
	case DAT_BADNAME:
		wrk_file_err(e, 400, "format", err);
		break;
	case DAT_NOMEM:
		wrk_file_err(e, 503, "", err);
		break;
	default:
		wrk_file_err(e, 400, "", err);
		break;
	}
	if (rc != DAT_OK) {
		buf_free(&ob);
		return (-1);
	}
	buf_init(&b);
	buf_adds(&b, "{\"spectra\":[");
	for (i = 0; i < ds->nspec; i++) {
		const struct dat_spectrum *s = &ds->spec[i];

		buf_printf(&b, "%s{\"iteration\":%d,\"impedance_data\":"
		    "{\"frequencies\":[", i ? "," : "", s->number);
		for (j = 0; j < s->n; j++) {
			if (j)
				buf_addc(&b, ',');
			buf_json_num(&b, s->freq[j]);
		}
		buf_adds(&b, "],\"impedance\":[");
		for (j = 0; j < s->n; j++) {
			buf_adds(&b, j ? ",{\"real\":" : "{\"real\":");
			buf_json_num(&b, s->zre[j]);
			buf_adds(&b, ",\"imag\":");
			buf_json_num(&b, s->zim[j]);
			buf_addc(&b, '}');
		}
		buf_adds(&b, "]}}");
	}
	buf_addc(&b, ']');
	if (ob.len > 0)
		buf_add(&b, ob.p, ob.len);
	buf_addc(&b, '}');
	dat_free(ds);
	rc = wrk_parse_batch(b.p, b.len, wb, e);
	buf_free(&b);
	buf_free(&ob);
	return (rc);
}
