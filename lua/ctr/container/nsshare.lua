--- ctr.container.nsshare: docker's namespace modes (--ipc, --pid, --uts,
-- --network container:NAME). "host" leaves the container in the host's
-- namespace of that kind (only when asked: a default container has all of
-- its own); "container:NAME" joins the namespace of another container,
-- which must be running: at each start its namespace is opened from its
-- process, checked through a pidfd to still be that process (a pid that
-- has been reused is never joined), and handed to the core as an open fd.
-- A pid namespace holding a container with CAP_SYS_PTRACE is never joined
-- (that container could trace the newcomer).
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

-- the OCI namespace type of each docker flag, and /proc/<pid>/ns/<name>
local KINDS = { ipc = { oci = "ipc", proc = "ipc" }, pid = { oci = "pid", proc = "pid" },
  uts = { oci = "uts", proc = "uts" }, network = { oci = "network", proc = "net" } }
local MODES = {
  ipc = { private = true, shareable = true, host = true, none = true, container = true },
  pid = { host = true, container = true },
  uts = { host = true },
  network = { container = true },
}

-- The running container ref names (the donor of a namespace); raises.
local function donor(ref, flag)
  local c, err = require("ctr.container.store").get(ref)
  if not c then errors.throw("not_found", "--%s container:%s: %s", flag, ref, err or "no such container") end
  if c:status() ~= "running" then
    errors.throw("conflict", "--%s container:%s: cannot join the namespace of a container that is not running", flag, ref)
  end
  return c
end

-- Whether container c may ptrace: CAP_SYS_PTRACE in any of its process's
-- capability sets (--privileged has them all).
local function can_ptrace(c)
  local ok, cfg = pcall(c.config, c)
  local caps = ok and type(cfg) == "table" and type(cfg.process) == "table" and cfg.process.capabilities
  if type(caps) ~= "table" then return true end -- unknown: assume the worst
  for _, set in pairs(caps) do
    for _, name in ipairs(type(set) == "table" and set or {}) do
      if name == "CAP_SYS_PTRACE" then return true end
    end
  end
  return false
end

-- Joining the pid namespace of container c (for flag's ref): refused when
-- a running container in that namespace (c, or one that joined it) has
-- CAP_SYS_PTRACE: it could trace the newcomer's processes and read their
-- memory, environment and open files. Raises invalid (exit 125).
local function check_pid_donor(c, ref)
  local store = require "ctr.container.store"
  local ns = c.state.pid and core.ns_id(c.state.pid, "pid")
  for _, o in ipairs(ns and store.list() or { c }) do
    local st = type(o.state) == "table" and o.state or {}
    local running = st.pid and o.status and select(2, pcall(o.status, o)) == "running"
    local same = o.id == c.id or (running and core.ns_id(st.pid, "pid") == ns)
    if same and can_ptrace(o) then
      errors.throw("invalid", "--pid container:%s: container %s in that pid namespace has CAP_SYS_PTRACE and could trace "
        .. "this container's processes; refusing to join it", ref, st.name or o.id:sub(1, 12))
    end
  end
end

--- Check o's namespace modes (ipc, pid, uts, and network when it is
-- "container:NAME") and record them in plan: plan.host_ns {kind = true}
-- (the host's), plan.join {kind = container id}, plan.ipc_mode. Raises
-- invalid for an unknown mode, a donor that is not running, or options
-- that conflict with a joined network (publishing, --hostname, --ip, --dns,
-- --add-host, as docker).
function M.plan(o, plan)
  plan.host_ns, plan.join = {}, {}
  local net = (o.network or ""):match("^container:") and o.network or nil
  for kind in pairs(KINDS) do
    local v = o[kind]
    if kind == "network" then v = net end
    if v ~= nil and v ~= "" then
      local mode, ref = tostring(v):match("^(%a+):?(.*)$")
      if not mode or not MODES[kind][mode] or (mode == "container") ~= (ref ~= "") then
        errors.throw("invalid", "invalid --%s %s", kind, errors.quote(tostring(v)))
      end
      if mode == "host" then plan.host_ns[kind] = true end
      if mode == "container" then
        local c = donor(ref, kind)
        if kind == "ipc" and c.state.ipc_mode ~= "shareable" then
          errors.throw("invalid", "--ipc container:%s: cannot join its non-shareable IPC namespace (hint: run it with --ipc shareable)", ref)
        end
        if kind == "pid" then check_pid_donor(c, ref) end
        plan.join[kind] = c.id
      end
    end
  end
  plan.ipc_mode = plan.join.ipc and "container:" .. plan.join.ipc or o.ipc or "private"
  if plan.userns and (next(plan.host_ns) or next(plan.join)) then -- its namespaces would not be its user namespace's
    errors.throw("invalid", "host namespaces and container:NAME modes need --userns=host")
  end
  if plan.host_ns.uts and o.hostname then errors.throw("invalid", "Conflicting options: --hostname and the UTS mode") end
  if net then
    if #(o.publish or {}) > 0 or o.publish_all then
      errors.throw("invalid", "conflicting options: port publishing and the container type network mode")
    end
    if o.hostname or o.ip or o.dns or o.add_host then
      errors.throw("invalid", "conflicting options: --hostname, --ip, --dns and --add-host cannot be used with --network container:NAME")
    end
  end
end

--- Apply the plan's modes to cfg (the OCI config): the host's namespaces
-- and the joined ones are not made (those are joined at start: M.join);
-- --ipc host binds the host's /dev/shm, --ipc none has no /dev/shm; a
-- joined network brings the other container's /etc/hosts, resolv.conf and
-- hostname; --ipc shareable has its /dev/shm on the host (<dir>/shm, see
-- M.mount_shm), which a container joining its IPC namespace binds too, as
-- docker does. Returns cfg.
function M.apply(cfg, plan, dir)
  local ns = {}
  for _, n in ipairs(cfg.linux.namespaces) do
    local skip = false
    for kind, k in pairs(KINDS) do
      if n.type == k.oci and (plan.host_ns[kind] or plan.join[kind]) then skip = true end
    end
    if not skip then ns[#ns + 1] = n end
  end
  cfg.linux.namespaces = ns
  local mounts = {}
  local store = require "ctr.container.store"
  for _, m in ipairs(cfg.mounts) do
    local shm = plan.ipc_mode == "host" and "/dev/shm" or (plan.join.ipc and store.dir(plan.join.ipc, "shm"))
      or (plan.ipc_mode == "shareable" and dir .. "/shm")
    if m.destination == "/dev/shm" and shm then
      m = { destination = "/dev/shm", type = "bind", source = shm, options = { "rbind", "rprivate", "nosuid", "noexec", "nodev" } }
    end
    local f = plan.join.network and m.destination:match("^/etc/(.+)$")
    if f == "hosts" or f == "resolv.conf" or f == "hostname" then m.source = store.dir(plan.join.network, f) end
    if not (m.destination == "/dev/shm" and plan.ipc_mode == "none") then mounts[#mounts + 1] = m end
  end
  cfg.mounts = mounts
  if plan.host_ns.uts then cfg.hostname = nil end -- the host's (the core refuses one without a uts namespace)
  if plan.join.network then
    local other = store.load(plan.join.network)
    cfg.hostname = other and other.state.network and other.state.network.hostname or cfg.hostname
  end
  return cfg
end

-- An fd of the kind namespace of container id's process, checked to be
-- that process's (its pidfd still open and not readable: alive, so its pid
-- was not reused between the two opens). Raises not_running.
local function ns_fd(id, kind, self)
  local c = require("ctr.container.store").load(id)
  local pfd = c and c:_pidfd()
  if not pfd then
    errors.throw("not_running", "cannot join the %s namespace of container %s: it is not running", kind, c and c.state.name or id)
  end
  if kind == "pid" then check_pid_donor(c, c.state.name or id) end
  local fd, err = core.open_ns(c.state.pid, KINDS[kind].proc)
  local ready = core.poll({ { pfd, "in" } }, 0)
  pfd:close()
  if not fd or (ready and #ready > 0) then
    if fd then fd:close() end
    errors.throw("not_running", "cannot join the %s namespace of container %s (for %s): %s", kind, c.state.name,
      self.state.name, err or "it exited")
  end
  return fd
end

--- Before a start of container self with --ipc shareable: a fresh tmpfs
-- at <dir>/shm on the host (its /dev/shm, size state.shm_size or 64m;
-- the previous run's is detached first). Left mounted when it exits (a
-- container that joined it may still use it); rm unmounts it.
function M.mount_shm(self)
  if self.state.ipc_mode ~= "shareable" then return end
  local path = self.dir .. "/shm"
  core.umount2(path, "detach") -- the last run's, if any (EINVAL: none)
  if not core.exists(path) then
    local ok, err = core.mkdir(path, 448)
    if not ok then errors.throw("system", "cannot create %s: %s", path, err) end
  end
  local size = ("size=%dk"):format(((self.state.shm_size or 64 * 1024 * 1024) + 1023) // 1024)
  local ok, err = core.mount("shm", path, "tmpfs", "nosuid,nodev,noexec", "mode=1777," .. size)
  if not ok then errors.throw("system", "cannot mount the shareable /dev/shm at %s: %s", path, err) end
end

--- For a start of container self with config cfg: a copy of cfg whose
-- linux.namespaces join the namespaces of its donors (state.join), each
-- as an fd opened now (M.ns_fd: never a reused pid), added to fds (the
-- caller closes them once the process is spawned). cfg itself when
-- nothing is joined.
function M.join(self, cfg, fds)
  local join = self.state.join
  if not join or not next(join) then return cfg end
  local copy, linux, ns = {}, {}, {}
  for k, v in pairs(cfg) do copy[k] = v end
  for k, v in pairs(cfg.linux) do linux[k] = v end
  for _, n in ipairs(cfg.linux.namespaces) do ns[#ns + 1] = n end
  for _, kind in ipairs({ "ipc", "network", "pid", "uts" }) do
    if join[kind] then
      local fd = ns_fd(join[kind], kind, self)
      fds[#fds + 1] = fd
      ns[#ns + 1] = { type = KINDS[kind].oci, path = "/proc/self/fd/" .. fd:fileno() }
    end
  end
  copy.linux, linux.namespaces = linux, ns
  return copy
end

return M
