-- The core's runtime-spec parser (core/oci_config.h, issue 11: "the OCI
-- config is the one contract between Lua and C"): core.oci_check,
-- core.spawn and core.exec_in take config.json's JSON (or its path) and the
-- core reads every field it executes once, honouring it or refusing it with
-- an error that names it. No container is run here except the one
-- spawned from a bundle's path (a relative root.path).
local core = require "ctr.core"
local json = require "ctr.json"
local U = require "spec_util"

-- A valid config (what luac-runc spec writes, trimmed), then edit(cfg).
local function config(edit)
  local cfg = {
    ociVersion = "1.0.2",
    process = { args = { "sh" }, env = { "PATH=/bin" }, cwd = "/", user = { uid = 0, gid = 0 },
                capabilities = { bounding = { "CAP_KILL" } }, rlimits = { { type = "RLIMIT_NOFILE", soft = 8, hard = 8 } } },
    root = { path = "rootfs", readonly = true },
    hostname = "h",
    mounts = { { destination = "/proc", type = "proc", source = "proc", options = { "nosuid", "noexec" } } },
    linux = { namespaces = { { type = "pid" }, { type = "mount" }, { type = "uts" }, { type = "ipc" }, { type = "network" } },
              resources = { pids = { limit = 10 } }, cgroupsPath = "/x" },
    hooks = { prestart = {} }, annotations = { a = "b" },
  }
  if edit then edit(cfg) end
  return json.encode(cfg)
end

local function refused(edit)
  local ok, err = core.oci_check(config(edit))
  assert.is_nil(ok)
  return err
end

describe("core: the runtime-spec config parser #root", function()
  it("accepts a complete config and the fields owned by the Lua side", function()
    assert.is_true(core.oci_check(config()))
    assert.is_true(core.oci_check(config(function(c)
      c.process.user.additionalGids = { 1, 2147483647 }
      c.process.user.umask = 18
      c.process.oomScoreAdj = -1000
      c.process.consoleSize = { height = 24, width = 80 }
      c.process.capabilities = { bounding = { "CAP_KILL" }, effective = { "cap_kill" }, permitted = { "CAP_KILL" },
                                 inheritable = {}, ambient = {} }
      c.domainname = "example.org"
      c.mounts[#c.mounts + 1] = { destination = "/d", source = "/tmp", type = "bind",
                                  options = { "rbind", "ro", "nosuid", "nodev", "noexec", "rslave" } }
      c.mounts[#c.mounts + 1] = { destination = "/t", type = "tmpfs", source = "tmpfs", options = { "size=65536k", "mode=755" } }
      c.linux.namespaces[5] = { type = "network", path = "/proc/1/ns/net" }
      c.linux.maskedPaths, c.linux.readonlyPaths = { "/proc/kcore" }, { "/proc/sys" }
      c.linux.devices = { { path = "/dev/fuse", type = "c", major = 10, minor = 229, fileMode = 438 } }
      c.linux.sysctl = { ["kernel.shmmax"] = "1" }
      c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", syscalls = { { names = { "mkdir" }, action = "SCMP_ACT_ERRNO" } } }
      c.process.apparmorProfile, c.process.selinuxLabel, c.linux.mountLabel = "", "", ""
    end)))
  end)

  it("names the bad field", function()
    local cases = {
      { function(c) c.process.user.uid = 4294967296 end, "process.user.uid: not an integer in 0..2147483647" },
      { function(c) c.process.user.gid = -1 end, "process.user.gid: not an integer in 0..2147483647" },
      { function(c) c.process.user.uid = "0" end, "process.user.uid: not an integer in 0..2147483647" },
      { function(c) c.process.user.additionalGids = { 1, 2147483648 } end,
        "process.user.additionalGids[1]: not an integer in 0..2147483647" },
      { function(c) c.process.user.umask = 512 end, "process.user.umask: not an integer in 0..511" },
      { function(c) c.process.user.username = "bob" end, "process.user.username: not supported by luac-ctr" },
      { function(c) c.linux.namespaces[3] = { type = "foo" } end, 'linux.namespaces[2].type: unknown "foo"' },
      { function(c) c.linux.namespaces[3] = { type = "pid" } end, 'linux.namespaces[2].type: namespace "pid" given twice' },
      { function(c) c.linux.namespaces[5] = { type = "network", path = "net" } end,
        "linux.namespaces[4].path: must be an absolute path" },
      { function(c) c.linux.namespaces[5] = { type = "user", path = "/proc/1/ns/user" } end,
        "linux.namespaces[4].path: joining a user namespace is not supported by luac-ctr" },
      { function(c) c.linux.namespaces[5] = { type = "time" } end,
        "linux.namespaces[4].type: time namespaces are not supported by luac-ctr" },
      { function(c) table.remove(c.linux.namespaces, 2) end, "linux.namespaces: a new mount namespace is required" },
      { function(c) c.process.args = {} end, "process.args: must be a non-empty list" },
      { function(c) c.process.args = { "a\0b" } end, "process.args[0]: must be a string without NUL bytes" },
      { function(c) c.process.cwd = "tmp" end, "process.cwd: must be an absolute path" },
      { function(c) c.process.capabilities.bounding = { "CAP_NOPE" } end,
        'process.capabilities.bounding[0]: unknown capability "CAP_NOPE"' },
      { function(c) c.process.rlimits[1].type = "RLIMIT_FOO" end, 'process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"' },
      { function(c) c.process.rlimits[1].soft = 9 end, "process.rlimits[0]: soft limit above the hard limit" },
      { function(c) c.process.oomScoreAdj = 1001 end, "process.oomScoreAdj: not an integer in -1000..1000" },
      { function(c) c.process.apparmorProfile = "docker-default" end, "process.apparmorProfile: AppArmor profiles are not supported" },
      { function(c) c.process.selinuxLabel = "system_u:system_r:container_t:s0" end, "process.selinuxLabel: SELinux labels are not supported" },
      { function(c) c.process.scheduler = { policy = "SCHED_FIFO" } end, "process.scheduler: not supported by luac-ctr" },
      { function(c) c.process.frob = 1 end, "process.frob: unknown field" },
      { function(c) c.root = nil end, "root: is required" },
      { function(c) c.root.path = "" end, "root.path: is required" },
      { function(c) c.root.readonly = "yes" end, "root.readonly: must be true or false" },
      { function(c) c.hostname = 7 end, "hostname: must be a string" },
      { function(c) table.remove(c.linux.namespaces, 3) end, "hostname: needs a uts namespace of the container's own" },
      { function(c) c.mounts[1].destination = "proc" end, "mounts[0].destination: must be an absolute path" },
      { function(c) c.mounts[1] = { destination = "/x", type = "bind" } end, "mounts[0].source: a bind mount needs a source" },
      { function(c) c.mounts[1].options = { "ro", "a,b" } end, 'mounts[0].options[1]: "a,b" is not a mount option' },
      { function(c) c.mounts[1].uidMappings = { { containerID = 0, hostID = 1, size = 1 } } end,
        "mounts[0].uidMappings: not supported by luac-ctr" },
      { function(c) c.linux.uidMappings = { { containerID = 0, hostID = 1000, size = 1 } } end,
        "linux.uidMappings: id mappings need a new user namespace" },
      { function(c) c.linux.namespaces[6] = { type = "user" } end, "linux.uidMappings: a user namespace needs id mappings" },
      { function(c)
          c.linux.namespaces[6] = { type = "user" }
          c.linux.uidMappings = { { containerID = 0, hostID = 4294967290, size = 10 } }
        end, "linux.uidMappings[0]: containerID, hostID, size" },
      { function(c) c.linux.devices = { { path = "/etc/passwd", type = "c" } } end, "linux.devices[0].path: must be below /dev" },
      { function(c) c.linux.devices = { { path = "/dev/x", type = "p" } } end, 'linux.devices[0].type: "p": only c, u and b' },
      { function(c) c.linux.sysctl = { ["kernel.pid_max"] = "1" } end,
        "linux.sysctl.kernel.pid_max: not a namespaced sysctl" },
      { function(c) c.linux.namespaces[5] = { type = "network", path = "/proc/self/ns/net" }; c.linux.sysctl = { ["net.x"] = "1" } end,
        "linux.sysctl.net.x: needs a network namespace of the container's own" },
      { function(c) c.linux.sysctl = { ["../x"] = "1" } end, 'linux.sysctl: bad name "../x"' },
      { function(c) c.linux.seccomp = { syscalls = {} } end, "linux.seccomp.defaultAction: is required" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", listenerPath = "/run/x" } end,
        "linux.seccomp.listenerPath: not supported by luac-ctr" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", syscalls = { { names = { "x" }, action = "SCMP_ACT_ERRNO",
          args = { { index = 6, value = 1, op = "SCMP_CMP_EQ" } } } } } end, "linux.seccomp.syscalls[0].args[0].index: not an integer in 0..5" },
      { function(c) c.linux.intelRdt = { closID = "x" } end, "linux.intelRdt: not supported by luac-ctr" },
      { function(c) c.linux.rootfsPropagation = "shared" end, "linux.rootfsPropagation: not supported by luac-ctr" },
      { function(c) c.linux.mountLabel = "x" end, "linux.mountLabel: not supported by luac-ctr" },
      { function(c) c.linux.frob = {} end, "linux.frob: unknown field" },
      { function(c) c.windows = { layerFolders = { "x" } } end, "windows: not supported by luac-ctr" },
      { function(c) c.frob = 1 end, "frob: unknown field" },
    }
    for _, case in ipairs(cases) do
      local err = refused(case[1])
      assert.are.equal(case[2], err:sub(1, #case[2]), err)
    end
    assert.matches("bad JSON", (select(2, core.oci_check("{nope"))))
    assert.matches("must be a JSON object", (select(2, core.seccomp_compile("[1]"))))
    assert.matches("^open /nonexistent/config.json: No such file", (select(2, core.oci_check("/nonexistent/config.json"))))
    assert.are.equal("process: is required", (select(2, core.oci_check("{}"))))
    assert.matches("duplicate", (select(2, core.oci_check('{"process":{},"process":{}}'))))
  end)

  it("takes a seccomp object and a process object as JSON text", function()
    assert.is_string(core.seccomp_compile(json.encode({ defaultAction = "SCMP_ACT_ALLOW" })))
    local bpf, err = core.seccomp_compile(json.encode({ defaultAction = "SCMP_ACT_NOPE" }))
    assert.is_nil(bpf)
    assert.matches("SCMP_ACT_NOPE", err)
    bpf, err = core.seccomp_compile(json.encode({ defaultAction = "SCMP_ACT_ALLOW", frob = 1 }))
    assert.is_nil(bpf)
    assert.are.equal("linux.seccomp.frob: unknown field", err)
    local p, perr = core.exec_in(json.encode({ args = { "x" }, user = { uid = -5 } }), { pid = core.getpid() })
    assert.is_nil(p)
    assert.are.equal("process.user.uid: not an integer in 0..2147483647", perr)
  end)

  it("spawns from a config.json path, its root.path relative to the bundle", function()
    local tmp = U.tmproot()
    local b = tmp .. "/bundle"
    local busybox = U.sh("command -v busybox"):gsub("\n", "")
    assert(os.execute(("mkdir -p %s/rootfs/bin %s/rootfs/proc && cp %s %s/rootfs/bin/busybox"):format(
      U.q(b), U.q(b), U.q(busybox), U.q(b))))
    local f = assert(io.open(b .. "/config.json", "w"))
    f:write(config(function(c)
      c.process.args = { "/bin/busybox", "sh", "-c", "/bin/busybox hostname; ulimit -n" }
      c.process.capabilities = nil
    end))
    f:close()
    local r, w = assert(core.pipe())
    local p, err = core.spawn(b .. "/config.json", { stdout = w, stderr = w })
    w:close()
    assert.truthy(p, err)
    assert.is_true(p:start())
    assert.are.equal(0, p:wait().exit_code)
    assert.are.equal("h\n8\n", core.read(r, 4096))
    r:close()
    -- core.exec_in honours the process object's oomScoreAdj too
    f = assert(io.open(b .. "/config.json", "w"))
    f:write(config(function(c) c.process.args = { "/bin/busybox", "sleep", "30" }; c.process.capabilities = nil end))
    f:close()
    p = assert(core.spawn(b .. "/config.json"))
    assert.is_true(p:start())
    r, w = assert(core.pipe())
    local e, eerr = core.exec_in(json.encode({ args = { "/bin/busybox", "cat", "/proc/self/oom_score_adj" },
      env = { "PATH=/bin" }, cwd = "/", oomScoreAdj = 123 }), { pid = p.pid, stdin = w, stdout = w, stderr = w })
    w:close()
    assert.truthy(e, eerr)
    assert.are.equal(0, e:wait().exit_code)
    assert.are.equal("123\n", core.read(r, 4096))
    r:close()
    p:kill()
    p:wait()
    U.cleanup(tmp)
  end)
end)
