--- ctr.network.object: the Network objects that ctr.network's get, create
-- and list return. A Network is its record (see ctr.network.store: name, id,
-- driver, subnet, gateway, bridge, created, allocated, attachments, last) as
-- read when it was found, with these methods; net:refresh() reads it again.
local errors = require "ctr.errors"
local attach = require "ctr.network.attach"
local bridge = require "ctr.network.bridge"
local json = require "ctr.json"
local ports = require "ctr.network.ports"
local store = require "ctr.network.store"

local Network = {}
Network.__index = Network
Network.__name = "ctr.network"
Network.__tostring = function(n) return "network " .. tostring(n.name) end

local M = { Network = Network }

--- Make a network record a Network object (in place); nil stays nil.
function M.wrap(rec)
  if rec == nil then return nil end
  return setmetatable(rec, Network)
end

--- Read the network's record again (raises "not_found" when it was removed).
function Network:refresh()
  local rec = store.load(self.name)
  if not rec then errors.throw("not_found", "no such network: %s", self.name) end
  for k in pairs(self) do self[k] = nil end
  for k, v in pairs(rec) do self[k] = v end
  return self
end

-- id, pid, name, hostname and hosts file of a Container object (or of a
-- table {container_id=, pid=, name=, hostname=, hosts_file=})
local function container_of(c)
  if type(c) ~= "table" then errors.throw("invalid", "a container (object) expected, got %s", type(c)) end
  if not c.state then return c.container_id, c.pid, c.name, c.hostname, c.hosts_file end
  if c.running and not c:running() then errors.throw("not_running", "container %s is not running", c.state.name or c.id) end
  local st = c.state
  return c.id, st.pid, st.name, st.network and st.network.hostname, c.dir and (c.dir .. "/hosts")
end

--- Connect a running container (a Container object) to this network.
-- opts: ip (a wanted address), aliases ({"name"}: more names in the other
-- containers' hosts files), ports ({"8080:80"}), ifname. Raises
-- "not_running", "conflict" (already connected, address or port in use).
-- @return the attachment {network=, ip=, prefix=, gateway=, mac=, veth_host=, ifname=, ports=, subnet=}
function Network:connect(c, opts)
  opts = require("ctr.check").api("Network:connect", opts)
  local id, pid, name, hostname, hosts_file = container_of(c)
  local att = attach.attach { network = self.name, container_id = id, pid = pid, ip = opts.ip, name = name,
    hostname = hostname, aliases = opts.aliases, hosts_file = hosts_file, ports = opts.ports,
    ifname = opts.ifname }
  self:refresh()
  return att
end

--- Disconnect a container (a Container object or its id) from this network;
-- raises "not_found" when it is not connected.
function Network:disconnect(c)
  local id = type(c) == "table" and (c.id or c.container_id) or c
  self:refresh()
  if type(id) ~= "string" or not self.attachments[id] then
    errors.throw("not_found", "container %s is not connected to network %s",
      type(c) == "table" and c.state and c.state.name or tostring(id), self.name)
  end
  attach.detach { network = self.name, container_id = id }
  return self:refresh()
end

--- Remove the network: its bridge, rules and state. Raises "conflict"
-- while containers are attached.
function Network:remove()
  return store.locked(function() return bridge.remove_locked(self.name) end)
end

--- The containers on this network, by id: {{id=, name=, ip=, prefix=, mac=,
-- ports=, ifname=}, ...} sorted by address (from the network's record).
function Network:containers()
  local t = {}
  for cid, a in pairs(self.attachments or {}) do
    t[#t + 1] = { id = cid, name = a.name, ip = a.ip, prefix = a.prefix, mac = a.mac,
                  ports = a.ports or {}, ifname = a.ifname }
  end
  local ip2int = require("ctr.network.ipam").ip2int
  table.sort(t, function(x, y) return ip2int(x.ip) < ip2int(y.ip) end)
  return t
end

--- The network as `docker network inspect` shows it (a table for ctr.json).
function Network:inspect()
  local containers = {}
  for _, a in ipairs(self:containers()) do
    local ps = {}
    for _, p in ipairs(a.ports) do ps[#ps + 1] = ports.format(p) end
    containers[a.id] = json.object {
      Name = a.name or "", IPv4Address = a.ip .. "/" .. a.prefix, MacAddress = a.mac or "",
      EndpointID = (self.attachments[a.id] or {}).veth_host or "", Ports = json.array(ps),
    }
  end
  return json.object {
    Name = self.name, Id = self.id, Created = self.created, Scope = "local", Driver = self.driver,
    IPAM = { Driver = "default", Config = json.array { { Subnet = self.subnet, Gateway = self.gateway } } },
    Containers = json.object(containers),
    Options = { ["com.docker.network.bridge.name"] = self.bridge },
  }
end

return M
