/* lctr_archive.c - luaopen_ctr_archive: the `ctr.archive` module (libarchive),
 * kept apart from ctr.core so that `require "ctr.core"` does not load
 * libarchive. */
#include "lctr.h"

#include <sys/stat.h>

#include "ctr_archive.h"

/***
 * archive.extract(tarball | fd, dest_dir [, {oci=false, diff_id=nil}]) -> true | nil, err, errno
 * Extract a tar archive (plain, gzip, xz, zstd, bzip2: detected from the
 * content) into the existing directory dest_dir, keeping numeric owners,
 * modes, times, xattrs and device nodes. Entries with absolute paths, ".."
 * components or paths through symlinks make the whole call fail; what was
 * extracted before the bad entry stays (extract into a fresh directory).
 * Given an fd (integer or fd object: a pipe, say), reads the archive from it.
 * oci (a tarball path only): the archive is an image layer from a registry
 * or an OCI/docker archive: ".wh.NAME" entries become overlayfs whiteouts
 * (char 0:0) and ".wh..wh..opq" marks its directory opaque (xattr
 * trusted.overlay.opaque=y, set without following symlinks).
 * diff_id ("sha256:<hex>", a tarball path only): the sha256 of the
 * decompressed archive must be diff_id (an image config's rootfs.diff_ids
 * entry), computed while extracting; a mismatch fails after the extraction.
 */
static int l_extract(lua_State *L) {
  ctr_error_t err;
  const char *dest = luaL_checkstring(L, 2);
  int oci = 0;
  const char *diff_id = NULL;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    oci = lctr_optfield_boolean(L, 3, "oci", 0);
    int ty = lua_getfield(L, 3, "diff_id");
    if (ty != LUA_TNIL && ty != LUA_TSTRING)
      return luaL_error(L, "archive.extract: diff_id must be a string");
    diff_id = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays referenced by the options table */
  }
  int r;
  if (oci || diff_id)
    r = ctr_archive_extract_layer(luaL_checkstring(L, 1), dest, oci ? CTR_ARCHIVE_OCI : 0, diff_id,
                                  &err);
  else
    r = lua_type(L, 1) == LUA_TSTRING ? ctr_archive_extract(lua_tostring(L, 1), dest, &err)
                                      : ctr_archive_extract_fd(lctr_checkfd(L, 1), dest, &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * archive.digest(tarball) -> "sha256:<hex>" | nil, err, errno
 * The sha256 of the decompressed content of the archive at tarball (plain,
 * gzip, zstd...): an image layer's diff_id.
 */
static int l_digest(lua_State *L) {
  ctr_error_t err;
  char hex[65];
  if (ctr_archive_digest(luaL_checkstring(L, 1), hex, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushfstring(L, "sha256:%s", hex);
  return 1;
}

/***
 * archive.create(src_dir, tarball | fd [, {gzip=false, whiteouts=false, oci=false}]) -> true | nil, err, errno
 * Write the tree src_dir as a pax tar archive (gzip-compressed with gzip):
 * relative paths ("bin/sh"), numeric owners, modes, times, symlinks, hard
 * links, device nodes, fifos and xattrs. Sockets are skipped, and overlayfs
 * whiteouts (char 0:0) unless whiteouts is true (a layer keeps them); other
 * mounts below src_dir are not entered. Given an fd (integer or fd object)
 * instead of a path, writes the archive to it (and leaves it open).
 * oci: write an image layer for registries and OCI/docker archives:
 * whiteouts as empty ".wh.NAME" files, opaque dirs with a ".wh..wh..opq"
 * entry, no trusted.overlay.* xattrs.
 */
static int l_create(lua_State *L) {
  ctr_error_t err;
  const char *src = luaL_checkstring(L, 1);
  unsigned flags = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    flags |= lctr_optfield_boolean(L, 3, "gzip", 0) ? CTR_ARCHIVE_GZIP : 0;
    flags |= lctr_optfield_boolean(L, 3, "whiteouts", 0) ? CTR_ARCHIVE_WHITEOUTS : 0;
    flags |= lctr_optfield_boolean(L, 3, "oci", 0) ? CTR_ARCHIVE_OCI : 0;
  }
  int r = lua_type(L, 2) == LUA_TSTRING
              ? ctr_archive_create(src, lua_tostring(L, 2), flags, &err)
              : ctr_archive_create_fd(src, lctr_checkfd(L, 2), flags, &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * archive.copy_out(src, fd [, {name=nil, follow=false}]) -> true, bytes | nil, err, errno
 * Write src (a file, a directory tree, a symlink...) as a pax tar archive to
 * fd (docker cp's stream): src itself is the entry name and what is below
 * it name/...; without name only what is below src (cp SRC/. DST). follow:
 * src is followed when it is a symlink (cp -L); nothing below is followed.
 * bytes: the size of the stream written.
 */
static int l_copy_out(lua_State *L) {
  ctr_error_t err;
  const char *src = luaL_checkstring(L, 1);
  int fd = lctr_checkfd(L, 2);
  ctr_archive_copy_t c = {.uid = -1, .gid = -1};
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    c.name = lctr_optfield_string(L, 3, "name", NULL);
    c.follow = lctr_optfield_boolean(L, 3, "follow", 0);
  }
  if (ctr_archive_copy_out(src, fd, &c, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  lua_pushinteger(L, (lua_Integer)c.bytes);
  return 2;
}

/***
 * archive.copy_in(fd, dest_dir [, {uid=-1, gid=-1, shift=0, nodev=false, nosuid=false}]) -> true, bytes | nil, err, errno
 * Extract the tar archive read from fd into dest_dir as archive.extract
 * does (no absolute paths, no "..", nothing through a symlink), every
 * entry's owner set to uid/gid (-1: the archive's) and then shifted by
 * shift (a user namespace's base, may be negative); nodev: a device node
 * in the archive is an error; nosuid: setuid and setgid bits are dropped.
 * bytes: the size of the stream read.
 */
static int l_copy_in(lua_State *L) {
  ctr_error_t err;
  int fd = lctr_checkfd(L, 1);
  const char *dest = luaL_checkstring(L, 2);
  ctr_archive_copy_t c = {.uid = -1, .gid = -1};
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    c.uid = lctr_optfield_integer(L, 3, "uid", -1);
    c.gid = lctr_optfield_integer(L, 3, "gid", -1);
    c.shift = lctr_optfield_integer(L, 3, "shift", 0);
    c.nodev = lctr_optfield_boolean(L, 3, "nodev", 0);
    c.nosuid = lctr_optfield_boolean(L, 3, "nosuid", 0);
  }
  if (ctr_archive_copy_in(fd, dest, &c, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  lua_pushinteger(L, (lua_Integer)c.bytes);
  return 2;
}

static int list_one(const ctr_archive_entry_t *e, void *ctx) {
  lua_State *L = ctx;
  lua_createtable(L, 0, 10);
  lua_pushstring(L, e->path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, e->hardlink ? "hardlink" : lctr_mode_type(e->mode));
  lua_setfield(L, -2, "type");
  if (e->linkname) {
    lua_pushstring(L, e->linkname);
    lua_setfield(L, -2, "linkname");
  }
  lua_pushinteger(L, e->mode & 07777);
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, e->size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, e->uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, e->gid);
  lua_setfield(L, -2, "gid");
  lua_pushinteger(L, e->mtime);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, e->rdev_major);
  lua_setfield(L, -2, "rdev_major");
  lua_pushinteger(L, e->rdev_minor);
  lua_setfield(L, -2, "rdev_minor");
  lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
  return 0;
}

/***
 * archive.list(tarball) -> {entries...} | nil, err, errno
 * The entries of a tar archive, in order: {path=, type="file"|"dir"|"link"|
 * "hardlink"|"chr"|"blk"|"fifo", linkname=, mode=, size=, uid=, gid=, mtime=,
 * rdev_major=, rdev_minor=}.
 */
static int l_list(lua_State *L) {
  ctr_error_t err;
  const char *tarball = luaL_checkstring(L, 1);
  lua_newtable(L);
  if (ctr_archive_list(tarball, list_one, L, &err) < 0)
    return lctr_pusherr(L, &err);
  return 1;
}

int luaopen_ctr_archive(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"extract", l_extract},   {"digest", l_digest},   {"create", l_create}, {"list", l_list},
      {"copy_out", l_copy_out}, {"copy_in", l_copy_in}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
