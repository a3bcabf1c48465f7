/* devices_bpf.c - the device policy on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE
 * program generated from the rules (no libbpf: the program is a few
 * compares per rule), loaded with bpf(2) and attached to the cgroup.
 *
 * The kernel runs the program for every open and mknod of a device node by a
 * process of the cgroup, with a struct bpf_cgroup_dev_ctx { access_type =
 * (access << 16) | type, major, minor } in r1; r0 = 1 allows, 0 denies.
 * The program tests the rules from the last to the first and returns the
 * verdict of the first that matches (so the last matching rule decides);
 * when none matches it denies. Registers: r2 type, r3 access, r4 major,
 * r5 minor, r1 scratch once they are loaded.
 */
#include "devices.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

#define PROLOGUE_LEN 6
#define MAX_BLOCK_LEN 8 /* type, 3 for access, major, minor, mov, exit */
#define MAX_INSNS (PROLOGUE_LEN + CTR_DEV_MAX_RULES * MAX_BLOCK_LEN + 2)

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i;
  memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

static size_t prologue(struct bpf_insn *p) {
  size_t k = 0;
  p[k++] =
      insn(BPF_LDX | BPF_W | BPF_MEM, 2, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
  p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff); /* r2 = type */
  p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);     /* r3 = access */
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, 4, 1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, 5, 1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
  return k;
}

/* The tests of one rule: conditional jumps whose offset is the marker -1
 * until the block's end is known (then patched to skip to the next block). */
static size_t rule_block(const ctr_dev_rule_t *r, struct bpf_insn *p) {
  size_t k = 0;
  if (r->type != 'a')
    p[k++] = insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, -1,
                  r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (r->access != CTR_DEV_RWM) {
    p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 3, 0, 0);
    if (r->allow) { /* every requested access must be in the rule's set */
      p[k++] = insn(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, (int32_t)(~r->access & CTR_DEV_RWM));
      p[k++] = insn(BPF_JMP | BPF_JNE | BPF_K, 1, 0, -1, 0);
    } else { /* any requested access in the rule's set */
      p[k++] = insn(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, (int32_t)r->access);
      p[k++] = insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, -1, 0);
    }
  }
  if (r->major != CTR_DEV_ANY)
    p[k++] = insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, -1, (int32_t)r->major);
  if (r->minor != CTR_DEV_ANY)
    p[k++] = insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, -1, (int32_t)r->minor);
  p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r->allow ? 1 : 0);
  p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (size_t j = 0; j < k; j++)
    if (BPF_CLASS(p[j].code) == BPF_JMP && BPF_OP(p[j].code) != BPF_EXIT && p[j].off == -1)
      p[j].off = (int16_t)(k - 1 - j);
  return k;
}

static int is_full(const ctr_dev_rule_t *r) {
  return r->type == 'a' && r->major == CTR_DEV_ANY && r->minor == CTR_DEV_ANY &&
         r->access == CTR_DEV_RWM;
}

/* The whole program into p (room for MAX_INSNS); returns its length. A rule
 * for every access to every device ends the walk back: it is the verdict
 * when no later rule matched (and the verifier refuses unreachable code). */
static size_t build(const ctr_dev_rule_t *rules, size_t n, struct bpf_insn *p) {
  size_t k = prologue(p);
  int verdict = 0;
  for (size_t i = n; i > 0; i--) {
    if (is_full(&rules[i - 1])) {
      verdict = rules[i - 1].allow ? 1 : 0;
      break;
    }
    k += rule_block(&rules[i - 1], p + k);
  }
  p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, verdict);
  p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return k;
}

static int sys_bpf(int cmd, union bpf_attr *attr) {
  return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static int load(const struct bpf_insn *p, size_t len, char *log, size_t logsz) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)p;
  attr.insn_cnt = (uint32_t)len;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  if (log) {
    log[0] = '\0';
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = (uint32_t)logsz;
    attr.log_level = 1;
  }
  return sys_bpf(BPF_PROG_LOAD, &attr);
}

/* Load; when the verifier refuses, load again with its log for the message. */
static int load_program(const struct bpf_insn *p, size_t len, ctr_error_t *err) {
  int fd = load(p, len, NULL, 0);
  if (fd >= 0)
    return fd;
  int saved = errno;
  char log[1024];
  if (saved == EINVAL || saved == EACCES) {
    int again = load(p, len, log, sizeof log);
    if (again >= 0)
      return again;
    log[strcspn(log, "\n")] = '\0';
    errno = saved;
    return ctr_fail_errno(err, "load the device program (%zu instructions; verifier: %.200s)", len,
                          log);
  }
  errno = saved;
  return ctr_fail_errno(err, "load the device program (bpf BPF_PROG_LOAD, %zu instructions)", len);
}

int ctr_dev_bpf_attach(int cgroup_fd, const ctr_dev_rule_t *rules, size_t n, ctr_error_t *err) {
  if (n > CTR_DEV_MAX_RULES)
    return ctr_fail(err, E2BIG, "%zu device rules: at most %d are allowed", n, CTR_DEV_MAX_RULES);
  cleanup_free struct bpf_insn *p = calloc(MAX_INSNS, sizeof *p);
  if (p == NULL)
    return ctr_fail_errno(err, "allocate the device program");
  size_t len = build(rules, n, p);
  cleanup_fd int prog = load_program(p, len, err);
  if (prog < 0)
    return -1;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
    return ctr_fail_errno(err, "attach the device program to the cgroup (bpf BPF_PROG_ATTACH)");
  return 0; /* the attachment keeps the program: our fd is closed */
}
