/* l_proc.c - area `proc` of ctr.core: fork, clone into new namespaces,
 * pidfds, execve (argv and env tables, PATH search), _exit, waitpid, kill,
 * sessions and process groups, /proc/<pid>/stat facts. */
#include "lctr.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

static const lctr_flag_t clone_flags[] = {
    {"mnt", CLONE_NEWNS},    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER}, {"time", CLONE_NEWTIME}, {NULL, 0}};

static const lctr_flag_t wait_flags[] = {{"nohang", WNOHANG},
                                         {"untraced", WUNTRACED},
                                         {"continued", WCONTINUED},
                                         {"all", __WALL},
                                         {NULL, 0}};

static pid_t check_pid(lua_State *L, int idx) {
  lua_Integer p = luaL_checkinteger(L, idx);
  luaL_argcheck(L, p >= -0x7fffffff && p <= 0x7fffffff, idx, "pid out of range");
  return (pid_t)p;
}

/* In a child started with a function: run it and _exit with its integer
 * result (0 for anything else); an error goes to stderr and exits 99. */
static void run_child_fn(lua_State *L, int fn) {
  lua_pushvalue(L, fn);
  int code = 0;
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    fprintf(stderr, "ctr.core child: %s\n", m ? m : "(error object is not a string)");
    fflush(stderr);
    code = 99;
  } else if (lua_isinteger(L, -1)) {
    code = (int)(lua_tointeger(L, -1) & 0xff);
  }
  _exit(code);
}

static int push_child(lua_State *L, pid_t pid, const ctr_error_t *err, int fn) {
  if (pid < 0)
    return lctr_pusherr(L, err);
  if (pid == 0 && fn)
    run_child_fn(L, fn);
  lua_pushinteger(L, pid);
  return 1;
}

/***
 * core.fork([fn]) -> pid | nil, err, errno
 * fork(2): 0 in the child, the child's pid in the parent. A child must end
 * with core.execve or core._exit (never by returning into the caller's loop).
 * With fn, the child runs fn() and exits with its integer result (0
 * otherwise; 99 after printing an error to stderr): only the parent returns.
 */
static int l_fork(lua_State *L) {
  int fn = 0;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    fn = 1;
  }
  ctr_error_t err;
  sigset_t old;
  lctr_fork_begin(&old);
  pid_t pid = ctr_fork(&err);
  lctr_fork_end(L, pid, &old); /* a child dies of SIGINT/SIGTERM as before */
  return push_child(L, pid, &err, fn);
}

/***
 * core.clone(flags [, fn]) -> pid | nil, err, errno
 * Like fork, but the child starts in new namespaces. flags:
 * "mnt,uts,ipc,net,pid,cgroup,user,time". With "pid" the child is pid 1 of
 * its namespace (core.getpid() == 1 in the child). fn: as for core.fork.
 * Uses the raw clone syscall (no fork handlers run): for single-threaded callers.
 */
static int l_clone(lua_State *L) {
  unsigned long flags = lctr_checkflags(L, 1, clone_flags);
  int fn = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    fn = 2;
  }
  ctr_error_t err;
  sigset_t old;
  lctr_fork_begin(&old);
  pid_t pid = ctr_clone(flags, &err);
  lctr_fork_end(L, pid, &old);
  return push_child(L, pid, &err, fn);
}

/***
 * core.pidfd_open(pid) -> fd | nil, err, errno
 * A pidfd for pid (core.kill accepts it; poll it for "in" to learn of exit).
 */
static int l_pidfd_open(lua_State *L) {
  pid_t pid = check_pid(L, 1);
  ctr_error_t err;
  int fd = ctr_pidfd_open(pid, &err);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fd, LCTR_FD_PIDFD);
  return 1;
}

/***
 * core.execve(path, argv [, env]) -> nil, err, errno
 * Replace the process image. argv: list of strings (argv[1] is argv[0] of the
 * program); env: list {"K=V", ...} or map {K="V"} (default: empty). A path
 * without '/' is searched in env's PATH (or a default PATH). Only returns on
 * failure.
 */
static int l_execve(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char **argv = lctr_checkstrv(L, 2, "argv");
  char *none[] = {NULL};
  char **envp = none;
  if (!lua_isnoneornil(L, 3))
    envp = lctr_checkenv(L, 3);
  ctr_error_t err;
  ctr_execve(path, argv, envp, &err);
  return lctr_pusherr(L, &err);
}

/***
 * core._exit(code)
 * _exit(2): end the process now, without flushing Lua/stdio buffers or
 * running finalizers. Use in forked children.
 */
static int l__exit(lua_State *L) {
  lua_Integer code = luaL_optinteger(L, 1, 0);
  _exit((int)(code & 0xff));
  return 0;
}

static const char *const how_names[] = {"none", "exited", "killed", "stopped", "continued"};

/***
 * core.waitpid([pid=-1 [, flags]]) -> pid, how, code, exit_code | 0 | nil, err, errno
 * waitpid(2). flags: "nohang,untraced,continued,all". how is "exited"
 * (code = exit status), "killed" (code = signal number), "stopped" or
 * "continued". exit_code is the shell convention: code when exited,
 * 128+signal when killed. With "nohang" and no change, returns 0.
 */
static int l_waitpid(lua_State *L) {
  pid_t pid = lua_isnoneornil(L, 1) ? -1 : check_pid(L, 1);
  int options = (int)lctr_optflags(L, 2, wait_flags, 0);
  ctr_wait_t w;
  ctr_error_t err;
  int r;
  lctr_eintr(L); /* a signal that came before the call */
  while ((r = ctr_waitpid(pid, options, &w, &err)) < 0 && err.errnum == EINTR)
    lctr_eintr(L);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, w.pid);
  if (w.pid == 0)
    return 1;
  lua_pushstring(L, how_names[w.how]);
  lua_pushinteger(L, w.code);
  lua_pushinteger(L, w.how == CTR_WAIT_KILLED ? 128 + w.code : w.code);
  return 4;
}

/***
 * core.kill(pid, [sig="TERM"]) -> true | nil, err, errno
 * kill(2), or pidfd_send_signal(2) when pid is a pidfd object. sig: "TERM",
 * "SIGTERM", 15, ...; 0 checks that the process exists.
 */
static int l_kill(lua_State *L) {
  int sig = lua_isnoneornil(L, 2) ? SIGTERM : lctr_checksig(L, 2);
  ctr_error_t err;
  int r;
  if (luaL_testudata(L, 1, LCTR_FD_MT))
    r = ctr_pidfd_kill(lctr_checkfd(L, 1), sig, &err);
  else
    r = ctr_kill(check_pid(L, 1), sig, &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.getpid() -> pid
 * The calling process's pid.
 */
static int l_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

/***
 * core.getppid() -> pid
 * The parent's pid.
 */
static int l_getppid(lua_State *L) {
  lua_pushinteger(L, getppid());
  return 1;
}

/***
 * core.setsid() -> sid | nil, err, errno
 * setsid(2): start a new session (fails with EPERM for a group leader).
 */
static int l_setsid(lua_State *L) {
  ctr_error_t err;
  pid_t s = ctr_setsid(&err);
  if (s < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, s);
  return 1;
}

/***
 * core.setpgid([pid=0 [, pgid=0]]) -> true | nil, err, errno
 * setpgid(2); 0 means the calling process / a group named after pid.
 */
static int l_setpgid(lua_State *L) {
  pid_t pid = (pid_t)luaL_optinteger(L, 1, 0);
  pid_t pgid = (pid_t)luaL_optinteger(L, 2, 0);
  ctr_error_t err;
  if (ctr_setpgid(pid, pgid, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.starttime(pid) -> ticks | nil, err, errno
 * Start time of pid in clock ticks since boot (field 22 of /proc/<pid>/stat);
 * compare it to detect pid reuse.
 */
static int l_starttime(lua_State *L) {
  pid_t pid = check_pid(L, 1);
  unsigned long long t;
  ctr_error_t err;
  if (ctr_proc_starttime(pid, &t, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, (lua_Integer)t);
  return 1;
}

/***
 * core.proc_state(pid) -> letter | nil, err, errno
 * Process state from /proc/<pid>/stat: "R", "S", "D", "Z", "T", ...
 */
static int l_proc_state(lua_State *L) {
  pid_t pid = check_pid(L, 1);
  char c;
  ctr_error_t err;
  if (ctr_proc_state(pid, &c, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, &c, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"fork", l_fork},
                                 {"clone", l_clone},
                                 {"pidfd_open", l_pidfd_open},
                                 {"execve", l_execve},
                                 {"_exit", l__exit},
                                 {"waitpid", l_waitpid},
                                 {"kill", l_kill},
                                 {"getpid", l_getpid},
                                 {"getppid", l_getppid},
                                 {"setsid", l_setsid},
                                 {"setpgid", l_setpgid},
                                 {"starttime", l_starttime},
                                 {"proc_state", l_proc_state},
                                 {NULL, NULL}};

LCTR_AREA_DECL(proc) {
  luaL_setfuncs(L, funcs, 0);
}
