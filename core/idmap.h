/* idmap.h - user namespace id maps: /proc/<pid>/uid_map, gid_map, setgroups. */
#ifndef CTR_IDMAP_H
#define CTR_IDMAP_H

#include <sys/types.h>

#include "error.h"

/* Write text ("0 1000 1\n...") to /proc/<pid>/<file> in a single write(2)
 * (the kernel requires that); file is "uid_map" or "gid_map"; pid <= 0: self. */
int ctr_write_idmap(pid_t pid, const char *file, const char *text, ctr_error_t *err);
/* Write "deny" to /proc/<pid>/setgroups (needed before an unprivileged gid_map). */
int ctr_setgroups_deny(pid_t pid, ctr_error_t *err);

#endif
