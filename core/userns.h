/* userns.h - a container in a user namespace of its own (the child is cloned
 * with CLONE_NEWUSER). The parent, still host root, does what the container's
 * root cannot: it writes the id maps, moves the child into its cgroups, and
 * builds every mount whose source lives on the host (the overlay root with
 * idmapped lower layers, each bind mount, idmapped when asked) detached, then
 * hands the mount fds to the child over the sync socket. The child, root in
 * its namespace only, attaches them: it never looks a host path up. */
#ifndef CTR_USERNS_H
#define CTR_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spawn.h"

/* At most this many bind mounts in a container with a user namespace (one
 * SCM_RIGHTS message carries them all). */
#define CTR_USERNS_MAX_FDS 200

/* Parent side, right after clone: maps, cgroups, the mount fds sent to the
 * child over sync_fd. On failure nothing was sent. rootless (the caller is
 * not root): the maps are written by newuidmap/newgidmap (the caller's
 * /etc/subuid and /etc/subgid ranges), nothing else is done and no fd is
 * sent: the child, owner of its paths, mounts them itself. */
int ctr_userns_prepare(const ctr_spawn_cfg_t *cfg, pid_t pid, int sync_fd, bool rootless,
                       ctr_error_t *err);

/* Child side: receive the mount fds into fds[0] (the root, -1 for none) and
 * fds[1 + i] (mount i, -1 when it is not a bind mount): 1 + cfg->nmounts
 * entries. */
int ctr_userns_receive(const ctr_spawn_cfg_t *cfg, int sync_fd, int *fds, bool rootless,
                       ctr_error_t *err);

/* Child side: become root of the new namespace (setresgid/setresuid 0), so
 * everything from now on runs as the mapped host ids. */
int ctr_userns_become_root(ctr_error_t *err);

#endif
