-- luac-runc (issue 11, first slice): the OCI runtime driven exactly as an
-- engine drives runc: a bundle (config.json + a busybox rootfs), `spec`,
-- `create` (the init is set up and blocked on its exec fifo, luac-runc has
-- exited), `start`, `state`, `kill`, `delete`, `run`, `list`, --pid-file,
-- --console-socket (the pty master over SCM_RIGHTS), joining a network
-- namespace by path, and errors (one line on stderr, a JSON line in --log,
-- exit 1; an unsupported field is named, nothing is left behind).
--
-- Run inside a private network namespace (as tools/test.sh does).
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q
local RUNC = require("runc_util").RUNC

local tmp, root, rootfs -- per file: the rootfs is shared (read-only) by every bundle

local H = require("runc_util").harness(function() return tmp, root, rootfs end)
local runc, bundle, state, read = H.runc, H.bundle, H.state, H.read

local function cgroup_left(id)
  local left = {}
  for _, h in ipairs(core.readdir("/sys/fs/cgroup") or {}) do
    local d = "/sys/fs/cgroup/" .. h .. "/luac-runc/" .. id
    if core.exists(d) then left[#left + 1] = d end
  end
  return left
end

require("runc_util").file_hooks(H, function(t, r, s) tmp, rootfs, root = t, r, s end)

describe("luac-runc", function()
  it("is installed next to luac-ctr and answers --version", function()
    local out, _, code = U.sh(q(RUNC) .. " --version")
    assert.are.equal(0, code)
    assert.matches("^luac%-runc version %S+\nspec: 1%.0%.2", out)
  end)

  it("spec writes a default config.json and refuses to overwrite it", function()
    local b = bundle("spec1")
    local cfg = json.decode(read(b .. "/config.json"))
    assert.are.same({ "sh" }, cfg.process.args)
    assert.are.equal("rootfs", cfg.root.path)
    local _, err, code = runc({ "spec", "--bundle", b })
    assert.are.equal(1, code)
    assert.matches("exists", err)
  end)

  it("create blocks the init until start; kill TERM; state stopped; delete leaves nothing", function()
    local b = bundle("life", function(cfg)
      cfg.process.args = { "sh", "-c", "echo started $(hostname); trap 'echo got TERM; exit 3' TERM; " ..
        "while :; do sleep 0.05; done" }
      cfg.linux.resources.memory = { limit = 64 * 1024 * 1024 }
      cfg.linux.resources.pids = { limit = 50 }
    end)
    local out = b .. "/out"
    local _, err, code = runc({ "create", "--bundle", b, "--pid-file", b .. "/pid", "c1" },
      { redirect = " >" .. q(out) })
    assert.are.equal(0, code, err) -- luac-runc has exited: the init waits on its own
    local st = state("c1")
    assert.are.equal("created", st.status)
    assert.are.equal(b, st.bundle)
    assert.are.equal(tostring(st.pid), read(b .. "/pid"))
    assert.truthy(core.exists("/proc/" .. st.pid))
    core.sleep(0.2)
    assert.are.equal("", read(out)) -- nothing ran yet
    -- the limits are on its cgroup
    local mem = read("/sys/fs/cgroup/memory/luac-runc/c1/memory.limit_in_bytes")
    if mem ~= "" then assert.are.equal(64 * 1024 * 1024, tonumber(mem)) end
    _, err, code = runc({ "start", "c1" })
    assert.are.equal(0, code, err)
    assert.truthy(U.wait_for(function() return read(out):find("started luac-runc", 1, true) end, 10))
    assert.are.equal("running", state("c1").status)
    _, err, code = runc({ "start", "c1" })
    assert.are.equal(1, code)
    assert.matches("already running", err)
    _, err, code = runc({ "delete", "c1" })
    assert.are.equal(1, code)
    assert.matches("not stopped", err)
    _, err, code = runc({ "kill", "c1", "TERM" })
    assert.are.equal(0, code, err)
    assert.truthy(U.wait_for(function() return state("c1").status == "stopped" end, 10))
    assert.matches("got TERM", read(out))
    assert.are.equal(0, state("c1").pid)
    _, err, code = runc({ "delete", "c1" })
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(root .. "/c1"))
    assert.are.same({}, cgroup_left("c1"))
  end)

  it("kill takes signal numbers and --all; delete --force removes a created container", function()
    local b = bundle("kill", function(cfg) cfg.process.args = { "sleep", "100" } end)
    local _, err, code = runc({ "create", "--bundle", b, "k1" })
    assert.are.equal(0, code, err)
    _, err, code = runc({ "kill", "k1", "NOSUCHSIG" })
    assert.are.equal(1, code)
    assert.matches("invalid signal", err)
    _, err, code = runc({ "start", "k1" })
    assert.are.equal(0, code, err)
    _, err, code = runc({ "kill", "--all", "k1", "9" })
    assert.are.equal(0, code, err)
    assert.truthy(U.wait_for(function() return state("k1").status == "stopped" end, 10))
    runc({ "delete", "k1" })
    _, err, code = runc({ "create", "--bundle", b, "k2" })
    assert.are.equal(0, code, err)
    local pid = state("k2").pid
    _, err, code = runc({ "delete", "--force", "k2" })
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(root .. "/k2"))
    assert.truthy(U.wait_for(function()
      local s = core.read_file("/proc/" .. pid .. "/stat")
      return not s or s:match("%) (%a)") == "Z"
    end, 10))
    assert.are.same({}, cgroup_left("k2"))
  end)

  it("run is create + start + wait + delete, with the container's exit code", function()
    local b = bundle("run", function(cfg) cfg.process.args = { "sh", "-c", "echo out-$((6*7)); exit 7" } end)
    local out, err, code = runc({ "run", "--bundle", b, "r1" })
    assert.are.equal(7, code, err)
    assert.are.equal("out-42\n", out)
    assert.is_false(core.exists(root .. "/r1"))
    assert.are.same({}, cgroup_left("r1"))
  end)

  it("honours user, cwd, env, hostname, readonly root, maskedPaths and capabilities", function()
    local b = bundle("fields", function(cfg)
      cfg.process.user = { uid = 1000, gid = 1000 }
      cfg.process.cwd = "/tmp"
      cfg.process.env[#cfg.process.env + 1] = "FOO=bar"
      cfg.hostname = "fieldhost"
      cfg.process.args = { "sh", "-c", "echo $(id -u):$(id -g) $(pwd) $FOO $(hostname);" ..
        " touch /x 2>/dev/null || echo ro; grep CapEff /proc/self/status; ulimit -n" }
      cfg.process.rlimits = { { type = "RLIMIT_NOFILE", hard = 512, soft = 256 } }
    end)
    local out, err, code = runc({ "run", "--bundle", b, "f1" })
    assert.are.equal(0, code, err)
    assert.matches("^1000:1000 /tmp bar fieldhost\nro\nCapEff:%s+0+\n256\n$", out)
    -- /proc/sys is read-only for root in the container too; /proc/keys is /dev/null
    b = bundle("fields2", function(cfg)
      cfg.process.args = { "sh", "-c", "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo wrote" ..
        " || echo denied;" ..
        " stat -c %t:%T /proc/keys" }
    end)
    out, err, code = runc({ "run", "--bundle", b, "f2" })
    assert.are.equal(0, code, err)
    assert.are.equal("denied\n1:3\n", out)
  end)

  it("sends the pty master to --console-socket (SCM_RIGHTS), sized as process.consoleSize", function()
    local b = bundle("tty", function(cfg)
      cfg.process.terminal = true
      cfg.process.consoleSize = { height = 33, width = 101 }
      cfg.process.args = { "sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; stty size; sleep 1" }
    end)
    local sockpath = tmp .. "/console.sock"
    os.remove(sockpath)
    local listener = assert(core.unix_listen(sockpath))
    local _, err, code = runc({ "create", "--bundle", b, "--console-socket", sockpath, "t1" })
    assert.are.equal(0, code, err)
    local conn = assert(core.unix_accept(listener))
    local master = assert(core.recv_fd(conn))
    conn:close(); listener:close()
    _, err, code = runc({ "start", "t1" })
    assert.are.equal(0, code, err)
    local got = ""
    assert.truthy(U.wait_for(function()
      local r = core.poll({ { master, "in" } }, 100)
      if r and #r > 0 then got = got .. (core.read(master, 4096) or "") end
      return got:find("33 101", 1, true)
    end, 10), got)
    assert.matches("on%-a%-tty", got)
    master:close()
    runc({ "delete", "--force", "t1" })
    -- terminal without a console socket is an error before anything is made
    _, err, code = runc({ "create", "--bundle", b, "t2" })
    assert.are.equal(1, code)
    assert.matches("%-%-console%-socket is required", err)
    assert.is_false(core.exists(root .. "/t2"))
  end)

  it("lists containers (table, -q, --format json)", function()
    local b = bundle("list", function(cfg) cfg.process.args = { "sleep", "100" } end)
    for _, id in ipairs({ "l1", "l2" }) do
      local _, err, code = runc({ "create", "--bundle", b, id })
      assert.are.equal(0, code, err)
    end
    local out = runc({ "list", "-q" })
    assert.are.equal("l1\nl2\n", out)
    out = runc({ "list", "--format", "json" })
    local l = json.decode(out)
    assert.are.equal(2, #l)
    assert.are.equal("created", l[1].status)
    out = runc({ "list" })
    assert.matches("ID%s+PID%s+STATUS", out)
    assert.matches("\nl2%s+%d+%s+created", out)
    for _, id in ipairs({ "l1", "l2" }) do runc({ "delete", "--force", id }) end
  end)

  it("joins an existing network namespace by path", function()
    local pid = U.sh("unshare --net sleep 60 >/dev/null 2>&1 & echo $!"):match("%d+")
    assert.truthy(U.wait_for(function()
      return core.readlink("/proc/" .. pid .. "/ns/net") ~= core.readlink("/proc/self/ns/net")
    end, 5))
    local want = core.readlink("/proc/" .. pid .. "/ns/net")
    local b = bundle("netns", function(cfg)
      for _, n in ipairs(cfg.linux.namespaces) do
        if n.type == "network" then n.path = "/proc/" .. pid .. "/ns/net" end
      end
      cfg.process.args = { "readlink", "/proc/self/ns/net" }
    end)
    local out, err, code = runc({ "run", "--bundle", b, "n1" })
    core.kill(math.tointeger(tonumber(pid)), "KILL")
    assert.are.equal(0, code, err)
    assert.are.equal(want .. "\n", out)
  end)

  it("reports errors on stderr and as a JSON line in --log, exit 1", function()
    local log = tmp .. "/log.json"
    os.remove(log)
    local _, err, code = U.sh(q(RUNC) .. " --root " .. q(root) .. " --log " .. q(log) ..
      " --log-format json state nosuch")
    assert.are.equal(1, code)
    assert.are.equal("luac-runc: container nosuch does not exist\n", err)
    local line = read(log):match("([^\n]+)\n$")
    local e = assert(json.decode(line))
    assert.are.equal("error", e.level)
    assert.are.equal("container nosuch does not exist", e.msg)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", e.time)
    -- --debug: the command line goes to the log too; --log-format text: logfmt lines
    _, err, code = U.sh(q(RUNC) .. " --root " .. q(root) .. " --log " .. q(log) .. " --debug list -q")
    assert.are.equal(0, code, err)
    assert.matches('level=debug msg="list %-q"\n$', read(log))
    _, err, code = runc({ "nosuchcommand" })
    assert.are.equal(1, code)
    assert.matches("unknown command", err)
    _, err, code = runc({ "state", "../etc" })
    assert.are.equal(1, code)
    assert.matches("invalid container id", err)
  end)

  it("rejects an unsupported field by name and leaves nothing behind", function()
    local cases = {
      { function(cfg) cfg.linux.uidMappings = { { containerID = 0, hostID = 100000, size = 65536 } } end,
        "linux%.uidMappings" },
      { function(cfg) cfg.linux.resources.hugepageLimits = { { pageSize = "2MB", limit = 1 } } end, "hugepageLimits" },
      { function(cfg) cfg.linux.intelRdt = { closID = "x" } end, "linux%.intelRdt" },
      { function(cfg) cfg.linux.resources.cpu = { shares = 1 } end, "linux%.resources%.cpu%.shares: must be" },
      { function(cfg) cfg.linux.frobnicate = true end, "linux%.frobnicate: unknown field" },
      { function(cfg) cfg.linux.cgroupsPath = "system.slice:luac:x" end, "linux%.cgroupsPath" },
    }
    for i, c in ipairs(cases) do
      local b = bundle("reject" .. i, c[1])
      local _, err, code = runc({ "create", "--bundle", b, "x" .. i })
      assert.are.equal(1, code, err)
      assert.matches(c[2], err)
      assert.is_false(core.exists(root .. "/x" .. i))
      assert.are.same({}, cgroup_left("x" .. i))
    end
  end)

  it("every error path: one line on stderr, the same msg as the last JSON line of --log, exit 1", function()
    local log = tmp .. "/errors.json"
    local function fails(args, pattern)
      local all = { "--log", log, "--log-format", "json" }
      table.move(args, 1, #args, #all + 1, all)
      local _, err, code = runc(all)
      assert.are.equal(1, code, err)
      local msg = err:match("^luac%-runc: ([^\n]*)\n$")
      assert.truthy(msg, err)
      assert.matches(pattern, msg)
      local last = read(log):match("([^\n]+)\n?$")
      local entry = assert(json.decode(last), last)
      assert.are.equal("error", entry.level)
      assert.are.equal(msg, entry.msg)
      assert.truthy(entry.time)
    end
    local bad = tmp .. "/badbundle"
    assert(os.execute("mkdir -p " .. q(bad) .. " && echo '{not json' > " .. q(bad) .. "/config.json"))
    fails({ "create", "--bundle", tmp .. "/nonexistent", "b1" }, "cannot read .*config%.json")
    fails({ "create", "--bundle", bad, "b2" }, "badbundle/config%.json")
    assert.is_false(core.exists(root .. "/b1") or core.exists(root .. "/b2"))
    fails({ "start", "nope" }, "container nope does not exist")
    fails({ "--bogus", "list" }, "unknown option")
    -- kill and start of a container whose process has exited
    local b = bundle("k1", function(cfg) cfg.process.args = { "true" } end)
    local _, err, code = runc({ "create", "--bundle", b, "k1" })
    assert.are.equal(0, code, err)
    _, err, code = runc({ "start", "k1" })
    assert.are.equal(0, code, err)
    assert.truthy(U.wait_for(function() return state("k1").status == "stopped" end, 10))
    fails({ "kill", "k1", "KILL" }, "not running")
    fails({ "start", "k1" }, "cannot start a container that has stopped")
    _, err, code = runc({ "delete", "k1" })
    assert.are.equal(0, code, err)
  end)

  it("--systemd-cgroup: a slice:prefix:name cgroupsPath is made as systemd names it", function()
    local b = bundle("sd1", function(cfg)
      cfg.process.args = { "sleep", "1000" }
      cfg.linux.cgroupsPath = "luacspec-a.slice:luac:sd1"
    end)
    local _, err, code = runc({ "--systemd-cgroup", "create", "--bundle", b, "sd1" }, { redirect = " >/dev/null" })
    assert.are.equal(0, code, err)
    local st = assert(json.decode(read(root .. "/sd1/state.json")))
    assert.are.equal("luacspec.slice/luacspec-a.slice/luac-sd1.scope", st.cgroup)
    local g = assert(require("ctr.cgroup").open(st.cgroup))
    assert.are.same({ state("sd1").pid }, g:pids())
    _, err, code = runc({ "delete", "--force", "sd1" })
    assert.are.equal(0, code, err)
    for _, h in ipairs(require("ctr.cgroup").info().hierarchies) do
      assert.is_false(core.exists(h.mount .. "/" .. st.cgroup))
      core.rmdir(h.mount .. "/luacspec.slice/luacspec-a.slice") -- the slices are left, as runc's
      core.rmdir(h.mount .. "/luacspec.slice")
    end
  end)

  it("runc's own default config.json runs as runc runs it (ambient caps without inheritable are not raised)", function()
    local b = tmp .. "/runcspec"
    assert(os.execute("mkdir -p " .. q(b) .. " && cd " .. q(b) .. " && runc spec && ln -s " .. q(rootfs) .. " rootfs"))
    local cfg = assert(json.decode(read(b .. "/config.json")))
    assert.truthy(cfg.process.capabilities.ambient[1]) -- the case: ambient set, no inheritable
    cfg.process.terminal = false
    cfg.process.args = { "sh", "-c", "grep -E '^Cap(Eff|Amb)' /proc/self/status" }
    assert(core.write_file_atomic(b .. "/config.json", json.encode(cfg)))
    local out, err, code = runc({ "run", "--bundle", b, "rs1" })
    assert.are.equal(0, code, err)
    assert.matches("CapEff:%s+0000000020000420\nCapAmb:%s+0000000000000000\n", out)
  end)

  it("features prints the runtime-spec features JSON", function()
    local out, _, code = runc({ "features" })
    assert.are.equal(0, code)
    local f = json.decode(out)
    assert.are.equal("1.0.2", f.ociVersionMax)
    assert.truthy(f.linux.namespaces[1])
  end)
end)
