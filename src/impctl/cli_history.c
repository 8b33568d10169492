/*
 * impcore - impctl history: the profiler's once-a-second samples of every
 * server process (CPU, memory, requests, fits), read from the state file,
 * so they are there after the server died: what the processes did in the
 * minutes before.  Filled only while impsolverd ran with -profile.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impctl/impctl.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/tim.h"
#include "state/phist.h"
#include "state/shm.h"

static int	cli_history_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_history_entry = {
	.name = "history",
	.usage = "[--json] [-n SAMPLES]",
	.help = "the last samples (1 a second) of every process, -profile only",
	.map = CLI_MAP_RO,
	.exec = cli_history_exec,
};

static void
cli_history_text(const struct phist_sample *s, int first)
{
	char ts[48], label[32], rss[32];
	int i;

	if (first)
		printf("%-24s %6s %-11s %8s %5s %7s %9s %7s %12s %10s\n", "time",
		    "queue", "process", "pid", "state", "cpu%", "rss", "threads",
		    "requests", "fitted");
	tim_rfc3339(s->t_real, 0, ts, sizeof ts);
	for (i = 0; i < s->nproc; i++) {
		const struct phist_proc *p = &s->p[i];

		cli_proc_label(p->role, p->index, label, sizeof label);
		cli_fmt_bytes(p->rss, rss, sizeof rss);
		printf("%-24s %6u %-11s %8ld %5c %7.1f %9s %7d %12ju %10ju\n",
		    i == 0 ? ts : "", s->queue_depth, label, (long)p->pid,
		    p->state, p->cpu_pct, rss, p->threads,
		    (uintmax_t)p->c[STAT_http_requests],
		    (uintmax_t)p->c[STAT_spectra_fitted]);
	}
	if (s->left_out > 0)
		printf("%-24s (%d more processes not sampled)\n", "", s->left_out);
}

/*
 * One sample as a JSON object on a line of its own, an element of the
 * array --json prints ("[]" when there is none: still a JSON document).
 */
static void
cli_history_json(const struct phist_sample *s, int first)
{
	char ts[48];
	struct buf b;
	int i;

	buf_init(&b);
	buf_adds(&b, "{\"time\":");
	buf_json_str(&b, tim_rfc3339(s->t_real, 1, ts, sizeof ts));
	buf_printf(&b, ",\"queue_depth\":%u,\"left_out\":%d,\"processes\":[",
	    s->queue_depth, s->left_out);
	for (i = 0; i < s->nproc; i++) {
		const struct phist_proc *p = &s->p[i];

		buf_printf(&b, "%s{\"slot\":%d,\"pid\":%ld,\"role\":", i ? "," : "",
		    p->slot, (long)p->pid);
		buf_json_str(&b, shm_role_name(p->role));
		buf_printf(&b, ",\"index\":%d,\"state\":\"%c\",\"cpu_pct\":",
		    p->index, p->state);
		buf_json_num(&b, p->cpu_pct);
		buf_printf(&b, ",\"rss\":%ju,\"rss_peak\":%ju,\"threads\":%d,"
		    "\"utime_ns\":%ju,\"stime_ns\":%ju,\"http_requests\":%ju,"
		    "\"spectra_fitted\":%ju}", (uintmax_t)p->rss,
		    (uintmax_t)p->rss_peak, p->threads, (uintmax_t)p->utime_ns,
		    (uintmax_t)p->stime_ns, (uintmax_t)p->c[STAT_http_requests],
		    (uintmax_t)p->c[STAT_spectra_fitted]);
	}
	buf_adds(&b, "]}");
	printf("%s\n%s", first ? "" : ",", b.p);
	buf_free(&b);
}

static int
cli_history_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const struct phist *h = shm_phist(ctx->shm);
	struct phist_sample *s;
	char *end;
	int c, n = 10, json = 0, back, shown = 0;

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > PHIST_LEN) {
				cli_err("-n: 1 to %d samples", PHIST_LEN);
				return (CLI_EXIT_USAGE);
			}
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
	if (h == NULL) {
		cli_err("%s: no history section this build can read",
		    shm_path(ctx->shm));
		return (CLI_EXIT_FAIL);
	}
	s = imp_malloc(sizeof *s);
	if (json)
		printf("[");
	/* oldest first, as a log reads */
	for (back = n - 1; back >= 0; back--) {
		if (phist_read(h, back, s) != 0)
			continue;
		if (json)
			cli_history_json(s, shown == 0);
		else
			cli_history_text(s, shown == 0);
		shown++;
	}
	imp_free(s);
	if (json)
		printf("\n]\n");
	else if (shown == 0)
		printf("no samples (the profiler samples only with -profile)\n");
	return (CLI_EXIT_OK);
}
