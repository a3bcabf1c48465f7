/* sig.h - signals: names <-> numbers, the signal mask, signalfd,
 * dispositions (ignore/default). */
#ifndef CTR_SIG_H
#define CTR_SIG_H

#include <signal.h>
#include <stdint.h>

#include "error.h"

/* Signal number for "TERM", "SIGTERM", "term", "RTMIN+2", or a decimal
 * number string; -1 with EINVAL in err when unknown. */
int ctr_signum(const char *name, ctr_error_t *err);
/* Name without the SIG prefix ("TERM", "RTMIN+2"), written to buf;
 * NULL (EINVAL) when sig is out of range. */
const char *ctr_signame(int sig, char *buf, size_t size, ctr_error_t *err);
/* The classic signal names, in number order, NULL-terminated ("HUP", ...). */
const char *ctr_signal_name_at(int i, int *sig);
/* sigprocmask(2); old may be NULL. how: SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK. */
int ctr_sigmask(int how, const sigset_t *set, sigset_t *old, ctr_error_t *err);
/* signalfd(2) on a new fd for the signals in set (flags SFD_CLOEXEC, SFD_NONBLOCK). */
int ctr_signalfd(const sigset_t *set, int flags, ctr_error_t *err);

typedef struct ctr_siginfo {
  int signo;
  int code; /* si_code */
  int pid;  /* sender */
  int uid;
  int status; /* exit status or signal for SIGCHLD */
} ctr_siginfo_t;
/* Read one signal from a signalfd; fails with EAGAIN when non-blocking and empty. */
int ctr_read_signal(int fd, ctr_siginfo_t *info, ctr_error_t *err);
/* Set the disposition of sig to SIG_IGN (ignore != 0) or SIG_DFL. */
int ctr_signal_disposition(int sig, int ignore, ctr_error_t *err);
/* Every signal to SIG_DFL (ignored and caught ones alike) and an empty
 * signal mask: what a process we start gets before it execs, whatever the
 * caller blocked or ignored (a blocked SIGTERM would make `stop` wait out its
 * timeout; an ignored one cannot be trapped by a shell). */
int ctr_signals_reset(ctr_error_t *err);

#endif
