-- luac-runc under podman (issue 11): Debian's podman 4.3 with --runtime
-- pointing at luac-runc, offline (an image from `podman import` of a busybox
-- tarball), its own storage root, runroot and tmpdir in a temporary
-- directory. luac-runc's state root is its default, /run/luac-runc: podman
-- 4.3 passes --runtime-flag options to create and start but not to delete. A CONTAINERS_CONF
-- sets default_ulimits: this host lacks CAP_SYS_RESOURCE, so podman's
-- default (the caller's nofile/nproc hard limits raised) could not be set.
-- Checked: run --rm (output, exit code), run -d + exec (exit code), pause
-- and unpause (podman's status), top, rm -f; nothing of luac-runc's left.
--
-- Run inside a private network namespace (as tools/test.sh does); the
-- containers use --network none.
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q
local RUNC = require("runc_util").RUNC

local tmp, podman_cmd

-- Whether luac-runc still has a container of one of these ids.
local function runc_has(ids)
  local listed = U.sh(q(RUNC) .. " list -q")
  for _, id in ipairs(ids) do
    if id ~= "" and listed:find(id, 1, true) then return true end
  end
  return false
end

local function podman(args, redirect)
  return U.sh(podman_cmd .. " " .. args .. (redirect or ""))
end

setup(function()
  assert.truthy(os.execute("command -v podman >/dev/null"), "podman is not installed (tools/install-deps.sh)")
  tmp = U.tmproot()
  local rootfs = tmp .. "/rootfs"
  assert(os.execute("mkdir -p " .. q(rootfs) .. "/bin " .. q(rootfs) .. "/etc " .. q(rootfs) .. "/tmp && " ..
    "cp /bin/busybox " .. q(rootfs) .. "/bin/ && for a in $(/bin/busybox --list); do " ..
    "[ \"$a\" = busybox ] || ln -s busybox " .. q(rootfs) .. "/bin/$a; done && " ..
    "echo 'root:x:0:0:root:/root:/bin/sh' > " .. q(rootfs) .. "/etc/passwd && " ..
    "echo 'root:x:0:' > " .. q(rootfs) .. "/etc/group && tar -C " .. q(rootfs) .. " -cf " .. q(tmp) ..
    "/bb.tar ."))
  assert(core.write_file_atomic(tmp .. "/containers.conf", table.concat({
    "[containers]",
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    -- the README's lines: luac-runc as the default runtime, without --runtime
    'runtime = "luac-runc"',
    'runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "luac-runc"]',
    "[engine.runtimes]",
    ("luac-runc = [%q]"):format(RUNC), "" }, "\n")))
  podman_cmd = "CONTAINERS_CONF=" .. q(tmp .. "/containers.conf") .. " podman --root " .. q(tmp .. "/storage") ..
    " --runroot " .. q(tmp .. "/runroot") .. " --tmpdir " .. q(tmp .. "/tmpdir") ..
    " --network-config-dir " .. q(tmp .. "/net") ..
    " --storage-driver vfs --cgroup-manager cgroupfs --runtime " .. q(RUNC)
  local out, err, code = podman("import " .. q(tmp .. "/bb.tar") .. " localhost/bb:1")
  assert.are.equal(0, code, out .. err)
end)

teardown(function()
  if podman_cmd then podman("rm -af -t 0") end
  U.cleanup(tmp)
end)

describe("podman --runtime luac-runc", function()
  it("containers.conf [engine.runtimes] makes luac-runc the runtime without --runtime", function()
    local cmd = podman_cmd:gsub(" %-%-runtime '[^']*'$", "")
    assert.are_not.equal(podman_cmd, cmd)
    local _, err, code = U.sh(cmd .. " run -d --name conf1 --cidfile " .. q(tmp .. "/cid0") ..
      " --network none localhost/bb:1 sleep 1000 >/dev/null")
    assert.are.equal(0, code, err)
    local cid = (core.read_file(tmp .. "/cid0") or ""):gsub("%s+", "")
    assert.is_true(runc_has({ cid }))
    assert.are.equal("luac-runc\n", (U.sh(cmd .. " inspect --format '{{.OCIRuntime}}' conf1")))
    _, err, code = U.sh(cmd .. " rm -f -t 0 conf1 >/dev/null")
    assert.are.equal(0, code, err)
    assert.is_false(runc_has({ cid }))
  end)

  it("run --rm: the output and the exit code of the container's process", function()
    local out, err, code = podman("run --rm --cidfile " .. q(tmp .. "/cid1") ..
      " --network none localhost/bb:1 sh -c 'echo hello; id -u; exit 3'")
    assert.are.equal(3, code, err)
    assert.are.equal("hello\n0\n", out)
    local cid = (core.read_file(tmp .. "/cid1") or ""):gsub("%s+", "")
    assert.are.equal(64, #cid)
    assert.truthy(U.wait_for(function() return not runc_has({ cid }) end, 10)) -- podman deleted it
    out, err, code = podman("run --rm --network none --memory 64m --pids-limit 40 localhost/bb:1 sh -c " ..
      q("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || " ..
        "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max"))
    assert.are.equal(0, code, err)
    assert.are.equal(tostring(64 * 1024 * 1024) .. "\n40\n", out)
  end)

  it("run -d, exec (its exit code), pause/unpause, top, rm -f leave nothing", function()
    local _, err, code = podman("run -d --name d1 --cidfile " .. q(tmp .. "/cid2") ..
      " --network none localhost/bb:1 sleep 1000", " >/dev/null")
    assert.are.equal(0, code, err)
    local cid = (core.read_file(tmp .. "/cid2") or ""):gsub("%s+", "")
    assert.is_true(runc_has({ cid }))
    local out
    out, err, code = podman("exec d1 sh -c 'echo in exec; exit 5'")
    assert.are.equal(5, code, err)
    assert.are.equal("in exec\n", out)
    _, err, code = podman("pause d1")
    assert.are.equal(0, code, err)
    out = podman("inspect --format '{{.State.Status}}' d1")
    assert.are.equal("paused\n", out)
    _, err, code = podman("unpause d1")
    assert.are.equal(0, code, err)
    out = podman("inspect --format '{{.State.Status}}' d1")
    assert.are.equal("running\n", out)
    out, err, code = podman("top d1")
    assert.are.equal(0, code, err)
    assert.matches("sleep 1000", out)
    _, err, code = podman("rm -f -t 0 d1")
    assert.are.equal(0, code, err)
    assert.is_false(runc_has({ cid }))
  end)
  it("exec -t (the pty over the console socket), logs, stop, kill, and a pod sharing one network namespace", function()
    local _, err, code = podman("run -d --name t1 --network none localhost/bb:1 sh -c " ..
      q("echo logline; trap 'exit 0' TERM; while :; do sleep 0.1; done"), " >/dev/null")
    assert.are.equal(0, code, err)
    local out
    out, err, code = podman("exec -t t1 tty")
    assert.are.equal(0, code, err)
    assert.matches("^/dev/pts/%d+", out)
    assert.truthy(U.wait_for(function() return podman("logs t1") == "logline\n" end, 10))
    _, err, code = podman("stop -t 5 t1", " >/dev/null")
    assert.are.equal(0, code, err)
    assert.are.equal("exited 0\n", podman("inspect --format '{{.State.Status}} {{.State.ExitCode}}' t1"))
    _, err, code = podman("start t1", " >/dev/null")
    assert.are.equal(0, code, err)
    _, err, code = podman("kill t1", " >/dev/null")
    assert.are.equal(0, code, err)
    _, err, code = podman("rm -f -t 0 t1", " >/dev/null")
    assert.are.equal(0, code, err)
    -- a pod: its infra container holds the network namespace, two containers join it by path
    _, err, code = podman("pod create --name p1 --network none", " >/dev/null")
    assert.are.equal(0, code, err)
    _, err, code = podman("run -d --pod p1 --name a1 localhost/bb:1 sleep 1000", " >/dev/null")
    assert.are.equal(0, code, err)
    local ns_a = podman("exec a1 readlink /proc/self/ns/net")
    out, err, code = podman("run --rm --pod p1 localhost/bb:1 readlink /proc/self/ns/net")
    assert.are.equal(0, code, err)
    assert.matches("^net:%[%d+%]\n$", out)
    assert.are.equal(ns_a, out)
    assert.are_not.equal(core.readlink("/proc/self/ns/net") .. "\n", out)
    _, err, code = podman("pod rm -f -t 0 p1", " >/dev/null")
    assert.are.equal(0, code, err)
  end)
end)
