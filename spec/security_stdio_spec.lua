-- security: stdio is relayed, never handed over (#root).
--
-- Without -t a container gets pipes (or /dev/null) and luac-ctr relays the
-- bytes: the caller's own fds 0-2 (its terminal, the files its output is
-- redirected to) never enter the container, and the container is in a
-- session of its own (the caller's terminal is not its controlling tty).
-- Two attacks, for run, run -i, exec, exec -i (and start -a):
--   /proc/self/fd/N reopened: truncate and overwrite the host file the
--   caller redirected stdout to, overwrite the host file stdin came from;
--   TIOCSTI: a static C payload pushes "echo PWNED" into the caller's
--   terminal through fds 0-2 and /dev/tty.
local U = require "spec_util"
local core = require "ctr.core"

local root, dir

local function ctr(args, opts) return U.ctr(root, args, opts) end

local function readfile(p)
  local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s
end

local function writefile(p, s)
  local f = assert(io.open(p, "wb")); f:write(s); f:close()
end

-- Each ioctl(fd, TIOCSTI) pushes one byte into the terminal's input queue,
-- as if typed. Reports, per fd, "INJECTED" or the errno.
local PAYLOAD = [[
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
static void inject(int fd, const char *name) {
  const char *s = "echo PWNED\n";
  for (const char *p = s; *p; p++)
    if (ioctl(fd, TIOCSTI, p) < 0) {
      dprintf(2, "%s:%d\n", name, errno);
      return;
    }
  dprintf(2, "%s:INJECTED\n", name);
}
int main(void) {
  inject(0, "fd0");
  inject(1, "fd1");
  inject(2, "fd2");
  int t = open("/dev/tty", O_RDWR | O_NOCTTY);
  if (t < 0)
    dprintf(2, "tty:open:%d\n", errno);
  else
    inject(t, "tty");
  return 0;
}
]]

local function build_payload(d)
  writefile(d .. "/sti.c", PAYLOAD)
  local _, err, code = U.sh("gcc -static -O1 -o " .. U.q(d .. "/sti") .. " " .. U.q(d .. "/sti.c"))
  assert.are.equal(0, code, err)
end

local function start(name, ...)
  local args = { "run", "-d", "--name", name }
  for _, a in ipairs({ ... }) do args[#args + 1] = a end
  local _, err, code = ctr(args)
  assert.are.equal(0, code, err)
end

-- A shell on a fresh pty (its controlling terminal), as an admin's: runs
-- the launcher, then reads one line from the terminal and prints it.
local function admin_shell(args)
  local master, slave = assert(core.openpty())
  local parts = { U.q(U.launcher) }
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  local script = table.concat(parts, " ") ..
    ' 2>&1; echo "after-ctr:$?"; read -r line; echo "got:[$line]"'
  local env = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "LUAC_CTR_ROOT=" .. root }
  local pid = core.fork()
  if pid == 0 then
    pcall(function()
      master:close()
      assert(core.make_controlling_tty(slave))
      for i = 0, 2 do core.dup2(slave, i) end
      core.execve("/bin/sh", { "/bin/sh", "-c", script }, env)
    end)
    core._exit(99)
  end
  slave:close()
  local buf = ""
  local function pump_until(pat, t)
    local deadline = core.clock("monotonic") + t
    while not buf:find(pat) and core.clock("monotonic") < deadline do
      local ready = core.poll({ { master, "in" } }, 100)
      if ready and #ready > 0 then
        local s = core.read(master, 4096)
        if not s or s == "" then break end
        buf = buf .. s
      end
    end
  end
  pump_until("after%-ctr:%d+", 60)
  -- what the admin types next: the shell must read exactly this
  core.write(master, "clean\n")
  pump_until("got:%[[^\n]*%]", 10)
  core.kill(pid, 9)
  core.waitpid(pid)
  master:close()
  return buf
end

local function assert_no_injection(out)
  assert.matches("after%-ctr:0", out)
  assert.matches("got:%[clean%]", out)
  assert.not_matches("INJECTED", out)
  for _, fd in ipairs({ "fd0", "fd1", "fd2" }) do
    assert.matches(fd .. ":25", out) -- ENOTTY: a pipe or /dev/null, not a terminal
  end
  assert.matches("tty:open:6", out)  -- ENXIO: no controlling terminal
end

describe("security: stdio is relayed, never handed over #root", function()
  U.per_test_root(function(r)
    root = r
    dir = r .. "/payload"
    assert(os.execute("mkdir -p " .. U.q(dir)))
  end)

  -- The host file F holds a secret; the caller appends the container's output
  -- to it (>>) and feeds it stdin from host file G. Inside: truncate F and
  -- write over it through /proc/self/fd/1, write over G through /proc/self/fd/0.
  local ATTACK = 'readlink /proc/$$/fd/1 >&2; : > /proc/self/fd/1; echo pwned > /proc/self/fd/1; ' ..
    'echo pwned-in 2>/dev/null > /proc/self/fd/0; echo relayed'

  local function attack(args)
    local f, g = root .. "/F", root .. "/G"
    writefile(f, "host-secret\n")
    writefile(g, "host-input\n")
    local parts = { U.q(U.launcher) }
    for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
    local _, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. table.concat(parts, " ") ..
      " >> " .. U.q(f) .. " < " .. U.q(g), { keep_stdin = true })
    assert.are.equal(0, code, err)
    assert.matches("^pipe:%[%d+%]\n", err)
    -- F holds what it held plus exactly what was relayed; G is untouched
    assert.are.equal("host-secret\npwned\nrelayed\n", readfile(f))
    assert.are.equal("host-input\n", readfile(g))
  end

  describe("/proc/self/fd reopens a pipe, never the caller's file", function()
    it("run", function()
      attack({ "run", "--rm", "busybox", "sh", "-c", ATTACK })
    end)
    it("run -i", function()
      attack({ "run", "--rm", "-i", "busybox", "sh", "-c", ATTACK })
    end)
    it("exec", function()
      start("c", "busybox", "sleep", "1000")
      attack({ "exec", "c", "sh", "-c", ATTACK })
    end)
    it("exec -i", function()
      start("c", "busybox", "sleep", "1000")
      attack({ "exec", "-i", "c", "sh", "-c", ATTACK })
    end)
  end)

  describe("TIOCSTI cannot type into the caller's terminal", function()
    before_each(function() build_payload(dir) end)

    it("run", function()
      assert_no_injection(admin_shell({ "run", "--rm", "-v", dir .. ":/p:ro", "busybox", "/p/sti" }))
    end)
    it("run -i", function()
      assert_no_injection(admin_shell({ "run", "--rm", "-i", "-v", dir .. ":/p:ro", "busybox", "/p/sti" }))
    end)
    it("exec", function()
      start("c", "-v", dir .. ":/p:ro", "busybox", "sleep", "1000")
      assert_no_injection(admin_shell({ "exec", "c", "/p/sti" }))
    end)
    it("exec -i", function()
      start("c", "-v", dir .. ":/p:ro", "busybox", "sleep", "1000")
      assert_no_injection(admin_shell({ "exec", "-i", "c", "/p/sti" }))
    end)
    it("run -d (its output goes to the log)", function()
      local out = admin_shell({ "run", "-d", "--name", "d", "-v", dir .. ":/p:ro", "busybox", "/p/sti" })
      assert.matches("after%-ctr:0", out)
      assert.matches("got:%[clean%]", out)
      local _, err, code = ctr({ "wait", "d" })
      assert.are.equal(0, code, err)
      local _, logs, lcode = ctr({ "logs", "d" }) -- the payload writes to stderr
      assert.are.equal(0, lcode)
      assert_no_injection(logs .. out)
    end)
        it("start -a", function()
      start("s", "-v", dir .. ":/p:ro", "busybox", "/p/sti")
      local _, err, code = ctr({ "wait", "s" })
      assert.are.equal(0, code, err)
      assert_no_injection(admin_shell({ "start", "-a", "s" }))
    end)
  end)

  describe("the relay keeps stdio working", function()
    local function sh(cmd) return U.sh("export LUAC_CTR_ROOT=" .. U.q(root) .. "; " .. cmd, { keep_stdin = true }) end
    local L = U.q(U.launcher)

    it("binary data, 50 MB, EOF on stdin, through run -i and exec -i, from files and pipes", function()
      local big, out = root .. "/big", root .. "/out"
      assert(os.execute("head -c 50000000 /dev/urandom > " .. U.q(big)))
      start("c", "busybox", "sleep", "1000")
      for _, cmd in ipairs({
        L .. " run --rm -i busybox cat < " .. U.q(big) .. " > " .. U.q(out),
        L .. " exec -i c cat < " .. U.q(big) .. " > " .. U.q(out),
        "cat " .. U.q(big) .. " | " .. L .. " exec -i c cat | cat > " .. U.q(out),
      }) do
        os.remove(out)
        local _, err, code = sh(cmd)
        assert.are.equal(0, code, err)
        local _, _, same = U.sh("cmp " .. U.q(big) .. " " .. U.q(out))
        assert.are.equal(0, same, cmd)
      end
    end)

    it("stderr stays separate; exit codes and 128+n come back; nothing is lost at exit", function()
      start("c", "busybox", "sleep", "1000")
      for _, verb in ipairs({ "run --rm busybox", "run --rm -i busybox", "exec c", "exec -i c" }) do
        local out, err, code = sh(L .. " " .. verb .. " sh -c 'echo out; echo err >&2; yes x | head -c 300000; exit 7' </dev/null")
        assert.are.equal(7, code, verb)
        assert.are.equal(300004, #out, verb)
        assert.is_true(out == "out\n" .. ("x\n"):rep(150000), verb)
        assert.are.equal("err\n", err, verb)
        if verb:match("^exec") then -- (a container's init, pid 1, cannot SIGKILL itself)
          _, _, code = sh(L .. " " .. verb .. " sh -c 'kill -9 $$' </dev/null")
          assert.are.equal(137, code, verb)
        end
      end
    end)

    it("a command that does not read its stdin does not block its output", function()
      start("c", "busybox", "sleep", "1000")
      for _, verb in ipairs({ "run --rm -i busybox", "exec -i c" }) do
        local out, err, code = sh("yes | timeout 60 " .. L .. " " .. verb ..
          " sh -c 'head -c 10 >/dev/null; head -c 5000000 /dev/zero; exit 3' | wc -c")
        assert.are.equal(0, code, err)
        assert.are.equal("5000000", out:match("%d+"), verb)
      end
    end)

    it("the Lua API relays the fds it is given: exec{stdin=, stdout=} and capture", function()
      start("api", "busybox", "sleep", "1000")
      local f, g = root .. "/F", root .. "/G"
      writefile(g, "from-g\n")
      local state = require "ctr.state"
      state.set_root(root)
      local ok, err = pcall(function()
        local c = assert(require("ctr.container").get("api"))
        local gi = assert(core.open(g, "rdonly,cloexec"))
        local fo = assert(core.open(f, "wronly,creat,trunc,cloexec", tonumber("600", 8)))
        local r = c:exec { argv = { "sh", "-c", "cat; a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); echo ${a%%:*} ${b%%:*}" },
          stdin = gi, stdout = fo }
        gi:close(); fo:close()
        assert.are.equal(0, r.exit_code)
        assert.are.equal("from-g\npipe pipe\n", readfile(f))
        gi = assert(core.open(g, "rdonly,cloexec"))
        r = c:exec { argv = { "sh", "-c", "cat; readlink /proc/self/fd/0" }, stdin = gi, capture = true }
        gi:close()
        assert.matches("^from%-g\npipe:", r.stdout)
        assert.has_error(function() c:exec { argv = { "true" }, detach = true, stdout = 1 } end)
      end)
      state.set_root(nil)
      assert(ok, err)
    end)
  end)
end)
