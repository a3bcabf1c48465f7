--- examples/keepalive.lua: keep N replicas of a service alive.
--
--   luac-ctr examples/keepalive.lua [-n N] [--svc NAME] [--rounds R]
--                                   [--interval S] [--crash-after S]
--
-- Every --interval seconds (default 0.2) the supervisor lists the service's
-- replicas by label (svc=NAME, oldest first), removes the ones that have
-- exited (printing their exit codes) and starts new ones until N (default
-- 3) run. The replicas are busybox workers with no network; with
-- --crash-after S each exits with code 3 after S seconds, as a flaky
-- service does. After --rounds rounds (default: until interrupted) the
-- replicas are removed and the number of restarts printed. Replicas killed
-- from outside (`luac-ctr kill svc-2`) are replaced the same way.
--
-- Shows: labels, container.list{label=} in creation order, Container:labels,
-- Container:exit_code, restarting by remove + run.
local cli = require "ctr.cli"
local core = require "ctr.core"
local container = require "ctr.container"
io.stdout:setvbuf("line") -- progress shows as it happens, through a pipe too

local function start(svc, seq, crash_after)
  local work = crash_after and ("sleep " .. crash_after .. "; exit 3") or "exec sleep 3600"
  local c = container.run {
    image = "busybox", name = ("%s-%d"):format(svc, seq), network = "none", detach = true,
    labels = { svc = svc, replica = tostring(seq) }, cmd = { "sh", "-c", work },
  }
  return c
end

-- One round: drop the exited replicas, start new ones up to n. Returns the
-- number of replicas replaced.
local function round(o, state)
  local alive, replaced = 0, 0
  for _, c in ipairs(container.list { label = "svc=" .. o.svc }) do
    if c:running() then
      alive = alive + 1
    elseif c:status() ~= "created" then
      print(("%s exited (%d)"):format(c:name(), c:exit_code()))
      c:remove { force = true }
      replaced = replaced + 1
    end
  end
  for _ = alive + 1, o.n do
    state.seq = state.seq + 1
    local c = start(o.svc, state.seq, o.crash_after)
    print(("started %s (replica %s)"):format(c:name(), c:labels().replica))
  end
  io.stdout:flush()
  return replaced
end

local function remove_all(svc)
  for _, c in ipairs(container.list { label = "svc=" .. svc }) do c:remove { force = true } end
end

local o = cli.parse({ ... }, {
  { "n", "replicas", "int", "Replicas to keep alive (default 3)" },
  { nil, "svc", "string", "The service's name and label (default worker)" },
  { nil, "rounds", "int", "Stop after this many rounds" },
  { nil, "interval", "string", "Seconds between rounds (default 0.2)" },
  { nil, "crash-after", "string", "Replicas exit with code 3 after this many seconds" },
}, { usage = "examples/keepalive.lua [OPTIONS]" })
o.n, o.svc = o.replicas or 3, o.svc or "worker"
remove_all(o.svc) -- what an earlier run left
local state, restarts = { seq = 0 }, 0
local ok, err = pcall(function()
  local i = 0
  while not o.rounds or i < o.rounds do
    i = i + 1
    restarts = restarts + round(o, state)
    core.sleep(tonumber(o.interval or "0.2"))
  end
end)
remove_all(o.svc)
if not ok then error(err, 0) end
print(("done: %d replicas kept, %d restarts"):format(o.n, restarts))
