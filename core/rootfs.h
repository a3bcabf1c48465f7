/* rootfs.h - build the container's root filesystem (child side of spawn). */
#ifndef CTR_ROOTFS_H
#define CTR_ROOTFS_H

#include "spawn.h"

/* In the child's new mount namespace: make propagation private, mount the
 * root (overlay or bind), the configured mounts and devices, pivot_root into
 * it, then mask and write-protect paths. */
int ctr_rootfs_setup(const ctr_spawn_cfg_t *cfg, ctr_error_t *err);

/* chdir to path, creating it (inside the current root) when missing. */
int ctr_chdir_mkdir(const char *path, ctr_error_t *err);

#endif
