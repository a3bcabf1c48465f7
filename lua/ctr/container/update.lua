--- ctr.container.update: docker update: Container:update, new resource
-- limits for a container: written to a running container's cgroup (v1 and
-- v2, through ctr.cgroup; cpu shares as cpu.shares or cpu.weight) and
-- recorded in its state (inspect shows them; a later start applies them).
local core = require "ctr.core"
local errors = require "ctr.errors"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

-- docker's --cpu-shares range
local SHARES_MIN, SHARES_MAX = 2, 262144

-- The resources after opts, checked (raises invalid: nothing is changed).
local function merged(cur, o)
  local cgroup = require "ctr.cgroup"
  local r = {}
  for k, v in pairs(cur or {}) do r[k] = v end
  if o.memory ~= nil or o.memory_swap ~= nil then
    local mem = o.memory ~= nil and o.memory or r.memory
    local swap = o.memory_swap
    if swap == nil and r.memory_swap and r.memory_swap ~= -1 and mem and r.memory_swap >= mem then swap = r.memory_swap end
    r.memory, r.memory_swap = cgroup.memory_limits(mem, swap)
  end
  if o.cpus ~= nil then
    local n = tonumber(o.cpus)
    r.cpus = (n == 0) and nil or cgroup.parse_cpus(tostring(o.cpus))
  end
  if o.cpuset_cpus ~= nil then
    if not tostring(o.cpuset_cpus):match("^%d[%d,%-]*$") then
      errors.throw("invalid", "invalid --cpuset-cpus %s: use a list like 0-2,4", errors.quote(tostring(o.cpuset_cpus)))
    end
    r.cpuset_cpus = o.cpuset_cpus
  end
  if o.pids_limit ~= nil then
    local n = math.tointeger(tonumber(o.pids_limit))
    if not n or (n <= 0 and n ~= -1 and n ~= 0) then
      errors.throw("invalid", "invalid --pids-limit %s: a positive integer or -1", errors.quote(tostring(o.pids_limit)))
    end
    r.pids = n > 0 and n or nil
  end
  if o.cpu_shares ~= nil then
    local n = math.tointeger(tonumber(o.cpu_shares))
    if not n or (n ~= 0 and (n < SHARES_MIN or n > SHARES_MAX)) then
      errors.throw("invalid", "invalid --cpu-shares %s: an integer from %d to %d", errors.quote(tostring(o.cpu_shares)),
        SHARES_MIN, SHARES_MAX)
    end
    r.cpu_shares = n ~= 0 and n or nil
  end
  return r
end

-- The limits of resources r as Cgroup:update takes them (unset: no limit).
local function limits_of(r)
  return { memory = r.memory or -1, memory_swap = r.memory and (r.memory_swap or 2 * r.memory) or nil,
           cpus = r.cpus, cpuset_cpus = r.cpuset_cpus, pids = r.pids or -1 }
end

-- cpu.shares (v1) or cpu.weight (v2, runc's conversion) of every hierarchy.
local function write_shares(g, shares)
  for _, d in ipairs(g:dirs()) do
    local file, value
    if core.exists(d .. "/cpu.shares") then
      file, value = d .. "/cpu.shares", tostring(shares or 1024)
    elseif core.exists(d .. "/cpu.weight") then
      file, value = d .. "/cpu.weight", tostring(shares and (1 + ((shares - 2) * 9999) // 262142) or 100)
    end
    if file then
      local ok, err = require("ctr.freezer").write_file(file, value)
      if not ok then errors.throw("system", "cannot set the cpu shares: %s: %s", file, err) end
    end
  end
end

-- Write r to the running container's cgroup.
local function apply(g, r)
  if r.memory == nil then
    g:update({ memory_swap = -1 }) -- v1: swap before memory can be unlimited
  end
  g:update(limits_of(r))
  write_shares(g, r.cpu_shares)
end

--- Change the container's resource limits (docker update): opts.memory,
-- memory_swap (bytes or "512m"; -1 unlimited swap), cpus ("1.5"; 0 no
-- limit), cpu_shares (2-262144; 0 the default), pids_limit (-1 or 0 no
-- limit), cpuset_cpus ("0-1"). Everything is checked before anything is
-- written (invalid); a running container's cgroup gets them now (a write
-- the kernel refuses puts the old limits back and raises), and they are
-- recorded in its state.
function Container:update(opts)
  opts = require("ctr.check").api("Container:update", opts)
  return self:_locked(function()
    local old = self.state.resources or {}
    local new = merged(old, opts)
    if self:status() == "running" and not require("ctr.rootless").active() then
      local g, err = require("ctr.cgroup").open(self.state.cgroup or ("luac-ctr/" .. self.id))
      if not g then errors.throw("system", "cannot update container %s: %s", self.state.name, err) end
      local ok, aerr = pcall(apply, g, new)
      if not ok then
        errors.rethrow_interrupt(aerr)
        pcall(apply, g, old)
        errors.throw("system", "cannot update container %s: %s", self.state.name, errors.message(aerr))
      end
    end
    self.state.resources = new
    self:_save()
  end)
end

return M
