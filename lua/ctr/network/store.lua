--- ctr.network.store: the networks' state. Each network is one JSON file,
-- <state root>/networks/<name>.json, holding its record:
--
-- | field | meaning |
-- |---|---|
-- | name, id | its name and 64-hex id |
-- | driver | "bridge" |
-- | subnet, gateway | "a.b.c.d/len" and the bridge's address |
-- | bridge | the Linux bridge's name (lctr0, lctr-<id>) |
-- | created | RFC 3339 UTC time |
-- | allocated | {ip = container id}: the addresses given out |
-- | last | the address given out last (allocation goes round from it) |
-- | attachments | {container id = {ip=, prefix=, veth_host=, ifname=, mac=, ports=, name=, hostname=, aliases=, hosts_file=, extra_hosts=, default_route=, pid=}} |
--
-- Every change happens under the "networks" lock (state.lock: a flock of
-- <root>/locks/networks.lock, re-entrant in a process): M.locked(fn).
-- Errors: "system" for a file or lock that fails.
local core = require "ctr.core"
local errors = require "ctr.errors"
local state = require "ctr.state"
local util = require "ctr.util"

local M = {}

M.DEFAULT = "bridge"           -- the default network's name
M.DEFAULT_BRIDGE = "lctr0"     -- and its bridge (for the default state root; another root's
                               -- "bridge" network gets its own lctr-<id>, so roots never share one)
M.DEFAULT_SUBNET = "172.17.0.0/16"
M.BRIDGE_PREFIX = "lctr"       -- every luac-ctr bridge's name starts so (isolation rule: lctr+)

--- The networks' directory (created, mode 0700, when missing).
function M.dir()
  local d = state.dir("networks")
  local ok, err = util.mkdir_p(d, 448) -- 0700
  if not ok then errors.throw("system", "cannot create %s: %s", d, tostring(err)) end
  return d
end

--- The state file of network name.
function M.file(name) return M.dir() .. "/" .. name .. ".json" end

--- Is name a valid network name (letters, digits, _ . -; up to 64)?
function M.valid_name(name)
  return type(name) == "string" and name:match("^[%w][%w_.-]*$") ~= nil and #name <= 64
end

--- Run fn() holding the "networks" lock (re-entrant in this process); errors
-- propagate after unlocking. Returns fn's results.
function M.locked(fn)
  local lk = errors.checkf("locking the network state", state.lock("networks"))
  local res = table.pack(pcall(fn))
  lk:unlock()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- The record of network name, or nil when there is none (raises "system"
-- when its file cannot be read).
function M.load(name)
  if not M.valid_name(name) then return nil end
  local path = M.file(name)
  if not core.exists(path) then return nil end
  local n = errors.checkf("reading network state", state.read_json(path))
  n.allocated = n.allocated or {}
  n.attachments = n.attachments or {}
  return n
end

--- Write a network's record (under the lock) atomically but without fsync
-- (state.write_json, durable=false): everything it describes (bridges,
-- veths, the nftables table, the containers' network namespaces) is kernel
-- state that a crash or reboot takes with it, so it needs rename's
-- atomicity, not the two fsyncs (~5 ms each here) per write that every
-- run --rm would pay three times.
function M.save(n) state.write_json(M.file(n.name), n, { durable = false }) end

--- Remove a network's record.
function M.delete(name)
  local ok, err = os.remove(M.file(name))
  if not ok and core.exists(M.file(name)) then errors.throw("system", "removing network state: %s", err) end
end

--- Every network's record, sorted by name.
function M.all()
  local d, t = M.dir(), {}
  local names = errors.checkf("listing networks", core.readdir(d))
  for _, f in ipairs(names) do
    local name = f:match("^(.+)%.json$")
    local n = name and M.load(name)
    if n then t[#t + 1] = n end
  end
  table.sort(t, function(a, b) return a.name < b.name end)
  return t
end

--- The network called ref, or whose id (or a unique prefix of it, as docker
-- takes) is ref; or nil and a message ("no such network: ref", or the prefix
-- is ambiguous).
function M.find(ref)
  if not M.valid_name(ref) then return nil, "no such network: " .. tostring(ref) end
  local n = M.load(ref)
  if n then return n end
  if ref:match("^%x+$") then
    local found
    for _, c in ipairs(M.locked(M.all)) do
      if c.id:sub(1, #ref) == ref then
        if found then return nil, "network id prefix " .. ref .. " is ambiguous" end
        found = c
      end
    end
    if found then return found end
  end
  return nil, "no such network: " .. ref
end

--- Does network record n hold anything of container cid (an attachment or an
-- address)?
function M.holds(n, cid)
  if n.attachments[cid] then return true end
  for _, owner in pairs(n.allocated) do if owner == cid then return true end end
  return false
end

--- The names of the networks container id is on (attached or holding an
-- address), sorted; {} when there is no networks directory. Cheap enough for
-- every container exit: no lock, and no file is parsed unless it names id.
function M.memberships(id)
  local dir, t = state.dir("networks"), {}
  for _, f in ipairs(core.readdir(dir) or {}) do
    local name = f:match("^(.+)%.json$")
    local text = name and core.read_file(dir .. "/" .. f)
    if text and text:find(id, 1, true) then
      local n = M.load(name)
      if n and M.holds(n, id) then t[#t + 1] = name end
    end
  end
  table.sort(t)
  return t
end

return M
