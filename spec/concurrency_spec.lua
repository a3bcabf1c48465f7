-- Many lifecycle commands at once (#root): run, ps, stop, kill and rm in
-- parallel never corrupt the state or lose a container.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function L() return ("LUAC_CTR_ROOT=%s %s"):format(U.q(root), U.q(U.launcher)) end

-- Every container dir is complete and consistent; returns id -> state.
local function check_consistent()
  local out = {}
  for _, id in ipairs(U.container_ids(root)) do
    local dir = root .. "/containers/" .. id
    local st = json.decode(assert(core.read_file(dir .. "/state.json")))
    assert.is_table(st, id)
    assert.are.equal(id, st.id)
    assert.is_table(json.decode(assert(core.read_file(dir .. "/config.json"))))
    if st.status == "running" then
      -- recorded running: the process really runs, in its cgroup
      assert.are.equal(st.starttime, core.starttime(st.pid), "recorded running but gone: " .. st.name)
      assert.is_true(#U.cgroup_dirs(id) > 0)
    end
    out[id] = st
  end
  return out
end

describe("concurrency #root", function()
  U.per_test_root(function(r) root = r end)

  it("10 parallel run -d with ps and rm -f loops: nothing lost, nothing half-made, nothing leaked", function()
    ctr("image", "ls") -- build busybox once, before the rush
    local outdir = root .. "/out"
    assert(core.mkdir(outdir, 448))
    local script = {}
    for i = 1, 10 do
      -- names that are not hex: "c1" would also be an id prefix, and an rm -f c1
      -- after c1 is gone would rightly remove a container whose id starts so
      script[#script + 1] = ("(%s run -d --network none --name n%d busybox sleep 30 >%s/run%d 2>&1; echo $? >%s/rc%d) &")
        :format(L(), i, outdir, i, outdir, i)
    end
    script[#script + 1] = ("(for j in 1 2 3 4 5 6 7 8; do %s ps -a >/dev/null 2>>%s/pserr || echo ps-failed >>%s/pserr; done) &")
      :format(L(), outdir, outdir)
    script[#script + 1] = ("(for j in 1 2 3 4 5 6; do for i in 1 3 5 7 9; do %s rm -f n$i >/dev/null 2>&1; done; done) &")
      :format(L())
    script[#script + 1] = "wait"
    local _, err, code = U.sh("sh -c " .. U.q(table.concat(script, "\n")))
    assert.are.equal(0, code, err)
    local pserr = core.read_file(outdir .. "/pserr") or ""
    assert.are.equal("", pserr)
    -- every run either made a container (its id printed) or failed cleanly
    local ids = {}
    for i = 1, 10 do
      local rc = tonumber(core.read_file(outdir .. "/rc" .. i))
      local out = core.read_file(outdir .. "/run" .. i)
      if rc == 0 then
        local id = out:match("^(%x+)\n$")
        assert.is_truthy(id, out)
        ids[i] = id
      else
        -- only a concurrent rm -f may make a run fail (odd names only)
        assert.are.equal(1, i % 2, out)
      end
    end
    for i = 2, 10, 2 do assert.is_truthy(ids[i], "run of n" .. i .. " failed") end
    local states = check_consistent()
    -- the even ones were never removed: all there and running
    for i = 2, 10, 2 do
      assert.is_table(states[ids[i]], "n" .. i .. " lost")
      assert.are.equal("running", states[ids[i]].status)
    end
    -- containers removed by rm are completely gone (no cgroup, no dir)
    for i = 1, 9, 2 do
      if ids[i] and not states[ids[i]] then assert.same({}, U.cgroup_dirs(ids[i])) end
    end
    -- ps agrees with the directories
    local out = ctr("ps", "-a", "-q", "--no-trunc")
    local listed = {}
    for l in out:gmatch("[^\n]+") do listed[l] = true end
    for id in pairs(states) do assert.is_true(listed[id], id) end
    -- remove everything at once, in parallel
    local rm = {}
    for id in pairs(states) do rm[#rm + 1] = ("%s rm -f %s >/dev/null &"):format(L(), id) end
    rm[#rm + 1] = "wait"
    U.sh("sh -c " .. U.q(table.concat(rm, "\n")))
    assert.same({}, U.container_ids(root))
    for _, id in pairs(ids) do assert.same({}, U.cgroup_dirs(id)) end
    assert.same({}, core.readdir(root .. "/tmp"))
  end)

  it("one name, five parallel runs: exactly one container gets it", function()
    ctr("image", "ls")
    local script = {}
    for _ = 1, 5 do
      script[#script + 1] = ("%s run -d --network none --name same busybox sleep 30 >/dev/null 2>&1 &"):format(L())
    end
    script[#script + 1] = "wait"
    U.sh("sh -c " .. U.q(table.concat(script, "\n")))
    local states = check_consistent()
    local n = 0
    for _, st in pairs(states) do
      n = n + 1
      assert.are.equal("same", st.name)
    end
    assert.are.equal(1, n)
  end)

  it("stop, kill, rm -f, restart and wait on one container at once end consistent", function()
    for round = 1, 3 do
      local name = "target" .. round
      local out, err, code = ctr("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "30")
      assert.are.equal(0, code, err)
      local id = out:gsub("%s+$", "")
      local l = L()
      local script = table.concat({
        ("%s stop -t 1 %s >/dev/null 2>&1 &"):format(l, name),
        ("%s kill %s >/dev/null 2>&1 &"):format(l, name),
        ("%s restart -t 1 %s >/dev/null 2>&1 &"):format(l, name),
        ("%s wait %s >/dev/null 2>&1 &"):format(l, name),
        ("%s ps -a >/dev/null 2>&1 &"):format(l),
        ("%s rm -f %s >/dev/null 2>&1 &"):format(l, name),
        "wait",
      }, "\n")
      U.sh("sh -c " .. U.q(script))
      check_consistent()
      -- whatever order they ran in, a final rm -f leaves nothing
      ctr("rm", "-f", name)
      assert.is_false(core.exists(root .. "/containers/" .. id))
      assert.same({}, U.cgroup_dirs(id))
    end
  end)
end)
