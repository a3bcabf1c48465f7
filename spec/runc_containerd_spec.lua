-- luac-runc under containerd (issue 11): Debian's containerd 1.6, started
-- by this spec with its own root, state, sockets and config in a temporary
-- directory, runs containers through its runc shim (io.containerd.runc.v2)
-- with luac-runc as the runc binary (`ctr run --runc-binary`, as the shim's
-- BinaryName option). The config also names luac-runc as the BinaryName of a
-- CRI runtime (the lines the README gives for a Kubernetes node); the spec
-- checks that containerd loads it (no CRI client is packaged for Debian 12).
-- The image comes from `ctr image import` of a docker archive made here of
-- a busybox rootfs; the native snapshotter (no overlay mounts).
--
-- Checked: run --rm (output, exit code), run -t (a pty, through `script`),
-- run -d + task ls/ps/exec (exit code)/exec -t/pause/resume/kill/delete,
-- cpu shares in the container's cgroup, a create error's reason read back
-- from luac-runc's JSON --log by the shim; nothing of luac-runc's left.
-- Only the containerd this spec started is stopped (by its pid).
--
-- Run inside a private network namespace (as tools/test.sh does).
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q
local RUNC = require("runc_util").RUNC

local tmp, cd_pid, run_dir_existed
-- the containerd namespace, also the parent of the containers' cgroups (ctr's /NS/ID)
local NS = "luac-runc-spec"

local function ctr(args, redirect)
  return U.sh("CONTAINERD_SNAPSHOTTER=native ctr -a " .. q(tmp .. "/c.sock") .. " -n " .. NS .. " " .. args ..
    (redirect or ""))
end

-- ctr run with luac-runc as the shim's runc binary and our own state dirs.
local function run_args()
  return "--runc-binary " .. q(RUNC) .. " --runc-root " .. q(tmp .. "/runc") .. " --fifo-dir " .. q(tmp .. "/fifo")
end

-- The ids luac-runc has in the shim's root for our namespace.
local function runc_ids()
  local out = U.sh(q(RUNC) .. " --root " .. q(tmp .. "/runc/" .. NS) .. " list -q")
  local ids = {}
  for id in out:gmatch("%S+") do ids[#ids + 1] = id end
  return ids
end

local function write_config()
  local t = tmp
  assert(core.write_file_atomic(t .. "/config.toml", table.concat({
    "version = 2",
    ('root = "%s/root"'):format(t),
    ('state = "%s/state"'):format(t),
    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",',
    '  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",',
    '  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    "[grpc]", ('  address = "%s/c.sock"'):format(t),
    "[ttrpc]", ('  address = "%s/c.sock.ttrpc"'):format(t),
    "[metrics]", '  address = ""',
    '[plugins."io.containerd.grpc.v1.cri"]',
    "  disable_tcp_service = true",
    '  stream_server_address = "127.0.0.1"',
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    ('  bin_dir = "%s/cni/bin"'):format(t),
    ('  conf_dir = "%s/cni/conf"'):format(t),
    '[plugins."io.containerd.grpc.v1.cri".containerd]',
    '  snapshotter = "native"',
    '  default_runtime_name = "luac-runc"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.luac-runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.luac-runc.options]',
    ('  BinaryName = "%s"'):format(RUNC),
    ('  Root = "%s/runc"'):format(t), "" }, "\n")))
end

-- A docker archive (manifest.json, config, one layer) of a busybox rootfs.
local function make_image()
  local rootfs, img = tmp .. "/rootfs", tmp .. "/img"
  assert(os.execute("mkdir -p " .. q(rootfs) .. "/bin " .. q(rootfs) .. "/etc " .. q(rootfs) .. "/tmp " ..
    q(rootfs) .. "/proc " .. q(rootfs) .. "/sys " .. q(rootfs) .. "/dev " .. q(img) .. " && " ..
    "cp /bin/busybox " .. q(rootfs) .. "/bin/ && for a in $(/bin/busybox --list); do " ..
    "[ \"$a\" = busybox ] || ln -s busybox " .. q(rootfs) .. "/bin/$a; done && " ..
    "echo 'root:x:0:0:root:/root:/bin/sh' > " .. q(rootfs) .. "/etc/passwd && " ..
    "echo 'root:x:0:' > " .. q(rootfs) .. "/etc/group && tar -C " .. q(rootfs) .. " -cf " .. q(img) .. "/layer.tar ."))
  local digest = U.sh("sha256sum " .. q(img .. "/layer.tar")):match("^(%x+)")
  assert(core.write_file_atomic(img .. "/config.json", json.encode({
    architecture = "amd64", os = "linux",
    config = { Env = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin" }, Cmd = { "sh" } },
    rootfs = { type = "layers", diff_ids = { "sha256:" .. digest } } })))
  assert(core.write_file_atomic(img .. "/manifest.json",
    '[{"Config":"config.json","RepoTags":["localhost/bb:1"],"Layers":["layer.tar"]}]'))
  assert(os.execute("tar -C " .. q(img) .. " -cf " .. q(tmp) .. "/bb.tar manifest.json config.json layer.tar"))
end

setup(function()
  assert.truthy(os.execute("command -v containerd >/dev/null && command -v ctr >/dev/null"),
    "containerd is not installed (tools/install-deps.sh --test)")
  run_dir_existed = core.exists("/run/containerd")
  tmp = U.tmproot()
  write_config()
  make_image()
  -- luac-runc (run by the shim with containerd's environment) reads examples/runc/init.lua
  assert(os.execute("mkdir -p " .. q(tmp .. "/luac-config") .. " && cp " .. q(U.srcdir .. "/examples/runc/init.lua") ..
    " " .. q(tmp .. "/luac-config/init.lua")))
  local out = U.sh("LUAC_CTR_CONFIG=" .. q(tmp .. "/luac-config") .. " LUAC_POLICY_LOG=" .. q(tmp .. "/policy.log") ..
    " containerd --config " .. q(tmp .. "/config.toml") .. " >" .. q(tmp .. "/containerd.log") ..
    " 2>&1 & echo $!")
  cd_pid = math.tointeger(tonumber(out:match("%d+")))
  assert.truthy(cd_pid, out)
  assert.truthy(U.wait_for(function() return select(3, ctr("version", " >/dev/null")) == 0 end, 30),
    core.read_file(tmp .. "/containerd.log") or "")
  local err, code
  out, err, code = ctr("image import " .. q(tmp .. "/bb.tar"))
  assert.are.equal(0, code, out .. err)
end)

teardown(function()
  if cd_pid then
    for id in (ctr("task ls -q")):gmatch("%S+") do
      ctr("task kill -s KILL " .. q(id))
      ctr("task delete -f " .. q(id))
    end
    for id in (ctr("container ls -q")):gmatch("%S+") do ctr("container rm " .. q(id)) end
    core.kill(cd_pid, "TERM")
    U.wait_for(function() return not core.exists("/proc/" .. cd_pid) end, 10)
  end
  U.cleanup(tmp)
  if not run_dir_existed then -- what containerd made for its shims' sockets and ctr's fifos, when empty
    for _, d in ipairs({ "/run/containerd/s", "/run/containerd/fifo", "/run/containerd" }) do core.rmdir(d) end
  end
  for _, d in ipairs(require("ctr.cgroup").info().hierarchies) do core.rmdir(d.mount .. "/" .. NS) end
end)

describe("containerd 1.6 with luac-runc as the runc shim's binary", function()
  it("loads the config naming luac-runc as a CRI runtime's BinaryName", function()
    local out, err, code = ctr("plugins ls")
    assert.are.equal(0, code, err)
    assert.matches("io%.containerd%.grpc%.v1%s+cri%s+%S+%s+ok", out)
    -- the CRI plugin parsed the handler's runc options: BinaryName is ours (the
    -- runc Options.BinaryName that `ctr run --runc-binary` sends too; 1.6's
    -- ctr has no way to take it from a file for the runc v2 shim: its
    -- --runtime-config-path is only sent to other runtimes, and the runc v1
    -- shim refuses it, "type with url runtimeoptions.v1.Options: not found")
    local log = core.read_file(tmp .. "/containerd.log") or ""
    local opts = log:match("Runtimes:map%[luac%-runc:{Type:io%.containerd%.runc%.v2 .-Options:map%[([^%]]*)%]")
    assert.truthy(opts, log)
    assert.are.equal("BinaryName:" .. RUNC .. " Root:" .. tmp .. "/runc", opts)
  end)

  it("run --rm: the output and the exit code; run -t: a pty", function()
    local out, err, code = ctr("run --rm " .. run_args() .. " localhost/bb:1 r1 sh -c 'echo hello; id -u; exit 3'")
    assert.are.equal(3, code, err)
    assert.are.equal("hello\n0\n", out)
    assert.are.same({}, runc_ids())
    out, err, code = U.sh("script -qec " .. q("CONTAINERD_SNAPSHOTTER=native ctr -a " .. q(tmp .. "/c.sock") ..
      " -n " .. NS .. " run -t --rm " .. run_args() .. " localhost/bb:1 r2 sh -c 'tty; exit 5'") .. " /dev/null")
    assert.are.equal(5, code, err)
    assert.matches("/dev/pts/%d+", out)
    assert.are.same({}, runc_ids())
  end)

  it("run -d, task ls/ps/exec/exec -t/pause/resume/kill/delete", function()
    local _, err, code = ctr("run -d --cpu-shares 512 " .. run_args() .. " localhost/bb:1 d1 sleep 1000",
      " >/dev/null")
    assert.are.equal(0, code, err)
    assert.are.same({ "d1" }, runc_ids())
    local out = ctr("task ls")
    local pid = out:match("d1%s+(%d+)%s+RUNNING")
    assert.truthy(pid, out)
    assert.matches("\n" .. pid .. "%s", ctr("task ps d1"))
    -- the cpu shares in its cgroup (v1 cpu.shares; v2 cpu.weight converted)
    local st = assert(json.decode(assert(core.read_file(tmp .. "/runc/" .. NS .. "/d1/state.json"))))
    local shares = core.read_file("/sys/fs/cgroup/cpu/" .. st.cgroup .. "/cpu.shares") or
                   core.read_file("/sys/fs/cgroup/" .. st.cgroup .. "/cpu.weight")
    assert.truthy(shares == "512\n" or shares == "20\n", tostring(shares))
    out, err, code = ctr("task exec --fifo-dir " .. q(tmp .. "/fifo") .. " --exec-id e1 d1 sh -c 'echo in; exit 4'")
    assert.are.equal(4, code, err)
    assert.are.equal("in\n", out)
    out, err, code = U.sh("script -qec " .. q("ctr -a " .. q(tmp .. "/c.sock") .. " -n " .. NS .. " task exec -t " ..
      "--fifo-dir " .. q(tmp .. "/fifo") .. " --exec-id e2 d1 tty") .. " /dev/null")
    assert.are.equal(0, code, err)
    assert.matches("/dev/pts/%d+", out)
    _, err, code = ctr("task pause d1")
    assert.are.equal(0, code, err)
    assert.matches("d1%s+%d+%s+PAUSED", ctr("task ls"))
    _, err, code = ctr("task resume d1")
    assert.are.equal(0, code, err)
    assert.matches("d1%s+%d+%s+RUNNING", ctr("task ls"))
    _, err, code = ctr("task kill -s KILL d1")
    assert.are.equal(0, code, err)
    assert.truthy(U.wait_for(function() return ctr("task ls"):match("d1%s+%d+%s+STOPPED") end, 10))
    _, err, code = ctr("task delete d1", " >/dev/null")
    assert.are.equal(0, code, err)
    _, err, code = ctr("container rm d1")
    assert.are.equal(0, code, err)
    assert.are.same({}, runc_ids())
    assert.is_false(core.exists("/sys/fs/cgroup/cpu/" .. st.cgroup) or core.exists("/sys/fs/cgroup/" .. st.cgroup))
  end)

  it("examples/runc/init.lua: its config hook sets an env var and an annotated memory limit, refuses a cap", function()
    local _, err, code = ctr("run -d --annotation org.luac-ctr.memory=64m " .. run_args() ..
      " localhost/bb:1 pol1 sleep 1000", " >/dev/null")
    assert.are.equal(0, code, err)
    local st = assert(json.decode(assert(core.read_file(tmp .. "/runc/" .. NS .. "/pol1/state.json"))))
    assert.matches("%zLUAC_POLICY=1%z", "\0" .. (core.read_file("/proc/" .. st.pid .. "/environ") or "") .. "\0")
    local limit = core.read_file("/sys/fs/cgroup/memory/" .. st.cgroup .. "/memory.limit_in_bytes") or
                  core.read_file("/sys/fs/cgroup/" .. st.cgroup .. "/memory.max")
    assert.are.equal(tostring(64 * 1024 * 1024) .. "\n", limit)
    ctr("task kill -s KILL pol1")
    assert.truthy(U.wait_for(function() return ctr("task ls"):match("pol1%s+%d+%s+STOPPED") end, 10))
    _, err, code = ctr("task delete pol1", " >/dev/null")
    assert.are.equal(0, code, err)
    ctr("container rm pol1")
    assert.matches("stopped pol1\n", core.read_file(tmp .. "/policy.log") or "")
    local out
    out, err, code = ctr("run --rm --cap-add CAP_SYS_MODULE " .. run_args() .. " localhost/bb:1 pol2 true")
    assert.are_not.equal(0, code)
    assert.matches("policy: CAP_SYS_MODULE is not allowed on this node", out .. err)
    assert.are.same({}, runc_ids())
  end)

  it("a create error: the shim reports luac-runc's reason from its JSON log, nothing is left", function()
    local out, err, code = ctr("run --rm --rdt-class gold " .. run_args() .. " localhost/bb:1 e1 true")
    assert.are_not.equal(0, code)
    assert.matches("OCI runtime create failed: config.json: linux.intelRdt", out .. err)
    assert.are.same({}, runc_ids())
    assert.are.equal("", (ctr("task ls -q")))
  end)
end)
