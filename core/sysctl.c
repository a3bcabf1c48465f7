/* sysctl.c - write a container's sysctls. See sysctl.h. */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

/* "net.ipv4.ip_forward" (len bytes) -> "/proc/sys/net/ipv4/ip_forward". */
static int sysctl_path(const char *key, size_t len, char *out, size_t size, ctr_error_t *err) {
  static const char prefix[] = "/proc/sys/";
  if (len == 0 || len + sizeof prefix > size)
    return ctr_fail(err, EINVAL, "sysctl %.*s: bad name", (int)(len > 200 ? 200 : len), key);
  memcpy(out, prefix, sizeof prefix - 1);
  char *o = out + sizeof prefix - 1;
  bool start = true;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (c == '.' && !start) {
      *o++ = '/';
      start = true;
      continue;
    }
    if (!ok)
      return ctr_fail(err, EINVAL, "sysctl %.*s: bad name", (int)(len > 200 ? 200 : len), key);
    *o++ = c;
    start = false;
  }
  if (start)
    return ctr_fail(err, EINVAL, "sysctl %.*s: bad name", (int)len, key);
  *o = '\0';
  return 0;
}

static int write_one(const char *kv, ctr_error_t *err) {
  const char *eq = strchr(kv, '=');
  if (!eq)
    return ctr_fail(err, EINVAL, "sysctl %s: no value", kv);
  char path[512];
  if (sysctl_path(kv, (size_t)(eq - kv), path, sizeof path, err) < 0)
    return -1;
  cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return ctr_fail_errno(err, "sysctl %.*s: open %s", (int)(eq - kv), kv, path);
  size_t n = strlen(eq + 1);
  ssize_t w = write(fd, eq + 1, n);
  if (w < 0)
    return ctr_fail_errno(err, "sysctl %.*s: write %s", (int)(eq - kv), kv, eq + 1);
  if ((size_t)w != n)
    return ctr_fail(err, EIO, "sysctl %.*s: short write", (int)(eq - kv), kv);
  return 0;
}

int ctr_write_sysctls(char **kv, ctr_error_t *err) {
  for (size_t i = 0; kv && kv[i]; i++)
    if (write_one(kv[i], err) < 0)
      return -1;
  return 0;
}
