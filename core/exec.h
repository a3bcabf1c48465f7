/* exec.h - run a command inside a running container (docker exec).
 *
 * A first child makes itself non-dumpable (so nothing in the container can
 * reopen our binary through /proc/<pid>/exe or map_files: CVE-2019-5736),
 * joins the container's cgroup, then all its namespaces at once with
 * setns(pidfd, flags), and clones the command with CLONE_PARENT so that it
 * is our child and really inside the pid namespace. The command gets the
 * container's user, capabilities, no_new_privs, environment and cwd. */
#ifndef CTR_EXEC_H
#define CTR_EXEC_H

#include "spawn.h"

typedef struct ctr_exec_cfg {
  pid_t target;        /* the container's init */
  int target_pidfd;    /* its pidfd */
  int ns_flags;        /* CLONE_NEW* of the namespaces to join */
  char **cgroup_procs; /* files to write "0" to (v1 "tasks"), NULL-terminated, or NULL */
  int cgroup_into_fd;  /* v2 cgroup the command is cloned into, or -1 */
  ctr_process_t proc;
  ctr_rlimit_t *rlimits; /* the process's rlimits (docker exec: the container's) */
  size_t nrlimits;
  int oom_score_adj; /* process.oomScoreAdj, INT32_MIN: the container's */
  int stdin_fd, stdout_fd, stderr_fd;
  int preserve_fds; /* fds 3 .. 3+preserve_fds-1 are passed on (runc's --preserve-fds) */
} ctr_exec_cfg_t;

/* Start the command; on success out->pid/pidfd/pty_fd describe it. */
int ctr_exec_start(const ctr_exec_cfg_t *cfg, ctr_spawned_t *out, bool *exec_failed,
                   ctr_error_t *err);

#endif
