--- ctr.container.health: docker's HEALTHCHECK, for detached containers.
--
--   local c = container.run { image = "busybox", cmd = { "httpd", "-f" }, detach = true,
--     health = { cmd = "wget -q -O- http://127.0.0.1/", interval = 5, retries = 3 } }
--   print(c:health().status) -- "starting", then "healthy" or "unhealthy"
--
-- The check is the option `health` of container.create/run ({cmd =, interval =,
-- timeout =, retries =, start_period =}; false: none, not even the image's),
-- else the image config's Healthcheck. It is probed by the container's
-- supervisor: a small Lua child of it (the health monitor, not the C
-- supervise loop, which only waits for the container) sleeps `interval`
-- seconds, execs cmd into the container (Container:exec with its timeout),
-- records the result in the state under the container's lock, and exits
-- when the supervisor does (a pipe from it hangs up) or the container is not
-- running any more. Containers run in the foreground are not probed.
local core = require "ctr.core"
local util = require "ctr.util"
local errors = require "ctr.errors"
local state = require "ctr.state"
local json = require "ctr.json"
local object = require "ctr.container.object"
local check = require "ctr.check"

local M = {}
local Container = object.Container

--- docker's defaults (seconds) and the probes' record: the last LOG_KEEP
-- probes are kept, each output cut at OUTPUT_MAX bytes.
M.DEFAULTS = { interval = 30, timeout = 30, retries = 3, start_period = 0 }
M.LOG_KEEP = 5
M.OUTPUT_MAX = 4096
local MAX_SECONDS = 365 * 24 * 3600

-- The command of a check: a string (run by /bin/sh -c), docker's Test
-- forms {"CMD", arg...}, {"CMD-SHELL", "cmd"}, {"NONE"} (false: no check),
-- or a plain list of strings.
local function command_of(v, what)
  if type(v) == "string" then
    if v == "" then errors.throw("invalid", "%s: the health check command is empty", what) end
    return { "/bin/sh", "-c", v }
  end
  if type(v) ~= "table" or #v == 0 then
    errors.throw("invalid", "%s: health.cmd must be a string or a non-empty list of strings", what)
  end
  for _, s in ipairs(v) do
    if type(s) ~= "string" then errors.throw("invalid", "%s: health.cmd must hold strings only", what) end
  end
  if v[1] == "NONE" then return false end
  if v[1] == "CMD-SHELL" then return command_of(table.concat(v, " ", 2), what) end
  local out = {}
  for i = (v[1] == "CMD" and 2 or 1), #v do out[#out + 1] = v[i] end
  if #out == 0 then errors.throw("invalid", "%s: the health check command is empty", what) end
  return out
end

local function seconds(v, key, what, min)
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or n ~= n or n < min or n > MAX_SECONDS then
    errors.throw("invalid", "%s: health.%s must be a number of seconds >= %s, got %s", what, key, min, tostring(v))
  end
  return n
end

-- The image config's Healthcheck (durations in nanoseconds; 0: the default)
-- as the API's option, or nil. Hostile: only the known fields, type-checked.
local function from_image(icfg)
  local h = type(icfg) == "table" and icfg.Healthcheck
  if type(h) ~= "table" or type(h.Test) ~= "table" or #h.Test == 0 then return nil end
  local function ns(v) return (math.type(v) == "integer" and v > 0) and v / 1e9 or nil end
  return { cmd = h.Test, interval = ns(h.Interval), timeout = ns(h.Timeout), start_period = ns(h.StartPeriod),
           retries = (math.type(h.Retries) == "integer" and h.Retries > 0) and h.Retries or nil }
end

--- The check a container gets: the option h (see the module's doc) over the
-- image config icfg's Healthcheck, with docker's defaults; nil for none.
-- Raises `invalid` (naming what) on a bad value.
function M.plan(h, icfg, what)
  if h == false then return nil end
  if h ~= nil and type(h) ~= "table" then errors.throw("invalid", "%s: health must be a table or false", what) end
  local merged = from_image(icfg) or {}
  for k, v in pairs(h or {}) do
    if M.DEFAULTS[k] == nil and k ~= "cmd" then
      errors.throw("invalid", "%s: unknown health option %q (cmd, interval, timeout, retries, start_period)", what, tostring(k))
    end
    merged[k] = v
  end
  if merged.cmd == nil then
    if h and next(h) then errors.throw("invalid", "%s: health needs a cmd (the image has no HEALTHCHECK)", what) end
    return nil
  end
  local cmd = command_of(merged.cmd, what)
  if not cmd then return nil end
  local retries = merged.retries
  if retries ~= nil and (math.tointeger(tonumber(retries)) == nil or tonumber(retries) < 0) then
    errors.throw("invalid", "%s: health.retries must be an integer >= 0, got %s", what, tostring(retries))
  end
  retries = retries and math.tointeger(tonumber(retries)) or 0
  return {
    cmd = json.array(cmd),
    interval = seconds(merged.interval, "interval", what, 0.01) or M.DEFAULTS.interval,
    timeout = seconds(merged.timeout, "timeout", what, 0.01) or M.DEFAULTS.timeout,
    retries = retries > 0 and retries or M.DEFAULTS.retries,
    start_period = seconds(merged.start_period, "start_period", what, 0) or 0,
  }
end

--- The health record of a run starting (status "starting"); `changes`
-- (how many times the status changed, for ctr.container.events) goes on
-- from the previous record.
function M.initial(prev)
  return { status = "starting", failing_streak = 0, log = json.array({}),
           changes = type(prev) == "table" and prev.changes or 0 }
end

local function now() return core.time_ns("realtime") / 1e9 end

-- One probe: exec the command with the timeout; nil when the container is
-- not running any more.
local function probe(c, hc)
  local rec = { start = now() }
  local ok, res = pcall(c.exec, c, { cmd = hc.cmd, capture = true, timeout = hc.timeout })
  rec["end"] = now()
  if not ok then
    if errors.is(res, "not_running") or errors.is(res, "not_found") then return nil end
    if errors.is(res, "interrupted") then error(res, 0) end
    rec.exit_code, rec.output = errors.code(res), errors.message(res)
  elseif res.timed_out then
    rec.exit_code, rec.output = -1, ("Health check exceeded timeout (%gs)"):format(hc.timeout)
  else
    rec.exit_code, rec.output = res.exit_code, (res.stdout or "") .. (res.stderr or "")
  end
  rec.output = rec.output:sub(1, M.OUTPUT_MAX)
  return rec
end

-- Apply a probe's record to the health record h.
local function apply(h, rec, hc, in_start_period)
  local log = h.log or json.array({})
  log[#log + 1] = rec
  while #log > M.LOG_KEEP do table.remove(log, 1) end
  h.log = log
  local status = h.status
  if rec.exit_code == 0 then
    h.failing_streak, status = 0, "healthy"
  elseif not in_start_period then -- docker: failures in the start period do not count
    h.failing_streak = (h.failing_streak or 0) + 1
    if h.failing_streak >= hc.retries then status = "unhealthy" end
  end
  if status ~= h.status then
    h.status, h.changes, h.changed_at = status, (h.changes or 0) + 1, rec["end"]
  end
end

-- Under the container's lock: fn(health record) and save, while the run
-- pid is the one we watch. False when it is not (or the container is gone).
local function update(c, pid, fn)
  local ok, alive = pcall(c._locked, c, function()
    local st = c.state
    if st.status ~= "running" or st.pid ~= pid then return false end
    st.health = st.health or M.initial()
    local before = st.health.changes
    fn(st.health)
    c:_save()
    if st.health.changes ~= before then
      require("ctr.eventlog").container(c, "health_status: " .. tostring(st.health.status))
    end
    return true
  end)
  return ok and alive
end

-- The monitor's loop: sleep (on the supervisor's pipe r: it hangs up when
-- the supervisor ends), probe, record.
local function monitor(c, hc, r)
  local pid, t0 = c.state.pid, core.clock("monotonic")
  local me = core.getpid()
  if not update(c, pid, function(h) h.monitor = { pid = me, starttime = core.starttime(me) } end) then return end
  while true do
    local ready = core.poll({ { r, "in" } }, math.floor(hc.interval * 1000))
    if not ready or #ready > 0 then return end
    local rec = probe(c, hc)
    if not rec then return end
    local in_start = core.clock("monotonic") - t0 < hc.start_period
    if not update(c, pid, function(h) apply(h, rec, hc, in_start) end) then return end
  end
end

--- In the supervisor of a detached container that has a check, once it
-- started: fork the health monitor (twice: nobody's zombie), which closes
-- its copies of the supervisor's fds (relayed pipes, held ports). Returns
-- the pipe's end the supervisor keeps open while it lives (nil: no check).
function M.spawn_monitor(c, fds)
  local hc = c.state.healthcheck
  if not hc then return nil end
  local r, w = core.pipe()
  local pid = core.fork()
  if pid == 0 then
    w:close()
    for _, fd in pairs(fds or {}) do if type(fd) ~= "number" then fd:close() end end
    state.after_fork()
    if core.fork() ~= 0 then core._exit(0) end
    local ok = pcall(monitor, c, hc, r)
    core._exit(ok and 0 or 1)
  end
  r:close()
  if pid and pid > 0 then core.waitpid(pid) end
  return w
end

--- The container's health record (refreshed), or nil when it has no
-- health check: {status = "starting"|"healthy"|"unhealthy", failing_streak =,
-- log = {{start =, ["end"] =, exit_code =, output =}, ...} (the last 5
-- probes; times in seconds since the epoch; output cut at 4 KiB)}. A
-- container not running keeps the record of its last run.
function Container:health()
  check.self(self, Container, "health")
  self:refresh()
  local st = self.state
  if not st.healthcheck then return nil end
  local h = st.health or M.initial()
  local log = {}
  for i, p in ipairs(h.log or {}) do
    log[i] = { start = p.start, ["end"] = p["end"], exit_code = p.exit_code, output = p.output }
  end
  return { status = h.status, failing_streak = h.failing_streak or 0, log = log }
end

local function rfc3339(t)
  local s = math.floor(t)
  return util.rfc3339(s, math.floor((t - s) * 1e9))
end

--- docker inspect's Config.Healthcheck of a check hc (nil: none): {Test =
-- {"CMD", ...}, Interval, Timeout, StartPeriod (nanoseconds), Retries}.
function M.docker_config(hc)
  if not hc then return nil end
  local test = json.array({ "CMD" })
  for _, a in ipairs(hc.cmd) do test[#test + 1] = a end
  local function ns(s) return math.floor(s * 1e9 + 0.5) end
  return { Test = test, Interval = ns(hc.interval), Timeout = ns(hc.timeout),
           StartPeriod = ns(hc.start_period), Retries = hc.retries }
end

--- docker inspect's State.Health of the container (nil: no check):
-- {Status, FailingStreak, Log = {{Start, End, ExitCode, Output}}}.
function M.docker_health(st)
  if not st.healthcheck then return nil end
  local h = st.health or M.initial()
  local log = json.array({})
  for i, p in ipairs(h.log or {}) do
    log[i] = { Start = rfc3339(p.start), End = rfc3339(p["end"]), ExitCode = p.exit_code, Output = p.output }
  end
  return { Status = h.status, FailingStreak = h.failing_streak or 0, Log = log }
end

return M
