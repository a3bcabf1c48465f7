/* l_cgroup.c - ctr.core cgroup primitives (core/cgroup.c).
 *
 * The layout is a "ctr.cgroup_layout" userdata from core.cgroup_layout(); every
 * other primitive takes it first, so the C side keeps no state (ctr.cgroup
 * caches it per process). Paths are relative: "luac-ctr/<id>". */
#include "lctr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "devices.h"

#define LAYOUT_MT "ctr.cgroup_layout"

static const ctr_cg_layout_t *check_layout(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, LAYOUT_MT);
}

static int layout_tostring(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  lua_pushfstring(L, "ctr.cgroup_layout(%s, %d hierarchies)", ctr_cg_kind_name(l->kind), l->n);
  return 1;
}

/***
 * core.cgroup_layout() -> layout | nil, err, errno
 * Detect the mounted cgroup hierarchies (v1, v2 or hybrid) from statfs on
 * /sys/fs/cgroup{,/unified} and /proc/self/mountinfo. The result is passed to
 * the other cgroup_* primitives.
 */
static int l_cgroup_layout(lua_State *L) {
  ctr_cg_layout_t *l = lua_newuserdatauv(L, sizeof *l, 0);
  ctr_error_t err;
  if (ctr_cg_detect(l, &err) < 0)
    return lctr_pusherr(L, &err);
  if (luaL_newmetatable(L, LAYOUT_MT)) {
    lua_pushcfunction(L, layout_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
  return 1;
}

/***
 * core.cgroup_info(layout) -> { kind = "v1"|"v2"|"hybrid", hierarchies = { {version=, mount=, controllers=}, ... } }
 * Describe a layout; controllers is comma-separated ("cpu,cpuacct", "name=systemd").
 */
static int l_cgroup_info(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, ctr_cg_kind_name(l->kind));
  lua_setfield(L, -2, "kind");
  lua_createtable(L, l->n, 0);
  for (int i = 0; i < l->n; i++) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, l->hier[i].version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, l->hier[i].mount);
    lua_setfield(L, -2, "mount");
    lua_pushstring(L, l->hier[i].controllers);
    lua_setfield(L, -2, "controllers");
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "hierarchies");
  return 1;
}

/* The limits table at index t (nil: none). */
static void read_limits(lua_State *L, int t, ctr_cg_limits_t *lim) {
  *lim = (ctr_cg_limits_t){0};
  if (lua_isnoneornil(L, t))
    return;
  luaL_checktype(L, t, LUA_TTABLE);
  lim->memory = lctr_optfield_integer(L, t, "memory", 0);
  lim->memory_swap = lctr_optfield_integer(L, t, "memory_swap", 0);
  lim->cpu_quota = lctr_optfield_integer(L, t, "cpu_quota", 0);
  lim->cpu_period = lctr_optfield_integer(L, t, "cpu_period", 0);
  lim->cpuset_cpus = lctr_optfield_string(L, t, "cpuset_cpus", NULL);
  lim->cpuset_mems = lctr_optfield_string(L, t, "cpuset_mems", NULL);
  lim->pids = lctr_optfield_integer(L, t, "pids", 0);
}

/***
 * core.cgroup_create(layout, path, limits) -> true | nil, err, errno
 * Create path on every hierarchy and apply limits, a table of optional
 * integers/strings: memory (bytes), memory_swap (memory+swap bytes, -1 =
 * unlimited), cpu_quota, cpu_period (microseconds), cpuset_cpus, cpuset_mems,
 * pids (-1 = unlimited). Fails with EEXIST if path exists anywhere; on
 * failure nothing created is left behind.
 */
static int l_cgroup_create(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  ctr_cg_limits_t lim;
  read_limits(L, 3, &lim);
  ctr_error_t err;
  if (ctr_cg_create(l, path, &lim, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.cgroup_update(layout, path, limits) -> true | nil, err, errno
 * Apply limits (the fields of cgroup_create's; unset ones are left as they
 * are) to the existing cgroup path.
 */
static int l_cgroup_update(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  ctr_cg_limits_t lim;
  read_limits(L, 3, &lim);
  ctr_error_t err;
  if (ctr_cg_update(l, path, &lim, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.cgroup_exists(layout, path) -> n
 * Number of hierarchies in which path exists (0: nowhere).
 */
static int l_cgroup_exists(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  lua_pushinteger(L, ctr_cg_exists(l, luaL_checkstring(L, 2)));
  return 1;
}

/***
 * core.cgroup_dirs(layout, path) -> { "/sys/fs/cgroup/memory/luac-ctr/x", ... } | nil, err, errno
 * The absolute directories of path on every hierarchy where it exists.
 */
static int l_cgroup_dirs(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  ctr_error_t err;
  if (ctr_cg_check_path(path, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_newtable(L);
  int n = 0;
  for (int i = 0; i < l->n; i++) {
    char d[CTR_CG_PATH_MAX + 256];
    if (ctr_cg_dir(l, i, path, d, sizeof d, &err) < 0)
      return lctr_pusherr(L, &err);
    if (access(d, F_OK) == 0) {
      lua_pushstring(L, d);
      lua_rawseti(L, -2, ++n);
    }
  }
  return 1;
}

/***
 * core.cgroup_add(layout, path, pid) -> true | nil, err, errno
 * Move process pid into path on every hierarchy where path exists.
 */
static int l_cgroup_add(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  lua_Integer pid = luaL_checkinteger(L, 3);
  luaL_argcheck(L, pid > 0 && pid <= 0x7fffffff, 3, "pid out of range");
  ctr_error_t err;
  if (ctr_cg_add(l, path, (pid_t)pid, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.cgroup_pids(layout, path) -> { pid, ... } | nil, err, errno
 * The processes in path (union of every hierarchy's cgroup.procs).
 */
static int l_cgroup_pids(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  pid_t *pids = NULL;
  ctr_error_t err;
  ssize_t n = ctr_cg_pids(l, path, &pids, &err);
  if (n < 0)
    return lctr_pusherr(L, &err);
  lua_createtable(L, (int)n, 0);
  for (ssize_t i = 0; i < n; i++) {
    lua_pushinteger(L, pids[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free(pids);
  return 1;
}

static void set_stat(lua_State *L, const char *name, int64_t v) {
  if (v == CTR_CG_UNKNOWN)
    return;
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, name);
}

/***
 * core.cgroup_stats(layout, path) -> { memory=, memory_max=, pids=, cpu_usec=, oom_kills= } | nil, err, errno
 * Usage figures; a field is missing (nil) when its controller is not
 * available; memory_max is -1 when unlimited.
 */
static int l_cgroup_stats(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  ctr_cg_stats_t st;
  ctr_error_t err;
  if (ctr_cg_stats(l, path, &st, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_createtable(L, 0, 5);
  set_stat(L, "memory", st.memory);
  set_stat(L, "memory_max", st.memory_max);
  set_stat(L, "pids", st.pids);
  set_stat(L, "cpu_usec", st.cpu_usec);
  set_stat(L, "oom_kills", st.oom_kills);
  return 1;
}

/***
 * core.cgroup_oom_kills(layout, path) -> n | nil | nil, err, errno
 * The OOM kills of the cgroup (cgroup_stats's oom_kills, reading only
 * that file); nil when the memory controller or the cgroup is missing.
 */
static int l_cgroup_oom_kills(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  int64_t n;
  ctr_error_t err;
  if (ctr_cg_oom_kills(l, path, &n, &err) < 0)
    return lctr_pusherr(L, &err);
  if (n == CTR_CG_UNKNOWN)
    lua_pushnil(L);
  else
    lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/***
 * core.cgroup_kill(layout, path [, timeout_ms=5000]) -> true | nil, err, errno
 * SIGKILL every process in path (v2: cgroup.kill first) and wait until it is
 * empty; ETIMEDOUT after timeout_ms.
 */
static int l_cgroup_kill(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  lua_Integer ms = luaL_optinteger(L, 3, 5000);
  luaL_argcheck(L, ms >= 0 && ms <= 3600000, 3, "timeout out of range");
  ctr_error_t err;
  if (ctr_cg_kill(l, path, (int)ms, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.cgroup_remove(layout, path) -> true | nil, err, errno
 * rmdir path on every hierarchy; missing directories are fine; EBUSY when
 * processes are still inside.
 */
static int l_cgroup_remove(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  ctr_error_t err;
  if (ctr_cg_remove(l, path, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.cgroup_online_cpus() -> n
 * Number of online CPUs (sysconf(_SC_NPROCESSORS_ONLN)).
 */
static int l_cgroup_online_cpus(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

/* One runtime-spec device rule (the table at idx) into r; nil, err on a bad value. */
static int read_rule(lua_State *L, int idx, ctr_dev_rule_t *r, ctr_error_t *err) {
  luaL_checktype(L, idx, LUA_TTABLE);
  r->allow = lctr_optfield_boolean(L, idx, "allow", 0);
  const char *type = lctr_optfield_string(L, idx, "type", "a");
  if (strlen(type) != 1)
    return ctr_fail(err, EINVAL, "invalid device rule type \"%s\": use a, c or b", type);
  r->type = type[0];
  r->major = lctr_optfield_integer(L, idx, "major", CTR_DEV_ANY);
  r->minor = lctr_optfield_integer(L, idx, "minor", CTR_DEV_ANY);
  if (ctr_dev_parse_access(lctr_optfield_string(L, idx, "access", "rwm"), &r->access, err) < 0)
    return -1;
  return ctr_dev_check_rule(r, err);
}

/***
 * core.cgroup_devices(layout, path, rules) -> true | nil, err, errno
 * Enforce a device policy on the cgroup path before any process is in it.
 * rules: the OCI config's linux.resources.devices, a list of { allow = bool,
 * type = "a"|"c"|"b" (default "a"), major = n, minor = n (absent or -1:
 * every one), access = "rwm" (default) }, on top of "deny everything"; the
 * last rule that matches an access decides. Uses the v1 devices controller
 * when one is mounted, else a BPF device program on the cgroup v2 directory.
 * A policy that allows everything changes nothing.
 */
static int l_cgroup_devices(lua_State *L) {
  const ctr_cg_layout_t *l = check_layout(L, 1);
  const char *path = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 3);
  ctr_error_t err;
  if (n > CTR_DEV_MAX_RULES) {
    ctr_fail(&err, E2BIG, "%lld device rules: at most %d are allowed", (long long)n,
             CTR_DEV_MAX_RULES);
    return lctr_pusherr(L, &err);
  }
  ctr_dev_rule_t *rules = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *rules, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    if (read_rule(L, -1, &rules[i - 1], &err) < 0) {
      ctr_error_wrap(&err, "device rule %lld", (long long)i);
      return lctr_pusherr(L, &err);
    }
    lua_pop(L, 1);
  }
  if (ctr_cg_set_devices(l, path, rules, (size_t)n, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"cgroup_layout", l_cgroup_layout},
                                 {"cgroup_info", l_cgroup_info},
                                 {"cgroup_create", l_cgroup_create},
                                 {"cgroup_update", l_cgroup_update},
                                 {"cgroup_exists", l_cgroup_exists},
                                 {"cgroup_dirs", l_cgroup_dirs},
                                 {"cgroup_add", l_cgroup_add},
                                 {"cgroup_pids", l_cgroup_pids},
                                 {"cgroup_stats", l_cgroup_stats},
                                 {"cgroup_oom_kills", l_cgroup_oom_kills},
                                 {"cgroup_kill", l_cgroup_kill},
                                 {"cgroup_remove", l_cgroup_remove},
                                 {"cgroup_online_cpus", l_cgroup_online_cpus},
                                 {"cgroup_devices", l_cgroup_devices},
                                 {NULL, NULL}};

LCTR_AREA_DECL(cgroup) {
  luaL_setfuncs(L, funcs, 0);
}
