/* mount.h - mount, umount2, pivot_root, chroot, chdir, getcwd, mknod. */
#ifndef CTR_MOUNT_H
#define CTR_MOUNT_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* mount(2), made to do what the flags say in one call:
 *  - propagation flags (MS_SHARED/PRIVATE/SLAVE/UNBINDABLE, with MS_REC) are
 *    applied in a separate call after the mount itself (the kernel ignores
 *    other flags when one is present);
 *  - a new bind mount with MS_RDONLY/NOSUID/NODEV/NOEXEC/atime flags is
 *    followed by a MS_REMOUNT|MS_BIND to apply them (a bind ignores them). */
int ctr_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
              const char *data, ctr_error_t *err);
/* umount2(2). */
int ctr_umount2(const char *target, int flags, ctr_error_t *err);
/* pivot_root(2). */
int ctr_pivot_root(const char *new_root, const char *put_old, ctr_error_t *err);
/* chroot(2). */
int ctr_chroot(const char *path, ctr_error_t *err);
/* chdir(2) / fchdir(2). */
int ctr_chdir(const char *path, ctr_error_t *err);
int ctr_fchdir(int fd, ctr_error_t *err);
/* getcwd(3) into buf. */
int ctr_getcwd(char *buf, size_t size, ctr_error_t *err);
/* mknod(2): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG). */
int ctr_mknod(const char *path, mode_t mode, unsigned major, unsigned minor, ctr_error_t *err);

#endif
