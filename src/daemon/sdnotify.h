/*
 * impcore - sdnotify: tell the service manager how the service is doing
 * (systemd's sd_notify protocol, Type=notify units).
 */
#ifndef IMP_SDNOTIFY_H
#define IMP_SDNOTIFY_H

/*
 * Send state ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1",
 * newline-separated assignments) as one datagram to $NOTIFY_SOCKET.
 * 0 when sent or when there is no $NOTIFY_SOCKET (not run by systemd);
 * -1 with errno when the socket is named but the send failed.
 */
int sdn_notify(const char *state);

#endif /* IMP_SDNOTIFY_H */
