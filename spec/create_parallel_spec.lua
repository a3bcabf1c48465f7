-- Parallel creations and removals (issue 15): they hold the global lock
-- shared (ctr.container.create, ctr.container.store), so parallel `run
-- --rm` never wait for it ($LUAC_CTR_LOCK_LOG records no global.lock
-- wait), while a name is still claimed by one of them only: of two
-- parallel creates of a name, one makes the container and the other gets
-- the conflict error.
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q

describe("parallel creations #root", function()
  local root

  U.per_test_root(function(r) root = r end)

  local function containers()
    return core.readdir(root .. "/containers") or {}
  end

  it("12 run --rm at once: all succeed, no wait for the global lock, nothing left", function()
    local _, err, code = U.ctr(root, { "run", "--rm", "busybox", "true" }) -- image and network made first
    assert.are.equal(0, code, err)
    local log = root .. "/locks.log"
    local out = U.at_once(root, 12, { q(U.launcher) .. " run --rm busybox true && echo OK" }, { LUAC_CTR_LOCK_LOG = log })
    assert.are.equal(12, select(2, out:gsub("OK", "")), out)
    local waits = core.read_file(log) or ""
    assert.is_nil(waits:find("global.lock", 1, true), "waits for the global lock:\n" .. waits)
    assert.are.same({}, containers())
    assert.are.same({}, core.readdir(root .. "/names") or {})
  end)

  it("8 parallel container.create in 8 processes of generated names: 8 names, no global lock wait", function()
    local script = root .. "/create.lua"
    U.write_file(script, [[
local c = require("ctr.container").create { image = "busybox", cmd = { "true" }, network = "none" }
print(c.state.name)
]])
    local _, err, code = U.ctr(root, { "create", "--network", "none", "busybox", "true" }) -- the image made first
    assert.are.equal(0, code, err)
    local log = root .. "/locks.log"
    U.at_once(root, 8, { q(U.launcher) .. " " .. q(script) }, { LUAC_CTR_LOCK_LOG = log })
    local waits = core.read_file(log) or ""
    assert.is_nil(waits:find("global.lock", 1, true), "waits for the global lock:\n" .. waits)
    assert.are.equal(9, #containers())
    local names = core.readdir(root .. "/names") or {}
    assert.are.equal(9, #names)
    for _, n in ipairs(names) do
      local id = core.readlink(root .. "/names/" .. n)
      assert.is_truthy(core.exists(root .. "/containers/" .. id .. "/state.json"), n)
    end
  end)

  it("while a creation holds the global lock shared, a directory without state.json is in progress", function()
    local _, err, code = U.ctr(root, { "create", "--network", "none", "busybox", "true" }) -- image and root made
    assert.are.equal(0, code, err)
    local id = ("%064x"):format(0xbeef)
    assert(core.mkdir(root .. "/containers/" .. id, 448))
    local fd = assert(core.lock_file(root .. "/locks/global.lock", "sh")) -- as a creation in progress
    local log = root .. "/locks.log"
    local out
    out, err, code = U.sh(("LUAC_CTR_ROOT=%s LUAC_CTR_LOCK_LOG=%s timeout 60 %s create --network none busybox true")
      :format(q(root), q(log), q(U.launcher)))
    assert.are.equal(0, code, err) -- another creation does not wait
    assert.are.equal("", core.read_file(log) or "")
    out, err, code = U.ctr(root, { "ps", "-aq", "--no-trunc" })
    assert.are.equal(0, code, err)
    assert.is_nil(out:find(id, 1, true), "listed while in progress:\n" .. out)
    fd:close()
    out, err, code = U.ctr(root, { "ps", "-aq", "--no-trunc", "--filter", "status=dead" })
    assert.are.equal(0, code, err)
    assert.are.equal(id .. "\n", out) -- interrupted, once nothing holds the lock
  end)

  it("two parallel creates of one name, many times: one container, one conflict", function()
    local _, err, code = U.ctr(root, { "create", "--network", "none", "busybox", "true" }) -- the image made first
    assert.are.equal(0, code, err)
    for round = 1, 5 do
      local name = "same" .. round
      local out
      out, err, code = U.sh(("export LUAC_CTR_ROOT=%s; for i in 1 2; do"
        .. " (%s create --name %s --network none busybox true >/dev/null 2>&1; echo \"rc=$?\") & done; wait")
        :format(q(root), q(U.launcher), name))
      assert.are.equal(0, code, err)
      local rcs = {}
      for rc in out:gmatch("rc=(%d+)") do rcs[#rcs + 1] = tonumber(rc) end
      table.sort(rcs)
      assert.are.same({ 0, 125 }, rcs, out)
      assert.are.equal(1 + round, #containers())
      local id
      id, err, code = U.ctr(root, { "inspect", "-f", "{{.Id}}", name })
      assert.are.equal(0, code, err)
      assert.are.equal(id, (core.readlink(root .. "/names/" .. name) or "?") .. "\n")
    end
    -- the loser's message is today's conflict
    local out
    out, err, code = U.ctr(root, { "create", "--name", "same1", "--network", "none", "busybox", "true" })
    assert.are.equal(125, code, out)
    assert.is_truthy(err:find('the container name "same1" is already in use by container', 1, true), err)
    assert.are.equal(6, #containers())
  end)
end)
