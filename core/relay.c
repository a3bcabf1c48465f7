/* relay.c - relay bytes between the caller's fds and a container's pipes.
 * See relay.h. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* splice(2) cannot be used with this pair: fall back to read/write. */
static bool splice_unsupported(int e) {
  return e == EINVAL || e == ESPIPE || e == EBADF || e == ENOSYS || e == EOPNOTSUPP;
}

/* Write everything, also to an fd the caller made non-blocking. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      if (poll(&pf, 1, -1) < 0 && errno != EINTR)
        return -1;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static ssize_t read_out(int pipe_fd, int *to, ctr_error_t *err) {
  char buf[CTR_RELAY_CHUNK];
  ssize_t n;
  do
    n = read(pipe_fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return 1; /* nothing after all; not the end */
  if (n < 0)
    return ctr_fail_errno(err, "read the container's output pipe %d", pipe_fd);
  if (n > 0 && *to >= 0 && write_all(*to, buf, (size_t)n) < 0)
    *to = -1; /* a closed terminal must not stop the container */
  return n;
}

ssize_t ctr_relay_out(int pipe_fd, int *to, bool *no_splice, ctr_error_t *err) {
  if (*to < 0 || *no_splice)
    return read_out(pipe_fd, to, err);
  ssize_t n;
  do
    n = splice(pipe_fd, NULL, *to, NULL, CTR_RELAY_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  while (n < 0 && errno == EINTR);
  if (n >= 0)
    return n;
  if (errno == EAGAIN) /* the pipe is empty, or a non-blocking `to` is full */
    return read_out(pipe_fd, to, err);
  if (splice_unsupported(errno))
    *no_splice = true;
  else
    *to = -1;
  return read_out(pipe_fd, to, err);
}

int ctr_pump_init(ctr_pump_t *p, int from, int to, ctr_error_t *err) {
  memset(p, 0, offsetof(ctr_pump_t, buf)); /* the buffer needs no clearing */
  p->from = from;
  p->to = to;
  int fl = fcntl(to, F_GETFL);
  if (fl < 0 || fcntl(to, F_SETFL, fl | O_NONBLOCK) < 0)
    return ctr_fail_errno(err, "make the container's input fd %d non-blocking", to);
  return 0;
}

void ctr_pump_pollfds(const ctr_pump_t *p, struct pollfd *in, struct pollfd *out) {
  bool full = p->wait_out || p->off < p->len;
  *in = (struct pollfd){.fd = full ? -1 : p->from, .events = POLLIN};
  *out = (struct pollfd){.fd = full ? p->to : -1, .events = POLLOUT};
}

/* Write out the buffer as far as `to` takes it. 0: reader gone. */
static int pump_flush(ctr_pump_t *p) {
  while (p->off < p->len) {
    ssize_t w = write(p->to, p->buf + p->off, p->len - p->off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return 1;
    if (w < 0)
      return 0; /* EPIPE (the container closed its stdin), EIO (its tty is gone) */
    p->off += (size_t)w;
  }
  p->off = p->len = 0;
  return 1;
}

static int pump_read(ctr_pump_t *p) {
  ssize_t n;
  do
    n = read(p->from, p->buf, sizeof p->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return 1;
  if (n <= 0)
    return 0; /* end of file; EIO: our terminal hung up; EISDIR...: no input */
  p->off = 0;
  p->len = (size_t)n;
  return pump_flush(p);
}

int ctr_pump_step(ctr_pump_t *p) {
  if (p->wait_out || p->off < p->len) {
    p->wait_out = false;
    return pump_flush(p);
  }
  if (!p->no_splice) {
    ssize_t n;
    do
      n = splice(p->from, NULL, p->to, NULL, CTR_RELAY_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n > 0)
      return 1;
    if (n == 0)
      return 0;
    if (errno == EAGAIN) {
      p->wait_out = true; /* `to` full (or `from` had nothing after all: one spare poll) */
      return 1;
    }
    if (errno == EPIPE)
      return 0;
    p->no_splice = true; /* EINVAL...: not spliceable; any other error shows in read */
  }
  return pump_read(p);
}
