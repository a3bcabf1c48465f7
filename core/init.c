/* init.c - docker run --init: the container's PID 1 as a reaper and
 * signal forwarder. See init.h. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "sig.h"

/* Report a failure of the init on the container's stderr and end it. */
__attribute__((noreturn)) static void init_die(const ctr_error_t *err) {
  dprintf(STDERR_FILENO, "luac-ctr init: %s\n", err->msg);
  _exit(125);
}

/* The address range [*start, *end) of field `first` and the next one of
 * /proc/self/stat (48/49: argv, 50/51: the environment). */
static int stat_range(int first, uintptr_t *start, uintptr_t *end, ctr_error_t *err) {
  char buf[2048];
  cleanup_fd int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open /proc/self/stat");
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n <= 0)
    return ctr_fail_errno(err, "read /proc/self/stat");
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the name may hold spaces: fields count from field 3 */
  int field = 2;
  uintptr_t v[2] = {0, 0};
  for (char *tok = p ? strtok(p + 1, " ") : NULL; tok; tok = strtok(NULL, " ")) {
    field++;
    if (field == first || field == first + 1)
      v[field - first] = (uintptr_t)strtoull(tok, NULL, 10);
  }
  if (v[0] == 0 || v[1] <= v[0])
    return ctr_fail(err, EINVAL, "no address range at field %d of /proc/self/stat", first);
  *start = v[0];
  *end = v[1];
  return 0;
}

/* Our argv and environment are the supervisor's (we are its fork): wipe
 * them, so that ps in the container shows "init" and nothing of the host's
 * command line or environment. Not dumpable: the container's processes
 * cannot read our memory. */
static int init_rename(ctr_error_t *err) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "prctl PR_SET_DUMPABLE 0 for the init");
  if (prctl(PR_SET_NAME, "init", 0, 0, 0) < 0)
    return ctr_fail_errno(err, "prctl PR_SET_NAME init");
  uintptr_t s = 0, e = 0;
  if (stat_range(50, &s, &e, err) < 0)
    return -1;
  memset((void *)s, 0, e - s);
  if (stat_range(48, &s, &e, err) < 0)
    return -1;
  memset((void *)s, 0, e - s);
  if (e - s > sizeof "init")
    memcpy((void *)s, "init", sizeof "init");
  return 0;
}

/* Reap every child that has exited; returns the main child's wait status
 * once it has (else -1). */
static int reap(pid_t child, ctr_error_t *err) {
  int result = -1;
  for (;;) {
    int status = 0;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p == 0 || (p < 0 && errno == ECHILD))
      return result;
    if (p < 0) {
      ctr_fail_errno(err, "waitpid in the init");
      init_die(err);
    }
    if (p == child)
      result = status;
  }
}

/* The init's life: wait for signals; forward them; reap on SIGCHLD; exit
 * with the child's status. */
__attribute__((noreturn)) static void init_loop(pid_t child, const sigset_t *set) {
  ctr_error_t err;
  memset(&err, 0, sizeof err);
  if (init_rename(&err) < 0)
    init_die(&err);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) { /* without a pid namespace of its own */
    ctr_fail_errno(&err, "prctl PR_SET_CHILD_SUBREAPER for the init");
    init_die(&err);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(set, &si);
    if (sig < 0 && errno == EINTR)
      continue;
    if (sig < 0) {
      ctr_fail_errno(&err, "sigwaitinfo in the init");
      init_die(&err);
    }
    if (sig != SIGCHLD) {
      if (kill(child, sig) < 0 && errno != ESRCH) {
        ctr_fail_errno(&err, "forward signal %d to pid %d", sig, (int)child);
        init_die(&err);
      }
      continue;
    }
    int status = reap(child, &err);
    if (status == -1)
      continue;
    _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
  }
}

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

int ctr_init_fork(int sync_fd, bool terminal, ctr_error_t *err) {
  /* Every signal blocked: PID 1 gets a signal with the default action
   * only when it is blocked (then sigwaitinfo takes it). */
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  if (ctr_sigmask(SIG_BLOCK, &all, &old, err) < 0)
    return -1;
  pid_t child = fork();
  if (child < 0)
    return ctr_fail_errno(err, "fork the init's child");
  if (child == 0)
    return child_setup(terminal, &old, err);
  if (sync_fd >= 0 && close(sync_fd) < 0) {
    ctr_fail_errno(err, "close the sync socket in the init");
    init_die(err);
  }
  init_loop(child, &all);
}
