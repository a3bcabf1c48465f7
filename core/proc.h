/* proc.h - processes: fork, clone with namespace flags, pidfds, execve with
 * PATH search, waitpid, kill, sessions, and /proc/<pid>/stat facts. */
#ifndef CTR_PROC_H
#define CTR_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Zero this process's argv and environment strings (the areas
 * /proc/self/cmdline and /proc/self/environ show): a fork of the runtime
 * about to enter a container carries the caller's environment (tokens,
 * credentials) that a container process with CAP_SYS_PTRACE could read
 * there before the exec. Nothing may use argv or getenv after it. */
int ctr_wipe_cmdline_env(ctr_error_t *err);

/* fork(2): 0 in the child, the child's pid in the parent. */
pid_t ctr_fork(ctr_error_t *err);
/* Raw clone(2) with SIGCHLD | flags (CLONE_NEW*), no new stack: behaves like
 * fork (0 in the child, pid in the parent) but the child starts in new
 * namespaces. Only for single-threaded callers. */
pid_t ctr_clone(unsigned long flags, ctr_error_t *err);
/* pidfd_open(2); returns the fd. */
int ctr_pidfd_open(pid_t pid, ctr_error_t *err);
/* pidfd_send_signal(2). */
int ctr_pidfd_kill(int pidfd, int sig, ctr_error_t *err);
/* execve(2). When path has no '/', search PATH taken from envp (or the
 * default "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").
 * Returns -1 (it only returns on failure). */
int ctr_execve(const char *path, char *const argv[], char *const envp[], ctr_error_t *err);

typedef struct ctr_wait {
  pid_t pid; /* 0 with WNOHANG when nothing changed */
  int how;   /* CTR_WAIT_* */
  int code;  /* exit code, or signal number */
} ctr_wait_t;
enum { CTR_WAIT_NONE = 0, CTR_WAIT_EXITED, CTR_WAIT_KILLED, CTR_WAIT_STOPPED, CTR_WAIT_CONTINUED };
/* waitpid(2). A signal fails it with EINTR (not retried, as ctr_poll). */
int ctr_waitpid(pid_t pid, int options, ctr_wait_t *out, ctr_error_t *err);
/* kill(2). */
int ctr_kill(pid_t pid, int sig, ctr_error_t *err);
/* setsid(2); returns the new session id. */
pid_t ctr_setsid(ctr_error_t *err);
/* setpgid(2). */
int ctr_setpgid(pid_t pid, pid_t pgid, ctr_error_t *err);
/* Start time of pid in clock ticks since boot (field 22 of /proc/<pid>/stat):
 * with the pid it identifies a process across pid reuse. */
int ctr_proc_starttime(pid_t pid, unsigned long long *out, ctr_error_t *err);
/* State letter of pid (field 3 of /proc/<pid>/stat): 'R', 'S', 'Z', ... */
int ctr_proc_state(pid_t pid, char *out, ctr_error_t *err);

#endif
