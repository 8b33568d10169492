/*
 * impcore - stack unwinding for the samplers, and the dump file writer.
 *
 * We call libgcc's _Unwind_Backtrace directly rather than glibc's
 * backtrace(): under AddressSanitizer backtrace() is intercepted and the
 * interceptor allocates, which must not happen inside SIGPROF.  On Debian 12
 * libgcc finds unwind tables with glibc's lock-free _dl_find_object, so the
 * unwinder takes no lock once it has been called once (prof_backtrace_init,
 * before the master forks).  Outside signal handlers libunwind, when
 * installed, is faster (see prof_backtrace).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include "prof/prof.h"
#include "prof/prof_priv.h"

struct prof_bt {
	uintptr_t	*pcs;
	int		max, n, skip;
	int		sig_at;		/* index of the signal-interrupted frame, -1 */
};

static _Unwind_Reason_Code
prof_bt_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct prof_bt *bt = arg;
	int before = 0;
	uintptr_t ip;

	ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &before);
	if (ip == 0)
		return (_URC_END_OF_STACK);
	if (bt->skip > 0) {
		bt->skip--;
		return (_URC_NO_REASON);
	}
	if (bt->n >= bt->max)
		return (_URC_END_OF_STACK);
	/* the unwinder flags the frame a signal interrupted: its ip is exact */
	if (before && bt->sig_at < 0)
		bt->sig_at = bt->n;
	bt->pcs[bt->n++] = ip;
	return (_URC_NO_REASON);
}

/*
 * libunwind's unw_backtrace, when prof_backtrace_init found it.  It keeps
 * a per-thread cache of how each return address's frame is laid out, so a
 * stack it has seen before costs some 5,000 instructions instead of
 * libgcc's 30,000 (it interprets every frame's DWARF rules each time): the
 * heap sampler unwinds on every 512 KiB allocated, which was half of what
 * -profile adds to a GET /health.  It is dlopen'ed RTLD_LOCAL, not linked:
 * libunwind also defines the _Unwind_* functions, and linked it would take
 * them over from libgcc for the whole process (the SIGPROF path below and
 * C++ exception handling).  Without libunwind8 installed, or with
 * IMPCORE_UNWIND=gcc in the environment, libgcc does all unwinding.
 */
typedef int	(*prof_unw_fn)(void **, int);
static prof_unw_fn	prof_unw_backtrace;

int __attribute__((noinline))
prof_backtrace(uintptr_t *pcs, int max, int skip)
{
	struct prof_bt bt = { pcs, max, 0, skip + 1, -1 };
	void *tmp[PROF_MAX_DEPTH + 16];
	int i, n, want;

	if (prof_unw_backtrace != NULL) {
		/* the same frames as below: ours first, then skip, then max */
		want = max + skip + 1;
		if (want > (int)(sizeof tmp / sizeof tmp[0]))
			want = (int)(sizeof tmp / sizeof tmp[0]);
		n = prof_unw_backtrace(tmp, want);
		for (i = skip + 1; i < n && bt.n < max; i++)
			pcs[bt.n++] = (uintptr_t)tmp[i];
		return (bt.n);
	}
	/* +1: our own frame */
	_Unwind_Backtrace(prof_bt_frame, &bt);
	return (bt.n);
}

static uintptr_t
prof_uc_pc(void *ucv)
{
	ucontext_t *uc = ucv;

	if (uc == NULL)
		return (0);
#if defined(__x86_64__)
	return ((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__i386__)
	return ((uintptr_t)uc->uc_mcontext.gregs[REG_EIP]);
#elif defined(__aarch64__)
	return ((uintptr_t)uc->uc_mcontext.pc);
#else
	return (0);
#endif
}

int __attribute__((noinline))
prof_backtrace_signal(void *uc, uintptr_t *pcs, int max)
{
	uintptr_t tmp[PROF_MAX_DEPTH + 8];
	struct prof_bt bt = { tmp, PROF_MAX_DEPTH + 8, 0, 0, -1 };
	uintptr_t pc = prof_uc_pc(uc);
	int i, n = 0;

	if (max <= 0)
		return (0);
	_Unwind_Backtrace(prof_bt_frame, &bt);
	if (bt.sig_at >= 0) {
		/* handler frames and the sigreturn trampoline are dropped */
		for (i = bt.sig_at; i < bt.n && n < max; i++)
			pcs[n++] = tmp[i];
		if (pc != 0)
			pcs[0] = pc;
		return (n);
	}
	/* no unwind info across the signal frame: the leaf alone is still right */
	if (pc != 0)
		pcs[n++] = pc;
	return (n);
}

void
prof_backtrace_init(void)
{
	const char *env = getenv("IMPCORE_UNWIND");
	uintptr_t pcs[4];
	void *h, *f;

	if (env == NULL || strcmp(env, "gcc") != 0) {
		h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
		f = h != NULL ? dlsym(h, "unw_backtrace") : NULL;
		/* a function pointer from dlsym's void * (POSIX allows it) */
		memcpy(&prof_unw_backtrace, &f, sizeof f);
	}
	/* both unwinders once: libgcc serves the SIGPROF path either way */
	(void)prof_backtrace(pcs, 4, 0);
	(void)prof_backtrace_signal(NULL, pcs, 4);
}

const char *
prof_unwinder(void)
{
	return (prof_unw_backtrace != NULL ? "libunwind" : "libgcc");
}

uint64_t
prof_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* ---- dump files ------------------------------------------------------------ */

int
prof_out_open(struct prof_out *o, const char *path)
{
	o->len = 0;
	o->err = 0;
	(void)unlink(path);
	o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		o->err = errno;
		return (o->err);
	}
	return (0);
}

static void
prof_out_flush(struct prof_out *o)
{
	size_t off = 0;
	ssize_t w;

	while (off < o->len && o->err == 0) {
		w = write(o->fd, o->buf + off, o->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			break;
		}
		off += (size_t)w;
	}
	o->len = 0;
}

void
prof_out_write(struct prof_out *o, const void *p, size_t n)
{
	const char *s = p;
	size_t k;

	while (n > 0 && o->err == 0) {
		if (o->len == sizeof o->buf)
			prof_out_flush(o);
		k = sizeof o->buf - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

void
prof_out_printf(struct prof_out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	prof_out_write(o, line, (size_t)n);
}

void
prof_out_stack(struct prof_out *o, const uintptr_t *pcs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		prof_out_printf(o, " %#lx", (unsigned long)pcs[i]);
}

int
prof_out_close(struct prof_out *o)
{
	if (o->fd < 0)
		return (o->err ? o->err : EBADF);
	prof_out_flush(o);
	if (close(o->fd) < 0 && o->err == 0)
		o->err = errno;
	o->fd = -1;
	return (o->err);
}
