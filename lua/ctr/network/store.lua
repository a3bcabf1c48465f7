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
-- allocated and attachments are kept beside it, a file each, in
-- <root>/networks/<name>.d/: `c-<container id>.json` (an attachment) and
-- `ip-<a.b.c.d>`, a symlink to the container id (an address given out;
-- symlink(2) fails when it exists, so claiming one needs no lock). load
-- puts them together into the record (and takes those a record written
-- before them still holds); save writes back what changed.
--
-- Changes happen under the "networks" lock (state.lock: a flock of
-- <root>/locks/networks.lock, re-entrant in a process): M.locked(fn); but
-- a container joining or leaving the default network without published
-- ports changes only its own files (claim, put_attachment, drop_own), so
-- parallel runs there wait for no lock but the kernel's.
-- Errors: "system" for a file or lock that fails.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
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

--- The directory of network name's attachments and addresses.
function M.adir(name) return M.dir() .. "/" .. name .. ".d" end

-- what load read from a record's directory: record -> {files = {cid = text}, claims = {ip = cid}}
local loaded = setmetatable({}, { __mode = "k" })

--- The address given out last on network name (a hint for the next), and
-- record ip as that (atomically, last writer wins): last_given(name [, ip]).
function M.last_given(name, ip)
  local p = M.adir(name) .. "/last"
  if not ip then return core.readlink(p) end
  local tmp = ("%s.%d"):format(p, core.getpid())
  core.unlink(tmp)
  if core.symlink(ip, tmp) and not core.rename(tmp, p) then core.unlink(tmp) end
end

--- The record alone of network name, without its directory's attachments
-- and addresses (those a record written before them holds are there), or
-- nil when there is none (raises "system" when its file cannot be read).
function M.load_record(name)
  if not M.valid_name(name) then return nil end
  local n, err, e = state.read_json(M.file(name))
  if not n and e == core.errno.ENOENT then return nil end
  n = errors.checkf("reading network state", n, err, e)
  n.allocated = n.allocated or {}
  n.attachments = n.attachments or {}
  n.last = M.last_given(name) or n.last
  return n
end

--- The record of network name, with every attachment and address, or nil
-- when there is none (raises "system" when its file cannot be read).
function M.load(name)
  local n = M.load_record(name)
  if not n then return nil end
  local d, seen = M.adir(name), { files = {}, claims = {}, last = n.last }
  for _, f in ipairs(core.readdir(d) or {}) do
    local ip, cid = f:match("^ip%-([%d.]+)$"), f:match("^c%-(.+)%.json$")
    local owner = ip and core.readlink(d .. "/" .. f)
    if owner then n.allocated[ip], seen.claims[ip] = owner, owner end
    local text = cid and core.read_file(d .. "/" .. f)
    local a = text and json.decode(text)
    if type(a) == "table" then n.attachments[cid], seen.files[cid] = a, text end
  end
  loaded[n] = seen
  return n
end

local function claim_path(name, ip) return M.adir(name) .. "/ip-" .. ip end
local function att_path(name, cid) return M.adir(name) .. "/c-" .. cid .. ".json" end

-- The paths of the address claims (ip-*) on network name that container cid holds.
local function claims_of(name, cid)
  local d, t = M.adir(name), {}
  for _, f in ipairs(core.readdir(d) or {}) do
    if f:match("^ip%-") and core.readlink(d .. "/" .. f) == cid then t[#t + 1] = d .. "/" .. f end
  end
  return t
end

--- Claim address ip of network name for container cid, without the lock:
-- true, or false and its owner when it is taken.
function M.claim(name, ip, cid)
  local ok, err, e = core.symlink(cid, claim_path(name, ip))
  if not ok and e == core.errno.ENOENT then -- a record from before the directories
    util.mkdir_p(M.adir(name), 448)
    ok, err, e = core.symlink(cid, claim_path(name, ip))
  end
  if ok then return true end
  if e == core.errno.EEXIST then return false, core.readlink(claim_path(name, ip)) or "?" end
  errors.throw("system", "claiming address %s on network %s: %s", ip, name, tostring(err))
end

--- How many addresses of network name are given out (its claims).
function M.claims(name)
  local c = 0
  for _, f in ipairs(core.readdir(M.adir(name)) or {}) do if f:match("^ip%-") then c = c + 1 end end
  return c
end

--- Release address ip of network name if cid holds it.
function M.unclaim(name, ip, cid)
  local p = claim_path(name, ip)
  if core.readlink(p) == cid then core.unlink(p) end
end

--- Container cid's attachment on network name as its own file holds it
-- (nil when it has none there).
function M.attachment(name, cid)
  return (state.read_json(att_path(name, cid)))
end

--- Write container cid's attachment record a on network name (its own
-- file: no lock).
function M.put_attachment(name, cid, a)
  state.write_json(att_path(name, cid), a, { durable = false })
end

--- Remove container cid's attachment on network name and every address it
-- holds there (its own files: no lock).
function M.drop_own(name, cid)
  for _, p in ipairs(claims_of(name, cid)) do core.unlink(p) end
  core.unlink(att_path(name, cid))
end

-- Does text (an attachment file as load read it) hold attachment a?
local function same(text, a)
  local b = text and json.decode(text)
  return b ~= nil and json.encode(b) == json.encode(a)
end

--- Write a network's record (under the lock) atomically but without fsync
-- (state.write_json, durable=false): everything it describes (bridges,
-- veths, the nftables table, the containers' network namespaces) is kernel
-- state that a crash or reboot takes with it, so it needs rename's
-- atomicity, not the two fsyncs (~5 ms each here) per write. The record
-- goes into its file without allocated and attachments; those go into its
-- directory, only what changed since load (so what others claimed meanwhile
-- without the lock stays). Raises "conflict" when an address it gives out
-- was claimed meanwhile.
function M.save(n)
  local d = M.adir(n.name)
  local ok, err = util.mkdir_p(d, 448) -- 0700
  if not ok then errors.throw("system", "cannot create %s: %s", d, tostring(err)) end
  local was = loaded[n] or { files = {}, claims = {} }
  local now = { files = {}, claims = {} }
  for ip, cid in pairs(n.allocated) do
    if was.claims[ip] ~= cid then
      if was.claims[ip] then M.unclaim(n.name, ip, was.claims[ip]) end
      local got, owner = M.claim(n.name, ip, cid)
      if not got and owner ~= cid then
        errors.throw("conflict", "address %s on network %s is in use by %s", ip, n.name, owner)
      end
    end
    now.claims[ip] = cid
  end
  for ip, cid in pairs(was.claims) do if n.allocated[ip] == nil then M.unclaim(n.name, ip, cid) end end
  for cid, a in pairs(n.attachments) do
    -- only what this record changed: the others' files may have changed meanwhile (lock-free)
    if same(was.files[cid], a) then
      now.files[cid] = was.files[cid]
    else
      M.put_attachment(n.name, cid, a)
      now.files[cid] = json.encode(a, { indent = true }) .. "\n" -- as state.write_json writes it
    end
  end
  for cid in pairs(was.files) do if n.attachments[cid] == nil then core.unlink(att_path(n.name, cid)) end end
  now.last = n.last
  if n.last and n.last ~= was.last then M.last_given(n.name, n.last) end
  local rec = {}
  for k, v in pairs(n) do if k ~= "allocated" and k ~= "attachments" and k ~= "last" then rec[k] = v end end
  state.write_json(M.file(n.name), rec, { durable = false })
  loaded[n] = now
end

--- Remove a network's record and its directory.
function M.delete(name)
  local ok, err = os.remove(M.file(name))
  if not ok and core.exists(M.file(name)) then errors.throw("system", "removing network state: %s", err) end
  core.remove_all(M.adir(name))
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
    if name and core.exists(att_path(name, id)) then
      t[#t + 1] = name
    elseif name then
      -- an address alone, or a record written before the directories
      local text = core.read_file(dir .. "/" .. f)
      local n = (text and text:find(id, 1, true) or #claims_of(name, id) > 0) and M.load(name)
      if n and M.holds(n, id) then t[#t + 1] = name end
    end
  end
  table.sort(t)
  return t
end

return M
