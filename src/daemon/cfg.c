/*
 * impcore - configuration: Go-style flags and the key = value file.
 *
 * One table drives both, cfg.def: each row names a key (the long flag and
 * the file key), its type, its field of struct cfg, range, default and
 * help; cfg_opts[] and cfg_defaults() are expanded from it here.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "lib/check.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/tim.h"

/* -webhook-timeout: an hour is already far past any sane receiver */
#define CFG_WEBHOOK_TIMEOUT_MAX	(3600 * TIM_SEC)

enum cfg_type { T_BOOL, T_INT, T_U32, T_STR, T_DUR, T_SIZE, T_SECRET };
/* cfg.def's empty column: does an empty or 0 value mean the default? */
enum cfg_empty { Z_KEEP, Z_DFLT };

static const struct cfg_opt {
	const char	*key;
	enum cfg_type	type;
	size_t		off;
	long		min, max;	/* T_INT/T_U32 */
	enum cfg_empty	empty;
	const char	*help;
} cfg_opts[] = {
#define CFG_OPT(key, type, field, min, max, dflt, empty, help) \
	{ key, type, offsetof(struct cfg, field), min, max, empty, help },
#include "daemon/cfg.def"
};
#define NOPTS	(sizeof cfg_opts / sizeof cfg_opts[0])

/* -threads' default: the CPUs online, within [1, CFG_THREADS_MAX]. */
static int
cfg_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n > 0 ? (int)(n > CFG_THREADS_MAX ? CFG_THREADS_MAX : n) : 1);
}

/* A string default: a copy of its own, or NULL. */
static char *
cfg_dflt_str(const char *s)
{
	return (s != NULL ? imp_strdup(s) : NULL);
}

/* Setting a field to its default, by the row's type. */
#define CFG_DFLT_T_BOOL(lv, d)		(lv) = (d)
#define CFG_DFLT_T_INT(lv, d)		(lv) = (d)
#define CFG_DFLT_T_U32(lv, d)		(lv) = (d)
#define CFG_DFLT_T_DUR(lv, d)		(lv) = (d)
#define CFG_DFLT_T_SIZE(lv, d)		(lv) = (d)
#define CFG_DFLT_T_STR(lv, d)		(lv) = cfg_dflt_str(d)
#define CFG_DFLT_T_SECRET(lv, d)	(lv) = cfg_dflt_str(d)

static void
cfg_defaults(struct cfg *c)
{
	c->magic = CFG_MAGIC;
#define CFG_OPT(key, type, field, min, max, dflt, empty, help) \
	CFG_DFLT_##type(c->field, dflt);
#include "daemon/cfg.def"
}

/*
 * The rows whose empty column says Z_DFLT: an empty string (NULL) or a 0
 * after the file and the flags is the default again ("code =" in a file
 * that a package manager templated).
 */
static void
cfg_empty_defaults(struct cfg *c)
{
#define CFG_OPT(key, type, field, min, max, dflt, empty, help)	\
	if (empty == Z_DFLT && !c->field)				\
		CFG_DFLT_##type(c->field, dflt);
#include "daemon/cfg.def"
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "1", "t", "true", "yes", "on", "T", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "false", "no", "off", "F", "FALSE", "False" };
	size_t i;

	if (v == NULL) {
		*out = 1;
		return (0);
	}
	for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strcmp(v, yes[i]) == 0) {
			*out = 1;
			return (0);
		}
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strcmp(v, no[i]) == 0) {
			*out = 0;
			return (0);
		}
	return (-1);
}

static int
parse_size(const char *v, uint64_t *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno != 0 || !(d >= 0))
		return (-1);
	switch (*end) {
	case '\0':				break;
	case 'k': case 'K':	d *= 1024; end++; break;
	case 'm': case 'M':	d *= 1024 * 1024; end++; break;
	case 'g': case 'G':	d *= 1024.0 * 1024 * 1024; end++; break;
	default:		return (-1);
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || d > 1e15)
		return (-1);
	*out = (uint64_t)d;
	return (0);
}

/* Set one option from its text value (NULL: a bare boolean flag). */
static int
cfg_set(struct cfg *c, const struct cfg_opt *o, const char *v, char **cause)
{
	char *p = (char *)c + o->off, *end;
	long n;

	if (v == NULL && o->type != T_BOOL) {
		imp_asprintf(cause, "-%s needs a value", o->key);
		return (-1);
	}
	switch (o->type) {
	case T_BOOL:
		if (parse_bool(v, (int *)(void *)p) < 0) {
			imp_asprintf(cause, "-%s: not a boolean: %s", o->key, v);
			return (-1);
		}
		return (0);
	case T_INT:
	case T_U32:
		errno = 0;
		n = strtol(v, &end, 10);
		if (end == v || *end != '\0' || errno != 0 || n < o->min || n > o->max) {
			imp_asprintf(cause, "-%s: want an integer in [%ld, %ld]: %s",
			    o->key, o->min, o->max, v);
			return (-1);
		}
		if (o->type == T_INT)
			*(int *)(void *)p = (int)n;
		else
			*(uint32_t *)(void *)p = (uint32_t)n;
		return (0);
	case T_STR:
	case T_SECRET:
		imp_free(*(char **)(void *)p);
		*(char **)(void *)p = *v != '\0' ? imp_strdup(v) : NULL;
		return (0);
	case T_DUR:
		if (tim_parse_duration(v, (uint64_t *)(void *)p) < 0) {
			imp_asprintf(cause, "-%s: not a duration (like 24h, 1s, "
			    "500ms): %s", o->key, v);
			return (-1);
		}
		return (0);
	case T_SIZE:
		if (parse_size(v, (uint64_t *)(void *)p) < 0) {
			imp_asprintf(cause, "-%s: not a size (like 512M): %s",
			    o->key, v);
			return (-1);
		}
		return (0);
	}
	return (-1);
}

static const struct cfg_opt *
cfg_find(const char *key)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(cfg_opts[i].key, key) == 0)
			return (&cfg_opts[i]);
	/* users of the file may write webhook_url for webhook-url */
	if (strchr(key, '_') != NULL) {
		char k[64];
		size_t j;
		snprintf(k, sizeof k, "%s", key);
		for (j = 0; k[j] != '\0'; j++)
			if (k[j] == '_')
				k[j] = '-';
		return (cfg_find(k));
	}
	return (NULL);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return (s);
}

static int
cfg_file(struct cfg *c, const char *path, int must, char **cause)
{
	FILE *f;
	char line[4096], *k, *v, *eq;
	int lineno = 0;
	const struct cfg_opt *o;

	f = fopen(path, "re");
	if (f == NULL) {
		if (!must && errno == ENOENT)
			return (0);
		imp_asprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		k = trim(line);
		if (*k == '#' || *k == '\0')
			continue;
		eq = strchr(k, '=');
		v = NULL;
		if (eq != NULL) {
			*eq = '\0';
			v = trim(eq + 1);
			/* "value" quoted */
			if (*v == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
				v[strlen(v) - 1] = '\0';
				v++;
			}
			k = trim(k);
		}
		while (*k == '-')
			k++;
		o = cfg_find(k);
		if (o == NULL) {
			imp_asprintf(cause, "%s:%d: unknown key '%s'", path, lineno, k);
			fclose(f);
			return (-1);
		}
		if (strcmp(o->key, "config") == 0)
			continue;
		if (cfg_set(c, o, v, cause) < 0) {
			char *inner = *cause;
			imp_asprintf(cause, "%s:%d: %s", path, lineno, inner);
			imp_free(inner);
			fclose(f);
			return (-1);
		}
	}
	fclose(f);
	c->config = imp_strdup(path);
	return (0);
}

/*
 * The secret of -<key>-file: the file's first line, without its line end.
 * A file that cannot be read, or whose first line is empty, is an error:
 * a server that was meant to require a token must not start without one.
 */
static int
cfg_secret_file(const char *key, const char *path, char **out, char **cause)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		imp_asprintf(cause, "-%s-file: %s: %s", key, path,
		    strerror(errno));
		return (-1);
	}
	errno = 0;
	n = getline(&line, &cap, f);
	if (n < 0 && ferror(f)) {
		imp_asprintf(cause, "-%s-file: %s: %s", key, path,
		    strerror(errno != 0 ? errno : EIO));
		fclose(f);
		free(line);
		return (-1);
	}
	fclose(f);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n <= 0) {
		imp_asprintf(cause, "-%s-file: %s: empty (the secret is the "
		    "file's first line)", key, path);
		free(line);
		return (-1);
	}
	imp_free(*out);
	*out = imp_strdup(line);
	/* getline's buffer is libc's, and held a secret */
	explicit_bzero(line, cap);
	free(line);
	return (0);
}

/* -api-token-file and -webhook-secret-file: read, and never beside the secret itself. */
static int
cfg_secret_files(struct cfg *c, char **cause)
{
	static const struct {
		const char	*key;
		size_t		file, secret;
	} sf[] = {
		{ "api-token", offsetof(struct cfg, api_token_file),
		    offsetof(struct cfg, api_token) },
		{ "webhook-secret", offsetof(struct cfg, webhook_secret_file),
		    offsetof(struct cfg, webhook_secret) },
	};
	size_t i;

	for (i = 0; i < sizeof sf / sizeof sf[0]; i++) {
		const char *file = *(char **)(void *)((char *)c + sf[i].file);
		char **secret = (char **)(void *)((char *)c + sf[i].secret);

		if (file == NULL)
			continue;
		if (*secret != NULL) {
			imp_asprintf(cause, "-%s and -%s-file both given: "
			    "keep one (-%s-file keeps the secret out of ps "
			    "and the config file)", sf[i].key, sf[i].key,
			    sf[i].key);
			return (-1);
		}
		if (cfg_secret_file(sf[i].key, file, secret, cause) < 0)
			return (-1);
	}
	return (0);
}

void
cfg_usage(const char *prog)
{
	size_t i;

	fprintf(stderr, "usage: %s [-flag[=value] ...]\n"
	    "Flags (also keys of the config file, key = value):\n", prog);
	for (i = 0; i < NOPTS; i++)
		fprintf(stderr, "  -%-20s %s\n", cfg_opts[i].key, cfg_opts[i].help);
	fprintf(stderr, "  -%-20s %s\n  -%-20s %s\n", "help", "this text",
	    "version", "print the version");
}

/* getopt_long_only's table: option i of cfg_opts returns 0x100 + i. */
static void
cfg_longopts(struct option lo[NOPTS + 3])
{
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		lo[i].name = cfg_opts[i].key;
		lo[i].has_arg = cfg_opts[i].type == T_BOOL ? optional_argument :
		    required_argument;
		lo[i].flag = NULL;
		lo[i].val = 0x100 + (int)i;
	}
	lo[NOPTS].name = "help";
	lo[NOPTS].has_arg = no_argument;
	lo[NOPTS].flag = NULL;
	lo[NOPTS].val = 'h';
	lo[NOPTS + 1].name = "version";
	lo[NOPTS + 1].has_arg = no_argument;
	lo[NOPTS + 1].flag = NULL;
	lo[NOPTS + 1].val = 'V';
	memset(&lo[NOPTS + 2], 0, sizeof lo[0]);
}

int
cfg_load(struct cfg *c, int argc, char *const argv[], char **cause)
{
	struct option lo[NOPTS + 3];
	const char *file = NULL;
	int ch, idx, must = 0;

	cfg_defaults(c);
	cfg_longopts(lo);

	/* pass 1: -config, -help, -version */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long_only(argc, argv, "", lo, &idx)) != -1) {
		if (ch == 'h') {
			cfg_usage(argv[0]);
			return (1);
		}
		if (ch == 'V') {
			printf("impsolverd %s\n", PACKAGE_VERSION);
			return (1);
		}
		if (ch >= 0x100 && strcmp(cfg_opts[ch - 0x100].key, "config") == 0) {
			file = optarg;
			must = 1;
		}
	}
	if (file == NULL)
		file = CFG_DEFAULT_FILE;
	if (cfg_file(c, file, must, cause) < 0)
		return (-1);

	/* pass 2: the flags override the file */
	optind = 1;
	while ((ch = getopt_long_only(argc, argv, "", lo, &idx)) != -1) {
		if (ch == '?' || ch == ':') {
			if (optopt >= 0x100)
				imp_asprintf(cause, "-%s needs a value",
				    cfg_opts[optopt - 0x100].key);
			else
				imp_asprintf(cause, "unknown flag %s (try -help)",
				    argv[optind - 1]);
			return (-1);
		}
		if (ch < 0x100 || strcmp(cfg_opts[ch - 0x100].key, "config") == 0)
			continue;
		if (cfg_set(c, &cfg_opts[ch - 0x100], optarg, cause) < 0)
			return (-1);
	}
	if (optind < argc) {
		imp_asprintf(cause, "unexpected argument '%s' (flags take "
		    "-flag=value)", argv[optind]);
		return (-1);
	}
	if (cfg_secret_files(c, cause) < 0)
		return (-1);
	if (c->state_dir == NULL) {
		imp_asprintf(cause, "-state-dir may not be empty");
		return (-1);
	}
	cfg_empty_defaults(c);
	if (c->fit_timeout < TIM_MS || c->fit_timeout > CFG_FIT_TIMEOUT_MAX) {
		imp_asprintf(cause, "-fit-timeout: want a duration in [1ms, 24h]");
		return (-1);
	}
	if (c->body_timeout < TIM_MS || c->body_timeout > CFG_BODY_TIMEOUT_MAX) {
		imp_asprintf(cause, "-body-timeout: want a duration in [1ms, 1h]");
		return (-1);
	}
	if (c->queue_wait > CFG_QUEUE_WAIT_MAX) {
		imp_asprintf(cause, "-queue-wait: want a duration of at most 1m");
		return (-1);
	}
	/* libcurl takes milliseconds in a long; 0 would mean "no timeout" */
	if (c->webhook_timeout < TIM_MS ||
	    c->webhook_timeout > CFG_WEBHOOK_TIMEOUT_MAX) {
		char d[32];
		imp_asprintf(cause, "-webhook-timeout: want a duration in "
		    "[1ms, 1h]: %s", tim_format_duration(c->webhook_timeout,
		    d, sizeof d));
		return (-1);
	}
	if (c->webhook_connect_timeout < TIM_MS) {
		char d[32];
		imp_asprintf(cause, "-webhook-connect-timeout: want at least "
		    "1ms: %s", tim_format_duration(c->webhook_connect_timeout,
		    d, sizeof d));
		return (-1);
	}
	if (strcmp(c->log_format, "text") != 0 &&
	    strcmp(c->log_format, "json") != 0) {
		imp_asprintf(cause, "-log-format: want text or json: %s",
		    c->log_format);
		return (-1);
	}
	if (strcmp(c->webhook_mode, "spectrum") != 0 &&
	    strcmp(c->webhook_mode, "batch") != 0) {
		imp_asprintf(cause, "-webhook-mode: want spectrum or batch: %s",
		    c->webhook_mode);
		return (-1);
	}
	/* a connect cannot take longer than the attempt it is part of */
	if (c->webhook_connect_timeout > c->webhook_timeout)
		c->webhook_connect_timeout = c->webhook_timeout;
	return (0);
}

char **
cfg_argv_dup(int argc, char *const argv[])
{
	char **v = imp_calloc((size_t)argc + 1, sizeof *v);
	int i;

	for (i = 0; i < argc; i++)
		v[i] = imp_strdup(argv[i]);
	return (v);
}

void
cfg_argv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++) {
		explicit_bzero(*p, strlen(*p));
		imp_free(*p);
	}
	imp_free(v);
}

int
cfg_argv_scrub(int argc, char **argv)
{
	struct option lo[NOPTS + 3];
	const struct cfg_opt *o;
	int ch, idx, n = 0;

	/*
	 * The same parser as cfg_load, so "-api-tok=T" (an abbreviation)
	 * and "-api-token T" (two words) are found as surely as
	 * "--api-token=T": optarg points into argv's own bytes.
	 */
	cfg_longopts(lo);
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long_only(argc, argv, "", lo, &idx)) != -1) {
		if (ch < 0x100 || optarg == NULL)
			continue;
		o = &cfg_opts[ch - 0x100];
		if (o->type == T_SECRET && *optarg != '\0') {
			memset(optarg, '*', strlen(optarg));
			n++;
		} else if (o->type == T_STR)
			n += mask_inplace(optarg);
	}
	optind = 1;
	return (n);
}

void
cfg_free(struct cfg *c)
{
	size_t i;

	CHECK_OBJ_NOTNULL(c, CFG_MAGIC);

	for (i = 0; i < NOPTS; i++)
		if (cfg_opts[i].type == T_STR || cfg_opts[i].type == T_SECRET) {
			char **p = (char **)(void *)((char *)c + cfg_opts[i].off);
			imp_free(*p);
			*p = NULL;
		}
}

void
cfg_copy(struct cfg *dst, const struct cfg *src)
{
	size_t i;

	CHECK_OBJ_NOTNULL(src, CFG_MAGIC);

	*dst = *src;
	for (i = 0; i < NOPTS; i++)
		if (cfg_opts[i].type == T_STR || cfg_opts[i].type == T_SECRET) {
			char **p = (char **)(void *)((char *)dst + cfg_opts[i].off);
			if (*p != NULL)
				*p = imp_strdup(*p);
		}
}

void
cfg_foreach(const struct cfg *c,
    void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	char v[64], *s, *masked;
	const char *p;
	size_t i;

	CHECK_OBJ_NOTNULL(c, CFG_MAGIC);

	for (i = 0; i < NOPTS; i++) {
		const struct cfg_opt *o = &cfg_opts[i];
		const char *base = (const char *)c + o->off;

		p = v;
		masked = NULL;
		switch (o->type) {
		case T_BOOL:
			p = *(const int *)(const void *)base ? "true" : "false";
			break;
		case T_INT:
			snprintf(v, sizeof v, "%d", *(const int *)(const void *)base);
			break;
		case T_U32:
			snprintf(v, sizeof v, "%u", *(const uint32_t *)(const void *)base);
			break;
		case T_STR:
			s = *(char *const *)(const void *)base;
			p = s != NULL ? s : "";
			if (s != NULL && strpbrk(s, "@?") != NULL) {
				/* "?a=1" -> "?a=***": at most 3 bytes a byte */
				size_t len = strlen(s) * 3 + 1;

				masked = imp_malloc(len);
				mask_str(s, masked, len);
				p = masked;
			}
			break;
		case T_SECRET:
			s = *(char *const *)(const void *)base;
			p = s != NULL ? "(set)" : "";
			break;
		case T_DUR:
			tim_format_duration(*(const uint64_t *)(const void *)base,
			    v, sizeof v);
			break;
		case T_SIZE:
			snprintf(v, sizeof v, "%ju",
			    (uintmax_t)*(const uint64_t *)(const void *)base);
			break;
		}
		fn(o->key, p, arg);
		imp_free(masked);
	}
}
