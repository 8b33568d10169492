/*
 * impcore - impctl: the admin stats CLI; option parsing, the command table,
 * shared message and number formats.
 *
 * Commands are rows of cli_cmds[] (one struct cli_cmd per cli_*.c file,
 * like tmux's cmd_table[]).  The state file is mapped here for the
 * read-only commands, so a missing, foreign or incompatible file is one
 * clear message and exit status 2 whatever the command.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impctl/impctl.h"
#include "lib/mem.h"
#include "state/shm.h"
#include "state/state.h"

#define CLI_DEFAULT_DIR		"/var/lib/impsolverd"

static const struct cli_cmd *const cli_cmds[] = {
	&cli_status_entry,
	&cli_stats_entry,
	&cli_top_entry,
	&cli_history_entry,
	&cli_batches_entry,
	&cli_batch_entry,
	&cli_webhooks_entry,
	&cli_webhook_retry_entry,
	&cli_reload_entry,
	&cli_stop_entry,
};
#define CLI_NCMDS	(sizeof cli_cmds / sizeof cli_cmds[0])

/*==================================================================== messages */

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("impctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage(const struct cli_ctx *ctx)
{
	fprintf(stderr, "usage: impctl [-d state-dir] %s%s%s\n",
	    ctx->cmd->name, *ctx->cmd->usage ? " " : "", ctx->cmd->usage);
	return (CLI_EXIT_USAGE);
}

static void
cli_help(FILE *f)
{
	size_t i;
	char head[64];

	fprintf(f,
	    "usage: impctl [-d state-dir] command [options]\n"
	    "\n"
	    "Reads the state file of impsolverd (<state-dir>/%s) without\n"
	    "taking any lock: works under load and after the server died.\n"
	    "\n"
	    "  -d, --state-dir=DIR  state directory (default: $IMPCTL_STATE_DIR,\n"
	    "                       else %s)\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        version\n"
	    "\n"
	    "commands:\n", SHM_FILE, CLI_DEFAULT_DIR);
	for (i = 0; i < CLI_NCMDS; i++) {
		snprintf(head, sizeof head, "%s %s", cli_cmds[i]->name,
		    cli_cmds[i]->usage);
		/* a long synopsis gets its help on the next line */
		if (strlen(head) > 28)
			fprintf(f, "  %s\n  %-28s %s\n", head, "",
			    cli_cmds[i]->help);
		else
			fprintf(f, "  %-28s %s\n", head, cli_cmds[i]->help);
	}
	fprintf(f, "\nexit status: 0 ok, 1 command failed, 2 usage error or "
	    "unusable state file,\n3 server not running (status, reload, stop).  "
	    "See impctl(1).\n");
}

/* The usage line and the command names (a usage error: --help says more). */
static void
cli_brief(FILE *f)
{
	size_t i;

	fprintf(f, "usage: impctl [-d state-dir] command [options]\ncommands:");
	for (i = 0; i < CLI_NCMDS; i++)
		fprintf(f, " %s", cli_cmds[i]->name);
	fprintf(f, "\n(impctl --help for more)\n");
}

/*===================================================================== formats */

char *
cli_fmt_dur(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (ns == 0)
		snprintf(buf, len, "-");
	else if (s >= 86400)
		snprintf(buf, len, "%jud%02juh", (uintmax_t)(s / 86400),
		    (uintmax_t)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%juh%02jum", (uintmax_t)(s / 3600),
		    (uintmax_t)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%jum%02jus", (uintmax_t)(s / 60),
		    (uintmax_t)(s % 60));
	else if (ns >= 1000000000ull)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else
		snprintf(buf, len, "%jums", (uintmax_t)(ns / 1000000ull));
	return (buf);
}

char *
cli_fmt_age(uint64_t real_ns, uint64_t now, char *buf, size_t len)
{
	char d[32];

	if (real_ns == 0)
		snprintf(buf, len, "-");
	else if (real_ns > now)
		snprintf(buf, len, "in %s", cli_fmt_dur(real_ns - now, d, sizeof d));
	else if (now - real_ns < 1000000ull)
		snprintf(buf, len, "now");
	else
		snprintf(buf, len, "%s ago", cli_fmt_dur(now - real_ns, d, sizeof d));
	return (buf);
}

char *
cli_fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double d = (double)v;
	int u = -1;

	while (d >= 1024 && u < (int)sizeof units - 2) {
		d /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%ju", (uintmax_t)v);
	else
		snprintf(buf, len, "%.*f%c", d < 10 ? 1 : 0, d, units[u]);
	return (buf);
}

char *
cli_fmt_ns(double ns, char *buf, size_t len)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return (buf);
}

/*======================================================================== main */

/*
 * Exact name, else a unique prefix (tmux accepts both).  NULL when unknown
 * or ambiguous; the message is printed here.
 */
static const struct cli_cmd *
cli_find(const char *name)
{
	const struct cli_cmd *found = NULL;
	size_t i, n = strlen(name);
	int matches = 0;

	for (i = 0; i < CLI_NCMDS; i++) {
		if (strcmp(cli_cmds[i]->name, name) == 0)
			return (cli_cmds[i]);
		if (n > 0 && strncmp(cli_cmds[i]->name, name, n) == 0) {
			found = cli_cmds[i];
			matches++;
		}
	}
	if (matches == 1)
		return (found);
	cli_err("%s command: %s", matches ? "ambiguous" : "unknown", name);
	return (NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_ctx ctx;
	char *cause = NULL;
	int c, rc;

	memset(&ctx, 0, sizeof ctx);
	ctx.state_dir = getenv("IMPCTL_STATE_DIR");
	if (ctx.state_dir == NULL || *ctx.state_dir == '\0')
		ctx.state_dir = CLI_DEFAULT_DIR;

	/* '+': stop at the command, whose options are its own */
	while ((c = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctx.state_dir = optarg;
			break;
		case 'h':
			cli_help(stdout);
			return (CLI_EXIT_OK);
		case 'V':
			printf("impctl %s\n", PACKAGE_VERSION);
			return (CLI_EXIT_OK);
		default:
			cli_brief(stderr);
			return (CLI_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		cli_brief(stderr);
		return (CLI_EXIT_USAGE);
	}
	if ((ctx.cmd = cli_find(argv[0])) == NULL) {
		cli_brief(stderr);
		return (CLI_EXIT_USAGE);
	}
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("usage: impctl [-d state-dir] %s %s\n%s\n",
		    ctx.cmd->name, ctx.cmd->usage, ctx.cmd->help);
		return (CLI_EXIT_OK);
	}

	if (ctx.cmd->map == CLI_MAP_RO &&
	    state_open_ro(ctx.state_dir, &ctx.shm, &cause) != 0) {
		cli_err("%s", cause != NULL ? cause : "cannot open the state file");
		imp_free(cause);
		return (CLI_EXIT_USAGE);
	}
	/* each command parses its own options from argv[0] on */
	optind = 0;
	rc = ctx.cmd->exec(&ctx, argc, argv);
	if (ctx.shm != NULL)
		shm_close(ctx.shm);
	if (fflush(stdout) != 0 && errno != EPIPE) {
		cli_err("writing the output: %s", strerror(errno));
		return (CLI_EXIT_FAIL);
	}
	return (rc);
}
