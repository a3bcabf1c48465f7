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

-- The state's network record with docker's Ports added, and the OCI config
-- with docker's Labels added (copies).
local function with_docker_fields(st, cfg)
  local net, config = {}, {}
  for k, v in pairs(st.network or {}) do net[k] = v end
  net.Ports = docker_ports(net.ports)
  for k, v in pairs(cfg) do config[k] = v end
  config.Labels = json.object(st.labels or {})
  config.StopSignal, config.StopTimeout = st.stop_signal, st.stop_timeout -- ctr.container.runflags
  config.Healthcheck = require("ctr.container.health").docker_config(st.healthcheck)
  return net, config
end

--- A JSON-ready description (docker inspect's main fields): Id, Name,
-- Image, Created, Path/Args, State {Status, Running, Pid, ExitCode,
-- OOMKilled, TimedOut (killed at run's timeout), StartedAt, FinishedAt,
-- Health {Status, FailingStreak, Log} when it has a health check},
-- Config (the OCI config, plus docker's Labels and Healthcheck), HostConfig
-- {Resources (limits), NetworkMode, AutoRemove, LogConfig}, Mounts (the
-- volumes), NetworkSettings (the state's network record, plus docker's
-- Ports: {["80/tcp"] = {{HostIp=, HostPort=}}}, those published at run time
-- included), LogPath, Cgroup. Times are RFC 3339.
function Container:inspect()
  check.self(self, Container, "inspect")
  local st = self.state
  local function t(v) return v and util.rfc3339(v) or "0001-01-01T00:00:00Z" end
  if self:status() == "exited" then self:exit_code() end -- a fresh exit recorded (restarting, maybe)
  local status = self:status()
  local netset, cfg = with_docker_fields(st, self:config())
  local mounts = json.array({})
  local skip = { ["/sys"] = true, ["/etc/hostname"] = true, ["/etc/hosts"] = true, ["/etc/resolv.conf"] = true }
  for _, m in ipairs(cfg.mounts or {}) do
    if m.type == "bind" and not skip[m.destination] and not m.destination:find("^/sys/fs/cgroup/") then
      local ro = false
      for _, o in ipairs(m.options or {}) do if o == "ro" then ro = true end end
      mounts[#mounts + 1] = { Type = "bind", Source = m.source, Destination = m.destination, RW = not ro, Mode = ro and "ro" or "" }
    end
  end
  if st.mounts then mounts = json.array(st.mounts) end -- docker's records (ctr.volume.mounts)
  local args = json.array({})
  for i = 2, #(st.command or {}) do args[#args + 1] = st.command[i] end
  local doc = {
    Id = self.id, Name = st.name, Image = st.image, ImageId = st.image_id,
    Created = t(st.created), Path = st.command and st.command[1], Args = args,
    State = {
      Status = self:paused() and "paused" or status, Running = status == "running", Paused = self:paused(), Pid = status == "running" and st.pid or 0,
      ExitCode = self:exit_code() or 0, OOMKilled = st.oom_killed or false, TimedOut = st.timed_out or false,
      StartedAt = t(st.started_at), FinishedAt = t(st.finished_at), Restarting = status == "restarting",
      Health = require("ctr.container.health").docker_health(st),
    },
    Config = cfg,
    HostConfig = {
      Resources = json.object(st.resources or {}), AutoRemove = st.auto_remove or false,
      NetworkMode = st.network and st.network.mode or "none",
      UsernsMode = require("ctr.userns").inspect(st.userns),
      IDMappings = select(2, require("ctr.userns").inspect(st.userns)),
      LogConfig = { Type = "json-file", MaxSize = st.log and st.log.max_size, MaxFiles = st.log and st.log.max_files },
      Sysctls = json.object(cfg.linux and cfg.linux.sysctl or {}),
    },
    RestartCount = st.restart_count or 0,
    Mounts = mounts, LogPath = st.log and st.log.path, NetworkSettings = netset, Cgroup = st.cgroup,
  }
  require("ctr.container.runflags").host_config(st, doc.HostConfig) -- RestartPolicy, IpcMode, ...
  return doc
end

return M
