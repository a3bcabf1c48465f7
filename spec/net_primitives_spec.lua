-- ctr.net primitives (rtnetlink via libmnl). Every test runs in a fresh
-- network namespace of its own: the busted process unshares one in
-- before_each and returns to its original one in after_each, so the host's
-- links are never touched and whatever a test leaves dies with its netns.
local core = require "ctr.core"
local net = require "ctr.net"
local U = require "spec_util"

local function sh(cmd) local out, _, code = U.sh(cmd); return out, code end

describe("ctr.net primitives #root", function()
  local saved, pids

  local function spawn_netns()
    local p = io.popen("unshare --net sh -c 'echo $$; exec sleep 60 >/dev/null 2>&1' &")
    local pid = math.tointeger(tonumber(p:read("l"))); p:close()
    assert.is_not_nil(pid)
    pids[#pids + 1] = pid
    return pid
  end

  before_each(function()
    pids = {}
    saved = assert(core.open_ns(0, "net"))
    assert(core.unshare("net"))
  end)

  after_each(function()
    for _, pid in ipairs(pids) do core.kill(pid, "KILL"); core.waitpid(pid) end
    assert(core.setns(saved, "net"))
    saved:close()
  end)

  it("creates a bridge, adds an address and sets it up", function()
    assert.is_true(net.link_add_bridge("tbr0"))
    assert.is_true(net.link_exists("tbr0"))
    assert.is_true(net.addr_add("tbr0", "10.77.0.1/24"))
    assert.is_true(net.link_set_up("tbr0"))
    local out = sh("ip -o -4 addr show dev tbr0")
    assert.matches("inet 10.77.0.1/24 brd 10.77.0.255", out, 1, true)
    assert.matches("UP", (sh("ip -o link show dev tbr0")), 1, true)
    local ok, err, errno = net.link_add_bridge("tbr0")
    assert.is_nil(ok)
    assert.matches("creating bridge tbr0: File exists", err, 1, true)
    assert.equals(core.errno.EEXIST, errno)
    assert.is_true(net.link_del("tbr0"))
    assert.is_false(net.link_exists("tbr0"))
  end)

  it("reports missing links and bad arguments", function()
    local ok, err, errno = net.link_index("nope0")
    assert.is_nil(ok)
    assert.matches("looking up link nope0", err, 1, true)
    assert.equals(core.errno.ENODEV, errno)
    ok, err = net.link_add_bridge("a-name-that-is-too-long")
    assert.is_nil(ok)
    assert.matches("bad interface name", err, 1, true)
    assert.is_true(net.link_add_bridge("tbr1"))
    ok, err = net.addr_add("tbr1", "10.1.2.3")
    assert.is_nil(ok)
    assert.matches("bad IPv4 address/prefix", err, 1, true)
    assert.has_error(function() net.link_set_up({}) end)
    assert.has_error(function() net.link_set_netns("x", "notans") end)
  end)

  it("moves a veth end into another netns and configures it as eth0", function()
    local pid = spawn_netns()
    assert.is_true(net.link_add_bridge("tbr0"))
    assert.is_true(net.addr_add("tbr0", "10.77.0.1/24"))
    assert.is_true(net.link_set_up("tbr0"))
    assert.is_true(net.link_add_veth("tveth0", "tpeer0"))
    assert.is_true(net.link_set_master("tveth0", "tbr0"))
    assert.is_true(net.link_set_up("tveth0"))
    assert.is_true(net.link_set_netns("tpeer0", pid))
    assert.is_false(net.link_exists("tpeer0"))
    local mac = assert(net.configure_container_iface {
      pid = pid, ifname = "tpeer0", name = "eth0", addr = "10.77.0.2/24", gateway = "10.77.0.1" })
    assert.matches("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$", mac)
    local inside = "nsenter -t " .. pid .. " -n "
    assert.matches("inet 10.77.0.2/24", (sh(inside .. "ip -o -4 addr show dev eth0")), 1, true)
    assert.matches("link/ether " .. mac, (sh(inside .. "ip -o link show dev eth0")), 1, true)
    assert.matches("default via 10.77.0.1 dev eth0", (sh(inside .. "ip route")), 1, true)
    assert.matches("LOOPBACK,UP", (sh(inside .. "ip -o link show dev lo")), 1, true)
    local _, code = sh(inside .. "busybox ping -c 1 -W 2 10.77.0.1")
    assert.equals(0, code)
  end)

  it("acts in a netns given by fd and reports errors from inside it", function()
    local pid = spawn_netns()
    local fd = assert(core.open_ns(pid, "net"))
    assert.is_true(net.link_set_up("lo", fd))
    assert.matches("LOOPBACK,UP", (sh("nsenter -t " .. pid .. " -n ip -o link show dev lo")), 1, true)
    local ok, err, errno = net.configure_container_iface { netns_fd = fd, ifname = "absent0", addr = "10.1.0.2/24" }
    assert.is_nil(ok)
    assert.matches("in the network namespace of fd %d+: looking up link absent0", err)
    assert.equals(core.errno.ENODEV, errno)
    assert.is_true(net.link_add_veth("tv1", "tv2"))
    assert.is_true(net.link_set_netns("tv2", fd))
    assert.is_true(net.link_rename("tv2", "eth5", fd))
    assert.is_true(net.addr_add("eth5", "10.5.0.2/24", { fd = fd }))
    assert.is_true(net.link_set_up("eth5", { pid = pid }))
    assert.matches("inet 10.5.0.2/24", (sh("nsenter -t " .. pid .. " -n ip -o -4 addr show dev eth5")), 1, true)
    fd:close()
    assert.is_true(net.link_del("tv1"))
    assert.equals("", (sh("nsenter -t " .. pid .. " -n ip -o link show dev eth5 2>/dev/null")))
  end)

  it("sets hairpin mode of a bridge port", function()
    assert.is_true(net.link_add_bridge("tbr0"))
    assert.is_true(net.link_add_veth("tv1", "tv2"))
    assert.is_true(net.link_set_master("tv1", "tbr0"))
    assert.matches("hairpin off", (sh("bridge -d link show dev tv1")), 1, true)
    assert.is_true(net.link_set_hairpin("tv1"))
    assert.matches("hairpin on", (sh("bridge -d link show dev tv1")), 1, true)
    assert.is_true(net.link_set_hairpin("tv1", false))
    assert.matches("hairpin off", (sh("bridge -d link show dev tv1")), 1, true)
    local ok, err = net.link_set_hairpin("tv2")
    assert.is_nil(ok)
    assert.matches("setting hairpin mode of tv2 on", err, 1, true)
  end)

  it("creates a veth pair in one request: host end enslaved and up, peer made in a netns under its name", function()
    local pid = spawn_netns()
    assert.is_true(net.link_add_bridge("tbr0"))
    assert.is_true(net.link_add_veth("tv1", "eth3", { netns = pid, master = "tbr0", up = true }))
    local host = sh("ip -o link show dev tv1")
    assert.matches("master tbr0", host, 1, true)
    assert.matches("[<,]UP[,>]", host)
    assert.is_false(net.link_exists("eth3")) -- not in the caller's netns
    local peer = sh("nsenter -t " .. pid .. " -n ip -o link show dev eth3")
    assert.matches("eth3@", peer, 1, true)
    assert.is_nil(peer:match("[<,]UP[,>]"))
    -- by fd, no master, down; an existing name in the netns fails whole
    local fd = assert(core.open_ns(pid, "net"))
    assert.is_true(net.link_add_veth("tv2", "eth4", { netns = fd }))
    assert.is_nil(sh("ip -o link show dev tv2"):match("master"))
    local ok, err, errno = net.link_add_veth("tv3", "eth4", { netns = { fd = fd } })
    assert.is_nil(ok)
    assert.matches("creating veth pair tv3 <-> eth4 (in the netns of fd", err, 1, true)
    assert.equals(core.errno.EEXIST, errno)
    assert.is_false(net.link_exists("tv3"))
    ok, err = net.link_add_veth("tv3", "eth5", { netns = pid, master = "nobr0" })
    assert.is_nil(ok)
    assert.matches("nobr0", err, 1, true)
    assert.is_false(net.link_exists("tv3"))
    fd:close()
    assert.is_true(net.link_del("tv1"))
    assert.equals("", (sh("nsenter -t " .. pid .. " -n ip -o link show dev eth3 2>/dev/null")))
  end)
  -- core/nftset.c: an element list is one attribute of at most 64 KB, so
  -- thousands of ports take several messages of the one batch; the answers
  -- of a failed batch that large must still be read.
  it("publishes and withdraws thousands of ports in one batch, read back by nft", function()
    local _, err, code = U.sh("nft -f -", { stdin = [[
add table ip tports
add map ip tports ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map ip tports ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
]] })
    assert.equals(0, code, err)
    local ports = {}
    for i = 1, 6000 do
      ports[i] = { host_ip = i % 2 == 0 and "0.0.0.0" or "127.0.0.1", proto = i % 3 == 0 and "udp" or "tcp",
                   host_port = 10000 + i, to_ip = "10.77.0.2", to_port = 20000 + i }
    end
    local function count(map)
      local out = sh("nft list map ip tports " .. map)
      local n = 0
      for _ in out:gmatch(": 10%.77%.0%.2 %. %d+") do n = n + 1 end
      return n, out
    end
    assert.is_true(net.nft_port_elements("tports", true, ports))
    assert.is_true(net.nft_port_elements("tports", true, ports)) -- already there: no error
    local n_any, any = count("ports_any")
    local n_ip, ip = count("ports_ip")
    assert.equals(3000, n_any)
    assert.equals(3000, n_ip)
    assert.matches("udp . 16000 : 10.77.0.2 . 26000", any, 1, true)
    assert.matches("127.0.0.1 . tcp . 10001 : 10.77.0.2 . 20001", ip, 1, true)
    assert.is_true(net.nft_port_elements("tports", false, ports))
    assert.equals(0, (count("ports_any")))
    assert.equals(0, (count("ports_ip")))
    assert.is_true(net.nft_port_elements("tports", false, ports)) -- idempotent
    assert.is_true(net.nft_port_elements("gone", false, ports)) -- no table: nothing to remove
    local ok, msg, errno = net.nft_port_elements("gone", true, ports)
    assert.is_nil(ok)
    assert.equals("nftables: adding the published ports' elements: No such file or directory", msg)
    assert.equals(core.errno.ENOENT, errno)
  end)
end)
