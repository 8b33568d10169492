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

/* The C type of each cfg.def type. */
#define CFG_CTYPE_T_BOOL	int
#define CFG_CTYPE_T_INT		int
#define CFG_CTYPE_T_U32		uint32_t
#define CFG_CTYPE_T_STR		char *
#define CFG_CTYPE_T_SECRET	char *		/* never logged */
#define CFG_CTYPE_T_DUR		uint64_t	/* ns */
#define CFG_CTYPE_T_SIZE	uint64_t	/* bytes */

/* One field per row of cfg.def, in its order; what each means is there. */
struct cfg {
	unsigned	magic;
#define CFG_OPT(key, type, field, min, max, dflt, empty, help) \
	CFG_CTYPE_##type field;
#include "daemon/cfg.def"
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
