--- ctr.network: bridge networks for containers.
--
-- A network is a Linux bridge with a gateway address, an IPv4 subnet whose
-- addresses are handed out to containers, and nftables rules (NAT out of the
-- host, published ports, isolation from the other luac-ctr bridges).
-- network.get, create, list and ensure_default return Network objects
-- (ctr.network.object: net:connect(c), net:disconnect(c), net:remove(),
-- net:inspect(), net:containers(), and the record's fields name, id, driver,
-- subnet, gateway, bridge, created, allocated, attachments).
--
-- The work is done by one module per concern, each usable alone:
--
-- | module | concern |
-- |---|---|
-- | ctr.network.store | the state files, <root>/networks/<name>.json and <name>.d/, and their lock |
-- | ctr.network.ipam | IPv4 arithmetic, subnets, address allocation (pure) |
-- | ctr.network.firewall | the nftables table `ip luac-ctr` (libnftables), sysctls |
-- | ctr.network.ports | published ports: parsing and conflicts |
-- | ctr.network.publish | ports published and withdrawn at run time |
-- | ctr.network.hosts | the containers' /etc/hosts files |
-- | ctr.network.bridge | a network's bridge; creating and removing networks |
-- | ctr.network.attach | containers joining and leaving networks (veths, rtnetlink) |
-- | ctr.network.object | the Network objects |
--
-- Errors are ctr.errors values: "invalid" (a bad name, subnet, address or
-- port spec), "not_found" (no such network), "conflict" (a name, subnet,
-- address or port in use; a network that still has containers; a full
-- network), "system" (the kernel or a file said no). Lookups return nil and a
-- message instead: get. See docs/networking.md.
local attach = require "ctr.network.attach"
local bridge = require "ctr.network.bridge"
local errors = require "ctr.errors"
local firewall = require "ctr.network.firewall"
local hosts = require "ctr.network.hosts"
local ipam = require "ctr.network.ipam"
local object = require "ctr.network.object"
local ports = require "ctr.network.ports"
local publish = require "ctr.network.publish"
local store = require "ctr.network.store"

local M = {}

M.DEFAULT = store.DEFAULT               -- the default network's name ("bridge")
M.DEFAULT_BRIDGE = store.DEFAULT_BRIDGE -- its bridge in the default state root ("lctr0")
M.DEFAULT_SUBNET = store.DEFAULT_SUBNET -- its subnet when free ("172.17.0.0/16")
M.BRIDGE_PREFIX = store.BRIDGE_PREFIX   -- every luac-ctr bridge's name starts so
M.FAMILY, M.TABLE = firewall.FAMILY, firewall.TABLE -- the nftables table
M.Network = object.Network              -- the Network objects' metatable

-- IPv4 arithmetic and publish specs (pure functions)
M.ip2int = ipam.ip2int
M.int2ip = ipam.int2ip
M.parse_cidr = ipam.parse_cidr
M.parse_publish = ports.parse_publish

-- the firewall
M.ensure_table = firewall.ensure_table
M.ruleset = firewall.ruleset
M.forward_policy_drop = firewall.forward_policy_drop

-- containers
M.attachments = attach.attachments
M.detach_all = attach.detach_all
M.setup_none = attach.setup_none
M.publish = publish.publish
M.unpublish = publish.unpublish
M.memberships = store.memberships

-- The name a network reference gives: a name or id, or a table {name=}
-- (a Network object, or options as network.create takes).
local function name_of(ref)
  if type(ref) == "table" then return ref.name or ref.id end
  return ref
end

--- Create a bridge network. opts: name (required), subnet ("a.b.c.d/len", /8
-- to /30; default: a free private /24 overlapping no network and no host
-- route), gateway (default: the subnet's first address); a string is the
-- name alone. Raises "invalid" (name, subnet, gateway, an unknown option or
-- a wrong type: ctr.check) or "conflict" (name taken, subnet overlaps).
-- @return the Network
function M.create(opts)
  if type(opts) == "string" then opts = { name = opts } end
  if type(opts) ~= "table" then errors.throw("invalid", "network.create: options table or name expected") end
  opts = require("ctr.check").api("network.create", opts) -- unknown keys, wrong types: invalid
  return object.wrap(store.locked(function() return bridge.create_locked(opts) end))
end

--- The Network called ref, or whose id (or a unique prefix of it, as docker
-- takes) is ref; ref may also be a table {name=}. Returns nil and a message
-- ("no such network: ref") when there is none: for callers that branch.
function M.get(ref)
  local n, err = store.find(name_of(ref))
  return object.wrap(n), err
end

--- Like get, but raises "not_found" when there is no such network.
function M.must_get(ref)
  local n, err = M.get(ref)
  if not n then errors.throw("not_found", "%s", err) end
  return n
end

--- Every Network, sorted by name.
function M.list()
  local t = store.locked(store.all)
  for _, n in ipairs(t) do object.wrap(n) end
  return t
end

--- The default network "bridge" (172.17.0.0/16 on lctr0 unless that overlaps a
-- host route or network, then another free one), created on first use.
function M.ensure_default()
  return object.wrap(store.locked(bridge.ensure_default_locked))
end

--- Remove a network (a name, an id, or a table {name=} such as a Network):
-- its bridge, rules and state. Raises "not_found", or "conflict" while
-- containers are attached (detach them first).
function M.remove(ref)
  return store.locked(function() return bridge.remove_locked(name_of(ref)) end)
end

--- Remove the networks no container uses (docker network prune): a
-- network is used while a container, running or stopped, names it as its
-- network (run --network NAME) or is attached to it (network connect).
-- The default network "bridge" is never removed. o.before (Unix seconds):
-- only networks created before then (prune's until=). Returns the names
-- removed, in name order.
function M.prune(o)
  o = o or {}
  local state = require "ctr.state"
  return state.with_lock(function() -- no container is created meanwhile (create holds it)
    local used = {}
    for _, c in ipairs(require("ctr.container").list()) do
      local mode = not c.dead and c.state.network and c.state.network.mode
      if type(mode) == "string" then used[mode] = true end
    end
    return store.locked(function()
      local gone = {}
      for _, n in ipairs(store.all()) do
        local created = require("ctr.util").parse_rfc3339(n.created or "") or 0
        if n.name ~= store.DEFAULT and not used[n.name] and not used[n.id] and not next(n.attachments or {})
          and (not o.before or created < o.before) then
          bridge.remove_locked(n.name)
          gone[#gone + 1] = n.name
        end
      end
      table.sort(gone)
      return gone
    end)
  end)
end

--- Allocate an address on network ref for container cid (ip: a wanted one).
-- Persistent and locked; raises "conflict" when the network is full or ip
-- is taken, "invalid" for an ip outside it.
-- @return ip, prefix
function M.allocate_ip(ref, cid, ip)
  return store.locked(function()
    local n = store.load(name_of(ref))
    if not n then errors.throw("not_found", "no such network: %s", tostring(name_of(ref))) end
    local a, p = attach.claim_address(n, cid, ip) -- claimed as the lock-free attaches do
    n.allocated[a], n.last = cid, ip and n.last or a
    store.save(n)
    return a, p
  end)
end

--- Release every address container cid holds on network ref (idempotent;
-- false when there is no such network).
function M.release_ip(ref, cid)
  return store.locked(function()
    local n = store.load(name_of(ref))
    if not n then return false end
    ipam.release(n, cid)
    store.save(n)
    return true
  end)
end

--- Attach a running container (its init pid's netns) to a network: see
-- ctr.network.attach.attach for opts (network may be a name or a Network).
-- @return {network=, ip=, prefix=, gateway=, mac=, veth_host=, ifname=, ports=, subnet=}
function M.attach(opts)
  if type(opts) == "table" and type(opts.network) == "table" then
    opts = setmetatable({ network = name_of(opts.network) }, { __index = opts })
  end
  return attach.attach(opts)
end

--- Reserve a place on a network for a container whose process does not
-- exist yet (attach's opts without pid; network may be a Network): the
-- address and the attachment record. Returns a reservation for plumb;
-- detach undoes it.
function M.reserve(opts)
  if type(opts) == "table" and type(opts.network) == "table" then
    opts = setmetatable({ network = name_of(opts.network) }, { __index = opts })
  end
  return attach.reserve(opts)
end

--- Plumb a reservation into the netns of pid: the second half of attach
-- (rolled back whole, the reservation too, on an error).
-- @return {network=, ip=, prefix=, gateway=, mac=, veth_host=, ifname=, ports=, subnet=}
function M.plumb(reservation, pid)
  return attach.plumb(reservation, pid)
end

--- Detach a container from a network (opts: network, a name or a Network,
-- default "bridge"; container_id); idempotent, and works after the
-- container died.
function M.detach(opts)
  if type(opts) ~= "table" then errors.throw("invalid", "network.detach: options table expected") end
  return attach.detach { network = name_of(opts.network), container_id = opts.container_id }
end

--- The hosts entries of a network (a name or a record):
-- {{ip=, names={...}, container_id=}, ...}, sorted by address.
function M.hosts_entries(ref)
  return hosts.entries(ref)
end

--- Rewrite the hosts file of every container attached to network name (in
-- place, same inode), so each reaches the others by name (on a user-defined
-- network; on the default one each file has only its own container's names).
function M.update_hosts(ref)
  return store.locked(function() return hosts.update_locked(name_of(ref)) end)
end

return M
