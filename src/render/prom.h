/*
 * impcore - /metrics: the Prometheus text exposition of the state file.
 *
 * One renderer for both places that serve it: a worker on the API port
 * (loopback or -api-token, without -profile) and the profiler on
 * -profile-port.  It reads only the state file (counters, process table)
 * and /proc/<pid>/stat of the live processes, so any process that maps
 * the file can answer, and both answers agree.
 */
#ifndef IMP_PROM_H
#define IMP_PROM_H

struct buf;
struct shm;

#define PROM_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Append the whole exposition (every family, HELP and TYPE lines) to b. */
void prom_render(struct buf *b, const struct shm *shm);

#endif /* IMP_PROM_H */
