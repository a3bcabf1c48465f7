/* porthold.c - a bound socket that reserves a published host port. */
#include "porthold.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ctr_port_hold(const char *ip, int port, int udp, ctr_error_t *err) {
  const char *proto = udp ? "udp" : "tcp";
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  if (port < 0 || port > 65535)
    return ctr_fail(err, 0, "host port %d/%s is not a port 1-65535 (0: a free one)", port, proto);
  sa.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
    return ctr_fail(err, 0, "host address '%s' is not an IPv4 address", ip);
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ctr_fail_errno(err, "socket for %s:%d/%s", ip, port, proto);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    ctr_fail_errno(err, "bind %s:%d/%s", ip, port, proto);
    close(fd);
    return -1;
  }
  return fd;
}

int ctr_sock_port(int fd, ctr_error_t *err) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
    return ctr_fail_errno(err, "getsockname of fd %d", fd);
  if (sa.sin_family != AF_INET)
    return ctr_fail(err, EAFNOSUPPORT, "fd %d is not an IPv4 socket", fd);
  return ntohs(sa.sin_port);
}
