--- ctr.network.attach: containers joining and leaving networks. Attaching
-- reserves an address and records the attachment (under the networks lock;
-- on the default network without published ports in the container's own
-- files, without it: ctr.network.store),
-- then plumbs a veth pair into the container's netns (rtnetlink, ctr.net),
-- publishes its ports (ctr.network.firewall) and rewrites the hosts files
-- (ctr.network.hosts); detaching undoes each step and works after the
-- container died.
--
-- Errors: "invalid" for bad options, "not_found" for no such network,
-- "conflict" for an address or port in use or a container attached twice,
-- "system" when the kernel says no.
local errors = require "ctr.errors"
local bridge = require "ctr.network.bridge"
local firewall = require "ctr.network.firewall"
local hosts = require "ctr.network.hosts"
local ipam = require "ctr.network.ipam"
local net = require "ctr.net"
local ports = require "ctr.network.ports"
local state = require "ctr.state"
local store = require "ctr.network.store"

local M = {}

-- the attachment record of container cid joining network n, on which
-- it is on others networks already (default: counted)
local function attachment(opts, ip, prefix, port_list, others)
  local cid = opts.container_id
  if not others then
    others = 0
    for _, o in ipairs(store.all()) do if o.attachments[cid] then others = others + 1 end end
  end
  local r = state.new_id():sub(1, 10)
  return {
    ip = ip, prefix = prefix, veth_host = "vlc" .. r,
    ifname = opts.ifname or ("eth" .. others), default_route = others == 0,
    hostname = opts.hostname, name = opts.name, aliases = opts.aliases,
    hosts_file = opts.hosts_file, ports = port_list,
    extra_hosts = opts.add_hosts and hosts.parse_extra(opts.add_hosts)
                  or (others == 0 and hosts.existing(opts.hosts_file) or {}),
    pid = math.tointeger(opts.pid),
  }
end

-- Run fn() after claiming ip for cid on network name: on an error the
-- claim is released.
local function claimed(name, ip, cid, fn)
  local ok, err = pcall(fn)
  if not ok then
    store.unclaim(name, ip, cid)
    error(err, 0)
  end
  return err
end

-- Reserve the address and record the attachment (under the lock).
local function reserve(opts, port_list)
  local name = opts.network or store.DEFAULT
  local n = name == store.DEFAULT and bridge.ensure_default_locked() or store.load(name)
  if not n then errors.throw("not_found", "no such network: %s", tostring(name)) end
  local cid = opts.container_id
  if n.attachments[cid] then
    errors.throw("conflict", "container %s is already attached to network %s", opts.name or cid, name)
  end
  if not net.link_exists(n.bridge) then bridge.setup(n) end
  ports.check_conflicts(store.all(), port_list, cid)
  local ip, prefix = M.claim_address(n, cid, opts.ip) -- as the lock-free ones do: never the same
  claimed(n.name, ip, cid, function()
    n.allocated[ip], n.last = cid, opts.ip and n.last or ip
    n.attachments[cid] = attachment(opts, ip, prefix, port_list)
    store.save(n)
  end)
  return n, n.attachments[cid]
end

-- The veth pair, in one batch of requests: the host end on the bridge, up
-- and in hairpin mode, the container end made right in the netns of pid
-- under its final name (moving and renaming it afterwards cost a netns move:
-- ~15 ms). Then the container side's lo, address, state and route, in one
-- batch from a thread inside it. Returns its MAC.
local function plumb(n, a, pid)
  errors.checkf("veth " .. a.veth_host,
    net.link_add_veth(a.veth_host, a.ifname, { netns = pid, master = n.bridge, up = true, hairpin = true }))
  return errors.checkf("configuring " .. a.ifname, net.configure_container_iface {
    pid = pid, ifname = a.ifname, name = a.ifname, addr = a.ip .. "/" .. a.prefix,
    gateway = a.default_route and n.gateway or nil })
end

-- Joining the default network without published ports touches only the
-- container's own files (an address claimed with symlink(2), its attachment
-- record, its hosts file): no lock, so parallel runs wait for none (the
-- ports' conflict checks and a user-defined network's shared hosts files
-- need the lock).
local function own_files(name, port_list) return name == store.DEFAULT and #port_list == 0 end

--- Claim an address of network record n for container cid (want: a
-- wanted one) with store.claim, which needs no lock: round robin after the
-- last one given, skipping the gateway and what n shows allocated. Raises
-- "invalid" for a bad wanted address, "conflict" when it is taken or the
-- network is full (counted once 64 in a row were taken: never enumerated
-- otherwise). The caller records it (n.allocated, an attachment).
-- @return ip, prefix
function M.claim_address(n, cid, want)
  local first, last, gw, np = ipam.host_range(n)
  if want then
    ipam.check_wanted(n, want)
    local ok, owner = store.claim(n.name, want, cid)
    if not ok then errors.throw("conflict", "address %s on network %s is in use by %s", want, n.name, owner) end
    return want, np
  end
  local capacity = last - first
  local hint = ipam.ip2int(store.last_given(n.name) or n.last or "")
  local i = hint and hint + 1 or first
  for tries = 1, capacity + 1 do
    if tries == 64 and store.claims(n.name) >= capacity then break end
    if i > last or i < first then i = first end
    local ip = ipam.int2ip(i)
    if i ~= gw and not n.allocated[ip] and store.claim(n.name, ip, cid) then
      store.last_given(n.name, ip)
      return ip, np
    end
    i = i + 1
  end
  errors.throw("conflict", "network %s (%s) is full: all %d addresses are in use", n.name, n.subnet, capacity)
end

-- reserve, on the default network without ports: no lock (but to make or
-- repair the network)
local function reserve_own(opts, port_list)
  local cid, name = opts.container_id, store.DEFAULT
  local n = store.load_record(name)
  if not n or not net.link_exists(n.bridge) then
    n = store.locked(bridge.ensure_default_locked)
  end
  if n.attachments[cid] or store.attachment(name, cid) then
    errors.throw("conflict", "container %s is already attached to network %s", opts.name or cid, name)
  end
  local others = #store.memberships(cid)
  local ip, prefix = M.claim_address(n, cid, opts.ip)
  return n, claimed(name, ip, cid, function()
    local a = attachment(opts, ip, prefix, port_list, others)
    store.put_attachment(name, cid, a)
    return a
  end)
end

local function check_cid(opts)
  if type(opts) ~= "table" then errors.throw("invalid", "network.attach: options table expected") end
  local cid = opts.container_id
  if type(cid) ~= "string" or not cid:match("^[%w_.-]+$") then
    errors.throw("invalid", "network.attach: container_id (letters, digits, _ . -) required")
  end
  return cid
end

local function check_pid(pid)
  pid = math.tointeger(pid)
  if not pid or pid <= 0 then errors.throw("invalid", "network.attach: pid of the container's init required") end
  return pid
end

--- The first half of attach, for a container whose process does not exist
-- yet (opts as attach takes, without pid): checks the ports, allocates the
-- address and records the attachment. Returns a reservation for plumb;
-- network.detach undoes it.
function M.reserve(opts)
  local cid = check_cid(opts)
  local port_list = ports.normalize(opts.ports)
  local own = own_files(opts.network or store.DEFAULT, port_list)
  local n, a
  if own then n, a = reserve_own(opts, port_list)
  else n, a = store.locked(function() return reserve(opts, port_list) end) end
  return { network = n, attachment = a, container_id = cid, ports = port_list, own = own }
end

-- After the plumbing: the attachment's MAC and pid recorded, the hosts
-- files rewritten, under the lock unless the attachment is its own files.
local function record_plumbed(r, mac, pid)
  local n, cid = r.network, r.container_id
  if r.own then
    local a = r.attachment
    a.mac, a.pid = mac, pid
    store.put_attachment(n.name, cid, a)
    -- on its first network (default_route) that one is all its hosts file lists
    hosts.update_own(cid, a.default_route and { { name = n.name, attachments = { [cid] = a } } } or nil)
  else
    store.locked(function()
      local cur = store.load(n.name)
      cur.attachments[cid].mac, cur.attachments[cid].pid = mac, pid
      store.save(cur)
      hosts.update_locked(n.name, cid)
    end)
  end
  require("ctr.eventlog").record("network", "connect", n.id, { container = cid, name = n.name, type = n.driver })
  return mac
end

--- The second half of attach: plumb a reservation into the netns of pid
-- (the veth pair, the address, the routes), publish its ports and rewrite
-- the hosts files. Errors roll back everything, the reservation too.
-- @return {network=, ip=, prefix=, gateway=, mac=, veth_host=, ifname=, ports=, subnet=}
function M.plumb(r, pid)
  pid = check_pid(pid)
  local n, a, cid = r.network, r.attachment, r.container_id
  local ok, res = pcall(function()
    local mac = plumb(n, a, pid)
    firewall.ports_up(a.ip, r.ports, "publishing ports of " .. cid)
    return record_plumbed(r, mac, pid)
  end)
  if not ok then
    pcall(M.detach, { network = n.name, container_id = cid })
    errors.rethrow_interrupt(res)
    local e = errors.from(res)
    error(errors.new { kind = e.kind, errno = e.errno,
      msg = ("attaching %s to network %s: %s"):format(cid, n.name, e.msg) }, 0)
  end
  return { network = n.name, ip = a.ip, prefix = a.prefix, gateway = n.gateway, mac = res,
           veth_host = a.veth_host, ifname = a.ifname, ports = r.ports, subnet = n.subnet }
end

--- Attach a running container (its init pid's netns) to a network.
-- opts: network (default "bridge"), container_id, pid, ip (optional), name
-- (container name, for /etc/hosts), hostname, aliases, hosts_file (the
-- container's bind-mounted hosts file, rewritten in place), add_hosts
-- ({"name:ip"}; default: on the first network, the entries the hosts file
-- already has beyond the localhost lines), ports ({"8080:80/udp"} or {{host_ip=, host_port=,
-- container_port=, proto=}}), ifname (default eth0, eth1.. on later networks).
-- Errors roll back everything done so far. (reserve then plumb.)
-- @return {network=, ip=, prefix=, gateway=, mac=, veth_host=, ifname=, ports=, subnet=}
function M.attach(opts)
  check_cid(opts)
  local pid = check_pid(opts.pid)
  return M.plumb(M.reserve(opts), pid)
end

-- How long a dead container's veth pair may take to go with its netns
-- before it is deleted here (the kernel's netns cleanup runs in a worker).
local VANISH_WAIT = 0.5

-- Remove attachment a's veth pair. Once the container's init is dead its
-- netns dies with it (unless another container shares it) and the kernel
-- deletes the pair from a worker: waited for (woken by the deletion), as
-- deleting it here meanwhile cost 15-35 ms (it waits for the rtnl lock that
-- cleanup holds, then for RCU). Otherwise, or if it outlives the wait, it
-- is deleted here.
local function remove_veth(a)
  local core = require "ctr.core"
  local pid = math.tointeger(a.pid)
  if pid and select(3, core.kill(pid, 0)) == core.errno.ESRCH and net.link_wait_gone(a.veth_host, VANISH_WAIT) then
    return
  end
  local ok, err, errno = net.link_del(a.veth_host)
  if not ok and errno ~= core.errno.ENODEV then errors.checkf("veth " .. a.veth_host, ok, err, errno) end
end

--- Detach a container from a network (opts: network, default "bridge",
-- container_id); idempotent, and works after the container died: removes
-- its published ports, its host veth if still there, its address, and its
-- hosts entries from the other containers' files. Returns false when there
-- is no such network.
function M.detach(opts)
  local cid, name = opts.container_id, opts.network or store.DEFAULT
  local n = store.load_record(name)
  if not n then return false end
  local own = store.attachment(name, cid)
  local a = own or n.attachments[cid]
  if a then firewall.ports_down(a.ip, a.ports, "removing the published ports of " .. cid) end
  if a and a.veth_host then remove_veth(a) end
  if own and own_files(name, own.ports or {}) and not store.holds(n, cid) then
    store.drop_own(name, cid) -- its own files alone: no lock
    require("ctr.eventlog").record("network", "disconnect", n.id, { container = cid, name = name, type = n.driver })
    hosts.update_own(cid)
    return true
  end
  return store.locked(function()
    local cur = store.load(name)
    if not cur then return false end
    if cur.attachments[cid] then
      require("ctr.eventlog").record("network", "disconnect", cur.id, { container = cid, name = name, type = cur.driver })
    end
    cur.attachments[cid] = nil
    ipam.release(cur, cid)
    store.save(cur)
    hosts.update_locked(name, cid)
    return true
  end)
end

--- Detach a container from every network it is on (for `rm`, also after a
-- crash: its rules are found from the networks' state, which records the
-- ports before they are published). Returns the network names.
function M.detach_all(cid)
  local names = store.memberships(cid)
  for _, name in ipairs(names) do M.detach { network = name, container_id = cid } end
  return names
end

--- The attachments of container cid: {{network=, ip=, prefix=, gateway=,
-- mac=, ports=, ifname=, veth_host=}, ...} (for ps/inspect).
function M.attachments(cid)
  local t = {}
  for _, name in ipairs(store.memberships(cid)) do
    local n = store.load(name)
    local a = n and n.attachments[cid]
    if a then
      t[#t + 1] = { network = n.name, ip = a.ip, prefix = a.prefix, gateway = n.gateway,
                    mac = a.mac, ports = a.ports, ifname = a.ifname, veth_host = a.veth_host }
    end
  end
  return t
end

--- Bring only lo up in a container's netns (for --network none).
function M.setup_none(pid)
  return errors.checkf("setting up lo", net.configure_container_iface { pid = pid })
end

return M
