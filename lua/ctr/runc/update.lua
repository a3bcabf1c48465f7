--- luac-runc update [--resources FILE|-] [--memory N] [--memory-swap N]
--   [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems L]
--   [--pids-limit N] ID
--
-- Change the limits of a container's cgroup: --resources is a runtime-spec
-- linux.resources object (a file, or - for stdin; memory, cpu, pids fields),
-- the flags override its fields. Only what is given changes. Fields this
-- runtime cannot change (blockIO, hugepageLimits, unified, devices, ...) are
-- rejected by name.
local errors = require "ctr.errors"
local json = require "ctr.json"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"
local config = require "ctr.runc.config"

local OPTS = {
  values = { ["--resources"] = "resources", ["-r"] = "resources", ["--memory"] = "memory",
             ["--memory-swap"] = "memory_swap", ["--cpu-quota"] = "cpu_quota", ["--cpu-period"] = "cpu_period",
             ["--cpuset-cpus"] = "cpuset_cpus", ["--cpuset-mems"] = "cpuset_mems", ["--pids-limit"] = "pids_limit" },
}
local KNOWN = { memory = { limit = true, swap = true }, cpu = { quota = true, period = true, cpus = true, mems = true },
                pids = { limit = true } }

local function int(s, what)
  local n = math.tointeger(tonumber(s))
  if not n then errors.raise(1, "update: %s %s: not an integer", what, errors.quote(tostring(s))) end
  return n
end

local function read_resources(path)
  local text
  if path == "-" then text = io.stdin:read("a") else text = require("ctr.core").read_file(path) end
  if not text then errors.raise(1, "update: cannot read --resources %s", path) end
  local r, err = json.decode(text)
  if type(r) ~= "table" then errors.raise(1, "update: --resources: %s", tostring(err or "not an object")) end
  for k, v in pairs(r) do
    if not KNOWN[k] then errors.raise(1, "update: linux.resources.%s: cannot be updated by luac-runc", k) end
    if type(v) ~= "table" then errors.raise(1, "update: linux.resources.%s: must be an object", k) end
    for f in pairs(v) do
      if not KNOWN[k][f] then errors.raise(1, "update: linux.resources.%s.%s: cannot be updated by luac-runc", k, f) end
    end
  end
  return r
end

local function resources(o)
  local r = o.resources and read_resources(o.resources) or {}
  r.memory, r.cpu, r.pids = r.memory or {}, r.cpu or {}, r.pids or {}
  if o.memory then r.memory.limit = int(o.memory, "--memory") end
  if o.memory_swap then r.memory.swap = int(o.memory_swap, "--memory-swap") end
  if o.cpu_quota then r.cpu.quota = int(o.cpu_quota, "--cpu-quota") end
  if o.cpu_period then r.cpu.period = int(o.cpu_period, "--cpu-period") end
  if o.cpuset_cpus then r.cpu.cpus = o.cpuset_cpus end
  if o.cpuset_mems then r.cpu.mems = o.cpuset_mems end
  if o.pids_limit then r.pids.limit = int(o.pids_limit, "--pids-limit") end
  return r
end

return function(ctx, args)
  local o, pos = runc.parse(args, OPTS, "update")
  local st = store.load(ctx, runc.id_arg(pos, "update"))
  if store.status(ctx, st) == "stopped" then errors.raise(1, "container %s is stopped", st.id) end
  local lim = config.limits(resources(o))
  if next(lim) == nil then return 0 end
  local g, err = require("ctr.cgroup").open(st.cgroup)
  if not g then errors.raise(1, "update %s: %s", st.id, err) end
  local ok, uerr = pcall(g.update, g, lim)
  if not ok then errors.rethrow_interrupt(uerr) end
  if not ok then errors.raise(1, "update %s: %s", st.id, errors.message(uerr)) end
  return 0
end
