/*
 * impcore - the shared state file: mapping, layout, process table.
 *
 * <state-dir>/impsolverd.state is mapped MAP_SHARED by every process.  The
 * master creates (or validates and recovers) it before forking with
 * state_open() (state.h); children inherit the mapping; impctl maps it
 * read-only with state_open_ro().  The layout is in shm_priv.h and
 * README.md; nothing outside src/state reads it directly.
 */
#ifndef IMP_SHM_H
#define IMP_SHM_H

#include <stdint.h>
#include <sys/types.h>

struct shm;
struct shm_proc;
struct stat_block;
struct ring;

#define SHM_FILE	"impsolverd.state"
#define SHM_NPROC	128	/* process slots: workers + helpers + a reload's overlap */
#define SHM_LAST_WORDS	256

/* Sizes fixed when the file is created (from the config). */
struct shm_geom {
	uint32_t	queue_size;	/* spectra queued or running */
	uint32_t	results;	/* finished results kept */
	uint32_t	max_points;	/* points per spectrum */
	uint64_t	arena_bytes;	/* data arena (0: derived from the above) */
};

/* Process roles; the numbers are stored in the file. */
enum shm_role {
	SHM_ROLE_NONE = 0,
	SHM_ROLE_MASTER,
	SHM_ROLE_WORKER,
	SHM_ROLE_WEBHOOK,
	SHM_ROLE_PROFILER,
	SHM_ROLE__N
};

/* Life of a process slot. */
enum shm_pstate {
	SHM_P_FREE = 0,		/* never used */
	SHM_P_STARTING,		/* forked, not yet serving */
	SHM_P_RUNNING,
	SHM_P_DRAINING,		/* told to stop: finishing in-flight work */
	SHM_P_DEAD		/* exited or killed; block kept for the sums */
};

/* A copy of one process slot, for readers (impctl, profiler, /health). */
struct shm_proc_info {
	int		slot;
	pid_t		pid;
	enum shm_role	role;
	int		index;		/* worker number, 0.. */
	enum shm_pstate	state;
	unsigned	generation;	/* master's reload generation at fork */
	uint64_t	t_start;	/* CLOCK_REALTIME ns */
	uint64_t	heartbeat;	/* CLOCK_REALTIME ns of the last loop turn */
	int		idle;		/* worker sleeping, waiting for jobs */
	int		busy;		/* fitting right now */
	int		inflight;	/* HTTP requests being handled (API or
					 * debug port; never webhook deliveries) */
	char		last_words[SHM_LAST_WORDS];
};

/* --- opening: state.h (state_open, state_open_ro, state_open_rw) --------- */

/*
 * Master, before state_open: the uid of the -user the master will drop to
 * (besides its own) that may own the state file and directory.  The file
 * is opened without following links and must be a regular file with one
 * link owned by us or that user; the directory must not be writable by
 * group or others.  shm_fchown() hands the open file to that user.
 */
void shm_set_owner(uid_t uid);
/*
 * Master, before state_open: how long to wait for the lock of a file still
 * held by the draining children of a master that died (default 10 s).
 */
void shm_set_lock_wait(uint64_t ns);
int shm_fchown(struct shm *shm, uid_t uid, gid_t gid);

void shm_close(struct shm *shm);

const char *shm_path(const struct shm *shm);
int shm_is_readonly(const struct shm *shm);
void shm_geom_get(const struct shm *shm, struct shm_geom *g);
uint32_t shm_layout_version(const struct shm *shm);
pid_t shm_master_pid(const struct shm *shm);	/* 0 when none recorded */
uint64_t shm_birth(const struct shm *shm);	/* CLOCK_REALTIME ns of the master's start */
uint64_t shm_size(const struct shm *shm);	/* bytes of the file */
/* Master: record our pid and start time, set the ready flag last. */
void shm_set_master(struct shm *shm, pid_t pid);
/* Master: pending work (queued + running + undelivered), kept in the
 * version-independent prefix so any later version can read it. */
void shm_set_pending(struct shm *shm, uint64_t pending);

/* Unique 64-bit numbers (result and batch ids): never repeats for a file. */
uint64_t shm_next_id(struct shm *shm);

/* Sections. */
struct ring *shm_job_ring(struct shm *shm);	/* record indexes of queued jobs */
struct ring *shm_wh_ring(struct shm *shm);	/* record indexes with a webhook to deliver */

/* --- process table ---------------------------------------------------------- */

/*
 * Master only: take a free (FREE or DEAD) slot for a new process of role;
 * returns the slot number or -1 when the table is full.  The slot's stat
 * block is kept (sums stay monotonic), its gauges cleared.
 */
int shm_proc_alloc(struct shm *shm, enum shm_role role, int index,
    unsigned generation);
/* Master: the child's pid after fork; state STARTING. */
void shm_proc_set_pid(struct shm *shm, int slot, pid_t pid);
/* Master: mark a reaped slot DEAD (clears idle/busy/inflight, gauges). */
void shm_proc_set_dead(struct shm *shm, int slot);

struct shm_proc *shm_proc(struct shm *shm, int slot);
struct stat_block *shm_proc_stats(const struct shm *shm, int slot);
int shm_proc_get(const struct shm *shm, int slot, struct shm_proc_info *pi);
/* Live processes (STARTING, RUNNING or DRAINING) of a role (NONE: any). */
int shm_proc_count(const struct shm *shm, enum shm_role role);
int shm_proc_find_pid(const struct shm *shm, pid_t pid);	/* slot or -1 */
int shm_proc_live(const struct shm *shm, int slot);
/*
 * The task count, Go's "goroutines" in its C meaning (issue 17, item 8:
 * one definition for the X-*-Goroutines headers, the 📊 lines, /debug/memory,
 * the pprof index, /debug/info and /debug/stats): one per live process,
 * plus the HTTP requests in their hands (API and debug port; a request
 * counts itself, as a Go handler's goroutine does), plus the fits
 * running.  Webhook deliveries are not requests: they are the counter
 * webhook_inflight.  Scans only the slots ever used, reading three words
 * of each.  shm_tasks_split gives the three parts (any may be NULL).
 */
int shm_tasks(const struct shm *shm);
int shm_tasks_split(const struct shm *shm, int *procs, int *requests,
    int *fits);
enum shm_role shm_proc_role(const struct shm *shm, int slot);

/* Owner side: called by the process that holds the slot. */
void shm_proc_set_state(struct shm_proc *p, enum shm_pstate st);
void shm_proc_heartbeat(struct shm_proc *p);
void shm_proc_set_busy(struct shm_proc *p, int busy);
void shm_proc_set_inflight(struct shm_proc *p, int n);
/* Last words before a fatal exit, read by the master after reaping. */
void shm_proc_last_words(struct shm_proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Idle flag for job wake-ups (see ctl.h).  The worker sets it, issues a
 * full barrier and looks at the ring once more before sleeping; a producer
 * pushes, then clears a set flag with CAS and signals that worker.
 */
void shm_proc_set_idle(struct shm_proc *p, int idle);
int shm_proc_take_idle(struct shm *shm, int slot);	/* 1 if we cleared it */

/* Per-slot control word and arguments: ctl.c is the only user. */
uint64_t *shm_proc_ctl_word(struct shm_proc *p);
uint64_t *shm_proc_ctl_arg(struct shm_proc *p, int cmd);
uint64_t *shm_proc_ctl_ack(struct shm_proc *p, int cmd);
uint64_t *shm_proc_ctl_res(struct shm_proc *p, int cmd);	/* CTL_RES_WORDS words */
uint64_t *shm_proc_ctl_seq(struct shm_proc *p, int cmd);

/* Role names: "master", "worker", "webhook", "profiler". */
const char *shm_role_name(enum shm_role r);
const char *shm_pstate_name(enum shm_pstate s);

#endif /* IMP_SHM_H */
