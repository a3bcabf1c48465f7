/* supervise.h - the container's supervisor loop (the role conmon plays for
 * podman): relay the container's output to its log (and, in the foreground,
 * to our terminal), feed it input, forward signals and window-size changes,
 * reap it and report how it ended. */
#ifndef CTR_SUPERVISE_H
#define CTR_SUPERVISE_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct ctr_supervise_cfg {
  pid_t pid;
  int pidfd;              /* required: tells when the process exits */
  int out_fd, err_fd;     /* read ends of the container's stdout/stderr pipes, or -1 */
  int pty_fd;             /* master of the container's console, or -1 */
  int in_fd;              /* host fd whose data goes to the container (stdin), or -1 */
  int in_pipe;            /* write end of the container's stdin pipe (no tty), or -1;
                          owned by ctr_supervise (closed at the end of the input) */
  int echo_out, echo_err; /* where to copy output too (foreground), or -1 */
  const char *log_path;   /* JSON-lines log, docker's json-file format, or NULL */
  size_t log_max;         /* rotate when the log would exceed this (0: never) */
  int log_files;          /* files kept in all, with the rotated ones (>= 1) */
  bool forward_signals;   /* INT TERM HUP QUIT USR1 USR2 go to the container */
  bool kill_on_interrupt; /* instead, INT and TERM SIGKILL it (out->interrupted says which) */
  /* with kill_on_interrupt: where our own SIGINT/SIGTERM handler records a
   * signal that came before they were blocked here (NULL: none) */
  volatile sig_atomic_t *pending_interrupt;
  bool raw_tty;         /* in_fd is a terminal: raw mode while supervising */
  long long timeout_ms; /* > 0: SIGKILL the process after this long (timed_out) */
} ctr_supervise_cfg_t;

typedef struct ctr_exit {
  bool signaled;
  int code;        /* exit code, or the signal number when signaled */
  bool timed_out;  /* killed at cfg->timeout_ms */
  int interrupted; /* killed for this SIGINT/SIGTERM of ours (kill_on_interrupt), or 0 */
} ctr_exit_t;

/* Run until the process has exited and its output is drained. */
int ctr_supervise(const ctr_supervise_cfg_t *cfg, ctr_exit_t *out, ctr_error_t *err);

/* Format now (CLOCK_REALTIME) as RFC 3339 with nanoseconds, UTC. */
void ctr_timestamp(char *buf, size_t len);

#endif
