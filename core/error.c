#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail_v(ctr_error_t *err, int errnum, const char *fmt, va_list ap) {
  if (err == NULL)
    return -1;
  err->errnum = errnum;
  int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  if (n < 0)
    n = 0;
  if (errnum != 0 && (size_t)n < sizeof err->msg)
    snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
  return -1;
}

int ctr_fail(ctr_error_t *err, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_v(err, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int ctr_fail_errno(ctr_error_t *err, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  fail_v(err, saved, fmt, ap);
  va_end(ap);
  errno = saved;
  return -1;
}

int ctr_error_wrap(ctr_error_t *err, const char *fmt, ...) {
  if (err == NULL)
    return -1;
  char prefix[256];
  char old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  size_t n = strnlen(prefix, sizeof prefix);
  memcpy(err->msg, prefix, n);
  size_t room = sizeof err->msg - n;
  if (room > 2) {
    err->msg[n] = ':';
    err->msg[n + 1] = ' ';
    size_t m = strnlen(old, room - 3);
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
  } else {
    err->msg[sizeof err->msg - 1] = '\0';
  }
  return -1;
}
