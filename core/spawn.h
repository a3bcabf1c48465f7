/* spawn.h - create a container's init process from one configuration.
 *
 * The configuration mirrors the OCI runtime spec (process, root, hostname,
 * mounts, linux.namespaces, maskedPaths, readonlyPaths, devices). The caller
 * (the Lua bindings) fills a ctr_spawn_cfg; everything between clone and
 * execve happens here in C, so no Lua runs in the child.
 *
 * Two phases, as runc's create/start:
 *   ctr_spawn()        clones the child into its new namespaces; the child
 *                      waits on the sync socket before doing anything.
 *   ctr_spawn_start()  lets it run: it sets up its root filesystem, mounts,
 *                      devices, pty, user, capabilities, then execs. The call
 *                      returns once the exec happened (or with the child's
 *                      error).
 * Between the two, the caller puts the pid in its cgroup and network.
 */
#ifndef CTR_SPAWN_H
#define CTR_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "error.h"

typedef struct ctr_mount {
  const char *source;
  const char *destination;   /* inside the container */
  const char *type;          /* "bind" or a filesystem type */
  const char *data;          /* filesystem options not understood as flags */
  unsigned long flags;       /* MS_* */
  unsigned long propagation; /* MS_PRIVATE, MS_SLAVE, ... (| MS_REC) or 0 */
  bool bind;
  bool idmap; /* "idmap"/"ridmap": mapped to the container's user namespace */
} ctr_mount_t;

typedef struct ctr_ns_join {
  const char *path; /* e.g. /proc/123/ns/net */
  int type;         /* its CLONE_NEW* flag: setns refuses a namespace of another type */
} ctr_ns_join_t;

typedef struct ctr_device {
  const char *path; /* e.g. /dev/null */
  char type;        /* 'c' or 'b' */
  unsigned major, minor;
  unsigned mode; /* permission bits */
  uid_t uid;
  gid_t gid;
} ctr_device_t;

typedef struct ctr_rlimit {
  int resource;
  struct rlimit lim;
} ctr_rlimit_t;

typedef struct ctr_caps {
  uint64_t bounding, effective, permitted, inheritable, ambient;
  bool set; /* false: leave capabilities as they are */
} ctr_caps_t;

/* The process to exec, for a container's init and for exec alike. */
typedef struct ctr_process {
  char **argv;
  char **env;
  const char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  bool terminal;
  ctr_caps_t caps;
  bool no_new_privs;
  bool umask_set; /* process.user.umask given: umask(umask) before execve */
  mode_t umask;
  /* compiled seccomp filter (ctr_seccomp.h), loaded last; NULL: unconfined */
  const struct ctr_seccomp_prog *seccomp;
} ctr_process_t;

typedef struct ctr_spawn_cfg {
  ctr_process_t proc;
  ctr_rlimit_t *rlimits;
  size_t nrlimits;
  int oom_score_adj; /* INT32_MIN: leave alone */

  /* root: rootfs is the mount point; with overlay_lower set, an overlayfs
   * (lower, upper, work) is mounted there inside the container's mount
   * namespace, so it disappears with the container. */
  const char *rootfs;
  const char *overlay_lower; /* "a:b:c", top first */
  const char *overlay_upper;
  const char *overlay_work;
  bool readonly_root;

  const char *hostname;
  const char *domainname;
  char **sysctl;   /* "key=value" (linux.sysctl), written after the namespaces are entered */
  int clone_flags; /* CLONE_NEW* for new namespaces */
  /* with CLONE_NEWUSER: "inside outside count" lines (linux.uidMappings,
   * gidMappings), written by the parent (userns.h) */
  const char *uid_map;
  const char *gid_map;
  ctr_ns_join_t join_ns[8]; /* namespaces to join (setns) instead of making them */
  size_t njoin_ns;

  ctr_mount_t *mounts;
  size_t nmounts;
  char **masked_paths;
  char **readonly_paths;
  ctr_device_t *devices;
  size_t ndevices;

  /* cgroups: the child moves itself by writing "0" to each file (a cgroup v1
   * "tasks" file moves the calling thread without the global threadgroup
   * lock and its RCU grace period; "cgroup.procs" for v2); with
   * cgroup_into_fd >= 0 it is cloned straight into that v2 cgroup. */
  char **cgroup_join;
  int cgroup_into_fd;

  /* stdio for the container (ignored for fds < 0: /dev/null is used) */
  int stdin_fd, stdout_fd, stderr_fd;

  /* runc's create/start split (luac-runc): a fifo on the host. The child
   * opens it (O_PATH) before anything else; once set up it tells the parent
   * 'W' (ctr_spawn_start returns), closes the sync socket and blocks opening
   * the fifo for writing until `start` opens it for reading, then execs.
   * Errors after that point go to the container's stderr. NULL: exec at once. */
  const char *start_fifo;

  /* runc's --preserve-fds: fds 3 .. 3+preserve_fds-1 of the caller are passed
   * to the container's process as they are (all must be open) */
  int preserve_fds;

  /* the runtime-spec's create hooks (luac-runc): the child stops once its
   * namespaces and mounts exist, before pivot_root, and tells the parent 'H'
   * (ctr_spawn_start returns 1); the parent runs prestart, createRuntime and
   * createContainer, then calls ctr_spawn_start again to let it go on. */
  bool pause_before_pivot;

  /* docker run --init: PID 1 stays as a reaper and signal forwarder, its
   * child execs the process (init.h) */
  bool init;
} ctr_spawn_cfg_t;

typedef struct ctr_spawned {
  pid_t pid;
  int pidfd;   /* from clone3(CLONE_PIDFD) */
  int sync_fd; /* parent's end of the sync socket, -1 after start */
  int pty_fd;  /* master of the container's console after start, or -1 */
  bool paused; /* stopped before pivot_root (pause_before_pivot) */
} ctr_spawned_t;

/* Clone the container's init; it waits for ctr_spawn_start(). */
int ctr_spawn(const ctr_spawn_cfg_t *cfg, ctr_spawned_t *out, ctr_error_t *err);

/* Let the child set itself up and exec. On failure the child has exited
 * (the caller reaps it); err says what failed inside the container, and
 * *exec_failed tells whether it was the execve itself (126/127 semantics).
 * Returns 1 when the child stopped before pivot_root (pause_before_pivot):
 * call it again to let it go on. */
int ctr_spawn_start(ctr_spawned_t *sp, bool *exec_failed, ctr_error_t *err);

/* ---- shared by spawn.c and exec.c (child side) ---- */

/* Send an error message to the parent over the sync socket and _exit(code). */
__attribute__((noreturn)) void ctr_child_fail(int sync_fd, const ctr_error_t *err, int code);

/* execve argv[0], searching PATH from env when it has no '/'. Returns only on
 * failure, with err filled; the caller maps ENOENT to 127, others to 126. */
void ctr_exec_search(char **argv, char **env, ctr_error_t *err);

/* One candidate of a PATH search: execute path (returns only on failure,
 * with err->errnum set as execve would: ENOENT, EACCES, ...). */
typedef int (*ctr_exec_try_fn)(const char *path, char **argv, char **env, void *ctx,
                               ctr_error_t *err);

/* The PATH search of ctr_exec_search (argv[0] with a '/' is tried as it is,
 * otherwise each PATH entry in turn; EACCES remembered, ENOENT/ENOTDIR go on,
 * anything else stops), each candidate given to try_one. Returns only on
 * failure, with errnum ENOENT when nothing was found. */
void ctr_exec_path(char **argv, char **env, ctr_exec_try_fn try_one, void *ctx, ctr_error_t *err);

/* Load p's seccomp filter if it is time: early = before ctr_apply_identity
 * (without no_new_privs loading needs CAP_SYS_ADMIN, which the identity
 * drops), otherwise last, just before execve. */
int ctr_confine(const ctr_process_t *p, bool early, ctr_error_t *err);

/* Apply p's user, groups, capabilities, no_new_privs (child side, before exec). */
int ctr_apply_identity(const ctr_process_t *p, ctr_error_t *err);

/* setrlimit each of rlimits[0..n) (the OCI process.rlimits); before the
 * capabilities are dropped (raising a hard limit needs CAP_SYS_RESOURCE). */
int ctr_apply_rlimits(const ctr_rlimit_t *rlimits, size_t n, ctr_error_t *err);

/* Write adj to /proc/self/oom_score_adj (process.oomScoreAdj); INT32_MIN:
 * leave it as it is. */
int ctr_write_oom_score(int adj, ctr_error_t *err);

/* Open /dev/ptmx of the current mount namespace, send the master to the
 * parent over sync_fd, make the slave the controlling tty and stdio. */
int ctr_setup_console(int sync_fd, ctr_error_t *err);

/* Receive the messages the child sends until exec (EOF) or failure:
 * 'T' a pty master (-> *pty_fd), 'P' a pid (-> *child_pid), 'X' about to
 * exec, 'W' set up and waiting on its start fifo (returns 0 at once),
 * 'H' stopped before pivot_root for the create hooks (returns 1),
 * 'E'/'F' setup/exec failure. */
int ctr_sync_wait(int sync_fd, int *pty_fd, pid_t *child_pid, bool *exec_failed, ctr_error_t *err);

/* Child side, before pivot_root: send 'H' and wait for the parent's 'C'
 * (the create hooks ran); exits when the parent gives up. */
int ctr_pause_for_hooks(int sync_fd, ctr_error_t *err);

/* Child side: send a one-value message (kind 'P', 'X'). */
int ctr_sync_send(int sync_fd, char kind, int value, ctr_error_t *err);

/* Close every fd above 2 except keep (the sync socket): before the working
 * directory is entered, so no directory fd of ours can be reached through
 * /proc/self/fd. */
int ctr_close_fds_except(int keep, ctr_error_t *err);

/* The same from fd `first` on (fds 3..first-1 are passed on: --preserve-fds);
 * keep must be >= first. */
int ctr_close_fds_from_except(int first, int keep, ctr_error_t *err);

/* Mark every fd above 2 close-on-exec, so nothing of ours reaches the container. */
int ctr_close_leaked_fds(ctr_error_t *err);

/* Mark every fd from `first` on close-on-exec and clear it on 3..first-1 (the
 * preserved fds; each must be open). */
int ctr_close_leaked_fds_from(int first, ctr_error_t *err);

/* Write "0" to each file: move the calling thread/process into cgroups. */
int ctr_join_cgroup_files(char **files, ctr_error_t *err);

/* Make fds 0-2 the given fds (-1: /dev/null), clearing close-on-exec. */
int ctr_redirect_stdio(int in, int out, int errfd, ctr_error_t *err);

#endif
