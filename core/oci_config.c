/* oci_config.c - the runtime-spec config.json -> the core's structures: the
 * document, its top level (root, hostname, domainname) and the readers the
 * parts share (oci_internal.h). */
#include "oci_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "oci_bytes.h"
#include "oci_internal.h"

struct ctr_oci_block {
  struct ctr_oci_block *next;
  max_align_t data[];
};

int oci_bad(ctr_error_t *err, const char *where, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ctr_fail(err, 0, "%s: %s", where, msg);
}

const char *oci_field(char buf[OCI_PATH_MAX], const char *where, const char *key) {
  snprintf(buf, OCI_PATH_MAX, "%s%s%s", where, where[0] ? "." : "", key);
  return buf;
}

const char *oci_index(char buf[OCI_PATH_MAX], const char *where, size_t i) {
  snprintf(buf, OCI_PATH_MAX, "%s[%zu]", where, i);
  return buf;
}

void *oci_alloc(ctr_oci_t *c, size_t n, size_t size, ctr_error_t *err) {
  if (size && n > (SIZE_MAX - sizeof(struct ctr_oci_block)) / size) {
    ctr_fail(err, ENOMEM, "config: a list of %zu entries", n);
    return NULL;
  }
  struct ctr_oci_block *b = calloc(1, sizeof *b + n * size);
  if (b == NULL) {
    ctr_fail_errno(err, "config: allocating %zu bytes", n * size);
    return NULL;
  }
  b->next = c->blocks;
  c->blocks = b;
  return b->data;
}

bool oci_empty(const json_t *v) {
  if (v == NULL || json_is_null(v) || json_is_false(v))
    return true;
  if (json_is_string(v))
    return json_string_length(v) == 0;
  if (json_is_integer(v))
    return json_integer_value(v) == 0;
  if (json_is_array(v))
    return json_array_size(v) == 0;
  if (json_is_object(v))
    return json_object_size(v) == 0;
  return false;
}

static bool listed(const char *const *list, const char *k) {
  for (; list && *list; list++)
    if (strcmp(*list, k) == 0)
      return true;
  return false;
}

int oci_keys(json_t *v, const char *where, const char *const *known, const char *const *todo,
             ctr_error_t *err) {
  if (json_is_array(v) && json_array_size(v) == 0)
    return 0;
  if (!json_is_object(v))
    return oci_bad(err, where[0] ? where : "(top)", "must be an object");
  const char *k;
  json_t *e;
  char buf[OCI_PATH_MAX];
  json_object_foreach(v, k, e) {
    if (listed(known, k))
      continue;
    if (listed(todo, k)) {
      if (!oci_empty(e))
        return oci_bad(err, oci_field(buf, where, k), "not supported by luac-ctr");
      continue;
    }
    return oci_bad(err, oci_field(buf, where, k), "unknown field");
  }
  return 0;
}

int oci_array(json_t *v, const char *where, ctr_error_t *err) {
  if (v == NULL || json_is_null(v) || json_is_array(v) ||
      (json_is_object(v) && json_object_size(v) == 0))
    return 0;
  return oci_bad(err, where, "must be an array");
}

int oci_string(json_t *obj, const char *key, const char *where, const char **out,
               ctr_error_t *err) {
  json_t *v = json_object_get(obj, key);
  char buf[OCI_PATH_MAX];
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return oci_bad(err, oci_field(buf, where, key), "must be a string");
  if (strlen(json_string_value(v)) != json_string_length(v))
    return oci_bad(err, oci_field(buf, where, key), "contains a NUL byte");
  *out = json_string_value(v);
  return 0;
}

int oci_int(json_t *obj, const char *key, const char *where, long long min, long long max,
            long long *out, bool *present, ctr_error_t *err) {
  json_t *v = json_object_get(obj, key);
  char buf[OCI_PATH_MAX];
  if (present)
    *present = false;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
    return oci_bad(err, oci_field(buf, where, key), "not an integer in %lld..%lld", min, max);
  *out = json_integer_value(v);
  if (present)
    *present = true;
  return 0;
}

int oci_bool(json_t *obj, const char *key, const char *where, bool *out, ctr_error_t *err) {
  json_t *v = json_object_get(obj, key);
  char buf[OCI_PATH_MAX];
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_boolean(v))
    return oci_bad(err, oci_field(buf, where, key), "must be true or false");
  *out = json_is_true(v);
  return 0;
}

int oci_strv(ctr_oci_t *c, json_t *obj, const char *key, const char *where, char ***out,
             ctr_error_t *err) {
  json_t *v = json_object_get(obj, key);
  char buf[OCI_PATH_MAX], ebuf[OCI_PATH_MAX];
  const char *here = oci_field(buf, where, key);
  if (v == NULL || json_is_null(v))
    return 0;
  if (oci_array(v, here, err) < 0)
    return -1;
  size_t n = json_is_array(v) ? json_array_size(v) : 0;
  char **s = oci_alloc(c, n + 1, sizeof *s, err);
  if (s == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
      return oci_bad(err, oci_index(ebuf, here, i), "must be a string without NUL bytes");
    s[i] = (char *)json_string_value(e);
  }
  *out = s;
  return 0;
}

/* ---- the top level ------------------------------------------------------------ */

static const char *const top_keys[] = {"ociVersion",  "process", "root",  "hostname",
                                       "domainname",  "mounts",  "linux", "hooks",
                                       "annotations", NULL};
static const char *const top_todo[] = {"solaris", "windows", "vm", "zos", NULL};

/* root {path, readonly}; overlay {lowerdir, upperdir, workdir} is luac-ctr's
 * own (an overlay mounted inside the container's mount namespace). */
static int read_root(ctr_oci_t *c, json_t *r, const char *base, ctr_error_t *err) {
  static const char *const keys[] = {"path", "readonly", "overlay", NULL};
  static const char *const okeys[] = {"lowerdir", "upperdir", "workdir", NULL};
  ctr_spawn_cfg_t *s = &c->spawn;
  const char *path = NULL;
  if (r == NULL || oci_keys(r, "root", keys, NULL, err) < 0 ||
      oci_string(r, "path", "root", &path, err) < 0 ||
      oci_bool(r, "readonly", "root", &s->readonly_root, err) < 0)
    return r == NULL ? oci_bad(err, "root", "is required") : -1;
  if (path == NULL || path[0] == '\0')
    return oci_bad(err, "root.path", "is required");
  if (path[0] != '/') {
    size_t n = strlen(base ? base : ".") + strlen(path) + 2;
    char *abs = oci_alloc(c, n, 1, err);
    if (abs == NULL)
      return -1;
    snprintf(abs, n, "%s/%s", base ? base : ".", path);
    path = abs;
  }
  s->rootfs = path;
  json_t *o = json_object_get(r, "overlay");
  if (o == NULL || json_is_null(o))
    return 0;
  if (oci_keys(o, "root.overlay", okeys, NULL, err) < 0 ||
      oci_string(o, "lowerdir", "root.overlay", &s->overlay_lower, err) < 0 ||
      oci_string(o, "upperdir", "root.overlay", &s->overlay_upper, err) < 0 ||
      oci_string(o, "workdir", "root.overlay", &s->overlay_work, err) < 0)
    return -1;
  if (!s->overlay_lower || !s->overlay_upper || !s->overlay_work)
    return oci_bad(err, "root.overlay", "needs lowerdir, upperdir and workdir");
  return 0;
}

static int read_top(ctr_oci_t *c, json_t *root, const char *base, ctr_error_t *err) {
  ctr_spawn_cfg_t *s = &c->spawn;
  if (oci_keys(root, "", top_keys, top_todo, err) < 0)
    return -1;
  json_t *p = json_object_get(root, "process");
  if (p == NULL || json_is_null(p))
    return oci_bad(err, "process", "is required");
  if (oci_process(c, p, err) < 0 || read_root(c, json_object_get(root, "root"), base, err) < 0 ||
      oci_string(root, "hostname", "", &s->hostname, err) < 0 ||
      oci_string(root, "domainname", "", &s->domainname, err) < 0 ||
      oci_mounts(c, json_object_get(root, "mounts"), err) < 0 ||
      oci_linux(c, json_object_get(root, "linux"), err) < 0)
    return -1;
  if (s->overlay_lower && !(s->clone_flags & CLONE_NEWNS))
    return oci_bad(err, "root.overlay", "needs a new mount namespace");
  /* as runc: a uts namespace of the container's (new, or joined by path) */
  bool uts = (s->clone_flags & CLONE_NEWUTS) != 0;
  for (size_t i = 0; i < s->njoin_ns; i++)
    uts = uts || s->join_ns[i].type == CLONE_NEWUTS;
  if (s->domainname && s->domainname[0] && !uts)
    return oci_bad(err, "domainname", "needs a uts namespace of the container's own");
  if (s->hostname && s->hostname[0] && !uts)
    return oci_bad(err, "hostname", "needs a uts namespace of the container's own");
  return 0;
}

/* ---- entry points ----------------------------------------------------------------- */

static json_t *decode(const char *text, size_t len, ctr_error_t *err) {
  json_error_t je;
  json_t *root = ctr_json_loadb_bytes(text, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    ctr_fail(err, 0, "config: bad JSON at line %d column %d: %s", je.line, je.column, je.text);
  else if (!json_is_object(root)) {
    json_decref(root);
    root = NULL;
    ctr_fail(err, 0, "config: must be a JSON object");
  }
  return root;
}

static void init(ctr_oci_t *out) {
  memset(out, 0, sizeof *out);
  out->spawn.cgroup_into_fd = -1;
  out->spawn.stdin_fd = out->spawn.stdout_fd = out->spawn.stderr_fd = -1;
  out->spawn.oom_score_adj = INT32_MIN;
}

typedef int (*reader_fn)(ctr_oci_t *c, json_t *root, const char *base, ctr_error_t *err);

static int parse_with(const char *text, size_t len, const char *base, ctr_oci_t *out,
                      reader_fn read, ctr_error_t *err) {
  init(out);
  json_t *root = decode(text, len, err);
  if (root == NULL)
    return -1;
  out->json = root;
  if (read(out, root, base, err) < 0) {
    ctr_oci_free(out);
    return -1;
  }
  return 0;
}

int ctr_oci_parse(const char *text, size_t len, const char *base, ctr_oci_t *out,
                  ctr_error_t *err) {
  return parse_with(text, len, base, out, read_top, err);
}

static int read_process_only(ctr_oci_t *c, json_t *root, const char *base, ctr_error_t *err) {
  (void)base;
  return oci_process(c, root, err);
}

int ctr_oci_parse_process(const char *text, size_t len, ctr_oci_t *out, ctr_error_t *err) {
  return parse_with(text, len, NULL, out, read_process_only, err);
}

static int read_seccomp_only(ctr_oci_t *c, json_t *root, const char *base, ctr_error_t *err) {
  (void)base;
  return oci_seccomp(c, root, "linux.seccomp", err);
}

int ctr_oci_parse_seccomp(const char *text, size_t len, ctr_oci_t *out, ctr_error_t *err) {
  return parse_with(text, len, NULL, out, read_seccomp_only, err);
}

int ctr_oci_load(const char *path, ctr_oci_t *out, ctr_error_t *err) {
  init(out);
  cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return ctr_fail_errno(err, "open %s", path);
  if (!S_ISREG(st.st_mode) || st.st_size > 64 * 1024 * 1024)
    return ctr_fail(err, EINVAL, "%s: not a regular file of at most 64 MiB", path);
  cleanup_free char *text = malloc((size_t)st.st_size + 1);
  if (text == NULL)
    return ctr_fail_errno(err, "reading %s", path);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ctr_fail_errno(err, "read %s", path);
    if (n == 0)
      break;
    got += (size_t)n;
  }
  cleanup_free char *dir = strdup(path);
  if (dir == NULL)
    return ctr_fail_errno(err, "reading %s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash == NULL ? "." : slash == dir ? "/" : (*slash = '\0', dir);
  if (ctr_oci_parse(text, got, base, out, err) < 0)
    return ctr_error_wrap(err, "%s", path);
  return 0;
}

void ctr_oci_free(ctr_oci_t *c) {
  while (c->blocks) {
    struct ctr_oci_block *next = c->blocks->next;
    free(c->blocks);
    c->blocks = next;
  }
  if (c->json)
    json_decref(c->json);
  c->json = NULL;
}
