/* l_container.c - ctr.core: the container runtime primitives.
 *
 *   core.spawn(config, stdio)      -> proc   clone a container's init (waits)
 *   proc:start()                   -> true   let it set up and exec
 *   core.exec_in(process, target)  -> proc   run a command inside a container
 *   proc:supervise(opts)           -> exit   relay output/log, forward, reap
 *
 * `config` is a runtime-spec config.json (its text or its path): the core
 * parses and checks it (core/oci_config.h) and core/spawn.c executes it with
 * no Lua in the child. What is read here is only the supervisor's own
 * options (stdio, cgroup entry, start fifo, preserved fds, a cached seccomp
 * program), none of them part of the runtime-spec. */
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
#include "oci_config.h"
#include "spawn.h"
#include "supervise.h"

#define PROC_MT "ctr.proc"

typedef struct lproc {
  ctr_spawned_t sp;
  bool started, reaped;
} lproc_t;

/* ---- the runtime-spec config, parsed by the core (core/oci_config.h) ---------- */

#define OCI_MT "ctr.oci"

static int oci_gc(lua_State *L) {
  ctr_oci_free(luaL_checkudata(L, 1, OCI_MT));
  return 0;
}

/* A ctr_oci_t on the stack, freed by its __gc (a raised error leaks nothing). */
static ctr_oci_t *push_oci(lua_State *L) {
  ctr_oci_t *o = lua_newuserdatauv(L, sizeof *o, 0);
  memset(o, 0, sizeof *o);
  if (luaL_newmetatable(L, OCI_MT)) {
    lua_pushcfunction(L, oci_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return o;
}

/* config: JSON text (it starts with '{') or the path of a config.json. */
static int parse_config(lua_State *L, int idx, ctr_oci_t *o, ctr_error_t *err) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  if (i < len && s[i] == '{')
    return ctr_oci_parse(s, len, NULL, o, err);
  return ctr_oci_load(s, o, err);
}

/* The supervisor's own options (not the runtime-spec's): a list of strings. */
static char **opt_strv(lua_State *L, int t, const char *k) {
  if (!lua_istable(L, t) || lua_getfield(L, t, k) == LUA_TNIL) {
    if (lua_istable(L, t))
      lua_pop(L, 1);
    return NULL;
  }
  char **v = lctr_checkstrv(L, -1, k); /* pinned by two values left on the stack */
  return v;
}

/* The filter to load: opts.seccomp_bpf (that config's linux.seccomp compiled
 * before, core.seccomp_compile: a cache) copied onto the stack, or NULL
 * (compile c->seccomp). */
static int opt_bpf(lua_State *L, int opts, const ctr_oci_t *c, ctr_seccomp_prog_t *prog,
                   ctr_error_t *err) {
  size_t len = 0;
  const char *bpf = NULL;
  if (lua_istable(L, opts) && lua_getfield(L, opts, "seccomp_bpf") == LUA_TSTRING)
    bpf = lua_tolstring(L, -1, &len); /* stays on the stack */
  if (bpf == NULL)
    return 0;
  size_t count = len / sizeof(struct sock_filter);
  if (len % sizeof(struct sock_filter) != 0 || count == 0 || count > BPF_MAXINSNS)
    return luaL_error(L, "bad seccomp_bpf: %d bytes is not a BPF program", (int)len);
  prog->insns = lua_newuserdatauv(L, len, 0);
  memcpy(prog->insns, bpf, len);
  prog->len = (unsigned short)count;
  if (ctr_seccomp_flags(c->seccomp.flags, &prog->flags, err) < 0)
    return -1;
  return 1;
}

/* c's seccomp program into *out (NULL: none); *owned: compiled here, the
 * caller frees it with ctr_seccomp_prog_free. */
static int seccomp_of(lua_State *L, int opts, const ctr_oci_t *c, ctr_seccomp_prog_t *prog,
                      const ctr_seccomp_prog_t **out, bool *owned, ctr_error_t *err) {
  *out = NULL;
  *owned = false;
  if (!c->has_seccomp)
    return 0;
  int r = opt_bpf(L, opts, c, prog, err);
  if (r < 0)
    return -1;
  if (r == 0) {
    if (ctr_seccomp_compile(&c->seccomp, prog, err) < 0)
      return -1;
    *owned = true;
  }
  *out = prog;
  return 0;
}

/***
 * core.seccomp_compile(seccomp) -> string | nil, err, errno
 * Compile a runtime-spec linux.seccomp object, given as JSON text (the core
 * parses it: core/oci_seccomp.c), with libseccomp into its BPF program
 * (struct sock_filter[]), e.g. to cache it and pass it to core.spawn /
 * core.exec_in as seccomp_bpf.
 */
static int l_seccomp_compile(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  ctr_oci_t *o = push_oci(L);
  ctr_error_t err;
  ctr_seccomp_prog_t compiled;
  if (ctr_oci_parse_seccomp(text, len, o, &err) < 0 ||
      ctr_seccomp_compile(&o->seccomp, &compiled, &err) < 0)
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

/***
 * core.oci_check(config) -> true | nil, err
 * Parse and check a runtime-spec config (JSON text or a config.json path, as
 * core.spawn takes it) without running anything: the error names the first
 * bad field ("process.user.uid: not an integer in 0..2147483647").
 */
static int l_oci_check(lua_State *L) {
  ctr_oci_t *o = push_oci(L);
  ctr_error_t err;
  if (parse_config(L, 1, o, &err) < 0)
    return lctr_pusherr(L, &err);
  ctr_oci_free(o);
  lua_pushboolean(L, 1);
  return 1;
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

static int read_preserve_fds(lua_State *L, int t) {
  int n = lua_istable(L, t) ? (int)lctr_optfield_integer(L, t, "preserve_fds", 0) : 0;
  luaL_argcheck(L, n >= 0 && n <= 1024, 2, "preserve_fds must be from 0 to 1024");
  return n;
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

/* The supervisor's options of core.spawn (none is the runtime-spec's). */
static void read_spawn_opts(lua_State *L, int opts, ctr_spawn_cfg_t *c, const char **into) {
  read_stdio(L, opts, &c->stdin_fd, &c->stdout_fd, &c->stderr_fd);
  c->preserve_fds = read_preserve_fds(L, opts);
  if (!lua_istable(L, opts))
    return;
  c->cgroup_join = opt_strv(L, opts, "cgroup_join");
  *into = lctr_optfield_string(L, opts, "cgroup_into", NULL);
  c->start_fifo = lctr_optfield_string(L, opts, "start_fifo", NULL);
  c->pause_before_pivot = lctr_optfield_boolean(L, opts, "pause_before_pivot", 0);
  c->init = lctr_optfield_boolean(L, opts, "init", 0);
}

/***
 * core.spawn(config [, stdio]) -> proc | nil, err, errno
 * Clone a container's init from a runtime-spec config: its JSON text (a
 * string starting with '{') or the path of a config.json (a relative
 * root.path is then taken from the file's directory). The core parses and
 * checks it (core/oci_config.h: every field honoured or refused by name;
 * root.overlay {lowerdir, upperdir, workdir} is luac-ctr's own: an overlay
 * mounted inside the container; linux.seccomp is compiled here and loaded
 * last in the child). stdio holds the supervisor's own options:
 * {stdin=fd, stdout=fd, stderr=fd (missing: /dev/null), cgroup_join={files}
 * (the child writes "0" to each: v1 "tasks" files, v2 "cgroup.procs"),
 * cgroup_into=dir (a v2 cgroup to clone straight into), seccomp_bpf=
 * (linux.seccomp compiled before: core.seccomp_compile), start_fifo=path
 * (luac-runc: after proc:start() returns the child, set up, blocks opening
 * this fifo for writing and execs once someone reads it), preserve_fds=N
 * (fds 3..3+N-1 are passed to the process, runc's --preserve-fds), init=true
 * (docker's --init: the process stays as PID 1, reaping and forwarding
 * signals to a child that execs the command: core/init.h),
 * pause_before_pivot=true (luac-runc's create hooks: the first proc:start()
 * returns "paused" once the namespaces and mounts exist, before pivot_root)}.
 * The child waits until proc:start(); in between, attach proc.pid to
 * networks.
 */
static int l_spawn(lua_State *L) {
  lua_settop(L, 2);
  ctr_oci_t *o = push_oci(L);
  ctr_error_t err;
  if (parse_config(L, 1, o, &err) < 0)
    return lctr_pusherr(L, &err);
  ctr_spawn_cfg_t *c = &o->spawn;
  const char *into = NULL;
  read_spawn_opts(L, 2, c, &into);
  ctr_seccomp_prog_t prog;
  bool owned = false;
  if (seccomp_of(L, 2, o, &prog, &c->proc.seccomp, &owned, &err) < 0)
    return lctr_pusherr(L, &err);
  if (into && (c->cgroup_into_fd = open(into, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    if (owned)
      ctr_seccomp_prog_free(&prog);
    return lctr_pusherrno(L, "open the cgroup to clone into");
  }
  lproc_t *p = pushproc(L);
  int r = ctr_spawn(c, &p->sp, &err);
  if (c->cgroup_into_fd >= 0)
    close(c->cgroup_into_fd);
  if (owned)
    ctr_seccomp_prog_free(&prog);
  if (r < 0)
    return lctr_pusherr(L, &err);
  return 1;
}

/* target.namespaces: the /proc/<pid>/ns names to join (the exec's own option). */
static int ns_flags_of(lua_State *L, int t) {
  static const lctr_flag_t names[] = {
      {"pid", CLONE_NEWPID},   {"net", CLONE_NEWNET},   {"mnt", CLONE_NEWNS},
      {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},   {"cgroup", CLONE_NEWCGROUP},
      {"user", CLONE_NEWUSER}, {"time", CLONE_NEWTIME}, {NULL, 0}};
  int flags = 0;
  if (lua_getfield(L, t, "namespaces") == LUA_TNIL) {
    lua_pop(L, 1);
    return CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
           CLONE_NEWCGROUP;
  }
  luaL_checktype(L, -1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    const char *name = luaL_checkstring(L, -1);
    const lctr_flag_t *f = names;
    while (f->name && strcmp(f->name, name) != 0)
      f++;
    if (f->name == NULL)
      luaL_error(L, "target.namespaces: unknown namespace '%s'", name);
    flags |= (int)f->value;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return flags;
}

/* The exec's target (the supervisor's options, not the runtime-spec's). */
static void read_target(lua_State *L, int t, ctr_exec_cfg_t *c, const char **into) {
  c->target = (pid_t)lctr_optfield_integer(L, t, "pid", 0);
  luaL_argcheck(L, c->target > 0, 2, "target.pid must be a positive integer");
  c->ns_flags = ns_flags_of(L, t);
  c->cgroup_procs = opt_strv(L, t, "cgroup_procs");
  c->cgroup_into_fd = -1;
  *into = lctr_optfield_string(L, t, "cgroup_into", NULL);
  read_stdio(L, t, &c->stdin_fd, &c->stdout_fd, &c->stderr_fd);
  c->preserve_fds = read_preserve_fds(L, t);
}

/* target.seccomp: the container's linux.seccomp as JSON text, parsed by the core. */
static ctr_oci_t *target_seccomp(lua_State *L, int t, ctr_error_t *err) {
  size_t len;
  ctr_oci_t *s = push_oci(L);
  if (lua_getfield(L, t, "seccomp") == LUA_TNIL)
    return s;
  const char *text = luaL_checklstring(L, -1, &len); /* stays on the stack */
  return ctr_oci_parse_seccomp(text, len, s, err) < 0 ? NULL : s;
}

static int exec_run(lua_State *L, ctr_exec_cfg_t *c, const char *into, int given) {
  if (into && (c->cgroup_into_fd = open(into, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return lctr_pusherrno(L, "open the container's cgroup");
  /* a pidfd the caller already checked (start time) pins the container's
   * identity; otherwise one is opened here from the pid */
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
 * core.exec_in(process, target) -> proc | nil, err, errno [, exec_failed]
 * Run a command inside a running container. process is a runtime-spec
 * process object as JSON text (args, env, cwd, user, capabilities,
 * noNewPrivileges, terminal, rlimits), parsed and checked by the core;
 * target is {pid=, pidfd= (optional: the init's pidfd, used instead of
 * opening one), namespaces={"mnt","pid",...} (default: all but user),
 * cgroup_procs={files to write "0" to, e.g. v1 "tasks"}, cgroup_into=dir
 * (v2 cgroup to clone into), seccomp= (the container's linux.seccomp as JSON
 * text; absent: unconfined), seccomp_bpf= (that filter compiled before:
 * core.seccomp_compile), stdin=, stdout=, stderr=, preserve_fds=N (fds
 * 3..3+N-1 passed on)}. Returns once the command has exec'd; with
 * terminal=true proc:pty() is the master of a pty made inside the container.
 * On failure the 4th value tells whether execve itself failed (126/127).
 */
static int l_exec_in(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  ctr_exec_cfg_t *c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  const char *into = NULL;
  read_target(L, 2, c, &into);
  lua_getfield(L, 2, "pidfd");
  int given = lctr_optfd(L, -1, -1);
  ctr_oci_t *o = push_oci(L);
  ctr_error_t err;
  ctr_oci_t *sc = NULL;
  if (ctr_oci_parse_process(text, len, o, &err) < 0 || (sc = target_seccomp(L, 2, &err)) == NULL)
    return lctr_pusherr(L, &err);
  c->proc = o->spawn.proc;
  c->rlimits = o->spawn.rlimits;
  c->nrlimits = o->spawn.nrlimits;
  c->oom_score_adj = o->spawn.oom_score_adj;
  ctr_seccomp_prog_t prog;
  bool owned = false;
  if (seccomp_of(L, 2, sc, &prog, &c->proc.seccomp, &owned, &err) < 0)
    return lctr_pusherr(L, &err);
  int r = exec_run(L, c, into, given);
  if (owned)
    ctr_seccomp_prog_free(&prog);
  return r;
}

/***
 * proc:start() -> true | "paused" | nil, err, errno, exec_failed
 * Let a spawned container init set itself up and exec. On failure the child
 * has exited and is reaped; exec_failed is true when execve itself failed
 * (docker's 126: cannot execute, 127: not found). With the spawn option
 * pause_before_pivot it first returns "paused": the namespaces and mounts
 * exist, pivot_root has not happened (run the create hooks, then call
 * proc:start() again).
 */
static int proc_start(lua_State *L) {
  lproc_t *p = checkproc(L, 1);
  if (p->started || p->sp.sync_fd < 0)
    return luaL_error(L, "process already started");
  ctr_error_t err;
  bool exec_failed = false;
  int r = ctr_spawn_start(&p->sp, &exec_failed, &err);
  if (r == 1) {
    lua_pushliteral(L, "paused"); /* not started yet: collected, it is killed */
    return 1;
  }
  p->started = true;
  if (r < 0) {
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
  if (e->interrupted) {
    lua_pushinteger(L, e->interrupted);
    lua_setfield(L, -2, "interrupted");
  }
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
 * timeout=seconds (SIGKILL the process then; the result says timed_out),
 * kill_on_interrupt=bool (a SIGINT/SIGTERM of ours, or one pending when it
 * starts, SIGKILLs the process instead of interrupting the script: the
 * result says interrupted=signal and the caller raises the interrupt once
 * it has cleaned up).
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
  c.kill_on_interrupt = lctr_optfield_boolean(L, 2, "kill_on_interrupt", 0);
  lua_getfield(L, 2, "timeout");
  double timeout = luaL_optnumber(L, -1, 0);
  luaL_argcheck(L, timeout >= 0 && timeout < 1e9, 2, "timeout out of range");
  c.timeout_ms = (long long)(timeout * 1000);
  lua_pop(L, 1);
  ctr_exit_t e;
  memset(&e, 0, sizeof e);
  ctr_error_t err;
  if (c.kill_on_interrupt)
    c.pending_interrupt = lctr_interrupt_flag();
  int r = ctr_supervise(&c, &e, &err);
  if (c.kill_on_interrupt && e.interrupted)
    *lctr_interrupt_flag() = 0; /* acted on: the caller raises it once it has cleaned up */
  p->reaped = true;             /* ctr_supervise reaps on every path */
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
                                 {"oci_check", l_oci_check},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
  const struct scmp_version *v = seccomp_version(); /* core.libseccomp_version: "2.5.4" */
  lua_pushfstring(L, "%d.%d.%d", (int)v->major, (int)v->minor, (int)v->micro);
  lua_setfield(L, -2, "libseccomp_version");
}
