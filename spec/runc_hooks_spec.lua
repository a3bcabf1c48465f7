-- luac-runc (issue 11): the runtime-spec hooks of a bundle's config.json
-- (prestart, createRuntime, createContainer, startContainer, poststart,
-- poststop) run at their points of create/start/delete with the state JSON on
-- stdin, their path, args, env and timeout honoured; a failing or timed-out
-- create hook fails create and leaves nothing; a failing startContainer
-- hook fails start and stops the container; a failing poststop is a warning.
--
-- Run inside a private network namespace (as tools/test.sh does).
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q

local tmp, root, rootfs

local H = require("runc_util").harness(function() return tmp, root, rootfs end)
local runc, make_rootfs, bundle, state, read = H.runc, H.make_rootfs, H.bundle, H.state, H.read

setup(function()
  tmp = U.tmproot()
  rootfs = tmp .. "/rootfs"
  make_rootfs(rootfs)
  -- the hook: records its kind (argv[1]), an env var, its namespaces and its stdin
  assert(core.write_file_atomic(tmp .. "/hook.sh", table.concat({
    "#!/bin/sh",
    'out="$1"; kind="$2"',
    'cat > "$out/$kind.json"',
    'echo "$HOOKVAR" > "$out/$kind.env"',
    'readlink /proc/self/ns/net > "$out/$kind.net"',
    'readlink /proc/self/ns/mnt > "$out/$kind.mnt"',
    -- the container's root as the hook sees it: the runtime's / before its pivot_root
    [[pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$out/$kind.json")]],
    '[ -n "$pid" ] && stat -L -c %d:%i "/proc/$pid/root/" > "$out/$kind.root" 2>/dev/null; true',
    "" }, "\n"), 493))
end)

after_each(function()
  for _, id in ipairs(core.readdir(root or "/nonexistent") or {}) do runc({ "delete", "--force", id }) end
end)

teardown(function()
  U.cleanup(tmp)
end)

before_each(function()
  root = tmp .. "/state-" .. tostring(math.random(1e9))
end)

local function hook(out, kind, extra)
  local h = { path = "/bin/sh", args = { "sh", tmp .. "/hook.sh", out, kind }, env = { "HOOKVAR=v-" .. kind } }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function cgroup_left(id)
  local left = {}
  for _, d in ipairs(require("ctr.cgroup").info().hierarchies) do
    if core.exists(d.mount .. "/luac-runc/" .. id) then left[#left + 1] = d.mount end
  end
  return left
end

describe("luac-runc OCI hooks", function()
  it("run each kind at its point (create hooks before pivot_root) with the state on stdin, args and env", function()
    local out = tmp .. "/out1"
    assert(os.execute("mkdir -p " .. q(out)))
    -- startContainer runs in the container's root: its own copy of the hook script
    assert(os.execute("cp " .. q(tmp .. "/hook.sh") .. " " .. q(rootfs .. "/hook.sh") .. " && mkdir -p " ..
      q(rootfs .. "/out")))
    local b = bundle("h1", function(cfg)
      cfg.process.args = { "sleep", "1000" }
      cfg.root.readonly = false
      cfg.hooks = {
        prestart = { hook(out, "prestart") }, createRuntime = { hook(out, "createRuntime") },
        createContainer = { hook(out, "createContainer") },
        startContainer = { { path = "/bin/sh", args = { "sh", "/hook.sh", "/out", "startContainer" },
                             env = { "HOOKVAR=v-startContainer" } } },
        poststart = { hook(out, "poststart") }, poststop = { hook(out, "poststop") },
      }
    end)
    local _, err, code = runc({ "create", "--bundle", b, "h1" })
    assert.are.equal(0, code, err)
    local pid = state("h1").pid
    local host_net, host_mnt = core.readlink("/proc/self/ns/net"), core.readlink("/proc/self/ns/mnt")
    local ctr_net = core.readlink("/proc/" .. pid .. "/ns/net")
    local ctr_mnt = core.readlink("/proc/" .. pid .. "/ns/mnt")
    local host_root = U.sh("stat -L -c %d:%i /")
    assert.are_not.equal(host_mnt, ctr_mnt)
    for _, kind in ipairs({ "prestart", "createRuntime", "createContainer" }) do
      local st = assert(json.decode(read(out .. "/" .. kind .. ".json")), kind)
      assert.are.equal("creating", st.status)
      assert.are.equal("h1", st.id)
      assert.are.equal(pid, st.pid)
      assert.are.equal(b, st.bundle)
      assert.are.equal("v-" .. kind .. "\n", read(out .. "/" .. kind .. ".env"))
      -- the init had not done its pivot_root yet when the hook ran
      assert.are.equal(host_root, read(out .. "/" .. kind .. ".root"), kind)
    end
    assert.are.equal(U.sh("stat -L -c %d:%i " .. q(rootfs .. "/")), U.sh("stat -L -c %d:%i /proc/" .. pid .. "/root/"))
    -- prestart and createRuntime in the runtime's namespaces
    for _, kind in ipairs({ "prestart", "createRuntime" }) do
      assert.are.equal(host_mnt .. "\n", read(out .. "/" .. kind .. ".mnt"), kind)
      assert.are.equal(host_net .. "\n", read(out .. "/" .. kind .. ".net"), kind)
    end
    -- createContainer in the container's, its mount namespace included (still
    -- the runtime's root: it wrote to $out, a host path)
    assert.are.equal(ctr_net .. "\n", read(out .. "/createContainer.net"))
    assert.are.equal(ctr_mnt .. "\n", read(out .. "/createContainer.mnt"))
    assert.is_false(core.exists(out .. "/poststart.json"))
    _, err, code = runc({ "start", "h1" })
    assert.are.equal(0, code, err)
    local sc = assert(json.decode(read(rootfs .. "/out/startContainer.json")))
    assert.are.equal("created", sc.status)
    assert.are.equal(ctr_mnt .. "\n", read(rootfs .. "/out/startContainer.mnt")) -- in the container, after pivot_root
    assert.are.equal("running", assert(json.decode(read(out .. "/poststart.json"))).status)
    assert.are.equal("running", state("h1").status)
    assert.is_false(core.exists(out .. "/poststop.json"))
    runc({ "kill", "h1", "KILL" })
    assert.truthy(U.wait_for(function() return state("h1").status == "stopped" end, 10))
    _, err, code = runc({ "delete", "h1" })
    assert.are.equal(0, code, err)
    assert.are.equal("stopped", assert(json.decode(read(out .. "/poststop.json"))).status)
    assert.are.equal("v-poststop\n", read(out .. "/poststop.env"))
  end)

  it("a failing or timed-out create hook fails create and leaves nothing", function()
    local cases = {
      { "prestart", { path = "/bin/sh", args = { "sh", "-c", "echo bad hook >&2; exit 3" } },
        "prestart hook #1 %(/bin/sh%) exited with status 3: bad hook" },
      { "createRuntime", { path = "/bin/sleep", args = { "sleep", "30" }, timeout = 1 },
        "createRuntime hook #1 %(/bin/sleep%) did not finish in 1 s" },
      { "createContainer", { path = tmp .. "/nonexistent" }, "createContainer hook #1 .* exited with status 127" },
    }
    for i, c in ipairs(cases) do
      local b = bundle("f" .. i, function(cfg) cfg.hooks = { [c[1]] = { c[2] } } end)
      local t0 = core.clock("monotonic")
      local _, err, code = runc({ "create", "--bundle", b, "f" .. i })
      assert.are.equal(1, code, err)
      assert.matches(c[3], err)
      assert.is_true(core.clock("monotonic") - t0 < 10)
      assert.is_false(core.exists(root .. "/f" .. i))
      assert.are.same({}, cgroup_left("f" .. i))
    end
    -- a bad hook field is named before anything is made
    local b = bundle("f9", function(cfg) cfg.hooks = { prestart = { { path = "rel/path" } } } end)
    local _, err, code = runc({ "create", "--bundle", b, "f9" })
    assert.are.equal(1, code, err)
    assert.matches("hooks%.prestart%[1%]%.path: must be an absolute path", err)
  end)

  it("a failing startContainer hook fails start and stops the container; a failing poststop warns", function()
    local b = bundle("s1", function(cfg)
      cfg.process.args = { "sleep", "1000" }
      cfg.hooks = { startContainer = { { path = "/bin/false" } }, poststop = { { path = "/bin/false" } } }
    end)
    local _, err, code = runc({ "create", "--bundle", b, "s1" })
    assert.are.equal(0, code, err)
    _, err, code = runc({ "start", "s1" })
    assert.are.equal(1, code, err)
    assert.matches("startContainer hook #1 %(/bin/false%) exited with status 1", err)
    assert.truthy(U.wait_for(function() return state("s1").status == "stopped" end, 10))
    _, err, code = runc({ "delete", "s1" })
    assert.are.equal(0, code, err)
    assert.matches("warning: delete s1: poststop hook #1", err)
    assert.is_false(core.exists(root .. "/s1"))
    assert.are.same({}, cgroup_left("s1"))
  end)
end)
