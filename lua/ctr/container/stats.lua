--- ctr.container.stats: a running container's resource usage, as docker
-- stats shows it: CPU, memory, network and block I/O, pids.
local core = require "ctr.core"
local object = require "ctr.container.object"
local check = require "ctr.check"

local M = {}
local Container = object.Container

-- the host's memory (docker's limit of a container without one)
local function host_memory()
  local f = io.open("/proc/meminfo", "r")
  local s = f and f:read("a") or ""
  if f then f:close() end
  return (tonumber(s:match("MemTotal:%s*(%d+)")) or 0) * 1024
end

--- Bytes received and sent by the network namespace of process pid on its
-- interfaces but lo (/proc/PID/net/dev): rx, tx.
function M.net_bytes(pid)
  local f = io.open(("/proc/%d/net/dev"):format(pid), "r")
  if not f then return 0, 0 end
  local rx, tx = 0, 0
  for l in f:lines() do
    local name, rest = l:match("^%s*([^:%s]+):(.*)$")
    if name and name ~= "lo" then
      local n = {}
      for x in rest:gmatch("%d+") do n[#n + 1] = tonumber(x) end
      rx, tx = rx + (n[1] or 0), tx + (n[9] or 0)
    end
  end
  f:close()
  return rx, tx
end

-- the figures of a container that is not running
local function zero(self)
  return { id = self.id, name = self.state.name, running = false, time = core.clock("monotonic"),
           cpu_usec = 0, cpu_percent = 0, memory = 0, memory_limit = 0, memory_percent = 0,
           net_rx = 0, net_tx = 0, block_read = 0, block_write = 0, pids = 0 }
end

--- One sample of the container's usage: { id, name, running, time
-- (monotonic seconds), cpu_usec (total CPU time used), cpu_percent,
-- memory (bytes, without the reclaimable page cache, as docker counts),
-- memory_limit (bytes: the host's memory when it has no limit),
-- memory_percent, net_rx, net_tx (bytes, its network namespace but lo; 0
-- with --network host), block_read, block_write (bytes), pids }, from its
-- cgroup (v1 or v2) and /proc/PID/net/dev. cpu_percent is the CPU time
-- used since prev (an earlier sample) over the time elapsed, in percent of
-- one CPU as docker shows it (200% is two CPUs busy); 0 without prev. A
-- container that is not running gives zeros (running = false).
function Container:stats(prev)
  check.self(self, Container, "stats")
  self:refresh()
  if not self:running() or require("ctr.rootless").active() then return zero(self) end
  local g = require("ctr.cgroup").open(self.state.cgroup)
  if not g then return zero(self) end
  local st = g:stats()
  local s = zero(self)
  s.running, s.pids, s.cpu_usec = true, st.pids or 0, st.cpu_usec or 0
  s.memory = math.max(0, (st.memory or 0) - g:memory_cache())
  s.memory_limit = (st.memory_max and st.memory_max > 0) and st.memory_max or host_memory()
  s.memory_limit = math.min(s.memory_limit, host_memory())
  s.memory_percent = s.memory_limit > 0 and s.memory * 100 / s.memory_limit or 0
  local mode = self.state.network and self.state.network.mode or "none"
  if mode ~= "host" and self.state.pid then s.net_rx, s.net_tx = M.net_bytes(self.state.pid) end
  s.block_read, s.block_write = g:io_bytes()
  if prev and prev.running and s.time > prev.time then
    s.cpu_percent = math.max(0, s.cpu_usec - prev.cpu_usec) / 1e6 / (s.time - prev.time) * 100
  end
  return s
end

return M
