/* l_mount.c - area `mount` of ctr.core: mount/umount2 with flags by name,
 * pivot_root, chroot, chdir, getcwd and mknod (device nodes, fifos). */
#include "lctr.h"

#include <errno.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "mount.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

static const lctr_flag_t mount_flags[] = {{"ro", MS_RDONLY},
                                          {"rdonly", MS_RDONLY},
                                          {"rw", 0},
                                          {"nosuid", MS_NOSUID},
                                          {"nodev", MS_NODEV},
                                          {"noexec", MS_NOEXEC},
                                          {"sync", MS_SYNCHRONOUS},
                                          {"remount", MS_REMOUNT},
                                          {"mandlock", MS_MANDLOCK},
                                          {"dirsync", MS_DIRSYNC},
                                          {"nosymfollow", MS_NOSYMFOLLOW},
                                          {"noatime", MS_NOATIME},
                                          {"nodiratime", MS_NODIRATIME},
                                          {"bind", MS_BIND},
                                          {"rbind", MS_BIND | MS_REC},
                                          {"move", MS_MOVE},
                                          {"rec", MS_REC},
                                          {"silent", MS_SILENT},
                                          {"unbindable", MS_UNBINDABLE},
                                          {"runbindable", MS_UNBINDABLE | MS_REC},
                                          {"private", MS_PRIVATE},
                                          {"rprivate", MS_PRIVATE | MS_REC},
                                          {"slave", MS_SLAVE},
                                          {"rslave", MS_SLAVE | MS_REC},
                                          {"shared", MS_SHARED},
                                          {"rshared", MS_SHARED | MS_REC},
                                          {"relatime", MS_RELATIME},
                                          {"strictatime", MS_STRICTATIME},
                                          {"lazytime", MS_LAZYTIME},
                                          {NULL, 0}};

static const lctr_flag_t umount_flags[] = {{"force", MNT_FORCE},
                                           {"detach", MNT_DETACH},
                                           {"expire", MNT_EXPIRE},
                                           {"nofollow", UMOUNT_NOFOLLOW},
                                           {NULL, 0}};

static int ok(lua_State *L, int r, const ctr_error_t *err) {
  if (r < 0)
    return lctr_pusherr(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.mount(source, target [, fstype [, flags [, data]]]) -> true | nil, err, errno
 * mount(2). source/fstype/data may be nil. flags: "ro,rw,nosuid,nodev,noexec,
 * sync,remount,dirsync,nosymfollow,noatime,nodiratime,relatime,strictatime,
 * lazytime,bind,rbind,move,rec,silent" plus propagation "private,shared,slave,
 * unbindable" (with "rec", or "rprivate", ...). Propagation changes are applied
 * after the mount, and a bind mount's ro/nosuid/... by a bind remount, so
 * core.mount(src, dst, nil, "bind,rec,ro,rprivate") does all of it.
 * Make the whole tree private: core.mount(nil, "/", nil, "rec,private").
 */
static int l_mount(lua_State *L) {
  const char *src = luaL_optstring(L, 1, NULL);
  const char *tgt = luaL_checkstring(L, 2);
  const char *type = luaL_optstring(L, 3, NULL);
  unsigned long flags = lctr_optflags(L, 4, mount_flags, 0);
  const char *data = luaL_optstring(L, 5, NULL);
  ctr_error_t err;
  return ok(L, ctr_mount(src, tgt, type, flags, data, &err), &err);
}

/***
 * core.umount2(target [, flags]) -> true | nil, err, errno
 * umount2(2). flags: "detach,force,expire,nofollow". core.umount is an alias.
 */
static int l_umount2(lua_State *L) {
  const char *tgt = luaL_checkstring(L, 1);
  int flags = (int)lctr_optflags(L, 2, umount_flags, 0);
  ctr_error_t err;
  return ok(L, ctr_umount2(tgt, flags, &err), &err);
}

/***
 * core.pivot_root(new_root, put_old) -> true | nil, err, errno
 * pivot_root(2). new_root must be a mount point; core.pivot_root(".", ".")
 * after core.chdir(new_root) then core.umount2(".", "detach") is the
 * no-put_old-directory idiom.
 */
static int l_pivot_root(lua_State *L) {
  const char *n = luaL_checkstring(L, 1);
  const char *o = luaL_checkstring(L, 2);
  ctr_error_t err;
  return ok(L, ctr_pivot_root(n, o, &err), &err);
}

/***
 * core.chroot(path) -> true | nil, err, errno
 * chroot(2).
 */
static int l_chroot(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  ctr_error_t err;
  return ok(L, ctr_chroot(p, &err), &err);
}

/***
 * core.chdir(path | fd) -> true | nil, err, errno
 * chdir(2), or fchdir(2) when given an fd object or integer.
 */
static int l_chdir(lua_State *L) {
  ctr_error_t err;
  if (lua_type(L, 1) == LUA_TSTRING)
    return ok(L, ctr_chdir(lua_tostring(L, 1), &err), &err);
  return ok(L, ctr_fchdir(lctr_checkfd(L, 1), &err), &err);
}

/***
 * core.getcwd() -> path | nil, err, errno
 * The current working directory.
 */
static int l_getcwd(lua_State *L) {
  char buf[PATH_MAX];
  ctr_error_t err;
  if (ctr_getcwd(buf, sizeof buf, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, buf);
  return 1;
}

/***
 * core.mknod(path, type [, mode=0666 [, major=0 [, minor=0]]]) -> true | nil, err, errno
 * mknod(2). type: "c" or "chr" (char device), "b" or "blk" (block device),
 * "p" or "fifo", "f" or "file" (regular file). mode is the permission bits (umask applies).
 */
static int l_mknod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  static const char *const types[] = {"c", "b", "p", "f", "chr", "blk", "fifo", "file", NULL};
  static const mode_t fmt[] = {S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG,
                               S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG};
  int t = luaL_checkoption(L, 2, NULL, types);
  lua_Integer mode = luaL_optinteger(L, 3, 0666);
  luaL_argcheck(L, mode >= 0 && mode <= 07777, 3, "mode must be permission bits (0..07777)");
  lua_Integer major = luaL_optinteger(L, 4, 0);
  lua_Integer minor = luaL_optinteger(L, 5, 0);
  luaL_argcheck(L, major >= 0 && major <= 0xfff, 4, "major out of range");
  luaL_argcheck(L, minor >= 0 && minor <= 0xfffff, 5, "minor out of range");
  ctr_error_t err;
  return ok(L, ctr_mknod(path, fmt[t] | (mode_t)mode, (unsigned)major, (unsigned)minor, &err),
            &err);
}

static const luaL_Reg funcs[] = {
    {"mount", l_mount},           {"umount2", l_umount2}, {"umount", l_umount2},
    {"pivot_root", l_pivot_root}, {"chroot", l_chroot},   {"chdir", l_chdir},
    {"getcwd", l_getcwd},         {"mknod", l_mknod},     {NULL, NULL}};

LCTR_AREA_DECL(mount) {
  luaL_setfuncs(L, funcs, 0);
}
