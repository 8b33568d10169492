/*
 * impcore - configuration: command-line flags and the config file.
 *
 * Go flag forms are accepted (-threads=4, -threads 4, --threads=4, -profile,
 * -profile=false); the file has "key = value" lines with the same keys as
 * the long flags, '#' comments.  Order: defaults, then the file (-config, or
 * /etc/impsolverd.conf if present), then the flags.  The master parses; the
 * children get a copy of the struct at fork (children.h).
 */
#ifndef IMP_CFG_H
#define IMP_CFG_H

#include <stdint.h>

#define CFG_MAGIC		0x43464721u
/* $(sysconfdir)/impsolverd.conf: /etc/impsolverd.conf with --sysconfdir=/etc */
#ifndef SYSCONFDIR
#define SYSCONFDIR		"/etc"
#endif
#define CFG_DEFAULT_FILE	SYSCONFDIR "/impsolverd.conf"
#define CFG_THREADS_MAX		100
#define CFG_WEBHOOK_REDIRECTS_MAX	10	/* -webhook-redirects */
#define CFG_FIT_TIMEOUT_MAX	(24 * 3600 * TIM_SEC)	/* -fit-timeout */
#define CFG_QUEUE_WAIT_MAX	(60 * TIM_SEC)	/* -queue-wait */
#define CFG_BODY_TIMEOUT_MAX	(3600 * TIM_SEC)	/* -body-timeout */

struct cfg {
	unsigned	magic;
	int		server;			/* -server: accepted, no effect */
	int		threads;		/* worker processes */
	int		profile;
	int		port;
	char		*bind;
	int		profile_port;
	char		*profile_bind;
	char		*code;			/* default circuit */
	char		*method;		/* default method name */
	char		*webhook_url;		/* NULL: none */
	char		*webhook_secret;	/* NULL: none; never logged */
	char		*webhook_secret_file;	/* its first line is webhook_secret */
	char		*webhook_allow;		/* comma-separated URL prefixes */
	uint64_t	webhook_max_age;	/* ns */
	int		webhook_nice;		/* added to the webhook process's nice */
	int		fit_nice;		/* added to the fitting threads' nice */
	uint64_t	webhook_timeout;	/* ns: a whole attempt, hops included */
	uint64_t	webhook_connect_timeout; /* ns: <= webhook_timeout */
	int		webhook_redirects;	/* 0: a 3xx is a failed attempt */
	char		*webhook_mode;		/* "spectrum" | "batch" (issue 18) */
	uint64_t	webhook_batch_max;	/* bytes of a batch webhook body, then parts */
	char		*state_dir;
	uint32_t	queue_size;
	uint32_t	results;
	uint32_t	max_points;
	uint64_t	arena_size;		/* bytes, 0: derived (-arena-size=256M) */
	uint64_t	retention;		/* ns */
	char		*api_token;		/* NULL: none; never logged */
	char		*api_token_file;	/* its first line is api_token */
	char		*user;
	char		*config;		/* file read, NULL when none */
	int		daemon;
	char		*pidfile;
	char		*log;
	int		quiet;
	char		*log_format;		/* "text" | "json" (issue 17) */
	int		log_spectra;		/* a 🔍 line per spectrum */
	uint64_t	respawn_max_delay;	/* ns */
	int		benchmark;
	uint64_t	body_max;		/* bytes of a request body, 0: derived */
	uint64_t	idle_timeout;		/* ns: keep-alive/idle connection timeout */
	uint64_t	body_timeout;		/* ns: a whole request body, else 408 */
	uint64_t	drain_timeout;		/* ns: longest graceful stop of a child */
	uint64_t	fit_timeout;		/* ns: longest fit (requests may ask less) */
	uint64_t	queue_wait;		/* ns: a batch POST held for room, then 503 */
};

/*
 * Parse defaults + config file + argv into *c (which the caller zeroes).
 * Returns 0, 1 when the program should exit 0 (-help, -version printed),
 * or -1 with an imp_malloc'd *cause.
 */
int cfg_load(struct cfg *c, int argc, char *const argv[], char **cause);
/*
 * Overwrite, in argv's own memory (what ps and /proc/<pid>/cmdline show),
 * the value of every secret flag with '*' and the secrets of every URL
 * (mask.h), keeping each length: argv cannot grow, and what ps shows
 * between exec and this call is why -api-token-file and
 * -webhook-secret-file are the safe way.  Parse a cfg_argv_dup() copy
 * afterwards (SIGHUP).  Returns how many values were masked.
 */
int cfg_argv_scrub(int argc, char **argv);
/* A deep copy of argv (NULL-terminated), for cfg_load after the scrub. */
char **cfg_argv_dup(int argc, char *const argv[]);
void cfg_argv_free(char **v);
/* Release the strings of c. */
void cfg_free(struct cfg *c);
/* Deep copy. */
void cfg_copy(struct cfg *dst, const struct cfg *src);
/* Print usage to stderr. */
void cfg_usage(const char *prog);
/*
 * Each setting as "key=value" lines (for /debug/info and the start-up log);
 * secrets appear as "(set)", URLs masked (mask.h).  Calls fn once per key.
 */
void cfg_foreach(const struct cfg *c,
    void (*fn)(const char *key, const char *value, void *arg), void *arg);

#endif /* IMP_CFG_H */
