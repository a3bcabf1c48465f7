/* idmap.c - user namespace id maps. */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

static int write_proc(pid_t pid, const char *file, const char *text, ctr_error_t *err) {
  char path[64];
  if (pid <= 0)
    snprintf(path, sizeof path, "/proc/self/%s", file);
  else
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", path);
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  if (n < 0)
    return ctr_fail_errno(err, "write '%.64s' to %s", text, path);
  if ((size_t)n != len)
    return ctr_fail(err, EIO, "write to %s: short write (%zd of %zu bytes)", path, n, len);
  return 0;
}

int ctr_write_idmap(pid_t pid, const char *file, const char *text, ctr_error_t *err) {
  if (strcmp(file, "uid_map") != 0 && strcmp(file, "gid_map") != 0)
    return ctr_fail(err, EINVAL, "write id map: bad file '%s'", file);
  return write_proc(pid, file, text, err);
}

int ctr_setgroups_deny(pid_t pid, ctr_error_t *err) {
  return write_proc(pid, "setgroups", "deny", err);
}
