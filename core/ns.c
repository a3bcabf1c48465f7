/* ns.c - namespace primitives. */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* join order: user first (gives the capabilities to join the others),
 * mnt last (after it /proc may no longer be the one we opened from). */
static const struct {
  const char *name;
  unsigned long flag;
} nss[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
           {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
           {"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS},  {NULL, 0}};

#define NNS ((int)(sizeof nss / sizeof *nss) - 1)

unsigned long ctr_ns_flag(const char *name) {
  for (int i = 0; nss[i].name; i++)
    if (strcmp(nss[i].name, name) == 0)
      return nss[i].flag;
  return 0;
}

const char *ctr_ns_name_at(int i, unsigned long *flag) {
  if (i < 0 || i >= NNS)
    return NULL;
  if (flag)
    *flag = nss[i].flag;
  return nss[i].name;
}

int ctr_unshare(unsigned long flags, ctr_error_t *err) {
  if (unshare((int)flags) < 0)
    return ctr_fail_errno(err, "unshare 0x%lx", flags);
  return 0;
}

int ctr_setns(int fd, unsigned long nstype, ctr_error_t *err) {
  if (setns(fd, (int)nstype) < 0)
    return ctr_fail_errno(err, "setns fd %d", fd);
  return 0;
}

static void ns_path(pid_t pid, const char *name, char *buf, size_t size) {
  if (pid <= 0)
    snprintf(buf, size, "/proc/self/ns/%s", name);
  else
    snprintf(buf, size, "/proc/%d/ns/%s", (int)pid, name);
}

int ctr_ns_open(pid_t pid, const char *name, ctr_error_t *err) {
  if (ctr_ns_flag(name) == 0)
    return ctr_fail(err, EINVAL, "open namespace: unknown namespace '%s'", name);
  char path[64];
  ns_path(pid, name, path, sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", path);
  return fd;
}

static int same_ns(int fd, const char *name) {
  char path[64];
  struct stat a, b;
  ns_path(0, name, path, sizeof path);
  if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
    return 0;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void close_all(int (*fds)[NNS]) {
  for (int i = 0; i < NNS; i++)
    ctr_close_fdp(&(*fds)[i]);
}

int ctr_setns_pid(pid_t pid, unsigned long flags, ctr_error_t *err) {
  int fds[NNS] __attribute__((cleanup(close_all)));
  for (int i = 0; i < NNS; i++)
    fds[i] = -1;
  for (int i = 0; i < NNS; i++) {
    if (!(flags & nss[i].flag))
      continue;
    fds[i] = ctr_ns_open(pid, nss[i].name, err);
    if (fds[i] < 0)
      return -1;
  }
  for (int i = 0; i < NNS; i++) {
    if (fds[i] < 0 || same_ns(fds[i], nss[i].name))
      continue;
    if (setns(fds[i], (int)nss[i].flag) < 0)
      return ctr_fail_errno(err, "join %s namespace of pid %d", nss[i].name, (int)pid);
  }
  return 0;
}

int ctr_ns_id(pid_t pid, const char *name, char *buf, size_t size, ctr_error_t *err) {
  if (ctr_ns_flag(name) == 0)
    return ctr_fail(err, EINVAL, "namespace id: unknown namespace '%s'", name);
  char path[64];
  ns_path(pid, name, path, sizeof path);
  ssize_t n = readlink(path, buf, size - 1);
  if (n < 0)
    return ctr_fail_errno(err, "readlink %s", path);
  buf[n] = '\0';
  return 0;
}
