--- ctr.container.lifecycle: starting a container and supervising it until
-- it exits: in the foreground (its output copied to ours, signals
-- forwarded) or detached (a supervisor process of its own), recording the
-- exit and honouring --rm.
local core = require "ctr.core"
local state = require "ctr.state"
local util = require "ctr.util"
local errors = require "ctr.errors"
local object = require "ctr.container.object"
local check = require "ctr.check"
local create = require "ctr.container.create"
require "ctr.container.launch" -- Container:_launch

local M = {}
local Container = object.Container

-- Under the container's lock: record the exit (see _finish). False when
-- there is nothing to record. With unsaved, state.json is left as it is
-- (the container is removed at once: the die event is the record).
local function record_exit(self, g, result, pid, unsaved)
  if self.state.status == "running" and self.state.pid ~= pid then return false end
  if not result and self.state.status ~= "running" then return false end
  self.state.oom_killed = g and g:oom_killed() or false
  self._cgroup_left = g and not pcall(g.remove, g, { force = true }) -- for _remove_locked(true)
  -- a detached supervisor restarts it when its policy says so (ctr.container.restart)
  local restarting = self._restarts and require("ctr.container.restart").wanted(self.state, result)
  self.state.status = restarting and "restarting" or "exited"
  self.state.exit_code = result and result.exit_code or 255
  self.state.signal = result and result.signaled and result.signal or nil
  self.state.timed_out = result and result.timed_out or false
  self.state.exits = self.state.runs -- which run this exit ends (ctr.container.events)
  self.state.finished_at = util.now()
  self.state.pid, self.state.starttime = nil, nil
  if not restarting then self.state.supervisor = nil end
  self.state.cgroup_entry = nil
  self:_detach_network()
  local n = self.state.network
  if n then -- ports published while it ran end with the run (none: not a module to load for it)
    n.ports = n.ports and #n.ports > 0 and require("ctr.container.service").ports_at_start(n.ports) or {}
  end
  -- the events before the state: whoever sees the exit (wait, inspect) finds them in the log
  local eventlog, st = require "ctr.eventlog", self.state
  local res = { exit_code = st.exit_code, signal = st.signal, oom_killed = st.oom_killed, timed_out = st.timed_out,
    started_at = st.started_at, finished_at = st.finished_at }
  eventlog.container(self, "die", { exitCode = st.exit_code }, { result = res })
  if st.oom_killed then eventlog.container(self, "oom", nil, { result = res }) end
  if not (unsaved and st.status == "exited") then self:_save() end
  return true
end

-- Under the container's lock, for a --rm container without poststop hooks
-- (which might look at it before it goes): the exit is recorded (its die
-- event) and the container removed in one hold of the lock. Nobody could
-- read a state.json written only to be deleted a moment later: waiters
-- take the exit from the die event (Container:_await_record). Returns
-- whether the exit was recorded, whether the container was removed, and
-- the error of a removal that failed (its exit is saved then).
local function record_and_remove(self, g, result, pid)
  if not record_exit(self, g, result, pid, true) then return false end
  if self.state.status ~= "exited" then return true, false end
  local ok, err = pcall(self._remove_locked, self, true)
  if ok then return true, true end
  errors.rethrow_interrupt(err)
  pcall(self._save, self) -- still listed (the removal puts it back): exited
  return true, false, err
end

-- After the process exited: record how, release the cgroup and network,
-- run poststop hooks, honour --rm.
-- Without a result (recorded by another process for a dead supervisor),
-- an exit already recorded is kept. A removed container records nothing.
-- All under the container's lock, the cgroup removal included: a start
-- right after (restart) makes a new cgroup of the same name, which must
-- not be removed by the late end of the previous run; and a container
-- started again meanwhile (another pid) is not ours to record.
function Container:_finish(g, result)
  local hooks = package.loaded["ctr.hooks"] -- hooks exist only once it is loaded (object.run_hooks)
  local at_once = self.state.auto_remove and (not hooks or #hooks.list("poststop") == 0)
  local ok_rec, recorded, removed, rm_err = pcall(self._locked, self, at_once and record_and_remove or record_exit,
    self, g, result, self.state.pid)
  if not ok_rec then errors.rethrow_interrupt(recorded) end
  if not ok_rec or not recorded then return end
  if removed then return self:_removed(true) end
  if rm_err then error(rm_err, 0) end
  local ok, herr = pcall(object.run_hooks, "poststop", self)
  if self.state.auto_remove then self:remove { force = true, volumes = true } end
  if not ok then error(herr, 0) end
end

local function supervise(c, p, fds, g, o)
  local st = c.state
  local tty = c:config().process.terminal
  local in_pipe = fds.stdin_pipe
  fds.stdin_pipe = nil
  local res, err = p:supervise {
    stdout = fds.stdout, stderr = fds.stderr, pty = fds.pty,
    stdin = (o.interactive and o.stdin) or nil, stdin_pipe = in_pipe and in_pipe:release(),
    echo = o.echo, log = st.log.path, log_max = st.log.max_size, log_files = st.log.max_files,
    forward_signals = o.echo, raw = o.echo and tty and o.stdin ~= nil and core.isatty(o.stdin),
    timeout = o.timeout, kill_on_interrupt = o.kill_on_interrupt,
  }
  for _, fd in pairs(fds) do fd:close() end
  c:_finish(g, res)
  if not res then errors.throw("system", "supervising the container: %s", err) end
  if res.interrupted then -- killed for our SIGINT/SIGTERM, recorded (and removed with rm): now the interrupt
    error(errors.new { kind = "interrupted", code = 128 + res.interrupted,
      msg = res.interrupted == 2 and "interrupted (SIGINT)" or "terminated (SIGTERM)" }, 0)
  end
  st = c.state -- as recorded (or not: a container removed meanwhile)
  return {
    exit_code = res.exit_code, signal = res.signaled and res.signal or nil, signaled = res.signaled,
    oom_killed = st.oom_killed or false, timed_out = res.timed_out or false,
    started_at = st.started_at, finished_at = st.finished_at or util.now(),
  }
end

local function check_startable(self)
  local s = self:status()
  if s == "running" then errors.throw("conflict", "container %s is already running", self.state.name) end
  if s == "restarting" then errors.throw("conflict", "container %s is restarting (its supervisor starts it again)", self.state.name) end
end

local function launch_locked(self, o)
  check_startable(self)
  if self.state.status == "running" then -- its process is gone and its supervisor (killed) did not record it
    self:_finish(require("ctr.cgroup").open(self.state.cgroup), nil)
  end
  self.state.manual_stop, self.state.restart_count = nil, 0 -- started by the user: docker's count starts over
  return self:_launch(o)
end

--- Start the container. opts: detach (return at once; a supervisor process
-- keeps relaying its output to the log and records its exit), interactive
-- (forward our stdin; detached, a container made with interactive keeps
-- its stdin open instead: the FIFO <dir>/stdin, which `attach` writes to),
-- stdin (fd, default 0), timeout (seconds: the
-- container is killed (SIGKILL) then, and its result says timed_out = true).
-- In the foreground the output is copied to ours, signals are forwarded (a
-- SIGINT/SIGTERM goes to the container, as docker's sig-proxy, and is not an
-- interrupt of the script), and the result is returned (see Container:result: exit_code is 128+n when
-- killed by signal n). With kill_on_interrupt, a SIGINT/SIGTERM instead kills the container (SIGKILL)
-- and, once its end is recorded, is raised as the script's interrupt (ctr.errors kind "interrupted",
-- 130/143). Detached, returns the container.
function Container:start(opts)
  check.self(self, Container, "start")
  local o = check.api("Container:start", opts)
  check_startable(self)
  if o.timeout ~= nil and not (type(o.timeout) == "number" and o.timeout > 0) then
    errors.throw("invalid", "start: timeout must be a number of seconds > 0, got %s", tostring(o.timeout))
  end
  if o.detach then return self:_start_detached(o.timeout) end
  local p, fds, g = self:_locked(launch_locked, self, { interactive = o.interactive, stdin = o.stdin or 0 })
  object.run_hooks("poststart", self)
  return supervise(self, p, fds, g, { echo = true, interactive = o.interactive, stdin = o.stdin or 0,
    timeout = o.timeout, kill_on_interrupt = o.kill_on_interrupt })
end

-- A detached supervisor's stdin is /dev/null; until it reported the start,
-- its stdout and stderr are the caller's (prestart's output is seen there),
-- then they go to the container's hooks.log (poststop's output).
local function redirect_stdio_to_null(log)
  local null = core.open("/dev/null", "rdwr")
  if not log then core.dup2(null, 0) end
  local out = log and core.open(log, "wronly,creat,append,nofollow,noctty", 384)
  if log then core.dup2(out or null, 1); core.dup2(out or null, 2) end
  null:close()
  if out then out:close() end
end

-- A detached container made with -i keeps its stdin open, as docker's: the
-- supervisor relays <dir>/stdin, a FIFO it holds open read-write (so it
-- never reads an end), to the container's stdin; `attach` writes to it.
-- Returns the FIFO's fd, or nil for a container without -i.
local function open_stdin_fifo(self)
  if not self.state.interactive then return nil end
  local path = self.dir .. "/stdin"
  core.unlink(path)
  local ok, err = core.mknod(path, "fifo", 384)
  if not ok then errors.throw("system", "cannot create %s: %s", path, err) end
  local fd, oerr = core.open(path, "rdwr,cloexec,nofollow")
  if not fd then errors.throw("system", "cannot open %s: %s", path, oerr) end
  return fd
end

-- Under the lock: launch the container again unless the user stopped or
-- removed it meanwhile (then nil).
local function relaunch_locked(self, stdin)
  if self.state.status ~= "restarting" then return nil end
  self.state.restart_count = (self.state.restart_count or 0) + 1
  return self:_launch({ interactive = stdin ~= nil })
end

-- A launch that failed on a restart ends the restarts: the container is exited.
local function give_up_locked(self, err)
  if self.state.status ~= "restarting" then return end
  self.state.status, self.state.supervisor, self.state.exit_code = "exited", nil, 125
  self.state.error = errors.message(err)
  self:_save()
end

-- A detached supervisor's loop: supervise one run (with its health
-- probes), then restart it as its policy says (ctr.container.restart).
local function supervise_restarting(self, p, fds, g, timeout, stdin)
  local restart = require "ctr.container.restart"
  local delay
  self._restarts = true
  while p do
    local t0 = core.clock("monotonic")
    local hup = require("ctr.container.health").spawn_monitor(self, fds) -- the probes: ctr.container.health
    supervise(self, p, fds, g, { echo = false, timeout = timeout, interactive = stdin ~= nil, stdin = stdin })
    if hup then hup:close() end
    delay = restart.next_delay(delay, core.clock("monotonic") - t0)
    if self.state.status ~= "restarting" or not restart.wait(self, delay) then return end
    local ok, np, nfds, ng = pcall(self._locked, self, relaunch_locked, self, stdin)
    if not ok then pcall(self._locked, self, give_up_locked, self, np) end
    p, fds, g = ok and np or nil, nfds, ng
  end
end

-- The supervisor's life (in the grandchild): launch, report "ok" (or the
-- error, when the launch failed) on w, supervise.
local function supervisor_main(self, w, timeout)
  core.setsid()
  if core.fork() ~= 0 then core._exit(0) end
  redirect_stdio_to_null()
  local reported = false
  local ok, err = pcall(function()
    local stdin = open_stdin_fifo(self)
    local p, fds, g = self:_locked(launch_locked, self, { interactive = stdin ~= nil })
    core.write(w, "ok\n") -- poststart runs in the caller, where its output is seen
    reported = true
    w:close()
    redirect_stdio_to_null(self.dir .. "/hooks.log")
    supervise_restarting(self, p, fds, g, timeout, stdin)
    if stdin then stdin:close() end
  end)
  if not ok and not reported then
    local e = errors.from(err)
    core.write(w, ("err %d %s %s\n"):format(errors.code(err), e.kind, errors.message(err)))
  end
end

-- What the supervisor reported on r (until it closed it).
local function read_report(r)
  local chunks = {}
  while true do
    local s = core.read(r, 4096)
    if not s or s == "" then break end
    chunks[#chunks + 1] = s
  end
  r:close()
  return table.concat(chunks)
end

-- Detached: fork twice so that the supervisor is nobody's zombie; it reports
-- "ok" or the error over a pipe, then supervises until the container exits.
function Container:_start_detached(timeout)
  local r, w = core.pipe()
  local pid = core.fork()
  if pid == 0 then
    r:close()
    state.after_fork() -- our copies of the parent's lock fds must not keep its locks
    core.signals_reset() -- what the script blocked or ignored is not the supervisor's
    local ok = pcall(supervisor_main, self, w, timeout)
    core._exit(ok and 0 or 1)
  end
  w:close()
  core.waitpid(pid)
  local msg = read_report(r)
  if msg:sub(1, 3) == "ok\n" then
    self:refresh()
    local hok, herr = pcall(object.run_hooks, "poststart", self)
    if not hok then error(errors.is(herr) and herr or errors.new { msg = errors.message(herr) }, 0) end
    return self
  end
  local code, kind, text = msg:match("^err (%d+) ([%w_]+) (.-)\n?$")
  if code then
    kind = errors.CODES[kind] and kind or "system"
    error(errors.new { kind = kind, code = math.tointeger(tonumber(code)), msg = text }, 0)
  end
  errors.throw("system", "the container's supervisor died before reporting (%s)", msg)
end

-- run's own options that create does not know
local RUN_ONLY = { detach = true, stdin = true, timeout = true, remove_on_exit = true, kill_on_interrupt = true }

--- create + start: the `docker run` of the API. Options as create, plus
-- detach, interactive, stdin, timeout (seconds), kill_on_interrupt (see
-- Container:start) and remove_on_exit (true: the container is removed, forced, when the script
-- ends, errs or is interrupted: see ctr.on_exit). Returns one thing:
-- detached, the container (running); in the foreground, once it exited, its
-- result (see Container:result) with container= (the Container, removed
-- already when o.rm). A failed start removes the container.
--
--   local c = container.run { image = "busybox", cmd = { "top" }, detach = true }
--   local r = container.run { image = "busybox", cmd = { "true" }, timeout = 5 }
--   os.exit(r.exit_code)
function M.run(o) return M._run(o) end

-- run, calling on_create(c) as soon as the container exists (ctr.container.scope)
function M._run(o, on_create)
  o = check.api("container.run", o)
  local copt = {}
  for k, v in pairs(o) do if not RUN_ONLY[k] then copt[k] = v end end
  local c = create.create(copt)
  if on_create then on_create(c) end
  if o.remove_on_exit then M.remove_on_exit(c) end
  local ok, res = pcall(c.start, c, { detach = o.detach, interactive = o.interactive, stdin = o.stdin,
    timeout = o.timeout, kill_on_interrupt = o.kill_on_interrupt })
  if not ok then
    pcall(c.remove, c, { force = true })
    error(res, 0)
  end
  if o.detach then return c end
  res.container = c
  return res
end

--- Remove c (forced) when the script ends, errs or is interrupted (see
-- ctr.on_exit); returns c.
function M.remove_on_exit(c)
  require("ctr.onexit").add(function()
    if core.exists(c.dir) then c:remove { force = true, volumes = true } end
  end)
  return c
end

return M
