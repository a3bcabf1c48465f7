/* proc.c - process primitives. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pid_t ctr_fork(ctr_error_t *err) {
  pid_t pid = fork();
  if (pid < 0)
    return ctr_fail_errno(err, "fork");
  return pid;
}

pid_t ctr_clone(unsigned long flags, ctr_error_t *err) {
  /* x86_64/aarch64 argument order: flags, stack, parent_tid, child_tid, tls */
  long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    return ctr_fail_errno(err, "clone with flags 0x%lx", flags);
  return (pid_t)pid;
}

int ctr_pidfd_open(pid_t pid, ctr_error_t *err) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return ctr_fail_errno(err, "pidfd_open %d", (int)pid);
  return (int)fd;
}

int ctr_pidfd_kill(int pidfd, int sig, ctr_error_t *err) {
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
    return ctr_fail_errno(err, "send signal %d to pidfd %d", sig, pidfd);
  return 0;
}

static const char *env_path(char *const envp[]) {
  for (size_t i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], "PATH=", 5) == 0)
      return envp[i] + 5;
  return DEFAULT_PATH;
}

/* Try each PATH entry; remember the most telling error (EACCES beats ENOENT). */
static int exec_search(const char *file, char *const argv[], char *const envp[], ctr_error_t *err) {
  const char *p = env_path(envp);
  int best = ENOENT;
  size_t flen = strlen(file);
  while (1) {
    size_t dlen = strcspn(p, ":");
    char buf[PATH_MAX];
    if (dlen + flen + 2 <= sizeof buf) {
      if (dlen == 0)
        snprintf(buf, sizeof buf, "./%s", file);
      else
        snprintf(buf, sizeof buf, "%.*s/%s", (int)dlen, p, file);
      execve(buf, argv, envp);
      if (errno != ENOENT && errno != ENOTDIR && errno != ESRCH)
        best = errno;
      if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
        return ctr_fail_errno(err, "execve %s", buf);
    }
    if (p[dlen] == '\0')
      break;
    p += dlen + 1;
  }
  return ctr_fail(err, best, "execve %s (searched PATH %s)", file, env_path(envp));
}

int ctr_execve(const char *path, char *const argv[], char *const envp[], ctr_error_t *err) {
  if (path[0] == '\0')
    return ctr_fail(err, ENOENT, "execve: empty path");
  if (strchr(path, '/') == NULL)
    return exec_search(path, argv, envp, err);
  execve(path, argv, envp);
  return ctr_fail_errno(err, "execve %s", path);
}

int ctr_waitpid(pid_t pid, int options, ctr_wait_t *out, ctr_error_t *err) {
  int status = 0;
  pid_t r = waitpid(pid, &status, options);
  if (r < 0)
    return ctr_fail_errno(err, "waitpid %d", (int)pid);
  out->pid = r;
  out->how = CTR_WAIT_NONE;
  out->code = 0;
  if (r == 0)
    return 0;
  if (WIFEXITED(status)) {
    out->how = CTR_WAIT_EXITED;
    out->code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out->how = CTR_WAIT_KILLED;
    out->code = WTERMSIG(status);
  } else if (WIFSTOPPED(status)) {
    out->how = CTR_WAIT_STOPPED;
    out->code = WSTOPSIG(status);
  } else if (WIFCONTINUED(status)) {
    out->how = CTR_WAIT_CONTINUED;
    out->code = SIGCONT;
  }
  return 0;
}

int ctr_kill(pid_t pid, int sig, ctr_error_t *err) {
  if (kill(pid, sig) < 0)
    return ctr_fail_errno(err, "kill %d with signal %d", (int)pid, sig);
  return 0;
}

pid_t ctr_setsid(ctr_error_t *err) {
  pid_t s = setsid();
  if (s < 0)
    return ctr_fail_errno(err, "setsid");
  return s;
}

int ctr_setpgid(pid_t pid, pid_t pgid, ctr_error_t *err) {
  if (setpgid(pid, pgid) < 0)
    return ctr_fail_errno(err, "setpgid %d to %d", (int)pid, (int)pgid);
  return 0;
}

/* Read /proc/<pid>/stat and return a pointer just after the ") " that ends
 * the comm field (comm may itself hold ')' and spaces). */
static char *stat_fields(pid_t pid, char *buf, size_t size, ctr_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ctr_fail_errno(err, "open %s", path);
    return NULL;
  }
  ssize_t n = read(fd, buf, size - 1);
  if (n < 0) {
    ctr_fail_errno(err, "read %s", path);
    return NULL;
  }
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ') {
    ctr_fail(err, EINVAL, "parse %s: no ')' after comm", path);
    return NULL;
  }
  return p + 2;
}

int ctr_proc_state(pid_t pid, char *out, ctr_error_t *err) {
  char buf[1024];
  char *p = stat_fields(pid, buf, sizeof buf, err);
  if (p == NULL)
    return -1;
  *out = *p;
  return 0;
}

int ctr_proc_starttime(pid_t pid, unsigned long long *out, ctr_error_t *err) {
  char buf[1024];
  char *p = stat_fields(pid, buf, sizeof buf, err);
  if (p == NULL)
    return -1;
  /* p is field 3 (state); starttime is field 22: skip 19 fields */
  for (int i = 0; i < 19; i++) {
    p = strchr(p, ' ');
    if (p == NULL)
      return ctr_fail(err, EINVAL, "parse /proc/%d/stat: too few fields", (int)pid);
    p++;
  }
  char *end;
  errno = 0;
  *out = strtoull(p, &end, 10);
  if (errno || end == p)
    return ctr_fail(err, EINVAL, "parse /proc/%d/stat: bad starttime", (int)pid);
  return 0;
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
  char *save = NULL;
  for (char *tok = p ? strtok_r(p + 1, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
    field++;
    if (field == first || field == first + 1)
      v[field - first] = (uintptr_t)strtoull(tok, NULL, 10);
  }
  if (v[0] == 0 || v[1] < v[0])
    return ctr_fail(err, EINVAL, "no address range at field %d of /proc/self/stat", first);
  *start = v[0];
  *end = v[1];
  return 0;
}

int ctr_wipe_cmdline_env(ctr_error_t *err) {
  uintptr_t s = 0, e = 0;
  if (stat_range(50, &s, &e, err) < 0)
    return -1;
  memset((void *)s, 0, e - s);
  if (stat_range(48, &s, &e, err) < 0)
    return -1;
  memset((void *)s, 0, e - s);
  return 0;
}
