/* trampoline.c - the exec trampoline of core/selfexec.c: a tiny static
 * program (no libc, no dynamic loader) that ctr.core copies into a sealed
 * memfd and execs when the running program is not itself a sealed memfd (a
 * plain lua5.4 that loaded ctr.core). The container's command is then
 * executed by a process whose /proc/self/exe is this sealed copy, never the
 * host's lua5.4 or luac-ctr file.
 *
 *   argv: CTR_TRAMPOLINE_ARGV0, SYNC_FD (decimal, or -1), PATH, ARGV0, ARGS...
 *
 * Run any other way (as a `#!/proc/self/exe` interpreter, by hand) it exits
 * 126 without doing anything. On an execve failure it sends the spawn
 * protocol's 'F' message (core/spawn.c: struct sync_msg) on SYNC_FD and exits
 * 127 (ENOENT) or 126, as the container's init would. Only the raw syscalls
 * fcntl, write, execve and exit_group are used.
 *
 * The same program is the init of `run --init` (core/init.c), when run as
 *
 *   argv: CTR_INIT_ARGV0, CHILD_PID, READY_FD
 *
 * so that the container's PID 1 carries nothing of the runtime's memory. */
#include <asm/signal.h>
#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/wait.h>

#include "trampoline.h"

#if defined(__x86_64__)
static long sys4(long n, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
}
__asm__(".text\n.global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n"
        " call tramp_main\n hlt\n");
#elif defined(__aarch64__)
static long sys4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
__asm__(".text\n.global _start\n_start:\n mov x0, sp\n bl tramp_main\n");
#else
#error "the exec trampoline supports x86_64 and aarch64 only"
#endif

static long sys3(long n, long a, long b, long c) {
  return sys4(n, a, b, c, 0);
}

/* the compiler may emit calls to these for struct copies */
void *memset(void *d, int c, unsigned long n);
void *memset(void *d, int c, unsigned long n) {
  volatile unsigned char *p = d;
  while (n--)
    *p++ = (unsigned char)c;
  return d;
}

__attribute__((noreturn)) static void die(int code) {
  for (;;)
    sys3(__NR_exit_group, code, 0, 0);
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

static int parse_fd(const char *s) {
  int v = 0;
  if (s[0] == '-')
    return -1;
  for (; *s >= '0' && *s <= '9'; s++)
    v = v * 10 + (*s - '0');
  return v;
}

static const char *errname(long e) {
  switch (e) {
  case ENOENT:
    return "No such file or directory";
  case EACCES:
    return "Permission denied";
  case ENOEXEC:
    return "Exec format error";
  case ENOTDIR:
    return "Not a directory";
  case ELOOP:
    return "Too many levels of symbolic links";
  case E2BIG:
    return "Argument list too long";
  case ENOMEM:
    return "Cannot allocate memory";
  case ETXTBSY:
    return "Text file busy";
  case EPERM:
    return "Operation not permitted";
  default:
    return "exec failed";
  }
}

static unsigned put(char *dst, unsigned at, unsigned cap, const char *s) {
  while (*s && at + 1 < cap)
    dst[at++] = *s++;
  dst[at] = '\0';
  return at;
}

/* The spawn protocol's failure message: 'F', errno, "exec PATH: reason". */
static void report(int fd, const char *path, long e) {
  struct ctr_tramp_msg m;
  memset(&m, 0, sizeof m);
  m.kind = 'F';
  m.errnum = (int)e;
  unsigned at = put(m.msg, 0, sizeof m.msg, "exec ");
  at = put(m.msg, at, sizeof m.msg, path);
  at = put(m.msg, at, sizeof m.msg, ": ");
  put(m.msg, at, sizeof m.msg, errname(e));
  if (fd >= 0)
    sys3(__NR_write, fd, (long)&m, sizeof m);
}

/* ---- the init mode: docker run --init's PID 1 (see core/init.h) ---- */

/* "luac-ctr init: WHAT: REASON" on stderr, then exit 125. */
__attribute__((noreturn)) static void init_fail(const char *what, long e) {
  char buf[160];
  unsigned at = put(buf, 0, sizeof buf, "luac-ctr init: ");
  at = put(buf, at, sizeof buf, what);
  at = put(buf, at, sizeof buf, ": ");
  at = put(buf, at, sizeof buf, errname(e));
  at = put(buf, at, sizeof buf, "\n");
  sys3(__NR_write, 2, (long)buf, at);
  die(125);
}

/* Reap every child that has exited; once the main child has, exit with its
 * status (128+n when killed by signal n), as docker's tini does. */
static void reap(long child) {
  int result = -1;
  for (;;) {
    int status = 0;
    long p = sys4(__NR_wait4, -1, (long)&status, WNOHANG, 0);
    if (p == 0 || p == -ECHILD)
      break;
    if (p < 0)
      init_fail("waitpid", -p);
    if (p == child)
      result = status;
  }
  if (result == -1)
    return;
  int sig = result & 0x7f;
  die(sig ? 128 + sig : (result >> 8) & 0xff);
}

/* argv: CTR_INIT_ARGV0, CHILD_PID, READY_FD. Every signal is blocked (the
 * mask survives the execve): each one received is forwarded to the child,
 * SIGCHLD reaps. READY_FD gets one byte once we run: the child execs its
 * command only then, so no process of the container ever sees PID 1 as a
 * fork of the runtime. */
__attribute__((noreturn)) static void init_main(long argc, char **argv) {
  if (argc != 3)
    die(126);
  long child = parse_fd(argv[1]);
  int ready = parse_fd(argv[2]);
  if (child <= 0 || ready < 0)
    die(126);
  /* ps shows "init": our argv becomes "init" and zeros */
  char *end = argv[argc - 1];
  while (*end)
    end++;
  memset(argv[0], 0, (unsigned long)(end - argv[0]));
  put(argv[0], 0, sizeof "init", "init");
  long r = sys3(__NR_prctl, PR_SET_NAME, (long)"init", 0);
  if (r == 0)
    r = sys3(__NR_prctl, PR_SET_DUMPABLE, 0, 0);
  if (r == 0) /* for an init without a pid namespace of its own */
    r = sys3(__NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0);
  if (r < 0)
    init_fail("prctl", -r);
  if ((r = sys3(__NR_write, ready, (long)"I", 1)) != 1 || (r = sys3(__NR_close, ready, 0, 0)) < 0)
    init_fail("tell the child the init runs", r < 0 ? -r : EIO);
  unsigned long set[2] = {~0UL, ~0UL};
  long info[16]; /* a siginfo_t: 128 bytes */
  for (;;) {
    long sig = sys4(__NR_rt_sigtimedwait, (long)set, (long)info, 0, sizeof(unsigned long));
    if (sig == -EINTR)
      continue;
    if (sig < 0)
      init_fail("sigwaitinfo", -sig);
    if (sig == SIGCHLD) {
      reap(child);
      continue;
    }
    r = sys3(__NR_kill, child, sig, 0);
    if (r < 0 && r != -ESRCH)
      init_fail("forward a signal", -r);
  }
}

__attribute__((noreturn, used)) void tramp_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  if (argc >= 1 && streq(argv[0], CTR_INIT_ARGV0))
    init_main(argc, argv);
  if (argc < 4 || !streq(argv[0], CTR_TRAMPOLINE_ARGV0))
    die(126);
  int fd = parse_fd(argv[1]);
  if (fd >= 0 && sys3(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC) < 0)
    die(126);
  long r = sys3(__NR_execve, (long)argv[2], (long)(argv + 3), (long)envp);
  report(fd, argv[2], -r);
  die(-r == ENOENT ? 127 : 126);
}
