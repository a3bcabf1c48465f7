-- ctr.network management: create/ls/inspect/rm, the default network, address
-- allocation (persistence, concurrency, full networks), publish specs.
-- Every test runs in a fresh network namespace of its own (unshared by the
-- busted process in before_each, left in after_each) and a temporary state
-- root, so neither the host's links and rules nor its state are touched.
local core = require "ctr.core"
local net = require "ctr.net"
local N = require "ctr.network"
local state = require "ctr.state"
local U = require "spec_util"

local function sh(cmd) local out, _, code = U.sh(cmd); return out, code end

describe("ctr.network #root", function()
  local saved, root

  before_each(function()
    root = U.tmproot()
    state.set_root(root)
    saved = assert(core.open_ns(0, "net"))
    assert(core.unshare("net"))
  end)

  after_each(function()
    assert(core.setns(saved, "net"))
    saved:close()
    state.set_root(nil)
    U.cleanup(root)
  end)

  it("creates, lists, inspects and removes a network", function()
    local n = N.create { name = "front", subnet = "10.91.0.0/24" }
    assert.equals("front", n.name)
    assert.equals("10.91.0.0/24", n.subnet)
    assert.equals("10.91.0.1", n.gateway)
    assert.equals("bridge", n.driver)
    assert.matches("^%x+$", n.id)
    assert.is_true(net.link_exists(n.bridge))
    assert.matches("inet 10.91.0.1/24", (sh("ip -o -4 addr show dev " .. n.bridge)), 1, true)
    assert.equals("1", (sh("cat /proc/sys/net/ipv4/ip_forward")):match("%d"))
    assert.equals("1", (sh("cat /proc/sys/net/ipv4/conf/" .. n.bridge .. "/route_localnet")):match("%d"))
    local short = n.id:sub(1, 12)
    local rs = N.ruleset()
    assert.truthy(rs:find('"' .. n.bridge .. '" : jump n-' .. short .. '-fwd', 1, true), rs)
    assert.truthy(rs:find('10.91.0.0/24 : jump n-' .. short .. '-post', 1, true), rs)
    assert.truthy(rs:find("chain n-" .. short .. "-fwd {", 1, true), rs)
    local got = assert(N.get("front"))
    assert.equals(n.id, got.id)
    local names = {}
    for _, x in ipairs(N.list()) do names[#names + 1] = x.name end
    assert.same({ "front" }, names)
    assert.has_error(function() N.create { name = "front" } end, "network front already exists")
    assert.has_error(function() N.create { name = "other", subnet = "10.91.0.128/25" } end,
      "subnet 10.91.0.128/25 overlaps network front (10.91.0.0/24)")
    assert.is_true(N.remove("front"))
    assert.is_false(net.link_exists(n.bridge))
    assert.is_nil(N.ruleset():find(short, 1, true))
    assert.is_nil(N.ruleset():find(n.bridge, 1, true))
    local none, err = N.get("front")
    assert.is_nil(none)
    assert.equals("no such network: front", err)
    assert.has_error(function() N.remove("front") end, "no such network: front")
  end)

  it("removes a network whose firewall table or bridge is gone (after a reboot, nft flush ruleset)", function()
    local n = N.create { name = "gone", subnet = "10.92.0.0/24" }
    assert(require("ctr.nft").run("delete table ip luac-ctr"))
    assert.is_true(N.remove("gone"))
    assert.is_false(net.link_exists(n.bridge))
    assert.equals("", N.ruleset()) -- no table made again just to be torn down
    local m = N.create { name = "gone2", subnet = "10.93.0.0/24" }
    assert(net.link_del(m.bridge))
    assert.is_true(N.remove("gone2"))
    assert.is_nil(N.ruleset():find(m.id:sub(1, 12), 1, true))
  end)

  it("validates subnets and gateways", function()
    assert.has_error(function() N.create { name = "a", subnet = "10.1.0.5/24" } end,
      "bad subnet '10.1.0.5/24': host bits set (did you mean 10.1.0.0/24?)")
    assert.has_error(function() N.create { name = "a", subnet = "10.0.0.0/7" } end,
      "bad subnet 10.0.0.0/7: prefix must be /8 to /30")
    assert.has_error(function() N.create { name = "a", subnet = "10.1.0.0/31" } end,
      "bad subnet 10.1.0.0/31: prefix must be /8 to /30")
    assert.has_error(function() N.create { name = "a", subnet = "nope" } end,
      "bad subnet 'nope' (want a.b.c.d/len)")
    assert.has_error(function() N.create { name = "a", subnet = "10.1.0.0/24", gateway = "10.2.0.1" } end,
      "gateway 10.2.0.1 is not a usable address of 10.1.0.0/24")
    assert.has_error(function() N.create { name = "bad/name" } end)
    local n = N.create { name = "gw", subnet = "10.1.0.0/24", gateway = "10.1.0.254" }
    assert.equals("10.1.0.254", n.gateway)
    assert.equals("10.1.0.1", (N.allocate_ip("gw", "c1")))
    N.remove("gw")
    assert.same({}, N.list())
  end)

  it("picks a free /24 that overlaps no network and no host route", function()
    -- a host route over 172.18.0.0/23 pushes the pick past it
    assert(net.link_add_bridge("hostbr"))
    assert(net.addr_add("hostbr", "172.18.0.1/23"))
    assert(net.link_set_up("hostbr"))
    local a = N.create { name = "a" }
    assert.equals("172.18.2.0/24", a.subnet)
    local b = N.create { name = "b" }
    assert.equals("172.18.3.0/24", b.subnet)
    N.remove("a"); N.remove("b")
  end)

  it("creates the default network lazily, avoiding host routes", function()
    local d = N.ensure_default()
    assert.equals("bridge", d.name)
    assert.equals("172.17.0.0/16", d.subnet)
    -- lctr0 belongs to the default state root; this spec's root gets its own bridge
    assert.equals(N.BRIDGE_PREFIX .. "-" .. d.id:sub(1, 10), d.bridge)
    assert.is_true(net.link_exists(d.bridge))
    assert.equals(d.id, N.ensure_default().id)
    N.remove("bridge")
    assert.is_false(net.link_exists(d.bridge))
    assert(net.link_add_bridge("hostbr"))
    assert(net.addr_add("hostbr", "172.17.5.1/24"))
    assert(net.link_set_up("hostbr"))
    d = N.ensure_default()
    assert.equals("172.18.0.0/16", d.subnet)
    N.remove("bridge")
  end)

  it("allocates persistently, skips network/gateway/broadcast, releases", function()
    N.create { name = "s", subnet = "10.3.0.0/29" } -- hosts .1 (gw) .. .6
    local got = {}
    for i = 1, 5 do got[i] = (N.allocate_ip("s", "c" .. i)) end
    assert.same({ "10.3.0.2", "10.3.0.3", "10.3.0.4", "10.3.0.5", "10.3.0.6" }, got)
    assert.has_error(function() N.allocate_ip("s", "c6") end,
      "network s (10.3.0.0/29) is full: all 5 addresses are in use")
    N.release_ip("s", "c3")
    assert.equals("10.3.0.4", (N.allocate_ip("s", "c7")))
    assert.has_error(function() N.allocate_ip("s", "c8", "10.3.0.2") end,
      "address 10.3.0.2 on network s is in use by c1")
    assert.has_error(function() N.allocate_ip("s", "c8", "10.3.0.1") end,
      "10.3.0.1 is the gateway of network s")
    assert.has_error(function() N.allocate_ip("s", "c8", "10.3.0.7") end,
      "10.3.0.7 is not a host address of 10.3.0.0/29")
    assert.same("c7", N.get("s").allocated["10.3.0.4"])
    for i = 1, 7 do N.release_ip("s", "c" .. i) end
    N.remove("s")
  end)

  it("a full /30 gives a clear error", function()
    N.create { name = "tiny", subnet = "10.4.0.0/30" }
    assert.equals("10.4.0.2", (N.allocate_ip("tiny", "one")))
    assert.has_error(function() N.allocate_ip("tiny", "two") end,
      "network tiny (10.4.0.0/30) is full: all 1 addresses are in use")
    N.release_ip("tiny", "one")
    N.remove("tiny")
  end)

  it("works on a /8 without enumerating it", function()
    N.create { name = "huge", subnet = "10.0.0.0/8" }
    assert.equals("10.0.0.2", (N.allocate_ip("huge", "a")))
    assert.equals("10.255.255.254", (N.allocate_ip("huge", "b", "10.255.255.254")))
    assert.equals("10.0.0.3", (N.allocate_ip("huge", "c")))
    N.release_ip("huge", "a"); N.release_ip("huge", "b"); N.release_ip("huge", "c")
    N.remove("huge")
  end)

  it("gives 50 concurrent allocations 50 distinct addresses", function()
    N.create { name = "par", subnet = "10.5.0.0/16" }
    local lua = ("package.path=%q; package.cpath=%q; local N=require'ctr.network'; require'ctr.state'.set_root(%q); "
      .. "io.write(N.allocate_ip('par', arg[1]), '\\n')"):format(package.path, package.cpath, root)
    local script = root .. "/alloc.lua"
    local f = assert(io.open(script, "w")); f:write(lua); f:close()
    local out, code = sh(("for i in $(seq 1 50); do lua5.4 %s c$i & done; wait"):format(U.q(script)))
    assert.equals(0, code)
    local seen, n = {}, 0
    for ip in out:gmatch("[^\n]+") do
      assert.is_nil(seen[ip], "duplicate " .. ip)
      seen[ip] = true
      n = n + 1
    end
    assert.equals(50, n)
    local alloc = N.get("par").allocated
    local owners = 0
    for ip, owner in pairs(alloc) do
      assert.is_true(seen[ip])
      assert.matches("^c%d+$", owner)
      owners = owners + 1
    end
    assert.equals(50, owners)
    for i = 1, 50 do N.release_ip("par", "c" .. i) end
    assert.same({}, N.get("par").allocated)
    N.remove("par")
  end)

  it("parses publish specs", function()
    assert.same({ host_ip = "0.0.0.0", host_port = 8080, container_port = 80, proto = "tcp" },
      N.parse_publish("8080:80"))
    assert.same({ host_ip = "0.0.0.0", host_port = 53, container_port = 5353, proto = "udp" },
      N.parse_publish("53:5353/udp"))
    assert.same({ host_ip = "127.0.0.1", host_port = 8080, container_port = 80, proto = "tcp" },
      N.parse_publish("127.0.0.1:8080:80/tcp"))
    assert.has_error(function() N.parse_publish("80") end,
      "bad publish spec '80': expected HOSTPORT:CTRPORT (want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])")
    assert.has_error(function() N.parse_publish("8080:80/sctp") end,
      "bad publish spec '8080:80/sctp': protocol must be tcp or udp (want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])")
    assert.has_error(function() N.parse_publish("70000:80") end,
      "bad publish spec '70000:80': host port '70000' is not a port 1-65535 (want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])")
    assert.has_error(function() N.parse_publish("x.y:1:2") end,
      "bad publish spec 'x.y:1:2': host address 'x.y' is not an IPv4 address (want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])")
  end)
end)
