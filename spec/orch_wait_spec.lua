-- spec/orch_wait_spec.lua: waiting with timeouts, on several containers, by
-- pidfd and by events; one result shape for wait, start, exec and run;
-- run and exec timeouts; exit codes and kill/exec after the exit; containers
-- tied to a scope or to the script's life (real containers and signals).
local U = require "spec_util"
local O = require "orch_util"
local core = require "ctr.core"
local errors = require "ctr.errors"

local root, container

local function run(cmd, o)
  o = o or {}
  o.image, o.network, o.cmd = "busybox", "none", cmd
  if o.detach == nil then o.detach = true end
  local res = container.run(o)
  if o.detach then return res end
  return res.container, res
end

local function check_shape(r)
  assert.are.equal("number", type(r.exit_code))
  assert.are.equal("boolean", type(r.oom_killed))
  assert.are.equal("boolean", type(r.timed_out))
  assert.is_truthy(r.started_at)
  assert.is_truthy(r.finished_at)
end

describe("orchestration: waiting #root", function()
  setup(function()
    container = require "ctr.container"
  end)
  local fresh, done = U.api_state_root(function(r) root = r end)
  before_each(fresh)
  after_each(done)

  it("c:wait{timeout} gives nil, 'timeout', then the result; c:wait() the same shape", function()
    local c = run { "sleep", "30" }
    local t0 = core.clock("monotonic")
    local r, why = c:wait { timeout = 0.3 }
    assert.is_nil(r)
    assert.are.equal("timeout", why)
    assert.is_true(core.clock("monotonic") - t0 < 1.5)
    c:kill("KILL")
    r = c:wait { timeout = 5 }
    check_shape(r)
    assert.are.equal(137, r.exit_code)
    assert.are.equal(9, r.signal)
    assert.is_false(r.timed_out)
    local c2 = run { "sh", "-c", "exit 5" }
    r = c2:wait()
    check_shape(r)
    assert.are.equal(5, r.exit_code)
    assert.is_nil(r.signal)
  end)

  it("wait_any returns the first container to exit with its result, or nil, 'timeout'", function()
    local a = run { "sleep", "30" }
    local b = run { "sh", "-c", "sleep 0.5; exit 3" }
    local c, r = container.wait_any({ a, b }, { timeout = 0.1 })
    assert.is_nil(c)
    assert.are.equal("timeout", r)
    c, r = container.wait_any({ a, b }, { timeout = 10 })
    assert.are.equal(b.id, c.id)
    assert.are.equal(3, r.exit_code)
    check_shape(r)
    -- an exited one is returned at once
    c, r = container.wait_any({ a, b })
    assert.are.equal(b.id, c.id)
    assert.are.equal(3, r.exit_code)
  end)

  it("c:pidfd() becomes readable at the exit (a core.poll loop)", function()
    local c = run { "sh", "-c", "sleep 0.3" }
    local fd = assert(c:pidfd())
    local ready = core.poll({ { fd, "in" } }, 5000)
    fd:close()
    assert.are.equal(1, #ready)
    assert.are.equal(0, c:wait().exit_code)
    assert.is_nil(c:pidfd())
  end)

  it("exit_code of a stale object is the recorded one, not 255; kill after the exit is not_running", function()
    local c = run { "sh", "-c", "sleep 0.2; exit 5" }
    core.sleep(1) -- the supervisor recorded the exit and is gone; c.state still says running
    assert.are.equal("running", c.state.status)
    assert.are.equal(5, c:exit_code())
    local ok, e = pcall(c.kill, c, "TERM")
    assert.is_false(ok)
    assert.is_true(errors.is(e, "not_running"), tostring(e))
  end)

  it("run{timeout} kills at the deadline: timed_out in the result and in inspect (foreground and detached)", function()
    local t0 = core.clock("monotonic")
    local r = container.run { image = "busybox", network = "none", cmd = { "sleep", "30" }, timeout = 0.5 }
    assert.is_true(core.clock("monotonic") - t0 < 5)
    check_shape(r)
    assert.is_true(r.timed_out)
    assert.are.equal(137, r.exit_code)
    local c = run({ "sleep", "30" }, { timeout = 0.5 })
    r = c:wait { timeout = 10 }
    assert.is_true(r.timed_out)
    assert.are.equal(137, r.exit_code)
    assert.is_true(c:refresh().state.timed_out)
    assert.is_true(c:inspect().State.TimedOut)
    -- a run that ends in time is not timed out
    r = container.run { image = "busybox", network = "none", cmd = { "true" }, timeout = 5 }
    assert.is_false(r.timed_out)
    assert.are.equal(0, r.exit_code)
  end)

  it("exec{timeout} kills the command; exec into a dead container is not_running", function()
    local c = run { "sleep", "30" }
    local t0 = core.clock("monotonic")
    local r = c:exec { argv = { "sleep", "30" }, capture = true, timeout = 0.3 }
    assert.is_true(core.clock("monotonic") - t0 < 3)
    check_shape(r)
    assert.is_true(r.timed_out)
    assert.are.equal(137, r.exit_code)
    r = c:exec { argv = { "sh", "-c", "echo hi; exit 4" }, capture = true, timeout = 5 }
    assert.is_false(r.timed_out)
    assert.are.equal(4, r.exit_code)
    assert.are.equal("hi\n", r.stdout)
    c:kill("KILL")
    local ok, e = pcall(c.exec, c, { argv = { "true" } }) -- c.state still the running one
    assert.is_false(ok)
    assert.is_true(errors.is(e, "not_running"), tostring(e))
    assert.matches("is not running", e.msg)
    local _, err, code = U.ctr(root, { "exec", c.id, "true" })
    -- 1 (docker's) from the workflow's own check; 125 (not_running) when the
    -- container was still exiting at that check and gone at the setns
    assert.is_true(code == 1 or code == 125, "exit " .. code)
    assert.matches("container .* is not running", err)
    assert.is_nil(err:find("setns", 1, true))
  end)

  it("the foreground start result has the one shape", function()
    local r = container.run { image = "busybox", network = "none", cmd = { "sh", "-c", "exit 6" } }
    check_shape(r)
    assert.are.equal(6, r.exit_code)
    assert.is_false(r.timed_out)
  end)

  it("events: exit (with its result) and start, heard as they happen and since a time", function()
    local c = run { "sleep", "30" }
    local t = c.state.started_at
    local ev = require("ctr").events { containers = { c } }
    local e, why = ev:next(0.2)
    assert.is_nil(e)
    assert.are.equal("timeout", why)
    local fds = ev:fds() -- in a core.poll loop of one's own
    assert.are.equal(1, #fds)
    c:kill("KILL")
    local ready = core.poll(fds, 5000)
    for _, f in ipairs(fds) do f[1]:close() end
    assert.are.equal(1, #ready)
    e = ev:next(0)
    assert.are.equal("exit", e.type)
    assert.are.equal(c.id, e.container.id)
    assert.are.equal(137, e.result.exit_code)
    c:start { detach = true }
    e = ev:next(5)
    assert.are.equal("start", e.type)
    c:kill("KILL")
    local seen = {}
    for x in container.events { containers = { c.id }, since = t } do
      seen[#seen + 1] = x.type
      if #seen == 2 then break end
    end
    assert.are.same({ "start", "exit" }, seen)
  end)

  it("events: an OOM-killed run gives exit then oom", function()
    local c = run({ "sh", "-c", "exec tail /dev/zero" }, { memory = "16m", memory_swap = "16m" })
    local ev = container.events { containers = { c }, since = c.state.started_at }
    local types = {}
    while #types < 3 do
      local e = assert(ev:next(20))
      types[#types + 1] = e.type
      if e.type == "oom" then assert.is_true(e.result.oom_killed) end
    end
    assert.are.same({ "start", "exit", "oom" }, types)
  end)
end)

describe("orchestration: containers tied to the script #root", function()
  local r2
  before_each(function() r2 = U.tmproot() end)
  after_each(function()
    U.rm_all(r2)
    U.cleanup(r2)
  end)

  it("a <close> scope removes its containers when the block errs; remove_on_exit when the script ends", function()
    local s = O.script([[
local container = require "ctr.container"
do
  local ok = pcall(function()
    local scope <close> = container.scope()
    scope:run { image = "busybox", network = "none", cmd = { "sleep", "30" }, detach = true }
    scope:run { image = "busybox", network = "none", cmd = { "sleep", "30" }, detach = true }
    print("in scope", #container.list())
    error("boom")
  end)
  print("after scope", ok, #container.list())
end
container.run { image = "busybox", network = "none", cmd = { "sleep", "30" }, detach = true, remove_on_exit = true }
print("kept", #container.list())
]])
    local out, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(r2) .. " " .. U.q(U.launcher) .. " " .. U.q(s))
    os.remove(s)
    assert.are.equal(0, code, err)
    assert.are.equal("in scope\t2\nafter scope\tfalse\t0\nkept\t1\n", out)
    assert.are.same({}, U.container_ids(r2))
  end)

  it("SIGINT during a wait removes the scope's and remove_on_exit's containers; nothing is left", function()
    local s = O.script([[
local container = require "ctr.container"
local scope <close> = container.scope()
local a = scope:run { image = "busybox", network = "none", cmd = { "sleep", "30" }, detach = true }
container.run { image = "busybox", network = "none", cmd = { "sleep", "30" }, detach = true, remove_on_exit = true }
print("ready"); io.stdout:flush()
a:wait()
]])
    local p = O.launch(r2, s)
    assert.is_true(O.expect(p, "ready\n", 30), p.out)
    local ids = U.container_ids(r2)
    assert.are.equal(2, #ids)
    core.kill(p.pid, "INT")
    local out, code = O.finish(p, 30)
    os.remove(s)
    assert.are.equal(130, code, out)
    assert.are.same({}, U.container_ids(r2))
    for _, id in ipairs(ids) do assert.are.same({}, U.cgroup_dirs(id)) end
    assert.are.same({}, U.mounts_under(r2))
  end)
end)
