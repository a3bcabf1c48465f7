/* l_caps.c - area `caps` of ctr.core: capability sets (read, drop from the
 * bounding set, set), no_new_privs, dumpable, keepcaps. Capabilities are
 * returned as lowercase names ("cap_sys_admin"); input accepts any case,
 * with or without the "cap_" prefix, or numbers. */
#include "lctr.h"

#include <errno.h>
#include <string.h>

#include "caps.h"

static int check_cap(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, idx);
    luaL_argcheck(L, n >= 0 && n <= ctr_cap_last(), idx, "capability number out of range");
    return (int)n;
  }
  const char *s = luaL_checkstring(L, idx);
  ctr_error_t err;
  int c = ctr_cap_from_name(s, &err);
  if (c < 0)
    luaL_argerror(L, idx, err.msg);
  return c;
}

/* A mask from a name, number, "a,b" string or list (of names/numbers). */
static uint64_t check_capmask(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  uint64_t m = 0;
  int t = lua_type(L, idx);
  if (t == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      m |= (uint64_t)1 << check_cap(L, lua_gettop(L));
      lua_pop(L, 1);
    }
    return m;
  }
  if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, idx);
    while (*s) {
      size_t len = strcspn(s, ", ");
      if (len) {
        lua_pushlstring(L, s, len);
        m |= (uint64_t)1 << check_cap(L, lua_gettop(L));
        lua_pop(L, 1);
      }
      s += len;
      s += strspn(s, ", ");
    }
    return m;
  }
  if (t != LUA_TNUMBER)
    luaL_typeerror(L, idx, "capabilities (name, number, \"a,b\" or list)");
  return (uint64_t)1 << check_cap(L, idx);
}

static void push_capmask(lua_State *L, uint64_t m) {
  lua_newtable(L);
  int n = 0;
  char buf[64];
  for (int i = 0; i < 64; i++)
    if (m & ((uint64_t)1 << i)) {
      ctr_cap_name(i, buf, sizeof buf);
      lua_pushstring(L, buf);
      lua_rawseti(L, -2, ++n);
    }
}

/***
 * core.caps_get([pid]) -> sets | nil, err, errno
 * The capability sets of pid (default: self), from /proc/<pid>/status:
 * {effective={"cap_chown", ...}, permitted=..., inheritable=..., bounding=..., ambient=...}.
 */
static int l_caps_get(lua_State *L) {
  lua_Integer pid = luaL_optinteger(L, 1, 0);
  luaL_argcheck(L, pid >= 0 && pid <= 0x7fffffff, 1, "pid out of range");
  ctr_capsets_t s;
  ctr_error_t err;
  if (ctr_caps_read((pid_t)pid, &s, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_createtable(L, 0, 5);
  push_capmask(L, s.effective);
  lua_setfield(L, -2, "effective");
  push_capmask(L, s.permitted);
  lua_setfield(L, -2, "permitted");
  push_capmask(L, s.inheritable);
  lua_setfield(L, -2, "inheritable");
  push_capmask(L, s.bounding);
  lua_setfield(L, -2, "bounding");
  push_capmask(L, s.ambient);
  lua_setfield(L, -2, "ambient");
  return 1;
}

/***
 * core.cap_drop_bound(caps) -> true | nil, err, errno
 * Drop capabilities from the bounding set of the calling thread. caps: a
 * name, "a,b" or a list. Needs CAP_SETPCAP.
 */
static int l_cap_drop_bound(lua_State *L) {
  uint64_t m = check_capmask(L, 1);
  ctr_error_t err;
  for (int i = 0; i < 64; i++)
    if ((m & ((uint64_t)1 << i)) && ctr_cap_drop_bound(i, &err) < 0)
      return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static uint64_t opt_setfield(lua_State *L, const char *name, uint64_t def) {
  if (lua_getfield(L, 1, name) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  uint64_t m = check_capmask(L, -1);
  lua_pop(L, 1);
  return m;
}

/***
 * core.caps_set{effective=, permitted=, inheritable=, ambient=} -> true | nil, err, errno
 * Set the calling thread's capability sets (each a list of names). A set
 * left out keeps its current value; ambient (if given) replaces the ambient
 * set after the others are set.
 */
static int l_caps_set(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  ctr_capsets_t cur;
  ctr_error_t err;
  if (ctr_caps_read(0, &cur, &err) < 0)
    return lctr_pusherr(L, &err);
  uint64_t eff = opt_setfield(L, "effective", cur.effective);
  uint64_t prm = opt_setfield(L, "permitted", cur.permitted);
  uint64_t inh = opt_setfield(L, "inheritable", cur.inheritable);
  int has_amb = lua_getfield(L, 1, "ambient") != LUA_TNIL;
  lua_pop(L, 1);
  uint64_t amb = opt_setfield(L, "ambient", 0);
  if (ctr_caps_set(eff, prm, inh, &err) < 0)
    return lctr_pusherr(L, &err);
  if (has_amb && ctr_caps_set_ambient(amb, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.cap_from_name(name) -> number | nil, err, errno
 * Capability number: cap_from_name("CAP_SYS_ADMIN") == 21.
 */
static int l_cap_from_name(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  ctr_error_t err;
  int c = ctr_cap_from_name(s, &err);
  if (c < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, c);
  return 1;
}

/***
 * core.cap_name(number) -> name
 * Lowercase capability name: cap_name(21) == "cap_sys_admin".
 */
static int l_cap_name(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n < 64, 1, "capability number out of range");
  char buf[64];
  ctr_cap_name((int)n, buf, sizeof buf);
  lua_pushstring(L, buf);
  return 1;
}

/***
 * core.cap_list() -> names
 * Every capability the running kernel knows, in number order.
 */
static int l_cap_list(lua_State *L) {
  int last = ctr_cap_last();
  uint64_t all = last >= 63 ? ~(uint64_t)0 : (((uint64_t)1 << (last + 1)) - 1);
  push_capmask(L, all);
  return 1;
}

/***
 * core.set_no_new_privs() -> true | nil, err, errno
 * PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (irreversible).
 */
static int l_set_no_new_privs(lua_State *L) {
  ctr_error_t err;
  if (ctr_set_no_new_privs(&err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.get_no_new_privs() -> boolean | nil, err, errno
 * Whether no_new_privs is set.
 */
static int l_get_no_new_privs(lua_State *L) {
  ctr_error_t err;
  int r = ctr_get_no_new_privs(&err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, r);
  return 1;
}

/***
 * core.set_dumpable(on) -> true | nil, err, errno
 * PR_SET_DUMPABLE (also decides whether /proc/<pid> files are owned by the
 * process's uid or by root).
 */
static int l_set_dumpable(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  ctr_error_t err;
  if (ctr_set_dumpable(lua_toboolean(L, 1), &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.get_dumpable() -> boolean | nil, err, errno
 * PR_GET_DUMPABLE.
 */
static int l_get_dumpable(lua_State *L) {
  ctr_error_t err;
  int r = ctr_get_dumpable(&err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, r);
  return 1;
}

/***
 * core.set_keepcaps(on) -> true | nil, err, errno
 * PR_SET_KEEPCAPS: keep permitted capabilities across a setuid away from 0.
 */
static int l_set_keepcaps(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  ctr_error_t err;
  if (ctr_set_keepcaps(lua_toboolean(L, 1), &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"caps_get", l_caps_get},
                                 {"cap_drop_bound", l_cap_drop_bound},
                                 {"caps_set", l_caps_set},
                                 {"cap_from_name", l_cap_from_name},
                                 {"cap_name", l_cap_name},
                                 {"cap_list", l_cap_list},
                                 {"set_no_new_privs", l_set_no_new_privs},
                                 {"get_no_new_privs", l_get_no_new_privs},
                                 {"set_dumpable", l_set_dumpable},
                                 {"get_dumpable", l_get_dumpable},
                                 {"set_keepcaps", l_set_keepcaps},
                                 {NULL, NULL}};

LCTR_AREA_DECL(caps) {
  luaL_setfuncs(L, funcs, 0);
}
