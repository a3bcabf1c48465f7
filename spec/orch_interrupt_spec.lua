-- spec/orch_interrupt_spec.lua: SIGINT and SIGTERM are Lua errors (kind
-- "interrupted", exit 130/143) in scripts run by the launcher and by a plain
-- lua5.4, raised in blocking calls and busy loops; pcall, <close> and
-- ctr.on_exit cleanups run; a second signal ends the process at once; and a
-- script that blocked or ignored signals does not pass that on to the
-- containers it starts (real processes and signals).
local U = require "spec_util"
local O = require "orch_util"
local core = require "ctr.core"

local function lua(script, args)
  local argv = { "/usr/bin/lua5.4", script }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  return O.spawn(argv)
end

-- a script that prints "ready" then blocks in `what`, reporting what pcall saw
local BLOCK = [[
local core = require "ctr.core"
local what = ...
local child
local ok, e = pcall(function()
  io.stdout:write("ready\n"); io.stdout:flush()
  if what == "busy" then local i = 0; while true do i = i + 1 end
  elseif what == "poll" then local r, w = core.pipe(); core.poll({ { r, "in" } }, 20000)
  elseif what == "waitpid" then
    child = core.fork()
    if child == 0 then -- not holding our output open
      local null = core.open("/dev/null", "rdwr"); core.dup2(null, 1); core.dup2(null, 2)
      core.sleep(20); core._exit(0)
    end
    core.waitpid(child)
  elseif what == "read" then local r, w = core.pipe(); core.read(r)
  elseif what == "lock" then
    local path = os.tmpname()
    child = core.fork()
    if child == 0 then
      local null = core.open("/dev/null", "rdwr"); core.dup2(null, 1); core.dup2(null, 2)
      local fd = core.lock_file(path); core.sleep(20); core._exit(0)
    end
    core.sleep(0.2) -- the child holds it
    io.stdout:write("locking\n"); io.stdout:flush()
    core.lock_file(path)
  else core.sleep(20) end
end)
if child then core.kill(child, "KILL") end
print("caught", ok, e.kind, e.code, tostring(e))
]]

describe("interrupts #root", function()
  local script
  setup(function() script = O.script(BLOCK) end)
  teardown(function() os.remove(script) end)

  for _, what in ipairs { "sleep", "busy", "poll", "waitpid", "read", "lock" } do
    it("a SIGINT in " .. what .. " is an error value that pcall catches (lua5.4)", function()
      local p = lua(script, { what })
      assert.is_true(O.expect(p, what == "lock" and "locking\n" or "ready\n", 10), p.out)
      core.sleep(0.1) -- in the call
      core.kill(p.pid, "INT")
      local out, code, secs = O.finish(p, 10)
      assert.are.equal(0, code, out)
      assert.matches("caught\tfalse\tinterrupted\t130\tinterrupted %(SIGINT%)\n", out)
      assert.is_true(secs < 2, "took " .. secs)
    end)
  end

  it("a SIGTERM gives code 143", function()
    local p = lua(script, { "sleep" })
    assert.is_true(O.expect(p, "ready\n", 10), p.out)
    core.sleep(0.1) -- in the call, as the SIGINT cases: a signal in the few instructions
    -- between core.sleep's check and nanosleep is only seen at its end (l_intr.c)
    core.kill(p.pid, "TERM")
    local out, code = O.finish(p, 10)
    assert.are.equal(0, code, out)
    assert.matches("caught\tfalse\tinterrupted\t143\tterminated %(SIGTERM%)\n", out)
  end)

  local CLEANUP = [[
local ctr = require "ctr"
ctr.on_exit(function() print("on_exit 1") end)
ctr.on_exit(function() print("on_exit 2"); io.stdout:flush(); if arg[1] == "hang" then ctr.core.sleep(20) end end)
local x <close> = setmetatable({}, { __close = function() print("closed") end })
print("ready"); io.stdout:flush()
ctr.core.sleep(20)
print("not reached")
]]

  it("the launcher exits 130 on SIGINT after <close> and on_exit cleanups (last first)", function()
    local s = O.script(CLEANUP)
    local p = O.launch("/nonexistent", s)
    assert.is_true(O.expect(p, "ready\n", 10), p.out)
    core.kill(p.pid, "INT")
    local out, code = O.finish(p, 10)
    os.remove(s)
    assert.are.equal(130, code, out)
    assert.matches("ready\n", out)
    assert.matches("luac%-ctr: interrupted %(SIGINT%)\n", out)
    assert.matches("closed\n.*on_exit 2\non_exit 1\n", out)
    assert.is_nil(out:find("not reached", 1, true))
  end)

  it("the launcher exits 143 on SIGTERM; os.exit runs the on_exit cleanups too", function()
    local s = O.script(CLEANUP)
    local p = O.launch("/nonexistent", s)
    assert.is_true(O.expect(p, "ready\n", 10), p.out)
    core.kill(p.pid, "TERM")
    local out, code = O.finish(p, 10)
    assert.are.equal(143, code, out)
    assert.matches("on_exit 2\non_exit 1\n", out)
    local s2 = O.script('local ctr = require "ctr"; ctr.on_exit(function() print("bye") end); os.exit(4)')
    local err2
    out, err2, code = U.sh(U.q(U.launcher) .. " " .. U.q(s2))
    os.remove(s); os.remove(s2)
    assert.are.equal(4, code, err2)
    assert.are.equal("bye\n", out)
  end)

  it("a second SIGINT during a cleanup that hangs ends the launcher at once with 130", function()
    local s = O.script(CLEANUP)
    local p = O.launch("/nonexistent", s, { "hang" })
    assert.is_true(O.expect(p, "ready\n", 10), p.out)
    core.kill(p.pid, "INT")
    assert.is_true(O.expect(p, "on_exit 2\n", 10), p.out)
    core.kill(p.pid, "INT")
    local out, code, secs = O.finish(p, 10)
    os.remove(s)
    assert.are.equal(130, code, out)
    assert.is_true(secs < 2, "took " .. secs)
    assert.is_nil(out:find("on_exit 1", 1, true)) -- ended at once
  end)
end)

describe("signals of the processes the core starts #root", function()
  local root
  before_each(function() root = U.tmproot() end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root)
  end)

  it("a script that blocked and ignored signals starts containers with none blocked or ignored; stop is prompt", function()
    local s = O.script([[
local core = require "ctr.core"
local container = require "ctr.container"
assert(core.sigmask("block", { "TERM", "INT", "HUP", "USR1" }))
assert(core.signal("QUIT", "ignore")); assert(core.signal("USR2", "ignore")); assert(core.signal("TERM", "ignore"))
local c = container.run { name = "sigs", image = "busybox", network = "none", detach = true,
  cmd = { "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.05; done" } }
local c2 = container.run { name = "plain", image = "busybox", network = "none", detach = true, cmd = { "sleep", "30" } }
local r = c:exec { argv = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status" }, capture = true }
io.write(r.stdout)
print("pid", c2.state.pid, c.state.supervisor.pid)
]])
    local out, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " " .. U.q(s))
    os.remove(s)
    assert.are.equal(0, code, err)
    -- the exec'd command
    assert.matches("SigBlk:%s*0+\nSigIgn:%s*0+\n", out)
    local pid, sup = out:match("pid\t(%d+)\t(%d+)")
    assert.is_truthy(pid, out)
    local init = O.sigmasks(pid) -- a busybox sh would ignore SIGQUIT itself: sleep is the init
    assert.matches("^0+$", init.SigBlk)
    assert.matches("^0+$", init.SigIgn)
    assert.matches("^0+$", O.sigmasks(sup).SigBlk) -- the supervisor (it ignores SIGPIPE itself)
    local t0 = core.clock("monotonic")
    local _, serr, scode = U.ctr(root, { "stop", "-t", "10", "sigs" })
    local secs = core.clock("monotonic") - t0
    assert.are.equal(0, scode, serr)
    assert.is_true(secs < 3, "stop took " .. secs .. " s: the container did not get SIGTERM")
    local wout = U.ctr(root, { "inspect", "-f", "{{.State.ExitCode}}", "sigs" })
    assert.are.equal("7\n", wout)
  end)
end)
