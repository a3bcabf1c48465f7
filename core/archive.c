/* archive.c - tarballs with libarchive: safe extraction, creation, listing. */
#include "ctr_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define EXTRACT_FLAGS                                                                              \
  (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |   \
   ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |       \
   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

static void read_freep(struct archive **a) {
  if (*a)
    archive_read_free(*a);
  *a = NULL;
}
static void write_freep(struct archive **a) {
  if (*a)
    archive_write_free(*a);
  *a = NULL;
}
static void entry_freep(struct archive_entry **e) {
  if (*e)
    archive_entry_free(*e);
  *e = NULL;
}
static void resolver_freep(struct archive_entry_linkresolver **r) {
  if (*r)
    archive_entry_linkresolver_free(*r);
  *r = NULL;
}
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

/* A reader for tarball (a path), or for fd when tarball is NULL. */
static struct archive *open_reader(const char *tarball, int fd, ctr_error_t *err) {
  const char *name = tarball ? tarball : "the archive stream";
  cleanup_aread struct archive *in = archive_read_new();
  if (in == NULL) {
    ctr_fail(err, ENOMEM, "read %s", name);
    return NULL;
  }
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
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

static int copy_entries(struct archive *in, struct archive *out, const char *tarball,
                        ctr_error_t *err) {
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return fail_ar(err, in, "read", tarball);
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
static int extract_here(struct archive *in, const char *tarball, ctr_error_t *err) {
  cleanup_awrite struct archive *out = archive_write_disk_new();
  if (out == NULL)
    return ctr_fail(err, ENOMEM, "extract %s", tarball);
  archive_write_disk_set_options(out, EXTRACT_FLAGS);
  if (copy_entries(in, out, tarball, err) < 0)
    return -1;
  if (archive_write_close(out) < ARCHIVE_WARN)
    return fail_ar(err, out, "finish extracting", tarball);
  return 0;
}

/* Extract from in (named name in messages) into dest. */
static int extract_into(struct archive *in, const char *name, const char *dest, ctr_error_t *err) {
  cleanup_fd int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0)
    return ctr_fail_errno(err, "extract %s: open the current directory", name);
  if (chdir(dest) < 0)
    return ctr_fail_errno(err, "extract %s: chdir %s", name, dest);
  int r = extract_here(in, name, err);
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
  return extract_into(in, tarball, dest, err);
}

int ctr_archive_extract_fd(int fd, const char *dest, ctr_error_t *err) {
  cleanup_aread struct archive *in = open_reader(NULL, fd, err);
  if (in == NULL)
    return -1;
  return extract_into(in, "the archive stream", dest, err);
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
  return !(flags & CTR_ARCHIVE_WHITEOUTS) && t == AE_IFCHR && archive_entry_rdev(e) == 0;
}

static int write_tree(struct archive *disk, struct archive *out, const char *src, unsigned flags,
                      ctr_error_t *err) {
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
    if (rel == NULL || *rel == '\0' || skip_entry(e, flags))
      continue;
    archive_entry_copy_pathname(e, rel);
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
  if (archive_write_set_format_pax_restricted(out) != ARCHIVE_OK ||
      ((flags & CTR_ARCHIVE_GZIP) && archive_write_add_filter_gzip(out) < ARCHIVE_WARN) ||
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
                       ctr_error_t *err) {
  cleanup_free char *src = strdup(src_in);
  if (src == NULL)
    return ctr_fail_errno(err, "archive %s", src_in);
  for (size_t n = strlen(src); n > 1 && src[n - 1] == '/'; n--)
    src[n - 1] = '\0';
  cleanup_aread struct archive *disk = archive_read_disk_new();
  if (disk == NULL)
    return ctr_fail(err, ENOMEM, "archive %s", src);
  archive_read_disk_set_symlink_physical(disk);
  archive_read_disk_set_behavior(disk,
                                 ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_FFLAGS);
  if (archive_read_disk_open(disk, src) != ARCHIVE_OK)
    return fail_ar(err, disk, "open", src);
  if (write_tree(disk, out, src, flags, err) < 0)
    return ctr_error_wrap(err, "archive %s into %s", src, name);
  if (archive_write_close(out) != ARCHIVE_OK)
    return fail_ar(err, out, "finish", name);
  return 0;
}

int ctr_archive_create(const char *src, const char *tarball, unsigned flags, ctr_error_t *err) {
  cleanup_awrite struct archive *out = open_writer(tarball, -1, flags, err);
  if (out == NULL)
    return -1;
  return create_into(out, src, tarball, flags, err);
}

int ctr_archive_create_fd(const char *src, int fd, unsigned flags, ctr_error_t *err) {
  cleanup_awrite struct archive *out = open_writer(NULL, fd, flags, err);
  if (out == NULL)
    return -1;
  return create_into(out, src, "the archive stream", flags, err);
}

/* ---- list ------------------------------------------------------------------------ */

int ctr_archive_list(const char *tarball, ctr_archive_list_fn fn, void *ctx, ctr_error_t *err) {
  cleanup_aread struct archive *in = open_reader(tarball, -1, err);
  if (in == NULL)
    return -1;
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return fail_ar(err, in, "read", tarball);
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
