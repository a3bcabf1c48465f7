/* execguard.c - the container's last execve, through the sealed trampoline
 * when the runtime does not run from a sealed memfd. See execguard.h. */
#include "execguard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "selfexec.h"
#include "spawn.h"
#include "trampoline/trampoline.h"
#include "ctr_trampoline_bin.h" /* generated: ctr_trampoline_bin[] */

/* What execve would say about path before it runs anything. */
static int check_executable(const char *path, ctr_error_t *err) {
  struct stat st;
  if (stat(path, &st) < 0)
    return ctr_fail_errno(err, "exec %s", path);
  if (!S_ISREG(st.st_mode))
    return ctr_fail(err, EACCES, "exec %s: not a regular file", path);
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
    return ctr_fail_errno(err, "exec %s", path);
  return 0;
}

int ctr_trampoline_memfd(const char *name, ctr_error_t *err) {
  return ctr_sealed_memfd(name, -1, ctr_trampoline_bin, sizeof ctr_trampoline_bin, err);
}

/* execveat the sealed trampoline for path; returns only on failure. */
static int exec_trampoline(const char *path, char *const argv[], char *const env[], int sync_fd,
                           ctr_error_t *err) {
  size_t n = 0;
  while (argv[n])
    n++;
  cleanup_free char **targv = calloc(n + 4, sizeof *targv);
  if (!targv)
    return ctr_fail_errno(err, "allocate the trampoline's argv");
  char fdstr[16];
  snprintf(fdstr, sizeof fdstr, "%d", sync_fd);
  targv[0] = (char *)CTR_TRAMPOLINE_ARGV0;
  targv[1] = fdstr;
  targv[2] = (char *)path;
  memcpy(targv + 3, argv, (n + 1) * sizeof *targv);
  cleanup_fd int tramp = ctr_trampoline_memfd("luac-ctr-exec", err);
  if (tramp < 0)
    return -1;
  if (sync_fd >= 0 && fcntl(sync_fd, F_SETFD, 0) < 0)
    return ctr_fail_errno(err, "keep the sync fd open for the exec trampoline");
  syscall(SYS_execveat, tramp, "", targv, env, AT_EMPTY_PATH);
  ctr_fail_errno(err, "execute the sealed exec trampoline for %s", path);
  if (sync_fd >= 0)
    fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
  return -1;
}

int ctr_exec_via_trampoline(const char *path, char *const argv[], char *const env[], int sync_fd,
                            ctr_error_t *err) {
  if (check_executable(path, err) < 0)
    return -1;
  return exec_trampoline(path, argv, env, sync_fd, err);
}

/* A PATH candidate, run through the trampoline. */
static int try_trampoline(const char *path, char **argv, char **env, void *ctx, ctr_error_t *err) {
  return ctr_exec_via_trampoline(path, argv, env, *(const int *)ctx, err);
}

void ctr_exec_guarded(char **argv, char **env, bool sealed, int sync_fd, ctr_error_t *err) {
  if (sealed)
    ctr_exec_search(argv, env, err);
  else
    ctr_exec_path(argv, env, try_trampoline, &sync_fd, err);
}
