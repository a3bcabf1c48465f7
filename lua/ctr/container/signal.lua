--- ctr.container.signal: signalling a container, stopping it and waiting
-- for its exit.
local core = require "ctr.core"
local errors = require "ctr.errors"
local hooks = require "ctr.hooks"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container
local alive = object.alive

--- A signal number from a name ("TERM", "SIGTERM"), a numeric string or a
-- number (nil: SIGTERM). Raises (exit code 125) for an unknown signal.
function M.signum(sig)
  if sig == nil then return 15 end
  if math.type(sig) == "integer" then return sig end
  local s = tostring(sig)
  if s:match("^%d+$") then return math.tointeger(tonumber(s)) end
  s = s:upper():gsub("^SIG", "")
  local n = core.signum(s)
  if not n then errors.throw("invalid", "invalid signal: %s", tostring(sig)) end
  return n
end
local signum = M.signum

--- Send a signal (name like "TERM"/"SIGTERM" or number; default SIGKILL).
-- Raises if the container is not running.
function Container:kill(sig)
  local n = signum(sig or "KILL")
  local fd = self:_pidfd()
  if not fd then errors.throw("not_running", "container %s is not running", self.state.name) end
  local ok, err = core.kill(fd, n)
  fd:close()
  if not ok then errors.throw("system", "cannot signal container %s: %s", self.state.name, err) end
  return true
end

local function wait_gone(fd, timeout_s)
  local ready = core.poll({ { fd, "in" } }, math.floor(timeout_s * 1000))
  return ready and #ready > 0
end

-- The supervisor (when alive) records the exit itself; give it a moment.
function Container:_await_record(timeout_s)
  local deadline = core.clock("monotonic") + timeout_s
  while core.clock("monotonic") < deadline do
    self:refresh()
    if self.state.status ~= "running" then return true end
    local sup = self.state.supervisor
    if not (sup and alive(sup.pid, sup.starttime)) then break end
    core.sleep(0.02)
  end
  self:refresh()
  if self.state.status == "running" then
    -- nobody will record it: do it ourselves
    local cgroup = require "ctr.cgroup"
    self:_finish(cgroup.open(self.state.cgroup), nil)
  end
  return true
end

--- Stop: the stop signal (SIGTERM or the image's), then SIGKILL after
-- timeout seconds (default 10). Returns once the process is gone and its
-- exit is recorded. Stopping a stopped container is not an error.
function Container:stop(opts)
  local timeout = opts and opts.timeout or 10
  local fd = self:_pidfd()
  if not fd then
    if self.state.status == "running" then self:_await_record(2) end
    return self
  end
  hooks.run("prestop", self)
  core.kill(fd, signum(opts and opts.signal or self.state.stop_signal))
  if not wait_gone(fd, timeout) then
    core.kill(fd, 9)
    wait_gone(fd, 30)
  end
  fd:close()
  self:_await_record(5)
  return self
end

--- Block until the container exits (a created one: until it has been
-- started and has exited); returns its exit code.
function Container:wait()
  while self:status() == "created" and core.exists(self.dir .. "/state.json") do
    core.sleep(0.05)
    self:refresh()
  end
  local fd = self:_pidfd()
  if fd then
    while not wait_gone(fd, 3600) do end
    fd:close()
  end
  -- gone: let the supervisor record the exit code (or record it ourselves)
  if self.state.status == "running" then self:_await_record(5) end
  self:refresh()
  return self:exit_code() or 0
end

return M
