/* archive.c - tarballs with libarchive: safe extraction, creation, listing. */
#include "ctr_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_sha256.h"

#define EXTRACT_FLAGS                                                                              \
  (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |   \
   ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |       \
   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

CTR_DEFINE_CLEANUP(read_freep, struct archive, archive_read_free)
CTR_DEFINE_CLEANUP(write_freep, struct archive, archive_write_free)
CTR_DEFINE_CLEANUP(entry_freep, struct archive_entry, archive_entry_free)
CTR_DEFINE_CLEANUP(resolver_freep, struct archive_entry_linkresolver,
                   archive_entry_linkresolver_free)
#define cleanup_aread __attribute__((cleanup(read_freep)))
#define cleanup_awrite __attribute__((cleanup(write_freep)))
#define cleanup_entry __attribute__((cleanup(entry_freep)))
#define cleanup_resolver __attribute__((cleanup(resolver_freep)))

/* Fail with libarchive's message for a; errno from it when it has one. */
static int fail_ar(ctr_error_t *err, struct archive *a, const char *what, const char *name) {
  int e = archive_errno(a);
  const char *s = archive_error_string(a);
  ctr_fail(err, 0, "%s%s%s: %s", what, name ? " " : "", name ? name : "",
           s ? s : "unknown libarchive error");
  if (err)
    err->errnum = e > 0 ? e : EINVAL;
  return -1;
}

/* A new reader of any compression in the format that support_format adds
 * (archive_read_support_format_tar, say); name is for the message. */
static struct archive *new_reader(const char *name, int (*support_format)(struct archive *),
                                  ctr_error_t *err) {
  struct archive *a = archive_read_new();
  if (a == NULL) {
    ctr_fail(err, ENOMEM, "read %s", name);
    return NULL;
  }
  archive_read_support_filter_all(a);
  support_format(a);
  return a;
}

/* A reader for tarball (a path), or for fd when tarball is NULL. */
static struct archive *open_reader(const char *tarball, int fd, ctr_error_t *err) {
  const char *name = tarball ? tarball : "the archive stream";
  cleanup_aread struct archive *in = new_reader(name, archive_read_support_format_tar, err);
  if (in == NULL)
    return NULL;
  int r = tarball ? archive_read_open_filename(in, tarball, 64 * 1024)
                  : archive_read_open_fd(in, fd, 64 * 1024);
  if (r != ARCHIVE_OK) {
    fail_ar(err, in, "open", name);
    return NULL;
  }
  return steal_ptr(&in);
}

/* ---- extract ------------------------------------------------------------------- */

static int copy_data(struct archive *in, struct archive *out, const char *name, ctr_error_t *err) {
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(in, &buf, &size, &off);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return fail_ar(err, in, "read data of", name);
    if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN)
      return fail_ar(err, out, "write", name);
  }
}

/* ---- OCI whiteouts ------------------------------------------------------------- */

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "trusted.overlay.opaque"
/* inside a user namespace (a rootless pull) trusted.* cannot be set: the
 * overlay of a rootless container is mounted with userxattr and reads this */
#define OPAQUE_USER_XATTR "user.overlay.opaque"

/* The base name of path (after the last '/'), and the length of its dir part. */
static const char *base_of(const char *path, size_t *dirlen) {
  const char *slash = strrchr(path, '/');
  *dirlen = slash ? (size_t)(slash - path) : 0;
  return slash ? slash + 1 : path;
}

/* Mark the directory dir (relative to the current directory, the layer
 * root) opaque. It is opened beneath the root without following any
 * symlink, so a hostile layer cannot have the xattr set outside. */
static int mark_opaque(const char *dir, ctr_error_t *err) {
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  cleanup_fd int fd = -1;
  do
    fd = (int)syscall(SYS_openat2, AT_FDCWD, *dir ? dir : ".", &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return ctr_fail_errno(err, "opaque directory marker: open %s", *dir ? dir : "/");
  if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) == 0)
    return 0;
  if (errno != EPERM)
    return ctr_fail_errno(err, "opaque directory marker: set %s on %s", OPAQUE_XATTR, dir);
  if (fsetxattr(fd, OPAQUE_USER_XATTR, "y", 1, 0) < 0)
    return ctr_fail_errno(err, "opaque directory marker: set %s (no privilege for %s) on %s",
                          OPAQUE_USER_XATTR, OPAQUE_XATTR, dir);
  return 0;
}

/* Turn a ".wh.NAME" entry into an overlayfs whiteout for NAME (char 0:0).
 * Returns 1 when e was an opaque marker (applied here: skip it), 0 to
 * write e, -1 on error. */
static int oci_whiteout(struct archive_entry *e, ctr_error_t *err) {
  const char *path = archive_entry_pathname(e);
  size_t dirlen;
  const char *base = base_of(path, &dirlen);
  if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
    return 0;
  cleanup_free char *dir = strndup(path, dirlen);
  if (dir == NULL)
    return ctr_fail_errno(err, "whiteout %s", path);
  if (strcmp(base, WH_OPAQUE) == 0)
    return mark_opaque(dir, err) < 0 ? -1 : 1;
  if (strncmp(base, WH_PREFIX WH_PREFIX, 2 * strlen(WH_PREFIX)) == 0)
    return 1; /* other ".wh..wh." entries (aufs metadata): not part of the tree */
  const char *name = base + strlen(WH_PREFIX);
  if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return ctr_fail(err, EINVAL, "invalid whiteout entry %s", path);
  cleanup_free char *target = NULL;
  if (asprintf(&target, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
    return ctr_fail_errno(err, "whiteout %s", path);
  archive_entry_set_hardlink(e, NULL);
  archive_entry_set_symlink(e, NULL);
  archive_entry_xattr_clear(e);
  archive_entry_copy_pathname(e, target);
  archive_entry_set_filetype(e, AE_IFCHR);
  archive_entry_set_perm(e, 0);
  archive_entry_set_rdev(e, 0);
  archive_entry_set_size(e, 0);
  return 0;
}

/* Owners and device nodes of an entry extracted by ctr_archive_copy_in. */
static int adjust_entry(struct archive_entry *e, const ctr_archive_copy_t *c, ctr_error_t *err) {
  const char *name = archive_entry_pathname(e);
  mode_t t = archive_entry_filetype(e);
  if (c->nodev && (t == AE_IFCHR || t == AE_IFBLK))
    return ctr_fail(err, EPERM, "refusing device node %s", name);
  int64_t uid = c->uid >= 0 ? c->uid : archive_entry_uid(e);
  int64_t gid = c->gid >= 0 ? c->gid : archive_entry_gid(e);
  uid += c->shift;
  gid += c->shift;
  if (uid < 0 || gid < 0 || uid > 0xfffffffe || gid > 0xfffffffe)
    return ctr_fail(err, ERANGE, "owner %lld:%lld of %s is out of range", (long long)uid,
                    (long long)gid, name);
  archive_entry_set_uid(e, uid);
  archive_entry_set_gid(e, gid);
  if (c->nosuid)
    archive_entry_set_perm(e, archive_entry_perm(e) & ~(mode_t)(S_ISUID | S_ISGID));
  return 0;
}

/* The next entry of in (tarball: its name in messages): 1, or 0 at its end,
 * or -1. */
static int next_entry(struct archive *in, struct archive_entry **e, const char *tarball,
                      ctr_error_t *err) {
  int r = archive_read_next_header(in, e);
  if (r == ARCHIVE_EOF)
    return 0;
  if (r < ARCHIVE_WARN)
    return fail_ar(err, in, "read", tarball);
  return 1;
}

static int copy_entries(struct archive *in, struct archive *out, const char *tarball,
                        unsigned flags, const ctr_archive_copy_t *c, ctr_error_t *err) {
  for (;;) {
    struct archive_entry *e;
    int r = next_entry(in, &e, tarball, err);
    if (r <= 0)
      return r;
    int wh = (flags & CTR_ARCHIVE_OCI) ? oci_whiteout(e, err) : 0;
    if (wh < 0)
      return ctr_error_wrap(err, "extract %s", tarball);
    if (wh > 0)
      continue;
    if (c != NULL && adjust_entry(e, c, err) < 0)
      return ctr_error_wrap(err, "extract %s", tarball);
    const char *name = archive_entry_pathname(e);
    if (archive_write_header(out, e) < ARCHIVE_WARN)
      return fail_ar(err, out, "refusing entry", name);
    if (archive_entry_size(e) > 0 && copy_data(in, out, name, err) < 0)
      return -1;
    if (archive_write_finish_entry(out) < ARCHIVE_WARN)
      return fail_ar(err, out, "finish", name);
  }
}

/* Extract relative to the current directory. All of libarchive's disk work
 * (including the deferred directory fixups at close) happens in here. */
static int extract_here(struct archive *in, const char *tarball, unsigned flags,
                        const ctr_archive_copy_t *c, ctr_error_t *err) {
  cleanup_awrite struct archive *out = archive_write_disk_new();
  if (out == NULL)
    return ctr_fail(err, ENOMEM, "extract %s", tarball);
  archive_write_disk_set_options(out, EXTRACT_FLAGS);
  if (copy_entries(in, out, tarball, flags, c, err) < 0)
    return -1;
  if (archive_write_close(out) < ARCHIVE_WARN)
    return fail_ar(err, out, "finish extracting", tarball);
  return 0;
}

/* Extract from in (named name in messages) into dest. */
static int extract_into(struct archive *in, const char *name, const char *dest, unsigned flags,
                        const ctr_archive_copy_t *c, ctr_error_t *err) {
  cleanup_fd int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0)
    return ctr_fail_errno(err, "extract %s: open the current directory", name);
  if (chdir(dest) < 0)
    return ctr_fail_errno(err, "extract %s: chdir %s", name, dest);
  int r = extract_here(in, name, flags, c, err);
  if (fchdir(cwd) < 0 && r == 0)
    return ctr_fail_errno(err, "extract %s: return to the previous directory", name);
  if (r < 0)
    return ctr_error_wrap(err, "extract %s into %s", name, dest);
  return 0;
}

int ctr_archive_extract(const char *tarball, const char *dest, ctr_error_t *err) {
  cleanup_aread struct archive *in = open_reader(tarball, -1, err);
  if (in == NULL)
    return -1;
  return extract_into(in, tarball, dest, 0, NULL, err);
}

/* ---- a layer checked against its diff_id --------------------------------------- */

/* The tar reader of a verified layer reads the file's decompressed bytes
 * through this source, which hashes every byte it hands out. */
typedef struct digest_src {
  struct archive *raw; /* the file, decompressed (libarchive's "raw" format) */
  ctr_sha256_t *md;
} digest_src_t;

static la_ssize_t digest_read(struct archive *a, void *ctx, const void **buf) {
  digest_src_t *s = ctx;
  for (;;) {
    size_t size = 0;
    la_int64_t off = 0;
    int r = archive_read_data_block(s->raw, buf, &size, &off);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN) {
      const char *why = archive_error_string(s->raw);
      archive_set_error(a, archive_errno(s->raw) ? archive_errno(s->raw) : EIO, "%s",
                        why ? why : "read error");
      return -1;
    }
    ctr_error_t err;
    if (size > 0 && ctr_sha256_update(s->md, *buf, size, &err) < 0) {
      archive_set_error(a, EIO, "%s", err.msg);
      return -1;
    }
    if (size > 0)
      return (la_ssize_t)size;
  }
}

/* The decompressed stream of tarball as one raw entry. */
static struct archive *open_raw(const char *tarball, ctr_error_t *err) {
  cleanup_aread struct archive *raw = new_reader(tarball, archive_read_support_format_raw, err);
  if (raw == NULL)
    return NULL;
  struct archive_entry *e;
  if (archive_read_open_filename(raw, tarball, 64 * 1024) != ARCHIVE_OK ||
      archive_read_next_header(raw, &e) != ARCHIVE_OK) {
    fail_ar(err, raw, "open", tarball);
    return NULL;
  }
  return steal_ptr(&raw);
}

/* Hash what the tar reader left of the stream (the padding after its end). */
static int digest_rest(struct archive *in, digest_src_t *src, const char *tarball,
                       ctr_error_t *err) {
  for (;;) {
    const void *buf;
    la_ssize_t n = digest_read(in, src, &buf);
    if (n == 0)
      return 0;
    if (n < 0)
      return fail_ar(err, in, "read", tarball);
  }
}

static int extract_verified(const char *tarball, const char *dest, unsigned flags,
                            const char *diff_id, ctr_error_t *err) {
  if (strncmp(diff_id, "sha256:", 7) != 0 || strlen(diff_id) != 71)
    return ctr_fail(err, EINVAL, "layer %s: unsupported diff_id %.80s", tarball, diff_id);
  cleanup_aread struct archive *raw = open_raw(tarball, err);
  if (raw == NULL)
    return -1;
  cleanup_sha256 ctr_sha256_t *md = ctr_sha256_new(err);
  if (md == NULL)
    return -1;
  digest_src_t src = {raw, md};
  cleanup_aread struct archive *in = archive_read_new();
  if (in == NULL)
    return ctr_fail(err, ENOMEM, "read %s", tarball);
  archive_read_support_format_tar(in);
  if (archive_read_open(in, &src, NULL, digest_read, NULL) != ARCHIVE_OK)
    return fail_ar(err, in, "open", tarball);
  if (extract_into(in, tarball, dest, flags, NULL, err) < 0 ||
      digest_rest(in, &src, tarball, err) < 0)
    return -1;
  char hex[65];
  if (ctr_sha256_final(md, hex, err) < 0)
    return -1;
  if (strcmp(hex, diff_id + 7) != 0)
    return ctr_fail(err, EBADMSG, "layer content is sha256:%s, not the image config's diff_id %s",
                    hex, diff_id);
  return 0;
}

int ctr_archive_digest(const char *tarball, char hex[65], ctr_error_t *err) {
  cleanup_aread struct archive *raw = open_raw(tarball, err);
  if (raw == NULL)
    return -1;
  cleanup_sha256 ctr_sha256_t *md = ctr_sha256_new(err);
  if (md == NULL)
    return -1;
  digest_src_t src = {raw, md};
  if (digest_rest(raw, &src, tarball, err) < 0)
    return -1;
  return ctr_sha256_final(md, hex, err);
}

int ctr_archive_extract_layer(const char *tarball, const char *dest, unsigned flags,
                              const char *diff_id, ctr_error_t *err) {
  if (diff_id != NULL)
    return extract_verified(tarball, dest, flags, diff_id, err);
  cleanup_aread struct archive *in = open_reader(tarball, -1, err);
  if (in == NULL)
    return -1;
  return extract_into(in, tarball, dest, flags, NULL, err);
}

int ctr_archive_extract_fd(int fd, const char *dest, ctr_error_t *err) {
  cleanup_aread struct archive *in = open_reader(NULL, fd, err);
  if (in == NULL)
    return -1;
  return extract_into(in, "the archive stream", dest, 0, NULL, err);
}

int ctr_archive_copy_in(int fd, const char *dest, ctr_archive_copy_t *c, ctr_error_t *err) {
  cleanup_aread struct archive *in = open_reader(NULL, fd, err);
  if (in == NULL)
    return -1;
  int r = extract_into(in, "the archive stream", dest, 0, c, err);
  c->bytes = archive_filter_bytes(in, -1);
  return r;
}

/* ---- create --------------------------------------------------------------------- */

/* The path of entry relative to src ("" for src itself), or NULL. */
static const char *relative(const char *path, const char *src, size_t srclen) {
  if (strncmp(path, src, srclen) != 0)
    return NULL;
  path += srclen;
  while (*path == '/')
    path++;
  return path;
}

static int write_body(struct archive *disk, struct archive *out, const char *name,
                      ctr_error_t *err) {
  char buf[64 * 1024];
  for (;;) {
    la_ssize_t n = archive_read_data(disk, buf, sizeof buf);
    if (n == 0)
      return 0;
    if (n < 0)
      return fail_ar(err, disk, "read", name);
    if (archive_write_data(out, buf, (size_t)n) < 0)
      return fail_ar(err, out, "write", name);
  }
}

static int write_entry(struct archive *disk, struct archive *out, struct archive_entry *e,
                       ctr_error_t *err) {
  const char *name = archive_entry_pathname(e);
  int hard = archive_entry_hardlink(e) != NULL;
  if (hard || archive_entry_filetype(e) != AE_IFREG)
    archive_entry_set_size(e, 0);
  archive_entry_sparse_clear(e);
  if (archive_write_header(out, e) < ARCHIVE_WARN)
    return fail_ar(err, out, "write header of", name);
  if (!hard && archive_entry_size(e) > 0)
    return write_body(disk, out, name, err);
  return 0;
}

/* Sockets are not archived; whiteouts (char 0:0) only with CTR_ARCHIVE_WHITEOUTS. */
static int skip_entry(struct archive_entry *e, unsigned flags) {
  mode_t t = archive_entry_filetype(e);
  if (t == AE_IFSOCK)
    return 1;
  return !(flags & (CTR_ARCHIVE_WHITEOUTS | CTR_ARCHIVE_OCI)) && t == AE_IFCHR &&
         archive_entry_rdev(e) == 0;
}

/* Drop the trusted.overlay.* xattrs of e; 1 if it was an opaque dir. */
static int strip_overlay_xattrs(struct archive_entry *e) {
  struct kept {
    char *name;
    void *value;
    size_t size;
  } keep[64];
  size_t n = 0;
  int opaque = 0;
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (strncmp(name, "trusted.overlay.", 16) == 0) {
      opaque |= strcmp(name, OPAQUE_XATTR) == 0 && size == 1 && *(const char *)value == 'y';
    } else if (n < sizeof keep / sizeof keep[0]) {
      keep[n].name = strdup(name);
      keep[n].value = malloc(size ? size : 1);
      if (keep[n].value)
        memcpy(keep[n].value, value, size);
      keep[n++].size = size;
    }
  }
  archive_entry_xattr_clear(e);
  for (size_t i = 0; i < n; i++) {
    if (keep[i].name && keep[i].value)
      archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
    free(keep[i].name);
    free(keep[i].value);
  }
  return opaque;
}

/* An empty regular file entry at dir/base, like e (owner, time). */
static int write_marker(struct archive *out, struct archive_entry *e, const char *dir,
                        const char *base, ctr_error_t *err) {
  cleanup_entry struct archive_entry *m = archive_entry_new();
  cleanup_free char *path = NULL;
  if (m == NULL || asprintf(&path, "%s%s%s", dir, *dir ? "/" : "", base) < 0)
    return ctr_fail(err, ENOMEM, "whiteout entry in %s", dir);
  archive_entry_copy_pathname(m, path);
  archive_entry_set_filetype(m, AE_IFREG);
  archive_entry_set_perm(m, 0644);
  archive_entry_set_uid(m, archive_entry_uid(e));
  archive_entry_set_gid(m, archive_entry_gid(e));
  archive_entry_set_mtime(m, archive_entry_mtime(e), 0);
  archive_entry_set_size(m, 0);
  if (archive_write_header(out, m) < ARCHIVE_WARN)
    return fail_ar(err, out, "write header of", path);
  return 0;
}

/* CTR_ARCHIVE_OCI: write e in the OCI layer form. Returns 1 when it was
 * written here, 0 to write it as it is, -1 on error. */
static int write_oci(struct archive *out, struct archive_entry *e, ctr_error_t *err) {
  mode_t t = archive_entry_filetype(e);
  const char *path = archive_entry_pathname(e);
  size_t dirlen;
  const char *base = base_of(path, &dirlen);
  if (t == AE_IFCHR && archive_entry_rdev(e) == 0) {
    cleanup_free char *dir = strndup(path, dirlen);
    cleanup_free char *wh = NULL;
    if (dir == NULL || asprintf(&wh, WH_PREFIX "%s", base) < 0)
      return ctr_fail(err, ENOMEM, "whiteout of %s", path);
    return write_marker(out, e, dir, wh, err) < 0 ? -1 : 1;
  }
  int opaque = strip_overlay_xattrs(e);
  if (t != AE_IFDIR || !opaque)
    return 0;
  if (archive_write_header(out, e) < ARCHIVE_WARN)
    return fail_ar(err, out, "write header of", path);
  cleanup_free char *dir = strdup(path);
  if (dir == NULL)
    return ctr_fail(err, ENOMEM, "opaque marker of %s", path);
  for (size_t n = strlen(dir); n > 0 && dir[n - 1] == '/'; n--)
    dir[n - 1] = '\0';
  return write_marker(out, e, dir, WH_OPAQUE, err) < 0 ? -1 : 1;
}

/* The archive path of rel (relative to the source): prefix/rel, prefix for
 * the source itself; NULL when the source itself is not archived. */
static char *entry_path(const char *prefix, const char *rel) {
  char *p = NULL;
  if (prefix == NULL || *prefix == '\0')
    return *rel ? strdup(rel) : NULL;
  if (asprintf(&p, "%s%s%s", prefix, *rel ? "/" : "", rel) < 0)
    return NULL;
  return p;
}

static int write_tree(struct archive *disk, struct archive *out, const char *src,
                      const char *prefix, unsigned flags, ctr_error_t *err) {
  cleanup_resolver struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
  if (lr == NULL)
    return ctr_fail(err, ENOMEM, "archive %s", src);
  archive_entry_linkresolver_set_strategy(lr, archive_format(out));
  size_t srclen = strlen(src);
  for (;;) {
    cleanup_entry struct archive_entry *e = archive_entry_new();
    struct archive_entry *sparse = NULL;
    int r = archive_read_next_header2(disk, e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return fail_ar(err, disk, "read", src);
    archive_read_disk_descend(disk);
    const char *rel = relative(archive_entry_pathname(e), src, srclen);
    if (rel == NULL || skip_entry(e, flags))
      continue;
    cleanup_free char *path = entry_path(prefix, rel);
    if (path == NULL)
      continue;
    archive_entry_copy_pathname(e, path);
    int done = (flags & CTR_ARCHIVE_OCI) ? write_oci(out, e, err) : 0;
    if (done < 0)
      return -1;
    if (done > 0)
      continue;
    archive_entry_linkify(lr, &e, &sparse);
    if (e != NULL && write_entry(disk, out, e, err) < 0)
      return -1;
  }
}

/* A pax writer to tarball (a path), or to fd when tarball is NULL. */
static struct archive *open_writer(const char *tarball, int fd, unsigned flags, ctr_error_t *err) {
  const char *name = tarball ? tarball : "the archive stream";
  cleanup_awrite struct archive *out = archive_write_new();
  if (out == NULL) {
    ctr_fail(err, ENOMEM, "create %s", name);
    return NULL;
  }
  /* gzip without the time in its header: a layer's digest is its content's */
  if (archive_write_set_format_pax_restricted(out) != ARCHIVE_OK ||
      ((flags & CTR_ARCHIVE_GZIP) &&
       (archive_write_add_filter_gzip(out) < ARCHIVE_WARN ||
        archive_write_set_filter_option(out, "gzip", "timestamp", NULL) < ARCHIVE_WARN)) ||
      (tarball ? archive_write_open_filename(out, tarball) : archive_write_open_fd(out, fd)) !=
          ARCHIVE_OK) {
    fail_ar(err, out, "create", name);
    return NULL;
  }
  return steal_ptr(&out);
}

/* Write the tree src into out (numeric owners only: no name lookups, which
 * would read the passwd and group files of whatever root we are in). */
static int create_into(struct archive *out, const char *src_in, const char *name, unsigned flags,
                       const ctr_archive_copy_t *c, ctr_error_t *err) {
  cleanup_free char *src = strdup(src_in);
  if (src == NULL)
    return ctr_fail_errno(err, "archive %s", src_in);
  for (size_t n = strlen(src); n > 1 && src[n - 1] == '/'; n--)
    src[n - 1] = '\0';
  cleanup_aread struct archive *disk = archive_read_disk_new();
  if (disk == NULL)
    return ctr_fail(err, ENOMEM, "archive %s", src);
  if (c != NULL && c->follow)
    archive_read_disk_set_symlink_hybrid(disk);
  else
    archive_read_disk_set_symlink_physical(disk);
  archive_read_disk_set_behavior(disk,
                                 ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_FFLAGS);
  if (archive_read_disk_open(disk, src) != ARCHIVE_OK)
    return fail_ar(err, disk, "open", src);
  if (write_tree(disk, out, src, c ? c->name : NULL, flags, err) < 0)
    return ctr_error_wrap(err, "archive %s into %s", src, name);
  if (archive_write_close(out) != ARCHIVE_OK)
    return fail_ar(err, out, "finish", name);
  return 0;
}

int ctr_archive_create(const char *src, const char *tarball, unsigned flags, ctr_error_t *err) {
  cleanup_awrite struct archive *out = open_writer(tarball, -1, flags, err);
  if (out == NULL)
    return -1;
  return create_into(out, src, tarball, flags, NULL, err);
}

int ctr_archive_create_fd(const char *src, int fd, unsigned flags, ctr_error_t *err) {
  cleanup_awrite struct archive *out = open_writer(NULL, fd, flags, err);
  if (out == NULL)
    return -1;
  return create_into(out, src, "the archive stream", flags, NULL, err);
}

int ctr_archive_copy_out(const char *src, int fd, ctr_archive_copy_t *c, ctr_error_t *err) {
  cleanup_awrite struct archive *out = open_writer(NULL, fd, 0, err);
  if (out == NULL)
    return -1;
  int r = create_into(out, src, "the archive stream", 0, c, err);
  c->bytes = archive_filter_bytes(out, -1);
  return r;
}

/* ---- list ------------------------------------------------------------------------ */

int ctr_archive_list(const char *tarball, ctr_archive_list_fn fn, void *ctx, ctr_error_t *err) {
  cleanup_aread struct archive *in = open_reader(tarball, -1, err);
  if (in == NULL)
    return -1;
  for (;;) {
    struct archive_entry *e;
    int r = next_entry(in, &e, tarball, err);
    if (r <= 0)
      return r;
    const char *hl = archive_entry_hardlink(e);
    ctr_archive_entry_t ent = {
        .path = archive_entry_pathname(e),
        .linkname = hl ? hl : archive_entry_symlink(e),
        .hardlink = hl != NULL,
        .mode = archive_entry_mode(e),
        .size = archive_entry_size(e),
        .uid = archive_entry_uid(e),
        .gid = archive_entry_gid(e),
        .mtime = archive_entry_mtime(e),
        .rdev_major = (unsigned)archive_entry_rdevmajor(e),
        .rdev_minor = (unsigned)archive_entry_rdevminor(e),
    };
    int stop = fn(&ent, ctx);
    if (stop)
      return stop;
  }
}
