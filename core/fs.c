/* fs.c - filesystem primitives, lock files, atomic writes, mount-aware tree walks. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

/* ---- simple wrappers ------------------------------------------------------ */

int ctr_fs_mkdir(const char *path, mode_t mode, ctr_error_t *err) {
  if (mkdir(path, mode) < 0)
    return ctr_fail_errno(err, "mkdir %s", path);
  return 0;
}

int ctr_fs_rmdir(const char *path, ctr_error_t *err) {
  if (rmdir(path) < 0)
    return ctr_fail_errno(err, "rmdir %s", path);
  return 0;
}

int ctr_fs_unlink(const char *path, ctr_error_t *err) {
  if (unlink(path) < 0)
    return ctr_fail_errno(err, "unlink %s", path);
  return 0;
}

int ctr_fs_rename(const char *from, const char *to, ctr_error_t *err) {
  if (rename(from, to) < 0)
    return ctr_fail_errno(err, "rename %s to %s", from, to);
  return 0;
}

int ctr_fs_exchange(const char *a, const char *b, ctr_error_t *err) {
  if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
    return ctr_fail_errno(err, "exchange %s and %s", a, b);
  return 0;
}

int ctr_fs_symlink(const char *target, const char *path, ctr_error_t *err) {
  if (symlink(target, path) < 0)
    return ctr_fail_errno(err, "symlink %s -> %s", path, target);
  return 0;
}

int ctr_fs_link(const char *target, const char *path, ctr_error_t *err) {
  if (link(target, path) < 0)
    return ctr_fail_errno(err, "link %s to %s", path, target);
  return 0;
}

int ctr_fs_chmod(const char *path, mode_t mode, ctr_error_t *err) {
  if (chmod(path, mode) < 0)
    return ctr_fail_errno(err, "chmod %s to %o", path, (unsigned)mode);
  return 0;
}

int ctr_fs_chown(const char *path, uid_t uid, gid_t gid, int nofollow, ctr_error_t *err) {
  int r = nofollow ? lchown(path, uid, gid) : chown(path, uid, gid);
  if (r < 0)
    return ctr_fail_errno(err, "%s %s to %ld:%ld", nofollow ? "lchown" : "chown", path, (long)uid,
                          (long)gid);
  return 0;
}

int ctr_fs_set_mtime(const char *path, int64_t mtime_ns, ctr_error_t *err) {
  struct timespec ts[2] = {
      {.tv_sec = 0, .tv_nsec = UTIME_OMIT},
      {.tv_sec = (time_t)(mtime_ns / 1000000000), .tv_nsec = (long)(mtime_ns % 1000000000)}};
  if (ts[1].tv_nsec < 0) {
    ts[1].tv_sec -= 1;
    ts[1].tv_nsec += 1000000000;
  }
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return ctr_fail_errno(err, "utimensat %s (set its mtime)", path);
  return 0;
}

int ctr_fs_stat(const char *path, struct stat *st, int nofollow, ctr_error_t *err) {
  int r = nofollow ? lstat(path, st) : stat(path, st);
  if (r < 0)
    return ctr_fail_errno(err, "%s %s", nofollow ? "lstat" : "stat", path);
  return 0;
}

char *ctr_fs_readlink(const char *path, ctr_error_t *err) {
  for (size_t size = 256;; size *= 2) {
    cleanup_free char *buf = malloc(size);
    if (buf == NULL) {
      ctr_fail_errno(err, "readlink %s", path);
      return NULL;
    }
    ssize_t n = readlink(path, buf, size);
    if (n < 0) {
      ctr_fail_errno(err, "readlink %s", path);
      return NULL;
    }
    if ((size_t)n < size) {
      buf[n] = '\0';
      return steal_ptr(&buf);
    }
  }
}

/* ---- extended attributes ------------------------------------------------------ */

char *ctr_fs_getxattr(const char *path, const char *name, size_t *len, ctr_error_t *err) {
  for (;;) {
    ssize_t n = lgetxattr(path, name, NULL, 0);
    if (n < 0) {
      ctr_fail_errno(err, "getxattr %s %s", path, name);
      return NULL;
    }
    cleanup_free char *buf = malloc((size_t)n + 1);
    if (buf == NULL) {
      ctr_fail_errno(err, "getxattr %s %s", path, name);
      return NULL;
    }
    ssize_t m = lgetxattr(path, name, buf, (size_t)n);
    if (m < 0 && errno == ERANGE)
      continue; /* grew meanwhile */
    if (m < 0) {
      ctr_fail_errno(err, "getxattr %s %s", path, name);
      return NULL;
    }
    buf[m] = '\0';
    *len = (size_t)m;
    return steal_ptr(&buf);
  }
}

int ctr_fs_setxattr(const char *path, const char *name, const void *value, size_t len, int flags,
                    ctr_error_t *err) {
  if (lsetxattr(path, name, value, len, flags) < 0)
    return ctr_fail_errno(err, "setxattr %s %s", path, name);
  return 0;
}

char *ctr_fs_listxattr(const char *path, size_t *len, ctr_error_t *err) {
  for (;;) {
    ssize_t n = llistxattr(path, NULL, 0);
    if (n < 0) {
      ctr_fail_errno(err, "listxattr %s", path);
      return NULL;
    }
    cleanup_free char *buf = malloc((size_t)n + 1);
    if (buf == NULL) {
      ctr_fail_errno(err, "listxattr %s", path);
      return NULL;
    }
    ssize_t m = llistxattr(path, buf, (size_t)n);
    if (m < 0 && errno == ERANGE)
      continue;
    if (m < 0) {
      ctr_fail_errno(err, "listxattr %s", path);
      return NULL;
    }
    *len = (size_t)m;
    return steal_ptr(&buf);
  }
}

int ctr_fs_removexattr(const char *path, const char *name, ctr_error_t *err) {
  if (lremovexattr(path, name) < 0)
    return ctr_fail_errno(err, "removexattr %s %s", path, name);
  return 0;
}

char *ctr_fs_realpath(const char *path, ctr_error_t *err) {
  char *r = realpath(path, NULL);
  if (r == NULL)
    ctr_fail_errno(err, "realpath %s", path);
  return r;
}

int ctr_fs_fsync_fd(int fd, ctr_error_t *err) {
  if (fsync(fd) < 0)
    return ctr_fail_errno(err, "fsync fd %d", fd);
  return 0;
}

int ctr_fs_fsync_path(const char *path, ctr_error_t *err) {
  cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s for fsync", path);
  if (fsync(fd) < 0)
    return ctr_fail_errno(err, "fsync %s", path);
  return 0;
}

/* ---- whole files ------------------------------------------------------------ */

char *ctr_fs_read_file_stat(const char *path, size_t *len, struct stat *st, ctr_error_t *err) {
  return ctr_fs_read_file_stat_at(AT_FDCWD, path, path, len, st, err);
}

char *ctr_fs_read_file_stat_at(int dirfd, const char *rel, const char *path, size_t *len,
                               struct stat *st, ctr_error_t *err) {
  char *buf = NULL;
  size_t cap = 0;
  if (ctr_fs_read_into(dirfd, rel, path, &buf, &cap, len, st, err) < 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int ctr_fs_read_into(int dirfd, const char *rel, const char *path, char **bufp, size_t *capp,
                     size_t *len, struct stat *st, ctr_error_t *err) {
  cleanup_fd int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", path);
  struct stat sb;
  if (fstat(fd, &sb) < 0)
    return ctr_fail_errno(err, "stat %s", path);
  /* a regular file is read in one read(2) of its size (plus one byte): a
   * short read that brought at least the size it had is its end (procfs
   * and sysfs files, whose size says nothing, are read until EOF) */
  int regular = S_ISREG(sb.st_mode) && sb.st_size >= 0 && sb.st_size < (off_t)1 << 30;
  size_t need = regular ? (size_t)sb.st_size + 2 : 4096, n = 0;
  if (*capp < need) {
    char *nb = realloc(*bufp, need);
    if (nb == NULL)
      return ctr_fail_errno(err, "read %s", path);
    *bufp = nb;
    *capp = need;
  }
  for (;;) {
    if (*capp - n < 2) {
      char *nb = realloc(*bufp, *capp * 2);
      if (nb == NULL)
        return ctr_fail_errno(err, "read %s", path);
      *bufp = nb;
      *capp *= 2;
    }
    size_t want = *capp - n - 1;
    ssize_t r = read(fd, *bufp + n, want);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return ctr_fail_errno(err, "read %s", path);
    if (r == 0)
      break;
    n += (size_t)r;
    if (regular && sb.st_size > 0 && n >= (size_t)sb.st_size && (size_t)r < want)
      break;
  }
  (*bufp)[n] = '\0';
  *len = n;
  if (st != NULL)
    *st = sb;
  return 0;
}

char *ctr_fs_read_file(const char *path, size_t *len, ctr_error_t *err) {
  return ctr_fs_read_file_stat(path, len, NULL, err);
}

/* Fill, chmod and fsync the temp file fd, then close it. */
static int finish_tmp(int *fd, const char *tmp, const void *data, size_t len, mode_t mode,
                      ctr_error_t *err) {
  if (ctr_write_all(*fd, data, len) < 0)
    return ctr_fail_errno(err, "write %s", tmp);
  if (fchmod(*fd, mode) < 0)
    return ctr_fail_errno(err, "chmod %s", tmp);
  if (fsync(*fd) < 0)
    return ctr_fail_errno(err, "fsync %s", tmp);
  int r = close(steal_fd(fd));
  if (r < 0)
    return ctr_fail_errno(err, "close %s", tmp);
  return 0;
}

int ctr_fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             ctr_error_t *err) {
  cleanup_free char *dir = strdup(path);
  cleanup_free char *tmp = NULL;
  if (dir == NULL)
    return ctr_fail_errno(err, "write %s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : dir;
  if (*base == '\0')
    return ctr_fail(err, EISDIR, "write %s", path);
  if (asprintf(&tmp, "%.*s.%s.tmp-XXXXXX", slash ? (int)(slash - dir + 1) : 0, dir, base) < 0)
    return ctr_fail_errno(err, "write %s", path);
  if (slash == dir)
    dir[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    strcpy(dir, ".");
  cleanup_fd int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "create temporary file %s", tmp);
  if (finish_tmp(&fd, tmp, data, len, mode, err) < 0 || ctr_fs_rename(tmp, path, err) < 0) {
    unlink(tmp);
    return ctr_error_wrap(err, "write %s", path);
  }
  return ctr_fs_fsync_path(dir, err);
}

/* ---- directories ------------------------------------------------------------- */

void ctr_fs_free_names(char **names, size_t n) {
  if (names == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_name(char ***names, size_t *n, size_t *cap, const char *name) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    char **nv = realloc(*names, nc * sizeof *nv);
    if (nv == NULL)
      return -1;
    *names = nv;
    *cap = nc;
  }
  char *s = strdup(name);
  if (s == NULL)
    return -1;
  (*names)[(*n)++] = s;
  return 0;
}

char **ctr_fs_readdir(const char *path, size_t *n, ctr_error_t *err) {
  cleanup_dir DIR *d = opendir(path);
  if (d == NULL) {
    ctr_fail_errno(err, "opendir %s", path);
    return NULL;
  }
  char **names = NULL;
  size_t cap = 0;
  *n = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL && errno == 0)
      break;
    int skip = de != NULL && (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0);
    if (de == NULL || (!skip && push_name(&names, n, &cap, de->d_name) < 0)) {
      ctr_fail_errno(err, "readdir %s", path);
      ctr_fs_free_names(names, *n);
      return NULL;
    }
  }
  if (*n > 0)
    qsort(names, *n, sizeof *names, cmp_names);
  else if ((names = malloc(sizeof *names)) == NULL)
    ctr_fail_errno(err, "readdir %s", path);
  return names;
}

/* ---- moving a tree's entries ------------------------------------------------------ */

/* A directory opened without following any symlink on the way. */
static int open_dir_nofollow(const char *path, ctr_error_t *err) {
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd;
  do
    fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return ctr_fail_errno(err, "open the directory %s", path);
  return fd;
}

int ctr_fs_move_entries(const char *from, const char *to, ctr_error_t *err) {
  cleanup_fd int dst = open_dir_nofollow(to, err);
  if (dst < 0)
    return -1;
  int src = open_dir_nofollow(from, err);
  if (src < 0)
    return -1;
  cleanup_dir DIR *d = fdopendir(src);
  if (d == NULL) {
    close(src);
    return ctr_fail_errno(err, "opendir %s", from);
  }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL && errno != 0)
      return ctr_fail_errno(err, "readdir %s", from);
    if (de == NULL)
      return 0;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (syscall(SYS_renameat2, src, de->d_name, dst, de->d_name, RENAME_NOREPLACE) < 0)
      return ctr_fail_errno(err, "move %s into %s", de->d_name, to);
  }
}

/* ---- lock files --------------------------------------------------------------- */

int ctr_fs_lock_file(const char *path, int exclusive, int nonblock, ctr_error_t *err) {
  cleanup_fd int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0)
    return ctr_fail_errno(err, "open lock file %s", path);
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblock ? LOCK_NB : 0);
  if (flock(fd, op) < 0)
    return ctr_fail_errno(err, "lock %s (%s)", path, exclusive ? "exclusive" : "shared");
  return steal_fd(&fd);
}

/* ---- tree walks ------------------------------------------------------------------
 * A depth-first walk over directory fds (openat/fstatat, never following
 * symlinks). Mount points below the root are either skipped or an error.
 *
 * No path is ever built for a syscall, so depth is unbounded by PATH_MAX, and
 * only the current directory is held open (two fds at most, whatever the
 * depth): each directory's names are read when it is entered, and the walk
 * climbs back with openat(fd, "..") checked against the parent's recorded
 * device and inode, so a directory moved during the walk is an error
 * (ESTALE), never a way out of the tree. */

typedef struct walk walk_t;
typedef int (*walk_fn)(walk_t *w, int dirfd, const char *name, const struct stat *st,
                       ctr_error_t *err);

typedef struct walk_frame {
  char *name; /* this directory's name in its parent (the root's path for the root) */
  struct stat st;
  char **names; /* its entries, read when it was entered */
  size_t n, next;
} walk_frame_t;

struct walk {
  dev_t root_dev;
  int skip_mounts;  /* 1: skip mount points, 0: fail on them */
  walk_fn leaf;     /* non-directories (may be NULL) */
  walk_fn post_dir; /* directories, after their content (may be NULL) */
  void *ctx;
  walk_frame_t *stack; /* the directories from the root down to the current one */
  size_t depth, cap;
  int fd;          /* the current directory (stack[depth - 1]) */
  char where[320]; /* the entry being visited, for messages (abbreviated) */
};

/* Name dirfd/name in w->where for messages: the root's path, then the last
 * component(s), with "/..." for what is left out when the path is long. */
static const char *walk_where(walk_t *w, const char *name) {
  size_t cap = sizeof w->where, len = 0;
  const char *root = w->depth ? w->stack[0].name : name;
  len = (size_t)snprintf(w->where, cap, "%s", root);
  if (w->depth == 0 || len >= cap)
    return w->where;
  const char *parent = w->depth > 1 ? w->stack[w->depth - 1].name : NULL;
  if (w->depth > 2)
    len += (size_t)snprintf(w->where + len, cap - len, "/...");
  if (parent && len < cap)
    len += (size_t)snprintf(w->where + len, cap - len, "/%s", parent);
  if (name && len < cap)
    snprintf(w->where + len, cap - len, "/%s", name);
  return w->where;
}

static int is_mount_root(const struct statx *sx) {
  return (sx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
         (sx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* 1 if dirfd/name is the root of a mount (or on another device), 0 if not. */
static int is_mount_point(walk_t *w, int dirfd, const char *name, const struct stat *st,
                          ctr_error_t *err) {
  if (st->st_dev != w->root_dev)
    return 1;
  struct statx sx;
  if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) < 0)
    return ctr_fail_errno(err, "statx %s", walk_where(w, name));
  return is_mount_root(&sx);
}

static struct timespec ts_of(struct statx_timestamp t) {
  return (struct timespec){.tv_sec = t.tv_sec, .tv_nsec = t.tv_nsec};
}

/* lstat of dirfd/name and whether it is a mount point (as is_mount_point),
 * in one statx: st as fstatat(AT_SYMLINK_NOFOLLOW) fills it. -1 with errno
 * set when statx fails. */
static int lstat_mount(walk_t *w, int dirfd, const char *name, struct stat *st, int *mount) {
  struct statx sx;
  if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) < 0)
    return -1;
  *st = (struct stat){
      .st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
      .st_ino = sx.stx_ino,
      .st_mode = sx.stx_mode,
      .st_nlink = sx.stx_nlink,
      .st_uid = sx.stx_uid,
      .st_gid = sx.stx_gid,
      .st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor),
      .st_size = (off_t)sx.stx_size,
      .st_blksize = (blksize_t)sx.stx_blksize,
      .st_blocks = (blkcnt_t)sx.stx_blocks,
      .st_atim = ts_of(sx.stx_atime),
      .st_mtim = ts_of(sx.stx_mtime),
      .st_ctim = ts_of(sx.stx_ctime),
  };
  *mount = st->st_dev != w->root_dev || is_mount_root(&sx);
  return 0;
}

/* The names in the directory fd (without "." and ".."), unsorted: read
 * with getdents64 on fd itself (a directory fd the walk opened for this,
 * used afterwards only for *at calls, so its offset does not matter). */
static char **names_of(walk_t *w, int fd, const char *name, size_t *n, ctr_error_t *err) {
  char **names = NULL;
  size_t cap = 0;
  *n = 0;
  char buf[8192] __attribute__((aligned(8)));
  for (;;) {
    ssize_t got = getdents64(fd, buf, sizeof buf);
    if (got == 0)
      return names ? names : calloc(1, sizeof *names);
    if (got < 0) {
      ctr_fail_errno(err, "readdir %s", walk_where(w, name));
      ctr_fs_free_names(names, *n);
      return NULL;
    }
    for (ssize_t off = 0; off < got;) {
      struct dirent64 *de = (struct dirent64 *)(buf + off);
      off += de->d_reclen;
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (push_name(&names, n, &cap, de->d_name) < 0) {
        ctr_fail_errno(err, "readdir %s", walk_where(w, name));
        ctr_fs_free_names(names, *n);
        return NULL;
      }
    }
  }
}

/* Make the directory fd (opened as name, st its metadata) the current one. */
static int walk_push(walk_t *w, int *fd, const char *name, const struct stat *st,
                     ctr_error_t *err) {
  if (w->depth == w->cap) {
    size_t nc = w->cap ? w->cap * 2 : 16;
    walk_frame_t *ns = realloc(w->stack, nc * sizeof *ns);
    if (ns == NULL)
      return ctr_fail_errno(err, "walk %s", walk_where(w, name));
    w->stack = ns;
    w->cap = nc;
  }
  walk_frame_t f = {.st = *st};
  if ((f.names = names_of(w, *fd, name, &f.n, err)) == NULL)
    return -1;
  if ((f.name = strdup(name)) == NULL) {
    ctr_fs_free_names(f.names, f.n);
    return ctr_fail_errno(err, "walk %s", walk_where(w, name));
  }
  w->stack[w->depth++] = f;
  if (w->fd >= 0)
    close(w->fd);
  w->fd = steal_fd(fd);
  return 0;
}

static int same_inode(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Enter the directory name (st from fstatat) below the current one. */
static int walk_descend(walk_t *w, const char *name, const struct stat *st, ctr_error_t *err) {
  cleanup_fd int fd = openat(w->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0; /* vanished meanwhile */
  if (fd < 0)
    return ctr_fail_errno(err, "open directory %s", walk_where(w, name));
  struct stat now;
  if (fstat(fd, &now) < 0)
    return ctr_fail_errno(err, "stat %s", walk_where(w, name));
  if (!same_inode(&now, st))
    return ctr_fail(err, ESTALE, "%s was replaced during the walk", walk_where(w, name));
  return walk_push(w, &fd, name, st, err);
}

/* Visit the entry name of the current directory. */
static int walk_visit(walk_t *w, const char *name, ctr_error_t *err) {
  struct stat st;
  int m;
  if (lstat_mount(w, w->fd, name, &st, &m) < 0) {
    if (errno == ENOENT)
      return 0; /* vanished meanwhile */
    return ctr_fail_errno(err, "lstat %s", walk_where(w, name));
  }
  if (m)
    return w->skip_mounts ? 0 : ctr_fail(err, EBUSY, "%s is a mount point", walk_where(w, name));
  if (S_ISDIR(st.st_mode))
    return walk_descend(w, name, &st, err);
  return w->leaf ? w->leaf(w, w->fd, name, &st, err) : 0;
}

static void walk_frame_free(walk_frame_t *f) {
  ctr_fs_free_names(f->names, f->n);
  free(f->name);
}

/* Leave the current directory (its content is done): climb to its parent,
 * checked to be the directory it was entered from, and run post_dir on it. */
static int walk_ascend(walk_t *w, ctr_error_t *err) {
  walk_frame_t f = w->stack[--w->depth];
  int r = 0;
  if (w->depth == 0) {
    r = w->post_dir ? w->post_dir(w, AT_FDCWD, f.name, &f.st, err) : 0;
    walk_frame_free(&f);
    return r;
  }
  cleanup_fd int up = openat(w->fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  w->stack[w->depth++] = f; /* for messages */
  if (up < 0 || fstat(up, &st) < 0)
    r = ctr_fail_errno(err, "open the parent of %s", walk_where(w, NULL));
  else if (!same_inode(&st, &w->stack[w->depth - 2].st))
    r = ctr_fail(err, ESTALE, "%s was moved during the walk", walk_where(w, NULL));
  w->depth--;
  if (r == 0) {
    close(w->fd);
    w->fd = steal_fd(&up);
    r = w->post_dir ? w->post_dir(w, w->fd, f.name, &f.st, err) : 0;
  }
  walk_frame_free(&f);
  return r;
}

static void walk_reset(walk_t *w) {
  while (w->depth > 0)
    walk_frame_free(&w->stack[--w->depth]);
  free(w->stack);
  w->stack = NULL;
  w->cap = 0;
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
}

/* Walk the directory at path (st its lstat) to the end. */
static int walk_run(walk_t *w, const char *path, const struct stat *st, ctr_error_t *err) {
  cleanup_fd int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat now;
  if (fd < 0 || fstat(fd, &now) < 0)
    return ctr_fail_errno(err, "open directory %s", path);
  if (!same_inode(&now, st))
    return ctr_fail(err, ESTALE, "%s was replaced during the walk", path);
  if (walk_push(w, &fd, path, st, err) < 0)
    return -1;
  while (w->depth > 0) {
    walk_frame_t *top = &w->stack[w->depth - 1];
    int r = top->next < top->n ? walk_visit(w, top->names[top->next++], err) : walk_ascend(w, err);
    if (r < 0)
      return -1;
  }
  return 0;
}

/* Walk the tree at path (which must exist). */
static int walk_tree(walk_t *w, const char *path, ctr_error_t *err) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return ctr_fail_errno(err, "lstat %s", path);
  w->root_dev = st.st_dev;
  w->fd = -1;
  if (!S_ISDIR(st.st_mode))
    return w->leaf ? w->leaf(w, AT_FDCWD, path, &st, err) : 0;
  int r = walk_run(w, path, &st, err);
  walk_reset(w);
  return r;
}

/* ---- remove_all ---------------------------------------------------------------- */

static int rm_leaf(walk_t *w, int dirfd, const char *name, const struct stat *st,
                   ctr_error_t *err) {
  (void)st;
  if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
    return ctr_fail_errno(err, "unlink %s", walk_where(w, name));
  return 0;
}

static int rm_dir(walk_t *w, int dirfd, const char *name, const struct stat *st, ctr_error_t *err) {
  (void)st;
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return ctr_fail_errno(err, "rmdir %s", walk_where(w, name));
  return 0;
}

int ctr_fs_remove_all(const char *path, ctr_error_t *err) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT)
      return 0;
    return ctr_fail_errno(err, "remove %s: lstat", path);
  }
  walk_t w = {.root_dev = st.st_dev, .fd = -1};
  int m = is_mount_point(&w, AT_FDCWD, path, &st, err);
  if (m < 0)
    return ctr_error_wrap(err, "remove %s", path);
  if (m)
    return ctr_fail(err, EBUSY, "refusing to remove %s: it is a mount point", path);
  if (walk_tree(&w, path, err) < 0) /* check pass: no callbacks */
    return ctr_error_wrap(err, "refusing to remove %s", path);
  w.leaf = rm_leaf;
  w.post_dir = rm_dir;
  if (walk_tree(&w, path, err) < 0)
    return ctr_error_wrap(err, "remove %s", path);
  return 0;
}

/* ---- du -------------------------------------------------------------------------- */

typedef struct inode_rec {
  dev_t dev;
  ino_t ino;
  uint64_t blocks;
  uint64_t size;
} inode_rec_t;

typedef struct du_ctx {
  uint64_t bytes, apparent;
  inode_rec_t *links; /* entries with nlink > 1, deduplicated at the end */
  size_t n, cap;
} du_ctx_t;

static int du_add(walk_t *w, int dirfd, const char *name, const struct stat *st, ctr_error_t *err) {
  (void)dirfd, (void)name;
  du_ctx_t *c = w->ctx;
  uint64_t size = (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) ? (uint64_t)st->st_size : 0;
  if (S_ISDIR(st->st_mode) || st->st_nlink < 2) {
    c->bytes += (uint64_t)st->st_blocks * 512;
    c->apparent += size;
    return 0;
  }
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 64;
    inode_rec_t *nv = realloc(c->links, nc * sizeof *nv);
    if (nv == NULL)
      return ctr_fail_errno(err, "du %s", walk_where(w, name));
    c->links = nv;
    c->cap = nc;
  }
  c->links[c->n++] = (inode_rec_t){st->st_dev, st->st_ino, (uint64_t)st->st_blocks * 512, size};
  return 0;
}

static int cmp_inode(const void *a, const void *b) {
  const inode_rec_t *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int ctr_fs_du(const char *path, uint64_t *bytes, uint64_t *apparent, ctr_error_t *err) {
  du_ctx_t c = {0};
  walk_t w = {.skip_mounts = 1, .leaf = du_add, .post_dir = du_add, .ctx = &c, .fd = -1};
  int r = walk_tree(&w, path, err);
  if (r == 0 && c.n > 0) {
    qsort(c.links, c.n, sizeof *c.links, cmp_inode);
    for (size_t i = 0; i < c.n; i++) {
      if (i > 0 && cmp_inode(&c.links[i], &c.links[i - 1]) == 0)
        continue;
      c.bytes += c.links[i].blocks;
      c.apparent += c.links[i].size;
    }
  }
  free(c.links);
  if (r < 0)
    return ctr_error_wrap(err, "du %s", path);
  *bytes = c.bytes;
  if (apparent)
    *apparent = c.apparent;
  return 0;
}

/* ---- reading a file inside a root ------------------------------------------- */

static const char *file_kind(mode_t m) {
  switch (m & S_IFMT) {
  case S_IFDIR:
    return "directory";
  case S_IFCHR:
    return "character device";
  case S_IFBLK:
    return "block device";
  case S_IFIFO:
    return "FIFO";
  case S_IFSOCK:
    return "socket";
  case S_IFLNK:
    return "symlink";
  default:
    return "special file";
  }
}

/* An O_PATH fd of rel resolved inside dirfd (what names it in messages);
 * *st gets its metadata. */
static int open_in_root(int dirfd, const char *what, const char *rel, struct stat *st,
                        ctr_error_t *err) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do
    fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", what);
  cleanup_fd int pfd = fd;
  if (fstat(pfd, st) < 0)
    return ctr_fail_errno(err, "stat %s", what);
  return steal_fd(&pfd);
}

/* Read at most max bytes of fd (the buffer grows as needed, from hint);
 * more than max is EFBIG. */
static char *read_bounded(int fd, const char *what, size_t hint, size_t max, size_t *len,
                          ctr_error_t *err) {
  size_t cap = (hint < max ? hint : max) + 2, n = 0;
  cleanup_free char *buf = malloc(cap);
  if (buf == NULL) {
    ctr_fail_errno(err, "read %s", what);
    return NULL;
  }
  for (ssize_t r = 1; r != 0 && n <= max;) {
    if (cap - n < 2) {
      size_t ncap = cap - 2 < max / 2 ? cap * 2 : max + 2;
      char *nb = realloc(buf, ncap);
      if (nb == NULL) {
        ctr_fail_errno(err, "read %s", what);
        return NULL;
      }
      buf = nb;
      cap = ncap;
    }
    r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno != EINTR) {
      ctr_fail_errno(err, "read %s", what);
      return NULL;
    }
    n += r > 0 ? (size_t)r : 0;
  }
  if (n > max) {
    ctr_fail(err, EFBIG, "read %s: over the %zu-byte limit", what, max);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return steal_ptr(&buf);
}

char *ctr_fs_read_opened(int pfd, const struct stat *st, const char *what, size_t max, size_t *len,
                         ctr_error_t *err) {
  if (!S_ISREG(st->st_mode)) {
    ctr_fail(err, EINVAL, "%s is a %s, not a regular file", what, file_kind(st->st_mode));
    return NULL;
  }
  if ((uintmax_t)st->st_size > (uintmax_t)max) {
    ctr_fail(err, EFBIG, "%s is %jd bytes, over the %zu-byte limit", what, (intmax_t)st->st_size,
             max);
    return NULL;
  }
  /* Reopen the very inode that was checked for reading (never a path again). */
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
  cleanup_fd int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    ctr_fail_errno(err, "reopen %s through %s", what, proc);
    return NULL;
  }
  struct stat st2;
  if (fstat(fd, &st2) < 0) {
    ctr_fail_errno(err, "stat %s", what);
    return NULL;
  }
  if (st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) {
    ctr_fail(err, ESTALE, "reopen %s: not the file checked", what);
    return NULL;
  }
  return read_bounded(fd, what, (size_t)st->st_size + 4096, max, len, err);
}

char *ctr_fs_read_in_root(int dirfd, const char *root, const char *rel, size_t max, size_t *len,
                          ctr_error_t *err) {
  struct stat st;
  char what[512];
  snprintf(what, sizeof what, "%s inside %s", rel, root ? root : "the root");
  cleanup_fd int pfd = open_in_root(dirfd, what, rel, &st, err);
  if (pfd < 0)
    return NULL;
  return ctr_fs_read_opened(pfd, &st, what, max, len, err);
}

char *ctr_fs_read_in_root_path(const char *root, const char *rel, size_t max, size_t *len,
                               ctr_error_t *err) {
  cleanup_fd int dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    ctr_fail_errno(err, "open the root %s", root);
    return NULL;
  }
  return ctr_fs_read_in_root(dirfd, root, rel, max, len, err);
}
