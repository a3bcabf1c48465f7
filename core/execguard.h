/* execguard.h - the container's command is never executed by a process
 * whose exe is the host's runtime file (selfexec.h says why).
 *
 * When the runtime runs from a sealed memfd (the luac-ctr launcher), the
 * command is simply executed. When it does not (ctr.core in a plain lua5.4),
 * the command is executed by the trampoline (core/trampoline/trampoline.c),
 * copied for each container process into a sealed memfd: a few KB, no libc.
 */
#ifndef CTR_EXECGUARD_H
#define CTR_EXECGUARD_H

#include <stdbool.h>

#include "error.h"

/* A sealed memfd (selfexec.h) holding the trampoline; name is the memfd's. */
int ctr_trampoline_memfd(const char *name, ctr_error_t *err);

/* execve(path, argv, env) through the sealed trampoline: the process running
 * path has never had the caller's exe as its own. sync_fd (or -1) is kept
 * open for the trampoline, which reports an execve failure on it as a 'F'
 * message (the spawn protocol) and closes it on success. Returns -1 with err
 * set when the trampoline could not be started, or path cannot be executed
 * (ENOENT, EACCES, as execve would say). */
int ctr_exec_via_trampoline(const char *path, char *const argv[], char *const env[], int sync_fd,
                            ctr_error_t *err);

/* The container's last step: execve argv (PATH searched as ctr_exec_search
 * does, ctr_exec_path). sealed says the caller (checked on the host, before entering
 * anything) runs from a sealed memfd: then this is ctr_exec_search; if not,
 * every candidate goes through ctr_exec_via_trampoline. Returns only on
 * failure, with err set (errnum ENOENT when nothing was found). */
void ctr_exec_guarded(char **argv, char **env, bool sealed, int sync_fd, ctr_error_t *err);

#endif
