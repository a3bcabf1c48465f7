/* caps.c - capabilities via libcap and /proc/<pid>/status. */
#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "cleanup.h"

CTR_DEFINE_CLEANUP(cap_freep, struct _cap_struct, cap_free) /* cap_t is struct _cap_struct * */
#define cleanup_cap __attribute__((cleanup(cap_freep)))

int ctr_cap_last(void) {
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int last = -1;
  if (f) {
    if (fscanf(f, "%d", &last) != 1)
      last = -1;
    fclose(f);
  }
  return last >= 0 && last < 64 ? last : CAP_LAST_CAP;
}

int ctr_cap_from_name(const char *name, ctr_error_t *err) {
  char buf[64];
  const char *s = name;
  if (strncasecmp(s, "cap_", 4) != 0) {
    snprintf(buf, sizeof buf, "cap_%s", name);
    s = buf;
  }
  cap_value_t v;
  if (cap_from_name(s, &v) < 0 || v < 0 || v > 63)
    return ctr_fail(err, EINVAL, "unknown capability '%s'", name);
  return (int)v;
}

void ctr_cap_name(int cap, char *buf, size_t size) {
  char *n = cap_to_name((cap_value_t)cap);
  if (n == NULL) {
    snprintf(buf, size, "%d", cap);
    return;
  }
  snprintf(buf, size, "%s", n);
  cap_free(n);
  for (char *p = buf; *p; p++)
    *p = (char)tolower((unsigned char)*p);
}

static int parse_status_line(const char *line, ctr_capsets_t *out) {
  static const struct {
    const char *key;
    size_t off;
  } keys[] = {{"CapInh:", offsetof(ctr_capsets_t, inheritable)},
              {"CapPrm:", offsetof(ctr_capsets_t, permitted)},
              {"CapEff:", offsetof(ctr_capsets_t, effective)},
              {"CapBnd:", offsetof(ctr_capsets_t, bounding)},
              {"CapAmb:", offsetof(ctr_capsets_t, ambient)}};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    size_t kl = strlen(keys[i].key);
    if (strncmp(line, keys[i].key, kl) == 0) {
      uint64_t v;
      if (sscanf(line + kl, "%" SCNx64, &v) != 1)
        return -1;
      memcpy((char *)out + keys[i].off, &v, sizeof v);
      return 1;
    }
  }
  return 0;
}

int ctr_caps_read(pid_t pid, ctr_capsets_t *out, ctr_error_t *err) {
  char path[64];
  if (pid <= 0)
    snprintf(path, sizeof path, "/proc/self/status");
  else
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  cleanup_file FILE *f = fopen(path, "re");
  if (f == NULL)
    return ctr_fail_errno(err, "open %s", path);
  memset(out, 0, sizeof *out);
  char line[256];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    int r = parse_status_line(line, out);
    if (r < 0)
      return ctr_fail(err, EINVAL, "parse %s: bad line '%s'", path, line);
    found += r;
  }
  if (found < 4)
    return ctr_fail(err, EINVAL, "parse %s: capability lines missing", path);
  return 0;
}

int ctr_cap_drop_bound(int cap, ctr_error_t *err) {
  if (cap_drop_bound((cap_value_t)cap) < 0) {
    char n[64];
    ctr_cap_name(cap, n, sizeof n);
    return ctr_fail_errno(err, "drop %s from the bounding set", n);
  }
  return 0;
}

static int set_flag(cap_t c, cap_flag_t which, uint64_t mask, int last) {
  for (int i = 0; i <= last; i++) {
    if (!(mask & ((uint64_t)1 << i)))
      continue;
    cap_value_t v = i;
    if (cap_set_flag(c, which, 1, &v, CAP_SET) < 0)
      return -1;
  }
  return 0;
}

int ctr_caps_set(uint64_t eff, uint64_t prm, uint64_t inh, ctr_error_t *err) {
  cleanup_cap cap_t c = cap_init();
  if (c == NULL)
    return ctr_fail_errno(err, "cap_init");
  int last = ctr_cap_last();
  if (set_flag(c, CAP_EFFECTIVE, eff, last) < 0 || set_flag(c, CAP_PERMITTED, prm, last) < 0 ||
      set_flag(c, CAP_INHERITABLE, inh, last) < 0)
    return ctr_fail_errno(err, "build capability sets");
  if (cap_set_proc(c) < 0)
    return ctr_fail_errno(
        err, "set capabilities (eff 0x%" PRIx64 ", prm 0x%" PRIx64 ", inh 0x%" PRIx64 ")", eff, prm,
        inh);
  return 0;
}

int ctr_caps_set_ambient(uint64_t amb, ctr_error_t *err) {
  if (cap_reset_ambient() < 0)
    return ctr_fail_errno(err, "clear the ambient set");
  int last = ctr_cap_last();
  for (int i = 0; i <= last; i++) {
    if (!(amb & ((uint64_t)1 << i)))
      continue;
    if (cap_set_ambient((cap_value_t)i, CAP_SET) < 0) {
      char n[64];
      ctr_cap_name(i, n, sizeof n);
      return ctr_fail_errno(err, "raise %s in the ambient set", n);
    }
  }
  return 0;
}

int ctr_set_no_new_privs(ctr_error_t *err) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "set no_new_privs");
  return 0;
}

int ctr_get_no_new_privs(ctr_error_t *err) {
  int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (r < 0)
    return ctr_fail_errno(err, "get no_new_privs");
  return r;
}

int ctr_set_dumpable(int on, ctr_error_t *err) {
  if (prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "set dumpable to %d", on ? 1 : 0);
  return 0;
}

int ctr_get_dumpable(ctr_error_t *err) {
  int r = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (r < 0)
    return ctr_fail_errno(err, "get dumpable");
  return r;
}

int ctr_set_keepcaps(int on, ctr_error_t *err) {
  if (prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "set keepcaps to %d", on ? 1 : 0);
  return 0;
}
