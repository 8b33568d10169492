/*
 * impcore - impctl reload and stop: signal the master whose pid the state
 * file records, after checking that pid is alive, started with the file's
 * master and is impsolverd (a dead server's pid may belong to anything by
 * now).  One table maps the verbs to signals.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "impctl/impctl.h"
#include "lib/tim.h"
#include "state/shm.h"

static int	cli_signal_exec(struct cli_ctx *, int, char **);

static const struct {
	const char	*verb;
	int		signo;
	const char	*signame;
	const char	*done;
} cli_signals[] = {
	{ "reload",	SIGHUP,		"SIGHUP",
	    "reloading (config re-read, workers replaced one at a time)" },
	{ "stop",	SIGTERM,	"SIGTERM",
	    "stopping (in-flight requests and fits finish first)" },
};

const struct cli_cmd cli_reload_entry = {
	.name = "reload",
	.usage = "",
	.help = "SIGHUP: re-read the config, replace workers",
	.map = CLI_MAP_RO,
	.exec = cli_signal_exec,
};

const struct cli_cmd cli_stop_entry = {
	.name = "stop",
	.usage = "[-w] [-t SECONDS]",
	.help = "SIGTERM (-w: wait until every process exited)",
	.map = CLI_MAP_RO,
	.exec = cli_signal_exec,
};

/* Processes of the table still alive (the master included). */
static int
cli_signal_alive(const struct shm *shm)
{
	struct shm_proc_info pi;
	int slot, n = 0;

	if (cli_proc_alive(shm_master_pid(shm), shm_birth(shm)))
		n++;
	for (slot = 0; slot < SHM_NPROC; slot++) {
		if (shm_proc_get(shm, slot, &pi) != 0 ||
		    pi.state == SHM_P_FREE || pi.state == SHM_P_DEAD ||
		    pi.pid == shm_master_pid(shm))
			continue;
		if (cli_proc_alive(pi.pid, pi.t_start))
			n++;
	}
	return (n);
}

static int
cli_signal_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	char why[160], *end;
	uint64_t deadline;
	double timeout = 60;
	size_t i;
	pid_t master;
	int c, wait = 0, stop = ctx->cmd == &cli_stop_entry;

	for (i = 0; i < sizeof cli_signals / sizeof cli_signals[0]; i++)
		if (strcmp(cli_signals[i].verb, ctx->cmd->name) == 0)
			break;
	if (i == sizeof cli_signals / sizeof cli_signals[0])
		abort();	/* a command entry without its row: a bug */
	while ((c = getopt(argc, argv, stop ? "wt:" : "")) != -1) {
		switch (c) {
		case 'w':
			wait = 1;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end != '\0' || !(timeout >= 0))
				return (cli_usage(ctx));
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	if (cli_master(ctx->shm, &master, why, sizeof why) != 0) {
		cli_err("server not running: %s", why);
		return (CLI_EXIT_DOWN);
	}
	if (kill(master, cli_signals[i].signo) != 0) {
		cli_err("kill(%ld, %s): %s", (long)master, cli_signals[i].signame,
		    strerror(errno));
		return (CLI_EXIT_FAIL);
	}
	printf("sent %s to impsolverd master pid %ld: %s\n",
	    cli_signals[i].signame, (long)master, cli_signals[i].done);
	if (!wait)
		return (CLI_EXIT_OK);

	deadline = tim_mono() + (uint64_t)(timeout * 1e9);
	while (cli_signal_alive(ctx->shm) > 0) {
		if (tim_mono() >= deadline) {
			cli_err("still running after %gs", timeout);
			return (CLI_EXIT_FAIL);
		}
		nanosleep(&tick, NULL);
	}
	printf("impsolverd stopped\n");
	return (CLI_EXIT_OK);
}
