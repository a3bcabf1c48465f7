-- ctr.network traffic: containers on a bridge network reach each other (by
-- address and by name through their hosts files), two networks are isolated,
-- published TCP and UDP ports are reachable from 127.0.0.1 and from another
-- local address, and detach / network rm leave `ip link` and the firewall
-- as they were.
--
-- Every test runs in a fresh network namespace (unshared by the busted process
-- in before_each, left in after_each) with a temporary state root. The
-- "containers" are processes in network namespaces of their own
-- (`unshare --net`); traffic goes only to loopback, to the test netns' own
-- addresses and to those namespaces. A small C helper (compiled once from the
-- source below) serves and sends TCP/UDP messages and reports the peer.
local core = require "ctr.core"
local net = require "ctr.net"
local N = require "ctr.network"
local state = require "ctr.state"
local U = require "spec_util"

local function sh(cmd) local out, _, code = U.sh(cmd); return out, code end

local HELPER_C = [[
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
/* netx serve tcp|udp PORT COUNT      print "ready", then answer COUNT messages
 * netx send tcp|udp HOST PORT MSG    print the answer (exit 1 without one) */
static int serve(int udp, int port, int count) {
  int s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || (!udp && listen(s, 16) < 0)) { perror("bind"); return 1; }
  printf("ready\n"); fflush(stdout);
  for (int i = 0; i < count; i++) {
    char buf[256], out[512]; struct sockaddr_in p; socklen_t pl = sizeof p; ssize_t n; int c = s;
    if (udp) n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&p, &pl);
    else { c = accept(s, (struct sockaddr *)&p, &pl); n = c < 0 ? -1 : read(c, buf, sizeof buf - 1); }
    if (n < 0) { perror("recv"); return 1; }
    buf[n] = 0;
    snprintf(out, sizeof out, "echo %s from %s", buf, inet_ntoa(p.sin_addr));
    if (udp) sendto(s, out, strlen(out), 0, (struct sockaddr *)&p, pl);
    else { if (write(c, out, strlen(out)) < 0) perror("write"); close(c); }
    printf("%s\n", out); fflush(stdout);
  }
  return 0;
}
static int sendmsg_(int udp, const char *host, const char *port, const char *msg) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM}, *ai;
  if (getaddrinfo(host, port, &hints, &ai) != 0) { fprintf(stderr, "cannot resolve %s\n", host); return 2; }
  int s = socket(AF_INET, hints.ai_socktype, 0);
  struct timeval tv = {.tv_sec = 2};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) { perror("connect"); return 1; }
  if (write(s, msg, strlen(msg)) < 0) { perror("send"); return 1; }
  char buf[512]; ssize_t n = read(s, buf, sizeof buf - 1);
  if (n <= 0) { fprintf(stderr, "no answer\n"); return 1; }
  buf[n] = 0; printf("%s\n", buf); return 0;
}
int main(int argc, char **argv) {
  alarm(15);
  if (argc == 5 && !strcmp(argv[1], "serve")) return serve(!strcmp(argv[2], "udp"), atoi(argv[3]), atoi(argv[4]));
  if (argc == 6 && !strcmp(argv[1], "send")) return sendmsg_(!strcmp(argv[2], "udp"), argv[3], argv[4], argv[5]);
  fprintf(stderr, "usage\n"); return 2;
}
]]

describe("ctr.network traffic #root", function()
  local saved, root, pids, servers, helper, tooldir

  setup(function()
    tooldir = U.tmproot()
    local f = assert(io.open(tooldir .. "/netx.c", "w")); f:write(HELPER_C); f:close()
    helper = tooldir .. "/netx"
    local out, code = sh(("cc -O1 -o %s %s/netx.c 2>&1"):format(U.q(helper), U.q(tooldir)))
    assert(code == 0, "compiling the test helper: " .. out)
  end)

  teardown(function() U.cleanup(tooldir) end)

  before_each(function()
    root = U.tmproot()
    state.set_root(root)
    pids, servers = {}, {}
    saved = assert(core.open_ns(0, "net"))
    assert(core.unshare("net"))
    assert(net.link_set_up("lo"))
  end)

  after_each(function()
    for _, p in ipairs(servers) do pcall(p.close, p) end
    for _, pid in ipairs(pids) do core.kill(pid, "KILL"); core.waitpid(pid) end
    assert(core.setns(saved, "net"))
    saved:close()
    state.set_root(nil)
    U.cleanup(root)
  end)

  -- A stand-in container: a process in a new network namespace.
  local function container()
    local p = io.popen("unshare --net sh -c 'echo $$; exec sleep 60 >/dev/null 2>&1' &")
    local pid = math.tointeger(tonumber(p:read("l"))); p:close()
    assert.is_not_nil(pid)
    pids[#pids + 1] = pid
    return pid
  end

  local function attach(netname, id, opts)
    opts = opts or {}
    opts.network, opts.container_id, opts.pid = netname, id, opts.pid or container()
    opts.hosts_file = opts.hosts_file or (root .. "/" .. id .. ".hosts")
    if not io.open(opts.hosts_file) then io.open(opts.hosts_file, "w"):close() end
    local a = N.attach(opts)
    a.pid, a.hosts_file = opts.pid, opts.hosts_file
    return a
  end

  local function inside(pid, cmd) return sh("nsenter -t " .. pid .. " -n " .. cmd) end

  -- Start the helper serving count messages in pid's netns (nil: the test's).
  local function serve(pid, proto, port, count)
    local pre = pid and ("nsenter -t " .. pid .. " -n ") or ""
    local p = assert(io.popen(("%s%s serve %s %d %d"):format(pre, helper, proto, port, count)))
    assert.equals("ready", p:read("l"))
    servers[#servers + 1] = p
    return p
  end

  local function send(pid, proto, host, port, msg)
    local pre = pid and ("nsenter -t " .. pid .. " -n ") or ""
    local out, code = sh(("%s%s send %s %s %d %s"):format(pre, helper, proto, host, port, msg))
    return code == 0 and out:gsub("\n$", "") or nil
  end

  local function links() return (sh("ip -o link | sed 's/^[0-9]*: //; s/ qlen.*//; s/link\\/.*//'")) end
  local function rules() return U.firewall() end

  it("attach gives eth0 with the address and default route inside the netns", function()
    N.create { name = "n1", subnet = "10.61.0.0/24" }
    local a = attach("n1", "c1", { name = "web" })
    assert.equals("10.61.0.2", a.ip)
    assert.equals(24, a.prefix)
    assert.equals("10.61.0.1", a.gateway)
    assert.equals("eth0", a.ifname)
    assert.matches("inet 10.61.0.2/24", (inside(a.pid, "ip -o -4 addr show dev eth0")), 1, true)
    assert.matches("link/ether " .. a.mac, (inside(a.pid, "ip -o link show dev eth0")), 1, true)
    assert.matches("default via 10.61.0.1 dev eth0", (inside(a.pid, "ip route")), 1, true)
    assert.matches("LOOPBACK,UP", (inside(a.pid, "ip -o link show dev lo")), 1, true)
    assert.matches("master " .. N.get("n1").bridge, (sh("ip -o link show dev " .. a.veth_host)), 1, true)
    assert.equals(0, select(2, inside(a.pid, "busybox ping -c 1 -W 2 10.61.0.1")))
    local hosts = io.open(a.hosts_file):read("a")
    assert.matches("127.0.0.1\tlocalhost", hosts, 1, true)
    assert.matches("10.61.0.2\tweb\n", hosts, 1, true)
    local list = N.attachments("c1")
    assert.equals(1, #list)
    assert.equals("10.61.0.2", list[1].ip)
    N.detach { network = "n1", container_id = "c1" }
    N.remove("n1")
  end)

  it("containers on one network reach each other by address and by name", function()
    N.create { name = "n1", subnet = "10.62.0.0/24" }
    local a = attach("n1", "c1", { name = "web", hostname = "webhost" })
    local b = attach("n1", "c2", { name = "db", add_hosts = { "extra:10.62.0.200" } })
    -- without add_hosts, what the runtime already wrote (--add-host) is kept
    local pre = root .. "/c5.hosts"
    local f = io.open(pre, "w"); f:write("127.0.0.1\tlocalhost\n10.9.9.9\tmirror m2\n"); f:close()
    local c = attach("n1", "c5", { name = "third", hosts_file = pre })
    assert.equals(0, select(2, inside(a.pid, "busybox ping -c 1 -W 2 " .. b.ip)))
    assert.equals(0, select(2, inside(b.pid, "busybox ping -c 1 -W 2 " .. a.ip)))
    serve(b.pid, "tcp", 5432, 2)
    assert.equals("echo hi from " .. a.ip, send(a.pid, "tcp", b.ip, 5432, "hi"))
    -- the hosts files list every container of the network, both were rewritten in place
    local ha = io.open(a.hosts_file):read("a")
    local hb = io.open(b.hosts_file):read("a")
    assert.matches(a.ip .. "\tweb webhost\n", ha, 1, true)
    assert.matches(b.ip .. "\tdb\n", ha, 1, true)
    assert.matches(a.ip .. "\tweb webhost\n", hb, 1, true)
    assert.matches("10.62.0.200\textra\n", hb, 1, true)
    local hc = io.open(c.hosts_file):read("a")
    assert.matches("10.9.9.9\tmirror\n10.9.9.9\tm2\n", hc, 1, true)
    assert.matches(a.ip .. "\tweb webhost\n", hc, 1, true)
    assert.equals(1, select(2, hc:gsub("127%.0%.0%.1\t", "")))
    N.detach { network = "n1", container_id = "c5" }
    assert.same({ { ip = a.ip, names = { "web", "webhost" }, container_id = "c1" },
                  { ip = b.ip, names = { "db" }, container_id = "c2" } }, N.hosts_entries("n1"))
    -- by name, with the hosts file bind-mounted as /etc/hosts (as the runtime does)
    local cmd = ("unshare --mount sh -c 'mount --bind %s /etc/hosts && exec %s send tcp db 5432 byname'")
      :format(a.hosts_file, helper)
    local out, code = inside(a.pid, cmd)
    assert.equals(0, code, out)
    assert.equals("echo byname from " .. a.ip .. "\n", out)
    N.detach { network = "n1", container_id = "c2" }
    assert.is_nil(io.open(a.hosts_file):read("a"):find(b.ip .. "\t", 1, true))
    N.detach { network = "n1", container_id = "c1" }
    N.remove("n1")
  end)

  it("two networks are isolated", function()
    local n1 = N.create { name = "n1", subnet = "10.63.1.0/24" }
    local n2 = N.create { name = "n2", subnet = "10.63.2.0/24" }
    local a = attach("n1", "c1", { ports = { "8080:80" } })
    local b = attach("n2", "c2")
    -- routed to the host: the other bridge's gateway answers, its container does not
    assert.equals(0, select(2, inside(a.pid, "busybox ping -c 1 -W 2 " .. n2.gateway)))
    assert.is_not.equals(0, select(2, inside(a.pid, "busybox ping -c 1 -W 1 " .. b.ip)))
    assert.is_not.equals(0, select(2, inside(b.pid, "busybox ping -c 1 -W 1 " .. a.ip)))
    assert.equals(0, select(2, inside(b.pid, "busybox ping -c 1 -W 2 " .. n1.gateway)))
    -- a published port stays reachable from the other network, through a host address
    serve(a.pid, "tcp", 80, 1)
    assert.is_nil(send(b.pid, "tcp", a.ip, 80, "direct"))
    -- (leaving n2 for another interface, the source is masqueraded to n1's gateway)
    assert.equals("echo pub from " .. n1.gateway, send(b.pid, "tcp", n2.gateway, 8080, "pub"))
    N.detach { network = "n1", container_id = "c1" }
    N.detach { network = "n2", container_id = "c2" }
    N.remove("n1"); N.remove("n2")
  end)

  it("publishes TCP and UDP ports on 127.0.0.1 and the other local addresses", function()
    -- another address of the test netns (a veth end, up, with a TEST-NET-1 address)
    assert(net.link_add_veth("tside0", "tside1"))
    assert(net.addr_add("tside0", "192.0.2.10/24"))
    assert(net.link_set_up("tside0")); assert(net.link_set_up("tside1"))
    local n = N.create { name = "pub", subnet = "10.64.0.0/24" }
    local a = attach("pub", "c1", { ports = { "8080:80", "9090:90/udp", "127.0.0.1:7070:70" } })
    assert.same({ host_ip = "0.0.0.0", host_port = 9090, container_port = 90, proto = "udp" }, a.ports[2])
    serve(a.pid, "tcp", 80, 2)
    serve(a.pid, "udp", 90, 2)
    serve(a.pid, "tcp", 70, 1)
    -- from loopback the source is masqueraded to the gateway (route_localnet on the bridge)
    assert.equals("echo t1 from " .. n.gateway, send(nil, "tcp", "127.0.0.1", 8080, "t1"))
    assert.equals("echo u1 from " .. n.gateway, send(nil, "udp", "127.0.0.1", 9090, "u1"))
    assert.equals("echo t2 from 192.0.2.10", send(nil, "tcp", "192.0.2.10", 8080, "t2"))
    assert.equals("echo u2 from 192.0.2.10", send(nil, "udp", "192.0.2.10", 9090, "u2"))
    -- bound to 127.0.0.1 only: not published on the other address
    assert.is_nil(send(nil, "tcp", "192.0.2.10", 7070, "no"))
    assert.equals("echo t3 from " .. n.gateway, send(nil, "tcp", "127.0.0.1", 7070, "t3"))
    -- from containers of the same network, and from the publishing container itself (hairpin)
    local b = attach("pub", "c2")
    serve(a.pid, "tcp", 80, 2)
    assert.equals("echo h1 from " .. n.gateway, send(b.pid, "tcp", n.gateway, 8080, "h1"))
    assert.equals("echo h2 from " .. n.gateway, send(a.pid, "tcp", "192.0.2.10", 8080, "h2"))
    serve(a.pid, "udp", 90, 1)
    assert.equals("echo h3 from " .. n.gateway, send(b.pid, "udp", n.gateway, 9090, "h3"))
    -- a direct connection inside the network keeps its source
    serve(a.pid, "tcp", 81, 1)
    assert.equals("echo d1 from " .. b.ip, send(b.pid, "tcp", a.ip, 81, "d1"))
    N.detach { network = "pub", container_id = "c2" }
    N.detach { network = "pub", container_id = "c1" }
    assert.is_nil(send(nil, "tcp", "127.0.0.1", 8080, "gone"))
    N.remove("pub")
    assert(net.link_del("tside0"))
  end)

  it("refuses a host port already published, rolling back the attach", function()
    N.create { name = "n1", subnet = "10.65.0.0/24" }
    attach("n1", "c1", { ports = { "8080:80", "53:53/udp" } })
    local before_links, before_rules = links(), rules()
    assert.has_error(function() attach("n1", "c2", { ports = { "8081:80", "8080:81/tcp" } }) end,
      "host port 8080/tcp is already published by container c1")
    -- udp 8080 is another port than tcp 8080
    local b = attach("n1", "c3", { ports = { "8080:80/udp" } })
    N.detach { network = "n1", container_id = "c3" }
    assert.equals(before_links, links())
    assert.equals(before_rules, rules())
    assert.is_nil(N.get("n1").attachments.c2)
    assert.is_nil(N.get("n1").allocated[b.ip])
    assert.has_error(function() N.attach { network = "n1", container_id = "c4", pid = container(), ports = { "1:2:3:4" } } end)
    assert.has_error(function() N.attach { network = "nope", container_id = "c4", pid = container() } end,
      "no such network: nope")
    N.detach { network = "n1", container_id = "c1" }
    N.remove("n1")
  end)

  it("rolls back a failed attach (bad pid) completely", function()
    N.create { name = "n1", subnet = "10.66.0.0/24" }
    local before_links, before_rules = links(), rules()
    local ok, err = pcall(N.attach, { network = "n1", container_id = "c1", pid = 999999999 })
    assert.is_false(ok)
    assert.matches("attaching c1 to network n1: ", err, 1, true)
    assert.equals(before_links, links())
    assert.equals(before_rules, rules())
    assert.same({}, N.get("n1").allocated)
    N.remove("n1")
  end)

  it("network rm is refused while attached; detach and rm restore ip link and the firewall", function()
    local before_links, before_rules = links(), rules()
    N.create { name = "n1", subnet = "10.67.0.0/24" }
    local a = attach("n1", "c1", { ports = { "8080:80", "8080:80/udp" } })
    attach("n1", "c2")
    assert.is_not.equals(before_rules, rules())
    assert.has_error(function() N.remove("n1") end, "network n1 has 2 attached container(s): c1, c2")
    -- c1 "crashes": its netns (and the veth with it) disappears before the detach
    core.kill(a.pid, "KILL"); core.waitpid(a.pid)
    for _ = 1, 50 do if not net.link_exists(a.veth_host) then break end sh("sleep 0.1") end
    N.detach { network = "n1", container_id = "c1" }
    N.detach { network = "n1", container_id = "c1" } -- idempotent
    assert.is_nil(N.ruleset():find(a.ip .. " . 80", 1, true))
    N.detach_all("c2")
    N.remove("n1")
    assert.equals(before_links, links())
    assert.equals(before_rules, rules())
  end)

  it("attaches a container to a second network as eth1 without a second default route", function()
    N.create { name = "n1", subnet = "10.68.1.0/24" }
    N.create { name = "n2", subnet = "10.68.2.0/24" }
    local a = attach("n1", "c1")
    local b = N.attach { network = "n2", container_id = "c1", pid = a.pid, hosts_file = a.hosts_file }
    assert.equals("eth1", b.ifname)
    assert.matches("inet 10.68.2.2/24", (inside(a.pid, "ip -o -4 addr show dev eth1")), 1, true)
    local routes = inside(a.pid, "ip route")
    assert.matches("default via 10.68.1.1 dev eth0", routes, 1, true)
    assert.is_nil(routes:find("default via 10.68.2.1", 1, true))
    assert.same({ "n1", "n2" }, N.detach_all("c1"))
    N.remove("n1"); N.remove("n2")
  end)

  it("attaches 10 containers concurrently from parallel processes", function()
    N.create { name = "par", subnet = "10.69.0.0/24" }
    local script = root .. "/attach.lua"
    local f = assert(io.open(script, "w"))
    f:write(("package.path=%q; package.cpath=%q; require'ctr.state'.set_root(%q); "
      .. "local N=require'ctr.network'; local i=tonumber(arg[1]); "
      .. "local a=N.attach{network='par', container_id='c'..i, pid=tonumber(arg[2]), "
      .. "ports={(8000+i)..':80', (8000+i)..':80/udp'}}; io.write(a.ip, '\\n')")
      :format(package.path, package.cpath, root))
    f:close()
    local cmd = {}
    for i = 1, 10 do cmd[#cmd + 1] = ("lua5.4 %s %d %d &"):format(U.q(script), i, container()) end
    local out, code = sh(table.concat(cmd, " ") .. " wait")
    assert.equals(0, code, out)
    local seen, n = {}, 0
    for ip in out:gmatch("[^\n]+") do
      assert.is_nil(seen[ip]); seen[ip] = true; n = n + 1
    end
    assert.equals(10, n)
    local dnat = 0
    for _ in N.ruleset():gmatch("%d+ : 10%.69%.0%.%d+ %. 80") do dnat = dnat + 1 end
    assert.equals(20, dnat)
    for i = 1, 10 do N.detach { network = "par", container_id = "c" .. i } end
    N.remove("par")
    assert.equals("", U.firewall())
  end)

  it("setup_none only brings lo up (--network none)", function()
    local pid = container()
    assert.is_nil((inside(pid, "ip -o link show dev lo")):find("LOOPBACK,UP", 1, true))
    assert.is_true(N.setup_none(pid))
    assert.matches("LOOPBACK,UP", (inside(pid, "ip -o link show dev lo")), 1, true)
    local all = inside(pid, "ip -o link")
    assert.equals(1, select(2, all:gsub("\n", "")), all)
  end)
end)
