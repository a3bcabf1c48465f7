-- network_unit_spec: the pure parts of ctr.network, called directly: IPv4
-- arithmetic and IPAM (ctr.network.ipam), publish specs (ctr.network.ports),
-- --add-host entries (ctr.network.hosts), memberships read from hand-written
-- state files (ctr.network.store) and the Network objects' views. No root,
-- no bridge, no firewall; the whole file runs in milliseconds.
local U = require "spec_util"
local errors = require "ctr.errors"
local hosts = require "ctr.network.hosts"
local ipam = require "ctr.network.ipam"
local json = require "ctr.json"
local network = require "ctr.network"
local ports = require "ctr.network.ports"
local state = require "ctr.state"
local store = require "ctr.network.store"

-- the error value fn(...) raises: kind, message
local function raised(fn, ...)
  local ok, e = pcall(fn, ...)
  assert(not ok, "expected an error")
  assert(errors.is(e), "not a ctr.errors value: " .. tostring(e))
  return e.kind, e.msg
end

local function net(subnet, gateway)
  local nn, np = ipam.parse_cidr(subnet)
  return { name = "t", subnet = subnet, gateway = gateway or ipam.int2ip(nn + 1), allocated = {},
           attachments = {}, prefix = np }
end

describe("ctr.network.ipam: parse and format", function()
  it("dotted quads round-trip; anything else is nil", function()
    for _, s in ipairs { "0.0.0.0", "10.0.0.1", "172.17.255.254", "255.255.255.255" } do
      assert.equals(s, ipam.int2ip(ipam.ip2int(s)))
    end
    assert.equals(0x0a000001, ipam.ip2int("10.0.0.1"))
    for _, s in ipairs { "256.1.1.1", "1.2.3", "1.2.3.4.5", " 1.2.3.4", "a.b.c.d", "", "-1.2.3.4" } do
      assert.is_nil(ipam.ip2int(s), s)
    end
    assert.is_nil(ipam.ip2int(nil))
  end)

  it("parse_cidr normalizes, refuses host bits unless loose, raises invalid", function()
    assert.same({ 0xc0a80100, 24 }, { ipam.parse_cidr("192.168.1.0/24") })
    assert.same({ 0xc0a80100, 24 }, { ipam.parse_cidr("192.168.1.77/24", true) })
    assert.equals("192.168.1.0/24", ipam.format_cidr(ipam.parse_cidr("192.168.1.77/24", true)))
    local kind, msg = raised(ipam.parse_cidr, "192.168.1.77/24")
    assert.equals("invalid", kind)
    assert.equals("bad subnet '192.168.1.77/24': host bits set (did you mean 192.168.1.0/24?)", msg)
    for _, s in ipairs { "10.0.0.0/33", "10.0.0.0", "10.0.0/8", "x/8", "10.0.0.0/-1" } do
      assert.equals("invalid", (raised(ipam.parse_cidr, s)), s)
    end
  end)
end)

describe("ctr.network.ipam: prefix math", function()
  it("masks, overlaps and host ranges", function()
    assert.equals(0, ipam.mask(0))
    assert.equals(0xffffff00, ipam.mask(24))
    assert.equals(0xffffffff, ipam.mask(32))
    assert.equals(0xfffc0000, ipam.mask(14))
    local a16 = ipam.ip2int("172.17.0.0")
    assert.is_true(ipam.overlaps(a16, 16, ipam.ip2int("172.17.200.0"), 24))
    assert.is_true(ipam.overlaps(ipam.ip2int("172.16.0.0"), 12, a16, 16))
    assert.is_false(ipam.overlaps(a16, 16, ipam.ip2int("172.18.0.0"), 16))
    local first, last, gw, np = ipam.host_range(net("10.9.0.0/30"))
    assert.same({ "10.9.0.1", "10.9.0.2", "10.9.0.1", 30 },
      { ipam.int2ip(first), ipam.int2ip(last), ipam.int2ip(gw), np })
    first, last = ipam.host_range(net("172.20.0.0/16"))
    assert.same({ "172.20.0.1", "172.20.255.254" }, { ipam.int2ip(first), ipam.int2ip(last) })
  end)

  it("check_subnet: /8 to /30, a usable gateway", function()
    assert.same({ "10.1.0.0/24", "10.1.0.1", 24 }, { ipam.check_subnet("10.1.0.0/24") })
    assert.same({ "10.1.0.0/24", "10.1.0.254", 24 }, { ipam.check_subnet("10.1.0.0/24", "10.1.0.254") })
    for _, c in ipairs { { "10.0.0.0/7" }, { "10.1.0.0/31" }, { "10.1.0.0/24", "10.1.0.0" },
                         { "10.1.0.0/24", "10.1.0.255" }, { "10.1.0.0/24", "10.2.0.1" }, { "10.1.0.0/24", "x" } } do
      assert.equals("invalid", (raised(ipam.check_subnet, c[1], c[2])), c[1] .. " " .. tostring(c[2]))
    end
  end)

  it("picks the first free private subnet around networks and host routes", function()
    assert.equals("172.17.0.0/16", ipam.pick_subnet({}, 16, {}))
    assert.equals("172.18.0.0/16", ipam.pick_subnet({ { name = "a", subnet = "172.17.0.0/16" } }, 16, {}))
    assert.equals("172.18.0.0/24", ipam.pick_subnet({}, 24, {}))
    -- a route over all of 172.16/12: the /24s of 10/8 come next
    local routes = { { net = ipam.ip2int("172.16.0.0"), prefix = 12 } }
    assert.equals("10.0.0.0/24", ipam.pick_subnet({}, 24, routes))
    assert.equals("10.0.1.0/24", ipam.pick_subnet({ { name = "b", subnet = "10.0.0.0/24" } }, 24, routes))
    local ok, what = ipam.subnet_free(ipam.ip2int("172.20.1.0"), 24, {}, routes)
    assert.is_false(ok)
    assert.equals("a host route (172.16.0.0/12)", what)
    routes[2] = { net = ipam.ip2int("10.0.0.0"), prefix = 8 }
    routes[3] = { net = ipam.ip2int("192.168.0.0"), prefix = 16 }
    local kind, msg = raised(ipam.pick_subnet, {}, 24, routes)
    assert.equals("conflict", kind)
    assert.matches("no free private subnet", msg, 1, true)
  end)
end)

describe("ctr.network.ipam: allocation", function()
  it("a /30 has one address for a container; then it is full (conflict)", function()
    local n = net("10.9.0.0/30")
    assert.same({ "10.9.0.2", 30 }, { ipam.allocate(n, "c1") })
    local kind, msg = raised(ipam.allocate, n, "c2")
    assert.equals("conflict", kind)
    assert.equals("network t (10.9.0.0/30) is full: all 1 addresses are in use", msg)
    assert.equals(1, ipam.release(n, "c1"))
    assert.equals("10.9.0.2", (ipam.allocate(n, "c2")))
    assert.same({ ["10.9.0.2"] = "c2" }, n.allocated)
  end)

  it("wanted addresses: invalid outside the hosts or the gateway, conflict when taken", function()
    local n = net("10.9.0.0/29")
    assert.equals("10.9.0.6", (ipam.allocate(n, "a", "10.9.0.6")))
    assert.same({ "conflict", "address 10.9.0.6 on network t is in use by a" }, { raised(ipam.allocate, n, "b", "10.9.0.6") })
    assert.same({ "invalid", "10.9.0.1 is the gateway of network t" }, { raised(ipam.allocate, n, "b", "10.9.0.1") })
    assert.same({ "invalid", "10.9.0.7 is not a host address of 10.9.0.0/29" }, { raised(ipam.allocate, n, "b", "10.9.0.7") })
    assert.same({ "invalid", "10.9.0.0 is not a host address of 10.9.0.0/29" }, { raised(ipam.allocate, n, "b", "10.9.0.0") })
    assert.equals("invalid", (raised(ipam.allocate, n, "b", "10.9.0.300")))
  end)

  it("a /16 goes round robin across the octet boundary, wraps, skips the gateway", function()
    local n = net("172.20.0.0/16")
    local got = {}
    for i = 1, 300 do got[i] = (ipam.allocate(n, "c" .. i)) end
    assert.equals("172.20.0.2", got[1])
    assert.equals("172.20.0.255", got[254])
    assert.equals("172.20.1.0", got[255])
    assert.equals("172.20.1.45", got[300])
    -- released addresses are not reused before the range wraps round
    ipam.release(n, "c1")
    assert.equals("172.20.1.46", (ipam.allocate(n, "x")))
    n.last = "172.20.255.254"
    assert.equals("172.20.0.2", (ipam.allocate(n, "y"))) -- wrapped, and .1 is the gateway
  end)

  it("a /22 filled but for one address gives that one, then is full (conflict)", function()
    local n = net("172.20.0.0/22")
    local gw = ipam.ip2int("172.20.0.1")
    for i = ipam.ip2int("172.20.0.2"), ipam.ip2int("172.20.3.254") do
      if i ~= gw then n.allocated[ipam.int2ip(i)] = "f" end
    end
    n.allocated["172.20.2.7"] = nil
    n.last = "172.20.3.0"
    assert.equals("172.20.2.7", (ipam.allocate(n, "last"))) -- wraps round to find it
    local kind, msg = raised(ipam.allocate, n, "more")
    assert.equals("conflict", kind)
    assert.equals("network t (172.20.0.0/22) is full: all 1021 addresses are in use", msg)
  end)
end)

describe("ctr.network.ports and hosts: specs", function()
  it("parses publish specs; bad ones are invalid", function()
    assert.same({ host_ip = "127.0.0.1", host_port = 53, container_port = 5353, proto = "udp" },
      ports.parse_publish("127.0.0.1:53:5353/UDP"))
    assert.same(ports.parse_publish("8080:80"), network.parse_publish("8080:80"))
    for _, s in ipairs { "80", "0:80", "8080:80/sctp", "1.2.3:1:2", "a:b", "1:2:3:4" } do
      assert.equals("invalid", (raised(ports.parse_publish, s)), s)
    end
    assert.equals("invalid", (raised(ports.parse_publish, 80)))
    assert.equals("0.0.0.0:8080->80/tcp", ports.format(ports.parse_publish("8080:80")))
  end)

  it("normalizes port lists; a port twice is invalid, one another container has a conflict", function()
    local list = ports.normalize { "8080:80", { host_port = 53, container_port = 53, proto = "udp" } }
    assert.same({ host_ip = "0.0.0.0", host_port = 53, container_port = 53, proto = "udp" }, list[2])
    assert.same({ "invalid", "host port 8080/tcp is published twice" }, { raised(ports.normalize, { "8080:80", "8080:81" }) })
    assert.equals("invalid", (raised(ports.normalize, { { host_port = "x", container_port = 1 } })))
    assert.equals("invalid", (raised(ports.normalize, { { host_ip = "nope", host_port = 1, container_port = 1 } })))
    local nets = { { attachments = { other = { ports = ports.normalize { "127.0.0.1:8080:80" } } } } }
    assert.same({ "conflict", "host port 8080/tcp is already published by container other" },
      { raised(ports.check_conflicts, nets, ports.normalize { "8080:1" }, "me") })
    ports.check_conflicts(nets, ports.normalize { "127.0.0.2:8080:1", "8080:1/udp" }, "me")
    ports.check_conflicts(nets, ports.normalize { "8080:1" }, "other") -- its own
  end)

  it("parses --add-host entries; a bad one is invalid", function()
    assert.same({ { host = "db", ip = "10.0.0.5" }, { host = "x", ip = "1.2.3.4" } },
      hosts.parse_extra { "db:10.0.0.5", { host = "x", ip = "1.2.3.4" } })
    for _, h in ipairs { "db", "db:nope", "a b:1.2.3.4", "a\nb:1.2.3.4" } do
      assert.equals("invalid", (raised(hosts.parse_extra, { h })), h)
    end
    assert.equals("invalid", (raised(hosts.parse_extra, { { host = "x" } })))
  end)
end)

describe("ctr.network: the store and Network objects without a kernel", function()
  local root, old
  setup(function()
    root = U.tmproot()
    old = state.root()
    state.set_root(root)
  end)
  teardown(function()
    state.set_root(old)
    U.cleanup(root)
  end)

  local ID = ("ab"):rep(32)
  local function write(rec)
    local f = assert(io.open(store.dir() .. "/" .. rec.name .. ".json", "w"))
    f:write(json.encode(rec)); f:close()
  end

  it("memberships come from the records: attached or holding an address", function()
    write { name = "n1", id = ("1"):rep(64), subnet = "10.1.0.0/24", gateway = "10.1.0.1", bridge = "lctr-1",
            driver = "bridge", allocated = { ["10.1.0.2"] = ID }, attachments = { [ID] = {
              ip = "10.1.0.2", prefix = 24, name = "web", mac = "02:00:00:00:00:01", veth_host = "vlc1",
              ports = { { host_ip = "0.0.0.0", host_port = 8080, container_port = 80, proto = "tcp" } } } } }
    write { name = "n2", id = ("2"):rep(64), subnet = "10.2.0.0/24", gateway = "10.2.0.1", bridge = "lctr-2",
            driver = "bridge", allocated = { ["10.2.0.9"] = ID }, attachments = {} }
    -- the id only in a name: not a membership
    write { name = "n3", id = ("3"):rep(64), subnet = "10.3.0.0/24", gateway = "10.3.0.1", bridge = "lctr-3",
            driver = "bridge", allocated = {}, attachments = { other = { ip = "10.3.0.2", prefix = 24, name = ID } } }
    assert.same({ "n1", "n2" }, network.memberships(ID))
    assert.same({}, network.memberships(("cd"):rep(32)))
    assert.same({ "n1", "n2", "n3" }, (function()
      local t = {}
      for _, n in ipairs(network.list()) do t[#t + 1] = n.name end
      return t
    end)())
  end)

  it("get returns a Network (by name, table or id prefix) or nil and a message", function()
    local n = assert(network.get("n1"))
    assert.equals(network.Network, getmetatable(n))
    assert.equals("n2", network.get({ name = "n2" }).name)
    assert.equals("n3", network.get("333").name)
    assert.same({ nil, "no such network: nope" }, { network.get("nope") })
    assert.same({ "not_found", "no such network: nope" }, { raised(network.must_get, "nope") })
    assert.same({ "not_found", "no such network: nope" }, { raised(network.remove, { name = "nope" }) })
    assert.same({ "conflict", "network n1 has 1 attached container(s): " .. ID }, { raised(n.remove, n) })
  end)

  it("create refuses a bad name (invalid) and a taken one (conflict) before touching the kernel", function()
    assert.same({ "invalid", "bad network name 'bad/name' (letters, digits, _ . -; up to 64)" },
      { raised(network.create, "bad/name") })
    assert.same({ "conflict", "network n1 already exists" }, { raised(network.create, { name = "n1" }) })
    assert.equals("invalid", (raised(network.create, 5)))
  end)

  it("net:containers() and net:inspect() read the record", function()
    local n = network.get("n1")
    assert.same({ { id = ID, name = "web", ip = "10.1.0.2", prefix = 24, mac = "02:00:00:00:00:01",
                    ports = n.attachments[ID].ports } }, n:containers())
    local r = n:inspect()
    assert.equals("n1", r.Name)
    assert.equals("10.1.0.0/24", r.IPAM.Config[1].Subnet)
    assert.same({ "0.0.0.0:8080->80/tcp" }, r.Containers[ID].Ports)
    assert.equals("10.1.0.2/24", r.Containers[ID].IPv4Address)
    assert.equals("lctr-1", r.Options["com.docker.network.bridge.name"])
    assert.same({}, network.get("n2"):containers())
  end)
end)
