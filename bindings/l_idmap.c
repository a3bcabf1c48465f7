/* l_idmap.c - area `idmap` of ctr.core: user namespace uid/gid maps and
 * setgroups. A map is "inside outside count" lines as a string, or a list of
 * {inside, outside, count} triples. pid 0 (or nil) means the calling process. */
#include "lctr.h"

#include <errno.h>

#include "idmap.h"

static pid_t opt_pid(lua_State *L, int idx) {
  lua_Integer p = luaL_optinteger(L, idx, 0);
  luaL_argcheck(L, p >= 0 && p <= 0x7fffffff, idx, "pid out of range");
  return (pid_t)p;
}

static lua_Integer triple_field(lua_State *L, int t, int i, int entry) {
  lua_rawgeti(L, t, i);
  if (!lua_isinteger(L, -1))
    luaL_error(L, "bad id map entry %d: {inside, outside, count} integers expected", entry);
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (v < 0 || v > 0xffffffffLL)
    luaL_error(L, "bad id map entry %d: id out of range", entry);
  return v;
}

/* The map text for the value at idx (string kept as is, list formatted). */
static const char *check_map(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING)
    return lua_tostring(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_Integer n = luaL_len(L, idx);
  luaL_argcheck(L, n > 0, idx, "empty id map");
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TTABLE)
      luaL_error(L, "bad id map entry %d: {inside, outside, count} expected", (int)i);
    int t = lua_gettop(L);
    lua_Integer in = triple_field(L, t, 1, (int)i);
    lua_Integer out = triple_field(L, t, 2, (int)i);
    lua_Integer cnt = triple_field(L, t, 3, (int)i);
    lua_pop(L, 1);
    lua_pushfstring(L, "%I %I %I\n", in, out, cnt);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

static int write_map(lua_State *L, const char *file) {
  pid_t pid = opt_pid(L, 1);
  const char *text = check_map(L, 2);
  ctr_error_t err;
  if (ctr_write_idmap(pid, file, text, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.write_uid_map(pid, map) -> true | nil, err, errno
 * Write /proc/<pid>/uid_map once: map "0 1000 1" or {{0, 1000, 1}, ...}.
 */
static int l_write_uid_map(lua_State *L) {
  return write_map(L, "uid_map");
}

/***
 * core.write_gid_map(pid, map) -> true | nil, err, errno
 * Write /proc/<pid>/gid_map once (unprivileged writers call
 * core.setgroups_deny(pid) first).
 */
static int l_write_gid_map(lua_State *L) {
  return write_map(L, "gid_map");
}

/***
 * core.setgroups_deny(pid) -> true | nil, err, errno
 * Write "deny" to /proc/<pid>/setgroups.
 */
static int l_setgroups_deny(lua_State *L) {
  pid_t pid = opt_pid(L, 1);
  ctr_error_t err;
  if (ctr_setgroups_deny(pid, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"write_uid_map", l_write_uid_map},
                                 {"write_gid_map", l_write_gid_map},
                                 {"setgroups_deny", l_setgroups_deny},
                                 {NULL, NULL}};

LCTR_AREA_DECL(idmap) {
  luaL_setfuncs(L, funcs, 0);
}
