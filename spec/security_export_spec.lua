-- security (#root): export and commit read only the container's own files
-- (the CVE-2018-15664 class), and a running container is frozen while they
-- read, thawed after on every path, a freeze that does not take an error.
--
-- The attacks: a container swaps a directory with a symlink to a host
-- directory (by its absolute host path) in a tight loop (RENAME_EXCHANGE)
-- while export or commit runs again and again for a bounded time; the host
-- directory holds a 0600 file with a unique marker, which must never be in
-- any archive or committed layer.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local RACE_SECONDS = 20

local function now() return core.clock("monotonic") end

describe("export and commit never archive host files #root", function()
  local root, work, bin, hostdir, marker

  lazy_setup(function()
    work = U.sh("mktemp -d /tmp/luac-ctr-secexp.XXXXXX"):gsub("%s+$", "")
    bin, hostdir, marker = U.swap_race(work)
  end)
  lazy_teardown(function()
    if work then os.execute("rm -rf " .. U.q(work)) end
  end)

  U.per_test_root(function(r) root = r end)

  local function ctr(...) return U.ctr(root, { ... }) end
  local function ok(...) return U.ctr_ok(root, { ... }) end

  -- A detached container swapping /x/d0 and /x/l0 -> the host directory;
  -- extra: options before the image; pre: shell run before the swapper.
  local function swapper(name, extra, pre)
    local args = { "run", "-d", "--name", name, "-v", bin .. ":/p:ro" }
    for _, a in ipairs(extra or { "--network", "none" }) do args[#args + 1] = a end
    for _, a in ipairs({ "busybox", "sh", "-c",
      (pre or "") .. "exec /p/swap /x " .. hostdir .. " " .. (RACE_SECONDS + 30) }) do
      args[#args + 1] = a
    end
    ok(table.unpack(args))
    assert.is_truthy(U.wait_for(function() return ctr("logs", name):find("swapping", 1, true) end, 10),
      "the swapper did not start: " .. ctr("logs", name))
  end

  local function has_marker(path)
    local _, _, code = U.sh("grep -rqF " .. U.q(marker) .. " " .. U.q(path))
    return code == 0
  end

  -- commit in a loop for RACE_SECONDS; returns commits made, layers with
  -- the marker, and the failures' messages
  local function commit_race(name, args)
    local made, leaks, failures = 0, 0, {}
    local deadline = now() + RACE_SECONDS
    while now() < deadline and leaks == 0 do
      local cargs = { "commit" }
      for _, a in ipairs(args) do cargs[#cargs + 1] = a end
      cargs[#cargs + 1] = name
      local out, err, code = U.ctr(root, cargs)
      if code == 0 then
        made = made + 1
        local img = json.decode(ok("image", "inspect", (out:gsub("%s+$", ""))))[1]
        if has_marker(root .. "/layers/" .. img.layers[#img.layers]) then leaks = leaks + 1 end
        ok("rmi", img.id)
      else
        failures[#failures + 1] = err
      end
    end
    return made, leaks, failures
  end

  it("export: a directory swapped with a symlink to a host directory never brings the host file", function()
    swapper("sw")
    local tar = root .. "/e.tar"
    local n, made, leaks = 0, 0, 0
    local deadline = now() + RACE_SECONDS
    while now() < deadline and leaks == 0 do
      n = n + 1
      local _, _, code = ctr("export", "-o", tar, "sw")
      if code == 0 then made = made + 1 end
      if core.exists(tar) and has_marker(tar) then leaks = leaks + 1 end
      os.remove(tar)
    end
    assert.are.equal(0, leaks, ("export %d of %d held the host file"):format(n, n))
    assert.is_true(made > 0, "no export succeeded")
    assert.are.equal("running", json.decode(ok("inspect", "sw"))[1].State.Status)
  end)

  it("commit --pause=false: no committed layer holds the host file", function()
    swapper("sw")
    local made, leaks, failures = commit_race("sw", { "--pause=false" })
    assert.are.equal(0, leaks, ("a layer of commit %d held the host file"):format(made))
    assert.is_true(made > 0, "no commit succeeded: " .. (failures[1] or ""))
  end)

  it("commit (paused) of a container that leaves its freezer cgroup: an error or a clean layer, never the host file", function()
    -- host-network containers see the host's cgroup tree: the swapper tries
    -- to leave the container's freezer cgroup before it starts
    local leave = "for f in /sys/fs/cgroup/freezer/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs " ..
      "/sys/fs/cgroup/cgroup.procs; do echo $$ 2>/dev/null > $f; done; "
    swapper("sw", { "--network", "host" }, leave)
    local made, leaks, failures = commit_race("sw", {})
    assert.are.equal(0, leaks, ("a layer of commit %d held the host file"):format(made))
    for _, e in ipairs(failures) do assert.matches("cannot freeze container sw", e) end
  end)
end)

describe("export and commit freeze a running container #root", function()
  local root
  U.per_test_root(function(r) root = r end)

  local function ctr(...) return U.ctr(root, { ... }) end
  local function ok(...) return U.ctr_ok(root, { ... }) end

  local function container(name)
    local state = require "ctr.state"
    state.set_root(root)
    local c = require("ctr.container").get(name)
    state.set_root(nil)
    return c
  end

  -- the freezer the code uses: v1 freezer.state, else v2 cgroup.freeze
  local function freezer(c)
    local v2
    for _, d in ipairs(U.cgroup_dirs(c.id)) do
      if core.exists(d .. "/freezer.state") then
        return { frozen = function() return core.read_file(d .. "/freezer.state"):match("^FROZEN") ~= nil end,
                 thawed = function() return core.read_file(d .. "/freezer.state"):match("^THAWED") ~= nil end,
                 dir = d, root = d:match("^(/sys/fs/cgroup/[^/]+)/") }
      elseif core.exists(d .. "/cgroup.freeze") then
        v2 = { frozen = function() return core.read_file(d .. "/cgroup.events"):match("frozen 1") ~= nil end,
               thawed = function() return core.read_file(d .. "/cgroup.freeze"):match("^0") ~= nil end,
               dir = d, root = d:match("^(.*)/luac%-ctr/") }
      end
    end
    return assert(v2, "no freezer")
  end

  local function sleeper(name)
    ok("run", "-d", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo ready; exec sleep 300")
    assert.is_truthy(U.wait_for(function() return ctr("logs", name):find("ready", 1, true) end, 10))
  end

  -- export -o fifo in the background; returns its pid and the fifo's read end
  local function export_to_fifo(name)
    local fifo = root .. "/out.fifo"
    assert(core.mknod(fifo, "fifo", 384))
    local pid = core.fork()
    if pid == 0 then
      pcall(core.execve, U.launcher, { U.launcher, "export", "-o", fifo, name },
        { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LUAC_CTR_ROOT=" .. root })
      core._exit(99)
    end
    local r = assert(core.open(fifo, "rdonly,cloexec"))
    return pid, r
  end

  it("is frozen while export writes and thawed after it, and after an export that fails", function()
    sleeper("s")
    local fz = freezer(container("s"))
    assert.is_true(fz.thawed())
    -- a complete export: frozen while its helper is writing
    local pid, r = export_to_fifo("s")
    local first = assert(core.read(r, 4096))
    assert.is_true(#first > 0)
    assert.is_true(fz.frozen(), "not frozen during the export")
    local total = #first
    while true do
      local s = core.read(r, 65536)
      if not s or s == "" then break end
      total = total + #s
    end
    r:close()
    local _, how, code = core.waitpid(pid)
    assert.same({ "exited", 0 }, { how, code })
    assert.is_true(total > 100000)
    assert.is_true(fz.thawed(), "not thawed after the export")
    -- an export whose reader goes away: it fails, the container is thawed
    os.remove(root .. "/out.fifo")
    pid, r = export_to_fifo("s")
    assert.is_true(#assert(core.read(r, 4096)) > 0)
    assert.is_true(fz.frozen())
    r:close()
    _, how, code = core.waitpid(pid)
    assert.are.equal("exited", how)
    assert.are.equal(1, code)
    assert.is_true(fz.thawed(), "not thawed after a failed export")
    assert.are.equal("alive\n", ok("exec", "s", "echo", "alive"))
  end)

  it("a freeze that does not take (a process outside the frozen cgroup) is an error; thawed, nothing left", function()
    sleeper("s")
    local c = container("s")
    local fz = freezer(c)
    -- move the container's process out of its freezer cgroup (from the host)
    local f = assert(io.open(fz.root .. "/cgroup.procs", "w"))
    f:write(tostring(c.state.pid)); f:close()
    local images = #core.readdir(root .. "/images")
    local _, err, code = ctr("commit", "s", "snap")
    assert.are.equal(1, code)
    assert.matches("cannot freeze container s: process %d+ of the container is outside its freezer cgroup", err)
    assert.is_true(fz.thawed())
    assert.are.equal(images, #core.readdir(root .. "/images"))
    assert.same({}, core.readdir(root .. "/tmp"))
    _, err, code = ctr("export", "-o", root .. "/x.tar", "s")
    assert.are.equal(1, code)
    assert.matches("cannot freeze container s", err)
    assert.is_false(core.exists(root .. "/x.tar"))
    assert.is_true(fz.thawed())
    -- --pause=false does not freeze, and still reads inside the container's root
    assert.matches("^sha256:", ok("commit", "--pause=false", "s"))
    assert.are.equal("alive\n", ok("exec", "s", "echo", "alive"))
  end)
end)
