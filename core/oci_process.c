/* oci_process.c - the runtime-spec `process` object: args, env, cwd, user,
 * terminal, capabilities, rlimits, noNewPrivileges, oomScoreAdj. */
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "oci_internal.h"

static const char *const process_keys[] = {"terminal",
                                           "consoleSize",
                                           "user",
                                           "args",
                                           "env",
                                           "cwd",
                                           "capabilities",
                                           "rlimits",
                                           "noNewPrivileges",
                                           "oomScoreAdj",
                                           "apparmorProfile",
                                           "selinuxLabel",
                                           NULL};
/* not implemented: refused unless empty. apparmorProfile and selinuxLabel
 * are checked on their own (no LSM is applied by luac-ctr). */
static const char *const process_todo[] = {"commandLine", "scheduler", "ioPriority",
                                           "execCPUAffinity", NULL};

static int cap_bits(json_t *caps, const char *set, uint64_t *out, ctr_error_t *err) {
  char where[OCI_PATH_MAX], ebuf[OCI_PATH_MAX];
  json_t *v = json_object_get(caps, set);
  oci_field(where, "process.capabilities", set);
  *out = 0;
  if (oci_array(v, where, err) < 0)
    return -1;
  for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
    json_t *e = json_array_get(v, i);
    const char *name = json_string_value(e);
    char lower[64];
    size_t j = 0;
    for (; name && j < sizeof lower - 1 && name[j]; j++)
      lower[j] = (char)(name[j] >= 'A' && name[j] <= 'Z' ? name[j] + 32 : name[j]);
    lower[j] = '\0';
    cap_value_t cv;
    if (name == NULL || name[j] != '\0' || cap_from_name(lower, &cv) < 0 || cv >= 64 || cv < 0)
      return oci_bad(err, oci_index(ebuf, where, i), "unknown capability %s%s%s", name ? "\"" : "",
                     name ? name : "(not a string)", name ? "\"" : "");
    *out |= 1ULL << cv;
  }
  return 0;
}

static int read_caps(json_t *p, ctr_caps_t *caps, ctr_error_t *err) {
  static const char *const keys[] = {"bounding",    "effective", "permitted",
                                     "inheritable", "ambient",   NULL};
  json_t *v = json_object_get(p, "capabilities");
  if (v == NULL || json_is_null(v))
    return 0;
  if (oci_keys(v, "process.capabilities", keys, NULL, err) < 0)
    return -1;
  caps->set = true;
  uint64_t *dst[] = {&caps->bounding, &caps->effective, &caps->permitted, &caps->inheritable,
                     &caps->ambient};
  for (int i = 0; i < 5; i++)
    if (cap_bits(v, keys[i], dst[i], err) < 0)
      return -1;
  return 0;
}

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {{"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
                    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
                    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
                    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
                    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME}};

static int read_rlimit(json_t *e, const char *where, ctr_rlimit_t *r, ctr_error_t *err) {
  static const char *const keys[] = {"type", "soft", "hard", NULL};
  const char *type = NULL;
  long long soft = 0, hard = 0;
  char buf[OCI_PATH_MAX];
  if (oci_keys(e, where, keys, NULL, err) < 0 || oci_string(e, "type", where, &type, err) < 0 ||
      oci_int(e, "soft", where, -1, INT64_MAX, &soft, NULL, err) < 0 ||
      oci_int(e, "hard", where, -1, INT64_MAX, &hard, NULL, err) < 0)
    return -1;
  size_t i = 0;
  while (type && i < sizeof rlimit_names / sizeof *rlimit_names &&
         strcmp(rlimit_names[i].name, type) != 0)
    i++;
  if (type == NULL || i == sizeof rlimit_names / sizeof *rlimit_names)
    return oci_bad(err, oci_field(buf, where, "type"), "unknown rlimit \"%s\"", type ? type : "");
  r->resource = rlimit_names[i].resource;
  /* -1 (Go's uint64 max written signed) is RLIM_INFINITY */
  r->lim.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
  r->lim.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
  if (r->lim.rlim_cur > r->lim.rlim_max)
    return oci_bad(err, where, "soft limit above the hard limit");
  return 0;
}

static int read_rlimits(ctr_oci_t *c, json_t *p, ctr_error_t *err) {
  json_t *v = json_object_get(p, "rlimits");
  char where[OCI_PATH_MAX];
  if (oci_array(v, "process.rlimits", err) < 0)
    return -1;
  size_t n = json_is_array(v) ? json_array_size(v) : 0;
  ctr_rlimit_t *r = oci_alloc(c, n, sizeof *r, err);
  if (r == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (read_rlimit(json_array_get(v, i), oci_index(where, "process.rlimits", i), &r[i], err) < 0)
      return -1;
  c->spawn.rlimits = r;
  c->spawn.nrlimits = n;
  return 0;
}

static int read_groups(ctr_oci_t *c, json_t *u, ctr_process_t *p, ctr_error_t *err) {
  json_t *v = json_object_get(u, "additionalGids");
  char where[OCI_PATH_MAX];
  if (oci_array(v, "process.user.additionalGids", err) < 0)
    return -1;
  size_t n = json_is_array(v) ? json_array_size(v) : 0;
  if (n > 65536)
    return oci_bad(err, "process.user.additionalGids", "more than 65536 groups");
  p->groups = oci_alloc(c, n, sizeof *p->groups, err);
  if (p->groups == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > OCI_MAX_ID)
      return oci_bad(err, oci_index(where, "process.user.additionalGids", i),
                     "not an integer in 0..2147483647");
    p->groups[i] = (gid_t)json_integer_value(e);
  }
  p->ngroups = n;
  return 0;
}

static int read_user(ctr_oci_t *c, json_t *p, ctr_process_t *proc, ctr_error_t *err) {
  static const char *const keys[] = {"uid", "gid", "additionalGids", "umask", NULL};
  static const char *const todo[] = {"username", NULL};
  const char *w = "process.user";
  json_t *u = json_object_get(p, "user");
  long long uid = 0, gid = 0, mask = 0;
  if (u == NULL || json_is_null(u))
    return 0;
  if (oci_keys(u, w, keys, todo, err) < 0 ||
      oci_int(u, "uid", w, 0, OCI_MAX_ID, &uid, NULL, err) < 0 ||
      oci_int(u, "gid", w, 0, OCI_MAX_ID, &gid, NULL, err) < 0 ||
      oci_int(u, "umask", w, 0, 0777, &mask, &proc->umask_set, err) < 0 ||
      read_groups(c, u, proc, err) < 0)
    return -1;
  proc->uid = (uid_t)uid;
  proc->gid = (gid_t)gid;
  proc->umask = (mode_t)mask;
  return 0;
}

/* args, env, cwd (absolute) */
static int read_command(ctr_oci_t *c, json_t *p, ctr_process_t *proc, ctr_error_t *err) {
  if (oci_strv(c, p, "args", "process", &proc->argv, err) < 0 ||
      oci_strv(c, p, "env", "process", &proc->env, err) < 0)
    return -1;
  if (proc->argv == NULL || proc->argv[0] == NULL)
    return oci_bad(err, "process.args", "must be a non-empty list");
  if (proc->env == NULL && (proc->env = oci_alloc(c, 1, sizeof(char *), err)) == NULL)
    return -1;
  proc->cwd = "/";
  if (oci_string(p, "cwd", "process", &proc->cwd, err) < 0)
    return -1;
  if (proc->cwd[0] != '/')
    return oci_bad(err, "process.cwd", "must be an absolute path");
  return 0;
}

/* apparmorProfile, selinuxLabel: luac-ctr applies no LSM label; a label
 * asked for is refused rather than dropped. */
static int read_labels(json_t *p, ctr_error_t *err) {
  const char *aa = NULL, *se = NULL;
  if (oci_string(p, "apparmorProfile", "process", &aa, err) < 0 ||
      oci_string(p, "selinuxLabel", "process", &se, err) < 0)
    return -1;
  if (aa && aa[0])
    return oci_bad(err, "process.apparmorProfile",
                   "AppArmor profiles are not supported by luac-ctr (\"%s\")", aa);
  if (se && se[0])
    return oci_bad(err, "process.selinuxLabel",
                   "SELinux labels are not supported by luac-ctr (\"%s\")", se);
  return 0;
}

int oci_process(ctr_oci_t *c, json_t *p, ctr_error_t *err) {
  ctr_process_t *proc = &c->spawn.proc;
  long long adj = 0;
  bool has_adj = false;
  if (oci_keys(p, "process", process_keys, process_todo, err) < 0 ||
      read_command(c, p, proc, err) < 0 ||
      oci_bool(p, "terminal", "process", &proc->terminal, err) < 0 ||
      oci_bool(p, "noNewPrivileges", "process", &proc->no_new_privs, err) < 0 ||
      read_user(c, p, proc, err) < 0 || read_caps(p, &proc->caps, err) < 0 ||
      read_rlimits(c, p, err) < 0 || read_labels(p, err) < 0 ||
      oci_int(p, "oomScoreAdj", "process", -1000, 1000, &adj, &has_adj, err) < 0)
    return -1;
  c->spawn.oom_score_adj = has_adj ? (int)adj : INT32_MIN;
  return 0;
}
