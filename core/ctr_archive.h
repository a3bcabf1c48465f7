/* ctr_archive.h - tarballs with libarchive: safe extraction, creation, listing.
 * (Not named archive.h: with -Icore that would shadow libarchive's <archive.h>.)
 * Only linked into the ctr.archive Lua module (not into ctr.core). */
#ifndef CTR_ARCHIVE_H
#define CTR_ARCHIVE_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Extract a tar archive (plain, gzip, xz, zstd, bzip2: detected) into the
 * existing directory dest, keeping owners (numeric ids), permissions,
 * times, xattrs, ACLs and device nodes. Refuses (fails) entries with
 * absolute paths, ".." components, or paths through a symlink. */
int ctr_archive_extract(const char *tarball, const char *dest, ctr_error_t *err);

/* The same, reading the archive from fd (a pipe: read to its end). */
int ctr_archive_extract_fd(int fd, const char *dest, ctr_error_t *err);

/* Flags of ctr_archive_create, ctr_archive_create_fd and
 * ctr_archive_extract_layer. */
enum {
  CTR_ARCHIVE_GZIP = 1,      /* gzip-compress the archive */
  CTR_ARCHIVE_WHITEOUTS = 2, /* keep overlayfs whiteouts (char 0:0): a layer */
  /* OCI/docker layer whiteouts: on create, an overlayfs whiteout becomes an
   * empty file ".wh.NAME" and an opaque directory (xattr
   * trusted.overlay.opaque=y) gets a ".wh..wh..opq" entry; on extract,
   * the reverse (whiteouts as char 0:0 devices, opaque dirs by xattr). */
  CTR_ARCHIVE_OCI = 4,
};

/* ctr_archive_extract with flags (CTR_ARCHIVE_OCI: a registry layer). With
 * diff_id ("sha256:<hex>", else NULL) the sha256 of the decompressed stream
 * must be diff_id: it is computed while extracting (one decompression) and
 * a mismatch fails the call after the extraction (extract into a fresh
 * directory and remove it on failure). */
int ctr_archive_extract_layer(const char *tarball, const char *dest, unsigned flags,
                              const char *diff_id, ctr_error_t *err);

/* The sha256 (hex) of the decompressed content of the archive at tarball
 * (an image layer's diff_id). */
int ctr_archive_digest(const char *tarball, char hex[65], ctr_error_t *err);

/* Write the tree at src as a tar archive (pax, gzip-compressed with
 * CTR_ARCHIVE_GZIP): paths relative without a leading "/" or "./", owners
 * as numbers, modes, symlinks, hard links, device nodes, fifos and xattrs
 * kept. Overlayfs whiteouts (char device 0:0) are skipped unless
 * CTR_ARCHIVE_WHITEOUTS; sockets always; other mounts are not entered. */
int ctr_archive_create(const char *src, const char *tarball, unsigned flags, ctr_error_t *err);

/* The same, writing to fd (not closed), which may be a pipe. Opens nothing
 * but what is below src: a caller that has pivoted into the tree to archive
 * gets only that tree, whatever its symlinks point to. */
int ctr_archive_create_fd(const char *src, int fd, unsigned flags, ctr_error_t *err);

/* Options of ctr_archive_copy_out and ctr_archive_copy_in (docker cp). */
typedef struct ctr_archive_copy {
  const char *name; /* copy_out: the archive's name of src itself; NULL or "": only its contents */
  int follow;       /* copy_out: src is followed when it is a symlink (cp -L) */
  int64_t uid, gid; /* copy_in: the owner of every entry; -1: the archive's */
  int64_t shift;    /* copy_in: added to every owner id (a user namespace's base; may be < 0) */
  int nodev;        /* copy_in: a device node in the archive is an error */
  int nosuid;       /* copy_in: setuid and setgid bits are dropped */
  int64_t bytes;    /* out: the size of the tar stream written or read */
} ctr_archive_copy_t;

/* Write src (a file or a tree) as a pax tar archive to fd, its entries named
 * c->name and c->name/... (NULL or "": src's contents only). Opens nothing
 * but src and what is below it (src itself is followed with c->follow). */
int ctr_archive_copy_out(const char *src, int fd, ctr_archive_copy_t *c, ctr_error_t *err);

/* Extract the archive read from fd into dest as ctr_archive_extract does,
 * owners set and shifted and device nodes refused as c says. */
int ctr_archive_copy_in(int fd, const char *dest, ctr_archive_copy_t *c, ctr_error_t *err);

/* One entry of a listing. */
typedef struct ctr_archive_entry {
  const char *path;     /* valid during the callback only */
  const char *linkname; /* symlink or hard link target, or NULL */
  int hardlink;         /* linkname is a hard link target */
  mode_t mode;          /* type and permission bits */
  int64_t size;
  int64_t uid, gid;
  int64_t mtime;
  unsigned rdev_major, rdev_minor;
} ctr_archive_entry_t;

/* Call fn for each entry of the archive; fn returning non-zero stops (and
 * that value is returned). */
typedef int (*ctr_archive_list_fn)(const ctr_archive_entry_t *e, void *ctx);
int ctr_archive_list(const char *tarball, ctr_archive_list_fn fn, void *ctx, ctr_error_t *err);

#endif
