-- Container lookups and removal on the hot paths (issue 15): a name is
-- found through the name index (<root>/names/<name>, a symlink whose text
-- is the id, never followed) without reading every container's state;
-- the index stays right through rename, rm and crashes (a stale entry is
-- ignored and does not block the name); it cannot be made to point at
-- anything but a container of that name; rm -f of several containers kills
-- them together; and each command reads a container's state.json once.
-- Behaviour only, no timing (bench/matrix.sh measures).
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q

describe("lookups and removal #root", function()
  local root, tmp

  U.per_test_root_busybox(function(r, t) root, tmp = r, t end)

  local function ctr(...) return U.ctr(root, { ... }) end
  local function ok(...) return U.ctr_ok(root, { ... }) end
  local function rund(name, ...)
    return (ok("run", "-d", "--name", name, "--network", "none", "busybox", ...):match("%x+"))
  end
  local function entry(name) return core.readlink(root .. "/names/" .. name) end

  it("a name resolves after rename; the old one is free and no longer resolves", function()
    -- names that are no hex id prefix: "a" would find a container whose id starts with a
    local id = rund("one", "sleep", "60")
    assert.are.equal(id, entry("one"))
    ok("rename", "one", "two")
    assert.are.equal(id, entry("two"))
    assert.is_nil(entry("one"))
    assert.are.equal("hi\n", ok("exec", "two", "echo", "hi"))
    local _, err, code = ctr("exec", "one", "true")
    assert.are.equal(1, code)
    assert.matches("no such container: one", err)
    local id2 = rund("one", "true") -- the old name is free
    assert.are_not.equal(id, id2)
    assert.are.equal(id2, entry("one"))
    _, err, code = ctr("rename", "one", "two")
    assert.are.equal(1, code)
    assert.matches("already in use", err)
    assert.are.equal(id, entry("two"))
    ok("rm", "-f", "one", "two")
    assert.same({}, core.readdir(root .. "/names"))
  end)

  it("a stale entry (its container gone in a crash, or renamed away) is ignored, does not block the name, and goes with system prune", function()
    local id = rund("gone", "true")
    ok("wait", "gone")
    -- as if a crash had lost the container between its removal and its entry's
    assert(core.remove_all(root .. "/containers/" .. id))
    assert.are.equal(id, entry("gone"))
    local _, err, code = ctr("logs", "gone")
    assert.are.equal(1, code)
    assert.matches("no such container", err)
    local id2 = rund("gone", "true")
    assert.are.equal(id2, entry("gone"))
    -- a crash in the middle of a rename: an entry for a name its container no longer has
    assert(core.symlink(id2, root .. "/names/half"))
    _, err, code = ctr("logs", "half")
    assert.are.equal(1, code)
    assert.matches("no such container", err)
    local id3 = rund("half", "true")
    assert.are.equal(id3, entry("half"))
    assert.are.equal(id2, (ok("inspect", "-f", "{{.Id}}", "gone"):match("%x+")))
    -- system prune drops entries whose container is gone, and only those
    assert(core.symlink(("%064x"):format(5), root .. "/names/lost"))
    assert(core.symlink("/etc", root .. "/names/odd"))
    local keep = rund("keep", "sleep", "60")
    ok("system", "prune", "-f")
    assert.is_nil(entry("lost"))
    assert.is_nil(entry("odd"))
    assert.are.equal(keep, entry("keep"))
  end)

  it("a root made before the index gets it built on the first lookup", function()
    local id = rund("old", "true")
    ok("wait", "old")
    assert(core.remove_all(root .. "/names"))
    assert.are.equal(id, (ok("inspect", "-f", "{{.Id}}", "old"):match("%x+")))
    assert.are.equal(id, entry("old"))
    local _, err, code = ctr("run", "--name", "old", "--network", "none", "busybox", "true")
    assert.are.equal(125, code)
    assert.matches("already in use", err)
  end)

  it("an entry cannot point outside the state root nor at a container of another name", function()
    local victim = rund("victim", "sleep", "60")
    local sentinel = tmp .. "/sentinel"
    assert(core.write_file_atomic(sentinel, "keep", 384))
    -- planted entries: a path outside, a relative escape, an id-shaped path, another container
    assert(core.symlink(sentinel, root .. "/names/evil"))
    assert(core.symlink("../../../../../../" .. sentinel, root .. "/names/evil2"))
    assert(core.symlink("../containers/" .. victim, root .. "/names/evil3"))
    assert(core.symlink(victim, root .. "/names/evil4"))
    for _, n in ipairs({ "evil", "evil2", "evil3", "evil4" }) do
      local _, err, code = ctr("rm", "-f", n)
      assert.are.equal(1, code, n)
      assert.matches("no such container: " .. n, err)
    end
    assert.is_true(core.exists(root .. "/containers/" .. victim .. "/state.json"))
    assert.matches("^Up", ok("ps", "--filter", "name=victim", "--format", "{{.Status}}"))
    -- the names are usable, and taking one replaces the planted link, not what it points to
    local id = rund("evil", "true")
    assert.are.equal(id, entry("evil"))
    assert.are.equal("keep", core.read_file(sentinel))
    ok("rename", "evil", "evil2")
    assert.are.equal(id, entry("evil2"))
    assert.are.equal("keep", core.read_file(sentinel))
    -- a name that is not one never reaches the file system
    local _, err, code = ctr("logs", "../names/evil2")
    assert.are.equal(1, code)
    assert.matches("no such container", err)
  end)

  it("rm -f of several containers kills them all first, then removes them all", function()
    local ids = {}
    for _, n in ipairs({ "k1", "k2", "k3" }) do ids[#ids + 1] = rund(n, "sleep", "60") end
    local stopped = rund("k4", "true")
    ok("wait", "k4")
    local trace = tmp .. "/rm.trace"
    local out, err, code = U.sh("LUAC_CTR_ROOT=" .. q(root) .. " strace -f -qq -e trace=pidfd_send_signal,rename -o "
      .. q(trace) .. " " .. q(U.launcher) .. " rm -f k1 k2 nope k3 k4")
    assert.are.equal(1, code) -- for nope
    assert.matches("no such container: nope", err)
    assert.are.equal("k1\nk2\nk3\nk4\n", out)
    assert.same({}, U.container_ids(root))
    assert.same({}, core.readdir(root .. "/names"))
    for _, id in ipairs(ids) do assert.same({}, U.cgroup_dirs(id)) end
    assert.is_truthy(stopped)
    -- every SIGKILL went out before the first container was moved out of containers/
    local kills, first_removal, n = 0, nil, 0
    for line in io.lines(trace) do
      n = n + 1
      if line:match("pidfd_send_signal%(%d+, SIGKILL") then
        kills = kills + 1
        assert.is_nil(first_removal, "a SIGKILL after a removal: " .. line)
      elseif line:match('rename%(".-/containers/%x+", ".-/tmp/removed%-') then
        first_removal = first_removal or n
      end
    end
    assert.are.equal(3, kills)
    assert.is_truthy(first_removal)
  end)

  it("each command reads a container's state.json once (ps -a: once per container)", function()
    local ids = {}
    for i = 1, 4 do ids[i] = rund("s" .. i, "true") end
    for i = 1, 4 do ok("wait", "s" .. i) end
    local alive = rund("live", "sleep", "60")
    local function opens(args)
      local trace = tmp .. "/t"
      local cmd = "LUAC_CTR_ROOT=" .. q(root) .. " strace -f -qq -e trace=openat -o " .. q(trace) .. " " .. q(U.launcher)
      for _, a in ipairs(args) do cmd = cmd .. " " .. q(a) end
      local _, err, code = U.sh(cmd)
      assert.are.equal(0, code, err)
      local per = {}
      for line in io.lines(trace) do
        -- a path, or relative to an fd of containers/ (ps: core.read_files_under)
        local id = line:match('openat%(AT_FDCWD, ".-/containers/(%x+)/state%.json"')
          or line:match('openat%(%d+, "(%x+)/state%.json"')
        if id then per[id] = (per[id] or 0) + 1 end
      end
      return per
    end
    local per = opens({ "ps", "-a" })
    for _, id in ipairs(ids) do assert.are.equal(1, per[id], id) end
    assert.are.equal(1, per[alive])
    -- by name: that container's state only, once
    assert.same({ [alive] = 1 }, opens({ "exec", "live", "true" }))
    assert.same({ [ids[3]] = 1 }, opens({ "inspect", "s3" }))
    assert.same({ [ids[2]] = 1 }, opens({ "rm", "s2" }))
    -- by id prefix: the same
    assert.same({ [ids[4]] = 1 }, opens({ "rm", ids[4]:sub(1, 10) }))
    per = opens({ "run", "--rm", "--network", "none", "busybox", "true" })
    for id, n in pairs(per) do assert.is_true(n <= 1, id .. " read " .. n .. " times") end
  end)
end)
