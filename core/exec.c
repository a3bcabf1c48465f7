/* exec.c - enter a running container. See exec.h. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "execguard.h"
#include "keyring.h"
#include "proc.h"
#include "rootfs.h"
#include "selfexec.h"
#include "sig.h"

/* The command itself (grandchild, our child through CLONE_PARENT). */
__attribute__((noreturn)) static void command_main(const ctr_exec_cfg_t *cfg, int sync_fd,
                                                   bool sealed) {
  ctr_error_t err;
  memset(&err, 0, sizeof err);
  if (ctr_join_session_keyring(&err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  if (cfg->proc.terminal) {
    if (ctr_setup_console(sync_fd, &err) < 0)
      ctr_child_fail(sync_fd, &err, 125);
  } else if (ctr_redirect_stdio(cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd, &err) < 0 ||
             (setsid() < 0 && ctr_fail_errno(&err, "setsid for the command") < 0)) {
    ctr_child_fail(sync_fd, &err,
                   125); /* setsid: the caller's terminal is not its controlling tty */
  }
  /* the helper's cgroup and pid fds and every other fd of ours are closed
   * before the working directory is entered */
  if (ctr_close_fds_from_except(3 + cfg->preserve_fds, sync_fd, &err) < 0 ||
      ctr_apply_rlimits(cfg->rlimits, cfg->nrlimits, &err) < 0 ||
      ctr_write_oom_score(cfg->oom_score_adj, &err) < 0 ||
      ctr_enter_cwd(cfg->proc.cwd ? cfg->proc.cwd : "/", false, &err) < 0 ||
      ctr_confine(&cfg->proc, true, &err) < 0 || ctr_apply_identity(&cfg->proc, &err) < 0 ||
      ctr_close_leaked_fds_from(3 + cfg->preserve_fds, &err) < 0 ||
      ctr_sync_send(sync_fd, 'X', 0, &err) < 0 || ctr_confine(&cfg->proc, false, &err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  ctr_exec_guarded(cfg->proc.argv, cfg->proc.env, sealed, sync_fd, &err);
  ctr_child_fail(sync_fd, &err, err.errnum == ENOENT ? 127 : 126);
}

/* The first child: enter, then clone the command as our parent's child. */
__attribute__((noreturn)) static void enter_main(const ctr_exec_cfg_t *cfg, int sync_fd,
                                                 bool sealed) {
  ctr_error_t err;
  memset(&err, 0, sizeof err);
  /* the command (our clone) inherits this: default dispositions, no mask */
  if (ctr_signals_reset(&err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    ctr_fail_errno(&err, "prctl PR_SET_DUMPABLE 0");
    ctr_child_fail(sync_fd, &err, 125);
  }
  /* the command is seen in the container before its execve: nothing of the
   * caller's command line or environment goes in with it */
  if (ctr_wipe_cmdline_env(&err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  if (ctr_join_cgroup_files(cfg->cgroup_procs, &err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  if (setns(cfg->target_pidfd, cfg->ns_flags) < 0) {
    ctr_fail_errno(&err, "setns into the namespaces of pid %d (flags %#x)", (int)cfg->target,
                   cfg->ns_flags);
    ctr_child_fail(sync_fd, &err, 125);
  }
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PARENT;
  if (cfg->cgroup_into_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)cfg->cgroup_into_fd;
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    ctr_fail_errno(&err, "clone the command inside the container");
    ctr_child_fail(sync_fd, &err, 125);
  }
  if (pid == 0)
    command_main(cfg, sync_fd, sealed);
  if (ctr_sync_send(sync_fd, 'P', (int)pid, &err) < 0)
    _exit(125);
  _exit(0);
}

static int reap_enter(pid_t pid, ctr_error_t *err) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return ctr_fail_errno(err, "wait for the exec helper %d", (int)pid);
  return 0;
}

int ctr_exec_start(const ctr_exec_cfg_t *cfg, ctr_spawned_t *out, bool *exec_failed,
                   ctr_error_t *err) {
  *exec_failed = false;
  out->pid = -1;
  out->pidfd = out->sync_fd = out->pty_fd = -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return ctr_fail_errno(err, "socketpair for exec");
  cleanup_fd int mine = sv[0];
  bool sealed = ctr_running_sealed(); /* checked here, on the host (execguard.h) */
  fflush(NULL);                       /* do not duplicate buffered output into the helper */
  pid_t helper = fork();
  if (helper < 0) {
    ctr_fail_errno(err, "fork the exec helper");
    close(sv[1]);
    return -1;
  }
  if (helper == 0) {
    close(sv[0]);
    enter_main(cfg, sv[1], sealed);
  }
  close(sv[1]);
  pid_t cmd = -1;
  int r = ctr_sync_wait(mine, &out->pty_fd, &cmd, exec_failed, err);
  if (reap_enter(helper, r < 0 ? NULL : err) < 0)
    r = -1;
  if (cmd > 0) {
    out->pid = cmd;
    out->pidfd = (int)syscall(SYS_pidfd_open, cmd, 0);
    if (out->pidfd < 0 && r == 0)
      r = ctr_fail_errno(err, "pidfd_open %d", (int)cmd);
  }
  return r;
}
