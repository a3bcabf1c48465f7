--- ctr.network.ports: published ports (-p/--publish): parsing, checking,
-- and the conflicts between containers. A port is {host_ip=, host_port=,
-- container_port=, proto="tcp"|"udp"}; host_ip "0.0.0.0" means every local
-- address. The rules themselves are ctr.network.firewall's.
--
-- Errors: "invalid" for a bad spec, "conflict" for a host port already
-- published by another container.
local errors = require "ctr.errors"
local ipam = require "ctr.network.ipam"

local M = {}

local WANT = "(want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])"

-- the port number of s, or a raise through bad
local function port(s, what, bad)
  local n = s:match("^%d+$") and tonumber(s)
  if not n or n < 1 or n > 65535 then bad(what .. " '" .. s .. "' is not a port 1-65535") end
  return n
end

--- Parse a -p/--publish spec "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]".
-- @return {host_ip=, host_port=, container_port=, proto=}; raises "invalid" on a bad spec.
function M.parse_publish(spec)
  local bad = function(why)
    errors.throw("invalid", "bad publish spec '%s': %s %s", tostring(spec), why, WANT)
  end
  if type(spec) ~= "string" then bad("not a string") end
  local body, proto = spec:match("^(.-)/(%a+)$")
  if not body then body, proto = spec, "tcp" end
  proto = proto:lower()
  if proto ~= "tcp" and proto ~= "udp" then bad("protocol must be tcp or udp") end
  local parts = {}
  for p in (body .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  local host_ip
  if #parts == 3 then
    host_ip = table.remove(parts, 1)
  elseif #parts ~= 2 then
    bad("expected HOSTPORT:CTRPORT")
  end
  if host_ip and not ipam.ip2int(host_ip) then bad("host address '" .. host_ip .. "' is not an IPv4 address") end
  return { host_ip = host_ip or "0.0.0.0", host_port = port(parts[1], "host port", bad),
           container_port = port(parts[2], "container port", bad), proto = proto }
end

-- one port, given as a spec string or a table, in the table form
local function norm_port(p, i)
  if type(p) == "string" then return M.parse_publish(p) end
  if type(p) ~= "table" then errors.throw("invalid", "bad port #%d: string or table expected", i) end
  local t = { host_ip = p.host_ip or "0.0.0.0", host_port = math.tointeger(p.host_port),
              container_port = math.tointeger(p.container_port), proto = p.proto or "tcp" }
  if not t.host_port or not t.container_port or (t.proto ~= "tcp" and t.proto ~= "udp")
     or not ipam.ip2int(t.host_ip) then
    errors.throw("invalid", 'bad port #%d: want {host_port=, container_port=, proto="tcp"|"udp"}', i)
  end
  return t
end

--- Normalize a list of ports (spec strings or tables) to tables; raises
-- "invalid" on a bad one or a host port given twice.
function M.normalize(ports)
  local t = {}
  for i, p in ipairs(ports or {}) do
    p = norm_port(p, i)
    for j = 1, #t do
      if t[j].host_port == p.host_port and t[j].proto == p.proto then
        errors.throw("invalid", "host port %d/%s is published twice", p.host_port, p.proto)
      end
    end
    t[#t + 1] = p
  end
  return t
end

local function ip_clash(a, b) return a == "0.0.0.0" or b == "0.0.0.0" or a == b end

--- Raise "conflict" when a port of ports is already published by a
-- container other than cid on any of the network records nets.
function M.check_conflicts(nets, ports, cid)
  for _, n in ipairs(nets) do
    for other, a in pairs(n.attachments) do
      for _, op in ipairs(other ~= cid and a.ports or {}) do
        for _, p in ipairs(ports) do
          if op.proto == p.proto and op.host_port == p.host_port and ip_clash(op.host_ip, p.host_ip) then
            errors.throw("conflict", "host port %d/%s is already published by container %s",
              p.host_port, p.proto, other)
          end
        end
      end
    end
  end
end

--- A port as docker prints it: "0.0.0.0:8080->80/tcp".
function M.format(p)
  return ("%s:%d->%d/%s"):format(p.host_ip, p.host_port, p.container_port, p.proto)
end

return M
