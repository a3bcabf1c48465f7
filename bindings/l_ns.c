/* l_ns.c - area `ns` of ctr.core: unshare, setns (by fd, or by pid plus
 * namespace names), namespace fds and ids. Namespace names: "user,mnt,uts,
 * ipc,net,pid,cgroup,time". */
#include "lctr.h"

#include <errno.h>
#include <sched.h>

#include "ns.h"

static const lctr_flag_t ns_flags[] = {
    {"mnt", CLONE_NEWNS},    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER}, {"time", CLONE_NEWTIME}, {NULL, 0}};

/* unshare also takes the non-namespace sharing flags */
static const lctr_flag_t unshare_flags[] = {
    {"mnt", CLONE_NEWNS},    {"uts", CLONE_NEWUTS},      {"ipc", CLONE_NEWIPC},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},      {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER}, {"time", CLONE_NEWTIME},    {"files", CLONE_FILES},
    {"fs", CLONE_FS},        {"sysvsem", CLONE_SYSVSEM}, {NULL, 0}};

static const char *check_nsname(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  if (ctr_ns_flag(name) == 0)
    luaL_argerror(
        L, idx,
        lua_pushfstring(L, "unknown namespace '%s' (known: user mnt uts ipc net pid cgroup time)",
                        name));
  return name;
}

static pid_t opt_pid(lua_State *L, int idx) {
  lua_Integer p = luaL_optinteger(L, idx, 0);
  luaL_argcheck(L, p >= 0 && p <= 0x7fffffff, idx, "pid out of range");
  return (pid_t)p;
}

/***
 * core.unshare(flags) -> true | nil, err, errno
 * Move the calling process into new namespaces. flags: "mnt,uts,ipc,net,pid,
 * cgroup,user,time" (plus "files,fs,sysvsem"). With "pid", only children
 * created afterwards are in the new pid namespace.
 */
static int l_unshare(lua_State *L) {
  unsigned long flags = lctr_checkflags(L, 1, unshare_flags);
  ctr_error_t err;
  if (ctr_unshare(flags, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.setns(fd [, nstype]) -> true | nil, err, errno
 * setns(2) into the namespace fd (from core.open_ns or a pidfd). nstype: a
 * namespace name to check the fd's type (default: any); for a pidfd, the
 * set of namespaces to join ("net,uts").
 */
static int l_setns(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  unsigned long nstype = lctr_optflags(L, 2, ns_flags, 0);
  ctr_error_t err;
  if (ctr_setns(fd, nstype, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.setns_pid(pid, names) -> true | nil, err, errno
 * Join the namespaces names ("mnt,net,...") of pid: opens them all, then
 * joins user first and mnt last, skipping those already shared.
 */
static int l_setns_pid(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  luaL_argcheck(L, pid > 0 && pid <= 0x7fffffff, 1, "pid out of range");
  unsigned long flags = lctr_checkflags(L, 2, ns_flags);
  ctr_error_t err;
  if (ctr_setns_pid((pid_t)pid, flags, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.open_ns(pid, name) -> fd | nil, err, errno
 * Open /proc/<pid>/ns/<name> (pid 0: self) as an fd object for core.setns.
 */
static int l_open_ns(lua_State *L) {
  pid_t pid = opt_pid(L, 1);
  const char *name = check_nsname(L, 2);
  ctr_error_t err;
  int fd = ctr_ns_open(pid, name, &err);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fd, LCTR_FD_NS);
  return 1;
}

/***
 * core.ns_id(pid, name) -> id | nil, err, errno
 * The namespace identity, e.g. "mnt:[4026531840]" (pid 0: self); two
 * processes share a namespace when their ids are equal.
 */
static int l_ns_id(lua_State *L) {
  pid_t pid = opt_pid(L, 1);
  const char *name = check_nsname(L, 2);
  char buf[128];
  ctr_error_t err;
  if (ctr_ns_id(pid, name, buf, sizeof buf, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, buf);
  return 1;
}

static const luaL_Reg funcs[] = {{"unshare", l_unshare},     {"setns", l_setns},
                                 {"setns_pid", l_setns_pid}, {"open_ns", l_open_ns},
                                 {"ns_id", l_ns_id},         {NULL, NULL}};

LCTR_AREA_DECL(ns) {
  luaL_setfuncs(L, funcs, 0);
}
