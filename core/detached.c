/* detached.c - build mounts detached, set their flags, attach them onto an
 * fd (see detached.h). */
#include "detached.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"

int ctr_detached_clone(int dfd, const char *path, bool recursive, ctr_error_t *err) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (path[0] == '\0')
    flags |= AT_EMPTY_PATH;
  int fd = open_tree(dfd, path, flags);
  if (fd < 0)
    return ctr_fail_errno(err, "clone the mount%s at %s (open_tree)", recursive ? " tree" : "",
                          path[0] ? path : "the resolved path");
  return fd;
}

void ctr_detached_fs_messages(int fs, ctr_error_t *err) {
  char line[256];
  ssize_t n;
  while ((n = read(fs, line, sizeof line - 1)) > 0) {
    line[n] = '\0';
    size_t used = strlen(err->msg);
    if (used + 4 < sizeof err->msg)
      snprintf(err->msg + used, sizeof err->msg - used, " (%s)", line);
  }
}

static int config_data(int fs, const char *type, const char *data, ctr_error_t *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", data) >= (int)sizeof buf)
    return ctr_fail(err, E2BIG, "options of the %s mount are too long", type);
  char *save = NULL;
  for (char *opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(opt, '=');
    int r;
    if (eq) {
      *eq = '\0';
      r = fsconfig(fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
    } else {
      r = fsconfig(fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
    }
    if (r < 0) {
      ctr_fail_errno(err, "%s mount option %s%s%s", type, opt, eq ? "=" : "", eq ? eq + 1 : "");
      ctr_detached_fs_messages(fs, err);
      return -1;
    }
  }
  return 0;
}

static int config_fs(int fs, const char *type, const char *source, const char *data,
                     unsigned long msflags, ctr_error_t *err) {
  if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
    return ctr_fail_errno(err, "%s mount source %s", type, source);
  if ((msflags & MS_SYNCHRONOUS) && fsconfig(fs, FSCONFIG_SET_FLAG, "sync", NULL, 0) < 0)
    return ctr_fail_errno(err, "%s mount option sync", type);
  if ((msflags & MS_DIRSYNC) && fsconfig(fs, FSCONFIG_SET_FLAG, "dirsync", NULL, 0) < 0)
    return ctr_fail_errno(err, "%s mount option dirsync", type);
  if (data && data[0] && config_data(fs, type, data, err) < 0)
    return -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    ctr_fail_errno(err, "create the %s filesystem (%s)", type, data ? data : "");
    ctr_detached_fs_messages(fs, err);
    return -1;
  }
  return 0;
}

int ctr_detached_new(const char *type, const char *source, const char *data, unsigned long msflags,
                     ctr_error_t *err) {
  cleanup_fd int fs = fsopen(type, FSOPEN_CLOEXEC);
  if (fs < 0)
    return ctr_fail_errno(err, "fsopen %s", type);
  if (config_fs(fs, type, source, data, msflags, err) < 0)
    return -1;
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return ctr_fail_errno(err, "fsmount the %s filesystem", type);
  return mnt;
}

static unsigned long long attr_of(unsigned long msflags, unsigned long long *clear) {
  static const struct {
    unsigned long ms;
    unsigned long long attr;
  } map[] = {{MS_RDONLY, MOUNT_ATTR_RDONLY},
             {MS_NOSUID, MOUNT_ATTR_NOSUID},
             {MS_NODEV, MOUNT_ATTR_NODEV},
             {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
             {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}};
  unsigned long long set = 0;
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (msflags & map[i].ms)
      set |= map[i].attr;
  *clear = 0;
  if (msflags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
    *clear = MOUNT_ATTR__ATIME;
    set |= (msflags & MS_NOATIME)       ? MOUNT_ATTR_NOATIME
           : (msflags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME
                                        : MOUNT_ATTR_RELATIME;
  }
  return set;
}

int ctr_detached_setattr(int mnt, unsigned long msflags, unsigned long propagation,
                         const char *what, ctr_error_t *err) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = attr_of(msflags, &attr.attr_clr);
  if ((attr.attr_set || attr.attr_clr) &&
      mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return ctr_fail_errno(err, "set the flags %#llx of %s on every mount below it (mount_setattr)",
                          attr.attr_set, what);
  if (propagation == 0)
    return 0;
  memset(&attr, 0, sizeof attr);
  attr.propagation = propagation & ~(unsigned long)MS_REC;
  unsigned at = AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0);
  if (mount_setattr(mnt, "", at, &attr, sizeof attr) < 0)
    return ctr_fail_errno(err, "set the propagation %#lx of %s (mount_setattr)", propagation, what);
  return 0;
}

int ctr_detached_attach(int mnt, int target, const char *what, ctr_error_t *err) {
  if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return ctr_fail_errno(err, "attach the mount on %s (move_mount)", what);
  return 0;
}
