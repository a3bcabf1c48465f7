-- The host-side work of `run --rm` (issue 15): state.json is written once at
-- the start (create, then the start's record) and not again at the exit of
-- a --rm container, whose exit is its die event; nothing is fsync'd for it;
-- and what waits for such a container (wait, kill, rm -f, events) still
-- gets its exit. Behaviour and syscall counts only, no timing
-- (bench/matrix.sh measures).
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q

describe("run --rm #root", function()
  local root, tmp

  U.per_test_root_busybox(function(r, t) root, tmp = r, t end)

  local function ctr(...) return U.ctr(root, { ... }) end
  local function ok(...) return U.ctr_ok(root, { ... }) end
  local function leaves_nothing() -- once a detached one's supervisor is done
    U.wait_for(function()
      return #U.container_ids(root) + #(core.readdir(root .. "/names") or {}) + #(core.readdir(root .. "/tmp") or {}) == 0
    end, 10)
    assert.same({}, U.container_ids(root))
    assert.same({}, core.readdir(root .. "/names") or {})
    assert.same({}, core.readdir(root .. "/tmp") or {})
  end
  local function events_of(id)
    local t = {}
    for line in (core.read_file(root .. "/events.log") or ""):gmatch("[^\n]+") do
      local m = json.decode(line)
      if m.Actor.ID == id then t[#t + 1] = m end
    end
    return t
  end

  it("the image's /etc/hosts and /etc/hostname are mounted over, not copied up into the container's layer", function()
    local id = ok("run", "-d", "--network", "none", "busybox", "sleep", "100"):gsub("%s+$", "")
    local upper = root .. "/containers/" .. id .. "/upper"
    local lower = core.readdir(root .. "/layers")
    assert.is_true(#lower >= 1)
    assert.is_true(core.exists(root .. "/layers/" .. lower[1] .. "/etc/hosts"), "the image has no /etc/hosts")
    -- opening an existing file for writing copies it up (overlayfs): only to mount over it
    assert.is_false(core.exists(upper .. "/etc/hosts"))
    assert.is_false(core.exists(upper .. "/etc/hostname"))
    assert.matches("127.0.0.1", ok("exec", id, "cat", "/etc/hosts")) -- the container's own, mounted
    ok("rm", "-f", id)
  end)

  it("writes state.json twice (create, start), reads it at most once, fsyncs nothing", function()
    ok("run", "--rm", "--network", "none", "busybox", "true") -- the root's one-offs (gc stamp, seccomp cache) first
    local trace = tmp .. "/t"
    local _, err, code = U.sh("LUAC_CTR_ROOT=" .. q(root) .. " strace -f -qq -e trace=openat,rename,renameat2,fsync,fdatasync,sync_file_range -o "
      .. q(trace) .. " " .. q(U.launcher) .. " run --rm --network none busybox sh -c 'exit 3'")
    assert.are.equal(3, code, err)
    local writes, reads, syncs = 0, 0, 0
    for line in io.lines(trace) do
      local call = line:match("^%d+%s+([%w_]+)%(")
      local dest = call == "rename" and line:match('^%d+%s+rename%("[^"]*", "([^"]*)"')
        or call == "renameat2" and line:match('^%d+%s+renameat2%([^,]+, "[^"]*", [^,]+, "([^"]*)"')
      if dest and dest:match("/containers/%x+/state%.json$") and line:match("= 0$") then writes = writes + 1 end
      if call == "openat" and line:match('"[^"]*/containers/%x+/state%.json", O_RDONLY') then reads = reads + 1 end
      if call == "fsync" or call == "fdatasync" or call == "sync_file_range" then syncs = syncs + 1 end
    end
    assert.are.equal(2, writes)
    assert.is_true(reads <= 1, "state.json read " .. reads .. " times")
    assert.are.equal(0, syncs)
    leaves_nothing()
  end)

  it("records create, start, die (with the exit) and destroy", function()
    local out = ok("run", "-d", "--rm", "--network", "none", "busybox", "sh", "-c", "exit 4")
    local id = out:match("%x+")
    assert.is_truthy(U.wait_for(function() return #events_of(id) == 4 end, 10))
    local acts = {}
    local ev = events_of(id)
    for _, m in ipairs(ev) do acts[#acts + 1] = m.Action end
    assert.same({ "create", "start", "die", "destroy" }, acts)
    assert.are.equal("4", ev[3].Actor.Attributes.exitCode)
    assert.are.equal(4, ev[3].result.exit_code)
    leaves_nothing()
  end)

  it("wait gives the exit code of a --rm container that exits while it waits", function()
    for i = 1, 3 do
      local id = ok("run", "-d", "--rm", "--network", "none", "busybox", "sh", "-c", "sleep 0.3; exit " .. (10 + i)):match("%x+")
      local out, err, code = ctr("wait", id)
      assert.are.equal(0, code, err)
      assert.are.equal(tostring(10 + i) .. "\n", out)
    end
    assert.is_truthy(U.wait_for(function() return #(core.readdir(root .. "/tmp") or {}) == 0 end, 10))
    leaves_nothing()
  end)

  it("kill and rm -f of a running --rm container succeed and leave nothing", function()
    local a = ok("run", "-d", "--rm", "--network", "none", "busybox", "sleep", "60"):match("%x+")
    local b = ok("run", "-d", "--rm", "--network", "none", "busybox", "sleep", "60"):match("%x+")
    ok("kill", a)
    local _, err, code = ctr("rm", "-f", b)
    assert.are.equal(0, code, err)
    -- their supervisors finish the removal (the destroy event comes last)
    assert.is_truthy(U.wait_for(function()
      local ea, eb = events_of(a), events_of(b)
      return #ea == 5 and #eb == 5 and #(core.readdir(root .. "/tmp") or {}) == 0
    end, 10))
    for _, id in ipairs({ a, b }) do
      local acts, code137 = {}, nil
      for _, m in ipairs(events_of(id)) do
        acts[#acts + 1] = m.Action
        if m.Action == "die" then code137 = m.Actor.Attributes.exitCode end
      end
      assert.same({ "create", "start", "kill", "die", "destroy" }, acts)
      assert.are.equal("137", code137)
    end
    leaves_nothing()
  end)
end)
