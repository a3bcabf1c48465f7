--- spec_util: shared helpers for the specs.
--
-- Every spec that makes containers takes its own state root from tmproot()
-- and removes it with cleanup(root): specs never touch each other's or a
-- user's containers.
local U = {}

U.build = os.getenv("LUAC_CTR_BUILD") or "build"
U.srcdir = (function()
  local p = io.popen("pwd"); local d = p:read("l"); p:close(); return d
end)()
U.launcher = U.srcdir .. "/" .. U.build .. "/luac-ctr"

--- Quote a string for /bin/sh.
function U.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Run a shell command; returns stdout, stderr, exit code.
function U.sh(cmd, opts)
  opts = opts or {}
  local errf = os.tmpname()
  local full = cmd .. " 2>" .. U.q(errf)
  if opts.stdin then
    local inf = os.tmpname()
    local f = assert(io.open(inf, "w")); f:write(opts.stdin); f:close()
    full = full .. " <" .. U.q(inf)
    opts._inf = inf
  elseif not opts.keep_stdin then
    full = full .. " </dev/null"
  end
  local p = assert(io.popen(full, "r"))
  local out = p:read("a")
  local _, how, code = p:close()
  local f = io.open(errf); local err = f and f:read("a") or ""; if f then f:close() end
  os.remove(errf)
  if opts._inf then os.remove(opts._inf) end
  if how == "signal" then code = 128 + code end
  return out, err, code
end

--- Run a shell command that must succeed (asserts, with its output); returns stdout.
function U.sh_ok(cmd)
  local out, err, code = U.sh(cmd)
  assert(code == 0, ("command failed (%d): %s\n%s%s"):format(code, cmd, out, err))
  return out
end

--- Write text to path (mode 0644, atomically), making its directory first.
function U.write_file(path, text)
  U.sh_ok("mkdir -p " .. U.q(path:match("^(.*)/")))
  assert(require("ctr.core").write_file_atomic(path, text, 420))
end

--- Run the launcher with a list of arguments (each quoted), with the state root set.
function U.ctr(root, args, opts)
  local parts = { U.q(U.launcher) }
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  local env = root and ("LUAC_CTR_ROOT=" .. U.q(root) .. " ") or ""
  return U.sh(env .. table.concat(parts, " "), opts)
end

--- U.ctr that must succeed (asserts exit 0, with its stderr); returns stdout.
function U.ctr_ok(root, args, opts)
  local out, err, code = U.ctr(root, args, opts)
  require("luassert").are.equal(0, code, err)
  return out
end

--- A fresh temporary directory (a state root for one spec).
function U.tmproot()
  local p = io.popen("mktemp -d /tmp/luac-ctr-spec.XXXXXX")
  local d = p:read("l"); p:close()
  return d
end

--- Mount points below a directory (from /proc/self/mountinfo).
function U.mounts_under(dir)
  local t = {}
  for line in io.lines("/proc/self/mountinfo") do
    local mp = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and (mp == dir or mp:sub(1, #dir + 1) == dir .. "/") then t[#t + 1] = mp end
  end
  return t
end

--- Remove a state root: kill what is left, unmount, remove cgroups and files.
-- Returns a list of what had to be cleaned (specs assert it is empty when
-- the code under test should have cleaned up itself).
-- The root's networks (a "bridge" network that a container or a build step
-- made, say) are removed first: their bridges and firewall elements live in
-- the spec run's network namespace, not under the root, and would otherwise
-- outlive it (not counted as leftovers: networks stay until removed, as docker's).
local function remove_networks_of(root)
  local p = io.popen("ls " .. U.q(root .. "/networks") .. " 2>/dev/null")
  local names = {}
  for f in p:lines() do names[#names + 1] = f:match("^(.+)%.json$") end
  p:close()
  if #names == 0 then return end
  local state = require "ctr.state"
  local prev = state.root()
  state.set_root(root)
  for _, name in ipairs(names) do pcall(require("ctr.network").remove, name) end
  state.set_root(prev)
end

-- The spec's directory may be the state root or hold it (dir/root, say).
local function remove_networks(dir)
  local p = io.popen("find " .. U.q(dir) .. " -maxdepth 2 -name networks -type d 2>/dev/null")
  for d in p:lines() do remove_networks_of(d:match("^(.*)/networks$")) end
  p:close()
end

function U.cleanup(root)
  if not root or not root:match("^/tmp/luac%-ctr%-spec%.") then return {} end
  local leftovers = {}
  remove_networks(root)
  local ms = U.mounts_under(root)
  table.sort(ms, function(a, b) return #a > #b end)
  for _, m in ipairs(ms) do
    leftovers[#leftovers + 1] = "mount " .. m
    os.execute("umount -l " .. U.q(m) .. " 2>/dev/null")
  end
  os.execute("rm -rf " .. U.q(root))
  return leftovers
end

-- ---------------------------------------------------------------------------
-- More helpers (appended): polling, cgroup checks, a pty driver.

--- Poll fn() every 20 ms until it returns a truthy value or timeout seconds pass.
function U.wait_for(fn, timeout)
  local core = require "ctr.core"
  local deadline = core.clock("monotonic") + (timeout or 10)
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.02)
  until core.clock("monotonic") > deadline
  return fn()
end

--- cgroup directories named luac-ctr/<id> that still exist on any hierarchy.
function U.cgroup_dirs(id)
  local out = {}
  local p = io.popen("find /sys/fs/cgroup -maxdepth 3 -type d -name " .. U.q(id) .. " 2>/dev/null")
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

--- The real uid of process pid as the host sees it (the first number of
-- the Uid: line of /proc/<pid>/status).
function U.host_uid(pid)
  for line in io.lines("/proc/" .. pid .. "/status") do
    local u = line:match("^Uid:%s+(%d+)")
    if u then return math.tointeger(tonumber(u)) end
  end
end

--- The container ids in a state root.
function U.container_ids(root)
  local out = {}
  local p = io.popen("ls " .. U.q(root .. "/containers") .. " 2>/dev/null")
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

--- What luac-ctr put in the firewall, as comparable text: the iptables rules
-- (-A lines; luac-ctr adds none, so they must not change) and, from its
-- nftables table, the lines that hold elements and the per-network chains (the
-- table's empty skeleton of sets and base chains counts as nothing).
function U.firewall()
  local t = {}
  for l in U.sh("iptables-save"):gmatch("[^\n]+") do if l:match("^%-A") then t[#t + 1] = l end end
  local rs = require("ctr.network").ruleset()
  local in_elements = false -- a long element list goes on over several lines
  for l in rs:gmatch("[^\n]+") do
    if l:find("elements =", 1, true) then in_elements = true end
    if in_elements or l:match("chain n%-") then t[#t + 1] = l end
    if l:find("}", 1, true) then in_elements = false end
  end
  return table.concat(t, "\n")
end

--- Run shell command lines all at once in the background, n rounds of them
-- (the round in $i), with LUAC_CTR_ROOT=root and env's variables ({NAME =
-- value}) exported; a command that fails prints FAILED. Asserts that the
-- shell exited 0 and that none failed; returns the commands' output.
function U.at_once(root, n, cmds, env)
  local assert = require "luassert"
  local vars = { "LUAC_CTR_ROOT=" .. U.q(root) }
  local names = {}
  for k in pairs(env or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do vars[#vars + 1] = k .. "=" .. U.q(env[k]) end
  local runs = {}
  for _, c in ipairs(cmds) do runs[#runs + 1] = " (" .. c .. " || echo FAILED) &" end
  local out, err, code = U.sh(("export %s; for i in $(seq %d); do%s done; wait")
    :format(table.concat(vars, " "), n, table.concat(runs)))
  assert.are.equal(0, code, err)
  assert.is_nil(out:find("FAILED", 1, true), out .. err)
  return out
end

--- Run a shell script in a qemu VM whose kernel has only cgroup v2
-- (tools/v2vm.sh --hostroot: this machine's own files with a throw-away
-- layer, the source tree and the build directory shared). script(repo,
-- build) makes it from the resolved source and build directories; opts:
-- more v2vm.sh options ("--mem 1024"). Returns stdout, v2vm.sh's exit code,
-- and a report for assertion messages (the exit code, stdout and stderr).
function U.v2vm(script, opts)
  local function realpath(p)
    local h = io.popen("realpath -e " .. U.q(p) .. " 2>/dev/null")
    local r = h:read("l"); h:close()
    return r
  end
  local repo = assert(realpath(U.srcdir), "cannot resolve the source dir")
  local build = assert(realpath(U.build:sub(1, 1) == "/" and U.build or repo .. "/" .. U.build),
    "no build dir " .. U.build)
  local shares = "--share " .. U.q(repo)
  if build:sub(1, #repo + 1) ~= repo .. "/" then shares = shares .. " --share " .. U.q(build) end
  local out, err, code = U.sh("bash " .. U.q(repo .. "/tools/v2vm.sh") .. " --hostroot " ..
    (opts and opts .. " " or "") .. shares .. " --timeout 300 -- " .. U.q(script(repo, build)))
  return out, code, "v2vm.sh exit " .. tostring(code) .. "\n" .. out .. err
end

--- For a describe of API specs: the before/after functions giving every
-- test a fresh state root, set in ctr.state and given to set(root), and
-- afterwards removing its containers and networks and checking nothing of
-- it is left (U.cleanup). Use: before_each(fresh); after_each(done).
function U.api_state_root(set)
  local assert = require "luassert"
  local root
  return function()
    root = U.tmproot()
    require("ctr.state").set_root(root)
    set(root)
  end, function()
    require("ctr.state").set_root(nil)
    U.rm_all(root)
    assert.are.same({}, U.cleanup(root))
  end
end

function U.rm_all(root)
  local state = require "ctr.state"
  local container = require "ctr.container"
  state.set_root(root)
  for _, id in ipairs(U.container_ids(root)) do
    local c = container.load(id)
    if c then pcall(c.remove, c, { force = true }) end
  end
  -- the networks the containers made (the default "bridge" among them): their
  -- bridges and firewall rules go too
  local p = io.popen("ls " .. U.q(root .. "/networks") .. " 2>/dev/null")
  for f in p:lines() do
    local name = f:match("^(.+)%.json$")
    if name then pcall(require("ctr.network").remove, name) end
  end
  p:close()
  state.set_root(nil)
  return U.container_ids(root)
end

--- For a describe block whose tests make containers: a fresh state root
-- before each test (passed to set), and after it every container removed
-- and checked gone: no cgroup left, no mount, no file.
function U.per_test_root(set)
  local busted = require "busted"
  local before_each, after_each = busted.before_each, busted.after_each
  local assert = require "luassert"
  local current
  before_each(function()
    current = U.tmproot()
    set(current)
  end)
  after_each(function()
    local ids = U.container_ids(current)
    U.rm_all(current)
    for _, id in ipairs(ids) do assert.same({}, U.cgroup_dirs(id)) end
    assert.same({}, U.cleanup(current))
  end)
end

--- per_test_root (set(root, tmp)) for tests that count what the launcher
-- does: before each test busybox is made in its fresh root, so that nothing
-- a test counts includes making it, and a scratch directory of its own, tmp
-- (for traces and such, outside the root), is made, removed after it.
function U.per_test_root_busybox(set)
  local busted = require "busted"
  local root, tmp
  U.per_test_root(function(r) root = r end)
  busted.before_each(function()
    tmp = U.tmproot()
    U.ctr_ok(root, { "image", "inspect", "busybox" })
    set(root, tmp)
  end)
  busted.after_each(function() U.cleanup(tmp) end)
end

-- swap DIR TARGET SECONDS: DIR/d0 (a directory with a file) and DIR/l0 (a
-- symlink to TARGET) exchanged as fast as possible for SECONDS.
local SWAP_C = [[
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  char d[512], l[512], f[600];
  snprintf(d, sizeof d, "%s/d0", argv[1]);
  snprintf(l, sizeof l, "%s/l0", argv[1]);
  snprintf(f, sizeof f, "%s/inside", d);
  mkdir(argv[1], 0755);
  mkdir(d, 0755);
  int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "container\n", 10) != 10) return 1;
  close(fd);
  if (symlink(argv[2], l) < 0) { perror("symlink"); return 1; }
  printf("swapping\n");
  fflush(stdout);
  time_t end = time(NULL) + atoi(argv[3]);
  while (time(NULL) < end)
    for (int k = 0; k < 1000; k++)
      if (renameat2(AT_FDCWD, d, AT_FDCWD, l, RENAME_EXCHANGE) < 0) { perror("renameat2"); return 1; }
  return 0;
}
]]

--- The host side of a symlink-swap race (the CVE-2018-15664 class), made in
-- the existing directory work: work/bin/swap, a static program (source in
-- work/swap.c) that a container runs as `swap DIR TARGET SECONDS` to
-- exchange DIR/d0 (a directory with a file) and DIR/l0 (a symlink to TARGET)
-- as fast as it can for SECONDS, printing "swapping" when it starts; and
-- work/host/secret, a 0600 file holding a unique marker that must never come
-- out of a container. Returns bin, hostdir, marker.
function U.swap_race(work)
  local assert = require "luassert"
  local core = require "ctr.core"
  local bin, hostdir = work .. "/bin", work .. "/host"
  assert(core.mkdir(bin, 493)); assert(core.mkdir(hostdir, 493))
  local f = assert(io.open(work .. "/swap.c", "w")); f:write(SWAP_C); f:close()
  local _, err, code = U.sh("gcc -static -O2 -o " .. U.q(bin .. "/swap") .. " " .. U.q(work .. "/swap.c"))
  assert.are.equal(0, code, err)
  local marker = "HOSTMARKER-" .. U.sh("od -An -tx1 -N16 /dev/urandom"):gsub("%s", "")
  f = assert(io.open(hostdir .. "/secret", "w")); f:write(marker, "\n"); f:close()
  assert(core.chmod(hostdir .. "/secret", 384))
  return bin, hostdir, marker
end

local Pty = {}
Pty.__index = Pty

--- Run the launcher with args on a new pty (as a person in a terminal
-- would). env: list of "K=V". Returns a session with :send, :expect, :wait.
function U.pty(root, args, env)
  local core = require "ctr.core"
  local master, slave = assert(core.openpty())
  core.set_winsize(master, 30, 100)
  local argv = { U.launcher }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local e = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "LUAC_CTR_ROOT=" .. root }
  for _, x in ipairs(env or {}) do e[#e + 1] = x end
  local pid = core.fork()
  if pid == 0 then
    pcall(function()
      master:close()
      assert(core.make_controlling_tty(slave))
      for i = 0, 2 do core.dup2(slave, i) end
      core.execve(U.launcher, argv, e)
    end)
    core._exit(99)
  end
  slave:close()
  return setmetatable({ master = master, pid = pid, buf = "", core = core }, Pty)
end

--- Read what is available for up to t seconds.
function Pty:pump(t)
  local core = self.core
  local ready = core.poll({ { self.master, "in" } }, math.floor((t or 0.1) * 1000))
  if ready and #ready > 0 then
    local s = core.read(self.master, 4096)
    if s and s ~= "" then self.buf = self.buf .. s return true end
    self.eof = true
  end
  return false
end

--- Wait until the output (since the last mark) contains text (plain).
function Pty:expect(text, timeout)
  local deadline = self.core.clock("monotonic") + (timeout or 10)
  local from = self.mark or 1
  while not self.buf:find(text, from, true) do
    if self.eof or self.core.clock("monotonic") > deadline then
      error(("pty: %q not seen; output so far:\n%s"):format(text, self.buf), 2)
    end
    self:pump(0.1)
  end
  local _, e = self.buf:find(text, from, true)
  self.mark = e + 1
  return true
end

function Pty:send(s) self.core.write(self.master, s) end

--- Wait for the launcher to exit; returns its exit code (reads the pty meanwhile).
function Pty:wait(timeout)
  local core = self.core
  local deadline = core.clock("monotonic") + (timeout or 10)
  while true do
    local pid, how, code = core.waitpid(self.pid, "nohang")
    if pid == self.pid then
      self.done = true
      return how == "killed" and 128 + code or code
    end
    if core.clock("monotonic") > deadline then return nil end
    self:pump(0.05)
  end
end

function Pty:close()
  if not self.done then
    self.core.kill(self.pid, 9)
    self.core.waitpid(self.pid)
    self.done = true
  end
  self.master:close()
end

return U
