/* sysctl.h - a container's sysctls (runtime-spec linux.sysctl).
 *
 * Written by the container's init through /proc/sys after it has entered its
 * namespaces and before its root changes: the namespaced sysctls (net.*, the
 * IPC ones, kernel.hostname/domainname) under /proc/sys are those of the
 * writer's namespaces. Which keys are allowed is decided before (the Lua side
 * accepts only namespaced ones, for namespaces the container does not share
 * with the host); here a key is only checked to name a path below
 * /proc/sys. */
#ifndef CTR_SYSCTL_H
#define CTR_SYSCTL_H

#include "error.h"

/* Write each "key=value" of kv (NULL-terminated; NULL: none): key's dots
 * become slashes below /proc/sys. A key with '/', an empty component or
 * characters other than [A-Za-z0-9_-] is refused. */
int ctr_write_sysctls(char **kv, ctr_error_t *err);

#endif
