/*
 * impcore - log lines to stderr or the -log file.
 *
 * One write(2) per line, so lines of concurrent processes sharing the file
 * (O_APPEND) never interleave.  Every line passes through mask_text, so a
 * URL's password or query values never reach the log, whoever wrote the
 * format.  A write that fails (a full disk, EIO) does not stop the server,
 * but it is never silent: it counts log_write_errors, goes to syslog at
 * most once a minute while the log is failing, and the log itself says
 * how many lines it lost as soon as a write works again.
 *
 * Two shapes (-log-format): text, "<time> impsolverd[pid] role: level:
 * message", and JSON lines, {"time", "level", "role", "index", "pid",
 * "message", fields...}.  Under systemd (stderr is the stream named by
 * $JOURNAL_STREAM) a line starts with sd-daemon(3)'s "<N>" priority, and
 * a text line has no time of its own: the journal stamps every line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* syslog.h's LOG_ERR, LOG_INFO, LOG_DEBUG are macros; log.h's are an enum */
static const int	log_syslog_prio = LOG_ERR;
#undef LOG_ERR
#undef LOG_INFO
#undef LOG_DEBUG

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mask.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"

/* reports of lost lines: at most this often to syslog, and to the log */
#define LOG_REPORT_NS	(60 * TIM_SEC)

static char	log_role[32] = "main";	/* "worker[3]": the text prefix */
static char	log_role_name[16] = "main";	/* "worker": JSON's role */
static int	log_role_index = -1;	/* JSON's index; -1: none */
static int	log_pid;		/* getpid() of the last log_set_role */
static int	log_is_json;
static int	log_is_journal;		/* stderr is $JOURNAL_STREAM */
static char	*log_path;
static int	log_is_quiet;
static int	log_is_debug;
static int	log_is_child;

/*
 * Lines lost to failed writes since the last report in the log.  The
 * worker logs from two threads, hence the atomics; the rest is a
 * best-effort note of the first failure, read only to word the report.
 */
static uint64_t	log_lost;
static int	log_lost_errno;
static uint64_t	log_lost_since;		/* tim_real of the first lost line */
static uint64_t	log_syslog_at;		/* tim_mono of the last syslog report */
static uint64_t	log_report_at;		/* tim_mono of the last report in the log */

void
log_set_role(const char *role, int index)
{
	if (index >= 0)
		snprintf(log_role, sizeof log_role, "%s[%d]", role, index);
	else
		snprintf(log_role, sizeof log_role, "%s", role);
	snprintf(log_role_name, sizeof log_role_name, "%s", role);
	log_role_index = index;
	/* every child sets its role right after fork: the pid is new then */
	log_pid = (int)getpid();
	/* mem sits below us: it reports running out of memory through this */
	mem_oom_report = log_from_handler;
}

int
log_set_format(const char *name)
{
	if (name == NULL || strcmp(name, "text") == 0)
		log_is_json = 0;
	else if (strcmp(name, "json") == 0)
		log_is_json = 1;
	else
		return (-1);
	return (0);
}

/*
 * systemd sets JOURNAL_STREAM to "<dev>:<inode>" of the stream it gives
 * a service's stderr; a process whose stderr is something else (-log=F,
 * a shell redirection of a child) must not write "<N>" into a file.
 */
static void
log_journal_check(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_is_journal = 0;
	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	log_is_journal = (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

int
log_journal(void)
{
	return (log_is_journal);
}

void
log_set_quiet(int quiet)
{
	log_is_quiet = quiet;
}

int
log_quiet(void)
{
	return (log_is_quiet);
}

void
log_set_debug(int debug)
{
	log_is_debug = debug;
}

void
log_set_child(int child)
{
	log_is_child = child;
}

static int
log_open_fd(const char *path, char **cause)
{
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		if (cause != NULL)
			imp_asprintf(cause, "open(%s): %s", path, strerror(errno));
		return (-1);
	}
	if (dup2(fd, STDERR_FILENO) < 0) {
		if (cause != NULL)
			imp_asprintf(cause, "dup2(%s): %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

int
log_open(const char *path, char **cause)
{
	if (path == NULL || *path == '\0') {
		log_journal_check();
		return (0);
	}
	if (log_open_fd(path, cause) < 0)
		return (-1);
	log_journal_check();
	imp_free(log_path);
	log_path = imp_strdup(path);
	return (0);
}

int
log_reopen(void)
{
	char *cause = NULL;

	if (log_path == NULL)
		return (0);
	if (log_open_fd(log_path, &cause) < 0) {
		log_err("log reopen failed: %s", cause);
		imp_free(cause);
		return (-1);
	}
	log_journal_check();
	/* a new file (after logrotate, or space freed): say what was lost */
	log_report_lost(1);
	return (0);
}

static const char *const log_lvl_name[] = { "error", "warning", "info", "debug" };
/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char *const log_lvl_prio[] = { "<3>", "<4>", "<6>", "<7>" };

/* A line is at most this long; longer messages are cut. */
#define LOG_LINE_MAX	8192

/*
 * s (n bytes) as the inside of a JSON string at o, at most cap bytes;
 * returns the bytes written.  Bytes that are not UTF-8 become U+FFFD (a
 * request path may hold any byte; a JSON reader must never choke on a
 * line), control characters \u00XX.
 */
static size_t
log_json_esc(char *o, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, w = 0, k, len;

	while (i < n && w + 8 < cap) {
		unsigned c = u[i];

		if (c == '"' || c == '\\') {
			o[w++] = '\\';
			o[w++] = (char)c;
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			memcpy(o + w, "\\u00", 4);
			o[w + 4] = hex[c >> 4];
			o[w + 5] = hex[c & 15];
			w += 6;
			i++;
			continue;
		}
		if (c < 0x80) {
			o[w++] = (char)c;
			i++;
			continue;
		}
		/* a whole, shortest, non-surrogate UTF-8 sequence, else U+FFFD */
		len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
		    c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		for (k = 1; len != 0 && k < len; k++)
			if (i + k >= n || (u[i + k] & 0xc0) != 0x80)
				len = 0;
		if (len >= 3 && ((c == 0xe0 && u[i + 1] < 0xa0) ||
		    (c == 0xed && u[i + 1] >= 0xa0) ||
		    (c == 0xf0 && u[i + 1] < 0x90) ||
		    (c == 0xf4 && u[i + 1] >= 0x90)))
			len = 0;
		if (len == 0) {
			memcpy(o + w, "\\ufffd", 6);
			w += 6;
			i++;
			continue;
		}
		memcpy(o + w, s + i, len);
		w += len;
		i += len;
	}
	return (w);
}

/* Append lit (NUL-terminated) at line + n if it fits; the new length. */
static size_t
log_put(char *line, size_t n, size_t cap, const char *lit)
{
	size_t l = strlen(lit);

	if (n + l < cap) {
		memcpy(line + n, lit, l);
		n += l;
	}
	return (n);
}

/* A masked, escaped JSON string with its quotes. */
static size_t
log_put_str(char *line, size_t n, size_t cap, const char *s, size_t sl)
{
	char masked[LOG_LINE_MAX];
	size_t ml;

	if (n + 2 >= cap)
		return (n);
	ml = mask_text(s, sl, masked, sizeof masked);
	line[n++] = '"';
	n += log_json_esc(line + n, cap - n - 1, masked, ml);
	line[n++] = '"';
	return (n);
}

/*
 * The whole line (with its newline) for text (tl bytes) at level lvl with
 * fields f, in the -log-format's shape; returns its length.  The text and
 * the string fields pass through mask_text: no secret reaches the log.
 */
static size_t
log_build(char *line, size_t cap, enum log_level lvl,
    const struct log_field *f, int nf, const char *text, size_t tl)
{
	char ts[48], num[BUF_NUM_MAX + 1];
	size_t n = 0;
	int i, m;

	cap--;		/* room for the newline */
	if (log_is_journal)
		n = log_put(line, n, cap, log_lvl_prio[lvl]);
	tim_rfc3339(tim_real(), 1, ts, sizeof ts);
	/* microseconds are enough in logs: cut the ns digits */
	if (strlen(ts) > 27) {
		ts[26] = 'Z';
		ts[27] = '\0';
	}
	if (!log_is_json) {
		m = snprintf(line + n, cap - n, "%s%simpsolverd[%d] %s: %s: ",
		    log_is_journal ? "" : ts, log_is_journal ? "" : " ",
		    log_pid != 0 ? log_pid : (int)getpid(), log_role,
		    log_lvl_name[lvl]);
		if (m > 0 && (size_t)m < cap - n)
			n += (size_t)m;
		n += mask_text(text, tl, line + n, cap - n + 1);
		line[n++] = '\n';
		return (n);
	}
	m = snprintf(line + n, cap - n, "{\"time\":\"%s\",\"level\":\"%s\","
	    "\"role\":\"%s\",", ts, log_lvl_name[lvl], log_role_name);
	if (m > 0 && (size_t)m < cap - n)
		n += (size_t)m;
	if (log_role_index >= 0) {
		m = snprintf(line + n, cap - n, "\"index\":%d,", log_role_index);
		if (m > 0 && (size_t)m < cap - n)
			n += (size_t)m;
	}
	m = snprintf(line + n, cap - n, "\"pid\":%d,\"message\":",
	    log_pid != 0 ? log_pid : (int)getpid());
	if (m > 0 && (size_t)m < cap - n)
		n += (size_t)m;
	n = log_put_str(line, n, cap, text, tl);
	for (i = 0; i < nf; i++) {
		/* a field that does not fit whole is left out: the line parses */
		size_t n0 = n, nv;

		n = log_put(line, n, cap, ",\"");
		n = log_put(line, n, cap, f[i].key);
		n = log_put(line, n, cap, "\":");
		nv = n;
		switch (f[i].type) {
		case LOG_F_STR:
			if (f[i].s == NULL) {
				n = log_put(line, n, cap, "null");
				break;
			}
			n = log_put_str(line, n, cap, f[i].s, strlen(f[i].s));
			break;
		case LOG_F_INT:
			snprintf(num, sizeof num, "%lld", f[i].i);
			n = log_put(line, n, cap, num);
			break;
		case LOG_F_NUM:
			*buf_num_at(num, f[i].d) = '\0';
			n = log_put(line, n, cap, num);
			break;
		}
		if (n == nv || n + 2 >= cap)
			n = n0;
	}
	n = log_put(line, n, cap + 1, "}");
	line[n++] = '\n';
	return (n);
}

/*
 * A write of the log failed with err: count it, and while it keeps
 * failing tell syslog once a minute (stderr is the log, or gone).
 */
static void
log_lost_line(int err)
{
	uint64_t now = tim_mono(), lost;

	STAT_INC(log_write_errors);
	lost = __atomic_add_fetch(&log_lost, 1, __ATOMIC_RELAXED);
	if (lost == 1) {
		log_lost_since = tim_real();
		log_lost_errno = err;
	}
	if (log_syslog_at != 0 && now - log_syslog_at < LOG_REPORT_NS)
		return;
	log_syslog_at = now;
	openlog("impsolverd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	syslog(log_syslog_prio, "%s: cannot write the log%s%s: %s (%ju line(s) lost "
	    "so far; counter log_write_errors)", log_role,
	    log_path != NULL ? " " : "", log_path != NULL ? log_path : "",
	    strerror(err), (uintmax_t)lost);
	closelog();
}

void
log_report_lost(int now_please)
{
	char line[1024], text[512], ts[48];
	uint64_t lost, now = tim_mono();
	size_t n;
	int m;

	if (__atomic_load_n(&log_lost, __ATOMIC_RELAXED) == 0)
		return;
	/* a disk at the brink fails and works in turn: one report a minute */
	if (!now_please && log_report_at != 0 &&
	    now - log_report_at < LOG_REPORT_NS)
		return;
	lost = __atomic_exchange_n(&log_lost, 0, __ATOMIC_RELAXED);
	if (lost == 0)
		return;
	log_report_at = now;
	tim_rfc3339(log_lost_since, 0, ts, sizeof ts);
	m = snprintf(text, sizeof text, "%ju log line(s) could not be written "
	    "since %s: %s (counter log_write_errors)", (uintmax_t)lost, ts,
	    strerror(log_lost_errno));
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof text)
		m = sizeof text - 1;
	n = log_build(line, sizeof line, LOG_WARN, NULL, 0, text, (size_t)m);
	if (write(STDERR_FILENO, line, n) < 0) {
		/* still failing: back in the count, reported later */
		__atomic_add_fetch(&log_lost, lost, __ATOMIC_RELAXED);
		log_lost_line(errno);
	}
}

static void
log_vline(enum log_level lvl, const struct log_field *f, int nf,
    const char *fmt, va_list ap, int with_errno, int err)
{
	char line[LOG_LINE_MAX], text[4096];
	size_t n;
	int m, t;

	t = vsnprintf(text, sizeof text, fmt, ap);
	if (t < 0)
		t = 0;
	if ((size_t)t >= sizeof text)
		t = sizeof text - 1;
	if (with_errno) {
		m = snprintf(text + t, sizeof text - (size_t)t, ": %s",
		    strerror(err));
		if (m > 0)
			t += m;
		if ((size_t)t >= sizeof text)
			t = sizeof text - 1;
	}
	/* request paths, webhook URLs, curl's errors: no secret in the log */
	n = log_build(line, sizeof line, lvl, f, nf, text, (size_t)t);
	/* a full disk must not stop the server, nor go unnoticed */
	if (write(STDERR_FILENO, line, n) < 0) {
		log_lost_line(errno);
		return;
	}
	if (__atomic_load_n(&log_lost, __ATOMIC_RELAXED) != 0)
		log_report_lost(0);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	if (lvl == LOG_DEBUG && !log_is_debug)
		return;
	va_start(ap, fmt);
	log_vline(lvl, NULL, 0, fmt, ap, 0, 0);
	va_end(ap);
	errno = err;
}

void
log_syserr(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_vline(LOG_ERR, NULL, 0, fmt, ap, 1, err);
	va_end(ap);
	errno = err;
}

void
log_req(const char *fmt, ...)
{
	va_list ap;

	if (log_is_quiet)
		return;
	va_start(ap, fmt);
	log_vline(LOG_INFO, NULL, 0, fmt, ap, 0, 0);
	va_end(ap);
}

void
log_fields(enum log_level lvl, const struct log_field *f, int nf,
    const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	if (lvl == LOG_DEBUG && !log_is_debug)
		return;
	va_start(ap, fmt);
	log_vline(lvl, f, nf, fmt, ap, 0, 0);
	va_end(ap);
	errno = err;
}

void
log_req_fields(const struct log_field *f, int nf, const char *fmt, ...)
{
	va_list ap;

	if (log_is_quiet)
		return;
	va_start(ap, fmt);
	log_vline(LOG_INFO, f, nf, fmt, ap, 0, 0);
	va_end(ap);
}

static void __attribute__((noreturn))
log_exit(void)
{
	if (log_is_child)
		_exit(1);
	exit(1);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_vline(LOG_ERR, NULL, 0, fmt, ap, 1, err);
	va_end(ap);
	log_exit();
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, NULL, 0, fmt, ap, 0, 0);
	va_end(ap);
	log_exit();
}

void
log_from_handler(const char *msg)
{
	char line[512];
	size_t n = 0, l = strlen(msg);

	/* no stdio, no time (neither is async-signal-safe): a level, and in
	 * JSON the keys a reader needs; msg is our own text, without quotes */
	if (l > 256)
		l = 256;
	if (log_is_journal)
		n = log_put(line, n, sizeof line, "<3>");
	if (log_is_json) {
		n = log_put(line, n, sizeof line, "{\"level\":\"error\",\"role\":\"");
		n = log_put(line, n, sizeof line, log_role_name);
		n = log_put(line, n, sizeof line, "\",\"pid\":");
		n = (size_t)(buf_int_at(line + n, log_pid) - line);
		n = log_put(line, n, sizeof line, ",\"message\":\"");
		n += log_json_esc(line + n, sizeof line - n - 4, msg, l);
		n = log_put(line, n, sizeof line, "\"}");
	} else {
		n = log_put(line, n, sizeof line, "impsolverd[");
		n = (size_t)(buf_int_at(line + n, log_pid) - line);
		n = log_put(line, n, sizeof line, "] ");
		n = log_put(line, n, sizeof line, log_role);
		n = log_put(line, n, sizeof line, ": error: ");
		memcpy(line + n, msg, l);
		n += l;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
