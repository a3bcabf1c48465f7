/* layerfs.h - read a file of an image's layer stack as the container's
 * overlayfs will show it, without mounting anything and without ever
 * leaving the layers: every path component is looked up by name (no
 * symlink followed by the kernel) in the layers of the merged directory,
 * top layer first; overlay whiteouts (char 0:0) hide what is below, opaque
 * directories (trusted.overlay.opaque=y) end the merge, a directory merges
 * with the same directory of the lower layers; symlinks are resolved by us
 * against the merged view, absolute ones from the stack's root, and ".."
 * never climbs above that root. */
#ifndef CTR_LAYERFS_H
#define CTR_LAYERFS_H

#include <stddef.h>

#include "error.h"

#define CTR_LAYERFS_MAX_LAYERS 128
#define CTR_LAYERFS_MAX_DEPTH 64
#define CTR_LAYERFS_MAX_LINKS 40

/* The regular file rel of the stack layers[0] (top) .. layers[n-1]
 * (bottom): ENOENT when it does not exist, EINVAL when it is not a regular
 * file (never opened for reading), EFBIG over max bytes, ELOOP after 40
 * symlinks. Returns a malloc'd NUL-terminated buffer of *len bytes. */
char *ctr_layerfs_read(const char *const *layers, size_t n, const char *rel, size_t max,
                       size_t *len, ctr_error_t *err);

#endif
