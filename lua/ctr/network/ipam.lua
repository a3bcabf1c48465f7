--- ctr.network.ipam: IPv4 arithmetic and address management for bridge
-- networks. Pure functions over integers, "a.b.c.d/len" strings and network
-- records ({name=, subnet=, gateway=, allocated={ip=container_id}, last=});
-- only host_routes reads the kernel (/proc/net/route). Nothing here locks or
-- writes: ctr.network.store does that around these.
--
-- Errors: bad input raises errors kind "invalid"; an address in use, a full
-- network, an overlapping or exhausted subnet space "conflict".
local errors = require "ctr.errors"

local M = {}

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

--- The netmask of a prefix length as an integer (mask(24) == 0xffffff00).
function M.mask(prefix)
  if prefix == 0 then return 0 end
  return (0xffffffff << (32 - prefix)) & 0xffffffff
end

--- Parse "a.b.c.d/len" -> network int, prefix; raises "invalid". The
-- address must be the network's own (no host bits) unless loose is true.
function M.parse_cidr(s, loose)
  local ip, len = tostring(s):match("^([%d%.]+)/(%d+)$")
  local n = ip and M.ip2int(ip)
  len = tonumber(len)
  if not n or not len or len > 32 then
    errors.throw("invalid", "bad subnet '%s' (want a.b.c.d/len)", tostring(s))
  end
  if not loose and n & M.mask(len) ~= n then
    errors.throw("invalid", "bad subnet '%s': host bits set (did you mean %s/%d?)",
      s, M.int2ip(n & M.mask(len)), len)
  end
  return n & M.mask(len), len
end

--- Format a network int and prefix as "a.b.c.d/len".
function M.format_cidr(n, prefix) return M.int2ip(n) .. "/" .. prefix end

--- Do the subnets n1/p1 and n2/p2 share an address?
function M.overlaps(n1, p1, n2, p2)
  local m = M.mask(math.min(p1, p2))
  return n1 & m == n2 & m
end

--- The usable host range of a network record: first, last, gateway int, prefix.
function M.host_range(n)
  local nn, np = M.parse_cidr(n.subnet)
  local bcast = nn | (~M.mask(np) & 0xffffffff)
  return nn + 1, bcast - 1, M.ip2int(n.gateway), np
end

-- little-endian hex of /proc/net/route as an integer
local function swap(h)
  local v = tonumber(h, 16)
  return ((v & 255) << 24) | (((v >> 8) & 255) << 16) | (((v >> 16) & 255) << 8) | ((v >> 24) & 255)
end

--- IPv4 routes of the caller's netns (main table, from /proc/net/route),
-- without the default route: {{net=, prefix=}, ...} ({} when unreadable).
function M.host_routes()
  local t = {}
  local f = io.open("/proc/net/route", "r")
  if not f then return t end
  f:read("l")
  for line in f:lines() do
    local dst, m = line:match("^%S+%s+(%x+)%s+%x+%s+%x+%s+%d+%s+%d+%s+%d+%s+(%x+)")
    if dst then
      local mv, prefix = swap(m), 0
      while prefix < 32 and (mv >> (31 - prefix)) & 1 == 1 do prefix = prefix + 1 end
      if prefix > 0 then t[#t + 1] = { net = swap(dst) & M.mask(prefix), prefix = prefix } end
    end
  end
  f:close()
  return t
end

--- Is nn/np free: no network of nets ({subnet=, name=}) and no route of
-- routes ({net=, prefix=}) overlaps it? Returns true, or false and what overlaps.
function M.subnet_free(nn, np, nets, routes)
  for _, o in ipairs(nets) do
    local on, op = M.parse_cidr(o.subnet)
    if M.overlaps(nn, np, on, op) then return false, "network " .. o.name .. " (" .. o.subnet .. ")" end
  end
  for _, r in ipairs(routes) do
    if M.overlaps(nn, np, r.net, r.prefix) then
      return false, "a host route (" .. M.format_cidr(r.net, r.prefix) .. ")"
    end
  end
  return true
end

-- the first free /24 of a.b.c.0 for b in [b1, b2], c in [0, 255]
local function first_free24(a, b1, b2, nets, routes)
  for b = b1, b2 do
    for c = 0, 255 do
      local nn = ((a * 256 + b) * 256 + c) * 256
      if M.subnet_free(nn, 24, nets, routes) then return M.format_cidr(nn, 24) end
    end
  end
end

--- The first free private subnet overlapping none of nets and routes: a /16
-- of 172.17-31 when prefix is 16, else a /24 of 172.18-31, 10.0-255 or
-- 192.168; raises "conflict" when none is left.
function M.pick_subnet(nets, prefix, routes)
  routes = routes or M.host_routes()
  if prefix == 16 then
    for b = 17, 31 do
      local nn = (172 * 256 + b) << 16
      if M.subnet_free(nn, 16, nets, routes) then return M.format_cidr(nn, 16) end
    end
  end
  local s = first_free24(172, 18, 31, nets, routes) or first_free24(10, 0, 255, nets, routes)
    or first_free24(192, 168, 168, nets, routes)
  if s then return s end
  errors.throw("conflict", "no free private subnet left for a new network: give one with --subnet")
end

--- Check a subnet and gateway for a new network: returns the normalized
-- subnet, the gateway and the prefix; raises "invalid" (prefix outside /8-/30,
-- gateway not a host address of the subnet).
function M.check_subnet(subnet, gateway)
  local nn, np = M.parse_cidr(subnet)
  if np < 8 or np > 30 then errors.throw("invalid", "bad subnet %s: prefix must be /8 to /30", subnet) end
  local gw = gateway or M.int2ip(nn + 1)
  local g = M.ip2int(gw)
  if not g then errors.throw("invalid", "bad gateway '%s'", tostring(gw)) end
  if g & M.mask(np) ~= nn or g == nn or g == nn | (~M.mask(np) & 0xffffffff) then
    errors.throw("invalid", "gateway %s is not a usable address of %s", gw, subnet)
  end
  return M.format_cidr(nn, np), gw, np
end

local function count(t)
  local c = 0
  for _ in pairs(t) do c = c + 1 end
  return c
end

--- Check a wanted address of network record n (raises "invalid" when it
-- is no host address of it, or its gateway).
function M.check_wanted(n, want)
  local first, last, gw = M.host_range(n)
  local w = M.ip2int(want)
  if not w then errors.throw("invalid", "bad IP address '%s'", tostring(want)) end
  if w < first or w > last then errors.throw("invalid", "%s is not a host address of %s", want, n.subnet) end
  if w == gw then errors.throw("invalid", "%s is the gateway of network %s", want, n.name) end
end

-- a wanted address: checked and taken
local function take(n, cid, want)
  M.check_wanted(n, want)
  if n.allocated[want] then
    errors.throw("conflict", "address %s on network %s is in use by %s", want, n.name, n.allocated[want])
  end
  n.allocated[want] = cid
end

--- Allocate an address of network record n (changed in place: allocated,
-- last) to container cid; want: a wanted address. Round robin after the last
-- one given, skipping the gateway; never enumerates the subnet. Raises
-- "invalid" for a bad wanted address, "conflict" when it is taken or the
-- network is full.
-- @return ip, prefix
function M.allocate(n, cid, want)
  n.allocated = n.allocated or {}
  local first, last, gw, np = M.host_range(n)
  if want then
    take(n, cid, want)
    return want, np
  end
  local capacity = last - first
  if count(n.allocated) >= capacity then
    errors.throw("conflict", "network %s (%s) is full: all %d addresses are in use", n.name, n.subnet, capacity)
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

--- Release every address container cid holds in network record n (in
-- place); returns how many.
function M.release(n, cid)
  local c = 0
  for ip, owner in pairs(n.allocated or {}) do
    if owner == cid then n.allocated[ip] = nil; c = c + 1 end
  end
  return c
end

return M
