/*
 * impcore - master: listening sockets.
 *
 * Bound once by the master and inherited by every worker, which all accept
 * on it: a worker that exits drops nothing (SO_REUSEPORT would drop the
 * connections queued on the exiting worker's socket), and a reload never
 * closes the socket, so no connection is refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/mem.h"
#include "master/mst_priv.h"

int
mst_listen(const char *addr, int port, int *bound_port, char **cause)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char sport[16];
	int fd, one = 1, rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(sport, sizeof sport, "%d", port);
	rc = getaddrinfo(addr, sport, &hints, &res);
	if (rc != 0) {
		imp_asprintf(cause, "%s:%d: %s", addr, port, gai_strerror(rc));
		return (-1);
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		imp_asprintf(cause, "socket(): %s", strerror(errno));
		freeaddrinfo(res);
		return (-1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		imp_asprintf(cause, "bind(%s:%d): %s", addr, port, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return (-1);
	}
	freeaddrinfo(res);
	if (listen(fd, 4096) < 0) {
		imp_asprintf(cause, "listen(%s:%d): %s", addr, port, strerror(errno));
		close(fd);
		return (-1);
	}
	*bound_port = port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			*bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			*bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return (fd);
}
