/* seccomp.c - compile linux.seccomp into a BPF program with libseccomp
 * (parent side, before the child is cloned). See ctr_seccomp.h. */
#include "ctr_seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cleanup.h"

typedef struct name_value {
  const char *name;
  uint32_t value;
} name_value_t;

static void ctx_releasep(scmp_filter_ctx *c) {
  if (*c)
    seccomp_release(*c);
}

static int action_of(const char *name, int errno_ret, uint32_t *out, ctr_error_t *err) {
  uint32_t ret = (uint32_t)(errno_ret < 0 ? EPERM : errno_ret);
  static const name_value_t plain[] = {{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
                                       {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
                                       {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
                                       {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
                                       {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
                                       {"SCMP_ACT_LOG", SCMP_ACT_LOG},
                                       {NULL, 0}};
  if (name == NULL)
    return ctr_fail(err, EINVAL, "bad seccomp config: an action is missing");
  for (const name_value_t *p = plain; p->name; p++)
    if (strcmp(p->name, name) == 0) {
      *out = p->value;
      return 0;
    }
  if (errno_ret > 0xffff)
    return ctr_fail(err, EINVAL, "bad seccomp config: errnoRet %d out of range", errno_ret);
  if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO(ret);
  else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE(ret);
  else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
    return ctr_fail(err, ENOTSUP, "seccomp action SCMP_ACT_NOTIFY is not supported");
  else
    return ctr_fail(err, EINVAL, "bad seccomp config: unknown action '%s'", name);
  return 0;
}

static int op_of(const char *name, enum scmp_compare *out, ctr_error_t *err) {
  static const name_value_t ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
                                     {"SCMP_CMP_LT", SCMP_CMP_LT},
                                     {"SCMP_CMP_LE", SCMP_CMP_LE},
                                     {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                                     {"SCMP_CMP_GE", SCMP_CMP_GE},
                                     {"SCMP_CMP_GT", SCMP_CMP_GT},
                                     {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
                                     {NULL, 0}};
  for (const name_value_t *p = ops; name && p->name; p++)
    if (strcmp(p->name, name) == 0) {
      *out = (enum scmp_compare)p->value;
      return 0;
    }
  return ctr_fail(err, EINVAL, "bad seccomp config: unknown argument operator '%s'",
                  name ? name : "(none)");
}

int ctr_seccomp_flags(char **flags, unsigned *out, ctr_error_t *err) {
  static const name_value_t known[] = {
      {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
      {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
      {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
      {NULL, 0}};
  *out = 0;
  for (char **f = flags; f && *f; f++) {
    const name_value_t *p = known;
    while (p->name && strcmp(p->name, *f) != 0)
      p++;
    if (!p->name)
      return ctr_fail(err, EINVAL, "bad seccomp config: unknown flag '%s'", *f);
    *out |= p->value;
  }
  return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" -> its token. */
static int add_arch(scmp_filter_ctx ctx, const char *name, ctr_error_t *err) {
  char low[32];
  const char *s = strncmp(name, "SCMP_ARCH_", 10) == 0 ? name + 10 : name;
  size_t i = 0;
  for (; i < sizeof low - 1 && s[i]; i++)
    low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
  low[i] = '\0';
  uint32_t token = seccomp_arch_resolve_name(low);
  if (token == 0)
    return ctr_fail(err, EINVAL, "bad seccomp config: unknown architecture '%s'", name);
  int r = seccomp_arch_add(ctx, token);
  if (r < 0 && r != -EEXIST)
    return ctr_fail(err, -r, "seccomp: add architecture %s", name);
  return 0;
}

static int add_conditions(scmp_filter_ctx ctx, uint32_t action, int nr,
                          const ctr_seccomp_rule_t *rule, const char *name, ctr_error_t *err) {
  struct scmp_arg_cmp cmp[6];
  bool same_index = false;
  if (rule->nargs > 6)
    return ctr_fail(err, EINVAL, "bad seccomp config: %s has %zu argument conditions (at most 6)",
                    name, rule->nargs);
  for (size_t i = 0; i < rule->nargs; i++) {
    const ctr_seccomp_arg_t *a = &rule->args[i];
    if (a->index > 5)
      return ctr_fail(err, EINVAL, "bad seccomp config: %s: argument index %u (0..5)", name,
                      a->index);
    cmp[i] = (struct scmp_arg_cmp){.arg = a->index, .datum_a = a->value, .datum_b = a->value_two};
    if (op_of(a->op, &cmp[i].op, err) < 0)
      return -1;
    for (size_t j = 0; j < i; j++)
      same_index |= cmp[j].arg == cmp[i].arg;
  }
  /* conditions on one argument are alternatives: a rule for each */
  size_t nrules = same_index ? rule->nargs : 1;
  for (size_t i = 0; i < nrules; i++) {
    int r = same_index ? seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i])
                       : seccomp_rule_add_array(ctx, action, nr, (unsigned)rule->nargs, cmp);
    if (r < 0)
      return ctr_fail(err, -r, "seccomp: add the rule for %s", name);
  }
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t def, const ctr_seccomp_rule_t *rule,
                    ctr_error_t *err) {
  uint32_t action;
  if (action_of(rule->action, rule->errno_ret, &action, err) < 0)
    return -1;
  if (action == def) /* libseccomp refuses it, and it changes nothing */
    return 0;
  for (char **n = rule->names; n && *n; n++) {
    int nr = seccomp_syscall_resolve_name(*n);
    if (nr == __NR_SCMP_ERROR)
      continue; /* newer than this libseccomp: left to the default action */
    if (add_conditions(ctx, action, nr, rule, *n, err) < 0)
      return -1;
  }
  return 0;
}

/* Syscalls numbered above the last one this libseccomp knows (newer than
 * it) cannot be named in a rule, so they would get the default action: a
 * C library falls back to an older call on ENOSYS, not on EPERM. For the
 * native architecture a prologue answers them ENOSYS, as a kernel without
 * them would. Returns its length (0: none needed). */
static size_t enosys_prologue(uint32_t def, struct sock_filter p[6]) {
  if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG)
    return 0;
  uint32_t arch = seccomp_arch_native();
  int max = -1;
  for (int nr = 0; nr < 1024; nr++) {
    char *name = seccomp_syscall_resolve_num_arch(arch, nr);
    if (name) {
      max = nr;
      free(name);
    }
  }
  if (max < 0)
    return 0;
  struct sock_filter code[6] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 4), /* another arch: to libseccomp's */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 2, 0), /* x32 numbers, -1: libseccomp's */
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  memcpy(p, code, sizeof code);
  return 6;
}

/* The filter as BPF (libseccomp 2.5 exports to an fd only), after pre. */
static int export_bpf(scmp_filter_ctx ctx, const struct sock_filter *pre, size_t npre,
                      ctr_seccomp_prog_t *out, ctr_error_t *err) {
  cleanup_fd int fd = memfd_create("ctr-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "memfd_create for the seccomp filter");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0)
    return ctr_fail(err, -r, "seccomp: generate the filter");
  struct stat st;
  if (fstat(fd, &st) < 0)
    return ctr_fail_errno(err, "fstat the seccomp filter");
  size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
  if (n == 0 || n + npre > BPF_MAXINSNS)
    return ctr_fail(err, E2BIG, "seccomp filter of %zu instructions (at most %d)", n + npre,
                    BPF_MAXINSNS);
  cleanup_free struct sock_filter *insns = malloc((n + npre) * sizeof *insns);
  if (insns == NULL)
    return ctr_fail_errno(err, "allocate the seccomp filter");
  memcpy(insns, pre, npre * sizeof *insns);
  if (pread(fd, insns + npre, n * sizeof *insns, 0) != (ssize_t)(n * sizeof *insns))
    return ctr_fail_errno(err, "read back the seccomp filter");
  n += npre;
  out->insns = steal_ptr(&insns);
  out->len = (unsigned short)n;
  return 0;
}

int ctr_seccomp_compile(const ctr_seccomp_cfg_t *cfg, ctr_seccomp_prog_t *out, ctr_error_t *err) {
  memset(out, 0, sizeof *out);
  uint32_t def;
  if (action_of(cfg->default_action, cfg->default_errno, &def, err) < 0 ||
      ctr_seccomp_flags(cfg->flags, &out->flags, err) < 0)
    return -1;
  __attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == NULL)
    return ctr_fail(err, ENOMEM, "seccomp_init");
  /* the program is loaded by us, with the flags above: libseccomp's own
   * no_new_privs must not be forced; a binary tree keeps long lists fast */
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
    return ctr_fail(err, EINVAL, "seccomp: clear SCMP_FLTATR_CTL_NNP");
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (char **a = cfg->architectures; a && *a; a++)
    if (add_arch(ctx, *a, err) < 0)
      return -1;
  for (size_t i = 0; i < cfg->nrules; i++)
    if (add_rule(ctx, def, &cfg->rules[i], err) < 0)
      return -1;
  struct sock_filter pre[6];
  size_t npre = enosys_prologue(def, pre);
  return export_bpf(ctx, pre, npre, out, err);
}

void ctr_seccomp_prog_free(ctr_seccomp_prog_t *p) {
  free(p->insns);
  p->insns = NULL;
  p->len = 0;
}
