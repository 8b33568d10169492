/*
 * impcore - sdnotify: the sd_notify datagram protocol by hand.
 *
 * The protocol is one AF_UNIX datagram of "KEY=value" lines sent to the
 * socket named by $NOTIFY_SOCKET (a path, or an abstract name written with
 * a leading '@').  Ten lines of code, so impsolverd does not link
 * libsystemd for it (nor depend on it where there is no systemd: the init
 * script and containers start it too, with no $NOTIFY_SOCKET, and then
 * this does nothing).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/sdnotify.h"

int
sdn_notify(const char *state)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	size_t plen;
	socklen_t alen;
	ssize_t n;
	int fd, e;

	if (path == NULL || path[0] == '\0')
		return (0);
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof sun.sun_path) {
		errno = EINVAL;
		return (-1);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return (-1);
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, alen);
	e = errno;
	close(fd);
	errno = e;
	return (n == (ssize_t)strlen(state) ? 0 : -1);
}
