/* init.h - docker run --init: a small init as the container's PID 1.
 *
 * The container's process, set up and about to execve, forks: the child
 * goes on to execve the user's command; the parent, PID 1, execs the sealed
 * trampoline (core/trampoline/) in its init mode, with an empty environment:
 * nothing is put in the image, and PID 1 carries nothing of the runtime's
 * memory (a container with CAP_SYS_PTRACE can read /proc/1/mem). The child
 * execs only once the init runs. The init forwards the signals it receives
 * to the child, reaps every zombie (orphans are reparented to it) and exits
 * with the child's status (128+n when killed by signal n), as docker's tini
 * does. */
#ifndef CTR_INIT_H
#define CTR_INIT_H

#include <stdbool.h>

#include "error.h"

/* Fork the user's process. memfd: the sealed trampoline
 * (ctr_trampoline_memfd, made before seccomp), executed by the init.
 * Returns 0 in the child (which then execs); in the init it never returns.
 * sync_fd (the parent's sync socket, or -1) is closed in the init so that
 * the child's execve alone ends it. terminal: the child's process group
 * becomes the terminal's foreground. -1 with err when the fork (or blocking
 * the signals) failed, or the init did not start. */
int ctr_init_fork(int sync_fd, int memfd, bool terminal, ctr_error_t *err);

#endif
