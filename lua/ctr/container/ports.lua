--- ctr.container.ports: docker port: Container:port, the container's
-- published ports as docker lists them.
local errors = require "ctr.errors"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

-- "HOSTIP:PORT" ("[v6]:PORT" for an IPv6 address).
local function host_of(p)
  local ip = p.host_ip or "0.0.0.0"
  if ip:find(":", 1, true) then ip = "[" .. ip .. "]" end
  return ip .. ":" .. tostring(p.host_port)
end

--- The published ports of the running container (none when it is not
-- running), sorted by container port then protocol: a list of { private =
-- "80/tcp", host = "127.0.0.1:8080" }. filter ("80" or "80/udp"; the
-- protocol defaults to tcp) keeps those of one private port; a filter with
-- no mapping raises (exit code 1) with docker's message.
function Container:port(filter)
  local want
  if filter ~= nil then
    local port, proto = tostring(filter):match("^(%d+)/?(%a*)$")
    proto = (proto == nil or proto == "") and "tcp" or proto:lower()
    if not port or math.tointeger(tonumber(port)) > 65535 or (proto ~= "tcp" and proto ~= "udp" and proto ~= "sctp") then
      errors.raise(1, "invalid port %s", errors.quote(tostring(filter)))
    end
    want = math.tointeger(tonumber(port)) .. "/" .. proto
  end
  local out = {}
  if self:status() == "running" then
    for _, p in ipairs(self.state.network and self.state.network.ports or {}) do
      if type(p) == "table" then
        local priv = ("%d/%s"):format(p.container_port, p.proto or "tcp")
        if not want or want == priv then
          out[#out + 1] = { private = priv, host = host_of(p), port = p.container_port, proto = p.proto or "tcp" }
        end
      end
    end
  end
  table.sort(out, function(a, b)
    if a.port ~= b.port then return a.port < b.port end
    if a.proto ~= b.proto then return a.proto < b.proto end
    return a.host < b.host
  end)
  if want and #out == 0 then
    errors.raise(1, "No public port '%s' published for %s", want, self.state.name)
  end
  return out
end

return M
