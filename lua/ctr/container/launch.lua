--- ctr.container.launch: the first phase of a start: the container's
-- cgroup, process, network attachment and execve, undone on any failure.
-- (ctr.container.lifecycle supervises what it launched.)
local core = require "ctr.core"
local util = require "ctr.util"
local errors = require "ctr.errors"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

--- /dev/null opened read-write (close-on-exec); raises when it cannot be.
function M.open_devnull()
  local fd, err = core.open("/dev/null", "rdwr,cloexec")
  if not fd then errors.throw("system", "open /dev/null: %s", err) end
  return fd
end
local open_devnull = M.open_devnull

--- Raise the error of a command that could not be started: exit code 127
-- when it was not found, 126 when it could not be executed (exec_failed,
-- with its errno), else 125.
function M.exec_error(msg, errno, exec_failed)
  local code = 125
  if exec_failed then code = errno == core.errno.ENOENT and 127 or 126 end
  error(errors.new { kind = "system", code = code, msg = msg, errno = errno }, 0)
end

--- How a new process joins cgroup g: it writes "0" to the v1 "tasks" files
-- itself (moving a thread that way skips the kernel's global threadgroup
-- lock and its RCU grace period, ~10 ms here), and is cloned straight into
-- the v2 cgroup with CLONE_INTO_CGROUP. Returns the tasks files and the
-- v2 directory.
function M.cgroup_entry(g)
  if not g then return {}, nil end
  return g:entry()
end

-- Reserve the container's address and record its attachment before its
-- process is spawned: after the spawn, until the child's execve, every page
-- the parent writes is a copy-on-write fault (loading ctr.network there
-- took ~12 ms, ~3.5 ms before).
function Container:_reserve_network()
  local n = self.state.network
  local mode = n and n.mode or "none"
  if mode == "none" or mode == "host" or mode == "pasta" or mode:match("^container:") then return end
  self._net_reservation = require("ctr.network").reserve {
    network = mode, container_id = self.id, name = self.state.name, ip = n.ip, hostname = n.hostname,
    hosts_file = self.dir .. "/hosts", ports = n.ports, add_hosts = n.add_hosts,
  }
end

function Container:_attach_network(pid)
  local mode = self.state.network and self.state.network.mode or "none"
  if mode == "none" or mode == "host" or mode:match("^container:") then return end
  if mode == "pasta" then -- rootless: README "Running without root"
    self.state.network.pasta = require("ctr.pasta").start(pid, self.state.network.ports, self.dir)
    return
  end
  if not self._net_reservation then self:_reserve_network() end
  local r = self._net_reservation
  self._net_reservation = nil
  self.state.network.attachment = require("ctr.network").plumb(r, pid)
end

-- Leave every network (the --network one and any `network connect`ed),
-- dropping whatever rule is still tagged for us.
function Container:_detach_network()
  self._net_reservation = nil
  local n = self.state.network
  if n and n.pasta then require("ctr.pasta").stop(n.pasta); n.pasta = nil end
  if not n or not require("ctr.container.spec").network_available() then return end
  -- the store alone (cheap: no JSON parsed unless a file names us) says whether to load the rest
  if #require("ctr.network.store").memberships(self.id) > 0 then
    pcall(require("ctr.network").detach_all, self.id)
  end
  n.attachment = nil
end

-- The published host ports are held by the supervisor for the container's
-- life (a bound socket each, closed with the relayed fds): a port a host
-- program holds is refused as docker does, and ours look busy to others.
local function hold_ports(self, fds)
  local n = self.state.network
  if n and n.mode == "pasta" then return end -- pasta binds them (ctr.pasta)
  for i, pt in ipairs(n and n.ports or {}) do
    local sock, err = core.port_hold(pt.host_ip or "0.0.0.0", pt.random and 0 or pt.host_port, pt.proto or "tcp")
    if not sock then errors.throw("system", "cannot publish port %d/%s: %s", pt.host_port, pt.proto or "tcp", err) end
    if pt.random then pt.host_port = err end -- -P: the free port bound (ctr.container.runflags)
    fds["port_hold" .. i] = sock
  end
end

-- The new process's stdio: the caller's fds never enter the container,
-- pipes do, relayed by the supervisor (their other ends go into fds);
-- with a tty, /dev/null (the pty is the process's terminal).
local function stdio_of(o, tty, devnull, fds)
  local stdio = { stdin = devnull }
  if o.interactive and not tty then
    local in_r, in_w = core.pipe()
    stdio.stdin, fds.stdin_pipe = in_r, in_w
  end
  if tty then
    stdio.stdout, stdio.stderr = devnull, devnull
  else
    local out_r, out_w = core.pipe()
    local err_r, err_w = core.pipe()
    fds.stdout, fds.stderr = out_r, err_r
    stdio.stdout, stdio.stderr = out_w, err_w
  end
  return stdio
end

-- Spawn the container's process (stopped before execve) in cgroup g.
local function spawn(self, o, cfg, g, fds)
  local stdio_join, stdio_into = M.cgroup_entry(g)
  self.state.cgroup_entry = { join = stdio_join, into = stdio_into } -- for exec
  local sc = cfg.linux and cfg.linux.seccomp
  local bpf = sc and require("ctr.seccomp").program(sc) or nil -- compiled once, cached
  local devnull = open_devnull()
  local stdio = stdio_of(o, cfg.process.terminal, devnull, fds)
  stdio.cgroup_join, stdio.cgroup_into, stdio.seccomp_bpf = stdio_join, stdio_into, bpf
  stdio.init = self.state.init -- --init (ctr.container.runflags)
  local nsfds = {} -- --ipc/--pid/--network container:NAME (ctr.container.nsshare)
  local config, jok, jcfg = self.dir .. "/config.json", true, nil -- parsed by the core: the file as written
  if self.state.join and next(self.state.join) then
    jok, jcfg = pcall(require("ctr.container.nsshare").join, self, cfg, nsfds)
    if jok then config = require("ctr.json").encode(jcfg) end -- with the namespaces opened now
  end
  local p, perr
  if jok then p, perr = core.spawn(config, stdio) end
  for _, fd in ipairs(nsfds) do fd:close() end
  if stdio.stdout ~= devnull then stdio.stdout:close(); stdio.stderr:close() end
  if stdio.stdin ~= devnull then stdio.stdin:close() end
  devnull:close()
  if not jok then error(jcfg, 0) end
  if not p then errors.throw("system", "cannot create the container process: %s", perr) end
  return p
end

-- The steps of a launch; box.p is the process once spawned (for the undo).
local function launch_steps(self, o, cfg, g, fds, box)
  hold_ports(self, fds)
  self:_reserve_network()
  -- before any process is in it; rootless: a device program needs root (the user's own access applies)
  if g and not self.state.cgroup_delegated then g:set_devices(require("ctr.oci").device_rules_of(cfg)) end
  local st = self.state -- what ctr.container.runflags and nsshare add (loaded only then)
  if g and st.cgroup_extra then require("ctr.container.runflags").apply_cgroup(g, st.cgroup_extra) end
  if st.ipc_mode == "shareable" then require("ctr.container.nsshare").mount_shm(self) end
  local p = spawn(self, o, cfg, g, fds)
  box.p = p
  self:_attach_network(p.pid)
  object.run_hooks("prestart", self)
  local started, serr, errno, exec_failed = p:start()
  if not started then M.exec_error(serr, errno, exec_failed) end
  fds.pty = p:pty()
end

local function traceback(e)
  if os.getenv("LUAC_CTR_DEBUG") == "1" and type(e) == "string" then return debug.traceback(e, 2) end
  return e
end

-- Record the start in state.json: running, its pid and ours (the supervisor).
local function record_start(self, pid)
  local st = self.state
  st.status = "running"
  st.pid = pid
  st.starttime = core.starttime(pid)
  st.started_at = util.now()
  st.finished_at, st.exit_code, st.oom_killed = nil, nil, nil
  st.signal, st.timed_out, st.runs = nil, nil, (st.runs or 0) + 1 -- runs: for ctr.container.events
  st.supervisor = { pid = core.getpid(), starttime = core.starttime(core.getpid()) }
  if st.healthcheck then st.health = require("ctr.container.health").initial(st.health) end
  self:_save()
  require("ctr.eventlog").container(self, "start")
end

-- Phase 1 of a start: cgroup, process, network, exec. Returns the process,
-- the fds the supervisor relays and the cgroup. Raises, having undone everything.
function Container:_launch(o)
  local cgroup = require "ctr.cgroup"
  local cfg = self:config()
  local g = nil -- rootless: no cgroup unless delegated (README "Running without root")
  if not require("ctr.rootless").active() or self.state.cgroup_delegated then
    g = cgroup.create(self.state.cgroup, self.state.resources or {})
  end
  local fds, box = {}, {}
  local ok, err = xpcall(launch_steps, traceback, self, o, cfg, g, fds, box)
  if not ok then
    if box.p then box.p:abort() end
    for _, fd in pairs(fds) do fd:close() end
    self:_detach_network()
    if g then pcall(g.remove, g, { force = true }) end
    error(err, 0)
  end
  record_start(self, box.p.pid)
  return box.p, fds, g
end

return M
