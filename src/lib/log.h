/*
 * impcore - log lines.
 *
 * "2025-01-01T12:00:00.123456Z impsolverd[1234] worker[0]: info: text" on
 * stderr or the -log file (which the master dup2()s onto stderr so the
 * children inherit it), or the same as a JSON line (-log-format=json).
 * Every line has its level (error, warning, info, debug); under systemd
 * also the "<N>" priority of sd-daemon(3).  log_req() lines (per request,
 * per job) are dropped with -quiet.
 */
#ifndef IMP_LOG_H
#define IMP_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Process identity for the prefix: role "master", "worker" (index >= 0: "worker[3]"). */
void log_set_role(const char *role, int index);
/* -log-format: "text" (NULL too) or "json"; 0, or -1 for another name. */
int log_set_format(const char *name);
/* 1 when stderr is systemd's journal stream ($JOURNAL_STREAM): lines
 * start with "<N>", text lines without a time (checked by log_open). */
int log_journal(void);
/*
 * Log to path (O_APPEND, created 0640) by making it our stderr; NULL or ""
 * keeps stderr.  0 ok, -1 with *cause.
 */
int log_open(const char *path, char **cause);
/*
 * Reopen the -log file (SIGUSR1); 0 ok or nothing to do, -1 failed
 * (logged).  Lines lost to failed writes are reported in the new file.
 */
int log_reopen(void);
/*
 * Write "N log line(s) could not be written since T" when lines were lost
 * to failed writes (log_write_errors): now_please, or at most once a
 * minute (every log line calls it after a write that worked).
 */
void log_report_lost(int now_please);
void log_set_quiet(int quiet);
int log_quiet(void);
void log_set_debug(int debug);

void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like log_msg(LOG_ERR) with ": strerror(errno)" appended. */
void log_syserr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Per-request/per-job lines: dropped with -quiet. */
void log_req(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A line with fields: JSON lines (-log-format=json) carry them as keys
 * beside "message"; text lines show the message alone (say what matters
 * in it).  String values are masked like the message.
 */
enum log_ftype { LOG_F_STR, LOG_F_INT, LOG_F_NUM };
struct log_field {
	const char	*key;
	enum log_ftype	type;
	const char	*s;
	long long	i;
	double		d;
};
#define LOG_FS(k, v)	{ (k), LOG_F_STR, (v), 0, 0 }
#define LOG_FI(k, v)	{ (k), LOG_F_INT, NULL, (long long)(v), 0 }
#define LOG_FN(k, v)	{ (k), LOG_F_NUM, NULL, 0, (double)(v) }
void log_fields(enum log_level lvl, const struct log_field *f, int nf,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* log_req() with fields: dropped with -quiet. */
void log_req_fields(const struct log_field *f, int nf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fatal: log (with errno for log_fatal), then exit(1) (_exit in children). */
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* In children: make log_fatal*() use _exit (no atexit, no ASan leak report). */
void log_set_child(int child);
/* Async-signal-safe: write msg as one line to stderr. */
void log_from_handler(const char *msg);

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* IMP_LOG_H */
