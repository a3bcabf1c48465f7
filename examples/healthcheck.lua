--- examples/healthcheck.lua: a health-check supervisor.
--
--   luac-ctr examples/healthcheck.lua [--interval S] [--retries M] [--restarts R]
--
-- Starts a service (a busybox worker, no network) that goes bad on purpose:
-- --break-after seconds (default 1) after each start its /tmp/health file turns from "ok" to
-- "broken". Every --interval seconds the supervisor execs a probe in the
-- container (grep -qx ok /tmp/health); after M failed probes in a row it
-- restarts the container (stop + start). With
-- --restarts R it stops after the R-th restart has been followed by a
-- healthy probe (for demos and tests); without, it supervises until
-- interrupted. The service container is removed when the supervisor ends.
--
-- Shows: Container:exec{argv=, capture=true} as a probe, Container:stop and
-- Container:start{detach=true} to restart, and state.pid changing.
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"
local container = require "ctr.container"

local service = {
  name = "flaky", image = "busybox", network = "none",
  cmd = { "sh", "-c", 'echo ok > /tmp/health; (sleep "$1"; echo broken > /tmp/health) & exec sleep 3600', "sh" },
  probe = { "sh", "-c", "grep -qx ok /tmp/health || { echo \"health: $(cat /tmp/health)\" >&2; exit 1; }" },
}

--- One probe: true when it exits 0 (a container that is not running fails it).
local function probe(c, argv)
  local ok, r = pcall(c.exec, c, { argv = argv, capture = true })
  if not ok then return false, errors.message(r) end
  if r.exit_code ~= 0 then return false, ("exit %d %s"):format(r.exit_code, (r.stderr:gsub("%s+$", ""))) end
  return true
end

local function restart(c)
  c:stop { timeout = 1 }
  c:start { detach = true }
end

local function supervise(c, o)
  local failures, restarts = 0, 0
  while true do
    local ok, why = probe(c, service.probe)
    if ok then
      print(("probe ok (pid %d)"):format(c.state.pid))
      failures = 0
      if o.restarts and restarts >= o.restarts then return restarts end
    else
      failures = failures + 1
      print(("probe failed (%d/%d): %s"):format(failures, o.retries, why))
      if failures >= o.retries then
        restarts = restarts + 1
        local old = c.state.pid
        restart(c)
        print(("restarted %s (restart %d): pid %d -> %d"):format(c:name(), restarts, old, c.state.pid))
        failures = 0
      end
    end
    io.stdout:flush()
    core.sleep(o.interval)
  end
end

errors.main(function(...)
  local o = cli.parse({ ... }, {
    { nil, "interval", "string", "Seconds between probes (default 0.2)" },
    { nil, "retries", "int", "Failed probes in a row before a restart (default 3)" },
    { nil, "restarts", "int", "Stop after this many restarts (and a healthy probe)" },
    { nil, "name", "string", "The service container's name (default flaky)" },
    { nil, "break-after", "string", "Seconds the service stays healthy after a start (default 1)" },
  }, { usage = "examples/healthcheck.lua [OPTIONS]" })
  o.interval = tonumber(o.interval or "0.2")
  o.retries = o.retries or 3
  local name = o.name or service.name
  local old = container.get(name)
  if old then old:remove { force = true } end
  local cmd = { table.unpack(service.cmd) }
  cmd[#cmd + 1] = tostring(tonumber(o.break_after or "1") or 1)
  local c = container.run {
    name = name, image = service.image, cmd = cmd, network = service.network, detach = true,
  }
  local ok, res = pcall(supervise, c, o)
  pcall(c.remove, c, { force = true })
  if not ok then error(res, 0) end
  print(("done: %d restart(s)"):format(res))
end, ...)
