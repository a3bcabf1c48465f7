/* keyring.h - a container's own session keyring.
 *
 * Keys are not namespaced in the initial user namespace: a process that
 * kept the host's session keyring could read the keys in it. Each
 * container init and each exec'd command joins a new anonymous session
 * keyring before it drops privileges. (The per-uid user keyring, @u, stays
 * the host uid's: only a user namespace separates it; the default seccomp
 * profile denies keyctl/add_key/request_key altogether.) */
#ifndef CTR_KEYRING_H
#define CTR_KEYRING_H

#include "error.h"

/* keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL). ENOSYS (a kernel without
 * CONFIG_KEYS) is not an error. */
int ctr_join_session_keyring(ctr_error_t *err);

#endif
