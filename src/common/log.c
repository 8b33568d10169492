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
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* syslog.h's LOG_ERR, LOG_INFO, LOG_DEBUG are macros; log.h's are an enum */
static const int	log_syslog_prio = LOG_ERR;
#undef LOG_ERR
#undef LOG_INFO
#undef LOG_DEBUG

#include "common/log.h"
#include "common/mask.h"
#include "common/mem.h"
#include "common/stat.h"
#include "common/tim.h"

/* reports of lost lines: at most this often to syslog, and to the log */
#define LOG_REPORT_NS	(60 * TIM_SEC)

static char	log_role[32] = "main";
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
	if (path == NULL || *path == '\0')
		return (0);
	if (log_open_fd(path, cause) < 0)
		return (-1);
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
	/* a new file (after logrotate, or space freed): say what was lost */
	log_report_lost(1);
	return (0);
}

/* The common head of a line: "<time> impsolverd[pid] role: <level word>". */
static int
log_head(char *line, size_t len, enum log_level lvl)
{
	static const char *const lvl_word[] = { "error: ", "warning: ", "", "debug: " };
	char ts[48];
	int n;

	tim_rfc3339(tim_real(), 1, ts, sizeof ts);
	/* microseconds are enough in logs: cut the ns digits */
	if (strlen(ts) > 27) {
		ts[26] = 'Z';
		ts[27] = '\0';
	}
	n = snprintf(line, len, "%s impsolverd[%d] %s: %s", ts,
	    (int)getpid(), log_role, lvl_word[lvl]);
	if (n < 0 || (size_t)n >= len)
		n = 0;
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
	char line[512], ts[48];
	uint64_t lost, now = tim_mono();
	int n, m;

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
	n = log_head(line, sizeof line, LOG_WARN);
	m = snprintf(line + n, sizeof line - (size_t)n, "%ju log line(s) "
	    "could not be written since %s: %s (counter log_write_errors)\n",
	    (uintmax_t)lost, ts, strerror(log_lost_errno));
	if (m > 0)
		n += m;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* still failing: back in the count, reported later */
		__atomic_add_fetch(&log_lost, lost, __ATOMIC_RELAXED);
		log_lost_line(errno);
	}
}

static void
log_vline(enum log_level lvl, const char *fmt, va_list ap, int with_errno,
    int err)
{
	char line[4096], text[4096];
	int n, m, t;

	n = log_head(line, sizeof line, lvl);
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
	n += (int)mask_text(text, (size_t)t, line + n, sizeof line - 1 -
	    (size_t)n);
	line[n++] = '\n';
	/* a full disk must not stop the server, nor go unnoticed */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
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
	log_vline(lvl, fmt, ap, 0, 0);
	va_end(ap);
	errno = err;
}

void
log_syserr(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_vline(LOG_ERR, fmt, ap, 1, err);
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
	log_vline(LOG_INFO, fmt, ap, 0, 0);
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
	log_vline(LOG_ERR, fmt, ap, 1, err);
	va_end(ap);
	log_exit();
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, fmt, ap, 0, 0);
	va_end(ap);
	log_exit();
}

void
log_from_handler(const char *msg)
{
	size_t n = strlen(msg);

	if (write(STDERR_FILENO, msg, n) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		return;
}
