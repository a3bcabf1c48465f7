/* mount.c - mount table and root directory primitives. */
#include "mount.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
#define BIND_REMOUNTABLE                                                                           \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |       \
   MS_STRICTATIME)

static const char *nz(const char *s) {
  return s ? s : "none";
}

static int do_mount(const char *src, const char *tgt, const char *type, unsigned long flags,
                    const char *data, ctr_error_t *err) {
  if (mount(src, tgt, type, flags, data) < 0)
    return ctr_fail_errno(err, "mount %s on %s (type %s, flags 0x%lx)", nz(src), tgt, nz(type),
                          flags);
  return 0;
}

int ctr_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
              const char *data, ctr_error_t *err) {
  unsigned long prop = flags & PROPAGATION;
  unsigned long rest = flags & ~PROPAGATION;
  /* no fstype and no other operation: a pure propagation change (the
   * kernel ignores source then, e.g. "none") */
  int only_prop = prop && (rest & ~(unsigned long)(MS_REC | MS_SILENT)) == 0 && fstype == NULL;
  if (!only_prop) {
    unsigned long main = prop ? rest : flags;
    if (do_mount(source, target, fstype, main, data, err) < 0)
      return -1;
    if ((main & MS_BIND) && !(main & MS_REMOUNT) && (main & BIND_REMOUNTABLE)) {
      unsigned long rf = MS_REMOUNT | MS_BIND | (main & BIND_REMOUNTABLE);
      if (do_mount(NULL, target, NULL, rf, NULL, err) < 0)
        return ctr_error_wrap(err, "apply flags to bind mount");
    }
  }
  if (prop && do_mount(NULL, target, NULL, prop | (flags & MS_REC), NULL, err) < 0)
    return -1;
  return 0;
}

int ctr_umount2(const char *target, int flags, ctr_error_t *err) {
  if (umount2(target, flags) < 0)
    return ctr_fail_errno(err, "umount %s", target);
  return 0;
}

int ctr_pivot_root(const char *new_root, const char *put_old, ctr_error_t *err) {
  if (syscall(SYS_pivot_root, new_root, put_old) < 0)
    return ctr_fail_errno(err, "pivot_root %s (old root to %s)", new_root, put_old);
  return 0;
}

int ctr_chroot(const char *path, ctr_error_t *err) {
  if (chroot(path) < 0)
    return ctr_fail_errno(err, "chroot %s", path);
  return 0;
}

int ctr_chdir(const char *path, ctr_error_t *err) {
  if (chdir(path) < 0)
    return ctr_fail_errno(err, "chdir %s", path);
  return 0;
}

int ctr_fchdir(int fd, ctr_error_t *err) {
  if (fchdir(fd) < 0)
    return ctr_fail_errno(err, "fchdir fd %d", fd);
  return 0;
}

int ctr_getcwd(char *buf, size_t size, ctr_error_t *err) {
  if (getcwd(buf, size) == NULL)
    return ctr_fail_errno(err, "getcwd");
  return 0;
}

int ctr_mknod(const char *path, mode_t mode, unsigned major, unsigned minor, ctr_error_t *err) {
  if (mknod(path, mode, makedev(major, minor)) < 0)
    return ctr_fail_errno(err, "mknod %s (mode 0%o, %u:%u)", path, (unsigned)mode, major, minor);
  return 0;
}
