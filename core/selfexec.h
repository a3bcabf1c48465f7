/* selfexec.h - the runtime binary is never reachable from a container
 * (the CVE-2019-5736 class).
 *
 * A process whose /proc/self/exe is the host's luac-ctr (or lua5.4) file must
 * never execve inside a container: a command `#!/proc/self/exe` would run that
 * file in the container, which could then reopen it for writing. Two guards:
 *
 *  - The launcher re-executes itself from a sealed memfd copy at start-up
 *    (ctr_selfexec_sealed), so every fork of it, the container's init and the
 *    exec helper included, has a sealed memfd as its exe from the start.
 *  - A process that is not running from a sealed memfd (ctr.core loaded by a
 *    plain lua5.4) execs the container's command through a sealed memfd of a
 *    tiny static trampoline (ctr_exec_via_trampoline, core/trampoline/): the
 *    process that executes the command then has the trampoline as its exe,
 *    and the trampoline refuses to run as anything but the trampoline.
 *
 * "Sealed" means F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE: the
 * copy cannot be written, truncated, grown or unsealed by anyone.
 */
#ifndef CTR_SELFEXEC_H
#define CTR_SELFEXEC_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define CTR_SELFEXEC_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* 1 when fd is a memfd carrying all of CTR_SELFEXEC_SEALS, 0 when not. */
int ctr_fd_is_sealed(int fd);

/* 1 when /proc/self/exe is a sealed memfd, 0 when not, -1 on error. */
int ctr_exe_is_sealed(ctr_error_t *err);

/* A sealed, executable, close-on-exec memfd holding a copy of the file open
 * at src (read from offset 0), or of the len bytes at buf when src < 0. */
int ctr_sealed_memfd(const char *name, int src, const void *buf, size_t len, ctr_error_t *err);

/* Re-execute the running program from a sealed memfd copy of
 * /proc/self/exe with the same argv and environ. Returns 0 without doing
 * anything when the program already runs from a sealed memfd; returns -1 when
 * the copy or the exec failed (err says which). Does not return on success. */
int ctr_selfexec_sealed(char *const argv[], ctr_error_t *err);

/* ctr_exe_is_sealed without the error: false when it cannot tell. */
bool ctr_running_sealed(void);

#endif
