-- info: Display system-wide information
--
-- luac-ctr info [--format TEMPLATE|json]
-- docker info's server part: the containers (running, paused, stopped),
-- images, the storage driver (overlay, on the root's backing filesystem),
-- the logging driver (json-file), the cgroup driver (cgroupfs) and
-- version, the runtime, security options (seccomp, user namespaces), the
-- kernel, operating system, architecture, CPUs, memory, host name and
-- the state root. --format: a template over docker's fields (.Containers
-- .ContainersRunning .ContainersPaused .ContainersStopped .Images .Driver
-- .DriverStatus .LoggingDriver .CgroupDriver .CgroupVersion .Runtimes
-- .DefaultRuntime .SecurityOptions .KernelVersion .OperatingSystem .OSType
-- .Architecture .NCPU .MemTotal .Name .DockerRootDir .ServerVersion
-- .NetworkCount .VolumeCount), or json.
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"

local o, args = cli.parse({ ... }, {
  { "f", "format", "string", "Format output using a custom template: json, or a Go template ('{{.NCPU}}')" },
}, { usage = "info [OPTIONS]", description = "Display system-wide information.", command = "info" })
if #args > 0 then errors.raise(1, "\"info\" accepts no arguments.\nSee 'luac-ctr info --help'.") end

local function read(path) return core.read_file(path) end

-- the containers by status
local running, paused, stopped, total = 0, 0, 0, 0
for _, c in ipairs(require("ctr.container").list()) do
  total = total + 1
  local s = c.dead and "exited" or c:status()
  if s == "running" and c:paused() then paused = paused + 1
  elseif s == "running" or s == "restarting" then running = running + 1
  else stopped = stopped + 1 end
end
local images = #require("ctr.image").list()
local nets = #require("ctr.network").list()
local vols = #(require("ctr.volume").list() or {})

-- the filesystem type of the mount that holds path (the longest mount point above it)
local function fstype_of(path)
  local best, typ = "", "unknown"
  for line in (read("/proc/self/mountinfo") or ""):gmatch("[^\n]+") do
    local mp, fs = line:match("^%S+ %S+ %S+ %S+ (%S+) .- %- (%S+)")
    if mp and (path == mp or path:sub(1, #mp + 1) == mp .. "/" or mp == "/") and #mp > #best then best, typ = mp, fs end
  end
  return typ
end

-- "0-3,6" -> 5
local function cpus()
  local n = 0
  for part in (read("/sys/devices/system/cpu/online") or "0"):gmatch("[^,%s]+") do
    local a, b = part:match("^(%d+)%-(%d+)$")
    n = n + (a and (tonumber(b) - tonumber(a) + 1) or 1)
  end
  return n
end

local function os_name()
  local text = read("/etc/os-release") or read("/usr/lib/os-release") or ""
  local v = text:match('\nPRETTY_NAME="([^"\n]*)"') or text:match('^PRETTY_NAME="([^"\n]*)"')
  return v or "Linux"
end

local meminfo = read("/proc/meminfo") or ""
local mem = (tonumber(meminfo:match("MemTotal:%s+(%d+)")) or 0) * 1024
local uname = core.uname() or {}
local root = state.root()
local layout = require("ctr.cgroup").layout()
local security = json.array({ "name=seccomp,profile=builtin" })
if core.geteuid() ~= 0 then security[#security + 1] = "name=rootless" end

local info = {
  ID = "", Containers = total, ContainersRunning = running, ContainersPaused = paused, ContainersStopped = stopped,
  Images = images, NetworkCount = nets, VolumeCount = vols,
  Driver = "overlay", DriverStatus = json.array({ json.array({ "Backing Filesystem", fstype_of(root) }) }),
  LoggingDriver = "json-file", CgroupDriver = "cgroupfs", CgroupVersion = layout == "v2" and "2" or "1",
  Runtimes = { ["luac-ctr"] = { path = "luac-ctr" } }, DefaultRuntime = "luac-ctr",
  SecurityOptions = security, KernelVersion = uname.release or "", OperatingSystem = os_name(), OSType = "linux",
  Architecture = uname.machine or "", NCPU = cpus(), MemTotal = mem, Name = core.gethostname() or uname.nodename or "",
  DockerRootDir = root, ServerVersion = (require("ctr")._VERSION or ""):gsub("^luac%-ctr ", ""),
}

if o.format == "json" or o.format == "{{json .}}" then
  io.stdout:write(json.encode(info), "\n")
  os.exit(0)
elseif o.format then
  io.stdout:write(require("ctr.format").compile(o.format, { missing = "error" })(info), "\n")
  os.exit(0)
end

-- docker's units.BytesSize: binary units, 4 significant digits
local function bytes(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return ("%.4g"):format(n) .. units[i]
end

local lines = {
  "Server:",
  " Containers: " .. total, "  Running: " .. running, "  Paused: " .. paused, "  Stopped: " .. stopped,
  " Images: " .. images,
  " Server Version: " .. info.ServerVersion,
  " Storage Driver: overlay", "  Backing Filesystem: " .. info.DriverStatus[1][2],
  " Logging Driver: json-file",
  " Cgroup Driver: cgroupfs",
  " Cgroup Version: " .. info.CgroupVersion .. (layout == "hybrid" and " (hybrid)" or ""),
  " Runtimes: luac-ctr",
  " Default Runtime: luac-ctr",
  " Security Options:", "  seccomp", "   Profile: builtin",
}
for i = 2, #security do lines[#lines + 1] = "  " .. security[i]:gsub("^name=", "") end
for _, l in ipairs({
  " Kernel Version: " .. info.KernelVersion,
  " Operating System: " .. info.OperatingSystem,
  " OSType: linux",
  " Architecture: " .. info.Architecture,
  " CPUs: " .. info.NCPU,
  " Total Memory: " .. bytes(mem),
  " Name: " .. info.Name,
  " Root Dir: " .. root,
  " Networks: " .. nets,
  " Volumes: " .. vols,
}) do lines[#lines + 1] = l end
io.stdout:write(table.concat(lines, "\n"), "\n")
