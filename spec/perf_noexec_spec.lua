-- No process is run on the hot paths (issue 15): `run` (default bridge
-- network, published ports, --rm and -d), `exec`, `stop` and `rm` execute
-- nothing but the launcher itself, its sealed-memfd re-exec (execveat with
-- AT_EMPTY_PATH, core/selfexec.c) and the container's own command. Counted
-- with strace -f over the whole process tree of each command (a detached
-- container's supervisor included), so a shell, iptables, ip or sysctl
-- brought back on these paths fails here.
local U = require "spec_util"

local q = U.q

-- Every execve/execveat in a trace file: {{pid=, call=, path=, argv=, ok=}}
local function execs(file)
  local t = {}
  for line in io.lines(file) do
    local pid, call, rest = line:match("^(%d+)%s+(execve%a*)%((.*)$")
    if pid then
      local path, argv
      if call == "execve" then path, argv = rest:match('^"(.-)", %[(.-)%]')
      else path, argv = rest:match('^%d+, "(.-)", %[(.-)%]') end
      t[#t + 1] = { pid = pid, call = call, path = path, argv = argv, line = line,
                    ok = line:match("= 0$") ~= nil, empty_path = line:find("AT_EMPTY_PATH", 1, true) ~= nil }
    end
  end
  return t
end

-- Run the launcher under strace; returns the exec list, stdout, stderr, code.
local function traced(root, tracefile, args, bg)
  local parts = { "strace -f -qq -e trace=execve,execveat -o " .. q(tracefile), q(U.launcher) }
  for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
  local cmd = "LUAC_CTR_ROOT=" .. q(root) .. " " .. table.concat(parts, " ")
  if bg then return math.tointeger(tonumber((U.sh(cmd .. " >/dev/null 2>&1 & echo $!")))) end
  return U.sh(cmd)
end

-- Check a trace: the first exec is the launcher, every other one is the
-- memfd re-exec of the launcher or one of the allowed container commands.
local function check(tracefile, allowed)
  local list = execs(tracefile)
  assert.is_true(#list >= 1, "no exec traced")
  assert.are.equal(U.launcher, list[1].path, list[1].line)
  local bad = {}
  for i = 2, #list do
    local e = list[i]
    local selfexec = e.call == "execveat" and e.empty_path and e.path == ""
    local base = (e.path or ""):match("[^/]*$")
    -- the container's command (a PATH search may try other directories first)
    if not selfexec and not allowed[base] then bad[#bad + 1] = e.line end
  end
  assert.are.same({}, bad)
  return list
end

describe("no process on the hot paths #root", function()
  local root, tmp

  U.per_test_root(function(r) root = r end)
  before_each(function()
    tmp = U.tmproot()
    -- the built-in busybox image is made on first use (from busybox --list-full):
    -- not a hot path, so it is made before the traced commands
    local _, err, code = U.ctr(root, { "image", "inspect", "busybox" })
    assert.are.equal(0, code, err)
  end)
  after_each(function() U.cleanup(tmp) end)

  it("run --rm on the default network (with a published port) execs only the container's command", function()
    -- a first run makes the default network: that one is traced too
    local _, err, code = traced(root, tmp .. "/run1", { "run", "--rm", "-p", "127.0.0.1:47021:80",
      "-p", "47022:80/udp", "busybox", "/bin/true" })
    assert.are.equal(0, code, err)
    check(tmp .. "/run1", { ["true"] = true })
    _, err, code = traced(root, tmp .. "/run2", { "run", "--rm", "busybox", "/bin/true" })
    assert.are.equal(0, code, err)
    local list = check(tmp .. "/run2", { ["true"] = true })
    local n = 0
    for _, e in ipairs(list) do if e.path == "/bin/true" and e.ok then n = n + 1 end end
    assert.are.equal(1, n)
  end)

  it("run --rm --network none execs only the container's command", function()
    local _, err, code = traced(root, tmp .. "/none", { "run", "--rm", "--network", "none", "busybox", "/bin/true" })
    assert.are.equal(0, code, err)
    check(tmp .. "/none", { ["true"] = true })
  end)

  it("run -d, exec, stop and rm exec nothing else (the supervisor traced to its end)", function()
    -- strace follows the detached supervisor too and ends when it exits (after stop)
    local strace = traced(root, tmp .. "/rund", { "run", "-d", "--name", "w", "-p", "47023:80", "busybox", "sleep", "60" }, true)
    assert.is_truthy(U.wait_for(function() return U.ctr(root, { "ps", "-q" }):match("%x+") end, 20),
      "the detached container did not start")
    local _, err, code = traced(root, tmp .. "/exec", { "exec", "w", "/bin/true" })
    assert.are.equal(0, code, err)
    check(tmp .. "/exec", { ["true"] = true })
    _, err, code = traced(root, tmp .. "/stop", { "stop", "-t", "1", "w" })
    assert.are.equal(0, code, err)
    check(tmp .. "/stop", {})
    _, err, code = traced(root, tmp .. "/rm", { "rm", "w" })
    assert.are.equal(0, code, err)
    check(tmp .. "/rm", {})
    -- the run -d trace is complete once its strace has exited
    assert.is_truthy(U.wait_for(function() return not io.open("/proc/" .. strace .. "/stat") end, 20))
    check(tmp .. "/rund", { sleep = true })
  end)
end)
