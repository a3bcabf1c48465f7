/* fd.c - file descriptor primitives. */
#include "fd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int ctr_open(const char *path, int flags, mode_t mode, ctr_error_t *err) {
  int fd;
  do
    fd = open(path, flags, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", path);
  return fd;
}

int ctr_close(int fd, ctr_error_t *err) {
  if (close(fd) < 0 && errno != EINTR)
    return ctr_fail_errno(err, "close fd %d", fd);
  return 0;
}

int ctr_dup(int fd, int cloexec, ctr_error_t *err) {
  int r = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
  if (r < 0)
    return ctr_fail_errno(err, "dup fd %d", fd);
  return r;
}

int ctr_dup2(int oldfd, int newfd, int cloexec, ctr_error_t *err) {
  int r;
  if (cloexec && oldfd != newfd)
    r = dup3(oldfd, newfd, O_CLOEXEC);
  else
    r = dup2(oldfd, newfd);
  if (r < 0)
    return ctr_fail_errno(err, "dup2 fd %d to %d", oldfd, newfd);
  return r;
}

int ctr_pipe(int fds[2], int flags, ctr_error_t *err) {
  if (pipe2(fds, flags) < 0)
    return ctr_fail_errno(err, "pipe");
  return 0;
}

ssize_t ctr_read(int fd, void *buf, size_t n, ctr_error_t *err) {
  ssize_t r = read(fd, buf, n);
  if (r < 0)
    return ctr_fail_errno(err, "read fd %d", fd);
  return r;
}

ssize_t ctr_write(int fd, const void *buf, size_t n, ctr_error_t *err) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = write(fd, (const char *)buf + done, n - done);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno == EAGAIN && done > 0)
      break;
    if (r < 0)
      return ctr_fail_errno(err, "write fd %d", fd);
    done += (size_t)r;
  }
  return (ssize_t)done;
}

int ctr_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int set_fl(int fd, int get, int set, int bit, int on, const char *what, ctr_error_t *err) {
  int fl = fcntl(fd, get);
  if (fl < 0)
    return ctr_fail_errno(err, "get %s on fd %d", what, fd);
  int nfl = on ? (fl | bit) : (fl & ~bit);
  if (nfl != fl && fcntl(fd, set, nfl) < 0)
    return ctr_fail_errno(err, "set %s on fd %d", what, fd);
  return 0;
}

int ctr_set_cloexec(int fd, int on, ctr_error_t *err) {
  return set_fl(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on, "close-on-exec", err);
}

int ctr_set_nonblock(int fd, int on, ctr_error_t *err) {
  return set_fl(fd, F_GETFL, F_SETFL, O_NONBLOCK, on, "O_NONBLOCK", err);
}

int ctr_poll(struct pollfd *fds, size_t n, int timeout_ms, ctr_error_t *err) {
  int r = poll(fds, (nfds_t)n, timeout_ms);
  if (r < 0)
    return ctr_fail_errno(err, "poll %zu fds", n);
  return r;
}

int ctr_isatty(int fd) {
  int saved = errno;
  int r = isatty(fd);
  errno = saved;
  return r;
}

int ctr_socketpair(int sv[2], ctr_error_t *err) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return ctr_fail_errno(err, "socketpair");
  return 0;
}

ssize_t ctr_sendmsg_fd(int sock, char tag, int fd) {
  struct iovec iov = {.iov_base = &tag, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

int ctr_send_fd(int sock, int fd, ctr_error_t *err) {
  ssize_t r;
  do
    r = ctr_sendmsg_fd(sock, 'F', fd);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return ctr_fail_errno(err, "send fd %d over socket %d", fd, sock);
  return 0;
}

int ctr_recv_fd(int sock, ctr_error_t *err) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t r;
  do
    r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return ctr_fail_errno(err, "receive fd over socket %d", sock);
  if (r == 0)
    return ctr_fail(err, EPIPE, "receive fd over socket %d: peer closed", sock);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    return ctr_fail(err, EBADMSG, "receive fd over socket %d: message carries no fd", sock);
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* A unix stream socket (close-on-exec) for path; sa gets path's address. */
static int unix_socket(const char *path, struct sockaddr_un *sa, ctr_error_t *err) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof sa->sun_path)
    return ctr_fail(err, ENAMETOOLONG, "unix socket path '%s': empty or longer than %zu bytes",
                    path, sizeof sa->sun_path - 1);
  memcpy(sa->sun_path, path, len);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ctr_fail_errno(err, "socket for %s", path);
  return fd;
}

int ctr_unix_connect(const char *path, ctr_error_t *err) {
  struct sockaddr_un sa;
  int fd = unix_socket(path, &sa, err);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    ctr_fail_errno(err, "connect to the unix socket %s", path);
    close(fd);
    return -1;
  }
  return fd;
}

int ctr_unix_listen(const char *path, ctr_error_t *err) {
  struct sockaddr_un sa;
  int fd = unix_socket(path, &sa, err);
  if (fd < 0)
    return -1;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
      listen(fd, 8) < 0) {
    ctr_fail_errno(err, "bind and listen on the unix socket %s", path);
    close(fd);
    return -1;
  }
  return fd;
}

int ctr_unix_accept(int sock, ctr_error_t *err) {
  int fd;
  do
    fd = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return ctr_fail_errno(err, "accept on socket fd %d", sock);
  return fd;
}
