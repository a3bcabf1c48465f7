/* l_sig.c - area `sig` of ctr.core: signal names and numbers, the signal
 * mask, signalfd, and ignore/default dispositions. Signals are given as a
 * name ("TERM", "SIGTERM", "RTMIN+1") or a number. */
#include "lctr.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>

#include "sig.h"

int lctr_checksig(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, idx);
    luaL_argcheck(L, n >= 0 && n <= SIGRTMAX, idx, "signal number out of range");
    return (int)n;
  }
  const char *s = luaL_checkstring(L, idx);
  ctr_error_t err;
  int sig = ctr_signum(s, &err);
  if (sig < 0)
    luaL_argerror(L, idx, err.msg);
  return sig;
}

/* A signal set from a name, number, "TERM,INT" string or list. */
static void check_sigset(lua_State *L, int idx, sigset_t *set) {
  sigemptyset(set);
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      sigaddset(set, lctr_checksig(L, lua_gettop(L)));
      lua_pop(L, 1);
    }
    return;
  }
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tostring(L, idx);
    while (*s) {
      size_t len = strcspn(s, ", ");
      if (len) {
        lua_pushlstring(L, s, len);
        sigaddset(set, lctr_checksig(L, lua_gettop(L)));
        lua_pop(L, 1);
      }
      s += len;
      s += strspn(s, ", ");
    }
    return;
  }
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_typeerror(L, idx, "signals (name, number, \"A,B\" or list)");
  sigaddset(set, lctr_checksig(L, idx));
}

static void push_signame(lua_State *L, int sig) {
  char buf[32];
  if (ctr_signame(sig, buf, sizeof buf, NULL))
    lua_pushstring(L, buf);
  else
    lua_pushinteger(L, sig);
}

static void push_sigset(lua_State *L, const sigset_t *set) {
  lua_newtable(L);
  int n = 0;
  for (int s = 1; s <= SIGRTMAX; s++)
    if (sigismember(set, s) == 1) {
      push_signame(L, s);
      lua_rawseti(L, -2, ++n);
    }
}

/***
 * core.signum(sig) -> number | nil, err, errno
 * Signal number for a name ("TERM", "SIGTERM", "term", "RTMIN+2") or a number.
 */
static int l_signum(lua_State *L) {
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_pushinteger(L, luaL_checkinteger(L, 1));
    return 1;
  }
  const char *s = luaL_checkstring(L, 1);
  ctr_error_t err;
  int sig = ctr_signum(s, &err);
  if (sig < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, sig);
  return 1;
}

/***
 * core.signame(n) -> name | nil, err, errno
 * Signal name without the SIG prefix: signame(15) == "TERM".
 */
static int l_signame(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  char buf[32];
  ctr_error_t err;
  if (n < 0 || n > 1024)
    return lctr_pushfail(L, EINVAL, "signal number out of range");
  if (!ctr_signame((int)n, buf, sizeof buf, &err))
    return lctr_pusherr(L, &err);
  lua_pushstring(L, buf);
  return 1;
}

static const lctr_flag_t mask_hows[] = {
    {"block", SIG_BLOCK}, {"unblock", SIG_UNBLOCK}, {"setmask", SIG_SETMASK}, {NULL, 0}};

/***
 * core.sigmask(how, sigs) -> old | nil, err, errno
 * sigprocmask(2). how: "block", "unblock" or "setmask"; sigs: a name, number,
 * "TERM,INT" or a list ({} with "setmask" unblocks all). Returns the previous
 * mask as a list of names. core.sigmask("block", {}) just reads the mask.
 */
static int l_sigmask(lua_State *L) {
  const char *how_s = luaL_checkstring(L, 1);
  int how = -1;
  for (const lctr_flag_t *f = mask_hows; f->name; f++)
    if (strcmp(f->name, how_s) == 0)
      how = (int)f->value;
  luaL_argcheck(L, how >= 0, 1, "expected \"block\", \"unblock\" or \"setmask\"");
  sigset_t set, old;
  check_sigset(L, 2, &set);
  ctr_error_t err;
  if (ctr_sigmask(how, &set, &old, &err) < 0)
    return lctr_pusherr(L, &err);
  push_sigset(L, &old);
  return 1;
}

static const lctr_flag_t sfd_flags[] = {
    {"cloexec", SFD_CLOEXEC}, {"nonblock", SFD_NONBLOCK}, {NULL, 0}};

/***
 * core.signalfd(sigs [, flags="cloexec"]) -> fd | nil, err, errno
 * signalfd(2) for sigs (block them first with core.sigmask("block", sigs)).
 * flags: "cloexec,nonblock".
 */
static int l_signalfd(lua_State *L) {
  sigset_t set;
  check_sigset(L, 1, &set);
  int flags = (int)lctr_optflags(L, 2, sfd_flags, SFD_CLOEXEC);
  ctr_error_t err;
  int fd = ctr_signalfd(&set, flags, &err);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fd, LCTR_FD_FILE);
  return 1;
}

/***
 * core.read_signal(fd) -> name, signo, info | nil, err, errno
 * Read one signal from a signalfd. info = {pid=, uid=, code=, status=}
 * (status: exit status or signal of a SIGCHLD child). A non-blocking
 * signalfd with nothing pending returns nil, err, core.errno.EAGAIN.
 */
static int l_read_signal(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  ctr_siginfo_t si;
  ctr_error_t err;
  if (ctr_read_signal(fd, &si, &err) < 0)
    return lctr_pusherr(L, &err);
  push_signame(L, si.signo);
  lua_pushinteger(L, si.signo);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, si.pid);
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, si.uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, si.code);
  lua_setfield(L, -2, "code");
  lua_pushinteger(L, si.status);
  lua_setfield(L, -2, "status");
  return 3;
}

/***
 * core.signal(sig, action) -> true | nil, err, errno
 * Set the disposition of sig: action "ignore" or "default".
 */
static int l_signal(lua_State *L) {
  int sig = lctr_checksig(L, 1);
  static const char *const acts[] = {"default", "ignore", NULL};
  int ign = luaL_checkoption(L, 2, NULL, acts);
  ctr_error_t err;
  if (ctr_signal_disposition(sig, ign, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"signum", l_signum},
                                 {"signame", l_signame},
                                 {"sigmask", l_sigmask},
                                 {"signalfd", l_signalfd},
                                 {"read_signal", l_read_signal},
                                 {"signal", l_signal},
                                 {NULL, NULL}};

LCTR_AREA_DECL(sig) {
  luaL_setfuncs(L, funcs, 0);
  /* core.signals: {HUP=1, INT=2, ..., TERM=15, ...} */
  lua_newtable(L);
  const char *name;
  int sig;
  for (int i = 0; (name = ctr_signal_name_at(i, &sig)) != NULL; i++) {
    lua_pushinteger(L, sig);
    lua_setfield(L, -2, name);
  }
  lua_pushinteger(L, SIGRTMIN);
  lua_setfield(L, -2, "RTMIN");
  lua_pushinteger(L, SIGRTMAX);
  lua_setfield(L, -2, "RTMAX");
  lua_setfield(L, -2, "signals");
}
