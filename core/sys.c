/* sys.c - randomness, host name, ids, clocks, prctls. */
#include "sys.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

int ctr_getrandom(void *buf, size_t n, ctr_error_t *err) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = getrandom((char *)buf + done, n - done, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return ctr_fail_errno(err, "getrandom %zu bytes", n);
    done += (size_t)r;
  }
  return 0;
}

int ctr_sethostname(const char *name, ctr_error_t *err) {
  if (sethostname(name, strlen(name)) < 0)
    return ctr_fail_errno(err, "sethostname %s", name);
  return 0;
}

int ctr_gethostname(char *buf, size_t size, ctr_error_t *err) {
  if (gethostname(buf, size) < 0)
    return ctr_fail_errno(err, "gethostname");
  buf[size - 1] = '\0';
  return 0;
}

int ctr_setdomainname(const char *name, ctr_error_t *err) {
  if (setdomainname(name, strlen(name)) < 0)
    return ctr_fail_errno(err, "setdomainname %s", name);
  return 0;
}

int ctr_setuid(uid_t uid, ctr_error_t *err) {
  if (setuid(uid) < 0)
    return ctr_fail_errno(err, "setuid %u", (unsigned)uid);
  return 0;
}

int ctr_setgid(gid_t gid, ctr_error_t *err) {
  if (setgid(gid) < 0)
    return ctr_fail_errno(err, "setgid %u", (unsigned)gid);
  return 0;
}

int ctr_setgroups(size_t n, const gid_t *groups, ctr_error_t *err) {
  if (setgroups(n, groups) < 0)
    return ctr_fail_errno(err, "setgroups (%zu groups)", n);
  return 0;
}

int ctr_getgroups(gid_t *groups, int max, ctr_error_t *err) {
  int n = getgroups(max, groups);
  if (n < 0)
    return ctr_fail_errno(err, "getgroups");
  return n;
}

int ctr_uname(struct utsname *u, ctr_error_t *err) {
  if (uname(u) < 0)
    return ctr_fail_errno(err, "uname");
  return 0;
}

int ctr_sleep(double seconds, double *left, ctr_error_t *err) {
  if (!(seconds >= 0) || seconds > 1e9)
    return ctr_fail(err, EINVAL, "sleep %g seconds: out of range", seconds);
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec > 999999999)
    ts.tv_nsec = 999999999;
  if (nanosleep(&ts, &ts) < 0) {
    if (left)
      *left = errno == EINTR ? (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 : 0;
    return ctr_fail_errno(err, "nanosleep");
  }
  return 0;
}

int ctr_time_ns(clockid_t clock, int64_t *out, ctr_error_t *err) {
  struct timespec ts;
  if (clock_gettime(clock, &ts) < 0)
    return ctr_fail_errno(err, "clock_gettime %d", (int)clock);
  *out = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  return 0;
}

int ctr_set_pdeathsig(int sig, ctr_error_t *err) {
  if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "set parent-death signal %d", sig);
  return 0;
}

int ctr_set_child_subreaper(int on, ctr_error_t *err) {
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "set child subreaper");
  return 0;
}

int ctr_set_name(const char *name, ctr_error_t *err) {
  if (prctl(PR_SET_NAME, name, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "set process name %s", name);
  return 0;
}

int ctr_get_name(char buf[17], ctr_error_t *err) {
  memset(buf, 0, 17);
  if (prctl(PR_GET_NAME, buf, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "get process name");
  return 0;
}
