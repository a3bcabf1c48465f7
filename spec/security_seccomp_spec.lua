-- seccomp and the session keyring (issue 10, point 3) against the real
-- kernel (#root). A static C probe, compiled here and bind-mounted into the
-- container, tries each syscall in a way the kernel itself would not answer
-- with EPERM (bad arguments give EFAULT/EINVAL, harmless calls succeed), so
-- EPERM means the filter said no.
local U = require "spec_util"

local PROBE_C = [[
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thr(void *a) { return a; }

static long try(const char *n) {
  if (!strcmp(n, "keyctl")) return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  if (!strcmp(n, "add_key")) return syscall(SYS_add_key, "user", "ctr-probe", "v", 1, KEY_SPEC_PROCESS_KEYRING);
  if (!strcmp(n, "request_key")) return syscall(SYS_request_key, "user", "ctr-probe-none", NULL, 0);
  if (!strcmp(n, "unshare_user_mount")) { /* a user namespace, then a mount in it */
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return -1;
    return mount("none", "/tmp", "tmpfs", 0, NULL);
  }
  if (!strcmp(n, "mount")) return mount("none", "/tmp", "tmpfs", 0, NULL);
  if (!strcmp(n, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(n, "bpf")) return syscall(SYS_bpf, 0x7fff, NULL, 0);
  if (!strcmp(n, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, NULL);
  if (!strcmp(n, "set_mempolicy")) return syscall(SYS_set_mempolicy, 0, NULL, 0);
  if (!strcmp(n, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(n, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0);
  if (!strcmp(n, "ptrace")) return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
  if (!strcmp(n, "socket_vsock")) return syscall(SYS_socket, 40, 1, 0);
  if (!strcmp(n, "mseal")) return syscall(462, 0, 0, 0); /* x86_64, Linux 6.10: newer than libseccomp 2.5 */
  if (!strcmp(n, "thread")) {
    pthread_t t;
    int e = pthread_create(&t, NULL, thr, NULL);
    if (e) { errno = e; return -1; }
    return pthread_join(t, NULL);
  }
  if (!strcmp(n, "fork")) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    return p < 0 ? -1 : waitpid(p, NULL, 0);
  }
  errno = EINVAL;
  return -1;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    /* keysearch=NAME / userkey=NAME: read a key through our session / user keyring */
    int user = !strncmp(argv[i], "userkey=", 8);
    if (user || !strncmp(argv[i], "keysearch=", 10)) {
      long id = syscall(SYS_keyctl, KEYCTL_SEARCH, user ? KEY_SPEC_USER_KEYRING : KEY_SPEC_SESSION_KEYRING, "user",
                        strchr(argv[i], '=') + 1, 0);
      char buf[256] = "";
      long n = id < 0 ? -1 : syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
      if (n >= 0) printf("%s=FOUND:%.*s\n", user ? "userkey" : "keysearch", (int)n, buf);
      else printf("%s=%s\n", user ? "userkey" : "keysearch", strerrorname_np(errno));
      continue;
    }
    long r = try(argv[i]);
    printf("%s=%s\n", argv[i], r < 0 ? strerrorname_np(errno) : "OK");
  }
  return 0;
}
]]

local BLOCKED = { "keyctl", "add_key", "request_key", "unshare_user_mount", "mount", "perf_event_open", "bpf",
                  "io_uring_setup", "set_mempolicy", "kexec_load", "open_by_handle_at", "ptrace", "socket_vsock" }

local root, dir

local function ctr(args, opts) return U.ctr(root, args, opts) end

-- "a=OK\nb=EPERM\n" -> {a="OK", b="EPERM"}
local function results(out)
  local t = {}
  for k, v in out:gmatch("([%w_]+)=([^\n]*)") do t[k] = v end
  return t
end

local function probe(run_args, names)
  local args = { "run", "--rm", "--network", "none", "-v", dir .. ":/p:ro" }
  for _, a in ipairs(run_args) do args[#args + 1] = a end
  args[#args + 1] = "busybox"
  args[#args + 1] = "/p/probe"
  for _, n in ipairs(names) do args[#args + 1] = n end
  local out, err, code = ctr(args)
  return results(out), out .. err, code
end

local function seccomp_mode(run_args)
  local args = { "run", "--rm", "--network", "none" }
  for _, a in ipairs(run_args) do args[#args + 1] = a end
  for _, a in ipairs({ "busybox", "grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status" }) do args[#args + 1] = a end
  local out, err, code = ctr(args)
  return out:match("Seccomp:%s*(%d+)"), out .. err, code, out:match("NoNewPrivs:%s*(%d+)")
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("seccomp and the session keyring #root", function()
  setup(function()
    dir = U.tmproot() -- the probe's directory (a volume), readable by any uid
    assert.are.equal(0, select(3, U.sh("chmod 755 " .. U.q(dir))))
    write(dir .. "/probe.c", PROBE_C)
    local _, err, code = U.sh("gcc -static -O1 -o " .. U.q(dir .. "/probe") .. " " .. U.q(dir .. "/probe.c") .. " -lpthread")
    assert.are.equal(0, code, err)
  end)
  teardown(function() U.cleanup(dir) end)
  U.per_test_root(function(r) root = r end)

  it("filters a default container: Seccomp 2, docker's blocked syscalls give EPERM", function()
    local mode, report, code = seccomp_mode({})
    assert.are.equal(0, code, report)
    assert.are.equal("2", mode, report)
    local r, rep = probe({}, BLOCKED)
    for _, n in ipairs(BLOCKED) do assert.are.equal("EPERM", r[n], n .. ":\n" .. rep) end
  end)

  it("keeps ordinary things working: shell, ls, fork, threads, clone3 falls back to clone, newer syscalls are ENOSYS", function()
    local out, err, code = ctr({ "run", "--rm", "--network", "none", "busybox", "sh", "-c",
      "ls / >/dev/null && (echo sub) && echo $(echo cmd) && mkdir /tmp/d && sleep 0.01 & wait; echo done" })
    assert.are.equal(0, code, err)
    assert.are.equal("sub\ncmd\ndone\n", out)
    local r, rep = probe({}, { "thread", "fork", "mseal" })
    assert.are.equal("OK", r.thread, rep)
    assert.are.equal("OK", r.fork, rep)
    -- allowed by the profile; if libseccomp cannot name it, ENOSYS (a C
    -- library falls back on ENOSYS, not on EPERM)
    assert.is_true(r.mseal == "ENOSYS" or r.mseal == "OK", rep)
  end)

  it("filters exec'd processes with the container's profile", function()
    local _, err, code = ctr({ "run", "-d", "--name", "sc", "--network", "none", "-v", dir .. ":/p:ro", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    local out
    out, err, code = ctr({ "exec", "sc", "grep", "^Seccomp:", "/proc/self/status" })
    assert.are.equal(0, code, err)
    assert.matches("Seccomp:%s*2", out)
    out, err = ctr({ "exec", "-u", "1000", "sc", "/p/probe", "keyctl", "unshare_user_mount", "io_uring_setup", "fork" })
    assert.same({ keyctl = "EPERM", unshare_user_mount = "EPERM", io_uring_setup = "EPERM", fork = "OK" }, results(out), err)
  end)

  it("gives capability-dependent syscalls with the capability (--cap-add SYS_ADMIN / SYS_PTRACE)", function()
    local r, rep, code = probe({ "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE" },
      { "unshare_user_mount", "ptrace", "keyctl", "thread" })
    assert.are.equal(0, code, rep)
    assert.same({ unshare_user_mount = "OK", ptrace = "OK", keyctl = "EPERM", thread = "OK" }, r, rep)
  end)

  it("loads the filter with and without no_new_privs, as root and as another user", function()
    for _, args in ipairs({ {}, { "-u", "1000", "--cap-drop", "ALL" },
                            { "--security-opt", "no-new-privileges=false" },
                            { "--security-opt", "no-new-privileges=false", "-u", "1000:1000" } }) do
      local mode, report, code, nnp = seccomp_mode(args)
      local what = table.concat(args, " ") .. ":\n" .. report
      assert.are.equal(0, code, what)
      assert.are.equal("2", mode, what)
      assert.are.equal(args[2] == "no-new-privileges=false" and "0" or "1", nnp, what)
    end
  end)

  it("lifts the filter with seccomp=unconfined and --privileged, and keeps the host's keys out even then", function()
    assert.are.equal("0", (seccomp_mode({ "--security-opt", "seccomp=unconfined" })))
    assert.are.equal("0", (seccomp_mode({ "--privileged" })))
    -- a key in the caller's session keyring, and one in root's user keyring
    -- (possessed by the caller through its session): the container has its
    -- own session keyring, which possesses neither
    local secret = "ctr-spec-secret-" .. tostring(os.time())
    local run = table.concat({ "LUAC_CTR_ROOT=" .. U.q(root), U.q(U.launcher), "run", "--rm", "--network", "none",
      "-v", U.q(dir .. ":/p:ro"), "--security-opt", "seccomp=unconfined", "busybox", "/p/probe",
      "keysearch=" .. secret, "userkey=" .. secret .. "-u", "keyctl" }, " ")
    local script = table.concat({
      "keyctl link @u @s >/dev/null || exit 9",
      "keyctl add user " .. secret .. " s3cret @s >/dev/null || exit 9",
      "K=$(keyctl add user " .. secret .. "-u u-s3cret @u) || exit 9",
      U.q(dir .. "/probe") .. " userkey=" .. secret .. "-u", -- the host process reads it
      run, "rc=$?", "keyctl unlink $K @u >/dev/null", "exit $rc" }, "\n")
    local cmd = "keyctl session - sh -c " .. U.q(script)
    local out, err, code = U.sh(cmd)
    assert.are.equal(0, code, out .. err)
    assert.matches("^userkey=FOUND:u%-s3cret\n", out) -- the host process reads it
    assert.matches("keysearch=ENOKEY", out, nil, true)
    assert.matches("userkey=EACCES", out, nil, true)
    assert.matches("keyctl=OK", out, nil, true) -- unconfined: keyctl works, on its own keyring
    -- exec'd processes get a new session keyring too
    out, err, code = U.sh(("keyctl session - sh -c %s"):format(U.q(table.concat({
      "keyctl add user " .. secret .. " s3cret @s >/dev/null &&", "LUAC_CTR_ROOT=" .. U.q(root), U.q(U.launcher),
      "run", "-d", "--name", "kx", "--network", "none", "-v", U.q(dir .. ":/p:ro"), "--security-opt",
      "seccomp=unconfined", "busybox", "sleep", "60", ">/dev/null && ", "LUAC_CTR_ROOT=" .. U.q(root),
      U.q(U.launcher), "exec", "kx", "/p/probe", "keysearch=" .. secret }, " "))))
    assert.are.equal(0, code, err)
    assert.matches("keysearch=ENOKEY", out, nil, true)
  end)

  it("applies a custom profile (docker's format): mkdir blocked gives EPERM", function()
    local prof = dir .. "/no-mkdir.json"
    write(prof, [[{"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}]])
    local out, err, code = ctr({ "run", "--rm", "--network", "none", "--security-opt", "seccomp=" .. prof,
      "busybox", "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touched" })
    assert.are.equal(0, code, err)
    assert.matches("Seccomp:%s*2", out)
    assert.matches("rc=1", out)
    assert.matches("touched", out)
    assert.matches("Operation not permitted", err)
  end)

  it("refuses a bad profile or option with one line and exit 125, leaving nothing", function()
    local bad = dir .. "/bad.json"
    write(bad, [[{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}]])
    local notjson = dir .. "/notjson.json"
    write(notjson, "{ nope")
    for _, opt in ipairs({ "seccomp=" .. bad, "seccomp=" .. notjson, "seccomp=" .. dir .. "/missing.json",
                           "seccomp=/dev/zero", "bogus=1" }) do
      local out, err, code = ctr({ "run", "--rm", "--security-opt", opt, "busybox", "true" })
      assert.are.equal(125, code, opt .. ": " .. err)
      assert.are.equal("", out)
      local _, lines = err:gsub("\n", "")
      assert.are.equal(1, lines, err)
      assert.matches("^luac%-ctr: ", err)
      assert.same({}, U.container_ids(root))
    end
  end)
end)
