/*
 * impcore - the profiler process: what its files share.
 *
 * One process (role SHM_ROLE_PROFILER, started with -profile) serves the
 * Go-compatible debug endpoints on -profile-port with hsrv: pprof
 * profiles merged from every server process (prf_pprof.c), /debug/info,
 * /debug/stats (prf_info.c), /metrics
 * (prf_metrics.c).  It samples /proc of every server process once a second
 * into a bounded history (prf_proc.c) and drives the samplers inside the
 * other processes with ctl commands (prf_collect.c, prof/prof.h).
 */
#ifndef IMP_PRF_H
#define IMP_PRF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/stat.h"
#include "state/phist.h"
#include "state/shm.h"

struct buf;
struct cfg;
struct child_ctx;
struct event;
struct event_base;
struct hreq;
struct hsrv;
struct prf_stream;

#define PRF_MAGIC		0x50524f46u	/* "PROF" */
#define PRF_STATS_MAX_S		3600		/* longest /debug/stats stream */
#define PRF_STATS_MAX_STREAMS	64		/* /debug/stats at once */

struct prf {
	unsigned		magic;
	struct child_ctx	*ctx;
	struct shm		*shm;
	const struct cfg	*cfg;
	struct event_base	*base;
	struct hsrv		*http;
	struct event		*ctl_ev, *tick_ev;
	struct event		*sig_term, *sig_int, *sig_usr1, *sig_hup;
	uint64_t		t_start_real, t_start_mono;
	long			clk_tck;
	long			page_size;
	char			dir[4096];	/* <state-dir>/prof */
	uint64_t		session;	/* last dump session number */
	int			cpu_busy;	/* a CPU profile is running */
	int			stopping;
	/* history ring: in the state file (state/phist.h), NULL if unusable */
	struct phist		*hist;
	/* processes told to enable sampling: pid per slot */
	pid_t			enabled[SHM_NPROC];
	/* /debug/stats streams */
	struct prf_stream	*streams;
	int			nstreams;
};

/* prf_main.c */
uint64_t prf_next_session(struct prf *prf);

/* prf_http.c: routes, auth, answers */
/* Serve the debug port on listen_fd (closed with prf->http); 0, or -1. */
int prf_http_setup(struct prf *prf, int listen_fd);
void prf_reply(struct hreq *req, int status, const char *ctype,
    const void *body, size_t len);
void prf_reply_buf(struct hreq *req, int status, const char *ctype,
    struct buf *b);
/* text/plain error with X-Go-Pprof: 1 (net/http/pprof's serveError) */
void prf_reply_pprof_error(struct hreq *req, int status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void prf_reply_json_error(struct hreq *req, int status,
    const char *msg);
/*
 * Publish the debug port's requests in our hands as this process's
 * inflight (shm.h, shm_tasks: they are tasks like the API's): the deferred
 * ones, the /debug/stats streams, plus extra (1 while a handler runs).
 */
void prf_inflight_sync(int extra);
/* Query argument name of req (decoded), or NULL. */
const char *prf_arg(struct hreq *req, const char *name, char *buf,
    size_t len);
/* Append /proc/self/maps (the layout every forked process shares). */
void prf_add_maps(struct buf *b);

/*
 * A request answered later (profiles), counted as in our hands until then.
 * It must be answered, even when its client left: hsrv then drops the
 * answer and frees the request (hreq_reply on a dead connection).
 */
struct prf_defer {
	struct hreq		*req;	/* NULL once taken */
	int			held;	/* counted in prf_inflight_sync */
};
void prf_defer_init(struct prf_defer *d, struct hreq *req);
/* The request to answer (NULL when taken already); detaches. */
struct hreq *prf_defer_take(struct prf_defer *d);
/*
 * 1 when the client has closed its side (or reset) while we have not
 * answered yet (hreq_client_gone: hsrv reads nothing from a connection
 * whose request is being handled, so nothing else sees it).
 */
int prf_defer_client_gone(const struct prf_defer *d);

/*
 * prf_pb.c: profiles in profile.proto, every location named by prf_sym.c.
 * A builder: the sample types first (at most 4), then the samples (the
 * addresses to name, leaf first, return addresses already moved back into
 * their call; one value per type; role and pid labels when set), then
 * prf_pb_finish, which names the locations, appends the message (gzipped
 * with gzip set) to out, frees the builder and returns 0 (-1: gzip failed).
 * maps: the /proc/self/maps text of the layout the addresses are in.
 * Every string given must live until prf_pb_finish.
 */
struct prf_pb;
struct prf_pb *prf_pb_new(void);
void prf_pb_sample_type(struct prf_pb *pb, const char *type, const char *unit);
void prf_pb_period(struct prf_pb *pb, const char *type, const char *unit,
    int64_t period);
void prf_pb_default_type(struct prf_pb *pb, const char *type);
void prf_pb_time(struct prf_pb *pb, int64_t time_ns, int64_t duration_ns);
void prf_pb_sample(struct prf_pb *pb, const uint64_t *addr, int n,
    const int64_t *val, const char *role, long pid);
int prf_pb_finish(struct prf_pb *pb, const char *maps, int gzip,
    struct buf *out);
/*
 * The merged legacy heap text (heap_v2) as a gzipped profile whose viewer
 * opens default_type first; the legacy contentionz text likewise.  0, or
 * -1 when text is not of that format.
 */
int prf_heap_pb(const char *text, const char *default_type, struct buf *out);
int prf_cont_pb(const char *text, struct buf *out);

/* prf_collect.c: run a ctl command in every other server process */
struct prf_job;
typedef void prf_job_done_fn(struct prf_job *job, void *arg);
/*
 * Post cmd to every other live process (the master only for stacks: it
 * never samples), with a new session number naming the dump files as its
 * argument when kind is set, else arg; wait for the acks without blocking
 * the loop (at most timeout_ms), read the dump files of kind (NULL: none),
 * then call done.  A request for a command already in flight joins it.
 * The job and its data are freed after the last done returns.
 */
void prf_job_start(struct prf *prf, int cmd, const char *kind,
    uint64_t arg, int timeout_ms, prf_job_done_fn *done, void *donearg);
int prf_job_count(const struct prf_job *job);
pid_t prf_job_pid(const struct prf_job *job, int i);
int prf_job_slot(const struct prf_job *job, int i);
uint64_t prf_job_session(const struct prf_job *job);
/* Result word w of target i (valid when it acked), or -1 when it did not. */
int64_t prf_job_res(const struct prf_job *job, int i, int w);
/* The dump of target i, or NULL when it sent none. */
const struct buf *prf_job_data(const struct prf_job *job, int i);
/* Read a dump file (kind, session, pid) into b and remove it; 0 ok. */
int prf_job_read(struct prf *prf, uint64_t session, const char *kind,
    pid_t pid, struct buf *b);
/* Remove dump files left by a dead profiler. */
void prf_dumps_clean(struct prf *prf);

/* prf_pprof.c */
void prf_pprof_index(struct prf *prf, struct hreq *req);
void prf_pprof_profile(struct prf *prf, struct hreq *req);
void prf_pprof_heap(struct prf *prf, struct hreq *req);
void prf_pprof_allocs(struct prf *prf, struct hreq *req);
void prf_pprof_threadcreate(struct prf *prf, struct hreq *req);
void prf_pprof_trace(struct prf *prf, struct hreq *req);
void prf_pprof_block(struct prf *prf, struct hreq *req);
void prf_pprof_mutex(struct prf *prf, struct hreq *req);
void prf_pprof_goroutine(struct prf *prf, struct hreq *req);
void prf_pprof_cmdline(struct prf *prf, struct hreq *req);
void prf_pprof_symbol(struct prf *prf, struct hreq *req);
/* SIGTERM: cut a running CPU profile short. */
void prf_pprof_stop(struct prf *prf);

/* prf_proc.c */
void prf_proc_sample(struct prf *prf);
const struct phist_sample *prf_hist_last(const struct prf *prf, int back);
/* /proc/<pid>/stat of one process into ps (no counters); 0 ok. */
int prf_proc_read(struct prf *prf, pid_t pid, struct phist_proc *ps);
/* Totals of a sample: heap in use, heap allocated, RSS, tasks. */
/* malloc_trim rounds run so far by the live processes (Go's NumGC). */
uint64_t prf_gc_count(const struct prf *prf);
void prf_sample_totals(const struct phist_sample *s, uint64_t *alloc,
    uint64_t *total_alloc, uint64_t *sys, int *tasks);

/* prf_info.c */
void prf_info(struct prf *prf, struct hreq *req);
void prf_stats(struct prf *prf, struct hreq *req);
void prf_stats_stop_all(struct prf *prf);

/* prf_sym.c: name of a code address (our statics too); NULL if unknown.
 * *module: the object's base name (static storage). */
const char *prf_sym_name(uintptr_t pc, uintptr_t *off, const char **module);
/*
 * The source frames at a code address: the functions inlined there,
 * innermost first, then the function it is in (named as prf_sym_name
 * names it).  file and line are 0/NULL where unknown (libraries); the
 * strings live until prf_sym_free.  Returns how many were written (0:
 * nothing is known of pc).
 */
struct prf_frame {
	const char	*name;
	const char	*file;
	int		line;
};
int prf_sym_frames(uintptr_t pc, struct prf_frame *f, int max);
void prf_sym_free(void);

/* prf_metrics.c */
void prf_metrics(struct prf *prf, struct hreq *req);

/* prf_proc.c: read a small file into buf (NUL-terminated); bytes read or -1. */
ssize_t prf_read_file(const char *path, char *buf, size_t len);

#endif /* IMP_PRF_H */
