/* porthold.h - holding a published host port for a container's life.
 *
 * A published port is reserved the way docker's and podman's are: a socket
 * bound to HOSTIP:PORT, kept open by the container's supervisor. Binding
 * fails with EADDRINUSE when a host program already holds the port, and
 * while we hold it other programs' binds fail the same way. TCP sockets are
 * bound but not listening: traffic is DNATed to the container before any
 * local socket sees it, and a listening socket would queue connections that
 * escaped the DNAT instead of refusing them. */
#ifndef CTR_PORTHOLD_H
#define CTR_PORTHOLD_H

#include "error.h"

/* A close-on-exec IPv4 socket (udp != 0: datagram, else stream) bound to
 * ip:port without SO_REUSEADDR (port 0: a free port, as docker's -P).
 * Returns the fd. */
int ctr_port_hold(const char *ip, int port, int udp, ctr_error_t *err);

/* The local port an IPv4 socket is bound to (-P: the one the kernel chose
 * for a bind to port 0). */
int ctr_sock_port(int fd, ctr_error_t *err);

#endif
