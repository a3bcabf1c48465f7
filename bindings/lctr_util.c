/* lctr_util.c - shared binding helpers: errors, fd objects, string vectors, flags. */
#include "lctr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lctr_pushfail(lua_State *L, int errnum, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushinteger(L, errnum);
  return 3;
}

int lctr_pusherr(lua_State *L, const ctr_error_t *err) {
  return lctr_pushfail(L, err->errnum, err->msg);
}

int lctr_pusherrno(lua_State *L, const char *what) {
  int e = errno;
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, strerror(e));
  lua_pushinteger(L, e);
  return 3;
}

/* ---- fd objects ---------------------------------------------------------- */

static const char *const fd_kinds[] = {"file", "pipe", "pty", "pidfd", "nsfd", "socket"};

/***
 * fd:close() -> true | nil, err, errno
 * Close the descriptor now (the GC and <close> would later); closing twice
 * is a no-op.
 */
static int fd_close(lua_State *L) {
  lctr_fd_t *f = luaL_checkudata(L, 1, LCTR_FD_MT);
  if (f->fd >= 0) {
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) < 0)
      return lctr_pusherrno(L, "close");
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int fd_gc(lua_State *L) {
  lctr_fd_t *f = luaL_checkudata(L, 1, LCTR_FD_MT);
  if (f->fd >= 0) {
    close(f->fd);
    f->fd = -1;
  }
  return 0;
}

/***
 * fd:fileno() -> integer
 * The descriptor number; raises if the fd is closed.
 */
static int fd_fileno(lua_State *L) {
  lctr_fd_t *f = luaL_checkudata(L, 1, LCTR_FD_MT);
  if (f->fd < 0)
    return luaL_error(L, "attempt to use a closed fd");
  lua_pushinteger(L, f->fd);
  return 1;
}

/***
 * fd:release() -> integer
 * Give up ownership and return the raw descriptor, which the object will
 * then never close.
 */
static int fd_release(lua_State *L) {
  lctr_fd_t *f = luaL_checkudata(L, 1, LCTR_FD_MT);
  if (f->fd < 0)
    return luaL_error(L, "attempt to use a closed fd");
  lua_pushinteger(L, f->fd);
  f->fd = -1;
  return 1;
}

static int fd_tostring(lua_State *L) {
  lctr_fd_t *f = luaL_checkudata(L, 1, LCTR_FD_MT);
  const char *k = (f->kind >= 0 && f->kind < (int)(sizeof fd_kinds / sizeof *fd_kinds))
                      ? fd_kinds[f->kind]
                      : "fd";
  if (f->fd < 0)
    lua_pushfstring(L, "ctr.fd(%s, closed)", k);
  else
    lua_pushfstring(L, "ctr.fd(%s, %d)", k, f->fd);
  return 1;
}

static int fd_index(lua_State *L) {
  lctr_fd_t *f = luaL_checkudata(L, 1, LCTR_FD_MT);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "fd") == 0) {
    lua_pushinteger(L, f->fd);
    return 1;
  }
  if (strcmp(k, "kind") == 0) {
    lua_pushstring(L, fd_kinds[f->kind]);
    return 1;
  }
  if (strcmp(k, "closed") == 0) {
    lua_pushboolean(L, f->fd < 0);
    return 1;
  }
  luaL_getmetatable(L, LCTR_FD_MT);
  lua_getfield(L, -1, "methods");
  lua_getfield(L, -1, k);
  return 1;
}

static void fd_metatable(lua_State *L) {
  if (luaL_newmetatable(L, LCTR_FD_MT)) {
    static const luaL_Reg meta[] = {{"__gc", fd_gc},
                                    {"__close", fd_gc},
                                    {"__tostring", fd_tostring},
                                    {"__index", fd_index},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {
        {"close", fd_close}, {"fileno", fd_fileno}, {"release", fd_release}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "methods");
  }
}

lctr_fd_t *lctr_pushfd(lua_State *L, int fd, int kind) {
  lctr_fd_t *f = lua_newuserdatauv(L, sizeof *f, 0);
  f->fd = fd;
  f->kind = kind;
  fd_metatable(L);
  lua_setmetatable(L, -2);
  return f;
}

lctr_fd_t *lctr_tofdobj(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, LCTR_FD_MT);
}

int lctr_checkfd(lua_State *L, int idx) {
  if (lua_isinteger(L, idx)) {
    lua_Integer n = lua_tointeger(L, idx);
    luaL_argcheck(L, n >= 0 && n <= 0x7fffffff, idx, "fd out of range");
    return (int)n;
  }
  lctr_fd_t *f = luaL_testudata(L, idx, LCTR_FD_MT);
  if (f == NULL)
    luaL_typeerror(L, idx, "fd (integer or ctr.fd)");
  luaL_argcheck(L, f->fd >= 0, idx, "fd is closed");
  return f->fd;
}

int lctr_optfd(lua_State *L, int idx, int def) {
  return lua_isnoneornil(L, idx) ? def : lctr_checkfd(L, idx);
}

/* ---- string vectors ------------------------------------------------------ */

char **lctr_checkstrv(lua_State *L, int idx, const char *what) {
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, idx);
  char **v = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "bad %s: element %d is a %s, expected string", what, (int)i,
                 luaL_typename(L, -1));
    size_t len;
    v[i - 1] = (char *)lua_tolstring(L, -1, &len);
    if (memchr(v[i - 1], '\0', len) != NULL)
      luaL_error(L, "bad %s: element %d holds a NUL byte (a C string cannot)", what, (int)i);
    lua_pop(L, 1); /* still referenced by the table */
  }
  v[n] = NULL;
  return v;
}

char **lctr_checkenv(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  /* normalise into a list of "K=V" strings held by a new table */
  lua_newtable(L);
  int out = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) == LUA_TNUMBER) {
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "bad env: list entries must be \"NAME=value\" strings");
      lua_pushvalue(L, -1);
    } else if (lua_type(L, -2) == LUA_TSTRING &&
               (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
      lua_pushvalue(L, -2);
      lua_pushliteral(L, "=");
      lua_pushvalue(L, -3);
      lua_concat(L, 3); /* keeps every byte, NULs too (refused below) */
    } else {
      luaL_error(L, "bad env: entries must be NAME=\"value\" or \"NAME=value\"");
    }
    lua_rawseti(L, out, ++n);
    lua_pop(L, 1);
  }
  return lctr_checkstrv(L, out, "env");
}

/* ---- flags ---------------------------------------------------------------- */

static unsigned long flag_lookup(lua_State *L, int idx, const lctr_flag_t *names, const char *s,
                                 size_t len) {
  for (const lctr_flag_t *f = names; f->name; f++)
    if (strlen(f->name) == len && strncmp(f->name, s, len) == 0)
      return f->value;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "unknown flag '");
  luaL_addlstring(&b, s, len);
  luaL_addstring(&b, "' (known:");
  for (const lctr_flag_t *f = names; f->name; f++) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, f->name);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  luaL_argerror(L, idx, lua_tostring(L, -1));
  return 0;
}

static unsigned long flags_from_string(lua_State *L, int idx, const lctr_flag_t *names,
                                       const char *s) {
  unsigned long v = 0;
  while (*s) {
    size_t len = strcspn(s, ",| ");
    if (len > 0)
      v |= flag_lookup(L, idx, names, s, len);
    s += len;
    s += strspn(s, ",| ");
  }
  return v;
}

unsigned long lctr_checkflags(lua_State *L, int idx, const lctr_flag_t *names) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
    return (unsigned long)luaL_checkinteger(L, idx);
  case LUA_TSTRING:
    return flags_from_string(L, idx, names, lua_tostring(L, idx));
  case LUA_TTABLE: {
    unsigned long v = 0;
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, idx, "flag list must hold strings");
      v |= flags_from_string(L, idx, names, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    return v;
  }
  default:
    luaL_typeerror(L, idx, "flags (string, list of strings or integer)");
    return 0;
  }
}

unsigned long lctr_optflags(lua_State *L, int idx, const lctr_flag_t *names, unsigned long def) {
  return lua_isnoneornil(L, idx) ? def : lctr_checkflags(L, idx, names);
}

void lctr_setflags(lua_State *L, int t, const lctr_flag_t *names) {
  t = lua_absindex(L, t);
  for (const lctr_flag_t *f = names; f->name; f++) {
    lua_pushinteger(L, (lua_Integer)f->value);
    lua_setfield(L, t, f->name);
  }
}

/* ---- option-table fields -------------------------------------------------- */

static int field(lua_State *L, int t, const char *name, int want) {
  int ty = lua_getfield(L, t, name);
  if (ty == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (ty != want && !(want == LUA_TNUMBER && ty == LUA_TSTRING && lua_isinteger(L, -1)))
    luaL_error(L, "bad field '%s' (%s expected, got %s)", name, lua_typename(L, want),
               luaL_typename(L, -1));
  return 1;
}

const char *lctr_optfield_string(lua_State *L, int t, const char *name, const char *def) {
  t = lua_absindex(L, t);
  if (!field(L, t, name, LUA_TSTRING))
    return def;
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* still referenced by the table */
  return s;
}

lua_Integer lctr_optfield_integer(lua_State *L, int t, const char *name, lua_Integer def) {
  t = lua_absindex(L, t);
  if (!field(L, t, name, LUA_TNUMBER))
    return def;
  if (!lua_isinteger(L, -1))
    luaL_error(L, "bad field '%s' (integer expected)", name);
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

int lctr_optfield_boolean(lua_State *L, int t, const char *name, int def) {
  t = lua_absindex(L, t);
  if (!field(L, t, name, LUA_TBOOLEAN))
    return def;
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

int lctr_open_under(lua_State *L, const char **dir, const char **file, ctr_error_t *err) {
  *dir = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  *file = luaL_checkstring(L, 3);
  luaL_argcheck(L, **file != '\0' && strchr(*file, '/') == NULL, 3, "a file name without /");
  int fd = open(*dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", *dir);
  return fd;
}

bool lctr_entry_name(const char *name, size_t len) {
  return name != NULL && strlen(name) == len && strchr(name, '/') == NULL &&
         strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

const char *lctr_mode_type(mode_t m) {
  switch (m & S_IFMT) {
  case S_IFREG:
    return "file";
  case S_IFDIR:
    return "dir";
  case S_IFLNK:
    return "link";
  case S_IFCHR:
    return "chr";
  case S_IFBLK:
    return "blk";
  case S_IFIFO:
    return "fifo";
  case S_IFSOCK:
    return "sock";
  default:
    return "unknown";
  }
}
