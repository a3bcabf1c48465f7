--- ctr.network.bridge: a network's kernel side and its life: the Linux
-- bridge with the gateway address (rtnetlink, ctr.net), its sysctls and
-- firewall chains (ctr.network.firewall), and creating, repairing and
-- removing networks. The *_locked functions run under store.locked.
--
-- Errors: "invalid" for a bad name or subnet, "conflict" for a name or
-- subnet in use or a network that still has containers, "system" when the
-- kernel says no.
local errors = require "ctr.errors"
local firewall = require "ctr.network.firewall"
local ipam = require "ctr.network.ipam"
local net = require "ctr.net"
local state = require "ctr.state"
local store = require "ctr.network.store"

local M = {}

local function warn_forward_drop(br)
  io.stderr:write(("luac-ctr: warning: the iptables filter FORWARD chain has policy DROP (docker sets it):"
    .. " containers on %s cannot reach the outside until you accept its traffic there, e.g."
    .. " iptables -I DOCKER-USER -i %s -j ACCEPT; iptables -I DOCKER-USER -o %s -j ACCEPT"
    .. " (see docs/networking.md)\n"):format(br, br, br))
end

--- Create network n's bridge if missing, (re)apply its sysctls and rules:
-- idempotent.
function M.setup(n)
  local what = "network " .. n.name
  if not net.link_exists(n.bridge) then
    errors.checkf(what, net.link_add_bridge(n.bridge))
    local _, prefix = ipam.parse_cidr(n.subnet)
    local ok, err, errno = net.addr_add(n.bridge, n.gateway .. "/" .. prefix)
    if not ok then
      net.link_del(n.bridge)
      errors.checkf(what, ok, err, errno)
    end
  end
  errors.checkf(what, net.link_set_up(n.bridge))
  firewall.sysctl("net/ipv4/ip_forward", "1")
  firewall.sysctl("net/ipv4/conf/" .. n.bridge .. "/route_localnet", "1")
  firewall.ensure_table()
  firewall.up(n)
  if firewall.forward_policy_drop() then warn_forward_drop(n.bridge) end
end

--- Remove network n's rules and bridge (idempotent).
function M.teardown(n)
  firewall.down(n)
  if net.link_exists(n.bridge) then errors.checkf("network " .. n.name, net.link_del(n.bridge)) end
end

-- A new network's record (not yet saved); raises on a bad or taken subnet.
local function new_record(opts)
  local nets = store.all()
  local subnet = opts.subnet or ipam.pick_subnet(nets, opts.prefix or 24)
  local sub, gw = ipam.check_subnet(subnet, opts.gateway)
  local nn, np = ipam.parse_cidr(sub)
  local ok, what = ipam.subnet_free(nn, np, nets, opts.subnet and {} or ipam.host_routes())
  if not ok then errors.throw("conflict", "subnet %s overlaps %s", subnet, what) end
  local id = state.new_id()
  local default_root = opts.name == store.DEFAULT and state.root() == state.DEFAULT_ROOT
  return {
    name = opts.name, id = id, driver = "bridge", subnet = sub, gateway = gw,
    bridge = opts.bridge or (default_root and store.DEFAULT_BRIDGE or (store.BRIDGE_PREFIX .. "-" .. id:sub(1, 10))),
    created = os.date("!%Y-%m-%dT%H:%M:%SZ"), allocated = {}, attachments = {},
  }
end

--- Create a network (opts: name, subnet, gateway, prefix, bridge) and set
-- its bridge up; returns its record.
function M.create_locked(opts)
  local name = opts.name
  if not store.valid_name(name) then
    errors.throw("invalid", "bad network name '%s' (letters, digits, _ . -; up to 64)", tostring(name))
  end
  if store.load(name) then errors.throw("conflict", "network %s already exists", name) end
  local n = new_record(opts)
  -- the record first: a create killed while it sets the bridge up leaves a
  -- network that is listed, and `network rm` (or the next use) finishes it
  store.save(n)
  local ok, err = pcall(M.setup, n)
  if not ok then
    pcall(M.teardown, n)
    os.remove(store.file(name))
    error(err, 0)
  end
  require("ctr.eventlog").record("network", "create", n.id, { name = n.name, type = n.driver })
  return n
end

--- The default network's record, created (172.17.0.0/16, or another free
-- /16 when that overlaps a host route or network) or repaired when needed.
function M.ensure_default_locked()
  local n = store.load(store.DEFAULT)
  if n then
    if not net.link_exists(n.bridge) then M.setup(n) end
    return n
  end
  local nets = store.all()
  local dn, dp = ipam.parse_cidr(store.DEFAULT_SUBNET)
  local subnet = ipam.subnet_free(dn, dp, nets, ipam.host_routes()) and store.DEFAULT_SUBNET
    or ipam.pick_subnet(nets, 16)
  return M.create_locked { name = store.DEFAULT, subnet = subnet }
end

--- Remove network ref (name or id): its bridge, rules and record. Raises
-- "not_found", or "conflict" while containers are attached.
function M.remove_locked(ref)
  local n, err = store.find(ref)
  if not n then errors.throw("not_found", "%s", err) end
  if next(n.attachments) then
    local ids = {}
    for cid in pairs(n.attachments) do ids[#ids + 1] = cid end
    table.sort(ids)
    errors.throw("conflict", "network %s has %d attached container(s): %s", ref, #ids, table.concat(ids, ", "))
  end
  M.teardown(n)
  store.delete(n.name)
  require("ctr.eventlog").record("network", "destroy", n.id, { name = n.name, type = n.driver })
  return true
end

return M
