/*
 * impcore - the shared state file: create, validate, map, process table.
 *
 * The master creates or validates the file before it forks (Varnish
 * mgt_SHM_ChildNew): every child inherits the mapping.  The file is locked
 * (flock) by the master and inherited by its children, so two servers never
 * share one state directory.  impctl maps it read-only and trusts nothing in
 * it: every offset and size is checked against the file size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "lib/check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/stat.h"
#include "lib/tim.h"
#include "state/phist.h"
#include "state/ring.h"
#include "state/rtab_priv.h"
#include "state/shm.h"
#include "state/shm_priv.h"

static uint32_t
shm_pow2(uint64_t v)
{
	uint64_t p = 2;

	while (p < v)
		p <<= 1;
	return ((uint32_t)p);
}

static uint64_t
shm_round(uint64_t v)
{
	return ((v + SHM_ALIGN - 1) & ~(uint64_t)(SHM_ALIGN - 1));
}

/* FNV-1a, 64 bits, of n bytes into h. */
static uint64_t
shm_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return (h);
}

static uint64_t
shm_fnv_u64(uint64_t h, uint64_t v)
{
	return (shm_fnv(h, &v, sizeof v));
}

/*
 * This build's layout descriptor (struct shm_head's layout_hash): the size
 * of every structure the file holds and every counter and histogram row
 * of counters.def, by name, kind and unit, in order.  Two builds with the
 * same descriptor read each other's files; computed once.
 */
static uint64_t
shm_layout_hash(void)
{
	static uint64_t	 done;
	uint64_t	 h = 0xcbf29ce484222325ull;
	int		 i;

	if (done != 0)
		return (done);
	h = shm_fnv_u64(h, SHM_LAYOUT_VERSION);
	h = shm_fnv_u64(h, sizeof(struct shm_head));
	h = shm_fnv_u64(h, sizeof(struct shm_proc));
	h = shm_fnv_u64(h, sizeof(struct stat_block));
	h = shm_fnv_u64(h, sizeof(struct rtab_head));
	h = shm_fnv_u64(h, sizeof(struct rtab_rec));
	h = shm_fnv_u64(h, sizeof(struct rtab_batch));
	h = shm_fnv_u64(h, sizeof(struct phist));
	h = shm_fnv_u64(h, RTAB_UNIT);
	h = shm_fnv_u64(h, STAT_HIST_BUCKETS);
	for (i = 0; i < STAT__N; i++) {
		h = shm_fnv(h, stat_name[i], strlen(stat_name[i]) + 1);
		h = shm_fnv_u64(h, (uint64_t)stat_kinds[i] << 8 | stat_units[i]);
	}
	for (i = 0; i < STAT_H__N; i++)
		h = shm_fnv(h, stat_hist_name[i], strlen(stat_hist_name[i]) + 1);
	done = h != 0 ? h : 1;
	return (done);
}

/* Fill in geometry and offsets of a head for g.  Returns the file size. */
static uint64_t
shm_layout(struct shm_head *h, const struct shm_geom *g)
{
	uint64_t off, arena;

	memset(h, 0, sizeof *h);
	h->pre.magic = SHM_MAGIC;
	h->pre.layout_version = SHM_LAYOUT_VERSION;
	h->pre.prefix_size = sizeof h->pre;
	h->head_size = sizeof *h;
	h->nproc = SHM_NPROC;
	h->proc_hw = 1;		/* known from the start: nothing used yet */
	h->proc_size = sizeof(struct shm_proc);
	h->stat_ncounters = STAT__N;
	h->layout_hash = shm_layout_hash();
	h->queue_size = g->queue_size;
	h->results = g->results;
	h->max_points = g->max_points;
	h->nrecords = g->queue_size + g->results;
	h->nbatches = h->nrecords;
	h->nhash = shm_pow2((uint64_t)h->nbatches * 2);
	h->job_ring_cap = shm_pow2((uint64_t)g->queue_size * 2);
	h->wh_ring_cap = shm_pow2((uint64_t)h->nrecords * 2);
	h->rec_size = sizeof(struct rtab_rec);
	h->batch_size = sizeof(struct rtab_batch);
	arena = g->arena_bytes;
	if (arena == 0) {
		/* about 40 points a spectrum on average, and at least 64 full ones */
		uint64_t full = ((uint64_t)g->max_points * 3 + 3 * RTAB_PARAMS_MAX) *
		    8 + RTAB_URL_MAX + RTAB_UNIT;
		arena = (uint64_t)h->nrecords * 1024;
		if (arena < 64 * full)
			arena = 64 * full;
	}
	h->arena_units = (uint32_t)((arena + RTAB_UNIT - 1) / RTAB_UNIT);
	h->arena_units = (h->arena_units + 63) & ~63u;

	off = shm_round(sizeof *h);
	h->off_procs = off;
	off = shm_round(off + (uint64_t)SHM_NPROC * sizeof(struct shm_proc));
	h->off_job_ring = off;
	off = shm_round(off + RING_BYTES(h->job_ring_cap));
	h->off_wh_ring = off;
	off = shm_round(off + RING_BYTES(h->wh_ring_cap));
	h->off_rtab = off;
	off = shm_round(off + sizeof(struct rtab_head));
	h->off_records = off;
	off = shm_round(off + (uint64_t)h->nrecords * sizeof(struct rtab_rec));
	h->off_batches = off;
	off = shm_round(off + (uint64_t)h->nbatches * sizeof(struct rtab_batch));
	h->off_hash = off;
	off = shm_round(off + (uint64_t)h->nhash * 4);
	h->off_free_recs = off;
	off = shm_round(off + (uint64_t)h->nrecords * 4);
	h->off_free_batches = off;
	off = shm_round(off + (uint64_t)h->nbatches * 4);
	h->off_bitmap = off;
	off = shm_round(off + (uint64_t)h->arena_units / 8);
	h->off_arena = off;
	off = shm_round(off + (uint64_t)h->arena_units * RTAB_UNIT);
	h->off_phist = off;
	off = shm_round(off + sizeof(struct phist));
	h->pre.file_size = off;
	return (off);
}

/* Check a mapped head against the mapping size; 0 ok, -1 with *cause. */
static int
shm_check(const struct shm_head *h, size_t size, char **cause)
{
	struct shm_head want;
	struct shm_geom g;

	if (size < sizeof h->pre || h->pre.magic != SHM_MAGIC) {
		imp_asprintf(cause, "not an impcore state file (bad magic)");
		return (-1);
	}
	if (h->pre.layout_version != SHM_LAYOUT_VERSION) {
		imp_asprintf(cause, "state file layout version %u, this program "
		    "uses %u", h->pre.layout_version, SHM_LAYOUT_VERSION);
		return (-1);
	}
	if (size < sizeof *h || h->head_size != sizeof *h ||
	    h->pre.file_size > size) {
		imp_asprintf(cause, "state file truncated (%zu bytes, header "
		    "says %ju)", size, (uintmax_t)h->pre.file_size);
		return (-1);
	}
	if (h->layout_hash != shm_layout_hash()) {
		imp_asprintf(cause, "written by another build of layout "
		    "version %u (its structures or counters differ: layout "
		    "%016jx, this program %016jx)", SHM_LAYOUT_VERSION,
		    (uintmax_t)h->layout_hash, (uintmax_t)shm_layout_hash());
		return (-1);
	}
	/* recompute the whole layout from the geometry: offsets must agree */
	g.queue_size = h->queue_size;
	g.results = h->results;
	g.max_points = h->max_points;
	g.arena_bytes = (uint64_t)h->arena_units * RTAB_UNIT;
	if (h->queue_size == 0 || h->results == 0 || h->queue_size > (1u << 28) ||
	    h->results > (1u << 28)) {
		imp_asprintf(cause, "state file geometry is corrupt");
		return (-1);
	}
	shm_layout(&want, &g);
	/*
	 * Every size, count and offset anybody indexes with: the repair at
	 * start inits the rings with these capacities and walks nrecords
	 * records, readers follow the offsets.
	 */
	if (h->max_points == 0 || h->max_points > (1u << 24) ||
	    want.off_arena != h->off_arena || want.pre.file_size != h->pre.file_size ||
	    want.off_phist != h->off_phist ||
	    want.nproc != h->nproc || want.proc_size != h->proc_size ||
	    want.rec_size != h->rec_size || want.batch_size != h->batch_size ||
	    want.stat_ncounters != h->stat_ncounters ||
	    want.nhash != h->nhash || want.arena_units != h->arena_units ||
	    want.nrecords != h->nrecords || want.nbatches != h->nbatches ||
	    want.job_ring_cap != h->job_ring_cap ||
	    want.wh_ring_cap != h->wh_ring_cap ||
	    want.off_procs != h->off_procs || want.off_job_ring != h->off_job_ring ||
	    want.off_wh_ring != h->off_wh_ring || want.off_rtab != h->off_rtab ||
	    want.off_records != h->off_records ||
	    want.off_batches != h->off_batches || want.off_hash != h->off_hash ||
	    want.off_free_recs != h->off_free_recs ||
	    want.off_free_batches != h->off_free_batches ||
	    want.off_bitmap != h->off_bitmap ||
	    want.pre.prefix_size != h->pre.prefix_size) {
		imp_asprintf(cause, "state file layout is inconsistent "
		    "(different build or corrupt)");
		return (-1);
	}
	return (0);
}

static void
shm_pointers(struct shm *s)
{
	struct shm_head *h = s->head;

	s->procs = (struct shm_proc *)(s->base + h->off_procs);
	s->job_ring = (struct ring *)(s->base + h->off_job_ring);
	s->wh_ring = (struct ring *)(s->base + h->off_wh_ring);
	s->rt = (struct rtab_head *)(s->base + h->off_rtab);
	s->recs = (struct rtab_rec *)(s->base + h->off_records);
	s->batches = (struct rtab_batch *)(s->base + h->off_batches);
	s->hash = (uint32_t *)(s->base + h->off_hash);
	s->free_recs = (uint32_t *)(s->base + h->off_free_recs);
	s->free_batches = (uint32_t *)(s->base + h->off_free_batches);
	s->bitmap = (uint64_t *)(s->base + h->off_bitmap);
	s->arena = s->base + h->off_arena;
	s->phist = (struct phist *)(s->base + h->off_phist);
}

static struct shm *
shm_handle(const char *path, int fd, int ro)
{
	struct shm *s = imp_calloc(1, sizeof *s);

	s->magic = SHM_HANDLE_MAGIC;
	s->path = imp_strdup(path);
	s->fd = fd;
	s->ro = ro;
	return (s);
}

static int
shm_map(struct shm *s, size_t size, char **cause)
{
	void *p;

	p = mmap(NULL, size, s->ro ? PROT_READ : PROT_READ | PROT_WRITE,
	    MAP_SHARED, s->fd, 0);
	if (p == MAP_FAILED) {
		imp_asprintf(cause, "mmap(%s, %zu): %s", s->path, size,
		    strerror(errno));
		return (-1);
	}
	s->base = p;
	s->size = size;
	s->head = p;
	return (0);
}

static void
shm_unmap(struct shm *s)
{
	if (s->base != NULL)
		munmap(s->base, s->size);
	s->base = NULL;
	s->head = NULL;
}

/*
 * Initialise a fresh file's head and process table.  Its other sections
 * (rings, result table, history) are their modules' (state.c).
 */
static void
shm_init_fresh(struct shm *s, const struct shm_head *h)
{
	int i;
	uint64_t salt;

	memcpy(s->head, h, sizeof *h);
	shm_pointers(s);
	for (i = 0; i < SHM_NPROC; i++) {
		struct shm_proc *p = &s->procs[i];
		memset(p, 0, sizeof *p);
		p->magic = SHM_PROC_MAGIC;
		stat_block_init(&p->stats);
	}
	salt = tim_real() ^ ((uint64_t)getpid() << 32);
	{
		int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (rfd >= 0) {
			if (read(rfd, &salt, sizeof salt) != sizeof salt)
				salt ^= tim_mono();
			close(rfd);
		}
	}
	s->head->id_salt = salt;
	s->head->created = tim_real();
}

/*==================================================================
 * Opening an existing file at start: validate, salvage, or set aside
 */

/*
 * Rename the state file aside as impsolverd.state.<kind>-<UTC time>
 * (never over another file), so that nothing it holds is destroyed by
 * starting afresh.  0 ok, -1 with *cause.
 */
static int
shm_aside(int dfd, const char *dir, const char *kind, char **cause)
{
	char name[96], ts[32];
	time_t t = time(NULL);
	struct tm tm;
	int i;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, sizeof name, "%s.%s-%s", SHM_FILE, kind, ts);
		else
			snprintf(name, sizeof name, "%s.%s-%s.%d", SHM_FILE, kind,
			    ts, i);
		if (renameat2(dfd, SHM_FILE, dfd, name, RENAME_NOREPLACE) == 0) {
			log_warn("%s/%s: kept as %s/%s", dir, SHM_FILE, dir, name);
			return (0);
		}
		if (errno != EEXIST)
			break;
	}
	imp_asprintf(cause, "renaming %s/%s aside: %s", dir, SHM_FILE,
	    strerror(errno));
	return (-1);
}

static uid_t	shm_owner_uid = (uid_t)-1;
static uint64_t	shm_lock_wait = 10 * TIM_SEC;

void
shm_set_lock_wait(uint64_t ns)
{
	shm_lock_wait = ns;
}

void
shm_set_owner(uid_t uid)
{
	shm_owner_uid = uid;
}

/*
 * The master runs as root and writes in the state directory: a directory
 * that others than its owner can write lets them plant links there.
 */
static int
shm_dir_check(int dfd, const char *dir, char **cause)
{
	struct stat st;

	if (fstat(dfd, &st) < 0) {
		imp_asprintf(cause, "fstat(%s): %s", dir, strerror(errno));
		return (-1);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		imp_asprintf(cause, "state directory %s is writable by group or "
		    "others (mode %03o): refused (chmod go-w %s)", dir,
		    (unsigned)(st.st_mode & 0777), dir);
		return (-1);
	}
	if (st.st_uid != geteuid() && st.st_uid != 0 &&
	    st.st_uid != shm_owner_uid) {
		imp_asprintf(cause, "state directory %s belongs to uid %d, "
		    "neither us, root nor the service user: refused", dir,
		    (int)st.st_uid);
		return (-1);
	}
	return (0);
}

/* What we opened (without following links) is a plain file of ours. */
static int
shm_file_check(const struct stat *st, const char *path, char **cause)
{
	if (!S_ISREG(st->st_mode)) {
		imp_asprintf(cause, "%s is not a regular file: refused", path);
		return (-1);
	}
	if (st->st_nlink != 1) {
		imp_asprintf(cause, "%s has %ju links: refused", path,
		    (uintmax_t)st->st_nlink);
		return (-1);
	}
	if (st->st_uid != geteuid() && st->st_uid != shm_owner_uid) {
		imp_asprintf(cause, "%s belongs to uid %d, neither us nor the "
		    "service user: refused", path, (int)st->st_uid);
		return (-1);
	}
	return (0);
}

int
shm_fchown(struct shm *s, uid_t uid, gid_t gid)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (fchown(s->fd, uid, gid));
}

/*
 * Open and lock <dir>/impsolverd.state (created when missing), the lock
 * taken on the file that has the name now: a file renamed aside while we
 * waited for its lock is not ours.  Returns the fd or -1 with *cause.
 */
static int
shm_open_locked(int dfd, const char *path, char **cause)
{
	struct stat a, b;
	uint64_t deadline;
	int fd, tries, again;

	for (again = 0; again < 10; again++) {
		fd = openat(dfd, SHM_FILE, O_RDWR | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0640);
		if (fd < 0) {
			imp_asprintf(cause, "open(%s): %s", path, strerror(errno));
			return (-1);
		}
		/*
		 * The children of a master killed with -9 get SIGTERM
		 * (PDEATHSIG) and hold the lock (and the listening sockets)
		 * while they drain: wait for them, as long as a drain may
		 * last (shm_set_lock_wait).
		 */
		deadline = tim_mono() + shm_lock_wait;
		for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
			if (errno != EWOULDBLOCK || tim_mono() > deadline) {
				imp_asprintf(cause, "%s is in use by another "
				    "impsolverd (flock: %s)", path, strerror(errno));
				close(fd);
				return (-1);
			}
			if (tries == 0)
				log_info("%s is locked: waiting for the previous "
				    "processes to exit", path);
			usleep(100 * 1000);
		}
		if (fstat(fd, &a) == 0 &&
		    fstatat(dfd, SHM_FILE, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			if (shm_file_check(&a, path, cause) < 0) {
				close(fd);
				return (-1);
			}
			return (fd);
		}
		close(fd);
	}
	imp_asprintf(cause, "%s keeps changing under us", path);
	return (-1);
}

/*
 * Copy the first len bytes of a truncated file into a new file of its
 * name, sized full (zeros where the old one ended): what it held up to
 * there is recovered, the rest is lost.  The caller renamed the old one
 * aside and holds its lock.  Returns the new locked fd, or -1 with *cause.
 */
static int
shm_salvage_copy(int dfd, int ofd, uint64_t len, uint64_t size,
    const char *path, char **cause)
{
	char buf[65536];
	uint64_t off = 0;
	ssize_t n;
	int fd, rc;

	fd = openat(dfd, SHM_FILE, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (fd < 0) {
		imp_asprintf(cause, "open(%s): %s", path, strerror(errno));
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		imp_asprintf(cause, "%s is in use by another impsolverd", path);
		close(fd);
		return (-1);
	}
	while (off < len) {
		n = pread(ofd, buf, len - off < sizeof buf ? len - off : sizeof buf,
		    (off_t)off);
		if (n <= 0 || pwrite(fd, buf, (size_t)n, (off_t)off) != n) {
			imp_asprintf(cause, "copying %s: %s", path,
			    n == 0 ? "short read" : strerror(errno));
			close(fd);
			return (-1);
		}
		off += (uint64_t)n;
	}
	rc = posix_fallocate(fd, 0, (off_t)size);
	if (rc != 0) {
		imp_asprintf(cause, "posix_fallocate(%s, %ju bytes): %s", path,
		    (uintmax_t)size, strerror(rc));
		close(fd);
		return (-1);
	}
	return (fd);
}

/* A file we cannot use: refuse when it may hold work, else set it aside. */
static int
shm_refuse_or_aside(int dfd, const char *dir, const char *path,
    const char *why, uint64_t pending, const char *kind, char **cause)
{
	if (pending != 0) {
		imp_asprintf(cause, "%s: %s, and it holds %ju pending "
		    "spectra/webhooks: not starting (run the impsolverd that "
		    "wrote it, or move the file away to start afresh)", path,
		    why, (uintmax_t)pending);
		return (-1);
	}
	log_warn("%s: %s, without pending work: starting afresh", path, why);
	return (shm_aside(dfd, dir, kind, cause));
}

/*
 * Make the state directory if missing and open it, checked (the links
 * we follow and the files we rename are in it).  The fd, or -1 with
 * *cause.
 */
static int
shm_dir_open(const char *dir, char **cause)
{
	int dfd;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		imp_asprintf(cause, "mkdir(%s): %s", dir, strerror(errno));
		return (-1);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		imp_asprintf(cause, "open(%s): %s", dir, strerror(errno));
		return (-1);
	}
	if (shm_dir_check(dfd, dir, cause) < 0) {
		close(dfd);
		return (-1);
	}
	return (dfd);
}

/*
 * Check the prefix and head of an existing file, read with pread: it is
 * not mapped yet, and a file shorter than its head says would SIGBUS.
 * 0: usable, *hd holds its head; 1: unusable and set aside (try the
 * name again); -1 with *cause: refused, as it may hold work.
 */
static int
shm_check_file(int dfd, const char *dir, const char *path, int fd,
    struct shm_head *hd, char **cause)
{
	struct shm_prefix pre;
	char *why = NULL, kind[32];
	ssize_t n;

	memset(&pre, 0, sizeof pre);
	n = pread(fd, &pre, sizeof pre, 0);
	if (n == (ssize_t)sizeof pre && pre.magic != SHM_MAGIC) {
		imp_asprintf(cause, "%s is not an impcore state file; "
		    "move it away", path);
		return (-1);
	}
	if (n != (ssize_t)sizeof pre) {
		/* a few bytes: nothing of it can be read */
		if (shm_refuse_or_aside(dfd, dir, path, "truncated to "
		    "less than its header", 0, "corrupt", cause) < 0)
			return (-1);
		return (1);
	}
	if (pre.layout_version != SHM_LAYOUT_VERSION) {
		char w[96];

		snprintf(w, sizeof w, "layout version %u (this program: "
		    "%u)", pre.layout_version, SHM_LAYOUT_VERSION);
		snprintf(kind, sizeof kind, "layout%u", pre.layout_version);
		if (shm_refuse_or_aside(dfd, dir, path, w, pre.pending,
		    kind, cause) < 0)
			return (-1);
		return (1);
	}
	memset(hd, 0, sizeof *hd);
	if (pread(fd, hd, sizeof *hd, 0) != (ssize_t)sizeof *hd ||
	    shm_check(hd, hd->pre.file_size, &why) < 0) {
		char w[256];

		snprintf(w, sizeof w, "header %s", why != NULL ? why :
		    "truncated");
		imp_free(why);
		why = NULL;
		/* pending as the prefix says: the rest cannot be read */
		if (shm_refuse_or_aside(dfd, dir, path, w, pre.pending,
		    "corrupt", cause) < 0)
			return (-1);
		return (1);
	}
	return (0);
}

/*
 * Truncated (a full disk, a bad copy): today's records up to where it
 * ends are read, never the file thrown away.  The original is kept
 * aside as it is; the handle takes a full-size copy of what it held.
 * 0 ok, -1 with *cause.
 */
static int
shm_salvage(int dfd, const char *dir, struct shm *s, uint64_t have,
    uint64_t size, char **cause)
{
	int nfd;

	log_warn("%s: truncated (%ju of %ju bytes): salvaging "
	    "what it holds", s->path, (uintmax_t)have, (uintmax_t)size);
	if (shm_aside(dfd, dir, "corrupt", cause) < 0)
		return (-1);
	nfd = shm_salvage_copy(dfd, s->fd, have, size, s->path, cause);
	if (nfd < 0)
		return (-1);
	close(s->fd);
	s->fd = nfd;
	s->salvage_size = have;
	return (0);
}

/*
 * One try at the file that has the name now: open and lock it, check it,
 * map it.  0: *out holds it, mapped and validated (*kept 1), or empty and
 * unmapped (*kept 0: new); 1: it was set aside, try again; -1 with
 * *cause.
 */
static int
shm_take(int dfd, const char *dir, const char *path, struct shm **out,
    int *kept, char **cause)
{
	struct shm_head hd;
	struct shm *s;
	struct stat st;
	int fd, rc;

	*out = NULL;
	*kept = 0;
	if ((fd = shm_open_locked(dfd, path, cause)) < 0)
		return (-1);
	s = shm_handle(path, fd, 0);
	if (fstat(fd, &st) < 0) {
		imp_asprintf(cause, "fstat(%s): %s", path, strerror(errno));
		goto fail;
	}
	if (st.st_size == 0) {
		*out = s;	/* new */
		return (0);
	}
	if ((rc = shm_check_file(dfd, dir, path, fd, &hd, cause)) != 0) {
		shm_close(s);	/* and its lock: the next try takes the name's */
		return (rc);
	}
	if ((uint64_t)st.st_size < hd.pre.file_size &&
	    shm_salvage(dfd, dir, s, (uint64_t)st.st_size, hd.pre.file_size,
	    cause) < 0)
		goto fail;
	if (shm_map(s, hd.pre.file_size, cause) < 0)
		goto fail;
	if (shm_check(s->head, s->size, cause) < 0)
		goto fail;	/* changed under the lock: cannot be */
	shm_pointers(s);
	*out = s;
	*kept = 1;
	return (0);
fail:
	shm_close(s);
	return (-1);
}

int
shm_geom_is(const struct shm *s, const struct shm_geom *g)
{
	struct shm_head want;
	const struct shm_head *h = s->head;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	shm_layout(&want, g);
	return (h->queue_size == g->queue_size && h->results == g->results &&
	    h->max_points == g->max_points &&
	    h->arena_units == want.arena_units);
}

int
shm_recreate(struct shm *s, const struct shm_geom *g, char **cause)
{
	struct shm_head want;
	uint64_t size;
	int rc;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	size = shm_layout(&want, g);
	shm_unmap(s);
	/* fresh file, fully allocated: a sparse file would SIGBUS on ENOSPC */
	if (ftruncate(s->fd, 0) < 0) {
		imp_asprintf(cause, "ftruncate(%s): %s", s->path,
		    strerror(errno));
		return (-1);
	}
	rc = posix_fallocate(s->fd, 0, (off_t)size);
	if (rc != 0) {
		imp_asprintf(cause, "posix_fallocate(%s, %ju bytes): %s",
		    s->path, (uintmax_t)size, strerror(rc));
		return (-1);
	}
	if (shm_map(s, size, cause) < 0)
		return (-1);
	shm_init_fresh(s, &want);
	return (0);
}

int
shm_create(const char *dir, const struct shm_geom *g, struct shm **out,
    int *kept, char **cause)
{
	struct shm *s = NULL;
	char *path;
	int dfd, rc, round;

	*out = NULL;
	*kept = 0;
	if ((dfd = shm_dir_open(dir, cause)) < 0)
		return (-1);
	imp_asprintf(&path, "%s/%s", dir, SHM_FILE);
	/* at most: set one file aside, then take the new one */
	for (round = 0; ; round++) {
		if (round == 3) {
			imp_asprintf(cause, "%s: cannot settle on a state file",
			    path);
			rc = -1;
			break;
		}
		if ((rc = shm_take(dfd, dir, path, &s, kept, cause)) != 1)
			break;
	}
	if (rc == 0 && !*kept && shm_recreate(s, g, cause) < 0) {
		shm_close(s);
		rc = -1;
	}
	if (rc == 0)
		*out = s;
	close(dfd);
	imp_free(path);
	return (rc);
}

/*
 * Map an existing file for a tool (impctl): validated like shm_open_ro
 * does, never locked, created or recovered.  ro 0 (impctl webhook-retry)
 * maps it read-write for a few CAS on the live file.
 */
static int
shm_open_tool(const char *dir, int ro, struct shm **out, char **cause)
{
	struct shm *s;
	struct stat st;
	char *path;
	int fd;

	*out = NULL;
	imp_asprintf(&path, "%s/%s", dir, SHM_FILE);
	/*
	 * Non-blocking: a FIFO (or a device) in its place would block the
	 * open for ever.  A writer (webhook-retry) follows no link.
	 */
	fd = open(path, (ro ? O_RDONLY : O_RDWR | O_NOFOLLOW) | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			imp_asprintf(cause, "%s: no state file (is the state "
			    "directory right? impsolverd -state-dir)", path);
		else
			imp_asprintf(cause, "open(%s): %s", path, strerror(errno));
		imp_free(path);
		return (-1);
	}
	s = shm_handle(path, fd, ro);
	imp_free(path);
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		imp_asprintf(cause, "%s: not a regular file", s->path);
		goto fail;
	}
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct shm_prefix)) {
		imp_asprintf(cause, "%s: empty or truncated state file", s->path);
		goto fail;
	}
	if (shm_map(s, (size_t)st.st_size, cause) < 0)
		goto fail;
	if (shm_check(s->head, s->size, cause) < 0) {
		char *c = *cause;
		imp_asprintf(cause, "%s: %s", s->path, c);
		imp_free(c);
		goto fail;
	}
	shm_pointers(s);
	*out = s;
	return (0);
fail:
	shm_close(s);
	return (-1);
}

int
shm_open_ro(const char *dir, struct shm **out, char **cause)
{
	return (shm_open_tool(dir, 1, out, cause));
}

int
shm_open_rw(const char *dir, struct shm **out, char **cause)
{
	return (shm_open_tool(dir, 0, out, cause));
}

void
shm_close(struct shm *s)
{
	if (s == NULL)
		return;
	shm_unmap(s);
	if (s->fd >= 0)
		close(s->fd);
	imp_free(s->path);
	s->magic = 0;
	imp_free(s);
}

const char *
shm_path(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (s->path);
}

int
shm_is_readonly(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (s->ro);
}

void
shm_geom_get(const struct shm *s, struct shm_geom *g)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	g->queue_size = s->head->queue_size;
	g->results = s->head->results;
	g->max_points = s->head->max_points;
	g->arena_bytes = (uint64_t)s->head->arena_units * RTAB_UNIT;
}

uint32_t
shm_layout_version(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (s->head->pre.layout_version);
}

pid_t
shm_master_pid(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return ((pid_t)CMM_LOAD_SHARED(s->head->master_pid));
}

uint64_t
shm_birth(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (CMM_LOAD_SHARED(s->head->birth));
}

uint64_t
shm_size(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (s->head->pre.file_size);
}

void
shm_set_master(struct shm *s, pid_t pid)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	s->head->master_pid = pid;
	s->head->birth = tim_real();
	cmm_smp_mb();
	s->head->ready = 1;
}

void
shm_set_pending(struct shm *s, uint64_t pending)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	CMM_STORE_SHARED(s->head->pre.pending, pending);
}

uint64_t
shm_next_id(struct shm *s)
{
	uint64_t n;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	n = uatomic_add_return(&s->head->id_seq, 1);
	/* an odd multiplier is a bijection mod 2^64: unique, not sequential-looking */
	return ((n * 0x9e3779b97f4a7c15ull) ^ s->head->id_salt);
}

struct ring *
shm_job_ring(struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (s->job_ring);
}

struct ring *
shm_wh_ring(struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (s->wh_ring);
}

/*==================================================================
 * Process table
 */

int
shm_proc_alloc(struct shm *s, enum shm_role role, int index, unsigned generation)
{
	int i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < SHM_NPROC; i++) {
		struct shm_proc *p = &s->procs[i];
		if (p->state != SHM_P_FREE && p->state != SHM_P_DEAD)
			continue;
		if (p->stats.magic != STAT_BLOCK_MAGIC)
			stat_block_init(&p->stats);
		stat_gauges_clear(&p->stats);
		p->pid = 0;
		p->role = role;
		p->index = index;
		p->generation = generation;
		p->t_start = tim_real();
		p->heartbeat = p->t_start;
		p->idle = p->busy = p->inflight = 0;
		p->ctl = 0;
		memset(p->ctl_seq, 0, sizeof p->ctl_seq);
		memset(p->ctl_ack, 0, sizeof p->ctl_ack);
		p->last_words[0] = '\0';
		/* raised before the slot turns live, so a scan to proc_hw
		 * that sees it live has not stopped short of it */
		if (s->head->proc_hw != 0 && (uint32_t)i >= s->head->proc_hw)
			CMM_STORE_SHARED(s->head->proc_hw, (uint32_t)i + 1);
		cmm_smp_wmb();
		CMM_STORE_SHARED(p->state, SHM_P_STARTING);
		return (i);
	}
	return (-1);
}

void
shm_proc_set_pid(struct shm *s, int slot, pid_t pid)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	CMM_STORE_SHARED(s->procs[slot].pid, pid);
}

void
shm_proc_set_dead(struct shm *s, int slot)
{
	struct shm_proc *p = &s->procs[slot];

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	CMM_STORE_SHARED(p->idle, 0);
	CMM_STORE_SHARED(p->busy, 0);
	CMM_STORE_SHARED(p->inflight, 0);
	stat_gauges_clear(&p->stats);
	cmm_smp_wmb();
	CMM_STORE_SHARED(p->state, SHM_P_DEAD);
}

struct shm_proc *
shm_proc(struct shm *s, int slot)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (slot < 0 || slot >= SHM_NPROC)
		return (NULL);
	return (&s->procs[slot]);
}

struct stat_block *
shm_proc_stats(const struct shm *s, int slot)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (slot < 0 || slot >= SHM_NPROC || s->procs[slot].magic != SHM_PROC_MAGIC)
		return (NULL);
	return (&s->procs[slot].stats);
}

int
shm_proc_get(const struct shm *s, int slot, struct shm_proc_info *pi)
{
	const struct shm_proc *p;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (slot < 0 || slot >= SHM_NPROC)
		return (-1);
	p = &s->procs[slot];
	if (p->magic != SHM_PROC_MAGIC)
		return (-1);
	memset(pi, 0, sizeof *pi);
	pi->slot = slot;
	pi->state = CMM_LOAD_SHARED(p->state);
	pi->pid = CMM_LOAD_SHARED(p->pid);
	pi->role = p->role < SHM_ROLE__N ? (enum shm_role)p->role : SHM_ROLE_NONE;
	pi->index = p->index;
	pi->generation = p->generation;
	pi->t_start = p->t_start;
	pi->heartbeat = CMM_LOAD_SHARED(p->heartbeat);
	pi->idle = CMM_LOAD_SHARED(p->idle);
	pi->busy = CMM_LOAD_SHARED(p->busy);
	pi->inflight = CMM_LOAD_SHARED(p->inflight);
	memcpy(pi->last_words, p->last_words, sizeof pi->last_words);
	pi->last_words[sizeof pi->last_words - 1] = '\0';
	if (pi->state > SHM_P_DEAD)
		pi->state = SHM_P_DEAD;
	return (0);
}

static int
shm_live(const struct shm_proc *p)
{
	unsigned st = CMM_LOAD_SHARED(p->state);

	return (st == SHM_P_STARTING || st == SHM_P_RUNNING || st == SHM_P_DRAINING);
}

/* Where a scan of the process slots may stop (see proc_hw). */
static uint32_t
shm_scan_end(const struct shm *s)
{
	uint32_t hw = CMM_LOAD_SHARED(s->head->proc_hw);

	return (hw == 0 || hw > SHM_NPROC ? SHM_NPROC : hw);
}

int
shm_tasks_split(const struct shm *s, int *procs, int *requests, int *fits)
{
	uint32_t i, end = shm_scan_end(s);
	const struct shm_proc *p;
	int np = 0, nr = 0, nf = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < end; i++) {
		p = &s->procs[i];
		if (shm_live(p)) {
			np++;
			nr += (int)CMM_LOAD_SHARED(p->inflight);
			nf += (int)CMM_LOAD_SHARED(p->busy);
		}
	}
	if (procs != NULL)
		*procs = np;
	if (requests != NULL)
		*requests = nr;
	if (fits != NULL)
		*fits = nf;
	return (np + nr + nf);
}

int
shm_tasks(const struct shm *s)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return (shm_tasks_split(s, NULL, NULL, NULL));
}

int
shm_proc_count(const struct shm *s, enum shm_role role)
{
	uint32_t i, end = shm_scan_end(s);
	int n = 0;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	/* GET /health counts the workers: only the slots ever used */
	for (i = 0; i < end; i++)
		if (shm_live(&s->procs[i]) &&
		    (role == SHM_ROLE_NONE || s->procs[i].role == (uint32_t)role))
			n++;
	return (n);
}

int
shm_proc_find_pid(const struct shm *s, pid_t pid)
{
	int i;

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	for (i = 0; i < SHM_NPROC; i++)
		if (CMM_LOAD_SHARED(s->procs[i].pid) == pid &&
		    shm_live(&s->procs[i]))
			return (i);
	return (-1);
}

int
shm_proc_live(const struct shm *s, int slot)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (slot < 0 || slot >= SHM_NPROC)
		return (0);
	return (shm_live(&s->procs[slot]));
}

enum shm_role
shm_proc_role(const struct shm *s, int slot)
{
	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	return ((enum shm_role)s->procs[slot].role);
}

void
shm_proc_set_state(struct shm_proc *p, enum shm_pstate st)
{
	cmm_smp_wmb();
	CMM_STORE_SHARED(p->state, st);
}

void
shm_proc_heartbeat(struct shm_proc *p)
{
	CMM_STORE_SHARED(p->heartbeat, tim_real());
}

void
shm_proc_set_busy(struct shm_proc *p, int busy)
{
	CMM_STORE_SHARED(p->busy, busy);
}

void
shm_proc_set_inflight(struct shm_proc *p, int n)
{
	CMM_STORE_SHARED(p->inflight, n);
}

void
shm_proc_last_words(struct shm_proc *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->last_words, sizeof p->last_words, fmt, ap);
	va_end(ap);
}

void
shm_proc_set_idle(struct shm_proc *p, int idle)
{
	uatomic_set(&p->idle, idle);
	/* full barrier: the caller checks the ring next (Dekker with producers) */
	cmm_smp_mb();
}

int
shm_proc_take_idle(struct shm *s, int slot)
{
	struct shm_proc *p = &s->procs[slot];

	CHECK_OBJ_NOTNULL(s, SHM_HANDLE_MAGIC);

	if (CMM_LOAD_SHARED(p->idle) == 0)
		return (0);
	return (uatomic_cmpxchg(&p->idle, 1, 0) == 1);
}

uint64_t *
shm_proc_ctl_word(struct shm_proc *p)
{
	return (&p->ctl);
}

uint64_t *
shm_proc_ctl_arg(struct shm_proc *p, int cmd)
{
	return (&p->ctl_arg[cmd]);
}

uint64_t *
shm_proc_ctl_ack(struct shm_proc *p, int cmd)
{
	return (&p->ctl_ack[cmd]);
}

uint64_t *
shm_proc_ctl_res(struct shm_proc *p, int cmd)
{
	return (p->ctl_res[cmd]);
}

uint64_t *
shm_proc_ctl_seq(struct shm_proc *p, int cmd)
{
	return (&p->ctl_seq[cmd]);
}

const char *
shm_role_name(enum shm_role r)
{
	static const char *const n[] = { "none", "master", "worker", "webhook",
	    "profiler" };

	return ((unsigned)r < SHM_ROLE__N ? n[r] : "?");
}

const char *
shm_pstate_name(enum shm_pstate st)
{
	static const char *const n[] = { "free", "starting", "running",
	    "draining", "dead" };

	return ((unsigned)st <= SHM_P_DEAD ? n[st] : "?");
}
