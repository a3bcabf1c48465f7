/* l_intr.c - area `intr` of ctr.core: SIGINT and SIGTERM as Lua errors.
 *
 * While interrupts are caught (core.interrupts(true); ctr.core does it when
 * it is loaded, except under the REPL, which handles Ctrl-C itself), the
 * handler only records the signal. It is raised as an error value
 * (ctr.errors kind "interrupted", code 128+signal: 130 for SIGINT, 143 for
 * SIGTERM) at the next safe point:
 *  - a blocking primitive of ctr.core (poll, read, sleep, waitpid, a
 *    process's wait) that the signal ended with EINTR (no SA_RESTART);
 *  - a hook that the handler sets on the main Lua thread (lua.c's way: it
 *    costs nothing until a signal comes; a permanent count hook would slow
 *    every loop down 2x), so that a busy Lua loop is interrupted too.
 * pcall, <close> variables and ctr.on_exit cleanups then run. A second signal
 * once one is pending or has been raised ends the process at once with
 * 128+signal (_exit: a Ctrl-C during a cleanup that hangs). A forked child
 * (core.fork, core.clone) starts with the default dispositions again.
 *
 * The two flags and the main thread below are the one piece of mutable
 * global state of ctr.core: a signal handler can reach nothing else (there is
 * one signal disposition per process, so one of each per process is what it
 * describes). hook_L is cleared when its Lua state is closed. */
#include "lctr.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"

static volatile sig_atomic_t pending; /* signal waiting to be raised, or 0 */
static volatile sig_atomic_t raised;  /* one was raised: the next one ends the process */
static lua_State *volatile hook_L;    /* the main thread of the state that catches */

static void hook(lua_State *L, lua_Debug *ar);

static void on_signal(int sig) {
  if (pending || raised)
    _exit(128 + sig);
  pending = sig;
  /* lua_sethook may be called from a signal handler (ldebug.c) */
  if (hook_L)
    lua_sethook(hook_L, hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* require("ctr.errors").new{kind = "interrupted", code = 128+sig, msg = ...},
 * or a plain table of the same fields when ctr.errors cannot be loaded. */
static int make_error(lua_State *L) {
  int sig = (int)lua_tointeger(L, 1);
  const char *msg = sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)";
  lua_getglobal(L, "require");
  lua_pushliteral(L, "ctr.errors");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new");
  lua_createtable(L, 0, 3);
  lua_pushliteral(L, "interrupted");
  lua_setfield(L, -2, "kind");
  lua_pushinteger(L, 128 + sig);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "msg");
  lua_call(L, 1, 1);
  return 1;
}

static int raise_interrupt(lua_State *L) {
  int sig = pending;
  pending = 0;
  raised = 1;
  lua_pushcfunction(L, make_error);
  lua_pushinteger(L, sig);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "interrupted");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, 128 + sig);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
    lua_setfield(L, -2, "msg");
  }
  return lua_error(L);
}

volatile sig_atomic_t *lctr_interrupt_flag(void) {
  return &pending;
}

/* Called before a blocking call too: a signal between the last check and
 * the call's start (a few instructions) is still only seen at its end. */
void lctr_eintr(lua_State *L) {
  if (pending)
    raise_interrupt(L);
}

/* True inside a finalizer: an error there only becomes a warning (the
 * interrupt would be lost), so the hook waits until the __gc has returned. */
static int in_finalizer(lua_State *L) {
  lua_Debug d;
  for (int level = 0; lua_getstack(L, level, &d); level++)
    if (lua_getinfo(L, "n", &d) && d.namewhat && strcmp(d.namewhat, "metamethod") == 0 && d.name &&
        strcmp(d.name, "__gc") == 0)
      return 1;
  return 0;
}

static void hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (pending && in_finalizer(L))
    return; /* the hook stays: asked again at the next instruction */
  lua_sethook(L, NULL, 0, 0);
  if (pending)
    raise_interrupt(L);
}

static lua_State *main_thread(lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State *m = lua_tothread(L, -1);
  lua_pop(L, 1);
  return m ? m : L;
}

static int set_handlers(void (*h)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
    return -1;
  return 0;
}

static int catching(void) {
  struct sigaction sa;
  return sigaction(SIGINT, NULL, &sa) == 0 && sa.sa_handler == on_signal;
}

static int interrupts_off(lua_State *L) {
  lua_State *m = main_thread(L);
  if (catching() && set_handlers(SIG_DFL) < 0)
    return -1;
  hook_L = NULL;
  if (lua_gethook(m) == hook)
    lua_sethook(m, NULL, 0, 0);
  pending = raised = 0;
  return 0;
}

/* At lua_close: the handler must not touch the closed state. */
static int forget_state(lua_State *L) {
  (void)L;
  hook_L = NULL;
  return 0;
}

static int interrupts_on(lua_State *L) {
  pending = raised = 0;
  if (luaL_newmetatable(L, "ctr.intr.sentinel")) {
    lua_pushcfunction(L, forget_state);
    lua_setfield(L, -2, "__gc");
    lua_newuserdatauv(L, 0, 0);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "ctr.intr.sentinel.value");
  }
  lua_pop(L, 1);
  hook_L = main_thread(L);
  if (set_handlers(on_signal) < 0)
    return -1;
  return 0;
}

void lctr_interrupts_child(lua_State *L) {
  if (catching())
    interrupts_off(L);
}

void lctr_fork_begin(sigset_t *old) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  /* cannot fail with these arguments (EINVAL is for a bad how) */
  sigprocmask(SIG_BLOCK, &block, old);
}

void lctr_fork_end(lua_State *L, pid_t pid, const sigset_t *old) {
  if (pid == 0)
    lctr_interrupts_child(L);
  /* in the child, a signal that came since the fork is delivered now, with
   * the default action; in the parent, to the handler as before */
  sigprocmask(SIG_SETMASK, old, NULL);
}

/***
 * core.interrupts(on) -> true | nil, err, errno
 * on = true: catch SIGINT and SIGTERM; each becomes an error value (kind
 * "interrupted", code 130 or 143) raised at the next safe point: a blocking
 * call of ctr.core (poll, read, sleep, waitpid, proc:wait) or, in running Lua
 * code of the main thread, the next instruction (a hook the handler sets). A second signal once one is pending or was
 * raised ends the process at once (exit 128+signal). Calling it again re-arms
 * (after a caught interrupt, the next one is an error again). on = false:
 * default dispositions and no hook. ctr.core calls core.interrupts(true) when
 * it is loaded (not under the REPL, which handles Ctrl-C itself).
 */
static int l_interrupts(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  int r = lua_toboolean(L, 1) ? interrupts_on(L) : interrupts_off(L);
  if (r < 0)
    return lctr_pusherrno(L, "sigaction SIGINT/SIGTERM");
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.check_interrupt() -> true
 * A safe point: raises the pending interrupt (see core.interrupts), if any.
 */
static int l_check_interrupt(lua_State *L) {
  lctr_eintr(L);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.signals_reset() -> true | nil, err, errno
 * Every signal back to its default disposition and an empty signal mask
 * (interrupts are no longer caught): for a process about to supervise or
 * exec something that must see signals as a fresh process does.
 */
static int l_signals_reset(lua_State *L) {
  lctr_interrupts_child(L);
  ctr_error_t err;
  if (ctr_signals_reset(&err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"interrupts", l_interrupts},
                                 {"check_interrupt", l_check_interrupt},
                                 {"signals_reset", l_signals_reset},
                                 {NULL, NULL}};

LCTR_AREA_DECL(intr) {
  luaL_setfuncs(L, funcs, 0);
  /* not under the REPL (its Ctrl-C discards a line or stops the code typed) */
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "ctr.readline");
  int repl = !lua_isnil(L, -1);
  lua_pop(L, 2);
  if (!repl)
    interrupts_on(L);
}
