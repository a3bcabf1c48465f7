/* pty.c - pseudo-terminal primitives. */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"

int ctr_ptsname(int master, char *buf, size_t size, ctr_error_t *err) {
  int r = ptsname_r(master, buf, size);
  if (r != 0)
    return ctr_fail(err, r, "ptsname of fd %d", master);
  return 0;
}

int ctr_openpty(int *master, int *slave, char *name, size_t size, ctr_error_t *err) {
  cleanup_fd int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return ctr_fail_errno(err, "open /dev/ptmx");
  if (grantpt(m) < 0)
    return ctr_fail_errno(err, "grantpt");
  if (unlockpt(m) < 0)
    return ctr_fail_errno(err, "unlockpt");
  if (ctr_ptsname(m, name, size, err) < 0)
    return -1;
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return ctr_fail_errno(err, "open %s", name);
  *slave = s;
  *master = steal_fd(&m);
  return 0;
}

int ctr_tcgetattr(int fd, struct termios *t, ctr_error_t *err) {
  if (tcgetattr(fd, t) < 0)
    return ctr_fail_errno(err, "tcgetattr fd %d", fd);
  return 0;
}

int ctr_tcsetattr(int fd, const struct termios *t, ctr_error_t *err) {
  if (tcsetattr(fd, TCSANOW, t) < 0)
    return ctr_fail_errno(err, "tcsetattr fd %d", fd);
  return 0;
}

int ctr_make_raw(int fd, struct termios *saved, ctr_error_t *err) {
  if (ctr_tcgetattr(fd, saved, err) < 0)
    return -1;
  struct termios raw = *saved;
  cfmakeraw(&raw);
  return ctr_tcsetattr(fd, &raw, err);
}

int ctr_get_winsize(int fd, unsigned short *rows, unsigned short *cols, ctr_error_t *err) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
    return ctr_fail_errno(err, "get window size of fd %d", fd);
  *rows = ws.ws_row;
  *cols = ws.ws_col;
  return 0;
}

int ctr_set_winsize(int fd, unsigned short rows, unsigned short cols, ctr_error_t *err) {
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
    return ctr_fail_errno(err, "set window size of fd %d to %ux%u", fd, rows, cols);
  return 0;
}

int ctr_set_ctty(int fd, int new_session, ctr_error_t *err) {
  if (new_session && setsid() < 0)
    return ctr_fail_errno(err, "setsid");
  if (ioctl(fd, TIOCSCTTY, 0) < 0)
    return ctr_fail_errno(err, "make fd %d the controlling terminal", fd);
  return 0;
}
