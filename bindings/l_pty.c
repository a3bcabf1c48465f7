/* l_pty.c - area `pty` of ctr.core: pseudo-terminals (openpty, ptsname),
 * raw mode with save/restore, window size, controlling terminal. */
#include "lctr.h"

#include <errno.h>
#include <string.h>

#include "pty.h"

/***
 * core.openpty() -> master, slave, name | nil, err, errno
 * A new pty pair as fd objects (kind "pty", close-on-exec) and the slave's
 * path ("/dev/pts/N").
 */
static int l_openpty(lua_State *L) {
  int m, s;
  char name[128];
  ctr_error_t err;
  if (ctr_openpty(&m, &s, name, sizeof name, &err) < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, m, LCTR_FD_PTY);
  lctr_pushfd(L, s, LCTR_FD_PTY);
  lua_pushstring(L, name);
  return 3;
}

/***
 * core.ptsname(master) -> name | nil, err, errno
 * The slave path of a pty master.
 */
static int l_ptsname(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  char name[128];
  ctr_error_t err;
  if (ctr_ptsname(fd, name, sizeof name, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, name);
  return 1;
}

/***
 * core.make_raw(fd) -> saved | nil, err, errno
 * Put the terminal fd in raw mode; saved (an opaque string holding the
 * previous termios) goes to core.tcrestore(fd, saved).
 */
static int l_make_raw(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  struct termios saved;
  ctr_error_t err;
  if (ctr_make_raw(fd, &saved, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, (const char *)&saved, sizeof saved);
  return 1;
}

/***
 * core.tcgetattr(fd) -> saved | nil, err, errno
 * The terminal settings of fd as an opaque string (for core.tcrestore).
 */
static int l_tcgetattr(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  struct termios t;
  ctr_error_t err;
  if (ctr_tcgetattr(fd, &t, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, (const char *)&t, sizeof t);
  return 1;
}

/***
 * core.tcrestore(fd, saved) -> true | nil, err, errno
 * Restore terminal settings saved by core.make_raw or core.tcgetattr.
 */
static int l_tcrestore(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  luaL_argcheck(L, len == sizeof(struct termios), 2, "not a saved terminal state");
  struct termios t;
  memcpy(&t, s, sizeof t);
  ctr_error_t err;
  if (ctr_tcsetattr(fd, &t, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.is_raw(fd) -> boolean | nil, err, errno
 * Whether the terminal has canonical mode and echo off (as make_raw leaves it).
 */
static int l_is_raw(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  struct termios t;
  ctr_error_t err;
  if (ctr_tcgetattr(fd, &t, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, !(t.c_lflag & (ICANON | ECHO)));
  return 1;
}

/***
 * core.get_winsize(fd) -> rows, cols | nil, err, errno
 * The terminal window size (TIOCGWINSZ).
 */
static int l_get_winsize(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  unsigned short r, c;
  ctr_error_t err;
  if (ctr_get_winsize(fd, &r, &c, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, r);
  lua_pushinteger(L, c);
  return 2;
}

/***
 * core.set_winsize(fd, rows, cols) -> true | nil, err, errno
 * Set the terminal window size (TIOCSWINSZ; the foreground group gets SIGWINCH).
 */
static int l_set_winsize(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  lua_Integer r = luaL_checkinteger(L, 2);
  lua_Integer c = luaL_checkinteger(L, 3);
  luaL_argcheck(L, r >= 0 && r <= 0xffff, 2, "rows out of range");
  luaL_argcheck(L, c >= 0 && c <= 0xffff, 3, "cols out of range");
  ctr_error_t err;
  if (ctr_set_winsize(fd, (unsigned short)r, (unsigned short)c, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.make_controlling_tty(fd [, setsid=true]) -> true | nil, err, errno
 * setsid() (unless setsid is false) then TIOCSCTTY: fd becomes the calling
 * process's controlling terminal. For a forked child before execve.
 */
static int l_make_controlling_tty(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  int ns = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  ctr_error_t err;
  if (ctr_set_ctty(fd, ns, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"openpty", l_openpty},
                                 {"ptsname", l_ptsname},
                                 {"make_raw", l_make_raw},
                                 {"tcgetattr", l_tcgetattr},
                                 {"tcrestore", l_tcrestore},
                                 {"is_raw", l_is_raw},
                                 {"get_winsize", l_get_winsize},
                                 {"set_winsize", l_set_winsize},
                                 {"make_controlling_tty", l_make_controlling_tty},
                                 {NULL, NULL}};

LCTR_AREA_DECL(pty) {
  luaL_setfuncs(L, funcs, 0);
}
