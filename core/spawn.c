/* spawn.c - the container's init: clone into namespaces, build the root
 * filesystem, pivot_root, drop privileges, execve. See spawn.h. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "proc.h"
#include "init.h"
#include "keyring.h"
#include "sysctl.h"
#include "rootfs.h"
#include "execguard.h"
#include "fd.h"
#include "selfexec.h"
#include "sig.h"
#include "userns.h"

/* ---- sync protocol (parent <-> child over a SOCK_SEQPACKET pair) ---------
 * parent -> child: 'M' + SCM_RIGHTS the mounts it built (first, only with
 *                  a user namespace: userns.h); 'G' go.
 * parent -> child: 'C' go on after 'H' (the create hooks ran).
 * child -> parent: 'T' + SCM_RIGHTS pty master; 'X' about to execve;
 *                  'H' stopped before pivot_root; 'W' waiting on the start fifo;
 *                  'E' setup failed / 'F' execve failed (+ errno + message).
 * EOF after 'X' means the execve succeeded (the child's end is CLOEXEC). */
struct sync_msg {
  char kind;
  int errnum;
  char msg[sizeof(((ctr_error_t *)0)->msg)];
};

static pid_t clone3_pidfd(uint64_t flags, int cgroup_fd, int *pidfd, ctr_error_t *err) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = flags | CLONE_PIDFD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)cgroup_fd;
  }
  args.pidfd = (uint64_t)(uintptr_t)pidfd;
  args.exit_signal = SIGCHLD;
  fflush(NULL); /* do not duplicate buffered output into the child */
  long r = syscall(SYS_clone3, &args, sizeof args);
  if (r < 0)
    return ctr_fail_errno(err, "clone3 (flags %#llx)", (unsigned long long)args.flags);
  return (pid_t)r;
}

int ctr_join_cgroup_files(char **files, ctr_error_t *err) {
  for (char **p = files; p && *p; p++) {
    cleanup_fd int fd = open(*p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return ctr_fail_errno(err, "open %s", *p);
    if (write(fd, "0", 1) != 1)
      return ctr_fail_errno(err, "join the cgroup (write 0 to %s)", *p);
  }
  return 0;
}

void ctr_child_fail(int sync_fd, const ctr_error_t *err, int code) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.kind = (code == 126 || code == 127) ? 'F' : 'E';
  m.errnum = err->errnum;
  memcpy(m.msg, err->msg, sizeof m.msg);
  m.msg[sizeof m.msg - 1] = '\0';
  if (send(sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0) {
    /* parent gone: nothing else to tell */
  }
  _exit(code);
}

int ctr_sync_send(int sync_fd, char kind, int value, ctr_error_t *err) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.kind = kind;
  m.errnum = value;
  if (send(sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0)
    return ctr_fail_errno(err, "telling the parent '%c' over the sync socket", kind);
  return 0;
}

static ssize_t recv_msg(int sync_fd, struct sync_msg *m, int *fd_out) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do
    n = recvmsg(sync_fd, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return n;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy(fd_out, CMSG_DATA(c), sizeof(int));
  return n;
}

int ctr_sync_wait(int sync_fd, int *pty_fd, pid_t *child_pid, bool *exec_failed, ctr_error_t *err) {
  bool about_to_exec = false;
  *exec_failed = false;
  for (;;) {
    struct sync_msg m;
    int fd = -1;
    memset(&m, 0, sizeof m);
    ssize_t n = recv_msg(sync_fd, &m, &fd);
    if (n < 0)
      return ctr_fail_errno(err, "reading the container's setup status");
    if (n == 0) {
      if (about_to_exec)
        return 0;
      return ctr_fail(err, EIO, "the container process died during setup");
    }
    switch (m.kind) {
    case 'T':
      if (pty_fd)
        *pty_fd = fd;
      else if (fd >= 0)
        close(fd);
      break;
    case 'X':
      about_to_exec = true;
      break;
    case 'W': /* set up, blocked on its start fifo (cfg->start_fifo) */
      return 0;
    case 'H': /* stopped before pivot_root (cfg->pause_before_pivot) */
      return 1;
    case 'P':
      if (child_pid)
        *child_pid = (pid_t)m.errnum;
      break;
    case 'E':
    case 'F':
      *exec_failed = m.kind == 'F';
      err->errnum = m.errnum;
      memcpy(err->msg, m.msg, sizeof err->msg);
      err->msg[sizeof err->msg - 1] = '\0';
      return -1;
    default:
      return ctr_fail(err, EPROTO, "unexpected message '%c' from the container process", m.kind);
    }
  }
}

/* ---- exec ----------------------------------------------------------------- */

static const char *env_get(char **env, const char *name) {
  size_t len = strlen(name);
  for (char **e = env; e && *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
      return *e + len + 1;
  return NULL;
}

void ctr_exec_path(char **argv, char **env, ctr_exec_try_fn try_one, void *ctx, ctr_error_t *err) {
  if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
    ctr_fail(err, 0, "no command given");
    err->errnum = ENOENT;
    return;
  }
  if (strchr(argv[0], '/')) {
    try_one(argv[0], argv, env, ctx, err);
    return;
  }
  const char *path = env_get(env, "PATH");
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  bool denied = false;
  while (*path) {
    size_t len = strcspn(path, ":");
    char full[4096];
    if (len > 0 &&
        (size_t)snprintf(full, sizeof full, "%.*s/%s", (int)len, path, argv[0]) < sizeof full) {
      try_one(full, argv, env, ctx, err);
      if (err->errnum == EACCES)
        denied = true;
      else if (err->errnum != ENOENT && err->errnum != ENOTDIR)
        return;
    }
    path += len;
    if (*path == ':')
      path++;
  }
  if (denied) {
    ctr_fail(err, EACCES, "exec %s", argv[0]);
    return;
  }
  ctr_fail(err, 0, "exec: \"%s\": executable file not found in $PATH", argv[0]);
  err->errnum = ENOENT;
}

static int try_execve(const char *path, char **argv, char **env, void *ctx, ctr_error_t *err) {
  (void)ctx;
  execve(path, argv, env);
  return ctr_fail_errno(err, "exec %s", path);
}

void ctr_exec_search(char **argv, char **env, ctr_error_t *err) {
  ctr_exec_path(argv, env, try_execve, NULL, err);
}

/* ---- the child ------------------------------------------------------------ */

static int join_namespaces(const ctr_spawn_cfg_t *cfg, ctr_error_t *err) {
  for (size_t i = 0; i < cfg->njoin_ns; i++) {
    const char *path = cfg->join_ns[i].path;
    if (cfg->join_ns[i].type == CLONE_NEWPID)
      continue; /* we were cloned into it (clone_in_pidns) */
    cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return ctr_fail_errno(err, "open namespace %s", path);
    if (setns(fd, cfg->join_ns[i].type) < 0)
      return ctr_fail_errno(err, "setns %s", path);
  }
  return 0;
}

/* A new network namespace starts with lo down: bring it up (docker does). */
static int loopback_up(ctr_error_t *err) {
  cleanup_fd int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return ctr_fail_errno(err, "socket to bring lo up");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
    return ctr_fail_errno(err, "get the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
    return ctr_fail_errno(err, "bring lo up");
  return 0;
}

int ctr_apply_rlimits(const ctr_rlimit_t *rlimits, size_t n, ctr_error_t *err) {
  for (size_t i = 0; i < n; i++)
    if (setrlimit(rlimits[i].resource, &rlimits[i].lim) < 0)
      return ctr_fail_errno(err, "setrlimit %d to %llu/%llu", rlimits[i].resource,
                            (unsigned long long)rlimits[i].lim.rlim_cur,
                            (unsigned long long)rlimits[i].lim.rlim_max);
  return 0;
}

int ctr_write_oom_score(int adj, ctr_error_t *err) {
  if (adj == INT32_MIN)
    return 0;
  cleanup_fd int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open /proc/self/oom_score_adj");
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d", adj);
  if (write(fd, buf, (size_t)n) != n)
    return ctr_fail_errno(err, "write oom_score_adj %d", adj);
  return 0;
}

int ctr_redirect_stdio(int in, int out, int errfd, ctr_error_t *err) {
  int fds[3] = {in, out, errfd};
  cleanup_fd int devnull = -1;
  for (int i = 0; i < 3; i++) {
    int fd = fds[i];
    if (fd < 0) {
      if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return ctr_fail_errno(err, "open /dev/null for stdio");
      fd = devnull;
    }
    if (fd == i) {
      int fl = fcntl(fd, F_GETFD);
      if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
        return ctr_fail_errno(err, "clear close-on-exec on fd %d", fd);
    } else if (dup2(fd, i) < 0) {
      return ctr_fail_errno(err, "dup2 %d to %d", fd, i);
    }
  }
  return 0;
}

/* Close every fd from first on but the sync socket and the start fifo. */
static int close_fds_keeping(int first, int sync_fd, int fifo_fd, ctr_error_t *err) {
  if (fifo_fd < 0)
    return ctr_close_fds_from_except(first, sync_fd, err);
  int lo = sync_fd < fifo_fd ? sync_fd : fifo_fd, hi = sync_fd < fifo_fd ? fifo_fd : sync_fd;
  if (lo < first)
    return ctr_fail(err, EBADF, "fd %d of the runtime is among the preserved fds 3..%d", lo,
                    first - 1);
  if (lo > first && syscall(SYS_close_range, (unsigned)first, (unsigned)lo - 1, 0) < 0)
    return ctr_fail_errno(err, "close_range %d..%d", first, lo - 1);
  if (hi > lo + 1 && syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0) < 0)
    return ctr_fail_errno(err, "close_range %d..%d", lo + 1, hi - 1);
  if (syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0) < 0)
    return ctr_fail_errno(err, "close_range %d..", hi + 1);
  return 0;
}

/* Block until `start` opens the fifo for reading: reopen the O_PATH fd
 * (opened on the host, before the root changed) through /proc/self/fd for
 * writing, and write one byte. */
static int wait_start_fifo(int fifo_fd, ctr_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fifo_fd);
  int fd;
  do
    fd = open(path, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return ctr_fail_errno(err, "open the start fifo %s for writing (is /proc mounted?)", path);
  ssize_t n = write(fd, "0", 1);
  close(fd);
  close(fifo_fd);
  if (n != 1)
    return ctr_fail_errno(err, "write to the start fifo");
  return 0;
}

/* After 'W' nobody listens on the sync socket: report to the container's stderr. */
__attribute__((noreturn)) static void fail_to_stderr(const ctr_error_t *err, int code) {
  dprintf(2, "luac-runc init: %s\n", err->msg);
  _exit(code);
}

/* cfg->start_fifo: tell the parent we are set up, wait for `start`. Returns
 * the sync fd to use from now on (-1: closed). */
static int await_start(int sync_fd, int fifo_fd, ctr_error_t *err) {
  if (fifo_fd < 0)
    return sync_fd;
  if (ctr_sync_send(sync_fd, 'W', 0, err) < 0)
    _exit(125);
  close(sync_fd);
  if (wait_start_fifo(fifo_fd, err) < 0)
    fail_to_stderr(err, 125);
  return -1;
}

/* A uts namespace of the container's: new, or joined by path (a pod's). */
static bool own_uts(const ctr_spawn_cfg_t *cfg) {
  bool uts = (cfg->clone_flags & CLONE_NEWUTS) != 0;
  for (size_t i = 0; i < cfg->njoin_ns; i++)
    uts = uts || cfg->join_ns[i].type == CLONE_NEWUTS;
  return uts;
}

static int child_setup(const ctr_spawn_cfg_t *cfg, const int *fds, int sync_fd, int fifo_fd,
                       ctr_error_t *err) {
  if (prctl(PR_SET_PDEATHSIG, 0) < 0)
    return ctr_fail_errno(err, "prctl PR_SET_PDEATHSIG");
  /* in a user namespace the parent moved us (userns.h) */
  if (!fds && ctr_join_cgroup_files(cfg->cgroup_join, err) < 0)
    return -1;
  if (join_namespaces(cfg, err) < 0 || ctr_join_session_keyring(err) < 0)
    return -1;
  /* The cgroup namespace is made only now: the parent has put us in our
   * cgroup, which becomes the namespace's root ("/" inside). */
  if ((cfg->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    return ctr_fail_errno(err, "unshare the cgroup namespace");
  if ((cfg->clone_flags & CLONE_NEWNET) && loopback_up(err) < 0)
    return -1;
  if (own_uts(cfg) && cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    return ctr_fail_errno(err, "sethostname %s", cfg->hostname);
  if (own_uts(cfg) && cfg->domainname &&
      setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
    return ctr_fail_errno(err, "setdomainname %s", cfg->domainname);
  if (ctr_write_sysctls(cfg->sysctl, err) < 0)
    return -1;
  /* stdio before the root changes: fds given by the parent refer to host files */
  if (!cfg->proc.terminal &&
      ctr_redirect_stdio(cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd, err) < 0)
    return -1;
  /* a session of its own: the caller's terminal is never its controlling tty */
  if (!cfg->proc.terminal && setsid() < 0)
    return ctr_fail_errno(err, "setsid for the container's init");
  if (cfg->rootfs && ctr_rootfs_setup(cfg, fds, cfg->pause_before_pivot ? sync_fd : -1, err) < 0)
    return -1;
  if (cfg->proc.terminal && ctr_setup_console(sync_fd, err) < 0)
    return -1;
  if (ctr_apply_rlimits(cfg->rlimits, cfg->nrlimits, err) < 0 ||
      ctr_write_oom_score(cfg->oom_score_adj, err) < 0)
    return -1;
  /* no fd of ours (a host directory among them) survives to the chdir */
  if (close_fds_keeping(3 + cfg->preserve_fds, sync_fd, fifo_fd, err) < 0 ||
      ctr_enter_cwd(cfg->proc.cwd ? cfg->proc.cwd : "/", true, err) < 0)
    return -1;
  if (ctr_confine(&cfg->proc, true, err) < 0 || ctr_apply_identity(&cfg->proc, err) < 0)
    return -1;
  /* nothing of ours may leak into the container (but the preserved fds) */
  return ctr_close_leaked_fds_from(3 + cfg->preserve_fds, err);
}

__attribute__((noreturn)) static void child_main(const ctr_spawn_cfg_t *cfg, int sync_fd,
                                                 bool sealed, bool rootless) {
  ctr_error_t err;
  memset(&err, 0, sizeof err);
  /* nothing the caller blocked, ignored or caught reaches the container */
  if (ctr_signals_reset(&err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  /* nor the caller's command line and environment (seen in a shared pid
   * namespace before the execve) */
  if (ctr_wipe_cmdline_env(&err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  /* a user namespace: the mounts the parent built come first (userns.h) */
  bool userns = (cfg->clone_flags & CLONE_NEWUSER) != 0;
  cleanup_free int *fds = userns ? calloc(1 + cfg->nmounts, sizeof *fds) : NULL;
  if (userns && (!fds || ctr_userns_receive(cfg, sync_fd, fds, rootless, &err) < 0))
    _exit(125);   /* the parent gave up on us, or cannot hear us yet */
  if (rootless) { /* our paths are ours: mounted as without a user namespace */
    free(fds);
    fds = NULL;
  }
  char go = 0;
  ssize_t n;
  do
    n = read(sync_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || go != 'G')
    _exit(125); /* the parent gave up on us */
  /* not a sealed copy: our exe is the host's file until the trampoline runs */
  if (!sealed && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    ctr_fail_errno(&err, "prctl PR_SET_DUMPABLE 0");
    ctr_child_fail(sync_fd, &err, 125);
  }
  /* the start fifo is a host path: opened before the root changes */
  cleanup_fd int fifo_fd = -1;
  if (cfg->start_fifo && (fifo_fd = open(cfg->start_fifo, O_PATH | O_CLOEXEC)) < 0) {
    ctr_fail_errno(&err, "open the start fifo %s", cfg->start_fifo);
    ctr_child_fail(sync_fd, &err, 125);
  }
  if (userns && ctr_userns_become_root(&err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  if (child_setup(cfg, fds, sync_fd, fifo_fd, &err) < 0)
    ctr_child_fail(sync_fd, &err, 125);
  sync_fd = await_start(sync_fd, steal_fd(&fifo_fd), &err);
  if (sync_fd >= 0 && ctr_sync_send(sync_fd, 'X', 0, &err) < 0)
    _exit(125);
  /* the init's program (init.h), copied before seccomp may forbid memfd_create */
  cleanup_fd int init_fd = -1;
  if ((cfg->init && (init_fd = ctr_trampoline_memfd("luac-ctr-init", &err)) < 0) ||
      ctr_confine(&cfg->proc, false, &err) < 0) { /* last: only execve follows */
    if (sync_fd < 0)
      fail_to_stderr(&err, 125);
    ctr_child_fail(sync_fd, &err, 125);
  }
  if (cfg->init && ctr_init_fork(sync_fd, init_fd, cfg->proc.terminal, &err) < 0) {
    if (sync_fd < 0)
      fail_to_stderr(&err, 125);
    ctr_child_fail(sync_fd, &err, 125);
  }
  ctr_exec_guarded(cfg->proc.argv, cfg->proc.env, sealed, sync_fd, &err);
  if (sync_fd < 0)
    fail_to_stderr(&err, err.errnum == ENOENT ? 127 : 126);
  ctr_child_fail(sync_fd, &err, err.errnum == ENOENT ? 127 : 126);
}

int ctr_close_fds_from_except(int first, int keep, ctr_error_t *err) {
  if (keep >= 0 && keep < first)
    return ctr_fail(err, EBADF, "fd %d of the runtime is among the preserved fds 3..%d", keep,
                    first - 1);
  if (keep > first && syscall(SYS_close_range, (unsigned)first, (unsigned)keep - 1, 0) < 0)
    return ctr_fail_errno(err, "close_range %d..%d", first, keep - 1);
  unsigned from = keep >= first ? (unsigned)keep + 1 : (unsigned)first;
  if (syscall(SYS_close_range, from, ~0U, 0) < 0)
    return ctr_fail_errno(err, "close_range %u..", from);
  return 0;
}

int ctr_close_fds_except(int keep, ctr_error_t *err) {
  return ctr_close_fds_from_except(3, keep, err);
}

int ctr_close_leaked_fds_from(int first, ctr_error_t *err) {
  if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return ctr_fail_errno(err, "close_range (cloexec) %d..", first);
  for (int fd = 3; fd < first; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
      return ctr_fail_errno(err, "preserved fd %d", fd);
    if ((flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
      return ctr_fail_errno(err, "clear close-on-exec on the preserved fd %d", fd);
  }
  return 0;
}

int ctr_close_leaked_fds(ctr_error_t *err) {
  return ctr_close_leaked_fds_from(3, err);
}

/* A pid namespace to join is the child's from birth (setns of a pid
 * namespace applies to the caller's later children only): the caller joins
 * it for its children for the clone, then returns to its own. */
static pid_t clone_in_pidns(const ctr_spawn_cfg_t *cfg, uint64_t flags, int *pidfd,
                            ctr_error_t *err) {
  const char *path = NULL;
  for (size_t i = 0; i < cfg->njoin_ns; i++)
    if (cfg->join_ns[i].type == CLONE_NEWPID)
      path = cfg->join_ns[i].path;
  if (!path)
    return clone3_pidfd(flags, cfg->cgroup_into_fd, pidfd, err);
  cleanup_fd int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    return ctr_fail_errno(err, "open /proc/self/ns/pid");
  cleanup_fd int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0)
    return ctr_fail_errno(err, "open the pid namespace %s", path);
  if (setns(target, CLONE_NEWPID) < 0)
    return ctr_fail_errno(err, "setns the pid namespace %s", path);
  pid_t pid = clone3_pidfd(flags & ~(uint64_t)CLONE_NEWPID, cfg->cgroup_into_fd, pidfd, err);
  if (pid == 0)
    return 0;
  if (setns(own, CLONE_NEWPID) < 0) { /* never expected: our own namespace */
    int e = errno;
    if (pid > 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
      close(*pidfd);
    }
    errno = e;
    return ctr_fail_errno(err, "setns back to our own pid namespace");
  }
  return pid;
}

int ctr_spawn(const ctr_spawn_cfg_t *cfg, ctr_spawned_t *out, ctr_error_t *err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return ctr_fail_errno(err, "socketpair for the container sync");
  int pidfd = -1;
  bool sealed = ctr_running_sealed(); /* checked here, on the host (execguard.h) */
  bool rootless = geteuid() != 0;
  uint64_t flags = (uint64_t)(unsigned)cfg->clone_flags & ~(uint64_t)CLONE_NEWCGROUP;
  pid_t pid = clone_in_pidns(cfg, flags, &pidfd, err);
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  if (pid == 0) {
    close(sv[0]);
    child_main(cfg, sv[1], sealed, rootless);
  }
  close(sv[1]);
  if ((cfg->clone_flags & CLONE_NEWUSER) &&
      ctr_userns_prepare(cfg, pid, sv[0], rootless, err) < 0) {
    close(sv[0]); /* the child reads EOF and exits */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    close(pidfd);
    return -1;
  }
  out->pid = pid;
  out->pidfd = pidfd;
  out->sync_fd = sv[0];
  out->pty_fd = -1;
  return 0;
}

int ctr_spawn_start(ctr_spawned_t *sp, bool *exec_failed, ctr_error_t *err) {
  *exec_failed = false;
  char go = sp->paused ? 'C' : 'G';
  sp->paused = false;
  int r = -1;
  if (write(sp->sync_fd, &go, 1) != 1)
    ctr_fail_errno(err, "starting the container process");
  else
    r = ctr_sync_wait(sp->sync_fd, &sp->pty_fd, NULL, exec_failed, err);
  if (r == 1) {
    sp->paused = true; /* the sync socket stays open for the 'C' */
    return 1;
  }
  close(sp->sync_fd);
  sp->sync_fd = -1;
  return r;
}

int ctr_pause_for_hooks(int sync_fd, ctr_error_t *err) {
  if (ctr_sync_send(sync_fd, 'H', 0, err) < 0)
    return -1;
  char go = 0;
  ssize_t n;
  do
    n = read(sync_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || go != 'C')
    _exit(125); /* the parent gave up on us (a hook failed) */
  return 0;
}

/* ---- console ---------------------------------------------------------------- */

int ctr_setup_console(int sync_fd, ctr_error_t *err) {
  cleanup_fd int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return ctr_fail_errno(err, "open /dev/ptmx in the container");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return ctr_fail_errno(err, "unlock the container's pty");
  cleanup_fd int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return ctr_fail_errno(err, "open the container's pty slave");
  if (ctr_sendmsg_fd(sync_fd, 'T', master) < 0)
    return ctr_fail_errno(err, "sending the console fd to the parent");
  if (setsid() < 0)
    return ctr_fail_errno(err, "setsid for the console");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return ctr_fail_errno(err, "make the pty the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return ctr_fail_errno(err, "dup2 the pty to fd %d", i);
  return 0;
}
