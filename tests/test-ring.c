/*
 * impcore - the lock-free ring (src/state/ring.c) between processes, with
 * kill -9 of producers and consumers in the middle of their operations.
 *
 * Producers push distinct values, consumers pop and count each value in
 * shared memory.  Checks: no value is ever seen twice; every value whose
 * push returned is seen (a killed consumer may take at most one value to
 * its grave, a killed producer leaves at most one value "in doubt"); and
 * nothing wedges: the run ends, and the ring is empty and usable after.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "state/ring.h"

#define NPROD	4
#define NCONS	4
#define PER	200000u		/* values per producer */
#define NVAL	(NPROD * PER)
#define CAP	64		/* small: full and wrap-around all the time */
#define MAXDOUBT 256

struct shared {
	uint32_t	next[NPROD];	/* next index producer p pushes */
	uint32_t	seen[NVAL];
	uint32_t	doubt[MAXDOUBT];
	uint32_t	ndoubt;
	uint32_t	stop;		/* consumers: exit when the ring is empty */
	uint32_t	fullhits, emptyhits;
};

static struct shared	*sh;
static struct ring	*ring;

static void __attribute__((noreturn))
producer(int p)
{
	uint32_t i;

	for (i = uatomic_read(&sh->next[p]); i < PER; i++) {
		uint32_t v = (uint32_t)p * PER + i;
		while (ring_push(ring, v) < 0) {
			uatomic_inc(&sh->fullhits);
			sched_yield();
		}
		uatomic_set(&sh->next[p], i + 1);
	}
	_exit(0);
}

static void __attribute__((noreturn))
consumer(void)
{
	uint32_t v;

	for (;;) {
		if (ring_pop(ring, &v) == 0) {
			if (v >= NVAL)
				_exit(3);
			uatomic_inc(&sh->seen[v]);
			continue;
		}
		uatomic_inc(&sh->emptyhits);
		if (uatomic_read(&sh->stop))
			_exit(0);
		sched_yield();
	}
}

static pid_t
spawn_producer(int p)
{
	pid_t pid = fork();

	if (pid == 0)
		producer(p);
	return (pid);
}

static pid_t
spawn_consumer(void)
{
	pid_t pid = fork();

	if (pid == 0)
		consumer();
	return (pid);
}

static int
run(int kills, unsigned seed)
{
	pid_t prod[NPROD], cons[NCONS];
	int p, c, k, status, alive, consumer_kills = 0, producer_kills = 0;
	uint32_t v, i, twice = 0, missing = 0, indoubt = 0;
	void *mem;

	mem = mmap(NULL, sizeof *sh + RING_BYTES(CAP), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return (1);
	}
	sh = mem;
	ring = (struct ring *)(void *)((char *)mem + ((sizeof *sh + 63) & ~(size_t)63));
	memset(sh, 0, sizeof *sh);
	ring_init(ring, CAP);
	srand(seed);

	for (p = 0; p < NPROD; p++)
		prod[p] = spawn_producer(p);
	for (c = 0; c < NCONS; c++)
		cons[c] = spawn_consumer();

	for (k = 0; k < kills; k++) {
		usleep(500 + (useconds_t)(rand() % 3000));
		if (rand() % 2 == 0) {
			p = rand() % NPROD;
			if (prod[p] <= 0)
				continue;
			kill(prod[p], SIGKILL);
			waitpid(prod[p], &status, 0);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				prod[p] = 0;	/* it had finished */
				continue;
			}
			producer_kills++;
			/* the value being pushed may or may not be in the ring */
			i = uatomic_read(&sh->next[p]);
			if (i < PER) {
				if (sh->ndoubt < MAXDOUBT)
					sh->doubt[sh->ndoubt++] = (uint32_t)p * PER + i;
				uatomic_set(&sh->next[p], i + 1);
			}
			prod[p] = spawn_producer(p);
		} else {
			c = rand() % NCONS;
			kill(cons[c], SIGKILL);
			waitpid(cons[c], &status, 0);
			consumer_kills++;
			cons[c] = spawn_consumer();
		}
	}
	/* producers finish; then consumers drain and stop */
	alarm(120);
	for (p = 0; p < NPROD; p++)
		if (prod[p] > 0) {
			waitpid(prod[p], &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				printf("producer %d: status 0x%x\n", p, status);
				return (1);
			}
		}
	uatomic_set(&sh->stop, 1);
	for (c = 0, alive = 0; c < NCONS; c++) {
		waitpid(cons[c], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("consumer %d: status 0x%x\n", c, status);
			return (1);
		}
	}
	(void)alive;

	for (v = 0; v < NVAL; v++) {
		int doubt = 0;
		for (i = 0; i < sh->ndoubt; i++)
			if (sh->doubt[i] == v)
				doubt = 1;
		if (sh->seen[v] > 1) {
			if (twice++ < 5)
				printf("value %u seen %u times\n", v, sh->seen[v]);
		} else if (sh->seen[v] == 0) {
			if (doubt)
				indoubt++;
			else
				missing++;
		}
	}
	printf("kills: %d producers, %d consumers; full %u, empty %u; "
	    "duplicates %u, missing %u (allowed %d), in doubt and absent %u\n",
	    producer_kills, consumer_kills, sh->fullhits, sh->emptyhits,
	    twice, missing, consumer_kills, indoubt);
	if (twice > 0 || missing > (uint32_t)consumer_kills)
		return (1);
	/* not wedged: empty, and usable */
	if (ring_count(ring) != 0 || ring_pop(ring, &v) == 0) {
		printf("ring not empty at the end\n");
		return (1);
	}
	for (i = 0; i < CAP; i++)
		if (ring_push(ring, i) < 0) {
			printf("push %u failed on an empty ring\n", i);
			return (1);
		}
	if (ring_push(ring, 999) == 0) {
		printf("push succeeded on a full ring\n");
		return (1);
	}
	for (i = 0; i < CAP; i++)
		if (ring_pop(ring, &v) < 0 || v != i) {
			printf("pop %u: got %u\n", i, v);
			return (1);
		}
	munmap(mem, sizeof *sh + RING_BYTES(CAP));
	return (0);
}

int
main(void)
{
	const char *env;
	char *end;
	unsigned long seed;
	int rc = 0;

	printf("# no kills\n");
	rc |= run(0, 1);
	/* a failure is reproduced with IMP_SEED=<the seed printed> */
	if ((env = getenv("IMP_SEED")) != NULL && *env != '\0') {
		errno = 0;
		seed = strtoul(env, &end, 0);
		if (errno != 0 || *end != '\0' || seed > UINT_MAX) {
			printf("bad IMP_SEED: %s\n", env);
			return (1);
		}
	} else
		seed = (unsigned long)time(NULL);
	printf("# 150 kills, seed %lu (IMP_SEED=%lu to repeat)\n", seed, seed);
	fflush(stdout);
	rc |= run(150, (unsigned)seed);
	printf("%s\n", rc ? "FAIL" : "PASS");
	return (rc);
}
