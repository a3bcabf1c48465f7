/* ctr_seccomp.h - a container's seccomp filter, from the OCI config's
 * linux.seccomp (runtime-spec format: defaultAction, defaultErrnoRet,
 * architectures, flags, syscalls[{names, action, errnoRet, args[{index,
 * value, valueTwo, op}]}]).
 *
 *   ctr_seccomp_compile()  in the parent, before clone/fork: libseccomp
 *                          turns the rules into a BPF program (seccomp.c,
 *                          the only file that links libseccomp).
 *   ctr_seccomp_load()     in the child, last thing before execve: one
 *                          seccomp(2) call installs the compiled program
 *                          (seccomp_load.c, no library: nothing to allocate
 *                          in the child).
 *
 * As runc does: names libseccomp does not know are skipped; several
 * conditions on the same argument are alternatives (one rule each), on
 * different arguments they must all hold; and syscalls newer than
 * libseccomp (numbered above the last it knows, native architecture) get
 * ENOSYS rather than the default action, so C libraries fall back. */
#ifndef CTR_CTR_SECCOMP_H
#define CTR_CTR_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct ctr_seccomp_arg {
  unsigned index; /* 0..5 */
  uint64_t value, value_two;
  const char *op; /* "SCMP_CMP_EQ", ... */
} ctr_seccomp_arg_t;

typedef struct ctr_seccomp_rule {
  char **names;       /* NULL-terminated */
  const char *action; /* "SCMP_ACT_ALLOW", ... */
  int errno_ret;      /* for SCMP_ACT_ERRNO / SCMP_ACT_TRACE; < 0: EPERM */
  ctr_seccomp_arg_t *args;
  size_t nargs;
} ctr_seccomp_rule_t;

typedef struct ctr_seccomp_cfg {
  const char *default_action;
  int default_errno;    /* < 0: EPERM */
  char **architectures; /* "SCMP_ARCH_X86_64", ...; NULL-terminated or NULL */
  char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ...; or NULL */
  ctr_seccomp_rule_t *rules;
  size_t nrules;
} ctr_seccomp_cfg_t;

/* A compiled filter: what seccomp(SECCOMP_SET_MODE_FILTER, flags, ...) takes. */
typedef struct ctr_seccomp_prog {
  struct sock_filter *insns;
  unsigned short len;
  unsigned int flags; /* SECCOMP_FILTER_FLAG_* */
} ctr_seccomp_prog_t;

/* The SECCOMP_FILTER_FLAG_* bits of flag names ("SECCOMP_FILTER_FLAG_LOG", ...). */
int ctr_seccomp_flags(char **flags, unsigned *out, ctr_error_t *err);

/* Compile cfg; out->insns is malloc'd (ctr_seccomp_prog_free). */
int ctr_seccomp_compile(const ctr_seccomp_cfg_t *cfg, ctr_seccomp_prog_t *out, ctr_error_t *err);
void ctr_seccomp_prog_free(ctr_seccomp_prog_t *p);

/* Install a compiled filter on the calling thread. Needs no_new_privs or
 * CAP_SYS_ADMIN. */
int ctr_seccomp_load(const ctr_seccomp_prog_t *p, ctr_error_t *err);

#endif
