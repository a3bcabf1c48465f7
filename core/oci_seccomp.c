/* oci_seccomp.c - the runtime-spec `linux.seccomp` object -> ctr_seccomp_cfg_t
 * (compiled by core/seccomp.c; names, actions and operators are checked there). */
#include <string.h>

#include "oci_internal.h"

static int read_arg(json_t *a, const char *where, ctr_seccomp_arg_t *out, ctr_error_t *err) {
  static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
  long long index = 0, value = 0, two = 0;
  char buf[OCI_PATH_MAX];
  if (oci_keys(a, where, keys, NULL, err) < 0 ||
      oci_int(a, "index", where, 0, 5, &index, NULL, err) < 0 ||
      oci_int(a, "value", where, INT64_MIN, INT64_MAX, &value, NULL, err) < 0 ||
      oci_int(a, "valueTwo", where, INT64_MIN, INT64_MAX, &two, NULL, err) < 0 ||
      oci_string(a, "op", where, &out->op, err) < 0)
    return -1;
  if (out->op == NULL)
    return oci_bad(err, oci_field(buf, where, "op"), "is required");
  out->index = (unsigned)index;
  out->value = (uint64_t)value; /* a uint64 in the spec: -1 is 2^64-1 */
  out->value_two = (uint64_t)two;
  return 0;
}

static int read_rule(ctr_oci_t *c, json_t *r, const char *where, ctr_seccomp_rule_t *out,
                     ctr_error_t *err) {
  static const char *const keys[] = {"names", "action", "errnoRet", "args", NULL};
  long long eret = -1;
  char buf[OCI_PATH_MAX], abuf[OCI_PATH_MAX];
  if (oci_keys(r, where, keys, NULL, err) < 0 ||
      oci_strv(c, r, "names", where, &out->names, err) < 0 ||
      oci_string(r, "action", where, &out->action, err) < 0 ||
      oci_int(r, "errnoRet", where, 0, 65535, &eret, NULL, err) < 0)
    return -1;
  if (out->names == NULL || out->names[0] == NULL)
    return oci_bad(err, oci_field(buf, where, "names"), "must be a non-empty list");
  if (out->action == NULL)
    return oci_bad(err, oci_field(buf, where, "action"), "is required");
  out->errno_ret = (int)eret;
  json_t *args = json_object_get(r, "args");
  const char *aw = oci_field(abuf, where, "args");
  if (oci_array(args, aw, err) < 0)
    return -1;
  out->nargs = json_is_array(args) ? json_array_size(args) : 0;
  if (out->nargs > 6)
    return oci_bad(err, aw, "at most 6 conditions");
  if ((out->args = oci_alloc(c, out->nargs, sizeof *out->args, err)) == NULL)
    return -1;
  for (size_t i = 0; i < out->nargs; i++)
    if (read_arg(json_array_get(args, i), oci_index(buf, aw, i), &out->args[i], err) < 0)
      return -1;
  return 0;
}

int oci_seccomp(ctr_oci_t *c, json_t *s, const char *where, ctr_error_t *err) {
  static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures",
                                     "flags",         "syscalls",        NULL};
  static const char *const todo[] = {"listenerPath", "listenerMetadata", NULL};
  ctr_seccomp_cfg_t *cfg = &c->seccomp;
  long long eret = -1;
  char buf[OCI_PATH_MAX], sbuf[OCI_PATH_MAX];
  if (oci_keys(s, where, keys, todo, err) < 0 ||
      oci_string(s, "defaultAction", where, &cfg->default_action, err) < 0 ||
      oci_int(s, "defaultErrnoRet", where, 0, 65535, &eret, NULL, err) < 0 ||
      oci_strv(c, s, "architectures", where, &cfg->architectures, err) < 0 ||
      oci_strv(c, s, "flags", where, &cfg->flags, err) < 0)
    return -1;
  if (cfg->default_action == NULL)
    return oci_bad(err, oci_field(buf, where, "defaultAction"), "is required");
  cfg->default_errno = (int)eret;
  json_t *rules = json_object_get(s, "syscalls");
  const char *sw = oci_field(sbuf, where, "syscalls");
  if (oci_array(rules, sw, err) < 0)
    return -1;
  cfg->nrules = json_is_array(rules) ? json_array_size(rules) : 0;
  if ((cfg->rules = oci_alloc(c, cfg->nrules, sizeof *cfg->rules, err)) == NULL)
    return -1;
  for (size_t i = 0; i < cfg->nrules; i++)
    if (read_rule(c, json_array_get(rules, i), oci_index(buf, sw, i), &cfg->rules[i], err) < 0)
      return -1;
  c->has_seccomp = true;
  return 0;
}
