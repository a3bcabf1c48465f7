--- ctr.network.firewall: one nftables table, "ip luac-ctr", through
-- libnftables (ctr.nft), and the sysctls a bridge needs.
--
-- Base chains (one per hook) hold fixed rules that look the packet up in
-- sets and maps; a network is two chains of its own (n-<id>-fwd, n-<id>-post)
-- plus its elements in `bridges`, `fwd_in` and `nat_src`; a container is only
-- its published ports' elements in `ports_any` / `ports_ip`. Setting up or
-- tearing down either is one atomic transaction over exactly those names,
-- never a listing of the ruleset. Nothing here runs a process.
--
-- Errors: "system" when libnftables or a sysctl says no; "invalid" for a
-- name or address that cannot go into nft text.
local errors = require "ctr.errors"
local ipam = require "ctr.network.ipam"

local M = {}

M.FAMILY, M.TABLE = "ip", "luac-ctr"
local T = M.FAMILY .. " " .. M.TABLE

local nft_mod
-- Run nft commands in one transaction; raises "system" (what: nft's message).
local function nft_run(cmds, what)
  nft_mod = nft_mod or require "ctr.nft"
  local out, err = nft_mod.run(cmds)
  if out then return out end
  if tostring(err):find("not supported", 1, true) or tostring(err):find("Protocol not", 1, true) then
    err = err .. " (luac-ctr's bridge networks need the kernel's nf_tables with nft_nat, nft_fib"
      .. " and nft_masq; on hosts without it use --network none or --network host)"
  end
  errors.throw("system", "%s: %s", what, tostring(err))
end

--- Write a sysctl: sysctl("net/ipv4/ip_forward", "1"); raises "system".
function M.sysctl(path, value)
  local what = "setting sysctl " .. path .. "=" .. value
  local f = errors.checkf(what, io.open("/proc/sys/" .. path, "w"))
  f:write(value .. "\n")
  errors.checkf(what, f:close())
end

-- Names that go into nft text: interface names and ids only of these characters.
local function ifname(s)
  if type(s) ~= "string" or #s > 15 or not s:match("^[%w_.-]+$") then
    errors.throw("invalid", "bad interface name '%s'", tostring(s))
  end
  return '"' .. s .. '"'
end
local function ipv4(s)
  if not ipam.ip2int(s) then errors.throw("invalid", "bad IPv4 address '%s'", tostring(s)) end
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
  if type(n.id) ~= "string" or not n.id:match("^%x+$") then errors.throw("invalid", "bad network id") end
  local s = n.id:sub(1, 12)
  return "n-" .. s .. "-fwd", "n-" .. s .. "-post"
end

-- A network's elements (key : value pairs with their map).
local function net_elements(n)
  local fwd, post = net_chains(n)
  local br = ifname(n.bridge)
  local subnet = ipam.format_cidr(ipam.parse_cidr(n.subnet))
  return {
    { "bridges", br },
    { "fwd_in", br, "jump " .. fwd },
    { "nat_src", subnet, "jump " .. post },
  }
end

local function add_el(e) return ("add element %s %s { %s%s }"):format(T, e[1], e[2], e[3] and (" : " .. e[3]) or "") end
local function del_el(e) return ("delete element %s %s { %s }"):format(T, e[1], e[2]) end

--- The commands that add a network's own chains: forwarding within the bridge, isolation from the
-- other luac-ctr bridges (published ports, which are DNATed, stay reachable
-- from other networks as with docker), forwarding out; NAT out of the host and
-- hairpin NAT (a container reaching a published port of its own network is
-- masqueraded so the answer comes back through the host).
function M.network_up(n)
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

--- The commands of its teardown, idempotent: each element is added (a no-op when present)
-- then deleted, each chain added, flushed, deleted; one transaction.
function M.network_down(n)
  local fwd, post = net_chains(n)
  local c = { ("add chain %s %s"):format(T, fwd), ("add chain %s %s"):format(T, post) }
  for _, e in ipairs(net_elements(n)) do c[#c + 1] = add_el(e); c[#c + 1] = del_el(e) end
  for _, ch in ipairs { fwd, post } do
    c[#c + 1] = ("flush chain %s %s"):format(T, ch)
    c[#c + 1] = ("delete chain %s %s"):format(T, ch)
  end
  return table.concat(c, "\n") .. "\n"
end

-- The elements of one container's published ports, as
-- ctr.net.nft_port_elements takes them (checked alike): ports_ip's for a
-- host address, ports_any's for any. PREROUTING serves other
-- hosts and the containers (also of this network: hairpin NAT), OUTPUT the
-- host itself (for 127.0.0.1 the bridge's route_localnet lets the DNATed
-- packet leave loopback; nat_post masquerades it).
local function port_list(ip, ports)
  local t = {}
  for _, p in ipairs(ports or {}) do
    local hp, cp = math.tointeger(p.host_port), math.tointeger(p.container_port)
    if not hp or not cp then errors.throw("invalid", "bad published port") end
    t[#t + 1] = { host_ip = ipv4(p.host_ip or "0.0.0.0"), proto = p.proto == "udp" and "udp" or "tcp",
                  host_port = hp, to_ip = ipv4(ip), to_port = cp }
  end
  return t
end

-- The elements of ports of the container at ip added to (add) or removed
-- from our maps: one nfnetlink batch built by ctr.net, one transaction.
-- Not libnftables: loading it (~10 ms) and the ruleset it fetches before
-- any command (~6 dumps) were most of what a published port cost.
local function port_batch(ip, ports, add, what)
  local list = port_list(ip, ports)
  if #list == 0 then return end -- no ports: no nftables at all
  local ok, err = require("ctr.net").nft_port_elements(M.TABLE, add, list)
  if not ok then
    if tostring(err):find("not supported", 1, true) or tostring(err):find("Protocol not", 1, true) then
      err = err .. " (luac-ctr's bridge networks need the kernel's nf_tables)"
    end
    errors.throw("system", "%s: %s", what, tostring(err))
  end
end

--- Publish ports ({host_ip=, host_port=, container_port=, proto=}) of the
-- container at ip: one transaction; what names it in an error.
function M.ports_up(ip, ports, what) port_batch(ip, ports, true, what) end

-- Is there a luac-ctr table? None after a reboot or `nft flush ruleset`:
-- then a teardown has nothing to remove (and must not make the table again).
-- (One request for the table alone: `list tables` fetched the whole ruleset.)
local function table_exists()
  return require("ctr.net").nft_table_exists(M.FAMILY, M.TABLE) == true
end

--- Withdraw the published ports of the container at ip; idempotent (nothing
-- to do when the table or its maps are gone).
function M.ports_down(ip, ports, what) port_batch(ip, ports, false, what) end

--- Set network n's chains and elements up (idempotent).
function M.up(n) nft_run(M.network_up(n), "network " .. n.name) end

--- Remove network n's chains and elements (idempotent; nothing to do when
-- the table is gone).
function M.down(n)
  if table_exists() then nft_run(M.network_down(n), "network " .. n.name) end
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

return M
