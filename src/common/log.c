/*
 * impcore - log lines to stderr or the -log file.
 *
 * One write(2) per line, so lines of concurrent processes sharing the file
 * (O_APPEND) never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/tim.h"

static char	log_role[32] = "main";
static char	*log_path;
static int	log_is_quiet;
static int	log_is_debug;
static int	log_is_child;

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
	return (0);
}

static void
log_vline(enum log_level lvl, const char *fmt, va_list ap, int with_errno,
    int err)
{
	static const char *const lvl_word[] = { "error: ", "warning: ", "", "debug: " };
	char line[4096], ts[48];
	int n, m;

	tim_rfc3339(tim_real(), 1, ts, sizeof ts);
	/* microseconds are enough in logs: cut the ns digits */
	if (strlen(ts) > 27) {
		ts[26] = 'Z';
		ts[27] = '\0';
	}
	n = snprintf(line, sizeof line, "%s impsolverd[%d] %s: %s", ts,
	    (int)getpid(), log_role, lvl_word[lvl]);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (m > 0)
		n += m;
	if ((size_t)n >= sizeof line - 2)
		n = sizeof line - 2;
	if (with_errno) {
		m = snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof line - 2)
			n = sizeof line - 2;
	}
	line[n++] = '\n';
	/* best effort: a full disk must not stop the server */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
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
