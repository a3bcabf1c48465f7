--- ctr.cgroup: one cgroup per container on cgroup v1, v2 and hybrid layouts.
--
--   local cgroup = require "ctr.cgroup"
--   local g = cgroup.create("luac-ctr/" .. id, { memory = cgroup.parse_memory("512m"),
--                                                cpus = cgroup.parse_cpus("1.5"), pids = 100 })
--   g:add(pid) ... g:stats() ... g:remove({ force = true })
--
-- Paths are relative to every hierarchy's mount point ("luac-ctr/<id>"): the
-- cgroup exists once per hierarchy (each v1 controller mount, and the cgroup2
-- hierarchy). Limits go to whichever hierarchy owns their controller. Errors
-- raise ctr.errors values (invalid for bad limits, system for the kernel's
-- refusals); lookups (open) return nil, err.
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

M.DEFAULT_PARENT = "luac-ctr"
M.DEFAULT_CPU_PERIOD = 100000
M.MIN_MEMORY = 6 * 1024 * 1024 -- docker's minimum memory limit
M.KILL_TIMEOUT_MS = 5000

local cached_layout -- per process: the ctr.cgroup_layout userdata

local function layout_ud()
  if not cached_layout then
    local l = errors.checkf("cgroup layout", core.cgroup_layout())
    cached_layout = l
  end
  return cached_layout
end

--- The cgroup layout of this machine: "v1", "v2" or "hybrid" (cached per process).
function M.layout()
  return core.cgroup_info(layout_ud()).kind
end

--- The mounted hierarchies: { kind =, hierarchies = { {version=, mount=, controllers=}, ... } }.
function M.info()
  return core.cgroup_info(layout_ud())
end

local cached_hierarchies -- per process, as cached_layout: info().hierarchies, not to be changed

local function hierarchies()
  if not cached_hierarchies then cached_hierarchies = M.info().hierarchies end
  return cached_hierarchies
end

local units = { [""] = 1, b = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4, p = 1024 ^ 5 }

--- Parse a docker-style memory size: "512m", "1g", "100k", "4096" (bytes), "1.5g".
-- Suffixes b, k, m, g (t, p), case-insensitive, binary (1024) as docker's
-- --memory, optionally followed by "b" or "ib" ("512mb", "100MiB"). The one
-- size parser (util.parse_size is this one returning nil, err).
-- A number is taken as bytes. Raises on anything else, on negative and empty values.
-- @return bytes (integer)
function M.parse_memory(s)
  local function bad()
    errors.throw("invalid", string.format('invalid memory value "%s": use a number with an optional b, k, m or g suffix',
      tostring(s)))
  end
  if math.type(s) == "integer" then
    if s < 0 then bad() end
    return s
  end
  if type(s) ~= "string" then bad() end
  local num, unit, tail = s:lower():match("^%s*(%d+%.?%d*)%s*([bkmgtp]?)(i?b?)%s*$")
  if not num or (unit == "b" and tail ~= "") or (unit == "" and tail:find("i")) then bad() end
  local v = math.floor(tonumber(num) * units[unit])
  if v ~= v or v >= 2 ^ 62 then bad() end
  return math.tointeger(v)
end

--- Parse a --cpus value ("1.5") into a number of CPUs. Raises unless it is a number
-- from 0.01 up to the number of online CPUs (as docker does).
function M.parse_cpus(s)
  local n = tonumber(s)
  local online = core.cgroup_online_cpus()
  if type(s) == "string" and not s:match("^%s*%d*%.?%d+%s*$") then n = nil end
  if not n or n ~= n then
    errors.throw("invalid", string.format('invalid cpus value "%s": use a number of CPUs like 1.5', tostring(s)))
  end
  if n < 0.01 or n > online then
    errors.throw("invalid", string.format('invalid cpus value "%s": range of CPUs is from 0.01 to %d.00, as there %s only %d CPU%s available',
      tostring(s), online, online == 1 and "is" or "are", online, online == 1 and "" or "s"))
  end
  return n
end

local function memory_opt(v, name)
  if v == nil then return nil end
  if v == -1 or v == "-1" then return -1 end
  local ok, r = pcall(M.parse_memory, v)
  if not ok then
    errors.rethrow_interrupt(r)
    errors.throw("invalid", name .. ": " .. errors.message(r))
  end
  return r
end

--- Docker's memory and memory-swap rules, the one place they are written
-- (container options and cgroup.create both use them): memory and
-- memory_swap as bytes or sizes ("512m"), memory_swap -1 for unlimited swap,
-- 0 or nil for unset. Raises an "invalid" error naming the option.
-- @return memory (bytes or nil), memory_swap (bytes, -1 or nil: as given, no default)
function M.memory_limits(memory, memory_swap)
  local mem = memory_opt(memory, "memory")
  local swap = memory_opt(memory_swap, "memory_swap")
  if mem == -1 then errors.throw("invalid", "memory: -1 is not a memory limit (leave it unset for no limit)") end
  if mem == 0 then mem = nil end
  if swap == 0 then swap = nil end
  if swap and not mem then
    errors.throw("invalid", "memory_swap: you should always set the memory limit when using the memory+swap limit")
  end
  if mem and mem < M.MIN_MEMORY then
    errors.throw("invalid", string.format("memory: minimum memory limit allowed is 6MB (got %d bytes)", mem))
  end
  if swap and swap ~= -1 and swap < mem then
    errors.throw("invalid", string.format("memory_swap: the memory+swap limit (%d) must be at least the memory limit (%d)",
      swap, mem))
  end
  return mem, swap
end

local function cpu_limits(opts, lim)
  local period = opts.cpu_period or M.DEFAULT_CPU_PERIOD
  if math.type(period) ~= "integer" or period < 1000 or period > 1000000 then
    errors.throw("invalid", string.format("cpu_period: %s is not an integer from 1000 to 1000000 microseconds", tostring(period)))
  end
  if opts.cpus == nil then return end
  local cpus = M.parse_cpus(opts.cpus)
  lim.cpu_period = period
  lim.cpu_quota = math.max(1000, math.floor(cpus * period + 0.5))
end

local function cpuset_opt(v, name)
  if v == nil then return nil end
  if type(v) ~= "string" or not v:match("^%d[%d,%-]*$") then
    errors.throw("invalid", string.format('%s: invalid value "%s": use a list like "0-2,4"', name, tostring(v)))
  end
  return v
end

local function pids_limit(v)
  if v == nil then return nil end
  if math.type(v) ~= "integer" then
    errors.throw("invalid", string.format('pids: invalid value "%s": use an integer (-1 or 0 for no limit)', tostring(v)))
  end
  return v > 0 and v or -1
end

local known_opts = { memory = true, memory_swap = true, cpus = true, cpu_period = true,
                     cpuset_cpus = true, cpuset_mems = true, pids = true }

-- The limits table for core.cgroup_create from create()'s options.
local function limits(opts)
  if type(opts) ~= "table" then errors.throw("invalid", "cgroup options must be a table") end
  for k in pairs(opts) do
    if not known_opts[k] then
      errors.throw("invalid", string.format("unknown cgroup option '%s' (known: cpu_period, cpus, cpuset_cpus, " ..
        "cpuset_mems, memory, memory_swap, pids)", tostring(k)))
    end
  end
  local lim = {}
  local mem, swap = M.memory_limits(opts.memory, opts.memory_swap)
  lim.memory = mem
  lim.memory_swap = mem and (swap or 2 * mem) -- docker: unset -> as much swap as memory
  cpu_limits(opts, lim)
  lim.cpuset_cpus = cpuset_opt(opts.cpuset_cpus, "cpuset_cpus")
  lim.cpuset_mems = cpuset_opt(opts.cpuset_mems, "cpuset_mems")
  lim.pids = pids_limit(opts.pids)
  return lim
end

--- The cgroup path of container id below parent (default "luac-ctr"): "luac-ctr/<id>".
function M.path_for(id, parent)
  return (parent or M.DEFAULT_PARENT) .. "/" .. tostring(id)
end

local Cgroup = {}
Cgroup.__index = Cgroup

local function new(path)
  return setmetatable({ path = path }, Cgroup)
end

--- Create the cgroup path ("luac-ctr/<id>") on every hierarchy with limits:
-- { memory = bytes|"512m", memory_swap = bytes|"1g"|-1, cpus = 1.5, cpu_period = 100000,
--   cpuset_cpus = "0-1", cpuset_mems = "0", pids = 100 }. Raises with a clear message
-- (also when it already exists: a cgroup is never shared) and leaves nothing behind.
-- @return the cgroup object
function M.create(path, opts)
  if type(path) ~= "string" then errors.throw("invalid", "cgroup path must be a string like \"luac-ctr/<id>\"") end
  local lim = limits(opts or {})
  errors.check(core.cgroup_create(layout_ud(), path, lim))
  return new(path)
end

--- Open an existing cgroup (for rm, exec, stats).
-- @return the cgroup object, or nil, err when it exists on no hierarchy
function M.open(path)
  if type(path) ~= "string" then return nil, "cgroup path must be a string" end
  local l = layout_ud()
  local n = core.cgroup_exists(l, path)
  if n == 0 then return nil, "no cgroup " .. path end
  return new(path)
end

--- Move process pid into the cgroup on every hierarchy.
function Cgroup:add(pid)
  errors.check(core.cgroup_add(layout_ud(), self.path, pid))
  return self
end

--- Change the limits of the existing cgroup (the options of create(); those
-- not given are left as they are). Raises with a clear message.
function Cgroup:update(opts)
  errors.check(core.cgroup_update(layout_ud(), self.path, limits(opts or {})))
  return self
end

--- Enforce a device policy (the OCI config's linux.resources.devices: a list of
-- { allow = bool, type = "a"|"c"|"b", major = n, minor = n, access = "rwm" }, on top
-- of "deny everything", the last matching rule decides) before any process is in
-- the cgroup: the v1 devices controller, or a BPF device program on cgroup v2.
function Cgroup:set_devices(rules)
  if type(rules) ~= "table" then errors.throw("invalid", "device rules must be a list") end
  errors.check(core.cgroup_devices(layout_ud(), self.path, rules))
  return self
end

--- The absolute directories of the cgroup, one per hierarchy where it exists.
function Cgroup:dirs()
  return (errors.check(core.cgroup_dirs(layout_ud(), self.path)))
end

--- How a new process enters the cgroup (core.spawn's cgroup_join and
-- cgroup_into): the v1 "tasks" files it writes "0" to itself, and the v2
-- directory it is cloned straight into (CLONE_INTO_CGROUP), if any.
function Cgroup:entry()
  local join, into = {}, nil
  -- the layout says which hierarchy is v2: one look at each directory
  for _, h in ipairs(hierarchies()) do
    local d = h.mount .. "/" .. self.path
    if core.exists(d) then
      if h.version == 2 then into = d else join[#join + 1] = d .. "/tasks" end
    end
  end
  return join, into
end

--- The absolute cgroup.procs paths (a process joins by writing its pid to each).
function Cgroup:procs_files()
  local t = {}
  for i, d in ipairs(self:dirs()) do t[i] = d .. "/cgroup.procs" end
  return t
end

--- The pids of the processes in the cgroup (sorted).
function Cgroup:pids()
  local p = errors.check(core.cgroup_pids(layout_ud(), self.path))
  table.sort(p)
  return p
end

--- Usage: { memory = bytes, memory_max = bytes (-1 unlimited), pids = n, cpu_usec = n,
-- oom_kills = n }; a field is nil when its controller is not available.
function Cgroup:stats()
  return (errors.check(core.cgroup_stats(layout_ud(), self.path)))
end

--- Whether the OOM killer killed a process in this cgroup.
function Cgroup:oom_killed()
  local n, err, errno = core.cgroup_oom_kills(layout_ud(), self.path)
  if n == nil and err then errors.check(nil, err, errno) end
  return (n or 0) > 0
end

--- SIGKILL every process in the cgroup and wait until it is empty (raises after
-- timeout_ms, default 5000).
function Cgroup:kill(timeout_ms)
  errors.check(core.cgroup_kill(layout_ud(), self.path, timeout_ms or M.KILL_TIMEOUT_MS))
  return self
end

--- Remove the cgroup from every hierarchy. Idempotent (missing directories are fine).
-- With { force = true } kills its processes first; without it, a cgroup that still
-- has processes is an error.
function Cgroup:remove(opts)
  local l = layout_ud()
  -- rmdir first (missing directories are fine): an empty cgroup, the
  -- usual case, goes without reading or thawing anything
  local ok, err, errno = core.cgroup_remove(l, self.path)
  if not ok and errno == core.errno.EBUSY and opts and opts.force then
    self:kill(opts.timeout_ms)
    ok, err, errno = core.cgroup_remove(l, self.path)
  end
  if not ok then
    if errno == core.errno.EBUSY then
      local n = #(core.cgroup_pids(l, self.path) or {})
      errors.throw("conflict", "cannot remove cgroup %s: %d process%s still in it (stop them, or remove with force)",
        self.path, n, n == 1 and " is" or "es are")
    end
    errors.check(nil, err, errno)
  end
  return true
end

-- the directory of controller ctrl among dirs (v1: its hierarchy, perhaps
-- a joint one like cpu,cpuacct; v2: the unified one)
local function controller_dir(dirs, ctrl)
  for _, d in ipairs(dirs) do
    if d:match("/sys/fs/cgroup/[%w_,]*" .. ctrl .. "[%w_,]*/") or d:match("/sys/fs/cgroup/[%w_,]*" .. ctrl .. "$") then
      return d, 1
    end
  end
  for _, d in ipairs(dirs) do
    if core.exists(d .. "/cgroup.controllers") then return d, 2 end
  end
end

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Bytes read and written by the cgroup's processes on block devices
-- (v1 blkio.throttle.io_service_bytes, v2 io.stat), summed over the
-- devices: read, write (0, 0 when the controller is not there).
function Cgroup:io_bytes()
  local d, v = controller_dir(self:dirs(), "blkio")
  if v ~= 1 then d, v = controller_dir(self:dirs(), "io") end
  local r, w = 0, 0
  if v == 1 then
    local s = read(d .. "/blkio.throttle.io_service_bytes_recursive") or read(d .. "/blkio.throttle.io_service_bytes") or ""
    for op, n in s:gmatch("%d+:%d+ (%a+) (%d+)") do
      if op == "Read" then r = r + tonumber(n) elseif op == "Write" then w = w + tonumber(n) end
    end
  elseif v == 2 then
    for l in (read(d .. "/io.stat") or ""):gmatch("[^\n]+") do
      r = r + (tonumber(l:match("rbytes=(%d+)")) or 0)
      w = w + (tonumber(l:match("wbytes=(%d+)")) or 0)
    end
  end
  return r, w
end

--- The memory figures of memory.stat docker subtracts from the usage (the
-- page cache that can be reclaimed): inactive_file (v2, or v1's
-- total_inactive_file); 0 when it cannot be read.
function Cgroup:memory_cache()
  local d, v = controller_dir(self:dirs(), "memory")
  if not d then return 0 end
  local s = read(d .. "/memory.stat") or ""
  local key = v == 1 and "total_inactive_file" or "inactive_file"
  return tonumber(s:match("\n" .. key .. " (%d+)") or s:match("^" .. key .. " (%d+)")) or 0
end

function Cgroup:__tostring()
  return "ctr.cgroup(" .. self.path .. ")"
end

return M
