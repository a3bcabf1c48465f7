--- ctr.container.spec: docker's options to the container's configuration:
-- the OCI config (process, mounts, resources, security), the docker-style
-- Config that commit carries into an image, and the /etc files.
local state = require "ctr.state"
local json = require "ctr.json"
local errors = require "ctr.errors"
local identity = require "ctr.container.identity"

local M = {}
local env_merge = identity.env_merge

local function resources(o)
  local cgroup = require "ctr.cgroup"
  local r = {}
  r.memory, r.memory_swap = cgroup.memory_limits(o.memory, o.memory_swap)
  if o.cpus then r.cpus = cgroup.parse_cpus(o.cpus) end
  if o.cpuset_cpus then r.cpuset_cpus = o.cpuset_cpus end
  if o.pids_limit then
    local n = math.tointeger(tonumber(o.pids_limit))
    if not n or (n <= 0 and n ~= -1) then errors.throw("invalid", "invalid --pids-limit %q: a positive integer or -1", tostring(o.pids_limit)) end
    if n > 0 then r.pids = n end
  end
  return r
end

local function validate(o)
  if type(o) ~= "table" then errors.throw("invalid", "container.create: options table expected") end
  if not o.image then errors.throw("invalid", "no image given") end
  if o.name ~= nil and not state.valid_name(o.name) then
    errors.throw("invalid", "invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", tostring(o.name))
  end
  return resources(o)
end

-- --security-opt values (docker's): seccomp=unconfined|PROFILE.json,
-- no-new-privileges[=true|false]; apparmor=unconfined and label=disable
-- are accepted (there is nothing of the kind to lift). Raises 125.
local function security_opts(list)
  local s = {}
  for _, opt in ipairs(list or {}) do
    local k, v = opt:match("^([%a-]+)[=:](.*)$")
    k = k or opt
    if k == "seccomp" and v and v ~= "" then
      s.seccomp = v
    elseif k == "no-new-privileges" and (v == nil or v == "true" or v == "false") then
      s.no_new_privileges = v ~= "false"
    elseif not ((k == "apparmor" and v == "unconfined") or (k == "label" and v == "disable")) then
      errors.throw("invalid", "invalid --security-opt %q: expected seccomp=unconfined|PROFILE.json or no-new-privileges[=true|false]", opt)
    end
  end
  return s
end

local function command_of(o, icfg)
  local ep = icfg.Entrypoint
  local cmd = icfg.Cmd
  if o.entrypoint then
    ep = o.entrypoint ~= "" and { o.entrypoint } or nil
    cmd = nil
  end
  if o.cmd and #o.cmd > 0 then cmd = o.cmd end
  local args = {}
  for _, a in ipairs(ep or {}) do args[#args + 1] = a end
  for _, a in ipairs(cmd or {}) do args[#args + 1] = a end
  if #args == 0 then errors.throw("invalid", "no command specified") end
  return args, ep, cmd
end

-- The container's own config in docker's terms (its Config), which commit
-- carries into the new image: the command as Entrypoint and Cmd, the
-- environment, working directory, user and exposed ports (the image's and
-- the published ones).
local function docker_config(o, icfg, ep, cmd, env, cwd, ports)
  local exposed = {}
  for k in pairs(icfg.ExposedPorts or {}) do exposed[k] = json.object({}) end
  for _, p in ipairs(ports) do exposed[("%d/%s"):format(p.container_port, p.proto)] = json.object({}) end
  return {
    Cmd = cmd and json.array(cmd) or nil, Entrypoint = ep and json.array(ep) or nil, Env = json.array(env),
    WorkingDir = cwd, User = o.user or icfg.User or "", ExposedPorts = next(exposed) and json.object(exposed) or nil,
  }
end

local function host_resolv()
  local f = io.open("/etc/resolv.conf", "r")
  local s = f and f:read("a") or ""
  if f then f:close() end
  -- nameservers on the host's loopback are unreachable from a network namespace
  s = s:gsub("[^\n]*nameserver%s+127%.[^\n]*\n?", ""):gsub("[^\n]*nameserver%s+::1[^\n]*\n?", "")
  return s
end

--- Write the container's /etc/hostname, /etc/hosts (o.add_host) and
-- /etc/resolv.conf (o.dns, else the host's without loopback servers) into
-- dir, a new container's directory (the files are new: state.write_new).
-- Returns {hostname=, hosts=, ["resolv.conf"]=} (their paths).
function M.etc_files(dir, hostname, o)
  local function write_file(path, text)
    state.write_new(path, text, { mode = 420, durable = not o.rm })
  end
  local hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
  for _, h in ipairs(o.add_host or {}) do
    local name, ip = h:match("^([^:]+):(.+)$")
    if not name then errors.throw("invalid", "invalid --add-host %q: use HOST:IP", h) end
    hosts = hosts .. ip .. "\t" .. name .. "\n"
  end
  local resolv
  if o.dns and #o.dns > 0 then
    resolv = {}
    for _, d in ipairs(o.dns) do resolv[#resolv + 1] = "nameserver " .. d end
    resolv = table.concat(resolv, "\n") .. "\n"
  else
    resolv = host_resolv()
  end
  local files = { hostname = dir .. "/hostname", hosts = dir .. "/hosts", ["resolv.conf"] = dir .. "/resolv.conf" }
  write_file(files.hostname, hostname .. "\n")
  write_file(files.hosts, hosts)
  write_file(files["resolv.conf"], resolv)
  return files
end

-- The container's directory is private (0700); its upper dir becomes the
-- attributes of the container's "/", so it is 0755 like any root.
local function network_mode(o)
  local n = o.network or M.default_network()
  if n == "pasta" then return n end -- rootless (ctr.rootless.check): pasta, no bridge
  if n ~= "none" and n ~= "host" and not n:match("^container:") and not (o.network_available or M.network_available()) then
    errors.throw("invalid", "network %q is not available: bridge networking is not installed", n)
  end
  return n
end

--- The network a container joins when none is given: "bridge" when
-- bridge networking is available, else "none"; for a rootless caller
-- "pasta" when pasta can be used, else "none".
function M.default_network()
  if require("ctr.rootless").active() then -- README "Running without root"
    return require("ctr.pasta").unusable() and "none" or "pasta"
  end
  return M.network_available() and "bridge" or "none"
end

--- True when bridge networking (the ctr.network module and its ctr.net C
-- module) is installed. Checked without loading them.
function M.network_available()
  return package.searchpath("ctr.network", package.path) ~= nil
    and package.searchpath("ctr.net", package.cpath) ~= nil
end

-- v1/hybrid: the container's cgroup directory on each v1 hierarchy, for
-- its /sys/fs/cgroup (nil on v2, where its cgroup namespace root is mounted).
local function cgroup_v1_dirs(path)
  local cgroup = require "ctr.cgroup"
  if cgroup.layout() == "v2" then return nil end
  local t = {}
  for _, h in ipairs(cgroup.info().hierarchies) do
    if h.version == 1 then t[#t + 1] = { mount = h.mount, dir = h.mount .. "/" .. path } end
  end
  return t
end


local DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

-- docker's --ulimit names (NAME=SOFT[:HARD]) and the RLIMIT_* they set.
local ULIMITS = {}
for _, n in ipairs({ "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
  "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack" }) do
  ULIMITS[n] = "RLIMIT_" .. n:upper()
end

-- A ulimit value: an integer from -1 (unlimited) up.
local function ulimit_value(s, spec)
  local n = s and s:match("^%-?%d+$") and #s <= 19 and math.tointeger(tonumber(s))
  if not n or n < -1 then errors.throw("invalid", "invalid --ulimit %q: limits are integers, -1 for unlimited", spec) end
  return n
end

--- The OCI process.rlimits of docker --ulimit values ("nofile=1024:2048",
-- "core=0": the soft limit, and the hard one when given, else the same).
-- Raises invalid for an unknown name, a bad number, soft above hard or a
-- name given twice.
function M.rlimits(list)
  local out, seen = {}, {}
  for _, spec in ipairs(list or {}) do
    local name, soft, hard = tostring(spec):match("^([%a]+)=([^:]*):?(.*)$")
    if not name or not ULIMITS[name] then
      errors.throw("invalid", "invalid --ulimit %q: use NAME=SOFT[:HARD] with NAME one of as, core, cpu, data, "
        .. "fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack", tostring(spec))
    end
    if seen[name] then errors.throw("invalid", "invalid --ulimit %q: %s is given twice", spec, name) end
    seen[name] = true
    soft = ulimit_value(soft, spec)
    hard = hard == "" and soft or ulimit_value(hard, spec)
    if hard ~= -1 and (soft == -1 or soft > hard) then
      errors.throw("invalid", "invalid --ulimit %q: the soft limit is above the hard limit", spec)
    end
    out[#out + 1] = { type = ULIMITS[name], soft = soft, hard = hard }
  end
  return out
end

-- The user-given environment: the env files' lines, then o.env (a list,
-- or a map: sorted by name).
local function user_env(o)
  local env = {}
  for _, f in ipairs(o.env_file or {}) do
    for _, e in ipairs(require("ctr.envfile").read(f)) do env[#env + 1] = e end
  end
  local extra = o.env or {}
  if #extra == 0 and next(extra) then extra = env_merge({}, extra) end
  for _, e in ipairs(extra) do env[#env + 1] = e end
  return env
end

-- The published ports, parsed (ctr.network); none with --network none/host.
local function ports_of(o, net)
  local ports = {}
  if o.publish and #o.publish > 0 then
    if net == "none" or net == "host" then errors.throw("invalid", "cannot publish ports with --network %s", net) end
    local parse = require("ctr.network.ports").parse_publish -- pure Lua: no bridge needed (pasta)
    for _, p in ipairs(o.publish) do ports[#ports + 1] = parse(p) end
    if net == "pasta" then require("ctr.pasta").check_ports(ports) end
  end
  return ports
end

-- Capabilities and devices, checked now: the capability set (computed
-- once, passed to ctr.oci.build) and the parsed devices.
local function check_privileges(o)
  local oci = require "ctr.oci"
  return oci.capabilities(o.cap_add, o.cap_drop, o.privileged), oci.parse_devices(o.devices)
end

-- The image's side of the plan: the image, its layers and config, and
-- what is resolved inside them (volumes, user, groups, working directory).
local function image_side(o, plan)
  local image = require "ctr.image"
  local img, ierr = image.resolve(o.image)
  if not img then errors.throw("not_found", "Unable to find image '%s' locally: %s", o.image, ierr or "no such image") end
  local lowers = image.lower_dirs(img)
  local icfg = img.config or {}
  plan.img, plan.lowers, plan.icfg = img, lowers, icfg
  plan.volumes = {}
  if o.volumes or o.mounts or o.tmpfs or o.volumes_from or icfg.Volumes then -- loaded only when needed
    plan.volumes = require("ctr.volume.mounts").parse(o, lowers, icfg) -- -v, --mount, --tmpfs, --volumes-from, image Volumes
  end
  plan.uid, plan.gid, plan.home = identity.resolve_user(o.user or icfg.User, lowers)
  plan.groups = identity.resolve_groups(o.group_add, lowers)
  plan.cwd = o.cwd and identity.clean_path(o.cwd, "working directory")
    or (icfg.WorkingDir ~= "" and icfg.WorkingDir) or "/"
end

--- Check docker's options o and resolve everything create needs before
-- it takes the lock: the image and what is read from it, the command,
-- network, environment, ports, devices and seccomp profile. Raises on bad
-- input (nothing is written). Returns the plan (a table).
function M.plan(o)
  local plan = { resources = validate(o) }
  state.ensure()
  image_side(o, plan)
  plan.args, plan.entrypoint, plan.cmd = command_of(o, plan.icfg)
  plan.net = network_mode(o)
  plan.userns = require("ctr.userns").for_create(o, plan.net) -- nil: the host's
  if require("ctr.rootless").active() then -- a user namespace of the caller's ids
    require("ctr.rootless").check(o, plan.net)
    plan.userns = require("ctr.rootless").maps()
    plan.cgroup_parent = require("ctr.rootless").cgroup_parent() -- nil: no cgroup
    plan.resources = require("ctr.rootless").limits(plan.resources, plan.cgroup_parent)
  end
  require("ctr.userns").check_volumes(plan.volumes, plan.userns)
  plan.env = user_env(o)
  plan.ports = ports_of(o, plan.net)
  plan.caps, plan.devices = check_privileges(o)
  plan.security = security_opts(o.security_opt)
  plan.rlimits = M.rlimits(o.ulimits)
  -- --privileged: unconfined
  plan.seccomp = not o.privileged and require("ctr.seccomp").profile_for(plan.security.seccomp)
  require("ctr.container.runflags").plan(o, plan)
  return plan
end

-- The process's environment (image's, HOSTNAME, HOME, TERM, the user's)
-- and the one the docker Config records (without HOSTNAME and HOME).
local function environments(o, plan, hostname)
  local icfg, env = plan.icfg, plan.env
  local base = env_merge(env_merge({ DEFAULT_PATH }, icfg.Env or {}), { "HOSTNAME=" .. hostname })
  local has_home = false
  for _, e in ipairs(env) do if e:match("^HOME=") then has_home = true end end
  for _, e in ipairs(base) do if e:match("^HOME=") then has_home = true end end
  if not has_home then base = env_merge(base, { "HOME=" .. (plan.home ~= "" and plan.home or "/") }) end
  if o.tty then base = env_merge(base, { "TERM=xterm" }) end
  local dcfg_env = env_merge({ DEFAULT_PATH }, icfg.Env or {})
  if o.tty then dcfg_env = env_merge(dcfg_env, { "TERM=xterm" }) end
  return env_merge(base, env), env_merge(dcfg_env, env)
end

--- The docker-style Config of the container (what commit carries into an
-- image) for options o and plan, with its hostname.
function M.docker_config(o, plan, hostname)
  local _, env = environments(o, plan, hostname)
  return docker_config(o, plan.icfg, plan.entrypoint, plan.cmd, env, plan.cwd, plan.ports)
end

--- The OCI config (ctr.oci.build) of container id, in directory dir, for
-- options o and plan, with its hostname and /etc files.
function M.oci_config(o, plan, id, dir, hostname, files)
  local env = environments(o, plan, hostname)
  local rootless = require("ctr.rootless").active() -- no cgroup of its own
  return require("ctr.container.runflags").apply(require("ctr.oci").build {
    args = plan.args, env = env, cwd = plan.cwd, uid = plan.uid, gid = plan.gid, groups = plan.groups,
    terminal = o.tty or false, hostname = hostname, read_only = o.read_only,
    privileged = o.privileged, caps = plan.caps,
    network = plan.net, volumes = plan.volumes, files = files, resources = plan.resources, devices = plan.devices,
    cgroup_v2 = not rootless and require("ctr.cgroup").layout() == "v2",
    cgroup_v1 = not rootless and cgroup_v1_dirs("luac-ctr/" .. id) or nil,
    rootfs = dir .. "/rootfs", lowerdir = table.concat(plan.lowers, ":"),
    upperdir = dir .. "/upper", workdir = dir .. "/work",
    seccomp = plan.seccomp, no_new_privileges = plan.security.no_new_privileges, rlimits = plan.rlimits,
    userns = plan.maps,
  }, o, plan, dir)
end

return M
