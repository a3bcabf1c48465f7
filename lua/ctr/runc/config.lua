--- ctr.runc.config: a bundle's runtime-spec config.json -> what core.spawn
-- and ctr.cgroup take. Every field is honoured or rejected by name ("never
-- silently ignored"). The core parses and checks the config itself
-- (core/oci_config.h: process, root, hostname, domainname, mounts and linux
-- but resources and cgroupsPath), as for luac-ctr run; this module checks
-- and uses only the runtime's own part: hooks, process.consoleSize,
-- linux.resources and cgroupsPath (the cgroup is made here).
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

local RESOURCES = set("memory", "cpu", "pids", "devices")
local RESOURCES_TODO = set("blockIO", "hugepageLimits", "network", "rdma", "unified")
local MEMORY = set("limit", "swap")
local MEMORY_TODO = set("reservation", "kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy",
  "checkBeforeUpdate")
local CPU = set("quota", "period", "cpus", "mems", "shares")
local CPU_TODO = set("realtimeRuntime", "realtimePeriod", "idle", "burst")

local function check_resources(r)
  check_keys(r, "linux.resources", RESOURCES, RESOURCES_TODO)
  if not r then return end
  check_keys(r.memory, "linux.resources.memory", MEMORY, MEMORY_TODO)
  check_keys(r.cpu, "linux.resources.cpu", CPU, CPU_TODO)
  local shares = r.cpu and r.cpu.shares
  if not empty(shares) and shares ~= 0 and (math.type(shares) ~= "integer" or shares < 2 or shares > 262144) then
    bad("linux.resources.cpu.shares", "must be an integer from 2 to 262144")
  end
  check_keys(r.pids, "linux.resources.pids", set("limit"))
end

--- Raise on the first field of the runtime's own part this runtime does not
-- honour: hooks, process.consoleSize, linux.resources (the core checks every
-- other field when it parses the config: core.oci_check, core.spawn).
function M.check(cfg)
  if type(cfg) ~= "table" then bad("(top)", "must be an object") end
  require("ctr.runc.hooks").check(cfg.hooks)
  if type(cfg.process) == "table" then M.check_console_size(cfg.process) end
  if type(cfg.linux) == "table" then check_resources(cfg.linux.resources) end
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
  local checked, cerr = core.oci_check(bundle .. "/config.json") -- the core's part, as it will parse it
  if not checked then errors.raise(1, "config.json: %s", cerr:match("^.-/config%.json: (.*)$") or cerr) end
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
