/* seccomp_load.c - install a filter compiled by ctr_seccomp_compile (child
 * side, no library, nothing allocated). See ctr_seccomp.h. */
#include "ctr_seccomp.h"
#include "spawn.h"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

int ctr_seccomp_load(const ctr_seccomp_prog_t *p, ctr_error_t *err) {
  struct sock_fprog prog = {.len = p->len, .filter = p->insns};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog) < 0)
    return ctr_fail_errno(err, "load the seccomp filter (%u instructions, flags %#x)",
                          (unsigned)p->len, p->flags);
  return 0;
}

int ctr_confine(const ctr_process_t *p, bool early, ctr_error_t *err) {
  if (p->seccomp == NULL || early == p->no_new_privs)
    return 0;
  return ctr_seccomp_load(p->seccomp, err);
}
