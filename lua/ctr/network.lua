--- ctr.network: bridge networks for containers.
--
-- A network is a Linux bridge with a gateway address, an IPv4 subnet whose
-- addresses are handed out to containers, and nftables rules (NAT out of the
-- host, published ports, isolation from the other luac-ctr bridges). Its
-- state is one JSON file, <state root>/networks/<name>.json, changed only
-- under the "networks" lock (state.lock: a flock of <root>/locks/networks.lock).
--
-- Links, addresses and routes go through rtnetlink (ctr.net, libmnl); rules
-- through libnftables (ctr.nft) in one table, `ip luac-ctr`, where a network
-- is two chains and a few set elements and a container its port elements, so
-- each is added and removed by name in one transaction. No process is run.
-- See docs/networking.md.
local net = require "ctr.net"

local M = {}

M.DEFAULT = "bridge"           -- the default network's name
M.DEFAULT_BRIDGE = "lctr0"     -- and its bridge (for the default state root; another root's
                               -- "bridge" network gets its own lctr-<id>, so roots never share one)
M.DEFAULT_SUBNET = "172.17.0.0/16"
M.BRIDGE_PREFIX = "lctr"       -- every luac-ctr bridge's name starts so (isolation rule: lctr+)

------------------------------------------------------------------------------
-- state: <root>/networks/<name>.json under the "networks" lock (ctr.state)
------------------------------------------------------------------------------

local core = require "ctr.core"
local state = require "ctr.state"
local util = require "ctr.util"

local function netdir()
  local d = state.dir("networks")
  local ok, err = util.mkdir_p(d, 448) -- 0700
  if not ok then error("cannot create " .. d .. ": " .. tostring(err), 0) end
  return d
end

local function read_json(path)
  local v, err = state.read_json(path)
  if v == nil then error("reading network state: " .. tostring(err), 0) end
  return v
end

-- Replace a network file atomically (temp file + rename, under the networks
-- lock) but without fsync: everything it describes (bridges, veths, the
-- nftables table, the containers' network namespaces) is kernel state that a
-- crash or reboot takes with it, so it needs rename's atomicity, not the two
-- fsyncs (~5 ms each here) per write that every run --rm would pay three times.
local function write_json(path, v)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then error("writing network state: " .. tostring(err), 0) end
  local ok, werr = f:write(require("ctr.json").encode(v, { indent = true }), "\n")
  local cok, cerr = f:close()
  if ok and cok then ok, werr = os.rename(tmp, path) else werr = werr or cerr end
  if not ok then os.remove(tmp); error("writing network state " .. path .. ": " .. tostring(werr), 0) end
  return true
end

-- Run fn() holding the "networks" lock (re-entrant in this process); errors
-- propagate after unlocking.
local function locked(fn)
  local lk, err = state.lock("networks")
  if not lk then error("locking the network state: " .. tostring(err), 0) end
  local res = table.pack(pcall(fn))
  lk:unlock()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

local function netfile(name) return netdir() .. "/" .. name .. ".json" end

local function random_hex(n) return state.new_id():sub(1, n) end

------------------------------------------------------------------------------
-- IPv4 arithmetic
------------------------------------------------------------------------------

--- Parse a dotted quad into an integer; nil if it is not one.
function M.ip2int(s)
  local a, b, c, d = tostring(s):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

--- Format an integer as a dotted quad.
function M.int2ip(n)
  return string.format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

local function mask(prefix)
  if prefix == 0 then return 0 end
  return (0xffffffff << (32 - prefix)) & 0xffffffff
end

--- Parse "a.b.c.d/len" -> network int, prefix; raises a clear error. The
-- address must be the network's own (no host bits) unless loose is true.
function M.parse_cidr(s, loose)
  local ip, len = tostring(s):match("^([%d%.]+)/(%d+)$")
  local n = ip and M.ip2int(ip)
  len = tonumber(len)
  if not n or not len or len > 32 then
    error("bad subnet '" .. tostring(s) .. "' (want a.b.c.d/len)", 0)
  end
  if not loose and n & mask(len) ~= n then
    error(string.format("bad subnet '%s': host bits set (did you mean %s/%d?)",
      s, M.int2ip(n & mask(len)), len), 0)
  end
  return n & mask(len), len
end

local function overlaps(n1, p1, n2, p2)
  local m = mask(math.min(p1, p2))
  return n1 & m == n2 & m
end

-- IPv4 routes of the caller's netns (main table, from /proc/net/route), without
-- the default route: {{net=, prefix=}, ...}
local function host_routes()
  local t = {}
  local f = io.open("/proc/net/route", "r")
  if not f then return t end
  f:read("l")
  for line in f:lines() do
    local dst, m = line:match("^%S+%s+(%x+)%s+%x+%s+%x+%s+%d+%s+%d+%s+%d+%s+(%x+)")
    if dst then
      local function swap(h) local v = tonumber(h, 16)
        return ((v & 255) << 24) | (((v >> 8) & 255) << 16) | (((v >> 16) & 255) << 8) | ((v >> 24) & 255)
      end
      local mv, prefix = swap(m), 0
      while prefix < 32 and (mv >> (31 - prefix)) & 1 == 1 do prefix = prefix + 1 end
      if prefix > 0 then t[#t + 1] = { net = swap(dst) & mask(prefix), prefix = prefix } end
    end
  end
  f:close()
  return t
end

------------------------------------------------------------------------------
-- firewall: one nftables table, "ip luac-ctr", through libnftables (ctr.nft)
------------------------------------------------------------------------------
--
-- Base chains (one per hook) hold fixed rules that look the packet up in
-- sets and maps; a network is two chains of its own (n-<id>-fwd, n-<id>-post)
-- plus its elements in `bridges`, `fwd_in` and `nat_src`; a container is only
-- its published ports' elements in `ports_any` / `ports_ip`. Setting up or
-- tearing down either is one atomic transaction over exactly those names,
-- never a listing of the ruleset. Nothing here runs a process.

M.FAMILY, M.TABLE = "ip", "luac-ctr"
local T = M.FAMILY .. " " .. M.TABLE

local nft_mod
local function nft_run(cmds, what)
  nft_mod = nft_mod or require "ctr.nft"
  local out, err = nft_mod.run(cmds)
  if out then return out end
  if tostring(err):find("not supported", 1, true) or tostring(err):find("Protocol not", 1, true) then
    err = err .. " (luac-ctr's bridge networks need the kernel's nf_tables with nft_nat, nft_fib"
      .. " and nft_masq; on hosts without it use --network none or --network host)"
  end
  error(what .. ": " .. tostring(err), 0)
end

local function sysctl(path, value)
  local f, err = io.open("/proc/sys/" .. path, "w")
  if not f then error("setting sysctl " .. path .. "=" .. value .. ": " .. tostring(err), 0) end
  f:write(value .. "\n")
  local ok, werr = f:close()
  if not ok then error("setting sysctl " .. path .. "=" .. value .. ": " .. tostring(werr), 0) end
end

-- Names that go into nft text: interface names and ids only of these characters.
local function ifname(s)
  if type(s) ~= "string" or #s > 15 or not s:match("^[%w_.-]+$") then
    error("bad interface name '" .. tostring(s) .. "'", 0)
  end
  return '"' .. s .. '"'
end
local function ipv4(s)
  if not M.ip2int(s) then error("bad IPv4 address '" .. tostring(s) .. "'", 0) end
  return s
end

-- The table, its sets, maps and base chains. `add` is idempotent; the base
-- chains are flushed and refilled in the same transaction, so running this
-- again (or after an upgrade) never duplicates a rule and never touches the
-- networks' chains or elements. The raw PREROUTING drop of 127.0.0.0/8
-- arriving on our bridges: the bridges have route_localnet=1 (for ports
-- published on 127.0.0.1), so such a packet would reach the host's loopback
-- services (CVE-2020-8558); dropped before conntrack. Published ports: DNAT
-- by (host address, proto, port) or (proto, port) for any local address.
local BASE = ([[
add table $T
add set $T bridges { type ifname; }
add map $T fwd_in { type ifname : verdict; }
add map $T nat_src { type ipv4_addr : verdict; flags interval; }
add map $T ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map $T ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add chain $T raw_pre { type filter hook prerouting priority raw; policy accept; }
add chain $T nat_pre { type nat hook prerouting priority dstnat; policy accept; }
add chain $T nat_out { type nat hook output priority -100; policy accept; }
add chain $T nat_post { type nat hook postrouting priority srcnat; policy accept; }
add chain $T forward { type filter hook forward priority filter; policy accept; }
flush chain $T raw_pre
flush chain $T nat_pre
flush chain $T nat_out
flush chain $T nat_post
flush chain $T forward
add rule $T raw_pre iifname @bridges ip daddr 127.0.0.0/8 drop
add rule $T nat_pre meta l4proto { tcp, udp } dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
add rule $T nat_pre meta l4proto { tcp, udp } fib daddr type local dnat ip to meta l4proto . th dport map @ports_any
add rule $T nat_out meta l4proto { tcp, udp } dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
add rule $T nat_out meta l4proto { tcp, udp } fib daddr type local dnat ip to meta l4proto . th dport map @ports_any
add rule $T nat_post ip saddr 127.0.0.0/8 oifname @bridges masquerade
add rule $T nat_post ip saddr vmap @nat_src
add rule $T forward iifname vmap @fwd_in
add rule $T forward oifname @bridges ct state established,related accept
add rule $T forward oifname @bridges ct status dnat accept
]]):gsub("%$T", T)

--- Create (or repair) the luac-ctr table; idempotent, one transaction.
function M.ensure_table() nft_run(BASE, "setting up the nftables table " .. T) end

local function net_chains(n)
  if type(n.id) ~= "string" or not n.id:match("^%x+$") then error("bad network id", 0) end
  local s = n.id:sub(1, 12)
  return "n-" .. s .. "-fwd", "n-" .. s .. "-post"
end

-- A network's elements (key : value pairs with their map).
local function net_elements(n)
  local fwd, post = net_chains(n)
  local br = ifname(n.bridge)
  local nn, np = M.parse_cidr(n.subnet)
  local subnet = M.int2ip(nn) .. "/" .. np
  return {
    { "bridges", br },
    { "fwd_in", br, "jump " .. fwd },
    { "nat_src", subnet, "jump " .. post },
  }
end

local function add_el(e) return ("add element %s %s { %s%s }"):format(T, e[1], e[2], e[3] and (" : " .. e[3]) or "") end
local function del_el(e) return ("delete element %s %s { %s }"):format(T, e[1], e[2]) end

-- The network's own chains: forwarding within the bridge, isolation from the
-- other luac-ctr bridges (published ports, which are DNATed, stay reachable
-- from other networks as with docker), forwarding out; NAT out of the host and
-- hairpin NAT (a container reaching a published port of its own network is
-- masqueraded so the answer comes back through the host).
local function network_up(n)
  local fwd, post = net_chains(n)
  local br = ifname(n.bridge)
  local c = {
    ("add chain %s %s"):format(T, fwd), ("add chain %s %s"):format(T, post),
    ("flush chain %s %s"):format(T, fwd), ("flush chain %s %s"):format(T, post),
    ("add rule %s %s oifname %s accept"):format(T, fwd, br),
    ("add rule %s %s oifname @bridges ct status & dnat == 0 drop"):format(T, fwd),
    ("add rule %s %s accept"):format(T, fwd),
    ("add rule %s %s oifname != %s masquerade"):format(T, post, br),
    ("add rule %s %s oifname %s ct status dnat masquerade"):format(T, post, br),
  }
  for _, e in ipairs(net_elements(n)) do c[#c + 1] = add_el(e) end
  return table.concat(c, "\n") .. "\n"
end

-- Its teardown, idempotent: each element is added (a no-op when present)
-- then deleted, each chain added, flushed, deleted; one transaction.
local function network_down(n)
  local fwd, post = net_chains(n)
  local c = { ("add chain %s %s"):format(T, fwd), ("add chain %s %s"):format(T, post) }
  for _, e in ipairs(net_elements(n)) do c[#c + 1] = add_el(e); c[#c + 1] = del_el(e) end
  for _, ch in ipairs { fwd, post } do
    c[#c + 1] = ("flush chain %s %s"):format(T, ch)
    c[#c + 1] = ("delete chain %s %s"):format(T, ch)
  end
  return table.concat(c, "\n") .. "\n"
end

-- The elements of one container's published ports. PREROUTING serves other
-- hosts and the containers (also of this network: hairpin NAT), OUTPUT the
-- host itself (for 127.0.0.1 the bridge's route_localnet lets the DNATed
-- packet leave loopback; nat_post masquerades it).
local function port_elements(ip, ports)
  local t = {}
  for _, p in ipairs(ports or {}) do
    local proto = p.proto == "udp" and "udp" or "tcp"
    local hp, cp = math.tointeger(p.host_port), math.tointeger(p.container_port)
    if not hp or not cp then error("bad published port", 0) end
    local to = ("%s . %d"):format(ipv4(ip), cp)
    if p.host_ip and p.host_ip ~= "0.0.0.0" then
      t[#t + 1] = { "ports_ip", ("%s . %s . %d"):format(ipv4(p.host_ip), proto, hp), to }
    else
      t[#t + 1] = { "ports_any", ("%s . %d"):format(proto, hp), to }
    end
  end
  return t
end

local function ports_up(ip, ports, what)
  local c = {}
  for _, e in ipairs(port_elements(ip, ports)) do c[#c + 1] = add_el(e) end
  if #c > 0 then nft_run(table.concat(c, "\n") .. "\n", what) end
end

local function ports_down(ip, ports, what)
  local c = {}
  for _, e in ipairs(port_elements(ip, ports)) do c[#c + 1] = add_el(e); c[#c + 1] = del_el(e) end
  if #c > 0 then nft_run(table.concat(c, "\n") .. "\n", what) end
end

--- The luac-ctr table as `nft list` prints it ("" when there is none): for
-- inspection and the specs.
function M.ruleset()
  nft_mod = nft_mod or require "ctr.nft"
  return nft_mod.run("list table " .. T) or ""
end

--- Is an iptables(-nft) `filter FORWARD` chain with policy drop present (as
-- docker sets it)? Then our accept is not enough: every base chain at the
-- forward hook must accept (see docs/networking.md).
function M.forward_policy_drop()
  nft_mod = nft_mod or require "ctr.nft"
  local out = nft_mod.run("list chain ip filter FORWARD")
  return out ~= nil and out:find("hook forward[^\n]*policy drop") ~= nil
end

------------------------------------------------------------------------------
-- networks
------------------------------------------------------------------------------

local function valid_name(name)
  return type(name) == "string" and name:match("^[%w][%w_.-]*$") and #name <= 64
end

local function load(name)
  local path = netfile(name)
  if not core.exists(path) then return nil end
  local n = read_json(path)
  n.allocated = n.allocated or {}
  n.attachments = n.attachments or {}
  return n
end

local function save(n) write_json(netfile(n.name), n) end

local function all_networks()
  local d, t = netdir(), {}
  local names, err = core.readdir(d)
  if not names then error("listing networks: " .. tostring(err), 0) end
  for _, f in ipairs(names) do
    local name = f:match("^(.+)%.json$")
    if name then
      local n = load(name)
      if n then t[#t + 1] = n end
    end
  end
  table.sort(t, function(a, b) return a.name < b.name end)
  return t
end

local function count(t) local c = 0; for _ in pairs(t) do c = c + 1 end; return c end

-- Is [nn/np] free: no existing network and no host route overlaps it?
local function subnet_free(nn, np, nets, routes)
  for _, o in ipairs(nets) do
    local on, op = M.parse_cidr(o.subnet)
    if overlaps(nn, np, on, op) then return false, "network " .. o.name .. " (" .. o.subnet .. ")" end
  end
  for _, r in ipairs(routes) do
    if overlaps(nn, np, r.net, r.prefix) then
      return false, "a host route (" .. M.int2ip(r.net) .. "/" .. r.prefix .. ")"
    end
  end
  return true
end

-- First free subnet from the candidate generator.
local function pick_subnet(nets, prefix)
  local routes = host_routes()
  local base = { { 172, 18, 31 }, { 10, 0, 255 } }
  if prefix == 16 then
    for b = 17, 31 do
      local nn = M.ip2int(("172.%d.0.0"):format(b))
      if subnet_free(nn, 16, nets, routes) then return M.int2ip(nn) .. "/16" end
    end
  end
  for _, r in ipairs(base) do
    for b = r[2], r[3] do
      for c = 0, 255 do
        local nn = M.ip2int(("%d.%d.%d.0"):format(r[1], b, c))
        if subnet_free(nn, 24, nets, routes) then return M.int2ip(nn) .. "/24" end
      end
    end
  end
  for c = 0, 255 do
    local nn = M.ip2int(("192.168.%d.0"):format(c))
    if subnet_free(nn, 24, nets, routes) then return M.int2ip(nn) .. "/24" end
  end
  error("no free private subnet left for a new network: give one with --subnet", 0)
end

-- Create the bridge if missing, (re)apply sysctls and rules: idempotent.
local function setup_bridge(n)
  if not net.link_exists(n.bridge) then
    local ok, err = net.link_add_bridge(n.bridge)
    if not ok then error("network " .. n.name .. ": " .. err, 0) end
    local _, prefix = M.parse_cidr(n.subnet)
    ok, err = net.addr_add(n.bridge, n.gateway .. "/" .. prefix)
    if not ok then net.link_del(n.bridge); error("network " .. n.name .. ": " .. err, 0) end
  end
  local ok, err = net.link_set_up(n.bridge)
  if not ok then error("network " .. n.name .. ": " .. err, 0) end
  sysctl("net/ipv4/ip_forward", "1")
  sysctl("net/ipv4/conf/" .. n.bridge .. "/route_localnet", "1")
  M.ensure_table()
  nft_run(network_up(n), "network " .. n.name)
  if M.forward_policy_drop() then
    io.stderr:write(("luac-ctr: warning: the iptables filter FORWARD chain has policy DROP (docker sets it):"
      .. " containers on %s cannot reach the outside until you accept its traffic there, e.g."
      .. " iptables -I DOCKER-USER -i %s -j ACCEPT; iptables -I DOCKER-USER -o %s -j ACCEPT"
      .. " (see docs/networking.md)\n"):format(n.bridge, n.bridge, n.bridge))
  end
end

local function teardown_bridge(n)
  nft_run(network_down(n), "network " .. n.name)
  if net.link_exists(n.bridge) then
    local ok, err = net.link_del(n.bridge)
    if not ok then error("network " .. n.name .. ": " .. err, 0) end
  end
end

local function create_locked(opts)
  local name = opts.name
  if not valid_name(name) then
    error("bad network name '" .. tostring(name) .. "' (letters, digits, _ . -; up to 64)", 0)
  end
  if load(name) then error("network " .. name .. " already exists", 0) end
  local nets = all_networks()
  local subnet = opts.subnet or pick_subnet(nets, opts.prefix or 24)
  local nn, np = M.parse_cidr(subnet)
  if np < 8 or np > 30 then error("bad subnet " .. subnet .. ": prefix must be /8 to /30", 0) end
  local ok, what = subnet_free(nn, np, nets, opts.subnet and {} or host_routes())
  if not ok then error("subnet " .. subnet .. " overlaps " .. what, 0) end
  local gw = opts.gateway or M.int2ip(nn + 1)
  local g = M.ip2int(gw)
  if not g then error("bad gateway '" .. tostring(gw) .. "'", 0) end
  if g & mask(np) ~= nn or g == nn or g == nn | (~mask(np) & 0xffffffff) then
    error("gateway " .. gw .. " is not a usable address of " .. subnet, 0)
  end
  local id = random_hex(64)
  local n = {
    name = name, id = id, driver = "bridge", subnet = M.int2ip(nn) .. "/" .. np, gateway = gw,
    bridge = opts.bridge or (name == M.DEFAULT and state.root() == state.DEFAULT_ROOT and M.DEFAULT_BRIDGE
      or (M.BRIDGE_PREFIX .. "-" .. id:sub(1, 10))),
    created = os.date("!%Y-%m-%dT%H:%M:%SZ"), allocated = {}, attachments = {},
  }
  -- the record first: a create killed while it sets the bridge up leaves a
  -- network that is listed, and `network rm` (or the next use) finishes it
  save(n)
  local sok, serr = pcall(setup_bridge, n)
  if not sok then
    pcall(teardown_bridge, n)
    os.remove(netfile(name))
    error(serr, 0)
  end
  return n
end

--- Create a bridge network. opts: name (required), subnet ("a.b.c.d/len", /8
-- to /30; default: a free private /24 overlapping no network and no host
-- route), gateway (default: the subnet's first address); or the name alone.
-- Raises on errors (an unknown option or a wrong type: invalid, ctr.check).
-- @return the network record {name, id, driver, subnet, gateway, bridge, created, ...}
function M.create(opts)
  if type(opts) == "string" then opts = { name = opts } end -- network.create("app"), as remove and get
  opts = require("ctr.check").api("network.create", opts) -- unknown keys, wrong types: invalid
  return locked(function() return create_locked(opts) end)
end

--- The network called name, or whose id (or a unique prefix of it, as docker
-- takes) is name; or nil, "no such network: name".
function M.get(name)
  if not valid_name(name) then return nil, "no such network: " .. tostring(name) end
  local n = load(name)
  if n then return n end
  if name:match("^%x+$") then
    local found
    for _, c in ipairs(locked(all_networks)) do
      if c.id:sub(1, #name) == name then
        if found then return nil, "network id prefix " .. name .. " is ambiguous" end
        found = c
      end
    end
    if found then return found end
  end
  return nil, "no such network: " .. name
end

--- Every network, sorted by name.
function M.list()
  return locked(all_networks)
end

local function ensure_default_locked()
  local n = load(M.DEFAULT)
  if n then
    if not net.link_exists(n.bridge) then setup_bridge(n) end
    return n
  end
  local nets = all_networks()
  local dn, dp = M.parse_cidr(M.DEFAULT_SUBNET)
  local subnet = subnet_free(dn, dp, nets, host_routes()) and M.DEFAULT_SUBNET or pick_subnet(nets, 16)
  return create_locked { name = M.DEFAULT, subnet = subnet }
end

--- The default network "bridge" (172.17.0.0/16 on lctr0 unless that overlaps a
-- host route or network, then another free one), created on first use.
function M.ensure_default()
  return locked(ensure_default_locked)
end

--- Remove a network: its bridge, rules and state. Refused while containers
-- are attached (detach them first).
function M.remove(name)
  return locked(function()
    local n, err = M.get(name)
    if not n then error(err, 0) end
    if next(n.attachments) then
      local ids = {}
      for cid in pairs(n.attachments) do ids[#ids + 1] = cid end
      table.sort(ids)
      error(("network %s has %d attached container(s): %s"):format(name, #ids, table.concat(ids, ", ")), 0)
    end
    teardown_bridge(n)
    assert(os.remove(netfile(n.name)))
    return true
  end)
end

------------------------------------------------------------------------------
-- address allocation
------------------------------------------------------------------------------

-- Usable host range of a network: first, last, gateway int.
local function host_range(n)
  local nn, np = M.parse_cidr(n.subnet)
  local bcast = nn | (~mask(np) & 0xffffffff)
  return nn + 1, bcast - 1, M.ip2int(n.gateway), np
end

local function allocate(n, cid, want)
  local first, last, gw, np = host_range(n)
  if want then
    local w = M.ip2int(want)
    if not w then error("bad IP address '" .. tostring(want) .. "'", 0) end
    if w < first or w > last then error(want .. " is not a host address of " .. n.subnet, 0) end
    if w == gw then error(want .. " is the gateway of network " .. n.name, 0) end
    if n.allocated[want] then
      error(("address %s on network %s is in use by %s"):format(want, n.name, n.allocated[want]), 0)
    end
    n.allocated[want] = cid
    return want, np
  end
  local capacity = last - first + 1 - 1
  if count(n.allocated) >= capacity then
    error(("network %s (%s) is full: all %d addresses are in use"):format(n.name, n.subnet, capacity), 0)
  end
  local i = n.last and (M.ip2int(n.last) or first) + 1 or first
  while true do
    if i > last or i < first then i = first end
    local s = M.int2ip(i)
    if i ~= gw and not n.allocated[s] then
      n.allocated[s] = cid
      n.last = s
      return s, np
    end
    i = i + 1
  end
end

--- Allocate an address on network name for container cid (ip: a wanted one).
-- Persistent and locked; raises when the network is full or ip is taken.
-- @return ip, prefix
function M.allocate_ip(name, cid, ip)
  return locked(function()
    local n = load(name)
    if not n then error("no such network: " .. tostring(name), 0) end
    local a, p = allocate(n, cid, ip)
    save(n)
    return a, p
  end)
end

--- Release every address container cid holds on network name (idempotent).
function M.release_ip(name, cid)
  return locked(function()
    local n = load(name)
    if not n then return false end
    for ip, owner in pairs(n.allocated) do
      if owner == cid then n.allocated[ip] = nil end
    end
    save(n)
    return true
  end)
end

------------------------------------------------------------------------------
-- published ports
------------------------------------------------------------------------------

--- Parse a -p/--publish spec "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]".
-- @return {host_ip=, host_port=, container_port=, proto=}; raises on a bad spec.
function M.parse_publish(spec)
  local bad = function(why)
    error(("bad publish spec '%s': %s (want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])"):format(tostring(spec), why), 0)
  end
  if type(spec) ~= "string" then bad("not a string") end
  local body, proto = spec:match("^(.-)/(%a+)$")
  if not body then body, proto = spec, "tcp" end
  proto = proto:lower()
  if proto ~= "tcp" and proto ~= "udp" then bad("protocol must be tcp or udp") end
  local parts = {}
  for p in (body .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  local host_ip
  if #parts == 3 then host_ip = table.remove(parts, 1)
  elseif #parts ~= 2 then bad("expected HOSTPORT:CTRPORT") end
  if host_ip and not M.ip2int(host_ip) then bad("host address '" .. host_ip .. "' is not an IPv4 address") end
  local function port(s, what)
    local n = s:match("^%d+$") and tonumber(s)
    if not n or n < 1 or n > 65535 then bad(what .. " '" .. s .. "' is not a port 1-65535") end
    return n
  end
  return { host_ip = host_ip or "0.0.0.0", host_port = port(parts[1], "host port"),
           container_port = port(parts[2], "container port"), proto = proto }
end

local function norm_ports(ports)
  local t = {}
  for i, p in ipairs(ports or {}) do
    if type(p) == "string" then p = M.parse_publish(p)
    elseif type(p) == "table" then
      p = { host_ip = p.host_ip or "0.0.0.0", host_port = math.tointeger(p.host_port),
            container_port = math.tointeger(p.container_port), proto = p.proto or "tcp" }
      if not p.host_port or not p.container_port or (p.proto ~= "tcp" and p.proto ~= "udp") then
        error("bad port #" .. i .. ": want {host_port=, container_port=, proto=\"tcp\"|\"udp\"}", 0)
      end
    else
      error("bad port #" .. i .. ": string or table expected", 0)
    end
    for j = 1, #t do
      local o = t[j]
      if o.host_port == p.host_port and o.proto == p.proto then
        error(("host port %d/%s is published twice"):format(p.host_port, p.proto), 0)
      end
    end
    t[#t + 1] = p
  end
  return t
end

local function ip_clash(a, b) return a == "0.0.0.0" or b == "0.0.0.0" or a == b end

local function check_port_conflicts(ports, cid)
  for _, n in ipairs(all_networks()) do
    for other, a in pairs(n.attachments) do
      for _, op in ipairs(a.ports or {}) do
        for _, p in ipairs(ports) do
          if other ~= cid and op.proto == p.proto and op.host_port == p.host_port
             and ip_clash(op.host_ip, p.host_ip) then
            error(("host port %d/%s is already published by container %s"):format(p.host_port, p.proto, other), 0)
          end
        end
      end
    end
  end
end

------------------------------------------------------------------------------
-- /etc/hosts
------------------------------------------------------------------------------

local HOSTS_HEADER = table.concat({
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
}, "\n") .. "\n"

local function names_of(cid, a)
  local t, seen = {}, {}
  local function add(s)
    if type(s) == "string" and s ~= "" and not seen[s] then seen[s] = true; t[#t + 1] = s end
  end
  add(a.name); add(a.hostname)
  for _, s in ipairs(a.aliases or {}) do add(s) end
  if #t == 0 then t[1] = cid:sub(1, 12) end
  return t
end

--- The hosts entries of a network: {{ip=, names={...}, container_id=}, ...},
-- sorted by address.
function M.hosts_entries(name)
  local n = type(name) == "table" and name or load(name)
  if not n then return {} end
  local t = {}
  for cid, a in pairs(n.attachments) do
    t[#t + 1] = { ip = a.ip, names = names_of(cid, a), container_id = cid }
  end
  table.sort(t, function(x, y) return M.ip2int(x.ip) < M.ip2int(y.ip) end)
  return t
end

-- The hosts file text for container cid given every network it is on.
local function hosts_text(cid, nets)
  local lines, own, seen = { HOSTS_HEADER }, {}, {}
  for _, n in ipairs(nets) do
    local a = n.attachments[cid]
    for _, h in ipairs(a.extra_hosts or {}) do
      local key = h.ip .. " " .. h.host
      if not seen[key] then seen[key] = true; lines[#lines + 1] = h.ip .. "\t" .. h.host .. "\n" end
    end
  end
  for _, n in ipairs(nets) do
    local a = n.attachments[cid]
    if not own[a.ip] then own[a.ip] = true
      lines[#lines + 1] = a.ip .. "\t" .. table.concat(names_of(cid, a), " ") .. "\n"
    end
  end
  for _, n in ipairs(nets) do
    -- the default network, as docker's, gives no names of the other containers
    for _, e in ipairs(n.name == M.DEFAULT and {} or M.hosts_entries(n)) do
      if e.container_id ~= cid and not seen[e.ip] then
        seen[e.ip] = true
        lines[#lines + 1] = e.ip .. "\t" .. table.concat(e.names, " ") .. "\n"
      end
    end
  end
  return table.concat(lines)
end

-- Rewrite a file in place: open with O_TRUNC and write, so the inode (which
-- is bind-mounted into the container) stays the same; never rename over it.
local function write_in_place(path, text)
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  f:write(text)
  return f:close()
end

-- Rewrite the hosts files of the containers on network name; on the default
-- network (no names of the others) only that of cid, the container being
-- attached or detached, so a run there costs the same however many run beside.
local function update_hosts_locked(name, cid)
  local nets = all_networks()
  local target = {}
  if name == M.DEFAULT and cid then
    target[cid] = true
  else
    for _, n in ipairs(nets) do
      if n.name == name then for c in pairs(n.attachments) do target[c] = true end end
    end
  end
  for id in pairs(target) do
    local mine = {}
    for _, n in ipairs(nets) do if n.attachments[id] then mine[#mine + 1] = n end end
    for _, n in ipairs(mine) do
      local path = n.attachments[id].hosts_file
      if path then write_in_place(path, hosts_text(id, mine)) end
    end
  end
end

--- Rewrite the hosts file of every container attached to network name (in
-- place, same inode), so each reaches the others by name (on a user-defined
-- network; on the default one each file has only its own container's names).
function M.update_hosts(name)
  return locked(function() return update_hosts_locked(name) end)
end

------------------------------------------------------------------------------
-- attach / detach
------------------------------------------------------------------------------

local function parse_extra_hosts(list)
  local t = {}
  for _, h in ipairs(list or {}) do
    if type(h) == "string" then
      local host, ip = h:match("^([^:]+):(.+)$")
      if not host or not M.ip2int(ip) then
        error("bad --add-host '" .. h .. "' (want NAME:IPv4)", 0)
      end
      t[#t + 1] = { host = host, ip = ip }
    else
      t[#t + 1] = { host = h.host, ip = h.ip }
    end
  end
  return t
end

local STANDARD_HOSTS = { ["127.0.0.1"] = true, ["::1"] = true, ["fe00::0"] = true,
  ["ff00::0"] = true, ["ff02::1"] = true, ["ff02::2"] = true }

-- The entries of an existing hosts file beyond the standard localhost lines
-- (what the runtime wrote for --add-host before the first attach).
local function existing_hosts(path)
  local t = {}
  local f = path and io.open(path, "r")
  if not f then return t end
  for line in f:lines() do
    local ip, names = line:match("^%s*([^#%s]+)%s+([^#]+)")
    if ip and not STANDARD_HOSTS[ip] then
      for host in names:gmatch("%S+") do t[#t + 1] = { host = host, ip = ip } end
    end
  end
  f:close()
  return t
end

-- Reserve the address and record the attachment (under the lock).
local function reserve(opts, ports)
  local name = opts.network or M.DEFAULT
  local n = name == M.DEFAULT and ensure_default_locked() or load(name)
  if not n then error("no such network: " .. tostring(name), 0) end
  local cid = opts.container_id
  if n.attachments[cid] then error("container " .. cid .. " is already attached to network " .. name, 0) end
  if not net.link_exists(n.bridge) then setup_bridge(n) end
  check_port_conflicts(ports, cid)
  local ip, prefix = allocate(n, cid, opts.ip)
  local others = 0
  for _, o in ipairs(all_networks()) do if o.attachments[cid] then others = others + 1 end end
  local r = random_hex(10)
  n.attachments[cid] = {
    ip = ip, prefix = prefix, veth_host = "vlc" .. r, veth_peer = "vlp" .. r,
    ifname = opts.ifname or ("eth" .. others), default_route = others == 0,
    hostname = opts.hostname, name = opts.name, aliases = opts.aliases,
    hosts_file = opts.hosts_file, ports = ports,
    extra_hosts = opts.add_hosts and parse_extra_hosts(opts.add_hosts)
                  or (others == 0 and existing_hosts(opts.hosts_file) or {}),
    pid = opts.pid,
  }
  save(n)
  return n, n.attachments[cid]
end

local function must(ok, err, ...) if not ok then error(err, 0) end return ok, err, ... end

local function plumb(n, a, pid)
  must(net.link_add_veth(a.veth_host, a.veth_peer))
  must(net.link_set_master(a.veth_host, n.bridge))
  must(net.link_set_hairpin(a.veth_host, true))
  must(net.link_set_up(a.veth_host))
  must(net.link_set_netns(a.veth_peer, pid))
  return must(net.configure_container_iface {
    pid = pid, ifname = a.veth_peer, name = a.ifname, addr = a.ip .. "/" .. a.prefix,
    gateway = a.default_route and n.gateway or nil })
end

--- Attach a running container (its init pid's netns) to a network.
-- opts: network (default "bridge"), container_id, pid, ip (optional), name
-- (container name, for /etc/hosts), hostname, aliases, hosts_file (the
-- container's bind-mounted hosts file, rewritten in place), add_hosts
-- ({"name:ip"}; default: on the first network, the entries the hosts file
-- already has beyond the localhost lines), ports ({"8080:80/udp"} or {{host_ip=, host_port=,
-- container_port=, proto=}}), ifname (default eth0, eth1.. on later networks).
-- Errors roll back everything done so far.
-- @return {network=, ip=, prefix=, gateway=, mac=, veth_host=, ifname=, ports=}
function M.attach(opts)
  if type(opts) ~= "table" then error("network.attach: options table expected", 2) end
  local cid, pid = opts.container_id, math.tointeger(opts.pid)
  if type(cid) ~= "string" or not cid:match("^[%w_.-]+$") then
    error("network.attach: container_id (letters, digits, _ . -) required", 2)
  end
  if not pid or pid <= 0 then error("network.attach: pid of the container's init required", 2) end
  local ports = norm_ports(opts.ports)
  local n, a = locked(function() return reserve(opts, ports) end)
  local ok, res = pcall(function()
    local mac = plumb(n, a, pid)
    ports_up(a.ip, ports, "publishing ports of " .. cid)
    return locked(function()
      local cur = load(n.name)
      cur.attachments[cid].mac = mac
      save(cur)
      update_hosts_locked(n.name, cid)
      return mac
    end)
  end)
  if not ok then
    pcall(M.detach, { network = n.name, container_id = cid })
    error(("attaching %s to network %s: %s"):format(cid, n.name, tostring(res)), 0)
  end
  return { network = n.name, ip = a.ip, prefix = a.prefix, gateway = n.gateway, mac = res,
           veth_host = a.veth_host, ifname = a.ifname, ports = ports, subnet = n.subnet }
end

--- Detach a container from a network; idempotent, and works after the
-- container died: removes its rules (by tag), its host veth if still there,
-- its address, and its hosts entries from the other containers' files.
function M.detach(opts)
  local cid, name = opts.container_id, opts.network or M.DEFAULT
  local n = load(name)
  if not n then return false end
  local a = n.attachments[cid]
  if a then ports_down(a.ip, a.ports, "removing the published ports of " .. cid) end
  if a and a.veth_host and net.link_exists(a.veth_host) then
    must(net.link_del(a.veth_host))
  end
  return locked(function()
    local cur = load(name)
    if not cur then return false end
    cur.attachments[cid] = nil
    for ip, owner in pairs(cur.allocated) do
      if owner == cid then cur.allocated[ip] = nil end
    end
    save(cur)
    update_hosts_locked(name, cid)
    return true
  end)
end

--- Detach a container from every network it is on (for `rm`, also after a
-- crash: its rules are found from the networks' state, which records the
-- ports before they are published). Returns the network names.
function M.detach_all(cid)
  local names = {}
  for _, n in ipairs(M.list()) do
    if n.attachments[cid] or (function()
      for _, owner in pairs(n.allocated) do if owner == cid then return true end end
    end)() then
      M.detach { network = n.name, container_id = cid }
      names[#names + 1] = n.name
    end
  end
  return names
end

--- The attachments of container cid: {{network=, ip=, prefix=, gateway=, mac=, ports=}, ...}
-- (for ps/inspect).
function M.attachments(cid)
  local t = {}
  for _, n in ipairs(M.list()) do
    local a = n.attachments[cid]
    if a then
      t[#t + 1] = { network = n.name, ip = a.ip, prefix = a.prefix, gateway = n.gateway,
                    mac = a.mac, ports = a.ports, ifname = a.ifname, veth_host = a.veth_host }
    end
  end
  return t
end

--- Bring only lo up in a container's netns (for --network none).
function M.setup_none(pid)
  return must(net.configure_container_iface { pid = pid })
end


--- Publish more ports of container cid at run time (Container:publish):
-- ports as attach's, added to its attachment on its first network (or
-- opts.network), so detach removes them with the others. Raises when the
-- container is on no network, or a host port is published already.
-- @return the normalized ports added
function M.publish(cid, ports, opts)
  local list = norm_ports(ports)
  local n, a = locked(function()
    for _, n in ipairs(all_networks()) do
      local a = n.attachments[cid]
      if a and (not (opts and opts.network) or opts.network == n.name) then
        check_port_conflicts(list, cid)
        for _, op in ipairs(a.ports or {}) do
          for _, p in ipairs(list) do
            if op.host_port == p.host_port and op.proto == p.proto and ip_clash(op.host_ip, p.host_ip) then
              error(("host port %d/%s is already published by this container"):format(p.host_port, p.proto), 0)
            end
          end
        end
        a.ports = a.ports or {}
        for _, p in ipairs(list) do a.ports[#a.ports + 1] = p end
        save(n)
        return n, a
      end
    end
    error("container " .. cid .. " is not attached to a bridge network", 0)
  end)
  local ok, err = pcall(ports_up, a.ip, list, "publishing ports of " .. cid)
  if not ok then pcall(M.unpublish, cid, list, { network = n.name }); error(err, 0) end
  return list
end

--- Withdraw ports published for container cid (Container:unpublish):
-- ports as attach's, matched by host address, host port and protocol.
-- @return the ports withdrawn (empty when none was published)
function M.unpublish(cid, ports, opts)
  local want = norm_ports(ports)
  local gone, ip = {}, nil
  locked(function()
    for _, n in ipairs(all_networks()) do
      local a = n.attachments[cid]
      if a and (not (opts and opts.network) or opts.network == n.name) then
        local keep = {}
        for _, op in ipairs(a.ports or {}) do
          local hit = false
          for _, p in ipairs(want) do
            hit = hit or (op.host_port == p.host_port and op.proto == p.proto and op.host_ip == p.host_ip)
          end
          if hit then gone[#gone + 1] = op else keep[#keep + 1] = op end
        end
        a.ports, ip = keep, a.ip
        if #gone > 0 then save(n) end
      end
    end
  end)
  if ip and #gone > 0 then ports_down(ip, gone, "withdrawing published ports of " .. cid) end
  return gone
end

return M
