--- ctr.container.signal: signalling a container, stopping it and waiting
-- for its exit.
local core = require "ctr.core"
local errors = require "ctr.errors"
local object = require "ctr.container.object"
local check = require "ctr.check"

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

local function wait_gone(fd, timeout_s)
  local ready = core.poll({ { fd, "in" } }, math.floor(timeout_s * 1000))
  return ready and #ready > 0
end

--- Send a signal (name like "TERM"/"SIGTERM" or number; default SIGKILL).
-- With SIGKILL it returns once the container is gone and its exit recorded
-- (as docker's kill: `kill C; inspect C` shows it exited). Raises
-- not_running (ctr.errors kind) if the container is not running, also when
-- it exited a moment before.
function Container:kill(sig)
  check.self(self, Container, "kill")
  local n = signum(sig or "KILL")
  self:_thaw_paused()
  if n == 9 or n == 15 or n == signum(self.state.stop_signal) then self:_stopped_by_user() end
  local fd = self:_pidfd()
  if not fd then errors.throw("not_running", "container %s is not running", self.state.name) end
  require("ctr.eventlog").container(self, "kill", { signal = n }) -- first: its die may be recorded at once
  local ok, err, errno = core.kill(fd, n)
  local gone = ok and n == 9 and wait_gone(fd, 10)
  fd:close()
  if gone then self:_await_record(5) end
  if not ok and errno == core.errno.ESRCH then
    errors.throw("not_running", "container %s is not running", self.state.name)
  end
  if not ok then errors.throw("system", "cannot signal container %s: %s", self.state.name, err) end
  return true
end

-- docker: a container the user stopped or killed is not restarted
-- (ctr.container.restart); one waiting to be restarted is exited now.
function Container:_stopped_by_user()
  if not (self.state.restart and self.state.restart.Name ~= "no") then return end
  local ok, err = pcall(self._locked, self, require("ctr.container.restart").mark_stopped, self)
  if not ok then errors.rethrow_interrupt(err) end
end

-- A pidfd of the supervisor st.supervisor while it lives (its start time
-- checked: never a reused pid), or nil.
local function supervisor_pidfd(st)
  local sup = st.supervisor
  if not (sup and alive(sup.pid, sup.starttime)) then return nil end
  local fd = core.pidfd_open(sup.pid)
  if fd and core.starttime(sup.pid) ~= sup.starttime then fd:close(); return nil end
  return fd
end

-- A --rm container removed at its exit (ctr.container.lifecycle) leaves
-- its exit only in its die event: when our record still says running and
-- the container is gone, the exit is taken from there (true), as docker's
-- wait gives a --rm container's exit.
function Container:_exit_of_removed()
  if self.state.status ~= "running" or not self.state.auto_remove or core.exists(self.dir .. "/state.json") then
    return false
  end
  local st = self.state
  local m = require("ctr.eventlog").last("container", "die", self.id, function(m)
    return type(m.result) == "table" and m.result.started_at == st.started_at
  end)
  if not m then return false end
  local r = m.result
  st.status, st.exit_code, st.signal = "exited", r.exit_code, r.signal
  st.oom_killed, st.timed_out, st.finished_at = r.oom_killed or false, r.timed_out or false, r.finished_at
  st.exits, st.pid, st.starttime, st.supervisor, st.cgroup_entry = st.runs, nil, nil, nil, nil
  return true
end

-- The supervisor (when alive) records the exit itself: wait for that, up
-- to timeout_s, without polling: on an inotify watch of the container's
-- directory (state.json is replaced by a rename into it) and the
-- supervisor's pidfd (it may end without writing). Record it ourselves
-- when nobody did.
function Container:_await_record(timeout_s)
  local deadline = core.clock("monotonic") + timeout_s
  -- watched before the state is looked at: a rename after that look wakes us
  local watch = core.inotify_watch(self.dir, "moved_to,delete_self,move_self")
  while true do
    self:refresh()
    if self.state.status ~= "running" or self:_exit_of_removed() then break end
    local sfd = supervisor_pidfd(self.state)
    if not sfd then break end
    local left = deadline - core.clock("monotonic")
    if left <= 0 then sfd:close(); break end
    local fds = { { sfd, "in" } }
    if watch then fds[2] = { watch, "in" } end
    -- without a watch (inotify refused), a look at the state every 20 ms
    core.poll(fds, math.max(1, math.floor((watch and left or math.min(left, 0.02)) * 1000)))
    sfd:close()
    if watch then repeat until not core.read(watch, 4096) end -- drained: the next rename wakes us again
  end
  if watch then watch:close() end
  self:refresh()
  if self.state.status == "running" and not self:_exit_of_removed() then
    -- nobody will record it: do it ourselves
    local cgroup = require "ctr.cgroup"
    self:_finish(cgroup.open(self.state.cgroup), nil)
  end
  return true
end

--- Stop: the stop signal (SIGTERM or the image's), then SIGKILL after
-- timeout seconds (default 10). Returns once the process is gone and its
-- exit is recorded. Stopping a stopped container is not an error.
-- opts: timeout, signal; a number is the timeout (c:stop(5)).
function Container:stop(opts)
  check.self(self, Container, "stop")
  if type(opts) == "number" then opts = { timeout = opts } end
  opts = check.api("Container:stop", opts)
  local timeout = tonumber(opts.timeout) or self.state.stop_timeout or 10 -- run --stop-timeout (-1: no limit)
  if timeout < 0 then timeout = 3600 * 24 * 365 end
  self:_thaw_paused()
  self:_stopped_by_user()
  local fd = self:_pidfd()
  if not fd then
    if self.state.status == "running" then self:_await_record(2) end
    return self
  end
  object.run_hooks("prestop", self)
  local eventlog = require "ctr.eventlog"
  local n = signum(opts.signal or self.state.stop_signal)
  eventlog.container(self, "kill", { signal = n }) -- first: its die may be recorded at once
  core.kill(fd, n)
  if not wait_gone(fd, timeout) then
    eventlog.container(self, "kill", { signal = 9 })
    core.kill(fd, 9)
    wait_gone(fd, 30)
  end
  fd:close()
  self:_await_record(5)
  eventlog.container(self, "stop")
  return self
end

-- seconds left until deadline (nil: no deadline, an hour)
local function left(deadline)
  if not deadline then return 3600 end
  return math.max(0, deadline - core.clock("monotonic"))
end

--- Block until the container exits (a created one: until it has been
-- started and has exited); returns its result (see Container:result).
-- opts.timeout (seconds): return nil, "timeout" when it is still running
-- then. A SIGINT/SIGTERM of the script interrupts the wait (an error).
-- With a restart policy each exit ends the wait, as docker's (waiting on
-- a container between two runs waits for the next exit).
function Container:wait(opts)
  check.self(self, Container, "wait")
  local timeout = check.api("Container:wait", opts).timeout
  if timeout ~= nil and not (type(timeout) == "number" and timeout >= 0) then
    errors.throw("invalid", "wait: timeout must be a number of seconds, got %s", tostring(timeout))
  end
  local deadline = timeout and core.clock("monotonic") + timeout
  local st = self:status()
  while (st == "created" or st == "restarting") and core.exists(self.dir .. "/state.json") do
    if deadline and left(deadline) <= 0 then return nil, "timeout" end
    core.sleep(math.min(0.05, left(deadline)))
    self:refresh()
    st = self:status()
  end
  local fd = self:_pidfd()
  if fd then
    local gone = wait_gone(fd, left(deadline))
    while not gone and not deadline do gone = wait_gone(fd, 3600) end
    fd:close()
    if not gone then return nil, "timeout" end
  end
  -- gone: let the supervisor record the exit code (or record it ourselves)
  if self.state.status == "running" then self:_await_record(5) end
  self:refresh()
  if self:status() == "restarting" then -- docker: a wait ends at each exit, restarted or not
    local rec = self.state
    return { exit_code = rec.exit_code or 0, oom_killed = rec.oom_killed or false, timed_out = false }
  end
  return self:result() or { exit_code = 0, oom_killed = false, timed_out = false }
end

-- the first of list that has exited, with its result
local function first_exited(list)
  for _, c in ipairs(list) do
    if c:refresh():status() == "exited" then
      if c.state.status == "running" then c:_await_record(5) end
      return c, c:result()
    end
  end
end

--- Wait until one of the containers in list exits: returns it and its
-- result (see Container:result), or nil, "timeout" after opts.timeout
-- seconds. A container that has already exited is returned at once (the
-- first such in list order); created ones are waited for until started and
-- exited.
function M.wait_any(list, opts)
  if type(list) ~= "table" or #list == 0 then errors.throw("invalid", "wait_any: a list of containers expected") end
  opts = check.api("container.wait_any", opts)
  local deadline = opts.timeout and core.clock("monotonic") + opts.timeout
  while true do
    local c, res = first_exited(list)
    if c then return c, res end
    local fds = {}
    for _, x in ipairs(list) do
      local fd = x:_pidfd()
      if fd then fds[#fds + 1] = { fd, "in" } end
    end
    local wait_s = #fds == #list and left(deadline) or math.min(0.05, left(deadline))
    core.poll(fds, math.floor(wait_s * 1000))
    for _, f in ipairs(fds) do f[1]:close() end
    if deadline and left(deadline) <= 0 then
      c, res = first_exited(list)
      if c then return c, res end
      return nil, "timeout"
    end
  end
end

return M
