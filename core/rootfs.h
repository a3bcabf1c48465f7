/* rootfs.h - build the container's root filesystem (child side of spawn). */
#ifndef CTR_ROOTFS_H
#define CTR_ROOTFS_H

#include "spawn.h"

/* In the child's new mount namespace: make propagation private, mount the
 * root (overlay or bind), the configured mounts and devices, pivot_root into
 * it, then mask and write-protect paths. */
/* fds: NULL, or (a container with a user namespace, userns.h) the mounts the
 * parent built: fds[0] the root, fds[1 + i] bind mount i (-1: none). */
/* pause_fd >= 0: stop before pivot_root for the create hooks
 * (ctr_pause_for_hooks on that sync socket). */
int ctr_rootfs_setup(const ctr_spawn_cfg_t *cfg, const int *fds, int pause_fd, ctr_error_t *err);

/* Enter the working directory path, resolved inside the current root
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: no symlink or ".." leads
 * out, no /proc/self/fd/N), created there when missing and create is set;
 * then refuse a cwd the kernel reports unreachable from the root. The caller
 * has closed every fd of its own first (ctr_close_fds_except). */
int ctr_enter_cwd(const char *path, bool create, ctr_error_t *err);

#endif
