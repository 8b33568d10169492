/*
 * impcore - impctl: the admin stats CLI (shared declarations).
 *
 * impctl maps <state-dir>/impsolverd.state read-only, like varnishstat
 * reads Varnish's shared memory, so it works under load and after the
 * server died.  Each command is one struct cli_cmd (tmux cmd_entry style)
 * in its cli_*.c file, collected in cli_cmds[] in impctl.c.
 */
#ifndef IMP_IMPCTL_H
#define IMP_IMPCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/stat.h"
#include "state/shm.h"
#include "state/stat_read.h"

/* Exit statuses (documented in impctl.1). */
#define CLI_EXIT_OK		0
#define CLI_EXIT_FAIL		1	/* not found, signal refused ... */
#define CLI_EXIT_USAGE		2	/* usage, or an unusable state file */
#define CLI_EXIT_DOWN		3	/* status/reload/stop: server not running */

/* How a command wants the state file. */
enum cli_map {
	CLI_MAP_RO,		/* mapped read-only before exec (most commands) */
	CLI_MAP_RW		/* the command maps it read-write itself */
};

struct cli_ctx {
	const char	*state_dir;
	struct shm	*shm;		/* CLI_MAP_RO: the read-only mapping */
	const struct cli_cmd *cmd;
};

struct cli_cmd {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*help;		/* one line for --help */
	enum cli_map	map;
	/* argv[0] is the command name; returns a CLI_EXIT_* status */
	int		(*exec)(struct cli_ctx *ctx, int argc, char **argv);
};

extern const struct cli_cmd	cli_status_entry;
extern const struct cli_cmd	cli_stats_entry;
extern const struct cli_cmd	cli_top_entry;
extern const struct cli_cmd	cli_history_entry;
extern const struct cli_cmd	cli_batches_entry;
extern const struct cli_cmd	cli_batch_entry;
extern const struct cli_cmd	cli_webhooks_entry;
extern const struct cli_cmd	cli_webhook_retry_entry;
extern const struct cli_cmd	cli_reload_entry;
extern const struct cli_cmd	cli_stop_entry;

/* --- impctl.c: messages and formats ----------------------------------------- */

/* "impctl: <message>" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage line of ctx->cmd on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const struct cli_ctx *ctx);
/* "1h02m", "3m05s", "12.3s", "45ms", "-" for 0 when none is set. */
char *cli_fmt_dur(uint64_t ns, char *buf, size_t len);
/* Age of a CLOCK_REALTIME ns time: "3.0s ago", "in 3.0s", "-" for 0. */
char *cli_fmt_age(uint64_t real_ns, uint64_t now, char *buf, size_t len);
/* "512", "12.3K", "4.5M", "1.2G" (powers of 1024). */
char *cli_fmt_bytes(uint64_t v, char *buf, size_t len);
/* A ns quantity for humans: "850ns", "12.3us", "1.25ms", "2.50s". */
char *cli_fmt_ns(double ns, char *buf, size_t len);

/* --- cli_snap.c: one pass over every process's counter block ------------ */

struct cli_snap_proc {
	struct shm_proc_info	pi;	/* pi.state FREE: never used */
	uint64_t		c[STAT__N];
	uint64_t		h[STAT_H__N][STAT_HIST_BUCKETS];
};

struct cli_snap {
	uint64_t		t_mono;		/* when taken */
	int			nproc;		/* entries of p[] */
	struct cli_snap_proc	p[SHM_NPROC];	/* slots with a counter block */
	uint64_t		c[STAT__N];	/* sums of p[] */
	uint64_t		h[STAT_H__N][STAT_HIST_BUCKETS];
};

/* Unit name of each histogram ("ns"), from counters.def. */
extern const char *const	cli_hist_unit[STAT_H__N];

/*
 * Copy every slot's block that ever had one (like stat_sum_all(), whose
 * totals it gives too) so totals and per-process values of one output come
 * from the same reads and add up.
 */
void cli_snap_take(const struct shm *shm, struct cli_snap *s);
/* Is process p live in the table (starting, running, draining)? */
bool cli_snap_live(const struct cli_snap_proc *p);

/* --- cli_proc.c: processes from /proc -------------------------------------- */

struct cli_procstat {
	char		comm[32];
	char		state;		/* R, S, D, Z ... */
	uint64_t	start_real;	/* CLOCK_REALTIME ns of the process's start */
	uint64_t	cpu_ns;		/* user + system */
	uint64_t	rss;		/* bytes */
};

/* Read /proc/<pid>/stat and statm.  0 ok, -1 no such process. */
int cli_proc_read(pid_t pid, struct cli_procstat *ps);
/*
 * Is pid running, and the process the file recorded at start_real (0: any
 * process)?  A dead server's pid may have been reused by now: a process
 * that started after start_real is not ours.  Zombies count as gone.
 */
int cli_proc_alive(pid_t pid, uint64_t start_real);
/*
 * Find the running master: 0 with *pid set when the recorded master pid is
 * alive, started with the state file's birth and is impsolverd (comm or
 * argv[0]); else -1 with why[] saying what is wrong.
 */
int cli_master(const struct shm *shm, pid_t *pid, char *why, size_t len);
/* Label of a process for tables: "worker.0", "webhook.0"; "master" (index -1). */
char *cli_proc_label(int role, int index, char *buf, size_t len);

#endif /* IMP_IMPCTL_H */
