/* detached.h - mounts made with the new mount API (open_tree, fsopen/fsmount,
 * mount_setattr, move_mount): a mount is built detached, given its
 * read-only / nosuid / nodev / noexec / atime flags and its propagation while
 * nothing can see it, then attached onto a destination that was resolved
 * once, as an fd. No destination path is ever looked up a second time. */
#ifndef CTR_DETACHED_H
#define CTR_DETACHED_H

#include <stdbool.h>

#include "error.h"

/* Clone the mount tree at dfd/path (path "" means dfd itself) as a detached
 * mount: the whole tree below it with recursive, else the top mount only.
 * Returns its fd. */
int ctr_detached_clone(int dfd, const char *path, bool recursive, ctr_error_t *err);

/* A new detached filesystem mount: fsopen(type), source and the comma
 * separated data ("key=value" or "flag"), MS_SYNCHRONOUS/MS_DIRSYNC of
 * msflags as superblock flags. Returns its fd; the kernel's own message is
 * added to err when creating the filesystem fails. */
int ctr_detached_new(const char *type, const char *source, const char *data, unsigned long msflags,
                     ctr_error_t *err);

/* After a failed FSCONFIG_CMD_CREATE on the fs context fs (fsopen's fd): add
 * the kernel's messages on it ("e ...") to err->msg, each " (...)", as far
 * as they fit. */
void ctr_detached_fs_messages(int fs, ctr_error_t *err);

/* Set the mount flags of msflags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC,
 * MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME) on every mount of
 * the detached tree, and its propagation (MS_PRIVATE/SLAVE/SHARED/UNBINDABLE,
 * | MS_REC for the whole tree; 0 leaves it). what names it in errors. */
int ctr_detached_setattr(int mnt, unsigned long msflags, unsigned long propagation,
                         const char *what, ctr_error_t *err);

/* Attach the detached mount onto the object target (an fd, O_PATH is fine). */
int ctr_detached_attach(int mnt, int target, const char *what, ctr_error_t *err);

#endif
