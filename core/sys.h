/* sys.h - system odds and ends: randomness, host name, ids, uname, sleeping,
 * clocks and process prctls (parent-death signal, child subreaper, name). */
#ifndef CTR_SYS_H
#define CTR_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>

#include "error.h"

/* Fill buf with n random bytes from getrandom(2) (retries short reads). */
int ctr_getrandom(void *buf, size_t n, ctr_error_t *err);
/* sethostname(2) / gethostname(2) / setdomainname(2). */
int ctr_sethostname(const char *name, ctr_error_t *err);
int ctr_gethostname(char *buf, size_t size, ctr_error_t *err);
int ctr_setdomainname(const char *name, ctr_error_t *err);
/* setuid(2) / setgid(2) / setgroups(2) / getgroups(2). */
int ctr_setuid(uid_t uid, ctr_error_t *err);
int ctr_setgid(gid_t gid, ctr_error_t *err);
int ctr_setgroups(size_t n, const gid_t *groups, ctr_error_t *err);
/* Returns the count (at most max) written into groups. */
int ctr_getgroups(gid_t *groups, int max, ctr_error_t *err);
/* uname(2). */
int ctr_uname(struct utsname *u, ctr_error_t *err);
/* Sleep for seconds (fractional). A signal ends it early with EINTR, *left
 * (when not NULL) set to the seconds still to sleep. */
int ctr_sleep(double seconds, double *left, ctr_error_t *err);
/* clock_gettime(clock) in nanoseconds. */
int ctr_time_ns(clockid_t clock, int64_t *out, ctr_error_t *err);
/* PR_SET_PDEATHSIG (0 clears). */
int ctr_set_pdeathsig(int sig, ctr_error_t *err);
/* PR_SET_CHILD_SUBREAPER. */
int ctr_set_child_subreaper(int on, ctr_error_t *err);
/* PR_SET_NAME / PR_GET_NAME (at most 15 bytes). */
int ctr_set_name(const char *name, ctr_error_t *err);
int ctr_get_name(char buf[17], ctr_error_t *err);

#endif
