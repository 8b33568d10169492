/*
 * impcore - the webhook process's internals.  NB: not an API; only
 * src/webhook/whk_*.c include this.
 *
 * whk_main.c	process life: loop, signals, periodic scan, drain on SIGTERM
 * whk_sched.c	which record goes when: intake (ring, scan), per-target queues,
 *		global and per-target bounds, retry timers and backoff
 * whk_http.c	one attempt: body, headers, signature, libcurl multi on libevent
 * whk_batch.c	the body of a batch delivery (webhook_mode batch), its parts
 */
#ifndef IMP_WHK_PRIV_H
#define IMP_WHK_PRIV_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "lib/buf.h"
#include "render/render.h"
#include "state/rtab.h"

struct shm;
struct child_ctx;
struct urlallow;
struct whk_key;

#define WHK_MAGIC		0x57484b21u	/* "WHK!" */
#define WHK_TARGET_MAGIC	0x57544754u	/* "WTGT" */
#define WHK_DLV_MAGIC		0x57444c56u	/* "WDLV" */

/*
 * Bounds.  Compile-time on purpose: cfg.h is the server's, and these are
 * not tunables a user has asked for.  XXX make them flags if one does.
 * (The timeouts and redirects were asked for: -webhook-timeout,
 * -webhook-connect-timeout, -webhook-redirects.)
 */
#define WHK_MAX_INFLIGHT	256	/* attempts in flight, all targets */
#define WHK_MAX_PER_TARGET	32	/* attempts in flight to one host:port */
#define WHK_BACKOFF_MS		1000	/* first retry; env IMP_WEBHOOK_BACKOFF_MS */
#define WHK_BACKOFF_MAX_MS	600000	/* backoff cap: 10 min */
#define WHK_JITTER		0.2	/* +-20% on every backoff */
#define WHK_SCAN_MS		2000	/* rescan of the state file for due work */
#define WHK_DRAIN_MS		2000	/* SIGTERM: wait this long for in-flight attempts */
#define WHK_INTAKE_BATCH	512	/* ring entries taken per loop turn */

/* What this process knows about a record (one byte per record). */
enum whk_mark {
	WHK_M_NONE = 0,		/* nothing local: the file is the truth */
	WHK_M_WAIT,		/* due, in a target's queue, waiting for a slot */
	WHK_M_TIMER,		/* our retry timer will look at it at due_at[rec] */
	WHK_M_FLIGHT,		/* an attempt of ours is in flight */
	WHK_M_PARKED		/* no usable URL in this process (no -webhook-url):
				   left PENDING for a process that has one */
};

/* One destination host:port: its own bound and its own FIFO of records. */
struct whk_target {
	unsigned		magic;
	struct whk_target	*hnext;		/* hash chain */
	TAILQ_ENTRY(whk_target)	rlink;		/* in whk.ready */
	int			in_ready;
	char			*key;		/* "scheme://host:port" */
	int			inflight;
	uint32_t		qhead, qtail;	/* linked through whk.qnext; RTAB_NONE: empty */
	uint32_t		qlen;
};
TAILQ_HEAD(whk_target_list, whk_target);
LIST_HEAD(whk_dlv_list, whk_dlv);
LIST_HEAD(whk_sock_list, whk_sock);

/*
 * Header lines of an attempt.  The list handed to CURLOPT_HTTPHEADER is
 * made of our own nodes, over buffers that live in the whk_dlv: libcurl
 * only walks it (and never frees it), and building it costs no allocation.
 * Content-Type, webhook-id, webhook-timestamp, webhook-signature (only
 * with a key), "Expect:".
 */
#define WHK_HDR_MAX		5
#define WHK_HDR_LINE		(RTAB_RESID_LEN + 48 + 32)

/* One attempt in flight (or a spare, with its easy handle kept for reuse). */
struct whk_dlv {
	unsigned		magic;
	LIST_ENTRY(whk_dlv)	link;		/* whk.flying, or whk.spare */
	CURL			*easy;
	int			easy_ready;	/* options every attempt shares are set */
	struct curl_slist	hdr[WHK_HDR_MAX];
	char			hdr_id[WHK_HDR_LINE];
	char			hdr_ts[WHK_HDR_LINE];
	char			hdr_sig[WHK_HDR_LINE];
	struct whk_target	*tgt;
	uint32_t		rec;
	int			attempt;	/* 1 for the first */
	char			*url;		/* the delivery target (imp_strdup) */
	int			hops;		/* redirects followed in this attempt */
	/* the webhook-id: a result id, or a batch delivery's with "-<part>" */
	char			resid[RTAB_RESID_LEN + 16];
	int			batch;		/* a batch delivery (item >= records) */
	uint32_t		part, parts;	/* batch: this part (0-based), of */
	struct buf		cbuf;		/* holds content; kept for the next attempt */
	char			*content;	/* "id.ts.body": signed content; body follows prefix */
	size_t			prefix;
	size_t			len;
	uint64_t		first;		/* REALTIME ns of the first attempt */
	uint64_t		t0;		/* MONOTONIC ns at start */
	char			errbuf[CURL_ERROR_SIZE];
};

/* A socket libcurl asked us to watch. */
struct whk_sock {
	struct whk		*w;
	LIST_ENTRY(whk_sock)	link;		/* whk.socks */
	curl_socket_t		fd;
	struct event		ev;
	int			added;
};

/*
 * The parts of a split batch delivery (whk_batch.c): part k is records
 * start[k] .. start[k + 1] of the batch.  Found once, so that each part
 * renders only its own results; kept by item, checked against the
 * delivery's id, its size and the limit.
 */
#define WHK_CUTS		16
struct whk_cuts {
	char			id[RTAB_RESID_LEN + 1];	/* delivery's webhook-id */
	uint32_t		item;
	int			n;		/* records of the batch */
	uint64_t		lim;		/* -webhook-batch-max it was cut at */
	uint32_t		nparts;
	uint32_t		*start;		/* nparts + 1; NULL: free */
};

/* A retry time in the local min-heap. */
struct whk_due {
	uint64_t		at;		/* REALTIME ns */
	uint32_t		rec;
};

struct whk {
	unsigned		magic;
	struct event_base	*base;
	struct shm		*shm;
	struct child_ctx	*ctx;
	pid_t			pid;
	int			stopping;

	/* settings */
	const char		*default_url;	/* -webhook-url, or NULL */
	struct whk_key		*key;		/* -webhook-secret, or NULL */
	uint64_t		max_age;	/* ns */
	long			timeout_ms, connect_ms;	/* whole attempt; connect */
	int			max_redirs;	/* -webhook-redirects */
	struct urlallow		*allow;		/* -webhook-allow, for redirect hops */
	uint64_t		backoff_ns;
	uint64_t		backoff_max_ns;	/* WHK_BACKOFF_MAX_MS, or the test knob */
	uint64_t		rng;		/* jitter */

	/* per record (rtab_nrecords() entries each) */
	uint32_t		nrec;
	uint8_t			*mark;		/* enum whk_mark */
	uint32_t		*qnext;		/* target queue links */
	uint64_t		*due_at;	/* WHK_M_TIMER: the heap entry that counts */
	uint32_t		*scan;		/* rtab_wh_due() output */

	/* targets */
	struct whk_target	**htab;
	uint32_t		hmask;
	struct whk_target_list	ready;		/* have a queue and room under their bound */
	uint32_t		waiting;	/* records in target queues */
	uint32_t		parked;		/* WHK_M_PARKED records */
	char			*url_cache;	/* last URL looked up, and its target */
	struct whk_target	*tgt_cache;

	/* retry timers */
	struct whk_due		*heap;
	uint32_t		nheap, heapcap;
	struct event		ev_retry;
	uint64_t		retry_armed;	/* REALTIME ns the timer is set for, 0: off */

	/* bodies: the last circuit parsed, for the next one */
	struct render_cache	rcache;
	/* batch bodies: -webhook-batch-max */
	uint64_t		batch_max;
	struct buf		bone;		/* sizing a result */
	struct whk_cuts		cuts[WHK_CUTS];	/* by item % WHK_CUTS */

	/* libcurl */
	CURLM			*multi;
	struct event		ev_curl;	/* CURLMOPT_TIMERFUNCTION's timer */
	int			inflight;
	struct whk_dlv_list	flying;		/* attempts in flight */
	struct whk_dlv_list	spare;		/* finished, easy handle kept */
	struct whk_sock_list	socks;

	/* events of the process */
	struct event		*ev_ctl, *ev_term, *ev_int, *ev_usr1, *ev_hup;
	struct event		ev_intake, ev_tick, ev_drain;
	uint64_t		next_scan;	/* MONOTONIC ns */
};

/* whk_sched.c */
int whk_sched_init(struct whk *w);
void whk_sched_fini(struct whk *w);
void whk_intake(struct whk *w);			/* drain the webhook ring */
void whk_scan(struct whk *w);			/* rtab_wh_due() of the file */
void whk_pump(struct whk *w);			/* start what the bounds allow */
void whk_outcome(struct whk *w, struct whk_dlv *d, int ok, const char *why);
void whk_done(struct whk *w, struct whk_dlv *d, int ok, const char *why);
int whk_target_key(const char *url, char *key, size_t len);
const char *whk_url_of(struct whk *w, const struct rtab_view *v);

/* whk_batch.c */
/*
 * d's signed content for batch delivery v ("<id>.<ts>.<body>" into
 * d->cbuf, d->prefix, d->resid, d->part, d->parts).  NULL ok, else why not.
 */
const char *whk_batch_content(struct whk *w, struct whk_dlv *d,
    const struct rtab_view *v, const char *tsb, size_t tslen);
void whk_batch_fini(struct whk *w);

/* whk_http.c */
int whk_http_init(struct whk *w);
void whk_http_fini(struct whk *w);
/*
 * Start an attempt of rec (PENDING) toward tgt, counted in the bounds by
 * the caller.  0: in flight (whk_done will end it); -1: not in flight,
 * either lost to another process or failed to start (outcome recorded).
 */
int whk_http_start(struct whk *w, struct whk_target *tgt, uint32_t rec);
/* SIGTERM after the grace: give every attempt in flight back to the file. */
void whk_http_abandon(struct whk *w);

#endif /* IMP_WHK_PRIV_H */
