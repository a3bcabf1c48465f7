/* caps.h - capabilities (libcap): read the five sets of a process, drop from
 * the bounding set, set effective/permitted/inheritable and ambient, and the
 * prctl bits that go with them (no_new_privs, dumpable, keepcaps).
 * Sets are 64-bit masks: bit n = capability n. */
#ifndef CTR_CAPS_H
#define CTR_CAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef struct ctr_capsets {
  uint64_t effective, permitted, inheritable, bounding, ambient;
} ctr_capsets_t;

/* Highest capability number the running kernel knows. */
int ctr_cap_last(void);
/* Number for "cap_sys_admin", "CAP_SYS_ADMIN" or "sys_admin"; -1 (EINVAL) if unknown. */
int ctr_cap_from_name(const char *name, ctr_error_t *err);
/* Lowercase name "cap_sys_admin" into buf (a number for ones libcap does not know). */
void ctr_cap_name(int cap, char *buf, size_t size);
/* Read the sets of pid (pid <= 0: self) from /proc/<pid>/status. */
int ctr_caps_read(pid_t pid, ctr_capsets_t *out, ctr_error_t *err);
/* Drop one capability from the bounding set (needs CAP_SETPCAP). */
int ctr_cap_drop_bound(int cap, ctr_error_t *err);
/* capset: effective, permitted, inheritable of the calling thread. */
int ctr_caps_set(uint64_t eff, uint64_t prm, uint64_t inh, ctr_error_t *err);
/* Replace the ambient set (each must be permitted and inheritable). */
int ctr_caps_set_ambient(uint64_t amb, ctr_error_t *err);
/* PR_SET_NO_NEW_PRIVS / PR_GET_NO_NEW_PRIVS. */
int ctr_set_no_new_privs(ctr_error_t *err);
int ctr_get_no_new_privs(ctr_error_t *err);
/* PR_SET_DUMPABLE / PR_GET_DUMPABLE. */
int ctr_set_dumpable(int on, ctr_error_t *err);
int ctr_get_dumpable(ctr_error_t *err);
/* PR_SET_KEEPCAPS. */
int ctr_set_keepcaps(int on, ctr_error_t *err);

#endif
