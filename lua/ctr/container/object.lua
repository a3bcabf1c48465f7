--- ctr.container.object: the Container class and what it says about
-- itself (status, exit code, config, name), always checked against the
-- kernel. The other ctr.container.* modules add the methods of their
-- concern to the same class; use it through ctr.container.
--
-- Fields of a container object c (read them, do not change them; they are
-- API: spec/orch_api_spec.lua fails on a field not listed here):
--
--   c.id            the full id (64 hex digits)
--   c.dir           its directory, <root>/containers/<id>
--   c.state         its state.json as last read (c:refresh() reads it again):
--   c.dead          true for a container whose state is lost (ctr.dead)
--   c.pids          ctr.dead only: the processes found in its cgroup
--
-- Fields of c.state (absent when they do not apply):
--
--   id, name        the id and the name
--   image, image_id the image as given and its id
--   command         the command line (entrypoint and cmd), a list
--   created         when it was created (Unix seconds)
--   status          "created", "running", "restarting" or "exited" as recorded
--                   (c:status() checks the kernel: a vanished process, or a
--                   restarting one whose supervisor is gone, is "exited")
--   labels          the labels, a table of strings (ctr.labels)
--   config          docker's Config: Cmd, Entrypoint, Env, WorkingDir, User,
--                   ExposedPorts, Labels (what commit carries into an image)
--   resources       the limits: memory, memory_swap, cpus, cpuset_cpus, pids
--   tty, interactive, auto_remove   as given to create (auto_remove: rm)
--   network         mode ("bridge", "none", "host" or a network's name),
--                   ip, ports (published: {host_ip=, host_port=,
--                   container_port=, proto=, runtime=, random= (-P: a free
--                   host port at each start)}), hostname, add_hosts,
--                   attachment (while running on a bridge: network, ip,
--                   prefix, gateway, mac, veth_host, ifname, ports, subnet)
--   log             path, max_size, max_files of its json-file log
--   stop_signal     the signal stop sends first ("SIGTERM" or the image's)
--   cgroup          its cgroup path ("luac-ctr/<id>")
--   pid, starttime  while running: its init's pid and start time (/proc ticks)
--   supervisor      while running: {pid=, starttime=} of its supervisor
--   cgroup_entry    while running: how exec joins its cgroup
--   started_at, finished_at   the last start and exit (Unix seconds)
--   runs            how many times it was started (for ctr.container.events)
--   exits           after an exit: the run it ended (runs then; for events)
--   exit_code       after an exit: the code (128+n when killed by signal n)
--   signal          after an exit: the number of the signal that killed it
--   oom_killed      after an exit: true when the kernel's OOM killer struck
--   timed_out       after an exit: true when killed at run's/start's timeout
--   dead_reason     ctr.dead only: why its state is lost
--   restart         docker's RestartPolicy {Name, MaximumRetryCount} (--restart)
--   restart_count   restarts since the user last started it (RestartCount)
--   manual_stop     true once the user stopped or killed it: not restarted
--   error           why a restart could not launch it (then exited, 125)
--   stop_timeout    --stop-timeout: stop's default timeout (seconds, -1: none)
--   init            --init: its PID 1 is luac-ctr's reaper (core/init.h)
--   cgroup_extra    cpu_shares, memory_reservation, oom_kill_disable
--   join            the containers whose namespaces it joins: {ipc=, pid=,
--                   network=} ids (--ipc/--pid/--network container:NAME)
--   ipc_mode        --ipc: "private", "shareable", "host", "none", "container:<id>"
--   shm_size        --shm-size in bytes (its /dev/shm)
--   modes           for inspect: pid, uts, cgroupns modes, publish_all (-P)
local core = require "ctr.core"
local state = require "ctr.state"
local json = require "ctr.json"
local errors = require "ctr.errors"
local check = require "ctr.check"

local M = {}
local Container = {}
Container.__index = Container
M.Container = Container

--- True when the process pid is alive and started at starttime (a pid
-- reused by another process is not).
function M.alive(pid, starttime)
  if not pid then return false end
  local st = core.starttime(pid)
  if not st or st ~= starttime then return false end
  local s = core.proc_state(pid)
  return s ~= nil and s ~= "Z" and s ~= "X"
end
local alive = M.alive

--- Run the hooks registered for event (ctr.hooks.run) with the arguments:
-- the number that ran; 0 without loading ctr.hooks when nothing has loaded
-- it (hooks are registered through it, so none can be), which keeps a
-- command whose user has no hooks from loading it.
function M.run_hooks(event, ...)
  local hooks = package.loaded["ctr.hooks"]
  if not hooks then return 0 end
  return hooks.run(event, ...)
end

--- A container object for the state st of container id (no I/O).
function M.new(id, st)
  return setmetatable({ id = id, dir = state.dir("containers", id), state = st }, Container)
end

local function fp_of(st) return ("%d:%d:%d"):format(st.ino, st.size, st.mtime_ns) end

--- What identifies the content of the file at path without reading it: its
-- inode, size and modification time (state.json is only ever replaced by a
-- rename, so another process's write changes it); nil when it is missing.
function M.fingerprint(path)
  local st = core.stat(path)
  return st and fp_of(st) or nil
end

-- state.json read in one open, fstat and read: the table and the
-- fingerprint of the very file read, or nil, err.
local function read_state(path)
  local text, st = core.read_file_stat(path)
  if not text then return nil, st end
  local v, jerr = json.decode(text)
  if v == nil then return nil, path .. ": " .. tostring(jerr) end
  return v, fp_of(st)
end

--- Load container id's state.json: the container, or nil, err when it has
-- no readable state. (Read once: its fingerprint is the fstat of the file
-- read, so a write landing after it is seen by the next refresh.)
function M.load(id)
  local o = M.new(id, nil)
  local st, fp = read_state(o.dir .. "/state.json")
  if not st then return nil, fp end
  o.state, o._seen = st, fp
  return o
end

--- M.load of a state.json already read, as json.read_under gives it: v
-- the decoded state or its text (decoded here) and fp its fingerprint, or
-- v false and fp the read error. keys (optional, a set): only those fields
-- of the state are decoded, for a caller that reads no other (c.state has
-- only those; json.read_under was given the same). dir (optional): the
-- container's directory, when the caller has it.
function M.from_read(id, v, fp, keys, dir)
  if not v then return nil, fp end
  local o = dir and setmetatable({ id = id, dir = dir }, Container) or M.new(id, nil)
  local st, jerr = v, nil
  if type(v) == "string" then st, jerr = json.decode(v, keys) end
  if st == nil then return nil, o.dir .. "/state.json: " .. tostring(jerr) end
  o.state, o._seen = st, fp
  return o
end

--- The current status: "created", "running" or "exited". A container whose
-- process is gone (or whose pid now belongs to another process: the start
-- time is checked) is never reported as running.
function Container:status()
  check.self(self, Container, "status")
  local st = self.state
  if st.status == "running" then
    if alive(st.pid, st.starttime) then return "running" end
    return "exited"
  end
  if st.status == "restarting" then -- between two runs, while its supervisor lives (ctr.container.restart)
    local sup = st.supervisor
    return sup and M.alive(sup.pid, sup.starttime) and "restarting" or "exited"
  end
  return st.status or "created"
end

--- True when the container's process is running.
function Container:running()
  check.self(self, Container, "running")
  return self:status() == "running"
end

--- Re-read state.json (another process, e.g. the supervisor, may have
-- changed it); not read again when it is still the file this object last
-- read or wrote.
function Container:refresh()
  check.self(self, Container, "refresh")
  local path = self.dir .. "/state.json"
  local fp = M.fingerprint(path)
  if fp and fp == self._seen then return self end
  local st, nfp = read_state(path)
  if st then self.state, self._seen = st, nfp end
  return self
end

--- The exit code recorded for an exited container (255 when the process
-- vanished without its supervisor recording one). The state is re-read when
-- ours still says running (the supervisor may have recorded the exit since);
-- a process that has just exited, with a live supervisor about to record it,
-- is waited for (up to a second), so that the code is the real one.
function Container:exit_code()
  check.self(self, Container, "exit_code")
  if self:status() ~= "exited" then return nil end
  if self.state.status == "running" then self:refresh() end
  local deadline = core.clock("monotonic") + 1
  while self.state.status == "running" and core.clock("monotonic") < deadline do
    local removed = self._exit_of_removed -- ctr.container.signal (via ctr.container's method table)
    if removed and removed(self) then break end -- a --rm one, removed at its exit: its die event
    local sup = self.state.supervisor
    if not (sup and alive(sup.pid, sup.starttime)) then
      self:refresh() -- it may have recorded the exit before it went
      break
    end
    core.sleep(0.01)
    self:refresh()
  end
  return self.state.exit_code or 255
end

--- The container's OCI config (config.json).
function Container:config()
  check.self(self, Container, "config")
  if not self._config then
    local cfg, err = state.read_json(self.dir .. "/config.json")
    if not cfg then errors.throw("system", "container %s has no readable config: %s", self.id:sub(1, 12), err) end
    self._config = cfg
  end
  return self._config
end

--- The container's name.
function Container:name()
  check.self(self, Container, "name")
  return self.state.name
end

-- "container <short id> (<name>, <status>)"; "removed" once its directory
-- is gone (c:remove(), or removed by another process).
function Container:__tostring()
  local status = (not self.dead and not core.exists(self.dir .. "/state.json")) and "removed" or self:status()
  return ("container %s (%s, %s)"):format(self.id:sub(1, 12), self.state.name or "?", status)
end

--- How the container's last run ended, in the one shape every wait, start,
-- exec and run returns: {exit_code=, signal=, oom_killed=, timed_out=,
-- started_at=, finished_at=} (signal: the number that killed it, or nil;
-- signaled = signal ~= nil, kept for older callers; the times are seconds
-- since the epoch). nil while the container is created or running.
function Container:result()
  check.self(self, Container, "result")
  if self:status() ~= "exited" then return nil end
  local code = self:exit_code()
  local st = self.state
  return {
    exit_code = code, signal = st.signal, signaled = st.signal ~= nil,
    oom_killed = st.oom_killed or false, timed_out = st.timed_out or false,
    started_at = st.started_at, finished_at = st.finished_at,
  }
end

--- A pidfd for the container's init (checked against its start time, so a
-- reused pid is never signalled), or nil when it is not running. Poll it
-- for "in" to learn of the exit (core.poll); the caller closes it.
function Container:pidfd()
  check.self(self, Container, "pidfd")
  return self:_pidfd()
end

-- A pidfd for the container's init, checked against its start time so a
-- reused pid is never signalled.
function Container:_pidfd()
  local st = self.state
  if not alive(st.pid, st.starttime) then return nil end
  local fd = core.pidfd_open(st.pid)
  if not fd then return nil end
  if core.starttime(st.pid) ~= st.starttime then fd:close(); return nil end
  return fd
end

return M
