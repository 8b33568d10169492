/*
 * impcore - impctl status: is the server up, and its processes (from the
 * process table in the state file, checked against /proc).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/rtab.h"
#include "common/shm.h"
#include "common/tim.h"
#include "impctl/impctl.h"

static int	cli_status_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_status_entry = {
	.name = "status",
	.usage = "[-a]",
	.help = "server up or down, and its processes",
	.map = CLI_MAP_RO,
	.exec = cli_status_exec,
};

static int
cli_slot_live(enum shm_pstate st)
{
	return (st == SHM_P_STARTING || st == SHM_P_RUNNING ||
	    st == SHM_P_DRAINING);
}

static void
cli_status_proc(const struct shm_proc_info *pi, uint64_t now, int all)
{
	struct cli_procstat ps;
	char up[32], rss[32], cpu[32], hb[32], state[32], label[32];
	int alive;

	alive = cli_slot_live(pi->state) &&
	    cli_proc_alive(pi->pid, pi->t_start) &&
	    cli_proc_read(pi->pid, &ps) == 0;
	if (!alive && !all && pi->state == SHM_P_DEAD)
		return;
	if (cli_slot_live(pi->state) && !alive)
		/* the file says running but the process is gone: a post-mortem */
		snprintf(state, sizeof state, "gone");
	else
		snprintf(state, sizeof state, "%s", shm_pstate_name(pi->state));
	if (alive) {
		cli_fmt_dur(now > pi->t_start ? now - pi->t_start : 0, up, sizeof up);
		cli_fmt_bytes(ps.rss, rss, sizeof rss);
		snprintf(cpu, sizeof cpu, "%.2fs", ps.cpu_ns / 1e9);
	} else {
		snprintf(up, sizeof up, "-");
		snprintf(rss, sizeof rss, "-");
		snprintf(cpu, sizeof cpu, "-");
	}
	cli_fmt_age(pi->heartbeat, now, hb, sizeof hb);
	printf("%4d %8ld %-11s %-9s %9s %7s %9s %12s %4s %4d %8d\n", pi->slot,
	    (long)pi->pid, cli_proc_label(pi->role, pi->index, label, sizeof label),
	    state, up, rss, cpu, hb, pi->idle ? "yes" : "no", pi->busy,
	    pi->inflight);
	if (all && pi->last_words[0] != '\0' && !alive)
		printf("%13s last words: %.*s\n", "", SHM_LAST_WORDS,
		    pi->last_words);
}

/*
 * Exit 0 when the master is running, CLI_EXIT_DOWN when not: the table is
 * printed either way (after a crash it is the post-mortem).
 */
static int
cli_status_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct shm_proc_info pi;
	struct shm_geom g;
	char why[160], buf[64], size[32];
	uint64_t now = tim_real();
	pid_t master;
	int c, all = 0, slot, up;

	while ((c = getopt(argc, argv, "a")) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	up = cli_master(ctx->shm, &master, why, sizeof why) == 0;
	if (up)
		printf("server up: master pid %ld, up %s\n", (long)master,
		    cli_fmt_dur(now - shm_birth(ctx->shm), buf, sizeof buf));
	else
		printf("server down (%s)\n", why);
	shm_geom_get(ctx->shm, &g);
	printf("state file %s: layout %u, %s, started %s\n",
	    shm_path(ctx->shm), shm_layout_version(ctx->shm),
	    cli_fmt_bytes(shm_size(ctx->shm), size, sizeof size),
	    shm_birth(ctx->shm) ?
	    tim_rfc3339(shm_birth(ctx->shm), 0, buf, sizeof buf) : "-");
	printf("queue: %u queued or running (capacity %u), results kept %u, "
	    "max points %u\n\n", rtab_queue_depth(ctx->shm), g.queue_size,
	    g.results, g.max_points);

	printf("%4s %8s %-11s %-9s %9s %7s %9s %12s %4s %4s %8s\n", "SLOT",
	    "PID", "PROCESS", "STATE", "UPTIME", "RSS", "CPU", "HEARTBEAT",
	    "IDLE", "BUSY", "INFLIGHT");
	for (slot = 0; slot < SHM_NPROC; slot++) {
		if (shm_proc_get(ctx->shm, slot, &pi) != 0 ||
		    pi.state == SHM_P_FREE)
			continue;
		cli_status_proc(&pi, now, all);
	}
	return (up ? CLI_EXIT_OK : CLI_EXIT_DOWN);
}
