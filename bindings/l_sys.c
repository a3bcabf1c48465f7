/* l_sys.c - area `sys` of ctr.core: getrandom and random ids, host and
 * domain names, uids/gids and groups, uname, sleep, clocks, and process
 * prctls (parent-death signal, child subreaper, process name). */
#include "lctr.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"
#include "sys.h"

#define RANDOM_MAX (1024 * 1024)

/***
 * core.getrandom(n) -> bytes | nil, err, errno
 * n random bytes from getrandom(2).
 */
static int l_getrandom(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= RANDOM_MAX, 1, "size out of range");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)n);
  ctr_error_t err;
  if (ctr_getrandom(p, (size_t)n, &err) < 0)
    return lctr_pusherr(L, &err);
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

/***
 * core.random_hex(nbytes) -> hex | nil, err, errno
 * nbytes random bytes as 2*nbytes lowercase hex digits (container ids).
 */
static int l_random_hex(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= RANDOM_MAX / 2, 1, "size out of range");
  unsigned char raw[256];
  static const char hex[] = "0123456789abcdef";
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  ctr_error_t err;
  for (lua_Integer done = 0; done < n;) {
    size_t k = (size_t)(n - done) < sizeof raw ? (size_t)(n - done) : sizeof raw;
    if (ctr_getrandom(raw, k, &err) < 0)
      return lctr_pusherr(L, &err);
    /* cppcheck-suppress knownConditionTrueFalse ; k is 1..256 (cppcheck 2.10 miscounts) */
    for (size_t i = 0; i < k; i++) {
      luaL_addchar(&b, hex[raw[i] >> 4]);
      luaL_addchar(&b, hex[raw[i] & 15]);
    }
    done += (lua_Integer)k;
  }
  luaL_pushresult(&b);
  return 1;
}

static int ok(lua_State *L, int r, const ctr_error_t *err) {
  if (r < 0)
    return lctr_pusherr(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.sethostname(name) -> true | nil, err, errno
 * sethostname(2) (in the caller's uts namespace).
 */
static int l_sethostname(lua_State *L) {
  const char *n = luaL_checkstring(L, 1);
  ctr_error_t err;
  return ok(L, ctr_sethostname(n, &err), &err);
}

/***
 * core.gethostname() -> name | nil, err, errno
 * gethostname(2).
 */
static int l_gethostname(lua_State *L) {
  char buf[HOST_NAME_MAX + 1];
  ctr_error_t err;
  if (ctr_gethostname(buf, sizeof buf, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, buf);
  return 1;
}

/***
 * core.setdomainname(name) -> true | nil, err, errno
 * setdomainname(2) (NIS domain name of the uts namespace).
 */
static int l_setdomainname(lua_State *L) {
  const char *n = luaL_checkstring(L, 1);
  ctr_error_t err;
  return ok(L, ctr_setdomainname(n, &err), &err);
}

/***
 * core.getuid() -> uid
 * Real user id.
 */
static int l_getuid(lua_State *L) {
  lua_pushinteger(L, getuid());
  return 1;
}

/***
 * core.geteuid() -> uid
 * Effective user id.
 */
static int l_geteuid(lua_State *L) {
  lua_pushinteger(L, geteuid());
  return 1;
}

/***
 * core.getgid() -> gid
 * Real group id.
 */
static int l_getgid(lua_State *L) {
  lua_pushinteger(L, getgid());
  return 1;
}

/***
 * core.getegid() -> gid
 * Effective group id.
 */
static int l_getegid(lua_State *L) {
  lua_pushinteger(L, getegid());
  return 1;
}

static lua_Integer check_id(lua_State *L, int idx) {
  lua_Integer v = luaL_checkinteger(L, idx);
  luaL_argcheck(L, v >= 0 && v < 0xffffffffLL, idx, "id out of range");
  return v;
}

/***
 * core.setuid(uid) -> true | nil, err, errno
 * setuid(2).
 */
static int l_setuid(lua_State *L) {
  uid_t u = (uid_t)check_id(L, 1);
  ctr_error_t err;
  return ok(L, ctr_setuid(u, &err), &err);
}

/***
 * core.setgid(gid) -> true | nil, err, errno
 * setgid(2).
 */
static int l_setgid(lua_State *L) {
  gid_t g = (gid_t)check_id(L, 1);
  ctr_error_t err;
  return ok(L, ctr_setgid(g, &err), &err);
}

/***
 * core.setgroups(gids) -> true | nil, err, errno
 * setgroups(2) with a list of gids ({} clears the supplementary groups).
 */
static int l_setgroups(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 65536, 1, "too many groups");
  gid_t *g = lua_newuserdatauv(L, sizeof *g * (size_t)(n ? n : 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    g[i - 1] = (gid_t)check_id(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  ctr_error_t err;
  return ok(L, ctr_setgroups((size_t)n, g, &err), &err);
}

/***
 * core.getgroups() -> gids | nil, err, errno
 * The supplementary group ids.
 */
static int l_getgroups(lua_State *L) {
  gid_t g[1024];
  ctr_error_t err;
  int n = ctr_getgroups(g, 1024, &err);
  if (n < 0)
    return lctr_pusherr(L, &err);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushinteger(L, g[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/***
 * core.uname() -> {sysname=, nodename=, release=, version=, machine=} | nil, err, errno
 * uname(2).
 */
static int l_uname(lua_State *L) {
  struct utsname u;
  ctr_error_t err;
  if (ctr_uname(&u, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, u.sysname);
  lua_setfield(L, -2, "sysname");
  lua_pushstring(L, u.nodename);
  lua_setfield(L, -2, "nodename");
  lua_pushstring(L, u.release);
  lua_setfield(L, -2, "release");
  lua_pushstring(L, u.version);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, u.machine);
  lua_setfield(L, -2, "machine");
  return 1;
}

/***
 * core.sleep(seconds) -> true | nil, err, errno
 * Sleep for a (fractional) number of seconds: core.sleep(0.1). A SIGINT or
 * SIGTERM raises the interrupt (see core.interrupts); other signals do not
 * shorten the sleep.
 */
static int l_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  ctr_error_t err;
  int r;
  lctr_eintr(L); /* a signal that came before the call */
  while ((r = ctr_sleep(s, &s, &err)) < 0 && err.errnum == EINTR)
    lctr_eintr(L);
  return ok(L, r, &err);
}

static clockid_t check_clock(lua_State *L, int idx) {
  static const char *const names[] = {"realtime", "monotonic", "boottime", NULL};
  static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
  return ids[luaL_checkoption(L, idx, "realtime", names)];
}

/***
 * core.time_ns([clock="realtime"]) -> ns | nil, err, errno
 * clock_gettime as integer nanoseconds. clock: "realtime", "monotonic", "boottime".
 */
static int l_time_ns(lua_State *L) {
  clockid_t c = check_clock(L, 1);
  int64_t ns;
  ctr_error_t err;
  if (ctr_time_ns(c, &ns, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, (lua_Integer)ns);
  return 1;
}

/***
 * core.clock([clock="monotonic"]) -> seconds | nil, err, errno
 * clock_gettime as float seconds (for measuring durations; "realtime" for
 * timestamps).
 */
static int l_clock(lua_State *L) {
  static const char *const names[] = {"realtime", "monotonic", "boottime", NULL};
  static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
  clockid_t c = ids[luaL_checkoption(L, 1, "monotonic", names)];
  int64_t ns;
  ctr_error_t err;
  if (ctr_time_ns(c, &ns, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushnumber(L, (lua_Number)ns / 1e9);
  return 1;
}

/***
 * core.set_pdeathsig(sig) -> true | nil, err, errno
 * Signal to receive when the parent thread dies (PR_SET_PDEATHSIG); 0 clears.
 */
static int l_set_pdeathsig(lua_State *L) {
  int sig;
  if (lua_type(L, 1) == LUA_TSTRING) {
    ctr_error_t e;
    sig = ctr_signum(lua_tostring(L, 1), &e);
    if (sig < 0)
      return luaL_argerror(L, 1, e.msg);
  } else {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= SIGRTMAX, 1, "signal number out of range");
    sig = (int)n;
  }
  ctr_error_t err;
  return ok(L, ctr_set_pdeathsig(sig, &err), &err);
}

/***
 * core.set_child_subreaper(on) -> true | nil, err, errno
 * PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented to us.
 */
static int l_set_child_subreaper(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  ctr_error_t err;
  return ok(L, ctr_set_child_subreaper(lua_toboolean(L, 1), &err), &err);
}

/***
 * core.set_name(name) -> true | nil, err, errno
 * The thread name (PR_SET_NAME, /proc/<pid>/comm; truncated to 15 bytes).
 */
static int l_set_name(lua_State *L) {
  const char *n = luaL_checkstring(L, 1);
  ctr_error_t err;
  return ok(L, ctr_set_name(n, &err), &err);
}

/***
 * core.get_name() -> name | nil, err, errno
 * The thread name (PR_GET_NAME).
 */
static int l_get_name(lua_State *L) {
  char buf[17];
  ctr_error_t err;
  if (ctr_get_name(buf, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, buf);
  return 1;
}

static const luaL_Reg funcs[] = {{"getrandom", l_getrandom},
                                 {"random_hex", l_random_hex},
                                 {"sethostname", l_sethostname},
                                 {"gethostname", l_gethostname},
                                 {"setdomainname", l_setdomainname},
                                 {"getuid", l_getuid},
                                 {"geteuid", l_geteuid},
                                 {"getgid", l_getgid},
                                 {"getegid", l_getegid},
                                 {"setuid", l_setuid},
                                 {"setgid", l_setgid},
                                 {"setgroups", l_setgroups},
                                 {"getgroups", l_getgroups},
                                 {"uname", l_uname},
                                 {"sleep", l_sleep},
                                 {"time_ns", l_time_ns},
                                 {"clock", l_clock},
                                 {"set_pdeathsig", l_set_pdeathsig},
                                 {"set_child_subreaper", l_set_child_subreaper},
                                 {"set_name", l_set_name},
                                 {"get_name", l_get_name},
                                 {NULL, NULL}};

/* errno values the primitives of this toolkit can return beyond the ones
 * lctr_core.c lists; added to core.errno when missing. */
static const lctr_flag_t more_errnos[] = {
#define E(x)                                                                                       \
  { #x, x }
    E(ENOTSOCK), E(EBADMSG), E(ENOTCONN), E(ECONNRESET),   E(EINPROGRESS),     E(EALREADY),
    E(ENOTBLK),  E(EDQUOT),  E(ESTALE),   E(ENOMEDIUM),    E(EPROTO),          E(ENOMSG),
    E(EIDRM),    E(EUSERS),  E(ENOKEY),   E(EKEYREJECTED), E(ENOTRECOVERABLE), E(EOWNERDEAD),
#undef E
    {NULL, 0}};

static void add_errnos(lua_State *L) {
  if (lua_getfield(L, -1, "errno") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  for (const lctr_flag_t *f = more_errnos; f->name; f++) {
    if (lua_getfield(L, -1, f->name) == LUA_TNIL) {
      lua_pushinteger(L, (lua_Integer)f->value);
      lua_setfield(L, -3, f->name);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

LCTR_AREA_DECL(sys) {
  luaL_setfuncs(L, funcs, 0);
  add_errnos(L);
}
