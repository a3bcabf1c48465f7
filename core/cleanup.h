/* cleanup.h - scope-bound release of fds and buffers (the crun idiom).
 *
 *   cleanup_fd int fd = open(...);        closed when fd leaves scope
 *   cleanup_free char *buf = malloc(...); freed when buf leaves scope
 *   return steal_fd(&fd);                 hand ownership to the caller
 */
#ifndef CTR_CLEANUP_H
#define CTR_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void ctr_close_fdp(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
    *fd = -1;
  }
}
static inline void ctr_freep(void *p) {
  void **pp = (void **)p;
  int saved = errno;
  free(*pp);
  errno = saved;
  *pp = NULL;
}
static inline void ctr_fclosep(FILE **f) {
  if (*f) {
    int saved = errno;
    fclose(*f);
    errno = saved;
    *f = NULL;
  }
}
static inline void ctr_closedirp(DIR **d) {
  if (*d) {
    int saved = errno;
    closedir(*d);
    errno = saved;
    *d = NULL;
  }
}
static inline int steal_fd(int *fd) {
  int r = *fd;
  *fd = -1;
  return r;
}
static inline void *steal_ptr(void *p) {
  void **pp = (void **)p;
  void *r = *pp;
  *pp = NULL;
  return r;
}

/* A cleanup function name(type **p) for a library's objects: when *p is
 * set, fn(*p) releases it (errno kept, as in the functions above) and *p
 * is cleared. */
#define CTR_DEFINE_CLEANUP(name, type, fn)                                                         \
  static void name(type **p) {                                                                     \
    if (*p) {                                                                                      \
      int saved_errno = errno;                                                                     \
      fn(*p);                                                                                      \
      errno = saved_errno;                                                                         \
      *p = NULL;                                                                                   \
    }                                                                                              \
  }

#define cleanup_fd __attribute__((cleanup(ctr_close_fdp)))
#define cleanup_free __attribute__((cleanup(ctr_freep)))
#define cleanup_file __attribute__((cleanup(ctr_fclosep)))
#define cleanup_dir __attribute__((cleanup(ctr_closedirp)))

#endif
