/*
 * impcore - SIGPROF CPU sampler of one process.
 *
 * setitimer(ITIMER_PROF) sends SIGPROF every 1/hz s of CPU time this
 * process uses; the handler appends one record of the gperftools legacy
 * format ("1, n, pc[0..n-1]", 64-bit words) to a buffer mapped when the
 * profile starts, so the handler never allocates, locks or calls stdio.
 * Timers are not inherited across fork(), which is why each process arms
 * its own, from its event loop (PROF_CMD_CPU_START).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "prof/prof.h"
#include "prof/prof_priv.h"

/*
 * The buffer holds every sample of the longest profile at full depth:
 * hz x (max seconds + slack) x (2 + PROF_MAX_DEPTH) words.  It is mapped
 * MAP_NORESERVE, so only the pages samples touch become resident.
 */
static uint64_t		*cpu_buf;
static size_t		cpu_words;		/* capacity */
static size_t		cpu_pos;		/* next free word (atomic) */
static uint64_t		cpu_samples;		/* records written (atomic) */
static uint64_t		cpu_dropped;		/* buffer full (atomic) */
static size_t		cpu_fail_at;		/* first reservation that did not fit (atomic min) */
static volatile sig_atomic_t cpu_on;
static int		cpu_inside;		/* handlers running now (atomic) */
static int		cpu_installed;

static void
prof_cpu_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t pcs[PROF_MAX_DEPTH];
	int saved = errno, n, i;
	size_t at;

	(void)sig;
	(void)si;
	__atomic_add_fetch(&cpu_inside, 1, __ATOMIC_ACQUIRE);
	if (!cpu_on)
		goto out;
	n = prof_backtrace_signal(uc, pcs, PROF_MAX_DEPTH);
	if (n <= 0)
		goto out;
	/* reserve with one atomic add: threads of a process may sample at once */
	at = __atomic_fetch_add(&cpu_pos, (size_t)n + 2, __ATOMIC_RELAXED);
	if (at + (size_t)n + 2 > cpu_words) {
		size_t f = __atomic_load_n(&cpu_fail_at, __ATOMIC_RELAXED);

		/* remember where valid records end: nothing was written at 'at' */
		while (at < f && !__atomic_compare_exchange_n(&cpu_fail_at, &f,
		    at, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		__atomic_add_fetch(&cpu_dropped, 1, __ATOMIC_RELAXED);
		/*
		 * Full: the profile outlived its length, so its profiler died.
		 * Stop the timer (a plain syscall, safe here) rather than pay
		 * for signals nobody will read.
		 */
		cpu_on = 0;
		{
			struct itimerval off;

			memset(&off, 0, sizeof off);
			(void)setitimer(ITIMER_PROF, &off, NULL);
		}
		goto out;
	}
	cpu_buf[at] = 1;
	cpu_buf[at + 1] = (uint64_t)n;
	for (i = 0; i < n; i++)
		cpu_buf[at + 2 + (size_t)i] = (uint64_t)pcs[i];
	__atomic_add_fetch(&cpu_samples, 1, __ATOMIC_RELAXED);
out:
	__atomic_sub_fetch(&cpu_inside, 1, __ATOMIC_RELEASE);
	errno = saved;
}

int
prof_cpu_running(void)
{
	return (cpu_on != 0);
}

/*
 * Arm the sampler for at most max_seconds of samples at hz.  Restarts
 * cleanly if a previous profile was never stopped (profiler restarted).
 * 0 ok, else an errno.
 */
int
prof_cpu_start(int hz, int max_seconds)
{
	struct sigaction sa;
	struct itimerval it;
	size_t words;

	if (hz <= 0 || hz > 1000)
		hz = PROF_CPU_HZ;
	if (max_seconds <= 0 || max_seconds > PROF_CPU_MAX_SECONDS)
		max_seconds = PROF_CPU_MAX_SECONDS;
	cpu_on = 0;
	words = (size_t)hz * ((size_t)PROF_CPU_MAX_SECONDS + 10) *
	    (2 + PROF_MAX_DEPTH);
	if (cpu_buf == NULL) {
		void *p = mmap(NULL, words * sizeof(uint64_t),
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return (errno);
		cpu_buf = p;
		cpu_words = words;
	}
	if (!cpu_installed) {
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = prof_cpu_handler;
		/* SA_RESTART: libevent and our I/O never see EINTR from us */
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGPROF, &sa, NULL) < 0)
			return (errno);
		cpu_installed = 1;
	}
	__atomic_store_n(&cpu_pos, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&cpu_samples, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&cpu_dropped, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&cpu_fail_at, (size_t)-1, __ATOMIC_RELAXED);
	/* what the handler may fill: max_seconds' worth, not the whole map */
	cpu_words = (size_t)hz * ((size_t)max_seconds + 5) * (2 + PROF_MAX_DEPTH);
	if (cpu_words > words)
		cpu_words = words;
	cpu_on = 1;
	memset(&it, 0, sizeof it);
	it.it_interval.tv_usec = 1000000 / hz;
	it.it_value = it.it_interval;
	if (setitimer(ITIMER_PROF, &it, NULL) < 0) {
		cpu_on = 0;
		return (errno);
	}
	return (0);
}

/*
 * Disarm and write the records to path (raw words; the profiler adds the
 * header, trailer and memory map).  0 ok, else an errno; *nrec samples.
 */
int
prof_cpu_stop(const char *path, uint64_t *nrec)
{
	struct itimerval it;
	struct prof_out o;
	size_t len;

	*nrec = 0;
	cpu_on = 0;
	memset(&it, 0, sizeof it);
	(void)setitimer(ITIMER_PROF, &it, NULL);
	/* a handler of another thread may still be copying its record */
	while (__atomic_load_n(&cpu_inside, __ATOMIC_ACQUIRE) != 0)
		sched_yield();
	if (prof_out_open(&o, path) != 0)
		return (o.err);
	/*
	 * Reservations are handed out in order, so every record below the
	 * first one that did not fit is complete.
	 */
	len = __atomic_load_n(&cpu_pos, __ATOMIC_RELAXED);
	if (len > __atomic_load_n(&cpu_fail_at, __ATOMIC_RELAXED))
		len = cpu_fail_at;
	if (cpu_buf != NULL && len > 0)
		prof_out_write(&o, cpu_buf, len * sizeof(uint64_t));
	*nrec = __atomic_load_n(&cpu_samples, __ATOMIC_RELAXED);
	/* give the pages back: a profile is rare, the buffer is megabytes */
	if (cpu_buf != NULL)
		(void)madvise(cpu_buf, cpu_words * sizeof(uint64_t), MADV_DONTNEED);
	__atomic_store_n(&cpu_pos, 0, __ATOMIC_RELAXED);
	return (prof_out_close(&o));
}
