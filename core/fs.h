/* fs.h - filesystem primitives: directories, links, metadata, flock-based
 * lock files, atomic file replacement, and tree walks that never cross into
 * another mount (remove_all, du). */
#ifndef CTR_FS_H
#define CTR_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

int ctr_fs_mkdir(const char *path, mode_t mode, ctr_error_t *err);
int ctr_fs_rmdir(const char *path, ctr_error_t *err);
int ctr_fs_unlink(const char *path, ctr_error_t *err);
int ctr_fs_rename(const char *from, const char *to, ctr_error_t *err);
/* Swap the two paths atomically (renameat2 RENAME_EXCHANGE): both must
 * exist (ENOENT), on one filesystem that supports it (EINVAL). */
int ctr_fs_exchange(const char *a, const char *b, ctr_error_t *err);
int ctr_fs_symlink(const char *target, const char *path, ctr_error_t *err);
int ctr_fs_link(const char *target, const char *path, ctr_error_t *err);
int ctr_fs_chmod(const char *path, mode_t mode, ctr_error_t *err);
/* chown(2), or lchown(2) when nofollow. */
int ctr_fs_chown(const char *path, uid_t uid, gid_t gid, int nofollow, ctr_error_t *err);
/* Set the modification time of path (not following a final symlink) to
 * mtime_ns nanoseconds since the epoch; its access time is left alone. */
int ctr_fs_set_mtime(const char *path, int64_t mtime_ns, ctr_error_t *err);
/* stat(2), or lstat(2) when nofollow. */
int ctr_fs_stat(const char *path, struct stat *st, int nofollow, ctr_error_t *err);

/* Extended attributes of path itself (symlinks not followed: l*xattr).
 * get returns a malloc'd value of *len bytes; list returns a malloc'd
 * buffer of NUL-terminated names, *len bytes in all. flags for set:
 * 0, XATTR_CREATE or XATTR_REPLACE. */
char *ctr_fs_getxattr(const char *path, const char *name, size_t *len, ctr_error_t *err);
int ctr_fs_setxattr(const char *path, const char *name, const void *value, size_t len, int flags,
                    ctr_error_t *err);
char *ctr_fs_listxattr(const char *path, size_t *len, ctr_error_t *err);
int ctr_fs_removexattr(const char *path, const char *name, ctr_error_t *err);

/* readlink(2); returns a malloc'd string. */
char *ctr_fs_readlink(const char *path, ctr_error_t *err);
/* realpath(3); returns a malloc'd string. */
char *ctr_fs_realpath(const char *path, ctr_error_t *err);

/* fsync(2) of an fd, or of a path opened read-only (files and directories). */
int ctr_fs_fsync_fd(int fd, ctr_error_t *err);
int ctr_fs_fsync_path(const char *path, ctr_error_t *err);

/* Read a whole file into a malloc'd buffer (NUL-terminated, *len excludes it). */
char *ctr_fs_read_file(const char *path, size_t *len, ctr_error_t *err);
/* Like ctr_fs_read_file, and *st (when not NULL) is the fstat of the file
 * read: one open, one fstat and (a regular file) one read. */
char *ctr_fs_read_file_stat(const char *path, size_t *len, struct stat *st, ctr_error_t *err);
/* ctr_fs_read_file_stat of rel opened relative to dirfd (openat); path is
 * the file's name in the messages. */
char *ctr_fs_read_file_stat_at(int dirfd, const char *rel, const char *path, size_t *len,
                               struct stat *st, ctr_error_t *err);
/* ctr_fs_read_file_stat_at into *buf (*cap bytes, grown with realloc as
 * needed; the caller frees it, also after a failure): a buffer reused for
 * many files. 0, or -1 with err set. */
int ctr_fs_read_into(int dirfd, const char *rel, const char *path, char **buf, size_t *cap,
                     size_t *len, struct stat *st, ctr_error_t *err);

/* Replace path atomically: write a temp file in the same directory, fsync
 * it, chmod it to mode, rename it over path and fsync the directory. On
 * failure the temp file is removed and path is untouched. */
int ctr_fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             ctr_error_t *err);

/* The names in a directory (without "." and ".."), sorted by strcmp. The
 * array and the strings are malloc'd: free with ctr_fs_free_names. */
char **ctr_fs_readdir(const char *path, size_t *n, ctr_error_t *err);
void ctr_fs_free_names(char **names, size_t n);

/* Move every entry of the directory from into the directory to (same
 * filesystem), each with renameat2(RENAME_NOREPLACE) between fds of the two
 * directories opened without following any symlink: an entry that exists in
 * to already is an error (EEXIST) and stops the move. */
int ctr_fs_move_entries(const char *from, const char *to, ctr_error_t *err);

/* Open (creating, mode 0600, close-on-exec) path and flock it, exclusive or
 * shared, optionally without blocking (EWOULDBLOCK when held elsewhere).
 * Returns the fd: closing it releases the lock. A signal fails a blocking
 * wait with EINTR (not retried: ctr.core checks for an interrupt first). */
int ctr_fs_lock_file(const char *path, int exclusive, int nonblock, ctr_error_t *err);

/* rm -rf that never crosses into another mount: the whole tree is checked
 * first, and if any mount point is found below path (or path is one) the
 * call fails with EBUSY naming it and nothing is removed. A missing path is
 * not an error. Symlinks are removed, never followed. The walk holds no
 * path buffer and at most two fds whatever the depth (trees deeper than
 * PATH_MAX are fine); a directory moved during it fails with ESTALE. */
int ctr_fs_remove_all(const char *path, ctr_error_t *err);

/* Disk usage of a tree in bytes (st_blocks * 512, hard links counted once),
 * not descending into other mounts; *apparent gets the sum of st_size of
 * regular files and symlinks (may be NULL). */
int ctr_fs_du(const char *path, uint64_t *bytes, uint64_t *apparent, ctr_error_t *err);

/* Read the regular file rel inside the directory dirfd as if dirfd were the
 * root: openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so ".." and every
 * symlink (absolute or relative) resolve below dirfd, never above it. The
 * file is opened O_PATH and fstat'd first: anything but a regular file
 * (FIFO, device, socket, directory) fails with EINVAL without being opened
 * for reading; a file over max bytes fails with EFBIG (nothing more than
 * max + 1 bytes is ever read). root names dirfd in messages. Returns a
 * malloc'd NUL-terminated buffer of *len bytes. */
char *ctr_fs_read_in_root(int dirfd, const char *root, const char *rel, size_t max, size_t *len,
                          ctr_error_t *err);
/* The same with the root given as a path (opened O_PATH | O_DIRECTORY). */
char *ctr_fs_read_in_root_path(const char *root, const char *rel, size_t max, size_t *len,
                               ctr_error_t *err);
/* Read the file behind pfd (an O_PATH fd, st its fstat) if it is a regular
 * file of at most max bytes: it is reopened through /proc/self/fd (the same
 * inode, checked) and read with the bound. what names it in messages. */
char *ctr_fs_read_opened(int pfd, const struct stat *st, const char *what, size_t max, size_t *len,
                         ctr_error_t *err);

#endif
