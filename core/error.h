/* error.h - explicit error objects for the core.
 *
 * Every core function that can fail takes a `ctr_error_t *err` as its last
 * argument, returns -1 (or NULL) on failure and fills *err with errno and a
 * message that says what was attempted: "mount proc on /x/proc: Permission denied".
 */
#ifndef CTR_ERROR_H
#define CTR_ERROR_H

#include <stddef.h>

typedef struct ctr_error {
  int errnum;    /* errno value, 0 when the failure is not a syscall's */
  char msg[512]; /* what was attempted, then ": strerror(errnum)" */
} ctr_error_t;

/* Fill err from errnum and a printf-style description; returns -1. */
int ctr_fail(ctr_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same as ctr_fail(err, errno, ...): for right after a failed syscall. */
int ctr_fail_errno(ctr_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix an existing error with more context: "setting up rootfs: <old msg>". */
int ctr_error_wrap(ctr_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
