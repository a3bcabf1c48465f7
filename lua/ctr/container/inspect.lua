--- ctr.container.inspect: a container described as docker inspect does.
local json = require "ctr.json"
local util = require "ctr.util"
local object = require "ctr.container.object"
local check = require "ctr.check"

local M = {}
local Container = object.Container

-- docker's NetworkSettings.Ports: {["80/tcp"] = {{HostIp=, HostPort=}}}
local function docker_ports(ports)
  local t = {}
  for _, p in ipairs(ports or {}) do
    local key = ("%d/%s"):format(p.container_port, p.proto or "tcp")
    t[key] = t[key] or json.array({})
    table.insert(t[key], { HostIp = p.host_ip or "0.0.0.0", HostPort = tostring(p.host_port) })
  end
  return json.object(t)
end

-- a list (or nil) as a JSON array, nil as JSON null when null is true
local function arr(t, null)
  if t == nil and null then return json.null end
  local a = json.array({})
  for i, v in ipairs(t or {}) do a[i] = v end
  return a
end

-- docker's Networks: {NAME = {IPAddress, Gateway, MacAddress, NetworkID,
-- IPPrefixLen}} for every network the container is on
local function docker_networks(self, net)
  local t = {}
  local att = net.attachment
  if att and att.network then
    t[att.network] = { IPAddress = att.ip or "", Gateway = att.gateway or "", MacAddress = att.mac or "",
                       IPPrefixLen = att.prefix or 0, NetworkID = "" }
  end
  if net.mode ~= "none" and net.mode ~= "host" and self:running() then
    local ok, nstore = pcall(require, "ctr.network.store")
    for _, name in ipairs(ok and nstore.memberships(self.id) or {}) do
      local n = nstore.load(name)
      local a = n and n.attachments and n.attachments[self.id]
      if a then
        t[name] = { IPAddress = a.ip or "", Gateway = n.gateway or "", MacAddress = a.mac or "",
                    IPPrefixLen = a.prefix or 0, NetworkID = n.id or "" }
      end
    end
  end
  return json.object(t)
end

-- NetworkSettings: docker's fields, with the state's network record alongside
local function network_settings(self, st)
  local net = {}
  for k, v in pairs(st.network or {}) do net[k] = v end
  local att = self:running() and net.attachment or {}
  net.Ports = docker_ports(net.ports)
  net.IPAddress, net.Gateway = att.ip or "", att.gateway or ""
  net.MacAddress, net.IPPrefixLen = att.mac or "", att.prefix or 0
  net.Networks = docker_networks(self, self:running() and net or { mode = net.mode })
  return net
end

-- Config: docker's (Hostname, User, Env, Cmd, ...) with the OCI config's
-- fields (process, root, mounts, linux, ...) alongside
local function config(st, cfg)
  local d, c = st.config or {}, {}
  for k, v in pairs(cfg) do c[k] = v end
  c.Hostname = cfg.hostname or (st.network and st.network.hostname) or ""
  c.Domainname, c.User = "", d.User or ""
  c.Env = arr(d.Env or (cfg.process and cfg.process.env))
  c.Cmd, c.Entrypoint = arr(d.Cmd, true), arr(d.Entrypoint, true)
  c.WorkingDir = d.WorkingDir or (cfg.process and cfg.process.cwd) or ""
  c.Labels = json.object(st.labels or {})
  c.ExposedPorts = json.object(d.ExposedPorts or {})
  c.Volumes = d.Volumes and next(d.Volumes) and json.object(d.Volumes) or json.null
  c.StopSignal, c.StopTimeout = st.stop_signal or "SIGTERM", st.stop_timeout -- ctr.container.runflags
  c.Tty, c.OpenStdin = st.tty or false, st.interactive or false
  c.AttachStdin, c.StdinOnce = false, false
  c.Image = st.image
  c.Healthcheck = require("ctr.container.health").docker_config(st.healthcheck)
  return c
end

-- HostConfig: docker's fields, podman's UsernsMode and IDMappings, our Resources alongside
local function host_config(st, cfg, mounts)
  local r, h = st.resources or {}, st.host or {}
  local userns, idmaps = require("ctr.userns").inspect(st.userns) -- podman's: "private" and the maps, or ""
  if idmaps then idmaps = { UidMap = arr(idmaps.UidMap), GidMap = arr(idmaps.GidMap) } end
  local bindings = {}
  for k, v in pairs(docker_ports((st.network or {}).ports)) do bindings[k] = v end
  local binds = json.array({})
  for _, m in ipairs(mounts) do -- docker's: the -v binds and named volumes
    local src = m.Type == "bind" and m.Source or (m.Type == "volume" and m.Name) or nil
    if src then binds[#binds + 1] = src .. ":" .. m.Destination .. (m.RW == false and ":ro" or "") end
  end
  return {
    Memory = r.memory or 0, MemorySwap = r.memory_swap or 0,
    NanoCpus = r.cpus and math.floor(r.cpus * 1e9 + 0.5) or 0, CpuShares = r.cpu_shares or 0,
    PidsLimit = r.pids or json.null, CpusetCpus = r.cpuset_cpus or "",
    Privileged = h.privileged or false,
    ReadonlyRootfs = h.read_only or (cfg.root and cfg.root.readonly) or false,
    CapAdd = arr(h.cap_add, true), CapDrop = arr(h.cap_drop, true),
    NetworkMode = st.network and st.network.mode or "none", PortBindings = json.object(bindings),
    AutoRemove = st.auto_remove or false, Binds = #binds > 0 and binds or json.null,
    Resources = json.object(r), Sysctls = json.object(cfg.linux and cfg.linux.sysctl or {}),
    UsernsMode = userns, IDMappings = idmaps,
    LogConfig = { Type = "json-file", MaxSize = st.log and st.log.max_size, MaxFiles = st.log and st.log.max_files },
  }
end

-- the bind mounts of the OCI config that docker lists (the volumes)
local function mounts_of(cfg)
  local mounts = json.array({})
  local skip = { ["/sys"] = true, ["/etc/hostname"] = true, ["/etc/hosts"] = true, ["/etc/resolv.conf"] = true }
  for _, m in ipairs(cfg.mounts or {}) do
    if m.type == "bind" and not skip[m.destination] and not m.destination:find("^/sys/fs/cgroup/") then
      local ro = false
      for _, o in ipairs(m.options or {}) do if o == "ro" then ro = true end end
      mounts[#mounts + 1] = { Type = "bind", Source = m.source, Destination = m.destination, RW = not ro, Mode = ro and "ro" or "" }
    end
  end
  return mounts
end

local function state_of(self, st, t)
  local status = self:status()
  local paused = self:paused()
  return {
    Status = paused and "paused" or status, Running = status == "running", Paused = paused,
    Restarting = status == "restarting", OOMKilled = st.oom_killed or false, Dead = false,
    Pid = status == "running" and st.pid or 0, ExitCode = self:exit_code() or 0, Error = st.error or "",
    TimedOut = st.timed_out or false, StartedAt = t(st.started_at), FinishedAt = t(st.finished_at),
    Health = require("ctr.container.health").docker_health(st),
  }
end

local function graph_driver(self, cfg)
  local ov = cfg.root and cfg.root.overlay or {}
  return { Name = "overlay2", Data = { LowerDir = ov.lowerdir or "", UpperDir = ov.upperdir or (self.dir .. "/upper"),
                                        WorkDir = ov.workdir or (self.dir .. "/work"), MergedDir = self.dir .. "/rootfs" } }
end

--- A JSON-ready description in docker inspect's shape, our own fields
-- alongside: Id, Name ("/name"), Image (the reference), ImageId, Created,
-- Path/Args, State {Status, Running, Paused, Restarting, OOMKilled, Dead,
-- Pid, ExitCode, Error, TimedOut (killed at run's timeout), StartedAt,
-- FinishedAt, Health {Status, FailingStreak, Log} when it has a health
-- check}, Config (docker's Hostname, User, Env, Cmd, Entrypoint,
-- WorkingDir, Labels, ExposedPorts, Volumes, StopSignal, Tty, OpenStdin,
-- Healthcheck, with the OCI config's fields), HostConfig (docker's Memory,
-- MemorySwap, NanoCpus, CpuShares, PidsLimit, CpusetCpus, Privileged,
-- ReadonlyRootfs, CapAdd, CapDrop, NetworkMode, PortBindings,
-- RestartPolicy, AutoRemove, Binds; podman's UsernsMode ("private" with a
-- user namespace of its own, "" with the host's) and IDMappings {UidMap,
-- GidMap} ("CONTAINER:HOST:SIZE" strings, absent with the host's); our
-- Resources, LogConfig), Mounts (the volumes), NetworkSettings (docker's IPAddress,
-- Gateway, MacAddress, IPPrefixLen, Ports, Networks {NAME = {IPAddress,
-- Gateway, MacAddress, NetworkID}}, with the state's network record),
-- GraphDriver {Name = "overlay2", Data {LowerDir, UpperDir, WorkDir,
-- MergedDir}}, LogPath, Cgroup. Times are RFC 3339.
function Container:inspect()
  check.self(self, Container, "inspect")
  local st = self.state
  local function t(v) return v and util.rfc3339(v) or "0001-01-01T00:00:00Z" end
  if self:status() == "exited" then self:exit_code() end -- a fresh exit recorded (restarting, maybe)
  local cfg = self:config()
  local mounts = mounts_of(cfg)
  if st.mounts then mounts = json.array(st.mounts) end -- docker's records (ctr.volume.mounts)
  local args = json.array({})
  for i = 2, #(st.command or {}) do args[#args + 1] = st.command[i] end
  local doc = {
    Id = self.id, Name = "/" .. st.name, Image = st.image, ImageId = st.image_id,
    Created = t(st.created), Path = st.command and st.command[1] or "", Args = args,
    State = state_of(self, st, t), Config = config(st, cfg), HostConfig = host_config(st, cfg, mounts),
    Mounts = mounts, LogPath = st.log and st.log.path, NetworkSettings = network_settings(self, st),
    GraphDriver = graph_driver(self, cfg), Cgroup = st.cgroup, Driver = "overlay2", RestartCount = st.restart_count or 0,
  }
  require("ctr.container.runflags").host_config(st, doc.HostConfig) -- RestartPolicy, IpcMode, CpuShares, ...
  return doc
end

return M
