/* identity.c - who the container process is: groups, uid/gid, capabilities
 * (bounding, effective, permitted, inheritable, ambient via libcap) and
 * no_new_privs. Used by spawn (container init) and exec. */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawn.h"

CTR_DEFINE_CLEANUP(cap_freep, struct _cap_struct, cap_free) /* cap_t is struct _cap_struct * */

static int drop_bounding(uint64_t keep, ctr_error_t *err) {
  int last = (int)cap_max_bits();
  for (int c = 0; c < last && c < 64; c++) {
    if (keep & (1ULL << c))
      continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return ctr_fail_errno(err, "drop %s from the bounding set", cap_to_name((cap_value_t)c));
  }
  return 0;
}

static int set_flag(cap_t caps, cap_flag_t flag, uint64_t bits, ctr_error_t *err) {
  for (int c = 0; c < 64; c++) {
    if (!(bits & (1ULL << c)))
      continue;
    cap_value_t v = c;
    if (cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
      return ctr_fail_errno(err, "cap_set_flag %d", c);
  }
  return 0;
}

static int set_caps(const ctr_caps_t *caps, ctr_error_t *err) {
  __attribute__((cleanup(cap_freep))) cap_t c = cap_init();
  if (c == NULL)
    return ctr_fail_errno(err, "cap_init");
  if (set_flag(c, CAP_EFFECTIVE, caps->effective, err) < 0 ||
      set_flag(c, CAP_PERMITTED, caps->permitted, err) < 0 ||
      set_flag(c, CAP_INHERITABLE, caps->inheritable, err) < 0)
    return -1;
  if (cap_set_proc(c) < 0)
    return ctr_fail_errno(err, "set the process capabilities");
  if (cap_reset_ambient() < 0)
    return ctr_fail_errno(err, "clear the ambient capabilities");
  for (int b = 0; b < 64; b++)
    if ((caps->ambient & (1ULL << b)) && cap_set_ambient((cap_value_t)b, CAP_SET) < 0)
      return ctr_fail_errno(err, "raise ambient %s", cap_to_name((cap_value_t)b));
  return 0;
}

int ctr_apply_identity(const ctr_process_t *p, ctr_error_t *err) {
  uid_t uid = p->uid;
  gid_t gid = p->gid;
  const ctr_caps_t *caps = &p->caps;
  if (caps->set && drop_bounding(caps->bounding, err) < 0)
    return -1;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "prctl PR_SET_KEEPCAPS");
  if (setgroups(p->ngroups, p->groups) < 0)
    return ctr_fail_errno(err, "setgroups (%zu groups)", p->ngroups);
  if (setresgid(gid, gid, gid) < 0)
    return ctr_fail_errno(err, "setresgid %u", (unsigned)gid);
  if (setresuid(uid, uid, uid) < 0)
    return ctr_fail_errno(err, "setresuid %u", (unsigned)uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "prctl PR_SET_KEEPCAPS off");
  if (caps->set && set_caps(caps, err) < 0)
    return -1;
  if (p->umask_set)
    umask(p->umask);
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return ctr_fail_errno(err, "prctl PR_SET_NO_NEW_PRIVS");
  return 0;
}
