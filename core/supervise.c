/* supervise.c - relay, log, forward, reap. See supervise.h. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "relay.h"

#define LINE_MAX_BYTES 16384 /* longer lines are split, as docker's json-file does */

typedef struct stream {
  int fd;
  const char *name; /* "stdout" / "stderr" */
  int echo;
  bool no_splice;
  char line[LINE_MAX_BYTES];
  size_t len;
} stream_t;

typedef struct logfile {
  int fd;
  const char *path;
  size_t size, max;
  int files;
} logfile_t;

void ctr_timestamp(char *buf, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

/* ---- the log: docker json-file lines {"log":..,"stream":..,"time":..} ---- */

static size_t json_escape(char *out, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (c == '\r') {
      out[o++] = '\\';
      out[o++] = 'r';
    } else if (c == '\t') {
      out[o++] = '\\';
      out[o++] = 't';
    } else if (c < 0x20 || c == 0x7f) {
      memcpy(out + o, "\\u00", 4);
      out[o + 4] = hex[c >> 4];
      out[o + 5] = hex[c & 15];
      o += 6;
    } else {
      out[o++] = (char)c;
    }
  }
  return o;
}

static int log_open(logfile_t *lf, ctr_error_t *err) {
  lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (lf->fd < 0)
    return ctr_fail_errno(err, "open the container log %s", lf->path);
  struct stat st;
  lf->size = fstat(lf->fd, &st) == 0 ? (size_t)st.st_size : 0;
  return 0;
}

static int log_rotate(logfile_t *lf, ctr_error_t *err) {
  close(lf->fd);
  lf->fd = -1;
  char from[4096], to[4096];
  for (int i = lf->files - 1; i >= 1; i--) {
    if (i == 1)
      snprintf(from, sizeof from, "%s", lf->path);
    else
      snprintf(from, sizeof from, "%s.%d", lf->path, i - 1);
    snprintf(to, sizeof to, "%s.%d", lf->path, i);
    if (rename(from, to) < 0 && errno != ENOENT)
      return ctr_fail_errno(err, "rotate %s to %s", from, to);
  }
  if (lf->files <= 1 && unlink(lf->path) < 0 && errno != ENOENT)
    return ctr_fail_errno(err, "truncate the log %s", lf->path);
  return log_open(lf, err);
}

static int log_line(logfile_t *lf, const char *stream, const char *s, size_t n, ctr_error_t *err) {
  if (lf->fd < 0)
    return 0;
  char buf[LINE_MAX_BYTES * 6 + 96];
  char ts[64];
  ctr_timestamp(ts, sizeof ts);
  size_t o = (size_t)snprintf(buf, sizeof buf, "{\"log\":\"");
  o += json_escape(buf + o, s, n);
  o += (size_t)snprintf(buf + o, sizeof buf - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream,
                        ts);
  if (lf->max > 0 && lf->size + o > lf->max && lf->size > 0 && log_rotate(lf, err) < 0)
    return -1;
  if (ctr_write_all(lf->fd, buf, o) < 0)
    return ctr_fail_errno(err, "write the container log %s", lf->path);
  lf->size += o;
  return 0;
}

/* Append data to the stream's line buffer, logging each complete line. */
static int stream_feed(stream_t *st, logfile_t *lf, const char *p, size_t n, ctr_error_t *err) {
  if (st->echo >= 0)
    (void)ctr_write_all(st->echo, p, n); /* a closed terminal must not stop the container */
  for (size_t i = 0; i < n; i++) {
    st->line[st->len++] = p[i];
    if (p[i] == '\n' || st->len == sizeof st->line) {
      if (log_line(lf, st->name, st->line, st->len, err) < 0)
        return -1;
      st->len = 0;
    }
  }
  return 0;
}

static int stream_flush(stream_t *st, logfile_t *lf, ctr_error_t *err) {
  if (st->len == 0)
    return 0;
  int r = log_line(lf, st->name, st->line, st->len, err);
  st->len = 0;
  return r;
}

/* Read what is there; returns 0 at EOF (fd closed and set to -1), 1 otherwise. */
static int stream_read(stream_t *st, logfile_t *lf, ctr_error_t *err) {
  if (lf->fd < 0) {      /* nothing to log: splice straight to where it goes */
    ctr_error_t ignored; /* as below: a read error (EIO from a pty) ends the stream */
    ssize_t m = ctr_relay_out(st->fd, &st->echo, &st->no_splice, &ignored);
    if (m <= 0)
      ctr_close_fdp(&st->fd);
    return m > 0;
  }
  char buf[CTR_RELAY_CHUNK];
  ssize_t n = read(st->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 1;
  if (n <= 0) { /* EOF, or EIO from a pty whose slave side is gone */
    close(st->fd);
    st->fd = -1;
    return stream_flush(st, lf, err) < 0 ? -1 : 0;
  }
  return stream_feed(st, lf, buf, (size_t)n, err) < 0 ? -1 : 1;
}

/* ---- signals and terminal ----------------------------------------------- */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void copy_winsize(int from, int to) {
  struct winsize ws;
  if (from >= 0 && to >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0)
    (void)ioctl(to, TIOCSWINSZ, &ws);
}

/* kill_on_interrupt: the process dies with the interrupt (once). */
static void kill_for(int sig, int pidfd, int *interrupted) {
  if (*interrupted)
    return;
  if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
    return; /* not killed: its end is its own */
  *interrupted = sig;
}

static void handle_signal(int sfd, const ctr_supervise_cfg_t *cfg, int *interrupted) {
  struct signalfd_siginfo si;
  ssize_t n = read(sfd, &si, sizeof si);
  if (n != (ssize_t)sizeof si)
    return;
  if (cfg->kill_on_interrupt && ((int)si.ssi_signo == SIGINT || (int)si.ssi_signo == SIGTERM)) {
    kill_for((int)si.ssi_signo, cfg->pidfd, interrupted);
    return;
  }
  if ((int)si.ssi_signo == SIGWINCH) {
    copy_winsize(cfg->in_fd, cfg->pty_fd);
    if (cfg->pty_fd >= 0)
      (void)kill(cfg->pid, SIGWINCH);
    return;
  }
  (void)kill(cfg->pid, (int)si.ssi_signo);
}

/* Input ended (EOF, or the container stopped reading): close its stdin pipe. */
static void end_input(bool *pumping, int *in_pipe) {
  *pumping = false;
  ctr_close_fdp(in_pipe);
}

/* ---- the loop -------------------------------------------------------------- */

typedef struct sup {
  const ctr_supervise_cfg_t *cfg;
  stream_t out, err, pty;
  logfile_t log;
  int sfd, in_pipe;
  bool exited, pumping;
  bool quiet;      /* after the exit, 100 ms without output: what holds the pipes is a leftover */
  ctr_pump_t pump; /* our input (in_fd) to the container's stdin pipe or pty */
  struct timespec exit_at;
  struct timespec deadline; /* cfg->timeout_ms from the start (when > 0) */
  bool timed_out;
  int interrupted; /* kill_on_interrupt: the signal it was killed for */
} sup_t;

/* The supervisor works on its own copies of the fds (closed as streams end),
 * so the caller's fds stay valid and are closed by the caller (all but
 * in_pipe, which is handed to the supervisor). */
static int dup_own(int fd, int *out, ctr_error_t *err) {
  *out = -1;
  if (fd >= 0 && (*out = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
    return ctr_fail_errno(err, "dup fd %d for the supervisor", fd);
  return 0;
}

static int open_streams(sup_t *s, ctr_error_t *err) {
  const ctr_supervise_cfg_t *cfg = s->cfg;
  s->out = (stream_t){.fd = -1, .name = "stdout", .echo = cfg->echo_out};
  s->err = (stream_t){.fd = -1, .name = "stderr", .echo = cfg->echo_err};
  s->pty = (stream_t){.fd = -1, .name = "stdout", .echo = cfg->echo_out};
  s->log = (logfile_t){.fd = -1,
                       .path = cfg->log_path,
                       .max = cfg->log_max,
                       .files = cfg->log_files < 1 ? 1 : cfg->log_files};
  if (dup_own(cfg->out_fd, &s->out.fd, err) < 0 || dup_own(cfg->err_fd, &s->err.fd, err) < 0 ||
      dup_own(cfg->pty_fd, &s->pty.fd, err) < 0)
    return -1;
  int to = cfg->pty_fd >= 0 ? cfg->pty_fd : s->in_pipe;
  if (cfg->in_fd >= 0 && to >= 0) {
    if (ctr_pump_init(&s->pump, cfg->in_fd, to, err) < 0)
      return -1;
    s->pumping = true;
  }
  if (cfg->log_path && log_open(&s->log, err) < 0)
    return -1;
  return 0;
}

static void close_streams(sup_t *s) {
  int *fds[] = {&s->out.fd, &s->err.fd, &s->pty.fd, &s->in_pipe, &s->log.fd, &s->sfd};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    ctr_close_fdp(fds[i]);
}

static int drain_deadline_passed(const sup_t *s) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - s->exit_at.tv_sec) * 1000 + (now.tv_nsec - s->exit_at.tv_nsec) / 1000000 >
         2000;
}

static long long ms_until(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (t->tv_sec - now.tv_sec) * 1000LL + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* The poll timeout: 100 ms after the exit (draining), until the deadline
 * while there is one, else none. At the deadline the process is killed. */
static int poll_timeout(sup_t *s) {
  if (s->exited)
    return 100;
  if (s->cfg->timeout_ms <= 0 || s->timed_out)
    return -1;
  long long left = ms_until(&s->deadline);
  if (left > 0)
    return left > 60000 ? 60000 : (int)left;
  s->timed_out = true;
  if (syscall(SYS_pidfd_send_signal, s->cfg->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
    s->timed_out = false; /* not killed: the exit is its own */
  return -1;
}

static int loop_once(sup_t *s, ctr_error_t *err) {
  struct pollfd p[7];
  stream_t *streams[3] = {&s->out, &s->err, &s->pty};
  int n = 0;
  for (int i = 0; i < 3; i++)
    p[n++] = (struct pollfd){.fd = streams[i]->fd, .events = POLLIN};
  p[n++] = (struct pollfd){.fd = s->exited ? -1 : s->cfg->pidfd, .events = POLLIN};
  p[n++] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
  ctr_pump_pollfds(&s->pump, &p[n], &p[n + 1]);
  if (s->exited || !s->pumping)
    p[n].fd = p[n + 1].fd = -1;
  n += 2;
  int r = poll(p, (nfds_t)n, poll_timeout(s));
  if (r < 0 && errno != EINTR)
    return ctr_fail_errno(err, "poll in the supervisor");
  s->quiet = s->exited && r == 0;
  for (int i = 0; i < 3; i++)
    if (p[i].revents && stream_read(streams[i], &s->log, err) < 0)
      return -1;
  if (p[3].revents) {
    s->exited = true;
    clock_gettime(CLOCK_MONOTONIC, &s->exit_at);
  }
  if (p[4].revents)
    handle_signal(s->sfd, s->cfg, &s->interrupted);
  if (p[5].revents || p[6].revents) {
    if (ctr_pump_step(&s->pump) == 0)
      end_input(&s->pumping, &s->in_pipe);
  }
  return 0;
}

static int reap(const ctr_supervise_cfg_t *cfg, ctr_exit_t *out, ctr_error_t *err) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do
    r = waitid(P_PIDFD, (id_t)cfg->pidfd, &si, WEXITED);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return ctr_fail_errno(err, "wait for the container process %d", (int)cfg->pid);
  out->signaled = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
  out->code = si.si_status;
  return 0;
}

static int run_loop(sup_t *s, ctr_error_t *err) {
  for (;;) {
    if (loop_once(s, err) < 0)
      return -1;
    bool open = s->out.fd >= 0 || s->err.fd >= 0 || s->pty.fd >= 0;
    if (s->exited && (!open || s->quiet || drain_deadline_passed(s)))
      break;
  }
  stream_t *streams[3] = {&s->out, &s->err, &s->pty};
  for (int i = 0; i < 3; i++)
    if (stream_flush(streams[i], &s->log, err) < 0)
      return -1;
  return 0;
}

int ctr_supervise(const ctr_supervise_cfg_t *cfg, ctr_exit_t *out, ctr_error_t *err) {
  sup_t s;
  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.sfd = s.log.fd = -1;
  s.in_pipe = cfg->in_pipe; /* ours: closed when the input ends, so the container sees EOF */
  s.out.fd = s.err.fd = s.pty.fd = -1;
  clock_gettime(CLOCK_MONOTONIC, &s.deadline);
  s.deadline.tv_sec += (time_t)(cfg->timeout_ms / 1000);
  s.deadline.tv_nsec += (long)(cfg->timeout_ms % 1000) * 1000000;
  if (open_streams(&s, err) < 0) {
    close_streams(&s);
    return -1;
  }
  sigset_t mask, old;
  sigemptyset(&mask);
  if (cfg->forward_signals)
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
      sigaddset(&mask, forwarded[i]);
  if (cfg->kill_on_interrupt) {
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
  }
  struct sigaction ign = {.sa_handler = SIG_IGN}, oldpipe;
  sigaction(SIGPIPE, &ign, &oldpipe);
  sigprocmask(SIG_BLOCK, &mask, &old);
  struct termios saved;
  bool raw = cfg->raw_tty && cfg->in_fd >= 0 && tcgetattr(cfg->in_fd, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(cfg->in_fd, TCSADRAIN, &t);
  }
  copy_winsize(cfg->in_fd, cfg->pty_fd);
  int rc = -1;
  s.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s.sfd < 0) {
    ctr_fail_errno(err, "signalfd for the supervisor");
  } else {
    /* INT and TERM are blocked now: one that came before is in the flag */
    if (cfg->kill_on_interrupt && cfg->pending_interrupt && *cfg->pending_interrupt)
      kill_for((int)*cfg->pending_interrupt, cfg->pidfd, &s.interrupted);
    rc = run_loop(&s, err);
  }
  if (raw)
    tcsetattr(cfg->in_fd, TCSADRAIN, &saved);
  close_streams(&s);
  sigprocmask(SIG_SETMASK, &old, NULL);
  sigaction(SIGPIPE, &oldpipe, NULL);
  if (rc < 0) {
    (void)kill(cfg->pid, SIGKILL);
    ctr_exit_t ignored;
    ctr_error_t e2;
    reap(cfg, &ignored, &e2);
    return -1;
  }
  out->timed_out = s.timed_out;
  out->interrupted = s.interrupted;
  return reap(cfg, out, err);
}
