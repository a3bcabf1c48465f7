-- spec/health_spec.lua: docker's HEALTHCHECK for detached containers: a
-- container becomes healthy, a failing one unhealthy after its retries;
-- ps, inspect, c:health() and the events show it; bad options are refused;
-- removal leaves no monitor behind (real containers, real probes).
local U = require "spec_util"
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"

local root, container

local function alive(p)
  return p and core.starttime(p.pid) ~= nil and core.starttime(p.pid) == p.starttime
end

local function run(health, name)
  return container.run { image = "busybox", network = "none", cmd = { "sleep", "60" }, detach = true,
    name = name, health = health }
end

describe("health checks #root", function()
  setup(function()
    container = require "ctr.container"
  end)
  local fresh, done = U.api_state_root(function(r) root = r end)
  before_each(fresh)
  after_each(done)

  it("becomes healthy; ps, inspect and an events iterator show it; removal ends the monitor", function()
    local c = run({ cmd = { "CMD", "sh", "-c", "echo ok" }, interval = 0.2, timeout = 2, retries = 2 }, "hc-ok")
    local ev = container.events { containers = { c } }
    assert.are.equal("starting", c:health().status)
    local e
    repeat e = assert(ev:next(10)) until e.type == "health"
    assert.are.equal("healthy", e.status)
    assert.are.equal(c.id, e.container.id)
    local h = c:health()
    assert.are.equal("healthy", h.status)
    assert.are.equal(0, h.failing_streak)
    assert.are.equal(0, h.log[1].exit_code)
    assert.are.equal("ok\n", h.log[1].output)
    assert.is_true(h.log[1]["end"] >= h.log[1].start)
    assert.is_true(U.wait_for(function() return #c:health().log == 5 end, 10)) -- the last 5 only
    local out = U.ctr(root, { "ps" })
    assert.matches("Up .- %(healthy%)", out)
    out = U.ctr(root, { "inspect", "hc-ok" })
    local doc = json.decode(out)[1]
    assert.are.equal("healthy", doc.State.Health.Status)
    assert.are.equal(0, doc.State.Health.FailingStreak)
    assert.are.equal(5, #doc.State.Health.Log)
    assert.matches("^%d+%-%d+%-%d+T", doc.State.Health.Log[1].Start)
    assert.are.same({ "CMD", "sh", "-c", "echo ok" }, doc.Config.Healthcheck.Test)
    assert.are.equal(200000000, doc.Config.Healthcheck.Interval)
    c:refresh()
    local mon = c.state.health.monitor
    assert.is_true(alive(mon))
    c:remove { force = true }
    assert.is_true(U.wait_for(function() return not alive(mon) end, 10))
    assert.is_false(core.exists(c.dir))
  end)

  it("a failing probe makes it unhealthy after its retries (CLI: --health-*; ps shows it)", function()
    local out, err, code = U.ctr(root, { "run", "-d", "--network", "none", "--name", "hc-bad",
      "--health-cmd", "echo no; exit 3", "--health-interval", "200ms", "--health-retries", "2",
      "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    local c = container.get(out:match("%x+"))
    assert.is_true(U.wait_for(function() return c:health().status == "unhealthy" end, 10))
    local h = c:health()
    assert.is_true(h.failing_streak >= 2)
    assert.are.equal(3, h.log[#h.log].exit_code)
    assert.are.equal("no\n", h.log[#h.log].output)
    assert.are.equal(2, c.state.healthcheck.retries)
    assert.are.equal(30, c.state.healthcheck.timeout) -- docker's default
    assert.matches("%(unhealthy%)", (U.ctr(root, { "ps" })))
    -- a probe past its timeout fails with -1
    local c2 = run({ cmd = "sleep 5", interval = 0.2, timeout = 0.2, retries = 1 })
    assert.is_true(U.wait_for(function() return c2:health().status == "unhealthy" end, 10))
    assert.are.equal(-1, c2:health().log[1].exit_code)
    local mons = { c:refresh().state.health.monitor, c2:refresh().state.health.monitor }
    assert.are.equal(0, select(3, U.ctr(root, { "rm", "-f", "hc-bad" })))
    c2:remove { force = true }
    for _, m in ipairs(mons) do assert.is_true(U.wait_for(function() return not alive(m) end, 10)) end
  end)

  it("uses the image's Healthcheck (hostile fields ignored) unless the run overrides or disables it", function()
    local image = require "ctr.image"
    local bb = image.ensure_busybox()
    local cfg = { Env = { image.DEFAULT_PATH }, Cmd = { "sh" },
      Healthcheck = { Test = { "CMD-SHELL", "echo from-image" }, Interval = 200000000, Retries = 2,
                      Timeout = "bogus", StartPeriod = -5 } }
    image.store_image { layers = bb.layers, config = cfg, ref = "hc:img" }
    local c = container.run { image = "hc:img", network = "none", cmd = { "sleep", "60" }, detach = true }
    local hc = c.state.healthcheck
    assert.are.same({ "/bin/sh", "-c", "echo from-image" }, { table.unpack(hc.cmd) })
    assert.are.equal(0.2, hc.interval)
    assert.are.equal(30, hc.timeout)
    assert.are.equal(0, hc.start_period)
    assert.is_true(U.wait_for(function() return c:health().status == "healthy" end, 10))
    assert.are.equal("from-image\n", c:health().log[1].output)
    local c2 = container.run { image = "hc:img", network = "none", cmd = { "sleep", "60" }, detach = true,
      health = { retries = 7 } }
    assert.are.equal(7, c2.state.healthcheck.retries)
    assert.are.equal(0.2, c2.state.healthcheck.interval)
    local c3 = container.run { image = "hc:img", network = "none", cmd = { "true" }, health = false }
    assert.is_nil(c3.container.state.healthcheck)
    cfg.Healthcheck.Test = { "NONE" }
    image.store_image { layers = bb.layers, config = cfg, ref = "hc:none" }
    local c4 = container.create { image = "hc:none", network = "none", cmd = { "true" } }
    assert.is_nil(c4:health())
    for _, x in ipairs({ c, c2, c3.container, c4 }) do x:remove { force = true } end
  end)

  it("refuses bad health options, leaving nothing; false and --no-healthcheck mean none", function()
    for _, bad in ipairs({ "true", { cmd = 5 }, { cmd = {} }, { cmd = "true", interval = -1 },
                          { cmd = "true", retries = "x" }, { cmd = "true", intervl = 1 }, { interval = 1 } }) do
      local ok, e = pcall(run, bad)
      assert.is_false(ok)
      assert.is_true(errors.is(e, "invalid"), errors.message(e))
    end
    assert.are.equal(0, #container.list { all = true })
    local c = run(false)
    assert.is_nil(c:health())
    assert.is_nil(c:inspect().State.Health)
    local _, err, code = U.ctr(root, { "run", "-d", "--no-healthcheck", "--health-cmd", "true", "busybox", "true" })
    assert.are.equal(125, code)
    assert.matches("conflicts", err)
    c:remove { force = true }
  end)
end)
