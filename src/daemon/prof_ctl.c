/*
 * impcore - the profiler's ctl commands, as run in each server process.
 *
 * The master registers the handlers (prof_ctl_register) before its first
 * fork, so every child inherits them (ctl.h); it also warms up the unwinder
 * there, which the SIGPROF handler relies on.  Each handler runs
 * in the process's event loop, writes its dump file and reports
 * res[0] = 0 or an errno, res[1] = records written.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/prof_ctl.h"
#include "prof/prof.h"
#include "prof/prof_cont.h"
#include "state/ctl.h"
#include "state/shm.h"

int
prof_dump_path(const struct shm *shm, const char *kind, uint64_t session,
    pid_t pid, char *buf, size_t len)
{
	const char *path = shm_path(shm), *slash;
	int dirlen, n;

	if (path == NULL)
		return (-1);
	slash = strrchr(path, '/');
	dirlen = slash == NULL ? 1 : (int)(slash - path);
	n = snprintf(buf, len, "%.*s/%s/%s.%llu.%ld", dirlen,
	    slash == NULL ? "." : path, PROF_DIR, kind,
	    (unsigned long long)session, (long)pid);
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (n);
}

/* ---- handlers ---------------------------------------------------------------- */

static void __attribute__((noinline))
prof_ctl_dump(struct shm *shm, int cmd, uint64_t session, uint64_t *res)
{
	static const char *const kinds[] = {
		[PROF_CMD_CPU_STOP - CTL_CMD_EXT] = PROF_KIND_CPU,
		[PROF_CMD_HEAP_DUMP - CTL_CMD_EXT] = PROF_KIND_HEAP,
		[PROF_CMD_BLOCK_DUMP - CTL_CMD_EXT] = PROF_KIND_BLOCK,
		[PROF_CMD_MUTEX_DUMP - CTL_CMD_EXT] = PROF_KIND_MUTEX,
		[PROF_CMD_STACK - CTL_CMD_EXT] = PROF_KIND_STACK,
	};
	char path[4096];
	uint64_t nrec = 0;
	int err;

	if (prof_dump_path(shm, kinds[cmd - CTL_CMD_EXT], session, getpid(),
	    path, sizeof path) < 0) {
		res[0] = ENAMETOOLONG;
		return;
	}
	switch (cmd) {
	case PROF_CMD_CPU_STOP:
		err = prof_cpu_stop(path, &nrec);
		break;
	case PROF_CMD_HEAP_DUMP:
		err = prof_heap_rate() != 0 ? prof_heap_dump(path, &nrec) : ENOENT;
		break;
	case PROF_CMD_BLOCK_DUMP:
		err = prof_cont_dump(PROF_BLOCK, path, &nrec);
		break;
	case PROF_CMD_MUTEX_DUMP:
		err = prof_cont_dump(PROF_MUTEX, path, &nrec);
		break;
	default:
		/* the stack of the loop that ran us: from ctl_dispatch down */
		err = prof_stack_dump(path, 2, &nrec);
		break;
	}
	res[0] = (uint64_t)err;
	res[1] = nrec;
}

static void __attribute__((noinline))
prof_ctl_handler(struct shm *shm, int slot, int cmd, uint64_t arg,
    uint64_t *res, void *priv)
{
	(void)slot;
	(void)priv;
	switch (cmd) {
	case PROF_CMD_ENABLE:
		prof_enable(arg);
		res[0] = 0;
		res[1] = prof_heap_rate();
		break;
	case PROF_CMD_CPU_START:
		res[0] = (uint64_t)prof_cpu_start((int)(arg >> 32),
		    (int)(arg & 0xffffffffu));
		res[1] = 0;
		break;
	default:
		prof_ctl_dump(shm, cmd, arg, res);
		break;
	}
}

/*
 * Not a constructor: in a static archive a constructor's object is linked
 * only when something else pulls it in, and a program that lost that
 * reference would have run without the handlers, silently (issue 20).
 */
void
prof_ctl_register(void)
{
	static int done;
	static const char *const names[] = {
		"prof-enable", "prof-cpu-start", "prof-cpu-stop",
		"prof-heap-dump", "prof-block-dump", "prof-mutex-dump",
		"prof-stack"
	};
	int cmd;

	if (done)
		return;
	done = 1;
	prof_backtrace_init();
	for (cmd = PROF_CMD_ENABLE; cmd < PROF_CMD__END; cmd++)
		(void)ctl_register(cmd, names[cmd - CTL_CMD_EXT],
		    prof_ctl_handler, NULL);
}
