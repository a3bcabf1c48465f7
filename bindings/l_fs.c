/* l_fs.c - the fs area of ctr.core: directories, links, metadata, lock
 * files, atomic writes, remove_all and du (core/fs.c). */
#include "lctr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "layerfs.h"

static int ok_or_err(lua_State *L, int r, const ctr_error_t *err) {
  if (r < 0)
    return lctr_pusherr(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static mode_t optmode(lua_State *L, int idx, mode_t def) {
  lua_Integer m = luaL_optinteger(L, idx, (lua_Integer)def);
  luaL_argcheck(L, m >= 0 && m <= 07777, idx, "mode must be within 0..07777");
  return (mode_t)m;
}

static lua_Integer checkid(lua_State *L, int idx) {
  lua_Integer v = luaL_checkinteger(L, idx);
  luaL_argcheck(L, v >= -1 && v <= 0xffffffffLL, idx, "id out of range");
  return v;
}

/***
 * core.mkdir(path [, mode=0755]) -> true | nil, err, errno
 * Create one directory (the umask applies; chmod afterwards for exact modes).
 */
static int l_mkdir(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_mkdir(luaL_checkstring(L, 1), optmode(L, 2, 0755), &err), &err);
}

/***
 * core.rmdir(path) -> true | nil, err, errno
 * Remove an empty directory.
 */
static int l_rmdir(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_rmdir(luaL_checkstring(L, 1), &err), &err);
}

/***
 * core.unlink(path) -> true | nil, err, errno
 * Remove a non-directory.
 */
static int l_unlink(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_unlink(luaL_checkstring(L, 1), &err), &err);
}

/***
 * core.rename(from, to [, "exchange"]) -> true | nil, err, errno
 * rename(2): atomic within one filesystem (EXDEV across filesystems).
 * "exchange": swap the two (renameat2 RENAME_EXCHANGE; both must exist,
 * ENOENT, on a filesystem that supports it, EINVAL).
 */
static int l_rename(lua_State *L) {
  static const char *const hows[] = {"replace", "exchange", NULL};
  const char *from = luaL_checkstring(L, 1), *to = luaL_checkstring(L, 2);
  int how = luaL_checkoption(L, 3, "replace", hows);
  ctr_error_t err;
  return ok_or_err(L, how ? ctr_fs_exchange(from, to, &err) : ctr_fs_rename(from, to, &err), &err);
}

/***
 * core.move_entries(from, to) -> true | nil, err, errno
 * Move every entry of the directory from into the directory to (one
 * filesystem), never replacing one (EEXIST) and following no symlink to
 * either directory.
 */
static int l_move_entries(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_move_entries(luaL_checkstring(L, 1), luaL_checkstring(L, 2), &err),
                   &err);
}

/***
 * core.symlink(target, path) -> true | nil, err, errno
 * Create the symbolic link path pointing at target.
 */
static int l_symlink(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_symlink(luaL_checkstring(L, 1), luaL_checkstring(L, 2), &err), &err);
}

/***
 * core.link(target, path) -> true | nil, err, errno
 * Create the hard link path to the existing file target.
 */
static int l_link(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_link(luaL_checkstring(L, 1), luaL_checkstring(L, 2), &err), &err);
}

/***
 * core.chmod(path, mode) -> true | nil, err, errno
 * Set the permission bits (including setuid/setgid/sticky: 0..07777).
 */
static int l_chmod(lua_State *L) {
  ctr_error_t err;
  luaL_checkinteger(L, 2);
  return ok_or_err(L, ctr_fs_chmod(luaL_checkstring(L, 1), optmode(L, 2, 0), &err), &err);
}

/***
 * core.chown(path, uid, gid) -> true | nil, err, errno
 * chown(2), following symlinks; -1 leaves an id unchanged.
 */
static int l_chown(lua_State *L) {
  ctr_error_t err;
  const char *p = luaL_checkstring(L, 1);
  uid_t u = (uid_t)checkid(L, 2);
  gid_t g = (gid_t)checkid(L, 3);
  return ok_or_err(L, ctr_fs_chown(p, u, g, 0, &err), &err);
}

/***
 * core.lchown(path, uid, gid) -> true | nil, err, errno
 * Like chown, but changes a symlink itself.
 */
static int l_lchown(lua_State *L) {
  ctr_error_t err;
  const char *p = luaL_checkstring(L, 1);
  uid_t u = (uid_t)checkid(L, 2);
  gid_t g = (gid_t)checkid(L, 3);
  return ok_or_err(L, ctr_fs_chown(p, u, g, 1, &err), &err);
}

/***
 * core.set_mtime(path, mtime_ns) -> true | nil, err, errno
 * Set the modification time of path (a symlink itself, not its target) to
 * mtime_ns nanoseconds since the epoch (stat's mtime_ns); atime unchanged.
 */
static int l_set_mtime(lua_State *L) {
  ctr_error_t err;
  const char *p = luaL_checkstring(L, 1);
  int64_t ns = (int64_t)luaL_checkinteger(L, 2);
  return ok_or_err(L, ctr_fs_set_mtime(p, ns, &err), &err);
}

#define SETI(name, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, name))

static void push_stat(lua_State *L, const struct stat *st) {
  lua_createtable(L, 0, 18);
  lua_pushstring(L, lctr_mode_type(st->st_mode));
  lua_setfield(L, -2, "type");
  SETI("mode", st->st_mode & 07777);
  SETI("size", st->st_size);
  SETI("uid", st->st_uid);
  SETI("gid", st->st_gid);
  SETI("ino", st->st_ino);
  SETI("dev", st->st_dev);
  SETI("nlink", st->st_nlink);
  SETI("blocks", st->st_blocks);
  SETI("rdev", st->st_rdev);
  SETI("rdev_major", major(st->st_rdev));
  SETI("rdev_minor", minor(st->st_rdev));
  lua_pushnumber(L, (lua_Number)st->st_mtim.tv_sec + (lua_Number)st->st_mtim.tv_nsec / 1e9);
  lua_setfield(L, -2, "mtime");
  SETI("mtime_ns", (lua_Integer)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
  lua_pushnumber(L, (lua_Number)st->st_atim.tv_sec + (lua_Number)st->st_atim.tv_nsec / 1e9);
  lua_setfield(L, -2, "atime");
  lua_pushnumber(L, (lua_Number)st->st_ctim.tv_sec + (lua_Number)st->st_ctim.tv_nsec / 1e9);
  lua_setfield(L, -2, "ctime");
}

static int do_stat(lua_State *L, int nofollow) {
  ctr_error_t err;
  struct stat st;
  if (ctr_fs_stat(luaL_checkstring(L, 1), &st, nofollow, &err) < 0)
    return lctr_pusherr(L, &err);
  push_stat(L, &st);
  return 1;
}

/***
 * core.stat(path) -> {type=, mode=, size=, uid=, gid=, ino=, dev=, nlink=, mtime=, ...} | nil, err, errno
 * stat(2), following symlinks. type: "file"|"dir"|"link"|"chr"|"blk"|"fifo"|"sock";
 * mode: permission bits (0..07777); mtime/atime/ctime: seconds (float); mtime_ns:
 * integer nanoseconds; rdev, rdev_major, rdev_minor for device nodes; blocks (512 bytes).
 */
static int l_stat(lua_State *L) {
  return do_stat(L, 0);
}

/***
 * core.lstat(path) -> table | nil, err, errno
 * Like core.stat, but a symlink is described itself (type "link").
 */
static int l_lstat(lua_State *L) {
  return do_stat(L, 1);
}

/***
 * core.exists(path) -> boolean
 * true if lstat(path) succeeds (a dangling symlink exists).
 */
static int l_exists(lua_State *L) {
  struct stat st;
  lua_pushboolean(L, lstat(luaL_checkstring(L, 1), &st) == 0);
  return 1;
}

/***
 * core.access(path [, how="f"]) -> true | nil, err, errno
 * access(2) with how made of "r", "w", "x" (or "f": existence).
 */
static int l_access(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  const char *how = luaL_optstring(L, 2, "f");
  int mode = 0;
  for (const char *c = how; *c; c++) {
    switch (*c) {
    case 'r':
      mode |= R_OK;
      break;
    case 'w':
      mode |= W_OK;
      break;
    case 'x':
      mode |= X_OK;
      break;
    case 'f':
      break;
    default:
      return luaL_argerror(L, 2, "expected a combination of \"r\", \"w\", \"x\" or \"f\"");
    }
  }
  if (access(p, mode) < 0) {
    ctr_error_t err;
    ctr_fail_errno(&err, "access %s (%s)", p, how);
    return lctr_pusherr(L, &err);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.readdir(path) -> {names...} | nil, err, errno
 * The entries of a directory, without "." and "..", sorted.
 */
static int l_readdir(lua_State *L) {
  ctr_error_t err;
  size_t n = 0;
  char **names = ctr_fs_readdir(luaL_checkstring(L, 1), &n, &err);
  if (names == NULL)
    return lctr_pusherr(L, &err);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  ctr_fs_free_names(names, n);
  return 1;
}

static int push_owned_string(lua_State *L, char *s, const ctr_error_t *err) {
  if (s == NULL)
    return lctr_pusherr(L, err);
  lua_pushstring(L, s);
  free(s);
  return 1;
}

/***
 * core.readlink(path) -> target | nil, err, errno
 * The target of a symbolic link.
 */
static int l_readlink(lua_State *L) {
  ctr_error_t err;
  return push_owned_string(L, ctr_fs_readlink(luaL_checkstring(L, 1), &err), &err);
}

/***
 * core.realpath(path) -> absolute path | nil, err, errno
 * The canonical absolute path (symlinks resolved; the path must exist).
 */
static int l_realpath(lua_State *L) {
  ctr_error_t err;
  return push_owned_string(L, ctr_fs_realpath(luaL_checkstring(L, 1), &err), &err);
}

/***
 * core.fsync(fd_or_path) -> true | nil, err, errno
 * Flush a file (an fd, or a path: file or directory) to stable storage.
 */
static int l_fsync(lua_State *L) {
  ctr_error_t err;
  if (lua_type(L, 1) == LUA_TSTRING)
    return ok_or_err(L, ctr_fs_fsync_path(lua_tostring(L, 1), &err), &err);
  return ok_or_err(L, ctr_fs_fsync_fd(lctr_checkfd(L, 1), &err), &err);
}

/***
 * core.read_file(path) -> string | nil, err, errno
 * The whole content of a file.
 */
static int l_read_file(lua_State *L) {
  ctr_error_t err;
  size_t len = 0;
  cleanup_free char *buf = ctr_fs_read_file(luaL_checkstring(L, 1), &len, &err);
  if (buf == NULL)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, buf, len);
  return 1;
}

/***
 * core.read_file_stat(path) -> string, stat | nil, err, errno
 * The whole content of a file and its fstat (core.stat's table) from the
 * same open: one open, one fstat and, for a regular file, one read.
 */
static int l_read_file_stat(lua_State *L) {
  ctr_error_t err;
  size_t len = 0;
  struct stat st;
  cleanup_free char *buf = ctr_fs_read_file_stat(luaL_checkstring(L, 1), &len, &st, &err);
  if (buf == NULL)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, buf, len);
  push_stat(L, &st);
  return 2;
}

/***
 * core.mtimes_under(dir, names, file) -> mtimes | nil, err, errno
 * The modification time (nanoseconds since the epoch, stat's mtime_ns) of
 * dir/names[i]/file for each i, relative to one open of dir; mtimes[i] is
 * false when it cannot be stat'ed (or the name has a "/" or a NUL, or is "."
 * or "..").
 */
static int l_mtimes_under(lua_State *L) {
  const char *dir, *file;
  ctr_error_t err;
  cleanup_fd int dfd = lctr_open_under(L, &dir, &file, &err);
  if (dfd < 0)
    return lctr_pusherr(L, &err);
  lua_Integer n = luaL_len(L, 2);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 2, i);
    size_t nlen = 0;
    const char *name = lua_tolstring(L, -1, &nlen);
    char rel[PATH_MAX];
    struct stat st;
    if (lctr_entry_name(name, nlen) &&
        (size_t)snprintf(rel, sizeof rel, "%s/%s", name, file) < sizeof rel &&
        fstatat(dfd, rel, &st, 0) == 0)
      lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    else
      lua_pushboolean(L, 0);
    lua_rawseti(L, -3, i);
    lua_pop(L, 1);
  }
  return 1;
}

/***
 * core.inotify_watch(path, events) -> fd | nil, err, errno
 * An inotify fd (non-blocking, close-on-exec) watching path for events, a
 * list or comma-separated string of "create", "delete", "moved_to",
 * "moved_from", "close_write", "modify", "attrib", "delete_self",
 * "move_self". Poll it for "in" (core.poll) and drain it with core.read.
 */
static const lctr_flag_t inotify_flags[] = {
    {"create", IN_CREATE},           {"delete", IN_DELETE},
    {"moved_to", IN_MOVED_TO},       {"moved_from", IN_MOVED_FROM},
    {"close_write", IN_CLOSE_WRITE}, {"modify", IN_MODIFY},
    {"attrib", IN_ATTRIB},           {"delete_self", IN_DELETE_SELF},
    {"move_self", IN_MOVE_SELF},     {NULL, 0}};
static int l_inotify_watch(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  uint32_t mask = (uint32_t)lctr_checkflags(L, 2, inotify_flags);
  luaL_argcheck(L, mask != 0, 2, "no events");
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return lctr_pusherrno(L, "inotify_init1");
  if (inotify_add_watch(fd, path, mask) < 0) {
    int e = errno;
    char msg[512];
    snprintf(msg, sizeof msg, "inotify_add_watch %s: %s", path, strerror(e));
    close(fd);
    return lctr_pushfail(L, e, msg);
  }
  lctr_pushfd(L, fd, LCTR_FD_FILE);
  return 1;
}

/***
 * core.read_in_root(root, relpath [, maxbytes=4 MiB]) -> string | nil, err, errno
 * The content of the regular file relpath inside root (a directory path, or
 * an fd of one), resolved as if root were "/": openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), so symlinks and ".." never leave root. Anything but
 * a regular file fails with EINVAL without being opened for reading (a FIFO
 * cannot block, a device cannot be read); a file over maxbytes fails with
 * EFBIG, and no more than maxbytes + 1 bytes are ever read.
 */
static int l_read_in_root(lua_State *L) {
  ctr_error_t err;
  size_t len = 0;
  const char *rel = luaL_checkstring(L, 2);
  lua_Integer max = luaL_optinteger(L, 3, 4 << 20);
  luaL_argcheck(L, max >= 0 && max <= (1 << 30), 3, "maxbytes must be within 0..1 GiB");
  cleanup_free char *buf =
      lua_type(L, 1) == LUA_TSTRING
          ? ctr_fs_read_in_root_path(lua_tostring(L, 1), rel, (size_t)max, &len, &err)
          : ctr_fs_read_in_root(lctr_checkfd(L, 1), NULL, rel, (size_t)max, &len, &err);
  if (buf == NULL)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, buf, len);
  return 1;
}

/***
 * core.read_in_layers(layers, relpath [, maxbytes=4 MiB]) -> string | nil, err, errno
 * The content of the regular file relpath of an image's layer stack (a list
 * of layer directories, top first), as the container's overlayfs will show
 * it: each component is looked up by name in the layers of the merged
 * directory (whiteouts and opaque directories honoured), symlinks resolved
 * against the merged view from the stack's root, ".." never above it; no
 * host path is ever followed. ENOENT when missing; anything but a regular
 * file fails with EINVAL without being opened for reading; over maxbytes
 * fails with EFBIG. At most 128 layers.
 */
static int l_read_in_layers(lua_State *L) {
  ctr_error_t err;
  size_t len = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *rel = luaL_checkstring(L, 2);
  lua_Integer max = luaL_optinteger(L, 3, 4 << 20);
  luaL_argcheck(L, max >= 0 && max <= (1 << 30), 3, "maxbytes must be within 0..1 GiB");
  const char *layers[CTR_LAYERFS_MAX_LAYERS];
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1 && n <= CTR_LAYERFS_MAX_LAYERS, 1, "1 to 128 layer directories expected");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    layers[i - 1] = luaL_checkstring(L, -1); /* the table keeps it alive */
    lua_pop(L, 1);
  }
  cleanup_free char *buf = ctr_layerfs_read(layers, (size_t)n, rel, (size_t)max, &len, &err);
  if (buf == NULL)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, buf, len);
  return 1;
}

/***
 * core.write_file_atomic(path, data [, mode=0644]) -> true | nil, err, errno
 * Replace path atomically: temp file in the same directory, fsync, chmod,
 * rename over path, fsync the directory. No temp file is left on failure.
 */
static int l_write_file_atomic(lua_State *L) {
  ctr_error_t err;
  size_t len;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &len);
  mode_t mode = optmode(L, 3, 0644);
  return ok_or_err(L, ctr_fs_write_file_atomic(path, data, len, mode, &err), &err);
}

/***
 * core.lock_file(path [, how="ex" [, {nonblock=false}]]) -> fd | nil, err, errno
 * Open (create, 0600) path and flock it: how is "ex" (exclusive) or "sh"
 * (shared). With nonblock a lock held elsewhere fails at once with
 * EWOULDBLOCK. Returns a ctr.fd: closing it (or garbage collection)
 * releases the lock. A SIGINT/SIGTERM while waiting raises the interrupt
 * (see core.interrupts).
 */
static int l_lock_file(lua_State *L) {
  static const char *const hows[] = {"ex", "sh", NULL};
  ctr_error_t err;
  const char *path = luaL_checkstring(L, 1);
  int how = luaL_checkoption(L, 2, "ex", hows);
  int nonblock = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    nonblock = lctr_optfield_boolean(L, 3, "nonblock", 0);
  }
  int fd;
  lctr_eintr(L); /* a signal that came before the call */
  while ((fd = ctr_fs_lock_file(path, how == 0, nonblock, &err)) < 0 && err.errnum == EINTR)
    lctr_eintr(L);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fd, LCTR_FD_FILE);
  return 1;
}

/***
 * core.remove_all(path) -> true | nil, err, errno
 * rm -rf that never crosses into a mount: if path or anything below it is
 * a mount point, fails (EBUSY, naming it) before removing anything. A
 * missing path is success. Symlinks are removed, not followed.
 */
static int l_remove_all(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_remove_all(luaL_checkstring(L, 1), &err), &err);
}

/***
 * core.du(path) -> bytes, apparent_bytes | nil, err, errno
 * Disk usage of a tree (allocated blocks; hard links once), skipping other
 * mounts; apparent_bytes is the sum of file and symlink sizes.
 */
static int l_du(lua_State *L) {
  ctr_error_t err;
  uint64_t bytes = 0, apparent = 0;
  if (ctr_fs_du(luaL_checkstring(L, 1), &bytes, &apparent, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushinteger(L, (lua_Integer)apparent);
  return 2;
}

/***
 * core.mkdtemp(template) -> path | nil, err, errno
 * Create a unique directory (mode 0700) from a template ending in "XXXXXX".
 */
static int l_mkdtemp(lua_State *L) {
  const char *tmpl = luaL_checkstring(L, 1);
  cleanup_free char *buf = strdup(tmpl);
  if (buf == NULL)
    return lctr_pusherrno(L, "mkdtemp");
  if (mkdtemp(buf) == NULL) {
    ctr_error_t err;
    ctr_fail_errno(&err, "mkdtemp %s", tmpl);
    return lctr_pusherr(L, &err);
  }
  lua_pushstring(L, buf);
  return 1;
}

/***
 * core.getxattr(path, name) -> value | nil, err, errno
 * An extended attribute of path itself (a symlink is not followed), e.g.
 * core.getxattr(dir, "trusted.overlay.opaque") -> "y". ENODATA when unset.
 */
static int l_getxattr(lua_State *L) {
  ctr_error_t err;
  size_t len = 0;
  cleanup_free char *v =
      ctr_fs_getxattr(luaL_checkstring(L, 1), luaL_checkstring(L, 2), &len, &err);
  if (v == NULL)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, v, len);
  return 1;
}

/***
 * core.setxattr(path, name, value [, how]) -> true | nil, err, errno
 * Set an extended attribute on path itself (lsetxattr). how: nil (create
 * or replace), "create" (EEXIST if set) or "replace" (ENODATA if unset).
 */
static int l_setxattr(lua_State *L) {
  static const char *const hows[] = {"any", "create", "replace", NULL};
  static const int flags[] = {0, XATTR_CREATE, XATTR_REPLACE};
  ctr_error_t err;
  size_t len;
  const char *path = luaL_checkstring(L, 1);
  const char *name = luaL_checkstring(L, 2);
  const char *value = luaL_checklstring(L, 3, &len);
  int how = luaL_checkoption(L, 4, "any", hows);
  return ok_or_err(L, ctr_fs_setxattr(path, name, value, len, flags[how], &err), &err);
}

/***
 * core.listxattr(path) -> {names...} | nil, err, errno
 * The names of the extended attributes of path itself, sorted.
 */
static int l_listxattr(lua_State *L) {
  ctr_error_t err;
  size_t len = 0;
  cleanup_free char *buf = ctr_fs_listxattr(luaL_checkstring(L, 1), &len, &err);
  if (buf == NULL)
    return lctr_pusherr(L, &err);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_newtable(L);
  lua_Integer i = 0;
  for (size_t off = 0; off < len; off += strlen(buf + off) + 1) {
    lua_pushstring(L, buf + off);
    lua_rawseti(L, -2, ++i);
  }
  lua_pushvalue(L, -1);
  lua_insert(L, -4);
  lua_call(L, 1, 0); /* table.sort(list) */
  lua_pop(L, 1);
  return 1;
}

/***
 * core.removexattr(path, name) -> true | nil, err, errno
 * Remove an extended attribute of path itself.
 */
static int l_removexattr(lua_State *L) {
  ctr_error_t err;
  return ok_or_err(L, ctr_fs_removexattr(luaL_checkstring(L, 1), luaL_checkstring(L, 2), &err),
                   &err);
}

LCTR_AREA_DECL(fs) {
  static const luaL_Reg fns[] = {{"mkdir", l_mkdir},
                                 {"rmdir", l_rmdir},
                                 {"unlink", l_unlink},
                                 {"rename", l_rename},
                                 {"symlink", l_symlink},
                                 {"link", l_link},
                                 {"move_entries", l_move_entries},
                                 {"chmod", l_chmod},
                                 {"chown", l_chown},
                                 {"lchown", l_lchown},
                                 {"stat", l_stat},
                                 {"lstat", l_lstat},
                                 {"exists", l_exists},
                                 {"access", l_access},
                                 {"readdir", l_readdir},
                                 {"readlink", l_readlink},
                                 {"realpath", l_realpath},
                                 {"fsync", l_fsync},
                                 {"read_file", l_read_file},
                                 {"read_file_stat", l_read_file_stat},
                                 {"mtimes_under", l_mtimes_under},
                                 {"inotify_watch", l_inotify_watch},
                                 {"write_file_atomic", l_write_file_atomic},
                                 {"lock_file", l_lock_file},
                                 {"remove_all", l_remove_all},
                                 {"du", l_du},
                                 {"mkdtemp", l_mkdtemp},
                                 {"getxattr", l_getxattr},
                                 {"setxattr", l_setxattr},
                                 {"listxattr", l_listxattr},
                                 {"removexattr", l_removexattr},
                                 {"read_in_root", l_read_in_root},
                                 {"read_in_layers", l_read_in_layers},
                                 {"set_mtime", l_set_mtime},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
