/*
 * impcore - cross-process control and wake-ups over per-slot eventfds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "state/ctl.h"
#include "state/shm.h"

static struct {
	const char	*name;
	ctl_fn		*fn;
	void		*priv;
} ctl_table[CTL_CMD_MAX];

static int	ctl_fds[SHM_NPROC];
static int	ctl_nfds;

int
ctl_register(int cmd, const char *name, ctl_fn *fn, void *priv)
{
	if (cmd <= CTL_CMD_NONE || cmd >= CTL_CMD_MAX || ctl_table[cmd].fn != NULL)
		return (-1);
	ctl_table[cmd].name = name;
	ctl_table[cmd].fn = fn;
	ctl_table[cmd].priv = priv;
	return (0);
}

const char *
ctl_name(int cmd)
{
	if (cmd <= CTL_CMD_NONE || cmd >= CTL_CMD_MAX || ctl_table[cmd].name == NULL)
		return ("?");
	return (ctl_table[cmd].name);
}

int
ctl_setup(int nslots, char **cause)
{
	int i;

	if (nslots > SHM_NPROC)
		nslots = SHM_NPROC;
	for (i = 0; i < nslots; i++) {
		/* not CLOEXEC-sensitive: we never exec; nonblocking for the loops */
		ctl_fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ctl_fds[i] < 0) {
			imp_asprintf(cause, "eventfd: %s", strerror(errno));
			while (i-- > 0)
				close(ctl_fds[i]);
			return (-1);
		}
	}
	ctl_nfds = nslots;
	return (0);
}

int
ctl_fd(int slot)
{
	if (slot < 0 || slot >= ctl_nfds)
		return (-1);
	return (ctl_fds[slot]);
}

void
ctl_wake(int slot)
{
	uint64_t one = 1;
	int fd = ctl_fd(slot);

	/* EAGAIN means the counter is huge: the target is awake anyway */
	if (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_syserr("write(eventfd)");
}

int
ctl_wake_workers(struct shm *shm, int n)
{
	int i, woken = 0;

	for (i = 0; i < ctl_nfds && woken < n; i++) {
		if (!shm_proc_live(shm, i) || shm_proc_role(shm, i) != SHM_ROLE_WORKER)
			continue;
		if (shm_proc_take_idle(shm, i)) {
			ctl_wake(i);
			woken++;
		}
	}
	return (woken);
}

void
ctl_wake_role(struct shm *shm, int role)
{
	int i;

	for (i = 0; i < ctl_nfds; i++)
		if (shm_proc_live(shm, i) && shm_proc_role(shm, i) == (enum shm_role)role)
			ctl_wake(i);
}

void
ctl_wake_due(struct shm *shm, uint32_t jobs, uint32_t webhooks)
{
	if (jobs > 0)
		(void)ctl_wake_workers(shm, (int)jobs);
	if (webhooks > 0)
		ctl_wake_role(shm, SHM_ROLE_WEBHOOK);
}

uint64_t
ctl_send(struct shm *shm, int slot, int cmd, uint64_t arg)
{
	struct shm_proc *p = shm_proc(shm, slot);
	uint64_t seq;

	if (p == NULL || cmd <= CTL_CMD_NONE || cmd >= CTL_CMD_MAX ||
	    !shm_proc_live(shm, slot))
		return (0);
	uatomic_set(shm_proc_ctl_arg(p, cmd), arg);
	seq = uatomic_add_return(shm_proc_ctl_seq(p, cmd), 1);
	uatomic_or(shm_proc_ctl_word(p), 1ull << cmd);
	ctl_wake(slot);
	return (seq);
}

int
ctl_acked(struct shm *shm, int slot, int cmd, uint64_t ack)
{
	struct shm_proc *p = shm_proc(shm, slot);

	if (p == NULL || cmd <= CTL_CMD_NONE || cmd >= CTL_CMD_MAX)
		return (1);
	if (!shm_proc_live(shm, slot))
		return (1);	/* nobody left to answer */
	return (uatomic_read(shm_proc_ctl_ack(p, cmd)) >= ack);
}

int
ctl_dispatch(struct shm *shm, int slot)
{
	struct shm_proc *p = shm_proc(shm, slot);
	uint64_t v, bits, seq;
	int cmd, n = 0, fd = ctl_fd(slot);

	if (fd >= 0 && read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_syserr("read(eventfd)");
	if (p == NULL)
		return (0);
	bits = uatomic_xchg(shm_proc_ctl_word(p), 0);
	for (cmd = 1; cmd < CTL_CMD_MAX && bits != 0; cmd++) {
		if ((bits & (1ull << cmd)) == 0)
			continue;
		bits &= ~(1ull << cmd);
		/* everything posted up to now is answered by this run */
		seq = uatomic_read(shm_proc_ctl_seq(p, cmd));
		if (ctl_table[cmd].fn != NULL)
			ctl_table[cmd].fn(shm, slot, cmd,
			    uatomic_read(shm_proc_ctl_arg(p, cmd)),
			    shm_proc_ctl_res(p, cmd), ctl_table[cmd].priv);
		cmm_smp_wmb();
		uatomic_set(shm_proc_ctl_ack(p, cmd), seq);
		n++;
	}
	return (n);
}

/*==================================================================
 * Built-in commands: GET /debug/gc and GET /debug/memory
 */

static uint64_t	ctl_trims;

/*
 * GET /debug/gc in one process: res[0] the heap in use, res[1] what malloc
 * holds from the OS before the trim (arenas and mmapped blocks), res[2]
 * and res[3] the RSS before and after.  The heap in use is the one figure
 * of that name everywhere (issue 17, item 8): bytes allocated minus freed
 * through the allocator hooks (mem_in_use(): imp_malloc, jansson,
 * libevent, libcurl), as in /debug/stats, /debug/info and the 📊 lines,
 * not mallinfo's view, which also counts what other libraries allocate
 * behind the hooks.  A trim frees no object (unlike Go's GC): it returns
 * free pages, so the heap is the same after it and the RSS says the rest.
 */
static void
ctl_trim_fn(struct shm *shm, int slot, int cmd, uint64_t arg, uint64_t *res,
    void *priv)
{
	uint64_t inuse;
	int64_t heap = mem_in_use();

	(void)shm; (void)slot; (void)cmd; (void)arg; (void)priv;
	res[0] = heap > 0 ? (uint64_t)heap : 0;
	mem_malloc_info(&inuse, &res[1]);
	res[2] = mem_rss();
	mem_trim();
	ctl_trims++;
	res[3] = mem_rss();
}

void
ctl_memory_line(char *buf, size_t len, const uint64_t res[CTL_RES_WORDS],
    int tasks)
{
	snprintf(buf, len, "\xf0\x9f\x93\x8a Memory: Alloc=%.2fMB, "
	    "TotalAlloc=%.2fMB, Sys=%.2fMB, GC=%ju, Goroutines=%d",
	    (double)res[0] / 1048576.0, (double)res[1] / 1048576.0,
	    (double)res[2] / 1048576.0, (uintmax_t)res[3], tasks);
}

static void
ctl_memlog_fn(struct shm *shm, int slot, int cmd, uint64_t arg, uint64_t *res,
    void *priv)
{
	char line[256];
	int64_t inuse = mem_in_use();

	(void)slot; (void)cmd; (void)priv;
	res[0] = inuse > 0 ? (uint64_t)inuse : 0;
	res[1] = mem_allocated();
	res[2] = mem_rss();
	res[3] = ctl_trims;
	ctl_memory_line(line, sizeof line, res, (int)arg);
	log_info("%s", line);
	(void)shm;
}

void
ctl_register_builtin(void)
{
	ctl_register(CTL_CMD_TRIM, "malloc-trim", ctl_trim_fn, NULL);
	ctl_register(CTL_CMD_MEMLOG, "memory-log", ctl_memlog_fn, NULL);
}
