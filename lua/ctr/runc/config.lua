--- ctr.runc.config: a bundle's runtime-spec config.json -> what core.spawn
-- and ctr.cgroup take. Every field is honoured or rejected by name ("never
-- silently ignored"): a field this slice does not implement yet raises
-- "<field>: not supported by luac-runc yet". The process, root, hostname,
-- mounts, namespaces, devices, maskedPaths, readonlyPaths and seccomp are
-- read by core.spawn itself (bindings/l_container.c), as for luac-ctr run.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local oci = require "ctr.oci"

local M = {}

local function bad(field, fmt, ...)
  errors.raise(1, "config.json: %s: " .. fmt, field, ...)
end

local function unsupported(field)
  bad(field, "not supported by luac-runc yet")
end

local function empty(v)
  if v == nil or v == false or v == "" or v == json.null then return true end
  return type(v) == "table" and next(v) == nil
end

-- Only known keys; the ones in `todo` must be empty (not implemented yet).
local function check_keys(t, where, known, todo)
  if t == nil then return end
  if type(t) ~= "table" then bad(where, "must be an object") end
  for k, v in pairs(t) do
    local name = where == "" and tostring(k) or where .. "." .. tostring(k)
    if todo and todo[k] then
      if not empty(v) then unsupported(name) end
    elseif not known[k] then
      bad(name, "unknown field")
    end
  end
end

local function set(...)
  local s = {}
  for _, k in ipairs({ ... }) do s[k] = true end
  return s
end

local TOP = set("ociVersion", "process", "root", "hostname", "domainname", "mounts", "annotations", "linux", "hooks")
local PROCESS = set("terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges",
  "oomScoreAdj", "consoleSize")
local PROCESS_TODO = set("apparmorProfile", "selinuxLabel", "commandLine", "scheduler",
  "ioPriority", "execCPUAffinity")
local USER = set("uid", "gid", "additionalGids", "umask")
local USER_TODO = set("username")
local LINUX = set("namespaces", "resources", "cgroupsPath", "maskedPaths", "readonlyPaths", "devices", "seccomp",
  "sysctl", "uidMappings", "gidMappings")
local LINUX_TODO = set("rootfsPropagation", "mountLabel", "intelRdt",
  "personality", "timeOffsets")
local RESOURCES = set("memory", "cpu", "pids", "devices")
local RESOURCES_TODO = set("blockIO", "hugepageLimits", "network", "rdma", "unified")
local MEMORY = set("limit", "swap")
local MEMORY_TODO = set("reservation", "kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy",
  "checkBeforeUpdate")
local CPU = set("quota", "period", "cpus", "mems", "shares")
local CPU_TODO = set("realtimeRuntime", "realtimePeriod", "idle", "burst")
local NS_TYPES = set("pid", "network", "mount", "ipc", "uts", "cgroup", "user")
local MOUNT = set("destination", "type", "source", "options")
local MOUNT_TODO = set("uidMappings", "gidMappings")
local SECCOMP = set("defaultAction", "defaultErrnoRet", "architectures", "syscalls")
local SECCOMP_TODO = set("flags", "listenerPath", "listenerMetadata")

local function check_process(p)
  if type(p) ~= "table" then bad("process", "is required") end
  check_keys(p, "process", PROCESS, PROCESS_TODO)
  check_keys(p.user, "process.user", USER, USER_TODO)
  if type(p.args) ~= "table" or type(p.args[1]) ~= "string" then bad("process.args", "needs at least one string") end
  if p.cwd ~= nil and (type(p.cwd) ~= "string" or p.cwd:sub(1, 1) ~= "/") then
    bad("process.cwd", "must be an absolute path")
  end
  M.check_console_size(p)
  local umask = p.user and p.user.umask
  if umask ~= nil and umask ~= json.null and (math.type(umask) ~= "integer" or umask < 0 or umask > 511) then
    bad("process.user.umask", "must be an integer from 0 to 0777 (511)")
  end
end

-- The sysctls a container may set: those of namespaces it has of its own
-- (name -> the namespace type), as runc allows them.
local SYSCTL_NS = {
  ["kernel.msgmax"] = "ipc", ["kernel.msgmnb"] = "ipc", ["kernel.msgmni"] = "ipc", ["kernel.sem"] = "ipc",
  ["kernel.shmall"] = "ipc", ["kernel.shmmax"] = "ipc", ["kernel.shmmni"] = "ipc",
  ["kernel.shm_rmid_forced"] = "ipc", ["kernel.hostname"] = "uts", ["kernel.domainname"] = "uts",
}

local function sysctl_ns(name)
  if SYSCTL_NS[name] then return SYSCTL_NS[name] end
  if name:match("^fs%.mqueue%.") then return "ipc" end
  if name:match("^net%.") then return "network" end
  return nil
end

-- Whether the config gives the container a namespace of type t that is not
-- ours (a new one, or a path to another one).
local function own_ns(ns, t)
  for _, n in ipairs(ns or {}) do
    if n.type == t then
      if n.path == nil then return true end
      local proc = t == "network" and "net" or t
      return core.readlink(n.path) ~= core.readlink("/proc/self/ns/" .. proc)
    end
  end
  return false
end

local function check_sysctl(l)
  if l.sysctl == nil then return end
  if type(l.sysctl) ~= "table" then bad("linux.sysctl", "must be an object") end
  for k, v in pairs(l.sysctl) do
    local where = "linux.sysctl." .. tostring(k)
    if type(k) ~= "string" or not k:match("^[%w_%-]+[%w_%-%.]*[%w_%-]$") or k:find("..", 1, true) then
      bad("linux.sysctl", "bad name %s", errors.quote(tostring(k)))
    end
    if type(v) ~= "string" then bad(where, "must be a string") end
    local t = sysctl_ns(k)
    if not t then bad(where, "not a namespaced sysctl: it would change the host") end
    if not own_ns(l.namespaces, t) then bad(where, "needs a %s namespace of the container's own", t) end
  end
end

-- Whether the config makes a new namespace of type t (no path).
local function new_ns(ns, t)
  for _, n in ipairs(ns or {}) do
    if n.type == t then return n.path == nil end
  end
  return false
end

local function check_namespaces(ns)
  local have = {}
  for i, n in ipairs(ns or {}) do
    local where = ("linux.namespaces[%d]"):format(i)
    check_keys(n, where, set("type", "path"))
    if n.type == "time" then unsupported(where .. " (type time)") end
    if n.type == "user" and n.path ~= nil then unsupported(where .. " (joining a user namespace)") end
    if not NS_TYPES[n.type] then bad(where .. ".type", "unknown namespace type %s", errors.quote(tostring(n.type))) end
    if n.path ~= nil and (type(n.path) ~= "string" or n.path:sub(1, 1) ~= "/") then
      bad(where .. ".path", "must be an absolute path")
    end
    if have[n.type] then bad(where, "namespace %s given twice", n.type) end
    have[n.type] = n.path or true
  end
  if have.mount ~= true then bad("linux.namespaces", "a new mount namespace is required") end
end

local function check_mounts(mounts)
  for i, m in ipairs(mounts or {}) do
    local where = ("mounts[%d]"):format(i)
    check_keys(m, where, MOUNT, MOUNT_TODO)
    if type(m.destination) ~= "string" or m.destination:sub(1, 1) ~= "/" then
      bad(where .. ".destination", "must be an absolute path")
    end
  end
end

local function check_linux(l)
  check_keys(l, "linux", LINUX, LINUX_TODO)
  l = l or {}
  check_namespaces(l.namespaces)
  require("ctr.userns").check_oci(l, new_ns(l.namespaces, "user"), bad)
  local r = l.resources
  check_keys(r, "linux.resources", RESOURCES, RESOURCES_TODO)
  if r then
    check_keys(r.memory, "linux.resources.memory", MEMORY, MEMORY_TODO)
    check_keys(r.cpu, "linux.resources.cpu", CPU, CPU_TODO)
    local shares = r.cpu and r.cpu.shares
    if not empty(shares) and shares ~= 0 and (math.type(shares) ~= "integer" or shares < 2 or shares > 262144) then
      bad("linux.resources.cpu.shares", "must be an integer from 2 to 262144")
    end
    check_keys(r.pids, "linux.resources.pids", set("limit"))
  end
  check_keys(l.seccomp, "linux.seccomp", SECCOMP, SECCOMP_TODO)
  check_sysctl(l)
end

--- Raise on the first field this runtime does not honour.
function M.check(cfg)
  if type(cfg) ~= "table" then bad("(top)", "must be an object") end
  check_keys(cfg, "", TOP)
  require("ctr.runc.hooks").check(cfg.hooks)
  check_process(cfg.process)
  if type(cfg.root) ~= "table" or type(cfg.root.path) ~= "string" or cfg.root.path == "" then
    bad("root.path", "is required")
  end
  check_keys(cfg.root, "root", set("path", "readonly"))
  if cfg.hostname ~= nil and type(cfg.hostname) ~= "string" then bad("hostname", "must be a string") end
  if cfg.domainname ~= nil and type(cfg.domainname) ~= "string" then bad("domainname", "must be a string") end
  if not empty(cfg.domainname) and not new_ns((cfg.linux or {}).namespaces, "uts") then
    bad("domainname", "needs a new uts namespace")
  end
  check_mounts(cfg.mounts)
  check_linux(cfg.linux)
end

--- The cgroup limits (ctr.cgroup.create options) of linux.resources.
function M.limits(r)
  local lim = {}
  if not r then return lim end
  local mem = r.memory or {}
  if mem.limit and mem.limit > 0 then lim.memory = mem.limit end
  if mem.swap and mem.swap ~= 0 then lim.memory_swap = mem.swap end
  local cpu = r.cpu or {}
  if cpu.quota and cpu.quota > 0 then
    local period = cpu.period or 100000
    lim.cpus, lim.cpu_period = cpu.quota / period, period
  end
  if not empty(cpu.cpus) then lim.cpuset_cpus = cpu.cpus end
  if not empty(cpu.mems) then lim.cpuset_mems = cpu.mems end
  if r.pids and r.pids.limit then lim.pids = r.pids.limit end
  return lim
end

--- The device policy: deny all, the config's rules, then the devices every
-- container gets (as runc appends its defaults) and the config's own nodes.
function M.device_rules(l)
  local rules = { { allow = false, access = "rwm" } }
  for i, d in ipairs((l.resources or {}).devices or {}) do
    local where = ("linux.resources.devices[%d]"):format(i)
    check_keys(d, where, set("allow", "type", "major", "minor", "access"))
    if type(d.allow) ~= "boolean" then bad(where .. ".allow", "must be true or false") end
    rules[#rules + 1] = { allow = d.allow, type = d.type, major = d.major, minor = d.minor, access = d.access or "rwm" }
  end
  for i = 2, #oci.default_device_rules do rules[#rules + 1] = oci.default_device_rules[i] end
  for _, d in ipairs(l.devices or {}) do
    rules[#rules + 1] = { allow = true, type = d.type, major = d.major, minor = d.minor, access = "rwm" }
  end
  return rules
end

--- The device nodes: the config's, plus the defaults every container gets.
function M.device_nodes(l)
  local nodes, have = {}, {}
  for _, d in ipairs(l.devices or {}) do
    nodes[#nodes + 1] = d
    have[d.path] = true
  end
  for _, d in ipairs(oci.devices) do
    if not have[d.path] then nodes[#nodes + 1] = d end
  end
  return nodes
end

--- Check process p's consoleSize ({height, width}, 0..65535 each).
function M.check_console_size(p)
  local cs = p.consoleSize
  if cs == nil or cs == json.null then return end
  check_keys(cs, "process.consoleSize", set("height", "width"))
  for _, k in ipairs({ "height", "width" }) do
    local v = cs[k]
    if math.type(v) ~= "integer" or v < 0 or v > 65535 then
      bad("process.consoleSize." .. k, "must be an integer from 0 to 65535")
    end
  end
end

--- Give the pty (master fd) of process p its consoleSize, if it has one.
function M.console_size(pty, p)
  local cs = p.consoleSize
  if type(cs) ~= "table" then return end
  local ok, err = core.set_winsize(pty, cs.height or 0, cs.width or 0)
  if not ok then errors.raise(1, "process.consoleSize: %s", err) end
end

--- Drop the ambient capabilities of process p that are not both permitted
-- and inheritable: the kernel refuses to raise those, and runc skips them
-- (runc's own default config.json lists ambient capabilities with no
-- inheritable set). Returns the names dropped.
function M.ambient_fix(p)
  local caps = type(p) == "table" and p.capabilities
  if type(caps) ~= "table" or type(caps.ambient) ~= "table" then return {} end
  local function has(list, name)
    for _, c in ipairs(type(list) == "table" and list or {}) do if c == name then return true end end
    return false
  end
  local kept, dropped = {}, {}
  for _, c in ipairs(caps.ambient) do
    if has(caps.permitted, c) and has(caps.inheritable, c) then kept[#kept + 1] = c else dropped[#dropped + 1] = c end
  end
  caps.ambient = kept
  return dropped
end

--- Read and check <bundle>/config.json. Returns the config with root.path
-- made absolute and the default device nodes added: the table for core.spawn.
-- Before the check, the user's init.lua "config" hooks (ctr.hooks) get the
-- config as a table and may change it: hook(cfg, { id, bundle, runtime });
-- one raising fails create.
function M.load(bundle, id)
  local text, err = core.read_file(bundle .. "/config.json")
  if not text then errors.raise(1, "cannot read %s/config.json: %s", bundle, err) end
  local cfg, jerr = json.decode(text)
  if not cfg then errors.raise(1, "%s/config.json: %s", bundle, jerr) end
  if type(cfg) == "table" then
    local ok, herr = pcall(require("ctr.hooks").run, "config", cfg, { id = id, bundle = bundle, runtime = "luac-runc" })
    if not ok then
      errors.rethrow_interrupt(herr)
      errors.raise(1, "%s", errors.message(herr))
    end
  end
  M.check(cfg)
  if cfg.root.path:sub(1, 1) ~= "/" then cfg.root.path = bundle .. "/" .. cfg.root.path end
  local st = core.stat(cfg.root.path)
  if not st or st.type ~= "dir" then bad("root.path", "%s is not a directory", errors.quote(cfg.root.path)) end
  cfg.linux = cfg.linux or {}
  cfg.linux.devices = M.device_nodes(cfg.linux)
  return cfg
end

return M
