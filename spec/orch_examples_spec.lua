-- spec/orch_examples_spec.lua: the examples that promise to clean up when
-- interrupted (healthcheck.lua, jobs.lua) get a SIGINT while they run, as a
-- Ctrl-C would send it to the launcher, and leave nothing behind: no
-- container in their state root, no cgroup, no mount.
local U = require "spec_util"
local O = require "orch_util"
local core = require "ctr.core"

local function nothing_left(root, ids)
  assert.are.same({}, U.container_ids(root))
  for _, id in ipairs(ids) do assert.are.same({}, U.cgroup_dirs(id)) end
  assert.are.same({}, U.mounts_under(root))
end

describe("examples interrupted #root", function()
  local root
  before_each(function() root = U.tmproot() end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root)
  end)

  it("healthcheck.lua: a SIGINT while it supervises removes the service (exit 130)", function()
    local p = O.launch(root, U.srcdir .. "/examples/healthcheck.lua", { "--interval", "0.1", "--name", "hc-int" })
    assert.is_true(O.expect(p, "probe ok", 30), p.out)
    local ids = U.container_ids(root)
    assert.are.equal(1, #ids)
    core.kill(p.pid, "INT")
    local out, code = O.finish(p, 30)
    assert.are.equal(130, code, out)
    assert.matches("luac%-ctr: interrupted %(SIGINT%)\n", out)
    nothing_left(root, ids)
  end)

  it("jobs.lua: a SIGINT while jobs run removes every job's container (exit 130)", function()
    local p = O.launch(root, U.srcdir .. "/examples/jobs.lua", { "-j", "2", "sleep 30", "sleep 30", "sleep 30" })
    local two = U.wait_for(function()
      local n = 0
      for _, id in ipairs(U.container_ids(root)) do
        local f = io.open(root .. "/containers/" .. id .. "/state.json")
        local s = f and f:read("a") or ""
        if f then f:close() end
        if s:find('"running"', 1, true) then n = n + 1 end
      end
      return n == 2
    end, 30)
    assert.is_true(two, p.out)
    local ids = U.container_ids(root)
    core.kill(p.pid, "INT")
    local out, code = O.finish(p, 30)
    assert.are.equal(130, code, out)
    nothing_left(root, ids)
  end)

  it("jobs.lua: a SIGTERM is the same (exit 143)", function()
    local p = O.launch(root, U.srcdir .. "/examples/jobs.lua", { "-j", "1", "sleep 30" })
    assert.is_true(U.wait_for(function() return #U.container_ids(root) == 1 end, 30), p.out)
    core.sleep(0.3)
    local ids = U.container_ids(root)
    core.kill(p.pid, "TERM")
    local out, code = O.finish(p, 30)
    assert.are.equal(143, code, out)
    nothing_left(root, ids)
  end)
end)
