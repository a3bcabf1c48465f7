-- Parallel runs on one network (issue 15): run --rm on the default network
-- without published ports takes no lock of ours (its address is claimed
-- with symlink(2), its attachment is a file of its own: ctr.network.store),
-- every run gets an address of its own, runs with published ports (which
-- take the networks lock) never collide with them, and nothing is left:
-- no address, attachment, veth or port element.
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q

describe("parallel runs on one network #root", function()
  local root

  U.per_test_root(function(r) root = r end)

  -- What the default network's directory holds besides the last-given hint.
  local function entries()
    local t = {}
    for _, f in ipairs(core.readdir(root .. "/networks/bridge.d") or {}) do
      if f ~= "last" then t[#t + 1] = f end
    end
    table.sort(t)
    return t
  end

  -- How many addresses the runs' `ip -o -4 addr show` printed in out; no
  -- address may be there twice.
  local function addresses_once(out)
    local seen, n = {}, 0
    for ip in out:gmatch("inet (%d+%.%d+%.%d+%.%d+)/") do
      assert.is_nil(seen[ip], "address given twice: " .. ip)
      seen[ip], n = true, n + 1
    end
    return n
  end

  it("12 run --rm at once: all succeed, with 12 addresses, no networks lock wait, nothing left", function()
    local _, err, code = U.ctr(root, { "run", "--rm", "busybox", "true" }) -- the network made first
    assert.are.equal(0, code, err)
    local log = root .. "/locks.log"
    local out = U.at_once(root, 12, { q(U.launcher) .. " run --rm busybox sh -c 'ip -o -4 addr show eth0'" },
      { LUAC_CTR_LOCK_LOG = log })
    assert.are.equal(12, addresses_once(out), out)
    local waits = core.read_file(log) or ""
    assert.is_nil(waits:find("networks.lock", 1, true), "waits for the networks lock:\n" .. waits)
    assert.are.same({}, entries())
    assert.are.equal("", (U.sh("ip -o link show type veth")), "veths left")
  end)

  it("runs with and without published ports at once never get the same address", function()
    local _, err, code = U.ctr(root, { "run", "--rm", "busybox", "true" })
    assert.are.equal(0, code, err)
    local fw = U.firewall()
    local out = U.at_once(root, 6, {
      q(U.launcher) .. " run --rm busybox sh -c 'ip -o -4 addr show eth0'",
      q(U.launcher) .. " run --rm -p $((47100 + i)):80 busybox sh -c 'ip -o -4 addr show eth0'",
    })
    assert.are.equal(12, addresses_once(out), out)
    assert.are.same({}, entries())
    assert.are.equal(fw, U.firewall(), "published-port elements left")
  end)
end)
