/*
 * impcore - impctl: what /proc says about the server's processes (alive,
 * which program, RSS, CPU time), so status and top can show them and
 * reload/stop never signal a pid that was reused by another program.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "impctl/impctl.h"
#include "state/shm.h"

/*
 * A process whose pid was reused started after the one the file knows
 * died, so after the time the file recorded for it.  The real one started
 * at most a fork's latency after that time (children: t_start is taken
 * just before the fork) or before it (the master records its birth after
 * creating the file).  The slack covers /proc's clock-tick rounding and a
 * loaded machine.
 */
#define CLI_START_SLACK		(5 * 1000000000ull)

/* Read a small /proc file into buf (NUL-terminated); bytes read or -1. */
static ssize_t
cli_proc_file(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return (-1);
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return (got);
}

int
cli_proc_read(pid_t pid, struct cli_procstat *ps)
{
	char buf[1024], *p, *end;
	unsigned long long utime = 0, stime = 0, start = 0, rss_pages = 0;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec rt, bt;
	char *open_paren;
	int field;

	memset(ps, 0, sizeof *ps);
	if (pid <= 0 || cli_proc_file(pid, "stat", buf, sizeof buf) <= 0)
		return (-1);
	/* "pid (comm) S ...": comm may hold spaces and ')', so the last ')' */
	if ((open_paren = strchr(buf, '(')) == NULL ||
	    (p = strrchr(buf, ')')) == NULL || p < open_paren)
		return (-1);
	snprintf(ps->comm, sizeof ps->comm, "%.*s",
	    (int)(p - open_paren - 1), open_paren + 1);
	p++;
	/* fields from 3 on: state(3) ... utime(14) stime(15) ... starttime(22) */
	for (field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return (-1);
		if (field == 3)
			ps->state = *p;
		else if (field == 14)
			utime = strtoull(p, NULL, 10);
		else if (field == 15)
			stime = strtoull(p, NULL, 10);
		else if (field == 22)
			start = strtoull(p, NULL, 10);
		end = strchr(p, ' ');
		p = end != NULL ? end : p + strlen(p);
	}
	if (hz <= 0)
		hz = 100;
	ps->cpu_ns = (utime + stime) * (1000000000ull / (unsigned long long)hz);
	/* starttime counts clock ticks since boot: rebase on the real clock */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ps->start_real = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec -
	    ((uint64_t)bt.tv_sec * 1000000000ull + (uint64_t)bt.tv_nsec) +
	    start * (1000000000ull / (unsigned long long)hz);
	if (cli_proc_file(pid, "statm", buf, sizeof buf) > 0 &&
	    sscanf(buf, "%*u %llu", &rss_pages) == 1)
		ps->rss = rss_pages * (uint64_t)sysconf(_SC_PAGESIZE);
	return (0);
}

int
cli_proc_alive(pid_t pid, uint64_t start_real)
{
	struct cli_procstat ps;

	if (pid <= 0)
		return (0);
	if (cli_proc_read(pid, &ps) != 0) {
		/* no /proc, or hidepid hides it: kill(0) is all we can ask */
		return (kill(pid, 0) == 0 || errno == EPERM);
	}
	if (ps.state == 'Z' || ps.state == 'X')
		return (0);
	if (start_real != 0 && ps.start_real > start_real + CLI_START_SLACK)
		return (0);
	return (1);
}

/* comm, or argv[0]'s base name, says impsolverd (a process title may follow). */
static bool
cli_proc_is_impsolverd(pid_t pid, char *comm, size_t len)
{
	char buf[256], *base;
	ssize_t n;

	n = cli_proc_file(pid, "comm", buf, sizeof buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	/* comm is at most 15 characters (TASK_COMM_LEN) */
	snprintf(comm, len, "%.31s", n > 0 ? buf : "?");
	if (n > 0 && strncmp(buf, "impsolverd", 10) == 0)
		return (true);
	if (cli_proc_file(pid, "cmdline", buf, sizeof buf) <= 0)
		return (false);
	base = strrchr(buf, '/');
	base = base != NULL ? base + 1 : buf;
	return (strncmp(base, "impsolverd", 10) == 0);
}

int
cli_master(const struct shm *shm, pid_t *pid, char *why, size_t len)
{
	char comm[64];

	*pid = shm_master_pid(shm);
	if (*pid <= 0) {
		snprintf(why, len, "no master pid recorded in %s", shm_path(shm));
		return (-1);
	}
	if (!cli_proc_alive(*pid, shm_birth(shm))) {
		snprintf(why, len, "master pid %ld not running", (long)*pid);
		return (-1);
	}
	if (!cli_proc_is_impsolverd(*pid, comm, sizeof comm)) {
		snprintf(why, len, "master pid %ld is '%s', not impsolverd: "
		    "pid reused", (long)*pid, comm);
		return (-1);
	}
	return (0);
}

char *
cli_proc_label(int role, int index, char *buf, size_t len)
{
	/* the master (index -1) is one of a kind */
	if (index < 0)
		snprintf(buf, len, "%s", shm_role_name((enum shm_role)role));
	else
		snprintf(buf, len, "%s.%d", shm_role_name((enum shm_role)role),
		    index);
	return (buf);
}
