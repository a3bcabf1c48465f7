/* cgroup.c - cgroup v1 / v2 / hybrid: detection, creation with limits,
 * membership, statistics, kill and removal. See cgroup.h. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG_UNIFIED "/sys/fs/cgroup/unified"
#define CG_FILE_MAX 4096

/* ---- small file helpers ---------------------------------------------------- */

static int join(char *buf, size_t n, const char *dir, const char *name, ctr_error_t *err) {
  int r = snprintf(buf, n, "%s/%s", dir, name);
  if (r < 0 || (size_t)r >= n)
    return ctr_fail(err, ENAMETOOLONG, "path %s/%s", dir, name);
  return 0;
}

/* Write value to dir/name. */
static int cg_write(const char *dir, const char *name, const char *value, ctr_error_t *err) {
  char p[CTR_CG_PATH_MAX + 64];
  if (join(p, sizeof p, dir, name, err) < 0)
    return -1;
  cleanup_fd int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", p);
  size_t len = strlen(value);
  ssize_t w = write(fd, value, len);
  if (w < 0)
    return ctr_fail_errno(err, "write \"%s\" to %s", value, p);
  if ((size_t)w != len)
    return ctr_fail(err, EIO, "short write of \"%s\" to %s", value, p);
  return 0;
}

static int cg_write_i64(const char *dir, const char *name, int64_t v, ctr_error_t *err) {
  char s[32];
  snprintf(s, sizeof s, "%" PRId64, v);
  return cg_write(dir, name, s, err);
}

/* Read dir/name into buf (NUL-terminated, trailing newline removed). */
static int cg_read(const char *dir, const char *name, char *buf, size_t n, ctr_error_t *err) {
  char p[CTR_CG_PATH_MAX + 64];
  if (join(p, sizeof p, dir, name, err) < 0)
    return -1;
  cleanup_fd int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s", p);
  size_t got = 0;
  while (got + 1 < n) {
    ssize_t r = read(fd, buf + got, n - 1 - got);
    if (r < 0)
      return ctr_fail_errno(err, "read %s", p);
    if (r == 0)
      break;
    got += (size_t)r;
  }
  buf[got] = '\0';
  while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
    buf[--got] = '\0';
  return 0;
}

/* A number (or "max" -> -1) from dir/name. */
static int cg_read_i64(const char *dir, const char *name, int64_t *v, ctr_error_t *err) {
  char buf[64];
  if (cg_read(dir, name, buf, sizeof buf, err) < 0)
    return -1;
  if (strcmp(buf, "max") == 0) {
    *v = -1;
    return 0;
  }
  char *end;
  errno = 0;
  long long x = strtoll(buf, &end, 10);
  if (errno != 0 || end == buf)
    return ctr_fail(err, EINVAL, "parse \"%s\" from %s/%s", buf, dir, name);
  *v = x;
  return 0;
}

/* "key value" lines: the value of key in dir/name. */
static int cg_read_key(const char *dir, const char *name, const char *key, int64_t *v,
                       ctr_error_t *err) {
  char buf[CG_FILE_MAX];
  if (cg_read(dir, name, buf, sizeof buf, err) < 0)
    return -1;
  size_t kl = strlen(key);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
      *v = strtoll(line + kl + 1, NULL, 10);
      return 0;
    }
  }
  return ctr_fail(err, ENOENT, "no \"%s\" in %s/%s", key, dir, name);
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Is tok one of the separator-separated words of list? */
static int has_word(const char *list, const char *tok, const char *seps) {
  size_t tl = strlen(tok);
  for (const char *s = list; *s;) {
    size_t len = strcspn(s, seps);
    if (len == tl && strncmp(s, tok, tl) == 0)
      return 1;
    s += len;
    s += strspn(s, seps);
  }
  return 0;
}

/* ---- layout detection -------------------------------------------------------- */

const char *ctr_cg_kind_name(int kind) {
  switch (kind) {
  case CTR_CG_V1:
    return "v1";
  case CTR_CG_V2:
    return "v2";
  case CTR_CG_HYBRID:
    return "hybrid";
  default:
    return "unknown";
  }
}

static const char *const v1_controllers[] = {
    "cpuset",     "cpu",      "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
    "perf_event", "net_prio", "hugetlb", "pids",  "rdma",   "misc",    "debug",   NULL};

static int is_v1_controller(const char *tok, size_t len) {
  if (len > 5 && strncmp(tok, "name=", 5) == 0)
    return 1;
  for (const char *const *c = v1_controllers; *c; c++)
    if (strlen(*c) == len && strncmp(*c, tok, len) == 0)
      return 1;
  return 0;
}

/* Keep only the controller names of a v1 mount's super options. */
static void v1_controllers_of(const char *opts, char *out, size_t n) {
  out[0] = '\0';
  size_t used = 0;
  for (const char *s = opts; *s;) {
    size_t len = strcspn(s, ",");
    if (is_v1_controller(s, len) && used + len + 2 < n) {
      if (used)
        out[used++] = ',';
      memcpy(out + used, s, len);
      used += len;
      out[used] = '\0';
    }
    s += len;
    s += strspn(s, ",");
  }
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

static int find_hier(const ctr_cg_layout_t *l, int version, const char *controllers) {
  for (int i = 0; i < l->n; i++)
    if (l->hier[i].version == version &&
        (version == 2 || strcmp(l->hier[i].controllers, controllers) == 0))
      return i;
  return -1;
}

static int add_hier(ctr_cg_layout_t *l, int version, const char *mount, const char *controllers,
                    ctr_error_t *err) {
  if (find_hier(l, version, controllers) >= 0)
    return 0; /* the same hierarchy mounted twice: keep the first */
  if (l->n >= CTR_CG_MAX_HIER)
    return ctr_fail(err, E2BIG, "more than %d cgroup hierarchies mounted", CTR_CG_MAX_HIER);
  ctr_cg_hier_t *h = &l->hier[l->n];
  if (strlen(mount) >= sizeof h->mount)
    return ctr_fail(err, ENAMETOOLONG, "cgroup mount point %s", mount);
  h->version = version;
  strcpy(h->mount, mount);
  snprintf(h->controllers, sizeof h->controllers, "%s", controllers);
  l->n++;
  return 0;
}

/* Is the mount of device maj:min what one sees at mp (not hidden by a later mount)? */
static int visible(const char *mp, unsigned maj, unsigned min) {
  struct stat st;
  return stat(mp, &st) == 0 && major(st.st_dev) == maj && minor(st.st_dev) == min;
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [tags] - fstype src superopts". */
static int parse_mountinfo_line(ctr_cg_layout_t *l, char *line, int want_v1, ctr_error_t *err) {
  char *sep = strstr(line, " - ");
  if (sep == NULL)
    return 0;
  *sep = '\0';
  char mp[CTR_CG_PATH_MAX], fstype[32], opts[512];
  unsigned maj, min;
  if (sscanf(line, "%*s %*s %u:%u %*s %511s", &maj, &min, mp) != 3 ||
      sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
    return 0;
  unescape(mp);
  if (strncmp(fstype, "cgroup", 6) != 0 || !visible(mp, maj, min))
    return 0;
  if (strcmp(fstype, "cgroup2") == 0)
    return add_hier(l, 2, mp, "", err);
  if (strcmp(fstype, "cgroup") != 0 || !want_v1)
    return 0;
  char ctrls[256];
  v1_controllers_of(opts, ctrls, sizeof ctrls);
  return ctrls[0] ? add_hier(l, 1, mp, ctrls, err) : 0;
}

static int scan_mountinfo(ctr_cg_layout_t *l, int want_v1, ctr_error_t *err) {
  cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL)
    return ctr_fail_errno(err, "open /proc/self/mountinfo");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = '\0';
    if (parse_mountinfo_line(l, line, want_v1, err) < 0)
      return -1;
  }
  return 0;
}

static long fs_magic(const char *p) {
  struct statfs sf;
  return statfs(p, &sf) == 0 ? (long)sf.f_type : 0;
}

/* Fill the v2 hierarchy's controllers from its root's cgroup.controllers. */
static int v2_controllers(ctr_cg_hier_t *h, ctr_error_t *err) {
  char buf[256];
  if (cg_read(h->mount, "cgroup.controllers", buf, sizeof buf, err) < 0)
    return -1;
  for (char *c = buf; *c; c++)
    if (*c == ' ')
      *c = ',';
  snprintf(h->controllers, sizeof h->controllers, "%s", buf);
  return 0;
}

static int classify(ctr_cg_layout_t *l, long root_magic, ctr_error_t *err) {
  int nv1 = 0, v2 = -1;
  for (int i = 0; i < l->n; i++) {
    if (l->hier[i].version == 1)
      nv1++;
    else
      v2 = i;
  }
  if (nv1 == 0 && v2 < 0)
    return ctr_fail(err, ENOENT, "no cgroup hierarchy is mounted (statfs %s, /proc/self/mountinfo)",
                    CG_ROOT);
  if (root_magic == CGROUP2_SUPER_MAGIC || nv1 == 0)
    l->kind = CTR_CG_V2;
  else
    l->kind = v2 >= 0 ? CTR_CG_HYBRID : CTR_CG_V1;
  return v2 >= 0 ? v2_controllers(&l->hier[v2], err) : 0;
}

int ctr_cg_detect(ctr_cg_layout_t *l, ctr_error_t *err) {
  memset(l, 0, sizeof *l);
  long root_magic = fs_magic(CG_ROOT);
  int pure_v2 = root_magic == CGROUP2_SUPER_MAGIC;
  if (pure_v2 && add_hier(l, 2, CG_ROOT, "", err) < 0)
    return -1;
  if (!pure_v2 && fs_magic(CG_UNIFIED) == CGROUP2_SUPER_MAGIC &&
      add_hier(l, 2, CG_UNIFIED, "", err) < 0)
    return -1;
  if (scan_mountinfo(l, !pure_v2, err) < 0)
    return -1;
  return classify(l, root_magic, err);
}

/* ---- names and ownership ------------------------------------------------------- */

int ctr_cg_check_path(const char *path, ctr_error_t *err) {
  if (path == NULL || path[0] == '\0')
    return ctr_fail(err, EINVAL, "invalid cgroup path \"\": it must not be empty");
  if (path[0] == '/')
    return ctr_fail(err, EINVAL,
                    "invalid cgroup path \"%s\": it must be relative (\"luac-ctr/<id>\")", path);
  if (strlen(path) > 255)
    return ctr_fail(err, ENAMETOOLONG, "invalid cgroup path \"%s\": too long", path);
  for (const char *c = path; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      return ctr_fail(err, EINVAL, "invalid cgroup path: it contains a control character");
  for (const char *s = path; *s;) {
    size_t len = strcspn(s, "/");
    if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
      return ctr_fail(err, EINVAL, "invalid cgroup path \"%s\": empty, \".\" or \"..\" component",
                      path);
    s += len;
    if (*s == '/')
      s++;
    if (*s == '\0' && s[-1] == '/')
      return ctr_fail(err, EINVAL, "invalid cgroup path \"%s\": trailing \"/\"", path);
  }
  return 0;
}

int ctr_cg_owner(const ctr_cg_layout_t *l, const char *controller) {
  for (int i = 0; i < l->n; i++)
    if (has_word(l->hier[i].controllers, controller, ","))
      return i;
  return -1;
}

int ctr_cg_dir(const ctr_cg_layout_t *l, int i, const char *path, char *buf, size_t n,
               ctr_error_t *err) {
  return join(buf, n, l->hier[i].mount, path, err);
}

int ctr_cg_exists(const ctr_cg_layout_t *l, const char *path) {
  int count = 0;
  char d[CTR_CG_PATH_MAX + 256];
  for (int i = 0; i < l->n; i++)
    if (ctr_cg_dir(l, i, path, d, sizeof d, NULL) == 0 && is_dir(d))
      count++;
  return count;
}

/* ---- creation ------------------------------------------------------------------- */

static const char *const v2_wanted[] = {"cpuset", "cpu", "memory", "pids", NULL};

/* v2: enable the controllers this hierarchy owns in dir's cgroup.subtree_control. */
static int v2_enable_subtree(const ctr_cg_hier_t *h, const char *dir, ctr_error_t *err) {
  char avail[256], on[256];
  if (cg_read(dir, "cgroup.controllers", avail, sizeof avail, err) < 0 ||
      cg_read(dir, "cgroup.subtree_control", on, sizeof on, err) < 0)
    return -1;
  for (const char *const *c = v2_wanted; *c; c++) {
    if (!has_word(h->controllers, *c, ",") || !has_word(avail, *c, " ") || has_word(on, *c, " "))
      continue;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "+%s", *c);
    if (cg_write(dir, "cgroup.subtree_control", cmd, err) < 0)
      return -1;
  }
  return 0;
}

/* v1 cpuset: a new cpuset is unusable until cpus and mems are set: copy the
 * parent's. known[] holds the parent's values when the level above was just
 * looked at ("" when not): they are not read again. A directory we have
 * just made (fresh) is empty (or, with cgroup.clone_children, holds the very
 * values copied): it is written without being read. On return known[] holds
 * dir's values. */
static int v1_inherit_cpuset(const char *dir, const char *parent, int fresh,
                             char known[2][CG_FILE_MAX], ctr_error_t *err) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int k = 0; k < 2; k++) {
    char mine[CG_FILE_MAX];
    if (!fresh) {
      if (cg_read(dir, files[k], mine, sizeof mine, err) < 0)
        return -1;
      if (mine[0] != '\0') {
        memcpy(known[k], mine, sizeof mine);
        continue;
      }
    }
    if (known[k][0] == '\0' && cg_read(parent, files[k], known[k], CG_FILE_MAX, err) < 0)
      return -1;
    if (cg_write(dir, files[k], known[k], err) < 0)
      return -1;
  }
  return 0;
}

/* Make one level below parent; EEXIST is fine unless it is the leaf. */
static int make_level(const ctr_cg_hier_t *h, const char *parent, const char *dir, int leaf,
                      char known[2][CG_FILE_MAX], ctr_error_t *err) {
  if (h->version == 2 && v2_enable_subtree(h, parent, err) < 0)
    return -1;
  int fresh = 1;
  if (mkdir(dir, 0755) < 0) {
    if (errno == EEXIST && leaf)
      return ctr_fail(err, EEXIST, "cgroup %s already exists", dir);
    if (errno != EEXIST)
      return ctr_fail_errno(err, "mkdir %s", dir);
    fresh = 0;
  }
  if (h->version == 1 && has_word(h->controllers, "cpuset", ",") &&
      v1_inherit_cpuset(dir, parent, fresh, known, err) < 0) {
    if (leaf)
      rmdir(dir);
    return -1;
  }
  return 0;
}

/* mkdir -p mount/path in one hierarchy (the leaf must be new). */
static int make_path(const ctr_cg_hier_t *h, const char *path, ctr_error_t *err) {
  char parent[CTR_CG_PATH_MAX + 256], dir[CTR_CG_PATH_MAX + 256];
  char known[2][CG_FILE_MAX] = {"", ""}; /* the parent's cpuset.cpus and .mems, once read */
  snprintf(parent, sizeof parent, "%s", h->mount);
  for (const char *s = path; *s;) {
    size_t len = strcspn(s, "/");
    int leaf = s[len] == '\0';
    int r = snprintf(dir, sizeof dir, "%s/%.*s", parent, (int)len, s);
    if (r < 0 || (size_t)r >= sizeof dir)
      return ctr_fail(err, ENAMETOOLONG, "cgroup path %s/%s", h->mount, path);
    if (make_level(h, parent, dir, leaf, known, err) < 0)
      return -1;
    memcpy(parent, dir, sizeof parent);
    s += len;
    s += strspn(s, "/");
  }
  return 0;
}

/* The owner hierarchy's directory for a controller; fails if none owns it. */
static int owner_dir(const ctr_cg_layout_t *l, const char *path, const char *ctrl, const char *what,
                     char *buf, size_t n, int *version, ctr_error_t *err) {
  int i = ctr_cg_owner(l, ctrl);
  if (i < 0)
    return ctr_fail(err, ENODEV,
                    "cannot set %s: the %s controller is not available "
                    "(not mounted on cgroup v1, not enabled on cgroup v2)",
                    what, ctrl);
  *version = l->hier[i].version;
  return ctr_cg_dir(l, i, path, buf, n, err);
}

/* Swap files are missing when the kernel does not account swap: docker warns, we skip. */
static int write_swap(const char *dir, const char *name, const char *value, ctr_error_t *err) {
  char p[CTR_CG_PATH_MAX + 300];
  if (join(p, sizeof p, dir, name, err) < 0)
    return -1;
  if (access(p, F_OK) < 0 && errno == ENOENT)
    return 0;
  return cg_write(dir, name, value, err);
}

static int apply_memory(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                        ctr_error_t *err) {
  if (lim->memory == 0 && lim->memory_swap == 0)
    return 0;
  if (lim->memory <= 0)
    return ctr_fail(err, EINVAL, "a memory+swap limit needs a memory limit too");
  if (lim->memory_swap > 0 && lim->memory_swap < lim->memory)
    return ctr_fail(err, EINVAL, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64,
                    lim->memory_swap, lim->memory);
  char dir[CTR_CG_PATH_MAX + 256], v[32];
  int ver = 0;
  if (owner_dir(l, path, "memory", "the memory limit", dir, sizeof dir, &ver, err) < 0)
    return -1;
  if (ver == 1) {
    if (cg_write_i64(dir, "memory.limit_in_bytes", lim->memory, err) < 0)
      return -1;
    snprintf(v, sizeof v, "%" PRId64, lim->memory_swap);
    return lim->memory_swap ? write_swap(dir, "memory.memsw.limit_in_bytes", v, err) : 0;
  }
  if (cg_write_i64(dir, "memory.max", lim->memory, err) < 0)
    return -1;
  if (lim->memory_swap == 0)
    return 0;
  if (lim->memory_swap < 0)
    snprintf(v, sizeof v, "max");
  else
    snprintf(v, sizeof v, "%" PRId64, lim->memory_swap - lim->memory);
  return write_swap(dir, "memory.swap.max", v, err);
}

static int apply_cpu(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                     ctr_error_t *err) {
  if (lim->cpu_quota == 0)
    return 0;
  int64_t period = lim->cpu_period > 0 ? lim->cpu_period : 100000;
  char dir[CTR_CG_PATH_MAX + 256];
  int ver = 0;
  if (owner_dir(l, path, "cpu", "the CPU quota", dir, sizeof dir, &ver, err) < 0)
    return -1;
  if (ver == 1)
    return cg_write_i64(dir, "cpu.cfs_period_us", period, err) < 0 ||
                   cg_write_i64(dir, "cpu.cfs_quota_us", lim->cpu_quota, err) < 0
               ? -1
               : 0;
  char v[64];
  snprintf(v, sizeof v, "%" PRId64 " %" PRId64, lim->cpu_quota, period);
  return cg_write(dir, "cpu.max", v, err);
}

static int apply_cpuset(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                        ctr_error_t *err) {
  if (lim->cpuset_cpus == NULL && lim->cpuset_mems == NULL)
    return 0;
  char dir[CTR_CG_PATH_MAX + 256];
  int ver = 0;
  if (owner_dir(l, path, "cpuset", "the cpuset", dir, sizeof dir, &ver, err) < 0)
    return -1;
  if (lim->cpuset_cpus && cg_write(dir, "cpuset.cpus", lim->cpuset_cpus, err) < 0)
    return -1;
  if (lim->cpuset_mems && cg_write(dir, "cpuset.mems", lim->cpuset_mems, err) < 0)
    return -1;
  return 0;
}

static int apply_pids(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                      ctr_error_t *err) {
  if (lim->pids == 0)
    return 0;
  char dir[CTR_CG_PATH_MAX + 256];
  int ver = 0;
  if (owner_dir(l, path, "pids", "the pids limit", dir, sizeof dir, &ver, err) < 0)
    return -1;
  if (lim->pids < 0)
    return cg_write(dir, "pids.max", "max", err);
  return cg_write_i64(dir, "pids.max", lim->pids, err);
}

static int apply_limits(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                        ctr_error_t *err) {
  if (apply_memory(l, path, lim, err) < 0 || apply_cpu(l, path, lim, err) < 0 ||
      apply_cpuset(l, path, lim, err) < 0 || apply_pids(l, path, lim, err) < 0)
    return -1;
  return 0;
}

int ctr_cg_update(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                  ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  if (ctr_cg_exists(l, path) == 0)
    return ctr_fail(err, ENOENT, "cgroup %s does not exist", path);
  return apply_limits(l, path, lim, err);
}

static void undo_create(const ctr_cg_layout_t *l, const char *path, unsigned made) {
  char d[CTR_CG_PATH_MAX + 256];
  for (int i = 0; i < l->n; i++)
    if ((made & (1u << i)) && ctr_cg_dir(l, i, path, d, sizeof d, NULL) == 0)
      rmdir(d);
}

/* In hybrid layouts a read-only cgroup2 mount (no controllers) is skipped. */
static int optional_hier(const ctr_cg_layout_t *l, int i, int errnum) {
  return l->kind == CTR_CG_HYBRID && l->hier[i].version == 2 &&
         (errnum == EROFS || errnum == EACCES);
}

int ctr_cg_create(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                  ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  if (ctr_cg_exists(l, path) > 0)
    return ctr_fail(err, EEXIST, "cgroup %s already exists", path);
  unsigned made = 0;
  for (int i = 0; i < l->n; i++) {
    if (make_path(&l->hier[i], path, err) < 0) {
      if (optional_hier(l, i, err->errnum))
        continue;
      undo_create(l, path, made);
      return ctr_error_wrap(err, "create cgroup %s", path);
    }
    made |= 1u << i;
  }
  if (apply_limits(l, path, lim, err) < 0) {
    undo_create(l, path, made);
    return ctr_error_wrap(err, "create cgroup %s", path);
  }
  return 0;
}

/* ---- membership ------------------------------------------------------------------- */

int ctr_cg_add(const ctr_cg_layout_t *l, const char *path, pid_t pid, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  char d[CTR_CG_PATH_MAX + 256], v[24];
  snprintf(v, sizeof v, "%d", (int)pid);
  int done = 0;
  for (int i = 0; i < l->n; i++) {
    if (ctr_cg_dir(l, i, path, d, sizeof d, err) < 0)
      return -1;
    if (!is_dir(d))
      continue;
    if (cg_write(d, "cgroup.procs", v, err) < 0)
      return ctr_error_wrap(err, "add process %d to cgroup %s", (int)pid, path);
    done++;
  }
  if (done == 0)
    return ctr_fail(err, ENOENT, "add process %d to cgroup %s: no such cgroup", (int)pid, path);
  return 0;
}

static int add_unique(pid_t **v, size_t *n, size_t *cap, pid_t p, ctr_error_t *err) {
  for (size_t i = 0; i < *n; i++)
    if ((*v)[i] == p)
      return 0;
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    pid_t *nv = realloc(*v, nc * sizeof *nv);
    if (nv == NULL)
      return ctr_fail_errno(err, "allocate a list of %zu pids", nc);
    *v = nv;
    *cap = nc;
  }
  (*v)[(*n)++] = p;
  return 0;
}

static int read_procs(const char *dir, pid_t **v, size_t *n, size_t *cap, ctr_error_t *err) {
  char p[CTR_CG_PATH_MAX + 300];
  if (join(p, sizeof p, dir, "cgroup.procs", err) < 0)
    return -1;
  cleanup_file FILE *f = fopen(p, "re");
  if (f == NULL)
    return errno == ENOENT ? 0 : ctr_fail_errno(err, "open %s", p);
  int pid;
  while (fscanf(f, "%d", &pid) == 1)
    if (add_unique(v, n, cap, (pid_t)pid, err) < 0)
      return -1;
  if (ferror(f))
    return ctr_fail_errno(err, "read %s", p);
  return 0;
}

ssize_t ctr_cg_pids(const ctr_cg_layout_t *l, const char *path, pid_t **out, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  cleanup_free pid_t *v = NULL;
  size_t n = 0, cap = 0;
  char d[CTR_CG_PATH_MAX + 256];
  for (int i = 0; i < l->n; i++) {
    if (ctr_cg_dir(l, i, path, d, sizeof d, err) < 0 || read_procs(d, &v, &n, &cap, err) < 0)
      return -1;
  }
  *out = steal_ptr(&v);
  return (ssize_t)n;
}

/* ---- statistics -------------------------------------------------------------------- */

/* Directory of path in the owner of ctrl, or "" (no error) when none owns it. */
static int stat_dir(const ctr_cg_layout_t *l, const char *path, const char *ctrl, char *buf,
                    size_t n, int *version) {
  int i = ctr_cg_owner(l, ctrl);
  buf[0] = '\0';
  if (i < 0 || ctr_cg_dir(l, i, path, buf, n, NULL) < 0 || !is_dir(buf)) {
    buf[0] = '\0';
    return -1;
  }
  *version = l->hier[i].version;
  return 0;
}

/* The OOM kills of the memory cgroup in directory d (v: its hierarchy's version). */
static void read_oom_kills(const char *d, int v, int64_t *n) {
  ctr_error_t e;
  if (v == 1) {
    if (cg_read_key(d, "memory.oom_control", "oom_kill", n, &e) < 0)
      cg_read_key(d, "memory.oom_control", "under_oom", n, &e);
  } else {
    cg_read_key(d, "memory.events", "oom_kill", n, &e);
  }
}

static void stats_memory(const ctr_cg_layout_t *l, const char *path, ctr_cg_stats_t *st) {
  char d[CTR_CG_PATH_MAX + 256];
  int v = 0;
  if (stat_dir(l, path, "memory", d, sizeof d, &v) < 0)
    return;
  ctr_error_t e;
  if (v == 1) {
    cg_read_i64(d, "memory.usage_in_bytes", &st->memory, &e);
    if (cg_read_i64(d, "memory.limit_in_bytes", &st->memory_max, &e) == 0 &&
        st->memory_max >= (INT64_C(1) << 62))
      st->memory_max = -1;
  } else {
    cg_read_i64(d, "memory.current", &st->memory, &e);
    cg_read_i64(d, "memory.max", &st->memory_max, &e);
  }
  read_oom_kills(d, v, &st->oom_kills);
}

int ctr_cg_oom_kills(const ctr_cg_layout_t *l, const char *path, int64_t *n, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  *n = CTR_CG_UNKNOWN;
  char d[CTR_CG_PATH_MAX + 256];
  int v = 0;
  if (stat_dir(l, path, "memory", d, sizeof d, &v) == 0)
    read_oom_kills(d, v, n);
  return 0;
}

static void stats_cpu(const ctr_cg_layout_t *l, const char *path, ctr_cg_stats_t *st) {
  char d[CTR_CG_PATH_MAX + 256];
  int v = 0;
  ctr_error_t e;
  if (stat_dir(l, path, "cpuacct", d, sizeof d, &v) == 0) {
    int64_t ns;
    if (cg_read_i64(d, "cpuacct.usage", &ns, &e) == 0)
      st->cpu_usec = ns / 1000;
    return;
  }
  /* v2: cpu.stat exists in every cgroup of the unified hierarchy */
  for (int i = 0; i < l->n; i++)
    if (l->hier[i].version == 2 && ctr_cg_dir(l, i, path, d, sizeof d, NULL) == 0 && is_dir(d))
      cg_read_key(d, "cpu.stat", "usage_usec", &st->cpu_usec, &e);
}

int ctr_cg_stats(const ctr_cg_layout_t *l, const char *path, ctr_cg_stats_t *st, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  if (ctr_cg_exists(l, path) == 0)
    return ctr_fail(err, ENOENT, "stats of cgroup %s: no such cgroup", path);
  *st = (ctr_cg_stats_t){CTR_CG_UNKNOWN, CTR_CG_UNKNOWN, CTR_CG_UNKNOWN, CTR_CG_UNKNOWN,
                         CTR_CG_UNKNOWN};
  stats_memory(l, path, st);
  stats_cpu(l, path, st);
  char d[CTR_CG_PATH_MAX + 256];
  int v = 0;
  ctr_error_t e;
  if (stat_dir(l, path, "pids", d, sizeof d, &v) == 0)
    cg_read_i64(d, "pids.current", &st->pids, &e);
  return 0;
}

/* ---- kill and remove ----------------------------------------------------------------- */

/* v2 (kernel >= 5.14): cgroup.kill kills the whole subtree at once. */
static void v2_kill_all(const ctr_cg_layout_t *l, const char *path) {
  char d[CTR_CG_PATH_MAX + 256];
  ctr_error_t e;
  for (int i = 0; i < l->n; i++)
    if (l->hier[i].version == 2 && ctr_cg_dir(l, i, path, d, sizeof d, NULL) == 0 && is_dir(d))
      cg_write(d, "cgroup.kill", "1", &e); /* missing on older kernels: the loop does it */
}

/* One round: SIGKILL what is listed; returns how many were listed. */
static ssize_t kill_round(const ctr_cg_layout_t *l, const char *path, ctr_error_t *err) {
  cleanup_free pid_t *pids = NULL;
  ssize_t n = ctr_cg_pids(l, path, &pids, err);
  for (ssize_t i = 0; i < n; i++)
    if (kill(pids[i], SIGKILL) < 0 && errno != ESRCH)
      return ctr_fail_errno(err, "kill process %d of cgroup %s", (int)pids[i], path);
  return n;
}

/* A frozen cgroup (a `commit` killed while it had paused the container)
 * keeps its processes from dying (v1) or stays frozen (v2): thaw it first.
 * Hierarchies without a freezer have no such file (ENOENT): skipped. */
static int thaw(const ctr_cg_layout_t *l, const char *path, ctr_error_t *err) {
  char d[CTR_CG_PATH_MAX + 256];
  for (int i = 0; i < l->n; i++) {
    if (ctr_cg_dir(l, i, path, d, sizeof d, NULL) < 0 || !is_dir(d))
      continue;
    int v2 = l->hier[i].version == 2;
    if (cg_write(d, v2 ? "cgroup.freeze" : "freezer.state", v2 ? "0" : "THAWED", err) < 0 &&
        err->errnum != ENOENT)
      return ctr_error_wrap(err, "kill cgroup %s: thaw it", path);
  }
  return 0;
}

int ctr_cg_kill(const ctr_cg_layout_t *l, const char *path, int timeout_ms, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0 || thaw(l, path, err) < 0)
    return -1;
  v2_kill_all(l, path);
  const struct timespec tick = {0, 10 * 1000 * 1000};
  for (int waited = 0;; waited += 10) {
    ssize_t n = kill_round(l, path, err);
    if (n < 0)
      return -1;
    if (n == 0)
      return 0;
    if (waited >= timeout_ms)
      return ctr_fail(err, ETIMEDOUT, "kill cgroup %s: %zd processes still there after %d ms", path,
                      n, timeout_ms);
    nanosleep(&tick, NULL);
  }
}

/* rmdir that rides out the moment after a kill: an exiting task has left
 * cgroup.procs before it leaves the cgroup, so EBUSY with nothing listed is
 * retried for up to a second. */
static int rmdir_settled(const ctr_cg_layout_t *l, const char *path, const char *dir) {
  const struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0;; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY || i >= 100)
      return -1;
    cleanup_free pid_t *pids = NULL;
    ctr_error_t e;
    ssize_t n = ctr_cg_pids(l, path, &pids, &e);
    if (n != 0) {
      errno = EBUSY;
      return -1;
    }
    nanosleep(&tick, NULL);
  }
}

int ctr_cg_remove(const ctr_cg_layout_t *l, const char *path, ctr_error_t *err) {
  if (ctr_cg_check_path(path, err) < 0)
    return -1;
  char d[CTR_CG_PATH_MAX + 256];
  int rc = 0;
  for (int i = 0; i < l->n; i++) {
    if (ctr_cg_dir(l, i, path, d, sizeof d, err) < 0)
      return -1;
    if (rmdir_settled(l, path, d) == 0)
      continue;
    if (rc == 0 && errno == EBUSY)
      rc = ctr_fail(err, EBUSY, "remove cgroup %s: processes are still in it (kill them first)",
                    path);
    else if (rc == 0)
      rc = ctr_fail_errno(err, "remove cgroup %s: rmdir %s", path, d);
  }
  return rc;
}
