/* selfexec.c - sealed memfd copies of the runtime. See selfexec.h. */
#include "selfexec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable even when vm.memfd_noexec=1 */
#endif

int ctr_fd_is_sealed(int fd) {
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & CTR_SELFEXEC_SEALS) == CTR_SELFEXEC_SEALS;
}

int ctr_exe_is_sealed(ctr_error_t *err) {
  cleanup_fd int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open /proc/self/exe");
  return ctr_fd_is_sealed(fd);
}

static int memfd_exec(const char *name, ctr_error_t *err) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) /* before 6.3 MFD_EXEC is unknown; memfds are executable */
    fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return ctr_fail_errno(
        err, "memfd_create %s (executable, sealable; vm.memfd_noexec=2 forbids it)", name);
  return fd;
}

static int copy_file(int dst, int src, const char *name, ctr_error_t *err) {
  struct stat st;
  if (fstat(src, &st) < 0)
    return ctr_fail_errno(err, "fstat the file to copy into %s", name);
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(dst, src, &off, (size_t)(st.st_size - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ctr_fail_errno(err, "copy %lld bytes into the memfd %s", (long long)st.st_size, name);
    if (n == 0)
      return ctr_fail(err, EIO, "copy into the memfd %s: the file shrank at %lld", name,
                      (long long)off);
  }
  return 0;
}

static int copy_buf(int dst, const char *p, size_t len, const char *name, ctr_error_t *err) {
  while (len > 0) {
    ssize_t n = write(dst, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ctr_fail_errno(err, "write %zu bytes into the memfd %s", len, name);
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int ctr_sealed_memfd(const char *name, int src, const void *buf, size_t len, ctr_error_t *err) {
  cleanup_fd int fd = memfd_exec(name, err);
  if (fd < 0)
    return -1;
  if ((src >= 0 ? copy_file(fd, src, name, err) : copy_buf(fd, buf, len, name, err)) < 0)
    return -1;
  if (fcntl(fd, F_ADD_SEALS, CTR_SELFEXEC_SEALS) < 0)
    return ctr_fail_errno(err, "seal the memfd %s (seal, shrink, grow, write)", name);
  return steal_fd(&fd);
}

int ctr_selfexec_sealed(char *const argv[], ctr_error_t *err) {
  cleanup_fd int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return ctr_fail_errno(err, "open /proc/self/exe");
  if (ctr_fd_is_sealed(self))
    return 0;
  cleanup_fd int copy = ctr_sealed_memfd("luac-ctr", self, NULL, 0, err);
  if (copy < 0)
    return -1;
  syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
  return ctr_fail_errno(err, "execute the sealed copy of /proc/self/exe");
}

bool ctr_running_sealed(void) {
  ctr_error_t ignored;
  return ctr_exe_is_sealed(&ignored) == 1;
}
