/* devices.h - the device policy of a container's cgroup (the OCI config's
 * linux.resources.devices).
 *
 * A policy is an ordered list of rules on top of "deny everything": for an
 * access (open for read and/or write, or mknod) of a device, the last rule
 * that matches it decides. An allow rule matches when the device is of its
 * type and numbers and every requested access is in its access set; a deny
 * rule matches when the device is of its type and numbers and any requested
 * access is in its set.
 *
 * It is enforced by the cgroup that owns device access: the v1 devices
 * controller when one is mounted (v1 and hybrid layouts: "a" written to
 * devices.deny, then the exceptions to devices.allow), otherwise a
 * BPF_PROG_TYPE_CGROUP_DEVICE program made from the rules and attached to
 * the container's cgroup v2 directory (devices_bpf.c).
 */
#ifndef CTR_DEVICES_H
#define CTR_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "error.h"

#define CTR_DEV_MKNOD 1u /* the BPF_DEVCG_ACC_* bits */
#define CTR_DEV_READ 2u
#define CTR_DEV_WRITE 4u
#define CTR_DEV_RWM 7u
#define CTR_DEV_ANY (-1)      /* major or minor: every number */
#define CTR_DEV_MAX_RULES 256 /* a policy longer than this is refused */
#define CTR_DEV_MAX_MAJOR 0xfff
#define CTR_DEV_MAX_MINOR 0xfffff

typedef struct ctr_dev_rule {
  int allow;       /* 1 allow, 0 deny */
  char type;       /* 'a' (every device), 'c' (char) or 'b' (block) */
  int64_t major;   /* CTR_DEV_ANY or 0..CTR_DEV_MAX_MAJOR */
  int64_t minor;   /* CTR_DEV_ANY or 0..CTR_DEV_MAX_MINOR */
  unsigned access; /* CTR_DEV_* bits, not 0 */
} ctr_dev_rule_t;

/* "rwm", "r", "mw"...: each letter once, at least one. */
int ctr_dev_parse_access(const char *s, unsigned *access, ctr_error_t *err);
/* Refuse a rule with an unknown type, out-of-range numbers or no access. */
int ctr_dev_check_rule(const ctr_dev_rule_t *r, ctr_error_t *err);
/* Do the rules end up allowing every access to every device (no policy)? */
int ctr_dev_allows_all(const ctr_dev_rule_t *rules, size_t n);

/* Enforce rules on the cgroup path (which must exist and have no process
 * yet; see above for which mechanism). A policy that allows everything
 * changes nothing. */
int ctr_cg_set_devices(const ctr_cg_layout_t *l, const char *path, const ctr_dev_rule_t *rules,
                       size_t n, ctr_error_t *err);

/* devices_bpf.c: load the rules as a BPF_PROG_TYPE_CGROUP_DEVICE program and
 * attach it (BPF_F_ALLOW_MULTI) to the cgroup v2 directory open at cgroup_fd. */
int ctr_dev_bpf_attach(int cgroup_fd, const ctr_dev_rule_t *rules, size_t n, ctr_error_t *err);

#endif
