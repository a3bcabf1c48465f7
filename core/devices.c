/* devices.c - a container's device policy: rule checks and the cgroup v1
 * devices controller; the cgroup v2 program is in devices_bpf.c. See devices.h. */
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

int ctr_dev_parse_access(const char *s, unsigned *access, ctr_error_t *err) {
  unsigned a = 0;
  for (const char *c = s; *c; c++) {
    unsigned bit = *c == 'r'   ? CTR_DEV_READ
                   : *c == 'w' ? CTR_DEV_WRITE
                   : *c == 'm' ? CTR_DEV_MKNOD
                               : 0;
    if (bit == 0 || (a & bit))
      return ctr_fail(err, EINVAL,
                      "invalid device access \"%s\": use r, w and m, each at most once", s);
    a |= bit;
  }
  if (a == 0)
    return ctr_fail(err, EINVAL, "invalid device access \"\": use r, w and/or m");
  *access = a;
  return 0;
}

int ctr_dev_check_rule(const ctr_dev_rule_t *r, ctr_error_t *err) {
  if (r->type != 'a' && r->type != 'c' && r->type != 'b')
    return ctr_fail(err, EINVAL, "invalid device rule type '%c': use a, c or b", r->type);
  if (r->major != CTR_DEV_ANY && (r->major < 0 || r->major > CTR_DEV_MAX_MAJOR))
    return ctr_fail(err, EINVAL,
                    "invalid device major %" PRId64 ": use 0..%d (or none for every one)", r->major,
                    CTR_DEV_MAX_MAJOR);
  if (r->minor != CTR_DEV_ANY && (r->minor < 0 || r->minor > CTR_DEV_MAX_MINOR))
    return ctr_fail(err, EINVAL,
                    "invalid device minor %" PRId64 ": use 0..%d (or none for every one)", r->minor,
                    CTR_DEV_MAX_MINOR);
  if (r->access == 0 || (r->access & ~CTR_DEV_RWM))
    return ctr_fail(err, EINVAL, "invalid device access bits 0x%x", r->access);
  return 0;
}

/* Every access to every device: "a *:* rwm". */
static int is_full(const ctr_dev_rule_t *r) {
  return r->type == 'a' && r->major == CTR_DEV_ANY && r->minor == CTR_DEV_ANY &&
         r->access == CTR_DEV_RWM;
}

/* Index of the last full rule (it resets the policy), or -1 (deny everything). */
static ssize_t last_full(const ctr_dev_rule_t *rules, size_t n) {
  for (size_t i = n; i > 0; i--)
    if (is_full(&rules[i - 1]))
      return (ssize_t)(i - 1);
  return -1;
}

int ctr_dev_allows_all(const ctr_dev_rule_t *rules, size_t n) {
  ssize_t f = last_full(rules, n);
  if (f < 0 || !rules[f].allow)
    return 0;
  for (size_t i = (size_t)f + 1; i < n; i++)
    if (!rules[i].allow)
      return 0;
  return 1;
}

/* Can one access match both rules? */
static int overlap(const ctr_dev_rule_t *a, const ctr_dev_rule_t *b) {
  return (a->type == 'a' || b->type == 'a' || a->type == b->type) &&
         (a->major == CTR_DEV_ANY || b->major == CTR_DEV_ANY || a->major == b->major) &&
         (a->minor == CTR_DEV_ANY || b->minor == CTR_DEV_ANY || a->minor == b->minor) &&
         (a->access & b->access) != 0;
}

/* devices.allow and devices.deny of one cgroup, each opened once (at its
 * first rule) for all the rules written to it: the controller takes one rule
 * per write(2), not per open. */
typedef struct v1_files {
  const char *dir;
  int fd[2]; /* deny, allow; -1 until opened */
} v1_files_t;

static void v1_files_close(v1_files_t *f) {
  for (int i = 0; i < 2; i++)
    if (f->fd[i] >= 0)
      close(f->fd[i]);
}

static int v1_write(v1_files_t *f, int allow, const char *value, ctr_error_t *err) {
  char p[CTR_CG_PATH_MAX + 300];
  snprintf(p, sizeof p, "%s/%s", f->dir, allow ? "devices.allow" : "devices.deny");
  if (f->fd[allow] < 0) {
    f->fd[allow] = open(p, O_WRONLY | O_CLOEXEC);
    if (f->fd[allow] < 0)
      return ctr_fail_errno(err, "open %s", p);
  }
  ssize_t w = write(f->fd[allow], value, strlen(value));
  if (w < 0)
    return ctr_fail_errno(err, "write \"%s\" to %s", value, p);
  if ((size_t)w != strlen(value))
    return ctr_fail(err, EIO, "short write of \"%s\" to %s", value, p);
  return 0;
}

static void number(char *buf, size_t n, int64_t v) {
  if (v == CTR_DEV_ANY)
    snprintf(buf, n, "*");
  else
    snprintf(buf, n, "%" PRId64, v);
}

/* One exception line ("c 1:3 rwm") per device type the rule covers. */
static int v1_exception(v1_files_t *f, const ctr_dev_rule_t *r, ctr_error_t *err) {
  char maj[24], min[24], acc[4] = {0}, line[80];
  number(maj, sizeof maj, r->major);
  number(min, sizeof min, r->minor);
  size_t k = 0;
  if (r->access & CTR_DEV_READ)
    acc[k++] = 'r';
  if (r->access & CTR_DEV_WRITE)
    acc[k++] = 'w';
  if (r->access & CTR_DEV_MKNOD)
    acc[k++] = 'm';
  for (const char *t = "cb"; *t; t++) {
    if (r->type != 'a' && r->type != *t)
      continue;
    snprintf(line, sizeof line, "%c %s:%s %s", *t, maj, min, acc);
    if (v1_write(f, r->allow, line, err) < 0)
      return -1;
  }
  return 0;
}

/* v1 keeps a default (allow or deny everything) plus exceptions of the other
 * kind, matched as devices.h says. A rule of the default's kind is a no-op
 * unless it overlaps an earlier exception, which v1 cannot express: refused. */
static int v1_apply_to(v1_files_t *fs, const ctr_dev_rule_t *rules, size_t n, ctr_error_t *err) {
  ssize_t f = last_full(rules, n);
  int dflt = f >= 0 && rules[f].allow;
  size_t start = (size_t)(f + 1);
  if (v1_write(fs, dflt, "a", err) < 0)
    return -1;
  for (size_t i = start; i < n; i++) {
    if (rules[i].allow != dflt) {
      if (v1_exception(fs, &rules[i], err) < 0)
        return -1;
      continue;
    }
    for (size_t j = start; j < i; j++)
      if (rules[j].allow != dflt && overlap(&rules[i], &rules[j]))
        return ctr_fail(err, EINVAL,
                        "device rule %zu (%s) narrows rule %zu: the cgroup v1 devices "
                        "controller cannot express that",
                        i + 1, rules[i].allow ? "allow" : "deny", j + 1);
  }
  return 0;
}

static int v1_apply(const char *dir, const ctr_dev_rule_t *rules, size_t n, ctr_error_t *err) {
  v1_files_t fs = {dir, {-1, -1}};
  int r = v1_apply_to(&fs, rules, n, err);
  v1_files_close(&fs);
  return r;
}

static int v2_apply(const char *dir, const ctr_dev_rule_t *rules, size_t n, ctr_error_t *err) {
  cleanup_fd int fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", dir);
  return ctr_dev_bpf_attach(fd, rules, n, err);
}

static int check_rules(const ctr_dev_rule_t *rules, size_t n, ctr_error_t *err) {
  if (n > CTR_DEV_MAX_RULES)
    return ctr_fail(err, E2BIG, "%zu device rules: at most %d are allowed", n, CTR_DEV_MAX_RULES);
  for (size_t i = 0; i < n; i++)
    if (ctr_dev_check_rule(&rules[i], err) < 0)
      return ctr_error_wrap(err, "device rule %zu", i + 1);
  return 0;
}

int ctr_cg_set_devices(const ctr_cg_layout_t *l, const char *path, const ctr_dev_rule_t *rules,
                       size_t n, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0 || check_rules(rules, n, err) < 0)
    return -1;
  if (ctr_dev_allows_all(rules, n))
    return 0;
  int i = ctr_cg_owner(l, "devices");
  int version = i >= 0 ? l->hier[i].version : 0;
  for (int k = 0; i < 0 && k < l->n; k++)
    if (l->hier[k].version == 2)
      i = k, version = 2;
  if (i < 0)
    return ctr_fail(err, ENODEV,
                    "cannot apply the device policy of cgroup %s: no v1 devices "
                    "controller is mounted and there is no cgroup v2 hierarchy",
                    path);
  char dir[CTR_CG_PATH_MAX + 256];
  if (ctr_cg_dir(l, i, path, dir, sizeof dir, err) < 0)
    return -1;
  int r = version == 1 ? v1_apply(dir, rules, n, err) : v2_apply(dir, rules, n, err);
  return r < 0 ? ctr_error_wrap(err, "device policy of cgroup %s", path) : 0;
}
