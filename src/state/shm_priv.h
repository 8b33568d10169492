/*
 * impcore - state file layout.  NB: THIS IS NOT A PUBLIC API: only
 * src/state/ files include it; everybody else goes through shm.h/rtab.h.
 * Changing anything here means bumping SHM_LAYOUT_VERSION.
 */
#ifndef IMP_SHM_PRIV_H
#define IMP_SHM_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/stat.h"
#include "state/ctl.h"
#include "state/shm.h"

struct phist;

#define SHM_MAGIC		0x4554415453504d49ull	/* "IMPSTATE" little-endian */
#define SHM_LAYOUT_VERSION	5
#define SHM_PROC_MAGIC		0x50524f43u		/* "PROC" */
#define SHM_ALIGN		4096

/*
 * The first 32 bytes never change between layout versions, so any version
 * can tell whether a file of another version still holds pending work.
 */
struct shm_prefix {
	uint64_t	magic;
	uint32_t	layout_version;
	uint32_t	prefix_size;
	uint64_t	file_size;
	uint64_t	pending;	/* queued + running + undelivered, updated by the master */
};

struct shm_head {
	struct shm_prefix	pre;
	uint32_t		head_size;
	uint32_t		nproc;
	uint32_t		proc_size;
	uint32_t		stat_ncounters;
	uint32_t		queue_size, results, max_points;
	uint32_t		nrecords, nbatches, nhash;
	uint32_t		arena_units;
	uint32_t		job_ring_cap, wh_ring_cap;
	uint32_t		rec_size, batch_size;
	/*
	 * Process slots at or above this were never used, so scans may stop
	 * here (shm_tasks); raised by shm_proc_alloc.  Zero, as in files of
	 * builds before it was a field (it was padding), means unknown: scan
	 * all SHM_NPROC.  Hence no layout version of its own.
	 */
	uint32_t		proc_hw;
	uint64_t		off_procs, off_job_ring, off_wh_ring, off_rtab,
				off_records, off_batches, off_hash, off_free_recs,
				off_free_batches, off_bitmap, off_arena,
				off_phist;	/* layout 3: the profiler's history */
	int32_t			master_pid;
	uint32_t		ready;		/* set last by the master */
	uint64_t		birth;		/* REALTIME ns of the master's start */
	uint64_t		created;	/* REALTIME ns of the file's creation */
	uint64_t		id_seq;		/* shm_next_id */
	uint64_t		id_salt;
	/*
	 * What the writer's build puts where (shm_layout_hash(): the sizes of
	 * the structures in the file and the counter rows, by name, kind and
	 * unit, in order).  A build that differs in any of it refuses the file
	 * as another layout, as for another layout_version: a counter row
	 * appended or moved without a version bump is caught, not misread.
	 */
	uint64_t		layout_hash;
};

/* The fixed points every layout version keeps (see struct shm_prefix). */
_Static_assert(sizeof(struct shm_prefix) == 32, "the prefix is 32 bytes");
_Static_assert(offsetof(struct shm_head, pre) == 0, "the prefix comes first");

struct shm_proc {
	uint32_t		magic;
	uint32_t		state;		/* enum shm_pstate */
	int32_t			pid;
	uint32_t		role;		/* enum shm_role */
	int32_t			index;
	uint32_t		generation;
	uint64_t		t_start;
	uint64_t		heartbeat;
	uint32_t		idle, busy, inflight, pad;
	uint64_t		ctl;		/* pending command bits */
	uint64_t		ctl_seq[CTL_CMD_MAX];	/* requests posted */
	uint64_t		ctl_arg[CTL_CMD_MAX];
	uint64_t		ctl_ack[CTL_CMD_MAX];	/* requests done */
	uint64_t		ctl_res[CTL_CMD_MAX][CTL_RES_WORDS];
	char			last_words[SHM_LAST_WORDS];
	struct stat_block	stats __attribute__((aligned(64)));
} __attribute__((aligned(128)));

struct rtab_head;
struct rtab_rec;
struct rtab_batch;

/* The process-local handle. */
struct shm {
	unsigned		magic;
#define SHM_HANDLE_MAGIC	0x53484d48u
	char			*path;
	int			fd;
	int			ro;
	uint8_t			*base;
	size_t			size;
	struct shm_head		*head;
	struct shm_proc		*procs;
	struct ring		*job_ring, *wh_ring;
	struct rtab_head	*rt;
	struct rtab_rec		*recs;
	struct rtab_batch	*batches;
	uint32_t		*hash;
	uint32_t		*free_recs, *free_batches;
	uint64_t		*bitmap;
	uint8_t			*arena;
	struct phist		*phist;
	/*
	 * Bytes of the file that are its own (a truncated file extended
	 * with zeros to be salvaged: the rest is lost); 0: all of it.
	 */
	uint64_t		salvage_size;
};

/*
 * Opening, for state.c only: it opens with these, then initialises or
 * recovers the sections above the head and process table (rings, result
 * table, history), which shm.c neither calls nor links.  Everybody else
 * opens with state.h.  (Functions, not layout: no version bump here.)
 */

/*
 * Master only.  Open and lock <dir>/impsolverd.state, created when
 * missing.  An existing file of this layout and build is validated and
 * mapped (*kept 1: its sections are to be recovered); a truncated one is
 * set aside and salvaged into a full-size copy (salvage_size).  A file of
 * another layout or build, or corrupt, that still holds pending work is
 * refused; one without is set aside (renamed, never deleted).  A new file
 * is laid out for g, fully allocated, head and process table written
 * (*kept 0: its sections are to be initialised).  -1 with an imp_malloc'd
 * *cause.
 */
int shm_create(const char *dir, const struct shm_geom *g, struct shm **out,
    int *kept, char **cause);
/* Master: the open file was laid out for g (sizes and arena). */
int shm_geom_is(const struct shm *shm, const struct shm_geom *g);
/*
 * Master: lay the open file out afresh for g, as shm_create does a new
 * one (what it held is gone: only when nothing is pending).  -1 with
 * *cause.
 */
int shm_recreate(struct shm *shm, const struct shm_geom *g, char **cause);
/*
 * Tools (impctl): map an existing file without locking, creating or
 * recovering anything; the head and every offset are checked against the
 * file size.  Read-only, or read-write for impctl webhook-retry's few CAS
 * on the live file.  Errors, in *cause: missing file, not an impcore state
 * file (bad magic), incompatible layout version, truncated file, offsets
 * out of bounds.
 */
int shm_open_ro(const char *dir, struct shm **out, char **cause);
int shm_open_rw(const char *dir, struct shm **out, char **cause);

#endif /* IMP_SHM_PRIV_H */
