-- The `network` workflow (scripts/network.lua) through the launcher. Each
-- test runs in a fresh network namespace (the busted process unshares one and
-- its children inherit it) with a temporary state root.
local core = require "ctr.core"
local net = require "ctr.net"
local json = require "ctr.json"
local U = require "spec_util"

describe("network workflow #root", function()
  local saved, root

  before_each(function()
    root = U.tmproot()
    saved = assert(core.open_ns(0, "net"))
    assert(core.unshare("net"))
  end)

  after_each(function()
    assert(core.setns(saved, "net"))
    saved:close()
    U.cleanup(root)
  end)

  local function rules()
    local out = U.sh("iptables-save")
    local t = {}
    for l in out:gmatch("[^\n]+") do if l:match("^%-A") then t[#t + 1] = l end end
    return table.concat(t, "\n")
  end

  it("create, ls, inspect, rm", function()
    local before_links, before_rules = U.sh("ip -o link"), rules()
    local out, err, code = U.ctr(root, { "network", "create", "--subnet", "10.81.0.0/24", "--gateway", "10.81.0.254", "front" })
    assert.equals(0, code, err)
    local id = out:match("^(%x+)\n$")
    assert.equals(64, #id)
    out, err, code = U.ctr(root, { "network", "create", "back" })
    assert.equals(0, code, err)
    out, err, code = U.ctr(root, { "network", "create", "front" })
    assert.equals(125, code)
    assert.equals("luac-ctr: network front already exists\n", err)
    out, err, code = U.ctr(root, { "network", "ls" })
    assert.equals(0, code, err)
    assert.matches("^NETWORK ID +NAME +DRIVER +SCOPE +SUBNET +GATEWAY\n", out)
    assert.matches(id:sub(1, 12) .. "   front   bridge   local   10.81.0.0/24    10.81.0.254\n", out, 1, true)
    assert.matches("back +bridge +local +172%.18%.0%.0/24", out)
    out = U.ctr(root, { "network", "ls", "-q", "--no-trunc" })
    assert.matches(id .. "\n", out, 1, true)
    out, err, code = U.ctr(root, { "network", "inspect", "front" })
    assert.equals(0, code, err)
    local v = assert(json.decode(out))
    assert.equals(1, #v)
    assert.equals("front", v[1].Name)
    assert.equals(id, v[1].Id)
    assert.equals("bridge", v[1].Driver)
    assert.same({ { Subnet = "10.81.0.0/24", Gateway = "10.81.0.254" } }, v[1].IPAM.Config)
    assert.is_true(net.link_exists(v[1].Options["com.docker.network.bridge.name"]))
    out, err, code = U.ctr(root, { "network", "inspect", "nope" })
    assert.equals(1, code)
    assert.equals("luac-ctr: no such network: nope\n", err)
    out, err, code = U.ctr(root, { "network", "rm", "front", "nope", "back" })
    assert.equals(1, code)
    assert.equals("front\nback\n", out)
    assert.equals("luac-ctr: no such network: nope\n", err)
    assert.equals(before_links, (U.sh("ip -o link")))
    assert.equals(before_rules, rules())
  end)

  it("reports bad input with exit code 125", function()
    local _, err, code = U.ctr(root, { "network", "create", "--subnet", "10.1.0.1/24", "x" })
    assert.equals(125, code)
    assert.matches("host bits set", err, 1, true)
    _, err, code = U.ctr(root, { "network", "create", "-d", "overlay", "x" })
    assert.equals(125, code)
    assert.matches("only bridge", err, 1, true)
    _, err, code = U.ctr(root, { "network", "create" })
    assert.equals(125, code)
    assert.matches('"network create" requires exactly 1 argument', err, 1, true)
    _, err, code = U.ctr(root, { "network", "frobnicate" })
    assert.equals(125, code)
    assert.matches('unknown network command "frobnicate"', err, 1, true)
  end)
end)
