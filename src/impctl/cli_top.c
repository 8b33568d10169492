/*
 * impcore - impctl top: a live view of rates per second (requests, fits,
 * fit time percentiles over the last interval, queue, webhooks) and of
 * every process, refreshed every -i seconds.
 *
 * Plain ANSI escapes, no curses: home the cursor, rewrite each line and
 * clear what is left of it, so nothing flickers.  On a terminal the input
 * is switched to non-canonical mode (one key at a time, no echo) and put
 * back on every way out: 'q', -n frames done, SIGINT/SIGTERM/SIGHUP, and
 * around a suspend (^Z).  Without a terminal (a pipe, -n in a script) the
 * frames are printed one after the other, without escapes.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "impctl/impctl.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "state/rtab.h"
#include "state/shm.h"

static int	cli_top_exec(struct cli_ctx *, int, char **);

const struct cli_cmd cli_top_entry = {
	.name = "top",
	.usage = "[-i SECONDS] [-n FRAMES] [--json]",
	.help = "live rates: requests, fits, queue, webhooks",
	.map = CLI_MAP_RO,
	.exec = cli_top_exec,
};

static volatile sig_atomic_t	cli_top_quit;
static volatile sig_atomic_t	cli_top_winch;
static volatile sig_atomic_t	cli_top_tstp;

static struct termios		cli_top_saved;
static int			cli_top_raw;	/* terminal changed: restore it */

/* What /proc said of a slot's process at the last sample (CPU% needs two). */
struct cli_top_cpu {
	pid_t		pid;		/* 0: not sampled (gone) */
	uint64_t	cpu_ns;
	uint64_t	t_mono;
	double		pct;		/* < 0: no second sample yet */
	uint64_t	rss;
};

struct cli_top {
	const struct shm	*shm;
	int			tty;
	int			rows, cols;
	int			nlines;		/* lines of the frame so far */
	struct cli_snap		*cur, *prev;	/* prev NULL on the first frame */
	struct cli_top_cpu	cpu[SHM_NPROC];
	struct buf		out;
};

/*==================================================================== terminal */

static void
cli_top_signal(int sig)
{
	switch (sig) {
	case SIGWINCH:
		cli_top_winch = 1;
		break;
	case SIGTSTP:
		cli_top_tstp = 1;
		break;
	default:
		cli_top_quit = 1;
		break;
	}
}

/* Quit signals always; resize and ^Z only matter on a terminal. */
static void
cli_top_handlers(int tty)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
	    SIGWINCH, SIGTSTP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cli_top_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() must return on a signal */
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (tty || (sigs[i] != SIGWINCH && sigs[i] != SIGTSTP))
			sigaction(sigs[i], &sa, NULL);
	/* a reader that goes away is a write error, not a death */
	signal(SIGPIPE, SIG_IGN);
}

/* Leave the terminal as we found it (idempotent; also from atexit). */
static void
cli_top_restore(void)
{
	static const char leave[] = "\033[?25h\033[?1049l";

	if (!cli_top_raw)
		return;
	cli_top_raw = 0;
	/* write(), not stdio: may run with stdout in any state */
	if (write(STDOUT_FILENO, leave, sizeof leave - 1) < 0)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_top_saved);
}

/* Keys one at a time without echo; alternate screen, cursor hidden. */
static int
cli_top_enter(void)
{
	static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &cli_top_saved) != 0)
		return (-1);
	t = cli_top_saved;
	/* ISIG stays: ^C is SIGINT, ^Z SIGTSTP, both handled */
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0)
		return (-1);
	cli_top_raw = 1;
	if (write(STDOUT_FILENO, enter, sizeof enter - 1) < 0)
		return (-1);
	return (0);
}

static void
cli_top_size(struct cli_top *t)
{
	struct winsize ws;

	t->rows = 24;
	t->cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
}

/* ^Z: give the terminal back, stop, and take it again when continued. */
static void
cli_top_suspend(void)
{
	cli_top_restore();
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);
	/* continued */
	cli_top_handlers(1);
	cli_top_enter();
}

/*======================================================================= frame */

/* One line of the frame, cut to the terminal's width. */
static void __attribute__((format(printf, 2, 3)))
cli_top_line(struct cli_top *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	if (t->tty && n > t->cols)
		n = t->cols;
	buf_add(&t->out, line, (size_t)n);
	t->nlines++;
	/* clear the rest of the old, maybe longer, line */
	buf_adds(&t->out, t->tty ? "\033[K\n" : "\n");
}

static uint64_t
cli_top_delta(uint64_t cur, uint64_t prev)
{
	/* a recreated state file starts again from 0 */
	return (cur >= prev ? cur - prev : 0);
}

/* Rate per second of counter id between the two snapshots, as text. */
static char *
cli_top_rate(const struct cli_top *t, const uint64_t *cur, const uint64_t *prev,
    enum stat_id id, char *buf, size_t len)
{
	double dt;

	if (prev == NULL) {
		snprintf(buf, len, "-");
		return (buf);
	}
	dt = (double)(t->cur->t_mono - t->prev->t_mono) / 1e9;
	snprintf(buf, len, "%.1f", dt > 0 ?
	    (double)cli_top_delta(cur[id], prev[id]) / dt : 0.0);
	return (buf);
}

/*
 * Quantile q of histogram h over the interval (cur - prev); the whole
 * history on the first frame.  *n gets the number of samples.
 */
static double
cli_top_quantile(const uint64_t cur[STAT_HIST_BUCKETS],
    const uint64_t *prev, double q, uint64_t *n)
{
	uint64_t d[STAT_HIST_BUCKETS];
	int i;

	*n = 0;
	for (i = 0; i < STAT_HIST_BUCKETS; i++) {
		d[i] = prev != NULL ? cli_top_delta(cur[i], prev[i]) : cur[i];
		*n += d[i];
	}
	return (stat_hist_quantile(d, q));
}

struct cli_top_wh {
	int	pending, inflight, failed;
};

static int
cli_top_wh_batch(const struct rtab_batch_info *bi, void *arg)
{
	struct cli_top_wh *w = arg;

	w->pending += bi->wh_pending;
	w->inflight += bi->wh_inflight;
	w->failed += bi->wh_failed;
	return (0);
}

/* Sample /proc for every live process: RSS, and CPU% since the last sample. */
static void
cli_top_sample(struct cli_top *t)
{
	const struct cli_snap_proc *p;
	struct cli_top_cpu *c;
	struct cli_procstat ps;
	int k;

	for (k = 0; k < t->cur->nproc; k++) {
		p = &t->cur->p[k];
		c = &t->cpu[p->pi.slot];
		if (!cli_snap_live(p) || !cli_proc_alive(p->pi.pid, p->pi.t_start) ||
		    cli_proc_read(p->pi.pid, &ps) != 0) {
			c->pid = 0;
			continue;
		}
		if (c->pid == p->pi.pid && t->cur->t_mono > c->t_mono)
			c->pct = 100.0 * (double)cli_top_delta(ps.cpu_ns,
			    c->cpu_ns) / (double)(t->cur->t_mono - c->t_mono);
		else
			c->pct = -1;
		c->pid = p->pi.pid;
		c->cpu_ns = ps.cpu_ns;
		c->t_mono = t->cur->t_mono;
		c->rss = ps.rss;
	}
}

/* The per-process table, in at most room lines. */
static void
cli_top_procs(struct cli_top *t, int room)
{
	const struct cli_snap_proc *p, *pp;
	const struct cli_top_cpu *c;
	char label[32], rss[16], cpu[16], req[16], fits[16], p50[16], hb[32];
	uint64_t now = tim_real(), n;
	int k, shown = 0, live = 0;

	cli_top_line(t, "%8s %-11s %-9s %6s %7s %8s %8s %9s %4s %4s %10s",
	    "PID", "PROCESS", "STATE", "CPU%", "RSS", "REQ/s", "FITS/s",
	    "FIT_P50", "BUSY", "INFL", "HEARTBEAT");
	for (k = 0; k < t->cur->nproc; k++) {
		p = &t->cur->p[k];
		if (!cli_snap_live(p))
			continue;
		live++;
		if (shown >= room - 2)
			continue;
		/* the same slot in the previous snapshot, if the same process */
		pp = t->prev != NULL && k < t->prev->nproc ? &t->prev->p[k] : NULL;
		if (pp != NULL && (pp->pi.slot != p->pi.slot ||
		    pp->pi.pid != p->pi.pid))
			pp = NULL;
		c = &t->cpu[p->pi.slot];
		snprintf(rss, sizeof rss, "-");
		snprintf(cpu, sizeof cpu, "-");
		if (c->pid == p->pi.pid) {
			cli_fmt_bytes(c->rss, rss, sizeof rss);
			if (c->pct >= 0)
				snprintf(cpu, sizeof cpu, "%.1f", c->pct);
		}
		cli_top_rate(t, p->c, pp != NULL ? pp->c : NULL,
		    STAT_http_requests, req, sizeof req);
		cli_top_rate(t, p->c, pp != NULL ? pp->c : NULL,
		    STAT_spectra_fitted, fits, sizeof fits);
		cli_fmt_ns(cli_top_quantile(p->h[STAT_H_fit_time],
		    pp != NULL ? pp->h[STAT_H_fit_time] : NULL, 0.5, &n), p50,
		    sizeof p50);
		cli_top_line(t, "%8ld %-11s %-9s %6s %7s %8s %8s %9s %4d %4d %10s",
		    (long)p->pi.pid, cli_proc_label(p->pi.role, p->pi.index,
		    label, sizeof label), c->pid == p->pi.pid ?
		    shm_pstate_name(p->pi.state) : "gone", cpu, rss, req, fits,
		    n > 0 ? p50 : "-", p->pi.busy, p->pi.inflight,
		    cli_fmt_age(p->pi.heartbeat, now, hb, sizeof hb));
		shown++;
	}
	if (live == 0)
		cli_top_line(t, "(no live process in the table)");
	else if (shown < live)
		cli_top_line(t, "(%d more: a taller terminal shows them)",
		    live - shown);
}

static void
cli_top_frame(struct cli_top *t, double interval)
{
	const uint64_t *pc = t->prev != NULL ? t->prev->c : NULL;
	const struct cli_snap *s = t->cur;
	struct cli_top_wh wh;
	struct shm_geom g;
	char why[160], state[200], up[32], clock[16], q[3][16];
	char r1[16], r2[16], r3[16], r4[16], r5[16];
	uint64_t n;
	time_t now = time(NULL);
	struct tm tm;
	pid_t master;
	int busy = 0, workers = 0, k;

	buf_reset(&t->out);
	t->nlines = 0;
	if (t->tty)
		buf_adds(&t->out, "\033[H");
	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	if (cli_master(t->shm, &master, why, sizeof why) == 0)
		snprintf(state, sizeof state, "server up, master pid %ld, up %s",
		    (long)master, cli_fmt_dur(tim_real() - shm_birth(t->shm), up,
		    sizeof up));
	else
		snprintf(state, sizeof state, "server down (%s)", why);
	cli_top_line(t, "impctl top - %s - %s - every %.1fs - %s%s", clock, state,
	    interval, shm_path(t->shm), t->tty ? " ('q' quits)" : "");
	cli_top_line(t, "%s", "");

	for (k = 0; k < s->nproc; k++)
		if (cli_snap_live(&s->p[k]) && s->p[k].pi.role == SHM_ROLE_WORKER) {
			workers++;
			busy += s->p[k].pi.busy != 0;
		}
	cli_top_line(t, "requests  %s/s   4xx %s/s   5xx %s/s   503 full %s/s   "
	    "in flight %ju", cli_top_rate(t, s->c, pc, STAT_http_requests, r1,
	    sizeof r1), cli_top_rate(t, s->c, pc, STAT_http_4xx, r2, sizeof r2),
	    cli_top_rate(t, s->c, pc, STAT_http_5xx, r3, sizeof r3),
	    cli_top_rate(t, s->c, pc, STAT_http_rejected_full, r4, sizeof r4),
	    (uintmax_t)s->c[STAT_http_inflight]);
	cli_top_line(t, "spectra   fitted %s/s   accepted %s/s   sync %s/s   "
	    "failed %s/s   cancelled %s/s", cli_top_rate(t, s->c, pc,
	    STAT_spectra_fitted, r1, sizeof r1), cli_top_rate(t, s->c, pc,
	    STAT_spectra_accepted, r2, sizeof r2), cli_top_rate(t, s->c, pc,
	    STAT_spectra_sync, r3, sizeof r3), cli_top_rate(t, s->c, pc,
	    STAT_spectra_failed, r4, sizeof r4), cli_top_rate(t, s->c, pc,
	    STAT_spectra_cancelled, r5, sizeof r5));
	cli_fmt_ns(cli_top_quantile(s->h[STAT_H_fit_time],
	    t->prev != NULL ? t->prev->h[STAT_H_fit_time] : NULL, 0.50, &n),
	    q[0], sizeof q[0]);
	cli_fmt_ns(cli_top_quantile(s->h[STAT_H_fit_time],
	    t->prev != NULL ? t->prev->h[STAT_H_fit_time] : NULL, 0.90, &n),
	    q[1], sizeof q[1]);
	cli_fmt_ns(cli_top_quantile(s->h[STAT_H_fit_time],
	    t->prev != NULL ? t->prev->h[STAT_H_fit_time] : NULL, 0.99, &n),
	    q[2], sizeof q[2]);
	if (n > 0)
		cli_top_line(t, "fit time  p50 %s   p90 %s   p99 %s   (%ju fits %s)",
		    q[0], q[1], q[2], (uintmax_t)n, t->prev != NULL ?
		    "in the interval" : "since start");
	else
		cli_top_line(t, "fit time  p50 -   p90 -   p99 -   (no fit %s)",
		    t->prev != NULL ? "in the interval" : "yet");
	shm_geom_get(t->shm, &g);
	cli_top_line(t, "queue     %u queued or running (capacity %u)   "
	    "workers busy %d of %d", rtab_queue_depth(t->shm), g.queue_size,
	    busy, workers);
	memset(&wh, 0, sizeof wh);
	rtab_batch_foreach(t->shm, cli_top_wh_batch, &wh);
	cli_top_line(t, "webhooks  to deliver %d   in flight %d   failed %d   "
	    "delivered %s/s   retried %s/s   gave up %s/s", wh.pending,
	    wh.inflight, wh.failed, cli_top_rate(t, s->c, pc,
	    STAT_webhook_delivered, r1, sizeof r1), cli_top_rate(t, s->c, pc,
	    STAT_webhook_retried, r2, sizeof r2), cli_top_rate(t, s->c, pc,
	    STAT_webhook_failed, r3, sizeof r3));
	cli_top_line(t, "%s", "");
	cli_top_procs(t, t->tty ? t->rows - t->nlines : SHM_NPROC + 2);
	if (t->tty)
		buf_adds(&t->out, "\033[J");	/* clear below the frame */
	else
		buf_addc(&t->out, '\n');
}

/*======================================================================== loop */

/*
 * Wait until deadline (monotonic ns) for a key or a signal.  Returns 1 to
 * quit, 0 when the frame is due (or must be redrawn at once: *redraw).
 */
static int
cli_top_wait(struct cli_top *t, uint64_t deadline, int *stdin_open,
    int *redraw)
{
	struct pollfd pfd;
	char keys[64];
	uint64_t now;
	ssize_t n, i;
	int ms;

	*redraw = 0;
	for (;;) {
		if (cli_top_quit)
			return (1);
		if (cli_top_tstp) {
			cli_top_tstp = 0;
			if (t->tty)
				cli_top_suspend();
			*redraw = 1;
			return (0);
		}
		if (cli_top_winch) {
			cli_top_winch = 0;
			cli_top_size(t);
			*redraw = 1;
			return (0);
		}
		now = tim_mono();
		if (now >= deadline)
			return (0);
		ms = (int)((deadline - now + 999999) / 1000000);
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* fd -1 is ignored by poll: stdin at EOF is not a busy loop */
		if (!*stdin_open)
			pfd.fd = -1;
		if (poll(&pfd, 1, ms) <= 0)
			continue;	/* timeout or EINTR: look at the flags */
		n = read(STDIN_FILENO, keys, sizeof keys);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			*stdin_open = 0;
			continue;
		}
		for (i = 0; i < n; i++)
			if (keys[i] == 'q' || keys[i] == 'Q')
				return (1);
	}
}

/* Draw the frame of t->cur (and t->prev); -1 when stdout is gone. */
static int
cli_top_show(struct cli_top *t, double interval)
{
	cli_top_frame(t, interval);
	if (fwrite(t->out.p, 1, t->out.len, stdout) != t->out.len ||
	    fflush(stdout) != 0)
		return (-1);
	return (0);
}

/*
 * top --json: one snapshot as a JSON object, the rates over one interval
 * (two samples -i apart): queue, webhooks, each counter per second (gauges
 * as they are) and each live process's CPU% and RSS.  For scripts; no
 * terminal is touched.
 */
static int
cli_top_json(struct cli_top *t, struct cli_snap *snap[2], double interval)
{
	const struct cli_snap_proc *p;
	const struct cli_top_cpu *c;
	struct cli_top_wh wh;
	struct shm_geom g;
	struct timespec ts;
	struct buf b;
	char label[32];
	double dt;
	int k, i, n = 0;

	t->cur = snap[0];
	cli_snap_take(t->shm, t->cur);
	cli_top_sample(t);
	ts.tv_sec = (time_t)interval;
	ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
	t->prev = t->cur;
	t->cur = snap[1];
	cli_snap_take(t->shm, t->cur);
	cli_top_sample(t);
	dt = (double)(t->cur->t_mono - t->prev->t_mono) / 1e9;

	memset(&wh, 0, sizeof wh);
	rtab_batch_foreach(t->shm, cli_top_wh_batch, &wh);
	shm_geom_get(t->shm, &g);
	buf_init(&b);
	buf_adds(&b, "{\"interval_s\":");
	buf_json_num(&b, dt);
	buf_printf(&b, ",\"queue\":{\"depth\":%u,\"capacity\":%u},"
	    "\"webhooks\":{\"pending\":%d,\"inflight\":%d,\"failed\":%d},"
	    "\n\"rates\":{", rtab_queue_depth(t->shm), g.queue_size,
	    wh.pending, wh.inflight, wh.failed);
	for (i = 0; i < STAT__N; i++) {
		buf_adds(&b, i ? "," : "");
		buf_json_str(&b, stat_name[i]);
		buf_addc(&b, ':');
		if (stat_kinds[i] == STAT_GAUGE)
			buf_json_int(&b, (long long)t->cur->c[i]);
		else
			buf_json_num(&b, dt > 0 ? (double)cli_top_delta(
			    t->cur->c[i], t->prev->c[i]) / dt : 0.0);
	}
	buf_adds(&b, "},\n\"processes\":[");
	for (k = 0; k < t->cur->nproc; k++) {
		p = &t->cur->p[k];
		c = &t->cpu[p->pi.slot];
		if (!cli_snap_live(p) || c->pid != p->pi.pid)
			continue;
		buf_printf(&b, "%s{\"slot\":%d,\"pid\":%ld,\"process\":",
		    n++ ? "," : "", p->pi.slot, (long)p->pi.pid);
		buf_json_str(&b, cli_proc_label(p->pi.role, p->pi.index, label,
		    sizeof label));
		buf_adds(&b, ",\"state\":");
		buf_json_str(&b, shm_pstate_name(p->pi.state));
		buf_adds(&b, ",\"cpu_pct\":");
		if (c->pct >= 0)
			buf_json_num(&b, c->pct);
		else
			buf_adds(&b, "null");
		buf_printf(&b, ",\"rss\":%ju,\"busy\":%d,\"inflight\":%d}",
		    (uintmax_t)c->rss, p->pi.busy, p->pi.inflight);
	}
	buf_adds(&b, "]}");
	puts(b.p);
	buf_free(&b);
	return (fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL);
}

static int
cli_top_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_top t;
	struct cli_snap *snap[2];
	double interval = 1;
	long frames = 0, done = 0;
	uint64_t deadline;
	char *end;
	int c, i = 0, stdin_open = 1, redraw, rc = CLI_EXIT_OK, json = 0;

	while ((c = getopt_long(argc, argv, "i:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end != '\0' || !(interval >= 0.1 && interval <= 3600)) {
				cli_err("-i: an interval from 0.1 to 3600 seconds");
				return (cli_usage(ctx));
			}
			break;
		case 'n':
			frames = strtol(optarg, &end, 10);
			if (*end != '\0' || frames < 1)
				return (cli_usage(ctx));
			break;
		default:
			return (cli_usage(ctx));
		}
	}
	if (optind != argc)
		return (cli_usage(ctx));

	memset(&t, 0, sizeof t);
	t.shm = ctx->shm;
	snap[0] = imp_malloc(sizeof *snap[0]);
	snap[1] = imp_malloc(sizeof *snap[1]);
	buf_init(&t.out);
	if (json) {
		rc = cli_top_json(&t, snap, interval);
		goto out;
	}
	cli_top_quit = cli_top_winch = cli_top_tstp = 0;
	t.tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	cli_top_handlers(t.tty);
	if (t.tty) {
		atexit(cli_top_restore);
		if (cli_top_enter() != 0) {
			cli_top_restore();
			t.tty = 0;
		}
		cli_top_size(&t);
	}

	deadline = tim_mono();
	for (;;) {
		/* two snapshots in turn: the one shown is the next one's base */
		t.cur = snap[i];
		cli_snap_take(ctx->shm, t.cur);
		cli_top_sample(&t);
		if (cli_top_show(&t, interval) != 0) {
			rc = CLI_EXIT_FAIL;	/* the reader went away */
			break;
		}
		if (frames > 0 && ++done >= frames)
			break;
		deadline += (uint64_t)(interval * 1e9);
		do {
			if (cli_top_wait(&t, deadline, &stdin_open, &redraw))
				goto out;
			/* resized or continued: the same data again, at once */
			if (redraw && cli_top_show(&t, interval) != 0)
				goto out;
		} while (redraw);
		t.prev = t.cur;
		i ^= 1;
	}
out:
	cli_top_restore();
	imp_free(snap[0]);
	imp_free(snap[1]);
	buf_free(&t.out);
	return (rc);
}
