/* l_container.c - ctr.core: the container runtime primitives.
 *
 *   core.spawn(config, stdio)      -> proc   clone a container's init (waits)
 *   proc:start()                   -> true   let it set up and exec
 *   core.exec_in(process, target)  -> proc   run a command inside a container
 *   proc:supervise(opts)           -> exit   relay output/log, forward, reap
 *
 * `config` is an OCI runtime-spec config table (process, root, hostname,
 * mounts, linux.namespaces/maskedPaths/readonlyPaths/devices); it is turned
 * into C structures here and executed by core/spawn.c with no Lua in the
 * child. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "lctr.h"
#include "ctr_seccomp.h"
#include "spawn.h"
#include "supervise.h"

#define PROC_MT "ctr.proc"

typedef struct lproc {
  ctr_spawned_t sp;
  bool started, reaped;
} lproc_t;

/* ---- small readers over Lua tables ------------------------------------------ */

static void *arena(lua_State *L, int anchor, size_t size) {
  void *p = lua_newuserdatauv(L, size ? size : 1, 0);
  memset(p, 0, size ? size : 1);
  luaL_ref(L, anchor); /* kept alive by the anchor table for the call */
  return p;
}

static int getsub(lua_State *L, int t, const char *k) {
  int ty = lua_getfield(L, t, k);
  if (ty == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (ty != LUA_TTABLE)
    luaL_error(L, "bad config field '%s' (table expected, got %s)", k, luaL_typename(L, -1));
  return lua_gettop(L);
}

static char **strlist(lua_State *L, int anchor, int t, const char *k) {
  int top = lua_gettop(L);
  if (!getsub(L, t, k))
    return NULL;
  char **v = lctr_checkstrv(L, -1, k);
  luaL_ref(L, anchor); /* the array */
  luaL_ref(L, anchor); /* the table that pins the strings */
  lua_settop(L, top);
  return v;
}

static const lctr_flag_t ns_types[] = {{"pid", CLONE_NEWPID},
                                       {"network", CLONE_NEWNET},
                                       {"net", CLONE_NEWNET},
                                       {"mount", CLONE_NEWNS},
                                       {"mnt", CLONE_NEWNS},
                                       {"ipc", CLONE_NEWIPC},
                                       {"uts", CLONE_NEWUTS},
                                       {"cgroup", CLONE_NEWCGROUP},
                                       {"user", CLONE_NEWUSER},
                                       {"time", CLONE_NEWTIME},
                                       {NULL, 0}};

static unsigned long ns_flag(lua_State *L, const char *name) {
  for (const lctr_flag_t *f = ns_types; f->name; f++)
    if (strcmp(f->name, name) == 0)
      return f->value;
  return (unsigned long)luaL_error(L, "unknown namespace type '%s'", name);
}

/* ---- capabilities ------------------------------------------------------------- */

static uint64_t cap_bits(lua_State *L, int t, const char *k) {
  uint64_t bits = 0;
  int top = lua_gettop(L);
  if (!getsub(L, t, k))
    return 0;
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    const char *name = luaL_checkstring(L, -1);
    char lower[64];
    size_t j = 0;
    for (; j < sizeof lower - 1 && name[j]; j++)
      lower[j] = (char)(name[j] >= 'A' && name[j] <= 'Z' ? name[j] + 32 : name[j]);
    lower[j] = '\0';
    cap_value_t v;
    if (cap_from_name(lower, &v) < 0 || v >= 64)
      luaL_error(L, "unknown capability '%s' in %s", name, k);
    bits |= 1ULL << v;
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return bits;
}

static void read_caps(lua_State *L, int process, ctr_caps_t *caps) {
  int top = lua_gettop(L);
  if (!getsub(L, process, "capabilities"))
    return;
  int t = lua_gettop(L);
  caps->set = true;
  caps->bounding = cap_bits(L, t, "bounding");
  caps->effective = cap_bits(L, t, "effective");
  caps->permitted = cap_bits(L, t, "permitted");
  caps->inheritable = cap_bits(L, t, "inheritable");
  caps->ambient = cap_bits(L, t, "ambient");
  lua_settop(L, top);
}

/* ---- process ------------------------------------------------------------------ */

static const lctr_flag_t rlimit_names[] = {{"RLIMIT_CPU", RLIMIT_CPU},
                                           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                                           {"RLIMIT_DATA", RLIMIT_DATA},
                                           {"RLIMIT_STACK", RLIMIT_STACK},
                                           {"RLIMIT_CORE", RLIMIT_CORE},
                                           {"RLIMIT_RSS", RLIMIT_RSS},
                                           {"RLIMIT_NPROC", RLIMIT_NPROC},
                                           {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                                           {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
                                           {"RLIMIT_AS", RLIMIT_AS},
                                           {"RLIMIT_LOCKS", RLIMIT_LOCKS},
                                           {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                                           {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
                                           {"RLIMIT_NICE", RLIMIT_NICE},
                                           {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
                                           {"RLIMIT_RTTIME", RLIMIT_RTTIME},
                                           {NULL, 0}};

static void read_rlimits(lua_State *L, int anchor, int process, ctr_rlimit_t **out, size_t *n) {
  int top = lua_gettop(L);
  *out = NULL;
  *n = 0;
  if (!getsub(L, process, "rlimits"))
    return;
  int t = lua_gettop(L);
  size_t len = (size_t)luaL_len(L, t);
  ctr_rlimit_t *r = arena(L, anchor, len * sizeof *r);
  for (size_t i = 0; i < len; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    int e = lua_gettop(L);
    const char *type = lctr_optfield_string(L, e, "type", "");
    const lctr_flag_t *f = rlimit_names;
    while (f->name && strcmp(f->name, type) != 0)
      f++;
    if (!f->name)
      luaL_error(L, "unknown rlimit type '%s'", type);
    r[i].resource = (int)f->value;
    r[i].lim.rlim_cur = (rlim_t)lctr_optfield_integer(L, e, "soft", 0);
    r[i].lim.rlim_max = (rlim_t)lctr_optfield_integer(L, e, "hard", 0);
    lua_settop(L, t);
  }
  *out = r;
  *n = len;
  lua_settop(L, top);
}

/* A uid or gid: 0..2147483647 (what the kernel and every tool agree on);
 * anything else is refused, never truncated to uid_t (4294967296 would be 0). */
static lua_Integer check_id(lua_State *L, lua_Integer v, const char *what) {
  if (v < 0 || v > INT32_MAX)
    luaL_error(L, "bad config: %s %I is out of range (0..2147483647)", what, v);
  return v;
}

static gid_t *read_groups(lua_State *L, int anchor, int user, size_t *n) {
  int top = lua_gettop(L);
  *n = 0;
  if (!getsub(L, user, "additionalGids"))
    return NULL;
  size_t len = (size_t)luaL_len(L, -1);
  gid_t *g = arena(L, anchor, len * sizeof *g);
  for (size_t i = 0; i < len; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    g[i] = (gid_t)check_id(L, luaL_checkinteger(L, -1), "process.user.additionalGids entry");
    lua_pop(L, 1);
  }
  *n = len;
  lua_settop(L, top);
  return g;
}

static void read_process(lua_State *L, int anchor, int process, ctr_process_t *p) {
  p->argv = strlist(L, anchor, process, "args");
  if (p->argv == NULL || p->argv[0] == NULL)
    luaL_error(L, "bad config: process.args must be a non-empty list");
  if (getsub(L, process, "env")) {
    p->env = lctr_checkenv(L, -1);
    luaL_ref(L, anchor);
    luaL_ref(L, anchor);
    lua_pop(L, 1);
  } else {
    p->env = arena(L, anchor, sizeof(char *));
  }
  p->cwd = lctr_optfield_string(L, process, "cwd", "/");
  p->terminal = lctr_optfield_boolean(L, process, "terminal", 0);
  p->no_new_privs = lctr_optfield_boolean(L, process, "noNewPrivileges", 0);
  if (getsub(L, process, "user")) {
    int u = lua_gettop(L);
    p->uid = (uid_t)check_id(L, lctr_optfield_integer(L, u, "uid", 0), "process.user.uid");
    p->gid = (gid_t)check_id(L, lctr_optfield_integer(L, u, "gid", 0), "process.user.gid");
    p->groups = read_groups(L, anchor, u, &p->ngroups);
    lua_Integer mask = lctr_optfield_integer(L, u, "umask", -1);
    if (mask != -1 && (mask < 0 || mask > 0777))
      luaL_error(L, "bad config: process.user.umask must be from 0 to 0777");
    p->umask_set = mask != -1;
    p->umask = (mode_t)(mask & 0777);
    lua_pop(L, 1);
  }
  read_caps(L, process, &p->caps);
}

/* ---- seccomp: linux.seccomp, compiled here (parent side) ------------------- */

static void read_seccomp_rule(lua_State *L, int anchor, int r, ctr_seccomp_rule_t *out) {
  luaL_checktype(L, r, LUA_TTABLE);
  out->names = strlist(L, anchor, r, "names");
  out->action = lctr_optfield_string(L, r, "action", NULL);
  out->errno_ret = (int)lctr_optfield_integer(L, r, "errnoRet", -1);
  if (!getsub(L, r, "args"))
    return;
  int t = lua_gettop(L);
  out->nargs = (size_t)luaL_len(L, t);
  out->args = arena(L, anchor, out->nargs * sizeof *out->args);
  for (size_t i = 0; i < out->nargs; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    int a = lua_gettop(L);
    luaL_checktype(L, a, LUA_TTABLE);
    out->args[i].index = (unsigned)lctr_optfield_integer(L, a, "index", 0);
    out->args[i].value = (uint64_t)lctr_optfield_integer(L, a, "value", 0);
    out->args[i].value_two = (uint64_t)lctr_optfield_integer(L, a, "valueTwo", 0);
    out->args[i].op = lctr_optfield_string(L, a, "op", NULL);
    lua_settop(L, t);
  }
  lua_pop(L, 1);
}

static void read_seccomp_cfg(lua_State *L, int anchor, int s, ctr_seccomp_cfg_t *c) {
  luaL_checktype(L, s, LUA_TTABLE);
  c->default_action = lctr_optfield_string(L, s, "defaultAction", NULL);
  c->default_errno = (int)lctr_optfield_integer(L, s, "defaultErrnoRet", -1);
  c->architectures = strlist(L, anchor, s, "architectures");
  c->flags = strlist(L, anchor, s, "flags");
  if (!getsub(L, s, "syscalls"))
    return;
  int t = lua_gettop(L);
  c->nrules = (size_t)luaL_len(L, t);
  c->rules = arena(L, anchor, c->nrules * sizeof *c->rules);
  for (size_t i = 0; i < c->nrules; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    read_seccomp_rule(L, anchor, lua_gettop(L), &c->rules[i]);
    lua_settop(L, t);
  }
  lua_pop(L, 1);
}

/* A BPF program (core.seccomp_compile's string) copied into the anchor. */
static struct sock_filter *copy_bpf(lua_State *L, int anchor, const char *bpf, size_t len,
                                    unsigned short *n) {
  size_t count = len / sizeof(struct sock_filter);
  if (len % sizeof(struct sock_filter) != 0 || count == 0 || count > BPF_MAXINSNS)
    luaL_error(L, "bad seccomp_bpf: %d bytes is not a BPF program", (int)len);
  struct sock_filter *insns = arena(L, anchor, len);
  memcpy(insns, bpf, len);
  *n = (unsigned short)count;
  return insns;
}

/* The filter for the seccomp table t[k], kept by the anchor, or NULL (no
 * table: unconfined). opts.seccomp_bpf, when given, is that table's program
 * compiled before (core.seccomp_compile: a cache); otherwise it is compiled
 * here. A filter that cannot be built raises. */
static const ctr_seccomp_prog_t *read_seccomp(lua_State *L, int anchor, int t, const char *k,
                                              int opts) {
  int top = lua_gettop(L);
  if (!getsub(L, t, k))
    return NULL;
  int s = lua_gettop(L);
  ctr_seccomp_prog_t *prog = arena(L, anchor, sizeof *prog);
  ctr_error_t err;
  size_t len = 0;
  const char *bpf = lua_istable(L, opts) && lua_getfield(L, opts, "seccomp_bpf") == LUA_TSTRING
                        ? lua_tolstring(L, -1, &len)
                        : NULL;
  if (bpf) {
    prog->insns = copy_bpf(L, anchor, bpf, len, &prog->len);
    if (ctr_seccomp_flags(strlist(L, anchor, s, "flags"), &prog->flags, &err) < 0)
      luaL_error(L, "%s", err.msg);
  } else {
    ctr_seccomp_cfg_t c;
    memset(&c, 0, sizeof c);
    read_seccomp_cfg(L, anchor, s, &c);
    ctr_seccomp_prog_t compiled;
    if (ctr_seccomp_compile(&c, &compiled, &err) < 0)
      luaL_error(L, "%s", err.msg);
    size_t bytes = compiled.len * sizeof *compiled.insns;
    *prog = compiled;
    prog->insns = arena(L, anchor, bytes);
    memcpy(prog->insns, compiled.insns, bytes);
    ctr_seccomp_prog_free(&compiled);
  }
  lua_settop(L, top);
  return prog;
}

/***
 * core.seccomp_compile(seccomp) -> string | nil, err, errno
 * Compile an OCI linux.seccomp table (defaultAction, defaultErrnoRet,
 * architectures, flags, syscalls) with libseccomp into its BPF program
 * (struct sock_filter[]), e.g. to cache it and pass it to core.spawn /
 * core.exec_in as seccomp_bpf. Malformed tables raise.
 */
static int l_seccomp_compile(lua_State *L) {
  lua_settop(L, 1);
  lua_newtable(L);
  ctr_seccomp_cfg_t c;
  memset(&c, 0, sizeof c);
  read_seccomp_cfg(L, 2, 1, &c);
  ctr_seccomp_prog_t compiled;
  ctr_error_t err;
  if (ctr_seccomp_compile(&c, &compiled, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushlstring(L, (const char *)compiled.insns, compiled.len * sizeof *compiled.insns);
  ctr_seccomp_prog_free(&compiled);
  return 1;
}

/***
 * core.seccomp_load(bpf) -> true | nil, err, errno
 * Confine the calling process (and its future children) with a BPF program
 * from core.seccomp_compile, setting no_new_privs first. For a helper
 * that is about to enter a hostile tree (docker cp's): irrevocable.
 */
static int l_seccomp_load(lua_State *L) {
  size_t len;
  const char *bpf = luaL_checklstring(L, 1, &len);
  size_t count = len / sizeof(struct sock_filter);
  if (len % sizeof(struct sock_filter) != 0 || count == 0 || count > BPF_MAXINSNS)
    return luaL_error(L, "bad seccomp program: %d bytes is not a BPF program", (int)len);
  struct sock_filter *insns = lua_newuserdatauv(L, len, 0);
  memcpy(insns, bpf, len);
  ctr_seccomp_prog_t p = {.insns = insns, .len = (unsigned short)count, .flags = 0};
  ctr_error_t err;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    ctr_fail_errno(&err, "set no_new_privs");
    return lctr_pusherr(L, &err);
  }
  if (ctr_seccomp_load(&p, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- mounts -------------------------------------------------------------------- */

static const lctr_flag_t mount_opts[] = {{"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},
                                         {"nodev", MS_NODEV},       {"noexec", MS_NOEXEC},
                                         {"sync", MS_SYNCHRONOUS},  {"dirsync", MS_DIRSYNC},
                                         {"noatime", MS_NOATIME},   {"nodiratime", MS_NODIRATIME},
                                         {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME},
                                         {"mand", MS_MANDLOCK},     {NULL, 0}};
static const lctr_flag_t propagation_opts[] = {{"private", MS_PRIVATE},
                                               {"rprivate", MS_PRIVATE | MS_REC},
                                               {"slave", MS_SLAVE},
                                               {"rslave", MS_SLAVE | MS_REC},
                                               {"shared", MS_SHARED},
                                               {"rshared", MS_SHARED | MS_REC},
                                               {"unbindable", MS_UNBINDABLE},
                                               {"runbindable", MS_UNBINDABLE | MS_REC},
                                               {NULL, 0}};

static bool lookup(const lctr_flag_t *t, const char *name, unsigned long *v) {
  for (; t->name; t++)
    if (strcmp(t->name, name) == 0) {
      *v = t->value;
      return true;
    }
  return false;
}

static void read_mount_options(lua_State *L, int anchor, int m, ctr_mount_t *out) {
  int top = lua_gettop(L);
  luaL_Buffer b;
  if (!getsub(L, m, "options"))
    return;
  int t = lua_gettop(L);
  luaL_buffinit(L, &b);
  bool any = false;
  lua_Integer n = luaL_len(L, t);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    const char *o = luaL_checkstring(L, -1);
    unsigned long v;
    if (strcmp(o, "bind") == 0)
      out->bind = true;
    else if (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0)
      out->idmap = true; /* with a user namespace (rbind: the whole tree) */
    else if (strcmp(o, "rbind") == 0) {
      out->bind = true;
      out->flags |= MS_REC;
    } else if (strcmp(o, "rw") == 0)
      out->flags &= ~(unsigned long)MS_RDONLY;
    else if (lookup(mount_opts, o, &v))
      out->flags |= v;
    else if (lookup(propagation_opts, o, &v))
      out->propagation = v;
    else {
      lua_pop(L, 1); /* the buffer may be on the stack top: keep the balance */
      if (any)
        luaL_addchar(&b, ',');
      lua_rawgeti(L, t, i);
      luaL_addvalue(&b);
      any = true;
      continue;
    }
    lua_pop(L, 1);
  }
  luaL_pushresult(&b);
  if (any) {
    out->data = lua_tostring(L, -1);
    lua_pushvalue(L, -1);
    luaL_ref(L, anchor);
  }
  lua_settop(L, top);
}

static void read_mounts(lua_State *L, int anchor, int cfg, ctr_spawn_cfg_t *c) {
  int top = lua_gettop(L);
  if (!getsub(L, cfg, "mounts"))
    return;
  int t = lua_gettop(L);
  c->nmounts = (size_t)luaL_len(L, t);
  c->mounts = arena(L, anchor, c->nmounts * sizeof *c->mounts);
  for (size_t i = 0; i < c->nmounts; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    int m = lua_gettop(L);
    luaL_checktype(L, m, LUA_TTABLE);
    ctr_mount_t *mt = &c->mounts[i];
    mt->destination = lctr_optfield_string(L, m, "destination", NULL);
    if (!mt->destination || mt->destination[0] != '/')
      luaL_error(L, "bad mount %d: destination must be an absolute path", (int)i + 1);
    mt->type = lctr_optfield_string(L, m, "type", "bind");
    mt->source = lctr_optfield_string(L, m, "source", NULL);
    read_mount_options(L, anchor, m, mt);
    if (strcmp(mt->type, "bind") == 0)
      mt->bind = true;
    if (mt->bind && !mt->source)
      luaL_error(L, "bad mount %s: a bind mount needs a source", mt->destination);
    lua_settop(L, t);
  }
  lua_settop(L, top);
}

static void read_devices(lua_State *L, int anchor, int linux_t, ctr_spawn_cfg_t *c) {
  int top = lua_gettop(L);
  if (!getsub(L, linux_t, "devices"))
    return;
  int t = lua_gettop(L);
  c->ndevices = (size_t)luaL_len(L, t);
  c->devices = arena(L, anchor, c->ndevices * sizeof *c->devices);
  for (size_t i = 0; i < c->ndevices; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    int d = lua_gettop(L);
    ctr_device_t *dv = &c->devices[i];
    dv->path = lctr_optfield_string(L, d, "path", NULL);
    if (!dv->path || strncmp(dv->path, "/dev/", 5) != 0)
      luaL_error(L, "bad device %d: path must be below /dev", (int)i + 1);
    dv->type = lctr_optfield_string(L, d, "type", "c")[0];
    dv->major = (unsigned)lctr_optfield_integer(L, d, "major", 0);
    dv->minor = (unsigned)lctr_optfield_integer(L, d, "minor", 0);
    dv->mode = (unsigned)lctr_optfield_integer(L, d, "fileMode", 0666);
    dv->uid = (uid_t)check_id(L, lctr_optfield_integer(L, d, "uid", 0), "linux.devices uid");
    dv->gid = (gid_t)check_id(L, lctr_optfield_integer(L, d, "gid", 0), "linux.devices gid");
    lua_settop(L, t);
  }
  lua_settop(L, top);
}

static void read_namespaces(lua_State *L, int anchor, int linux_t, ctr_spawn_cfg_t *c) {
  int top = lua_gettop(L);
  if (!getsub(L, linux_t, "namespaces"))
    return;
  int t = lua_gettop(L);
  lua_Integer n = luaL_len(L, t);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    int e = lua_gettop(L);
    const char *type = lctr_optfield_string(L, e, "type", "");
    unsigned long flag = ns_flag(L, type);
    const char *path = lctr_optfield_string(L, e, "path", NULL);
    if (path == NULL) {
      c->clone_flags |= (int)flag;
    } else {
      if (c->njoin_ns >= sizeof c->join_ns / sizeof *c->join_ns)
        luaL_error(L, "too many namespaces to join");
      c->join_ns[c->njoin_ns++] = (ctr_ns_join_t){.path = path, .type = (int)flag};
    }
    lua_settop(L, t);
  }
  (void)anchor;
  lua_settop(L, top);
}

/* linux.uidMappings / gidMappings ({containerID, hostID, size}, ...) as the
 * "inside outside count" lines of /proc/<pid>/uid_map; NULL when absent. */
static const char *read_idmap(lua_State *L, int anchor, int linux_t, const char *key) {
  int top = lua_gettop(L);
  if (!getsub(L, linux_t, key))
    return NULL;
  int t = lua_gettop(L);
  lua_Integer n = luaL_len(L, t);
  if (n < 1 || n > 340)
    luaL_error(L, "bad linux.%s: 1 to 340 entries", key);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    int e = lua_gettop(L);
    luaL_checktype(L, e, LUA_TTABLE);
    lua_Integer in = lctr_optfield_integer(L, e, "containerID", -1);
    lua_Integer out = lctr_optfield_integer(L, e, "hostID", -1);
    lua_Integer size = lctr_optfield_integer(L, e, "size", -1);
    if (in < 0 || out < 0 || size < 1 || in > 0xffffffffLL || out > 0xffffffffLL ||
        size > 0xffffffffLL - (in > out ? in : out))
      luaL_error(L, "bad linux.%s entry %d: containerID, hostID, size", key, (int)i);
    lua_pop(L, 1);
    lua_pushfstring(L, "%I %I %I\n", in, out, size);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  const char *text = lua_tostring(L, -1);
  luaL_ref(L, anchor);
  lua_settop(L, top);
  return text;
}

static void read_root(lua_State *L, int cfg, ctr_spawn_cfg_t *c) {
  int top = lua_gettop(L);
  if (!getsub(L, cfg, "root"))
    return;
  int r = lua_gettop(L);
  c->rootfs = lctr_optfield_string(L, r, "path", NULL);
  c->readonly_root = lctr_optfield_boolean(L, r, "readonly", 0);
  if (getsub(L, r, "overlay")) { /* luac-ctr extension: mounted inside the container */
    int o = lua_gettop(L);
    c->overlay_lower = lctr_optfield_string(L, o, "lowerdir", NULL);
    c->overlay_upper = lctr_optfield_string(L, o, "upperdir", NULL);
    c->overlay_work = lctr_optfield_string(L, o, "workdir", NULL);
    if (!c->overlay_lower || !c->overlay_upper || !c->overlay_work)
      luaL_error(L, "bad config: root.overlay needs lowerdir, upperdir and workdir");
  }
  lua_settop(L, top);
}

static void read_stdio(lua_State *L, int t, int *in, int *out, int *err) {
  *in = *out = *err = -1;
  if (lua_isnoneornil(L, t))
    return;
  luaL_checktype(L, t, LUA_TTABLE);
  const char *names[3] = {"stdin", "stdout", "stderr"};
  int *dst[3] = {in, out, err};
  for (int i = 0; i < 3; i++) {
    lua_getfield(L, t, names[i]);
    *dst[i] = lctr_optfd(L, -1, -1);
    lua_pop(L, 1);
  }
}

/* linux.sysctl {key = value} -> "key=value" strings (which keys may be set
 * is the caller's check; core/sysctl.c checks each names a /proc/sys path). */
static char **read_sysctl(lua_State *L, int anchor, int linux_t) {
  int top = lua_gettop(L);
  if (!getsub(L, linux_t, "sysctl"))
    return NULL;
  int t = lua_gettop(L);
  lua_newtable(L);
  int list = lua_gettop(L);
  lua_Integer n = 0;
  for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "bad config: linux.sysctl must map names to strings");
    lua_pushvalue(L, -2);
    lua_pushliteral(L, "=");
    lua_pushvalue(L, -3);
    lua_concat(L, 3);
    lua_rawseti(L, list, ++n);
  }
  char **v = lctr_checkstrv(L, list, "linux.sysctl");
  luaL_ref(L, anchor);
  luaL_ref(L, anchor);
  lua_settop(L, top);
  return v;
}

static void read_spawn_cfg(lua_State *L, int anchor, int cfg, ctr_spawn_cfg_t *c) {
  luaL_checktype(L, cfg, LUA_TTABLE);
  int process = getsub(L, cfg, "process");
  if (!process)
    luaL_error(L, "bad config: no 'process' table");
  read_process(L, anchor, process, &c->proc);
  read_rlimits(L, anchor, process, &c->rlimits, &c->nrlimits);
  c->oom_score_adj = (int)lctr_optfield_integer(L, process, "oomScoreAdj", INT32_MIN);
  lua_pop(L, 1);
  c->hostname = lctr_optfield_string(L, cfg, "hostname", NULL);
  c->domainname = lctr_optfield_string(L, cfg, "domainname", NULL);
  read_root(L, cfg, c);
  read_mounts(L, anchor, cfg, c);
  int linux_t = getsub(L, cfg, "linux");
  if (linux_t) {
    read_namespaces(L, anchor, linux_t, c);
    c->uid_map = read_idmap(L, anchor, linux_t, "uidMappings");
    c->gid_map = read_idmap(L, anchor, linux_t, "gidMappings");
    read_devices(L, anchor, linux_t, c);
    c->masked_paths = strlist(L, anchor, linux_t, "maskedPaths");
    c->readonly_paths = strlist(L, anchor, linux_t, "readonlyPaths");
    c->sysctl = read_sysctl(L, anchor, linux_t);
    lua_pop(L, 1);
  }
  if (c->overlay_lower && !(c->clone_flags & CLONE_NEWNS))
    luaL_error(L, "bad config: an overlay root needs a mount namespace");
}

/* ---- the proc object ---------------------------------------------------------- */

/* SIGKILL through the pidfd and reap (once). */
static void kill_and_reap(lproc_t *p) {
  if (p->reaped || p->sp.pidfd < 0)
    return;
  syscall(SYS_pidfd_send_signal, p->sp.pidfd, SIGKILL, NULL, 0);
  siginfo_t si;
  while (waitid(P_PIDFD, (id_t)p->sp.pidfd, &si, WEXITED) < 0 && errno == EINTR)
    ;
  p->reaped = true;
}

static lproc_t *pushproc(lua_State *L);

static lproc_t *checkproc(lua_State *L, int i) {
  return luaL_checkudata(L, i, PROC_MT);
}

/***
 * core.spawn(config [, stdio]) -> proc | nil, err, errno
 * Clone a container's init from an OCI-shaped config table (process, root
 * {path, readonly, overlay={lowerdir,upperdir,workdir}}, hostname, mounts,
 * linux {namespaces, maskedPaths, readonlyPaths, devices, seccomp (the
 * runtime-spec's: compiled here, loaded last in the child; a filter that
 * cannot be built raises)}). stdio is
 * {stdin=fd, stdout=fd, stderr=fd (missing: /dev/null), cgroup_join={files}
 * (the child writes "0" to each: v1 "tasks" files, v2 "cgroup.procs"),
 * cgroup_into=dir (a v2 cgroup to clone straight into), seccomp_bpf=
 * (linux.seccomp compiled before: core.seccomp_compile), start_fifo=path
 * (luac-runc: after proc:start() returns the child, set up, blocks opening
 * this fifo for writing and execs once someone reads it), preserve_fds=N
 * (fds 3..3+N-1 are passed to the process, runc's --preserve-fds), init=true
 * (docker's --init: the process stays as PID 1, reaping and forwarding
 * signals to a child that execs the command: core/init.h)}. The child waits
 * until proc:start(); in between, attach proc.pid to networks.
 */
static int l_spawn(lua_State *L) {
  lua_settop(L, 2);
  lua_newtable(L); /* anchor: keeps every converted piece alive for the call */
  int anchor = lua_gettop(L);
  ctr_spawn_cfg_t *c = arena(L, anchor, sizeof *c);
  c->cgroup_into_fd = -1;
  read_spawn_cfg(L, anchor, 1, c);
  read_stdio(L, 2, &c->stdin_fd, &c->stdout_fd, &c->stderr_fd);
  if (getsub(L, 1, "linux")) {
    c->proc.seccomp = read_seccomp(L, anchor, lua_gettop(L), "seccomp", 2);
    lua_pop(L, 1);
  }
  const char *into = NULL;
  if (lua_istable(L, 2)) {
    c->cgroup_join = strlist(L, anchor, 2, "cgroup_join");
    into = lctr_optfield_string(L, 2, "cgroup_into", NULL);
    c->start_fifo = lctr_optfield_string(L, 2, "start_fifo", NULL);
    c->preserve_fds = (int)lctr_optfield_integer(L, 2, "preserve_fds", 0);
    luaL_argcheck(L, c->preserve_fds >= 0 && c->preserve_fds <= 1024, 2,
                  "preserve_fds must be from 0 to 1024");
    c->init = lctr_optfield_boolean(L, 2, "init", false);
  }
  if (into && (c->cgroup_into_fd = open(into, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return lctr_pusherrno(L, "open the cgroup to clone into");
  lproc_t *p = pushproc(L);
  ctr_error_t err;
  int r = ctr_spawn(c, &p->sp, &err);
  if (c->cgroup_into_fd >= 0)
    close(c->cgroup_into_fd);
  if (r < 0)
    return lctr_pusherr(L, &err);
  return 1;
}

static int ns_flags_of(lua_State *L, int t) {
  int flags = 0;
  if (!getsub(L, t, "namespaces"))
    return CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
           CLONE_NEWCGROUP;
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    flags |= (int)ns_flag(L, luaL_checkstring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return flags;
}

/***
 * core.exec_in(process, target) -> proc | nil, err, errno [, exec_failed]
 * Run a command inside a running container. process is an OCI process table
 * (args, env, cwd, user, capabilities, noNewPrivileges, terminal, rlimits); target is
 * {pid=, pidfd= (optional: the init's pidfd, used instead of opening one),
 * namespaces={"mnt","pid",...} (default: all but user), cgroup_procs={files
 * to write "0" to, e.g. v1 "tasks"}, cgroup_into=dir (v2 cgroup to clone into),
 * seccomp= (the container's linux.seccomp; absent: unconfined), seccomp_bpf=
 * (that table compiled before: core.seccomp_compile), stdin=,
 * stdout=, stderr=, preserve_fds=N (fds 3..3+N-1 passed on)}. Returns once the command has exec'd; with
 * terminal=true proc:pty() is the master of a pty made inside the container.
 * On failure the 4th value tells whether execve itself failed (126/127).
 */
static int l_exec_in(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_newtable(L);
  int anchor = lua_gettop(L);
  ctr_exec_cfg_t *c = arena(L, anchor, sizeof *c);
  read_process(L, anchor, 1, &c->proc);
  read_rlimits(L, anchor, 1, &c->rlimits, &c->nrlimits);
  c->target = (pid_t)lctr_optfield_integer(L, 2, "pid", 0);
  luaL_argcheck(L, c->target > 0, 2, "target.pid must be a positive integer");
  c->ns_flags = ns_flags_of(L, 2);
  c->proc.seccomp = read_seccomp(L, anchor, 2, "seccomp", 2);
  c->cgroup_procs = strlist(L, anchor, 2, "cgroup_procs");
  c->cgroup_into_fd = -1;
  const char *into = lctr_optfield_string(L, 2, "cgroup_into", NULL);
  lua_getfield(L, 2, "stdin");
  c->stdin_fd = lctr_optfd(L, -1, -1);
  lua_getfield(L, 2, "stdout");
  c->stdout_fd = lctr_optfd(L, -1, -1);
  lua_getfield(L, 2, "stderr");
  c->stderr_fd = lctr_optfd(L, -1, -1);
  lua_pop(L, 3);
  c->preserve_fds = (int)lctr_optfield_integer(L, 2, "preserve_fds", 0);
  luaL_argcheck(L, c->preserve_fds >= 0 && c->preserve_fds <= 1024, 2,
                "preserve_fds must be from 0 to 1024");
  if (into && (c->cgroup_into_fd = open(into, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return lctr_pusherrno(L, "open the container's cgroup");
  /* a pidfd the caller already checked (start time) pins the container's
   * identity; otherwise one is opened here from the pid */
  lua_getfield(L, 2, "pidfd");
  int given = lctr_optfd(L, -1, -1);
  lua_pop(L, 1);
  c->target_pidfd = given >= 0 ? given : (int)syscall(SYS_pidfd_open, c->target, 0);
  if (c->target_pidfd < 0) {
    if (c->cgroup_into_fd >= 0)
      close(c->cgroup_into_fd);
    return lctr_pusherrno(L, "pidfd_open of the container's init");
  }
  lproc_t *proc = pushproc(L);
  ctr_error_t err;
  bool exec_failed = false;
  int r = ctr_exec_start(c, &proc->sp, &exec_failed, &err);
  if (given < 0)
    close(c->target_pidfd);
  if (c->cgroup_into_fd >= 0)
    close(c->cgroup_into_fd);
  if (r < 0) {
    if (proc->sp.pid > 0) { /* the command died with its error: reap it */
      waitpid(proc->sp.pid, NULL, 0);
      proc->reaped = true;
    }
    lctr_pusherr(L, &err);
    lua_pushboolean(L, exec_failed);
    return 4;
  }
  proc->started = true;
  return 1;
}

/***
 * proc:start() -> true | nil, err, errno, exec_failed
 * Let a spawned container init set itself up and exec. On failure the child
 * has exited and is reaped; exec_failed is true when execve itself failed
 * (docker's 126: cannot execute, 127: not found).
 */
static int proc_start(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  if (p->started || p->sp.sync_fd < 0)
    return luaL_error(L, "process already started");
  ctr_error_t err;
  bool exec_failed = false;
  p->started = true;
  if (ctr_spawn_start(&p->sp, &exec_failed, &err) < 0) {
    siginfo_t si;
    waitid(P_PIDFD, (id_t)p->sp.pidfd, &si, WEXITED);
    p->reaped = true;
    lctr_pusherr(L, &err);
    lua_pushboolean(L, exec_failed);
    return 4;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * proc:pty() -> fd | nil
 * The master side of the container's console (terminal=true), once; the
 * caller owns the returned fd object.
 */
static int proc_pty(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  if (p->sp.pty_fd < 0) {
    lua_pushnil(L);
    return 1;
  }
  lctr_pushfd(L, p->sp.pty_fd, LCTR_FD_PTY);
  p->sp.pty_fd = -1;
  return 1;
}

/***
 * proc:kill([signal]) -> true | nil, err, errno
 * Send a signal (number, default SIGKILL) through the pidfd: never hits a
 * reused pid.
 */
static int proc_kill(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  int sig = (int)luaL_optinteger(L, 2, SIGKILL);
  if (p->reaped)
    return lctr_pushfail(L, ESRCH, "process already reaped");
  if (syscall(SYS_pidfd_send_signal, p->sp.pidfd, sig, NULL, 0) < 0)
    return lctr_pusherrno(L, "pidfd_send_signal");
  lua_pushboolean(L, 1);
  return 1;
}

static void push_exit(lua_State *L, const ctr_exit_t *e) {
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, e->signaled);
  lua_setfield(L, -2, "signaled");
  if (e->signaled) {
    lua_pushinteger(L, e->code);
    lua_setfield(L, -2, "signal");
  }
  lua_pushinteger(L, e->signaled ? 128 + e->code : e->code);
  lua_setfield(L, -2, "exit_code");
  lua_pushboolean(L, e->timed_out);
  lua_setfield(L, -2, "timed_out");
}

/***
 * proc:wait() -> {exit_code=, signaled=, signal=} | nil, err, errno
 * Block until the process exits and reap it; exit_code is 128+n when killed
 * by signal n.
 */
static int proc_wait(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  if (p->reaped)
    return lctr_pushfail(L, ECHILD, "process already reaped");
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  lctr_eintr(L); /* a signal that came before the call */
  while ((r = waitid(P_PIDFD, (id_t)p->sp.pidfd, &si, WEXITED)) < 0 && errno == EINTR)
    lctr_eintr(L);
  if (r < 0)
    return lctr_pusherrno(L, "waitid");
  p->reaped = true;
  ctr_exit_t e = {.signaled = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED,
                  .code = si.si_status};
  push_exit(L, &e);
  return 1;
}

/***
 * proc:abort() -> true
 * Kill (SIGKILL) and reap a process, e.g. when setup around it failed.
 */
static int proc_abort(lua_State *L) {
  kill_and_reap(checkproc(L, 1));
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * proc:supervise(opts) -> {exit_code=, signaled=, signal=, timed_out=} | nil, err, errno
 * Relay the process's output until it exits, then reap it. opts: stdout=fd,
 * stderr=fd (read ends of its pipes), pty=fd (console master), stdin=fd
 * (host input to forward), stdin_pipe=integer fd (write end of its stdin
 * pipe, given over: fd:release() it; closed when the input ends),
 * echo=bool (copy output to our stdout/stderr), echo_stdout=fd,
 * echo_stderr=fd (copy it there instead), log=path (docker json-file
 * lines), log_max=bytes, log_files=n, forward_signals=bool, raw=bool (put
 * stdin, a terminal, in raw mode while running; always restored),
 * timeout=seconds (SIGKILL the process then; the result says timed_out).
 */
static int proc_supervise(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (p->reaped)
    return lctr_pushfail(L, ECHILD, "process already reaped");
  ctr_supervise_cfg_t c;
  memset(&c, 0, sizeof c);
  c.pid = p->sp.pid;
  c.pidfd = p->sp.pidfd;
  const char *fields[] = {"stdout", "stderr", "pty", "stdin", "stdin_pipe"};
  int *dst[] = {&c.out_fd, &c.err_fd, &c.pty_fd, &c.in_fd, &c.in_pipe};
  for (int i = 0; i < 5; i++) {
    lua_getfield(L, 2, fields[i]);
    *dst[i] = lctr_optfd(L, -1, -1);
    lua_pop(L, 1);
  }
  bool echo = lctr_optfield_boolean(L, 2, "echo", 0);
  c.echo_out = echo ? 1 : -1;
  c.echo_err = echo ? 2 : -1;
  lua_getfield(L, 2, "echo_stdout");
  c.echo_out = lctr_optfd(L, -1, c.echo_out);
  lua_getfield(L, 2, "echo_stderr");
  c.echo_err = lctr_optfd(L, -1, c.echo_err);
  lua_pop(L, 2);
  c.log_path = lctr_optfield_string(L, 2, "log", NULL);
  c.log_max = (size_t)lctr_optfield_integer(L, 2, "log_max", 0);
  c.log_files = (int)lctr_optfield_integer(L, 2, "log_files", 1);
  c.forward_signals = lctr_optfield_boolean(L, 2, "forward_signals", 0);
  c.raw_tty = lctr_optfield_boolean(L, 2, "raw", 0);
  lua_getfield(L, 2, "timeout");
  double timeout = luaL_optnumber(L, -1, 0);
  luaL_argcheck(L, timeout >= 0 && timeout < 1e9, 2, "timeout out of range");
  c.timeout_ms = (long long)(timeout * 1000);
  lua_pop(L, 1);
  ctr_exit_t e;
  e.timed_out = false;
  ctr_error_t err;
  int r = ctr_supervise(&c, &e, &err);
  p->reaped = true; /* ctr_supervise reaps on every path */
  if (r < 0)
    return lctr_pusherr(L, &err);
  push_exit(L, &e);
  return 1;
}

static int proc_gc(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  int *fds[] = {&p->sp.sync_fd, &p->sp.pty_fd, &p->sp.pidfd};
  if (!p->started && p->sp.sync_fd >= 0)
    kill_and_reap(p); /* never started: the child would wait forever */
  for (int i = 0; i < 3; i++)
    if (*fds[i] >= 0) {
      /* cppcheck-suppress shadowVariable ; a false positive of cppcheck 2.10 */
      close(*fds[i]);
      *fds[i] = -1;
    }
  return 0;
}

static int proc_index(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "pid") == 0) {
    lua_pushinteger(L, p->sp.pid);
    return 1;
  }
  if (strcmp(k, "pidfd") == 0) {
    lua_pushinteger(L, p->sp.pidfd);
    return 1;
  }
  luaL_getmetatable(L, PROC_MT);
  lua_getfield(L, -1, "methods");
  lua_getfield(L, -1, k);
  return 1;
}

static int proc_tostring(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  lua_pushfstring(L, "ctr.proc(pid %d%s)", (int)p->sp.pid, p->reaped ? ", reaped" : "");
  return 1;
}

static lproc_t *pushproc(lua_State *L) {
  lproc_t *p = lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  p->sp.pid = -1;
  p->sp.pidfd = p->sp.sync_fd = p->sp.pty_fd = -1;
  if (luaL_newmetatable(L, PROC_MT)) {
    static const luaL_Reg meta[] = {{"__gc", proc_gc},
                                    {"__close", proc_gc},
                                    {"__index", proc_index},
                                    {"__tostring", proc_tostring},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"start", proc_start}, {"pty", proc_pty},
                                       {"kill", proc_kill},   {"wait", proc_wait},
                                       {"abort", proc_abort}, {"supervise", proc_supervise},
                                       {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "methods");
  }
  lua_setmetatable(L, -2);
  return p;
}

/***
 * core.timestamp() -> string
 * The current time as RFC 3339 with nanoseconds, UTC (the log's format).
 */
static int l_timestamp(lua_State *L) {
  char buf[64];
  ctr_timestamp(buf, sizeof buf);
  lua_pushstring(L, buf);
  return 1;
}

LCTR_AREA_DECL(container) {
  static const luaL_Reg fns[] = {{"spawn", l_spawn},
                                 {"exec_in", l_exec_in},
                                 {"timestamp", l_timestamp},
                                 {"seccomp_compile", l_seccomp_compile},
                                 {"seccomp_load", l_seccomp_load},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
  const struct scmp_version *v = seccomp_version(); /* core.libseccomp_version: "2.5.4" */
  lua_pushfstring(L, "%d.%d.%d", (int)v->major, (int)v->minor, (int)v->micro);
  lua_setfield(L, -2, "libseccomp_version");
}
