-- The nftables firewall (lua/ctr/network.lua, ctr.nft) next to another
-- tool's iptables(-nft) rules, as docker leaves them: a filter FORWARD chain
-- with policy DROP jumping to DOCKER-USER, and nat rules of its own.
--
-- Every test runs in a fresh network namespace (the busted process unshares
-- one and the launcher inherits it): an "outside" namespace is joined to it by
-- a veth pair (192.0.2.0/24), so NAT out of the host is tested without
-- leaving the machine.
local core = require "ctr.core"
local json = require "ctr.json"
local U = require "spec_util"
local _ -- what multiple assignments throw away (not a global)

local q = U.q

local function sh(cmd)
  local out, err, code = U.sh(cmd)
  assert(code == 0, cmd .. ": " .. out .. err)
  return out
end

-- iptables-save without counters and comments: the other tool's rules.
local function their_rules()
  local t = {}
  for l in sh("iptables-save"):gmatch("[^\n]+") do
    if not l:match("^#") then t[#t + 1] = (l:gsub("%[%d+:%d+%]", "")) end
  end
  return table.concat(t, "\n")
end

describe("nftables firewall beside docker's iptables rules #root", function()
  local saved, root, outside, www, httpd

  before_each(function()
    root = U.tmproot()
    saved = assert(core.open_ns(0, "net"))
    assert(core.unshare("net"))
    sh("ip link set lo up")
    -- the outside: a netns with 192.0.2.2 serving /index.html over HTTP
    local p = io.popen("unshare --net sh -c 'echo $$; exec sleep 120 >/dev/null 2>&1' &")
    outside = math.tointeger(tonumber(p:read("l"))); p:close()
    www = root .. "/www"
    sh("mkdir -p " .. q(www) .. " && echo outside-ok > " .. q(www .. "/index.html"))
    sh("ip link add vout type veth peer name vin && ip link set vin netns " .. outside)
    sh("ip addr add 192.0.2.1/24 dev vout && ip link set vout up")
    local ns = "nsenter -t " .. outside .. " -n "
    sh(ns .. "ip addr add 192.0.2.2/24 dev vin && " .. ns .. "ip link set vin up && " .. ns .. "ip link set lo up")
    local h = io.popen(ns .. "busybox httpd -f -p 192.0.2.2:8080 -h " .. q(www) .. " >/dev/null 2>&1 & echo $!")
    httpd = math.tointeger(tonumber(h:read("l"))); h:close()
  end)

  after_each(function()
    U.rm_all(root)
    for _, pid in ipairs { httpd, outside } do core.kill(pid, "KILL"); core.waitpid(pid) end
    assert(core.setns(saved, "net"))
    saved:close()
    U.cleanup(root)
  end)

  local function fetch()
    -- `timeout` must not become pid 1 (sh execs a lone last command): the
    -- kernel ignores its SIGTERM to pid 1 of the container
    return U.ctr(root, { "run", "--rm", "busybox", "sh", "-c",
      "timeout 5 wget -q -O - http://192.0.2.2:8080/index.html; exit $?" })
  end

  local function bridge()
    local f = assert(io.open(root .. "/networks/bridge.json"))
    local n = json.decode(f:read("a")); f:close()
    return n.bridge
  end

  it("(control) a container reaches the outside through NAT with the FORWARD policy ACCEPT", function()
    local out, err, code = fetch()
    assert.are.equal(0, code, err)
    assert.are.equal("outside-ok\n", out)
    assert.is_nil(err:find("warning", 1, true))
  end)

  it("keeps docker's rules; with FORWARD policy DROP it warns, and the documented accept lets traffic out", function()
    sh("iptables -N DOCKER-USER && iptables -A DOCKER-USER -j RETURN && iptables -A FORWARD -j DOCKER-USER"
      .. " && iptables -A FORWARD -o docker0 -j ACCEPT && iptables -P FORWARD DROP"
      .. " && iptables -t nat -N DOCKER && iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER"
      .. " && iptables -t nat -A POSTROUTING -s 172.30.0.0/16 ! -o docker0 -j MASQUERADE")
    local before = their_rules()
    -- FORWARD DROP in iptables' chain drops what our table accepts: a
    -- packet must be accepted by every base chain at the forward hook
    local out, err, code = fetch()
    assert.are_not.equal(0, code, out)
    assert.matches("FORWARD chain has policy DROP", err, 1, true)
    local br = bridge()
    assert.matches("iptables -I DOCKER-USER -i " .. br .. " -j ACCEPT", err, 1, true)
    assert.are.equal(before, their_rules()) -- our table never touches theirs
    -- what docs/networking.md tells docker users to do
    sh("iptables -I DOCKER-USER -i " .. br .. " -j ACCEPT && iptables -I DOCKER-USER -o " .. br .. " -j ACCEPT")
    local mine = their_rules()
    out, err, code = fetch()
    assert.are.equal(0, code, err)
    assert.are.equal("outside-ok\n", out)
    -- published ports and network removal leave their rules alone too
    _, err, code = U.ctr(root, { "run", "-d", "--name", "web", "-p", "8081:80", "busybox", "sleep", "30" })
    assert.are.equal(0, code, err)
    U.rm_all(root)
    assert.are.equal(mine, their_rules())
    assert.are.equal("", (U.firewall():gsub("[^\n]*%-A [^\n]*\n?", "")))
  end)
end)
