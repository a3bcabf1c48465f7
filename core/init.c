/* init.c - docker run --init: the container's PID 1 as a reaper and
 * signal forwarder, the sealed trampoline's init mode. See init.h. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "sig.h"
#include "trampoline/trampoline.h"

/* In the child: a process group of its own (the terminal's foreground when
 * there is one: ^C reaches it once, not through the init too), then the
 * signal mask it had. */
static int child_setup(bool terminal, const sigset_t *old, ctr_error_t *err) {
  if (setpgid(0, 0) < 0)
    return ctr_fail_errno(err, "setpgid for the init's child");
  if (terminal && tcsetpgrp(STDIN_FILENO, getpgrp()) < 0)
    return ctr_fail_errno(err, "tcsetpgrp for the init's child");
  return ctr_sigmask(SIG_SETMASK, old, NULL, err);
}

/* In the init: exec the sealed copy of the trampoline in its init mode
 * (argv: CTR_INIT_ARGV0, CHILD, READY_FD) with an empty environment. Only
 * returns on failure. */
static void exec_init(int memfd, pid_t child, int ready, ctr_error_t *err) {
  char pid[16], fd[16];
  snprintf(pid, sizeof pid, "%d", (int)child);
  snprintf(fd, sizeof fd, "%d", ready);
  char *argv[] = {(char *)CTR_INIT_ARGV0, pid, fd, NULL};
  char *env[] = {NULL};
  if (fcntl(ready, F_SETFD, 0) < 0) {
    ctr_fail_errno(err, "keep the init's ready pipe open");
    return;
  }
  syscall(SYS_execveat, memfd, "", argv, env, AT_EMPTY_PATH);
  ctr_fail_errno(err, "execute the sealed init");
}

/* In the child: wait until the init runs its own program (one byte on the
 * ready pipe; end of file when it could not). */
static int await_init(int ready, ctr_error_t *err) {
  char b = 0;
  ssize_t n;
  do
    n = read(ready, &b, 1);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return ctr_fail_errno(err, "read the init's ready pipe");
  if (n != 1 || b != 'I')
    return ctr_fail(err, EIO, "the container's init did not start");
  return 0;
}

int ctr_init_fork(int sync_fd, int memfd, bool terminal, ctr_error_t *err) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0)
    return ctr_fail_errno(err, "pipe for the init");
  cleanup_fd int rd = ready[0];
  cleanup_fd int wr = ready[1];
  /* Every signal blocked: PID 1 gets a signal with the default action
   * only when it is blocked (then sigwaitinfo takes it). The mask survives
   * the init's execve. */
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  if (ctr_sigmask(SIG_BLOCK, &all, &old, err) < 0)
    return -1;
  pid_t child = fork();
  if (child < 0)
    return ctr_fail_errno(err, "fork the init's child");
  if (child == 0) {
    if (close(steal_fd(&wr)) < 0)
      return ctr_fail_errno(err, "close the init's end of the ready pipe");
    if (close(memfd) < 0)
      return ctr_fail_errno(err, "close the init's program in its child");
    if (await_init(rd, err) < 0)
      return -1;
    return child_setup(terminal, &old, err);
  }
  /* the init: nothing of ours goes on but stdio and the ready pipe */
  if (sync_fd >= 0 && close(sync_fd) < 0)
    ctr_fail_errno(err, "close the sync socket in the init");
  else
    exec_init(memfd, child, wr, err);
  dprintf(STDERR_FILENO, "luac-ctr init: %s\n", err->msg);
  _exit(125);
}
