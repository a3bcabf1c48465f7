/* sig.c - signal names, masks, signalfd and dispositions. */
#include "sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
  const char *name;
  int sig;
} sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
            {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
            {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
            {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
            {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
            {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
            {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
            {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {NULL, 0}};

const char *ctr_signal_name_at(int i, int *sig) {
  if (i < 0 || i >= (int)(sizeof sigs / sizeof *sigs))
    return NULL;
  if (sig)
    *sig = sigs[i].sig;
  return sigs[i].name;
}

static int parse_rt(const char *s, ctr_error_t *err) {
  int base = strncasecmp(s, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;
  const char *p = s + 5;
  long off = 0;
  if (*p) {
    char *end;
    off = strtol(p, &end, 10);
    if (*end || (base == SIGRTMIN && off < 0) || (base == SIGRTMAX && off > 0))
      return ctr_fail(err, EINVAL, "unknown signal '%s'", s);
  }
  long sig = base + off;
  if (sig < SIGRTMIN || sig > SIGRTMAX)
    return ctr_fail(err, EINVAL, "signal '%s' out of range", s);
  return (int)sig;
}

int ctr_signum(const char *name, ctr_error_t *err) {
  const char *s = name;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  if (*s >= '0' && *s <= '9') {
    char *end;
    long n = strtol(s, &end, 10);
    if (*end || n < 1 || n > SIGRTMAX)
      return ctr_fail(err, EINVAL, "unknown signal '%s'", name);
    return (int)n;
  }
  for (int i = 0; sigs[i].name; i++)
    if (strcasecmp(sigs[i].name, s) == 0)
      return sigs[i].sig;
  if (strcasecmp(s, "IOT") == 0)
    return SIGABRT;
  if (strcasecmp(s, "POLL") == 0)
    return SIGIO;
  if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0)
    return parse_rt(s, err);
  return ctr_fail(err, EINVAL, "unknown signal '%s'", name);
}

const char *ctr_signame(int sig, char *buf, size_t size, ctr_error_t *err) {
  for (int i = 0; sigs[i].name; i++)
    if (sigs[i].sig == sig) {
      snprintf(buf, size, "%s", sigs[i].name);
      return buf;
    }
  if (sig == SIGRTMIN)
    snprintf(buf, size, "RTMIN");
  else if (sig > SIGRTMIN && sig <= SIGRTMAX)
    snprintf(buf, size, "RTMIN+%d", sig - SIGRTMIN);
  else {
    ctr_fail(err, EINVAL, "no signal number %d", sig);
    return NULL;
  }
  return buf;
}

int ctr_sigmask(int how, const sigset_t *set, sigset_t *old, ctr_error_t *err) {
  if (sigprocmask(how, set, old) < 0)
    return ctr_fail_errno(err, "sigprocmask");
  return 0;
}

int ctr_signalfd(const sigset_t *set, int flags, ctr_error_t *err) {
  int fd = signalfd(-1, set, flags);
  if (fd < 0)
    return ctr_fail_errno(err, "signalfd");
  return fd;
}

int ctr_read_signal(int fd, ctr_siginfo_t *info, ctr_error_t *err) {
  struct signalfd_siginfo si;
  ssize_t r;
  do
    r = read(fd, &si, sizeof si);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return ctr_fail_errno(err, "read signalfd %d", fd);
  if (r != (ssize_t)sizeof si)
    return ctr_fail(err, EIO, "read signalfd %d: short read (%zd bytes)", fd, r);
  info->signo = (int)si.ssi_signo;
  info->code = si.ssi_code;
  info->pid = (int)si.ssi_pid;
  info->uid = (int)si.ssi_uid;
  info->status = si.ssi_status;
  return 0;
}

int ctr_signal_disposition(int sig, int ignore, ctr_error_t *err) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ignore ? SIG_IGN : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) < 0)
    return ctr_fail_errno(err, "set signal %d to %s", sig, ignore ? "ignore" : "default");
  return 0;
}

/* The C library's sigaction refuses the real-time signals it reserves (32,
 * 33: EINVAL), which a caller may still have ignored: for those, the raw
 * rt_sigaction with the kernel's struct sigaction all zero (handler SIG_DFL,
 * no flags, no restorer, empty mask; the same layout on x86-64 and arm64). */
static int default_disposition(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) == 0)
    return 0;
  if (errno != EINVAL)
    return -1;
  uint64_t k[4] = {0, 0, 0, 0}; /* handler, flags, restorer, mask: all zero, any layout */
  return (int)syscall(SYS_rt_sigaction, sig, k, NULL, (size_t)(NSIG - 1) / 8);
}

int ctr_signals_reset(ctr_error_t *err) {
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP)
      continue;
    if (default_disposition(sig) < 0)
      return ctr_fail_errno(err, "set signal %d to default", sig);
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
    return ctr_fail_errno(err, "unblock every signal (sigprocmask)");
  return 0;
}
