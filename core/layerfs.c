/* layerfs.c - read a file of an image's layer stack as overlayfs shows it
 * (see layerfs.h). Used for the user lookup (/etc/passwd, /etc/group) before
 * the container's root is mounted: nothing an image holds can make it read
 * a host file, block on a FIFO or read a device. */
#include "layerfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"

/* A merged directory: its fd in each layer that contributes, top first. */
typedef struct level {
  int fd[CTR_LAYERFS_MAX_LAYERS];
  size_t n;
} level_t;

typedef struct walk {
  level_t *levels; /* levels[0] is the root, levels[depth] the current dir */
  size_t depth;
  char *rest; /* what is left of the path (malloc'd) */
  const char *rel;
} walk_t;

static void level_close(level_t *lv) {
  for (size_t i = 0; i < lv->n; i++)
    close(lv->fd[i]);
  lv->n = 0;
}

static void walk_free(walk_t *w) {
  if (w->levels)
    for (size_t d = 0; d <= w->depth; d++)
      level_close(&w->levels[d]);
  free(w->levels);
  free(w->rest);
}

static bool is_opaque(int dirfd) {
  char v[2];
  ssize_t r = fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof v);
  return r == 1 && v[0] == 'y';
}

/* Look name up in the merged directory lv. Returns 0 (absent, or hidden by a
 * whiteout), 1 (a directory: *dir gets its merged level) or 2 (anything else:
 * *owner is the layer dir that holds it, *st its lstat), -1 on error. */
static int lookup(const level_t *lv, const char *name, level_t *dir, int *owner, struct stat *st,
                  ctr_error_t *err) {
  dir->n = 0;
  for (size_t i = 0; i < lv->n; i++) {
    struct stat s;
    if (fstatat(lv->fd[i], name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        continue;
      level_close(dir);
      return ctr_fail_errno(err, "look up %s in an image layer", name);
    }
    if (S_ISCHR(s.st_mode) && s.st_rdev == makedev(0, 0))
      break; /* a whiteout: hides the layers below */
    if (!S_ISDIR(s.st_mode)) {
      if (dir->n > 0)
        break; /* a directory above hides it */
      *owner = lv->fd[i];
      *st = s;
      return 2;
    }
    int fd = openat(lv->fd[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      level_close(dir);
      return ctr_fail_errno(err, "open the directory %s in an image layer", name);
    }
    dir->fd[dir->n++] = fd;
    if (is_opaque(fd))
      break;
  }
  return dir->n > 0 ? 1 : 0;
}

/* Take the next component of w->rest into buf (skipping "/" and "."):
 * 1, or 0 at the end, or -1 (ENAMETOOLONG) for a component over size - 1. */
static int next_component(walk_t *w, char *buf, size_t size, ctr_error_t *err) {
  char *p = w->rest;
  for (;;) {
    while (*p == '/')
      p++;
    size_t l = strcspn(p, "/");
    if (l == 0) {
      w->rest[0] = '\0';
      return 0;
    }
    if (l == 1 && p[0] == '.') {
      p += 1;
      continue;
    }
    if (l >= size)
      return ctr_fail(err, ENAMETOOLONG, "resolve %s in the image", w->rel);
    memcpy(buf, p, l);
    buf[l] = '\0';
    memmove(w->rest, p + l, strlen(p + l) + 1);
    return 1;
  }
}

/* Replace the symlink name (in dirfd) by its target in front of w->rest;
 * an absolute target starts again from the root. */
static int follow(walk_t *w, int dirfd, const char *name, ctr_error_t *err) {
  char target[4096];
  ssize_t l = readlinkat(dirfd, name, target, sizeof target - 1);
  if (l < 0)
    return ctr_fail_errno(err, "readlink %s in an image layer", name);
  target[l] = '\0';
  size_t need = (size_t)l + strlen(w->rest) + 2;
  if (need > 16384)
    return ctr_fail(err, ENAMETOOLONG, "resolve %s in the image", w->rel);
  char *nr = malloc(need);
  if (nr == NULL)
    return ctr_fail_errno(err, "resolve %s in the image", w->rel);
  memcpy(nr, target, (size_t)l);
  nr[l] = '/';
  memcpy(nr + l + 1, w->rest, strlen(w->rest) + 1);
  free(w->rest);
  w->rest = nr;
  if (target[0] == '/')
    while (w->depth > 0)
      level_close(&w->levels[w->depth--]);
  return 0;
}

/* Walk w to the last component: returns an O_PATH fd of it (st: its
 * metadata), or -1. */
static int resolve(walk_t *w, struct stat *st, ctr_error_t *err) {
  char name[256];
  int links = 0, more;
  while ((more = next_component(w, name, sizeof name, err)) > 0) {
    if (strcmp(name, "..") == 0) {
      if (w->depth > 0)
        level_close(&w->levels[w->depth--]);
      continue;
    }
    if (w->depth + 1 >= CTR_LAYERFS_MAX_DEPTH)
      return ctr_fail(err, ENAMETOOLONG, "resolve %s in the image", w->rel);
    int owner = -1;
    int r = lookup(&w->levels[w->depth], name, &w->levels[w->depth + 1], &owner, st, err);
    if (r < 0)
      return -1;
    if (r == 0)
      return ctr_fail(err, ENOENT, "open %s in the image", w->rel);
    if (r == 1) {
      w->depth++;
      continue;
    }
    if (S_ISLNK(st->st_mode)) {
      if (++links > CTR_LAYERFS_MAX_LINKS)
        return ctr_fail(err, ELOOP, "resolve %s in the image", w->rel);
      if (follow(w, owner, name, err) < 0)
        return -1;
      continue;
    }
    if (w->rest[strspn(w->rest, "/")] != '\0')
      return ctr_fail(err, ENOTDIR, "open %s in the image", w->rel);
    int fd = openat(owner, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) < 0) {
      ctr_fail_errno(err, "open %s in the image", w->rel);
      if (fd >= 0)
        close(fd);
      return -1;
    }
    return fd;
  }
  if (more < 0)
    return -1;
  return ctr_fail(err, EINVAL, "%s in the image is a directory, not a regular file", w->rel);
}

static int open_roots(level_t *root, const char *const *layers, size_t n, ctr_error_t *err) {
  for (; root->n < n; root->n++) {
    int fd = open(layers[root->n], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return ctr_fail_errno(err, "open the image layer %s", layers[root->n]);
    root->fd[root->n] = fd;
  }
  return 0;
}

static char *read_walk(walk_t *w, const char *const *layers, size_t n, size_t max, size_t *len,
                       ctr_error_t *err) {
  if (w->levels == NULL || w->rest == NULL) {
    ctr_fail_errno(err, "read %s in the image", w->rel);
    return NULL;
  }
  if (open_roots(&w->levels[0], layers, n, err) < 0)
    return NULL;
  struct stat st;
  cleanup_fd int fd = resolve(w, &st, err);
  if (fd < 0)
    return NULL;
  char what[512];
  snprintf(what, sizeof what, "%s in the image", w->rel);
  return ctr_fs_read_opened(fd, &st, what, max, len, err);
}

char *ctr_layerfs_read(const char *const *layers, size_t n, const char *rel, size_t max,
                       size_t *len, ctr_error_t *err) {
  if (n == 0 || n > CTR_LAYERFS_MAX_LAYERS) {
    ctr_fail(err, EINVAL, "read %s: %zu image layers (1..%d)", rel, n, CTR_LAYERFS_MAX_LAYERS);
    return NULL;
  }
  walk_t w = {
      .levels = calloc(CTR_LAYERFS_MAX_DEPTH, sizeof(level_t)), .rest = strdup(rel), .rel = rel};
  char *res = read_walk(&w, layers, n, max, len, err);
  walk_free(&w);
  return res;
}
