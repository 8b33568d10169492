/*
 * impcore - impctl status: is the server up, and its processes (from the
 * process table in the state file, checked against /proc).
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "impctl/impctl.h"
#include "lib/buf.h"
#include "lib/tim.h"
#include "state/rtab.h"
#include "state/shm.h"

static int	cli_status_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_status_entry = {
	.name = "status",
	.usage = "[-a] [--json]",
	.help = "server up or down, and its processes",
	.map = CLI_MAP_RO,
	.exec = cli_status_exec,
};

static bool
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

/* One process as a JSON object (numbers, null where the text says "-"). */
static void
cli_status_proc_json(struct buf *b, const struct shm_proc_info *pi,
    uint64_t now)
{
	struct cli_procstat ps;
	char label[32];
	int alive;

	alive = cli_slot_live(pi->state) &&
	    cli_proc_alive(pi->pid, pi->t_start) &&
	    cli_proc_read(pi->pid, &ps) == 0;
	buf_printf(b, "{\"slot\":%d,\"pid\":%ld,\"process\":", pi->slot,
	    (long)pi->pid);
	buf_json_str(b, cli_proc_label(pi->role, pi->index, label, sizeof label));
	buf_adds(b, ",\"role\":");
	buf_json_str(b, shm_role_name(pi->role));
	buf_printf(b, ",\"index\":%d,\"state\":", pi->index);
	buf_json_str(b, cli_slot_live(pi->state) && !alive ? "gone" :
	    shm_pstate_name(pi->state));
	buf_printf(b, ",\"alive\":%s", alive ? "true" : "false");
	if (alive) {
		buf_adds(b, ",\"uptime_s\":");
		buf_json_num(b, now > pi->t_start ? (now - pi->t_start) / 1e9 : 0);
		buf_printf(b, ",\"rss\":%ju,\"cpu_s\":", (uintmax_t)ps.rss);
		buf_json_num(b, ps.cpu_ns / 1e9);
	} else
		buf_adds(b, ",\"uptime_s\":null,\"rss\":null,\"cpu_s\":null");
	buf_adds(b, ",\"heartbeat_age_s\":");
	if (pi->heartbeat == 0)
		buf_adds(b, "null");
	else
		buf_json_num(b, now > pi->heartbeat ?
		    (now - pi->heartbeat) / 1e9 : 0);
	buf_printf(b, ",\"idle\":%s,\"busy\":%d,\"inflight\":%d,"
	    "\"last_words\":", pi->idle ? "true" : "false", pi->busy,
	    pi->inflight);
	if (pi->last_words[0] != '\0') {
		char lw[SHM_LAST_WORDS + 1];

		snprintf(lw, sizeof lw, "%.*s", SHM_LAST_WORDS, pi->last_words);
		buf_json_str(b, lw);
	} else
		buf_adds(b, "null");
	buf_addc(b, '}');
}

/* status --json: one object; every process in the table (as -a). */
static void
cli_status_json(struct cli_ctx *ctx, int up, pid_t master, const char *why,
    uint64_t now)
{
	struct shm_proc_info pi;
	struct shm_geom g;
	struct buf b;
	char ts[48];
	int slot, n = 0;

	shm_geom_get(ctx->shm, &g);
	buf_init(&b);
	buf_printf(&b, "{\"up\":%s,\"master_pid\":", up ? "true" : "false");
	if (up)
		buf_printf(&b, "%ld,\"uptime_s\":", (long)master);
	else
		buf_adds(&b, "null,\"uptime_s\":");
	if (up)
		buf_json_num(&b, (now - shm_birth(ctx->shm)) / 1e9);
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"down_reason\":");
	if (up)
		buf_adds(&b, "null");
	else
		buf_json_str(&b, why);
	buf_adds(&b, ",\"state_file\":{\"path\":");
	buf_json_str(&b, shm_path(ctx->shm));
	buf_printf(&b, ",\"layout\":%u,\"size\":%ju,\"started\":",
	    shm_layout_version(ctx->shm), (uintmax_t)shm_size(ctx->shm));
	if (shm_birth(ctx->shm))
		buf_json_str(&b, tim_rfc3339(shm_birth(ctx->shm), 0, ts, sizeof ts));
	else
		buf_adds(&b, "null");
	buf_printf(&b, "},\"queue\":{\"depth\":%u,\"capacity\":%u,"
	    "\"results\":%u,\"max_points\":%u},\"processes\":[",
	    rtab_queue_depth(ctx->shm), g.queue_size, g.results, g.max_points);
	for (slot = 0; slot < SHM_NPROC; slot++) {
		if (shm_proc_get(ctx->shm, slot, &pi) != 0 ||
		    pi.state == SHM_P_FREE)
			continue;
		if (n++ > 0)
			buf_addc(&b, ',');
		cli_status_proc_json(&b, &pi, now);
	}
	buf_adds(&b, "]}");
	puts(b.p);
	buf_free(&b);
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
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	pid_t master = 0;
	int c, all = 0, json = 0, slot, up;

	while ((c = getopt_long(argc, argv, "a", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	up = cli_master(ctx->shm, &master, why, sizeof why) == 0;
	if (json) {
		cli_status_json(ctx, up, master, why, now);
		return (up ? CLI_EXIT_OK : CLI_EXIT_DOWN);
	}
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
