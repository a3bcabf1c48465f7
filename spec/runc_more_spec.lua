-- luac-runc (issue 11, slice 2): exec, ps, pause/resume (the "paused" state)
-- and update, driven as an engine drives runc, against the real kernel.
--
-- Run inside a private network namespace (as tools/test.sh does).
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q

local tmp, root, rootfs -- per file: the rootfs is shared (read-only) by every bundle

local H = require("runc_util").harness(function() return tmp, root, rootfs end)
local runc, bundle, state, read = H.runc, H.bundle, H.state, H.read

require("runc_util").file_hooks(H, function(t, r, s) tmp, rootfs, root = t, r, s end)

-- The first of the cgroup files (v1 controller dirs or the v2 unified dir).
local function cgfile(id, names)
  for _, d in ipairs({ "memory", "pids", "cpu,cpuacct", "cpu", "freezer", "unified", "" }) do
    for _, n in ipairs(names) do
      local p = "/sys/fs/cgroup/" .. (d == "" and "" or d .. "/") .. "luac-runc/" .. id .. "/" .. n
      if core.exists(p) then return read(p):gsub("%s+$", "") end
    end
  end
  return nil
end

-- A running container (sleeping) made from a bundle; returns its state.
local function running(id, edit)
  local b = bundle(id, function(cfg)
    cfg.process.args = { "sleep", "1000" }
    cfg.process.env = { "PATH=/bin", "BASE=1" }
    if edit then edit(cfg) end
  end)
  local _, err, code = runc({ "create", "--bundle", b, id })
  assert.are.equal(0, code, err)
  _, err, code = runc({ "start", id })
  assert.are.equal(0, code, err)
  return state(id), b
end

describe("luac-runc slice 2", function()
  after_each(function()
    for _, id in ipairs(core.readdir(root) or {}) do runc({ "delete", "--force", id }) end
  end)

  it("exec runs in the container's namespaces and cgroup with its env; the exit code is the process's", function()
    local st = running("e1")
    local _
    local out, err, code = runc({ "exec", "--env", "X=y", "--env", "BASE=2", "e1", "sh", "-c",
      "echo $X $BASE $PATH; hostname; readlink /proc/self/ns/mnt; cat /proc/self/cgroup; exit 7" })
    assert.are.equal(7, code, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("y 2 /bin", lines[1])
    assert.are.equal(core.readlink("/proc/" .. st.pid .. "/ns/mnt"), lines[3])
    assert.truthy(out:find("luac-runc/e1", 1, true) or out:find("0::/\n", 1, true))
    -- --user, --cwd
    out, err, code = runc({ "exec", "--user", "1000:1001", "--cwd", "/dev", "e1", "sh", "-c", "id -u; id -g; pwd" })
    assert.are.equal(0, code, err)
    assert.are.equal("1000\n1001\n/dev\n", out)
    -- a missing command: 255, the reason on stderr
    _, err, code = runc({ "exec", "e1", "/nonexistent" })
    assert.are.equal(255, code)
    assert.matches("exec failed", err)
    -- bad input is refused before anything runs
    _, err, code = runc({ "exec", "--user", "-1", "e1", "true" })
    assert.are.equal(1, code)
    assert.matches("%-%-user uid", err)
    _, err, code = runc({ "exec", "--env", "NOEQUALS", "e1", "true" })
    assert.are.equal(1, code)
    assert.matches("NAME=VALUE", err)
  end)

  it("exec --process FILE, --detach with --pid-file, --cap, --no-new-privs", function()
    local _, b = running("e2")
    local pf = b .. "/process.json"
    assert(core.write_file_atomic(pf, json.encode({ args = { "sh", "-c", "echo $P; exit 4" }, env = { "P=proc" },
      cwd = "/", user = { uid = 0, gid = 0 }, terminal = false })))
    local _
    local out, err, code = runc({ "exec", "--process", pf, "e2" })
    assert.are.equal(4, code, err)
    assert.are.equal("proc\n", out)
    _, err, code = runc({ "exec", "--detach", "--pid-file", b .. "/epid", "e2", "sleep", "30" },
      { redirect = " >/dev/null 2>" .. q(b .. "/err") })
    assert.are.equal(0, code, read(b .. "/err"))
    local pid = tonumber(read(b .. "/epid"))
    assert.truthy(pid and core.exists("/proc/" .. pid))
    local ps = runc({ "ps", "--format", "json", "e2" })
    local pids = json.decode(ps)
    local found = false
    for _, p in ipairs(pids) do if p == pid then found = true end end
    assert.is_true(found, ps)
    -- --cap adds a capability (CAP_SYS_ADMIN is not in the default set), --no-new-privs sets the bit
    out, err, code = runc({ "exec", "--user", "1000", "--cap", "CAP_NET_RAW", "--no-new-privs", "e2", "sh", "-c",
      "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status" })
    assert.are.equal(0, code, err)
    assert.matches("NoNewPrivs:%s+1", out)
    assert.matches("CapEff:%s+0000000000002000", out) -- CAP_NET_RAW is bit 13
  end)

  it("ps lists the cgroup's pids; table and json", function()
    local st = running("p1")
    local _
    local out, err, code = runc({ "ps", "--format", "json", "p1" })
    assert.are.equal(0, code, err)
    assert.are.same({ st.pid }, json.decode(out))
    out, err, code = runc({ "ps", "p1" })
    assert.are.equal(0, code, err)
    assert.matches("^PID%s+CMD\n" .. st.pid .. "%s+sleep 1000\n$", out)
    _, err, code = runc({ "ps", "--format", "yaml", "p1" })
    assert.are.equal(1, code)
    assert.matches("invalid %-%-format", err)
  end)

  it("pause freezes the container (state paused, exec refused), resume thaws it", function()
    local st = running("z1", function(cfg)
      cfg.process.args = { "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/tick; sleep 0.02; done" }
    end)
    local _, err, code = runc({ "pause", "z1" })
    assert.are.equal(0, code, err)
    assert.are.equal("paused", state("z1").status)
    local stat = read("/proc/" .. st.pid .. "/stat")
    local tick = read("/proc/" .. st.pid .. "/root/dev/shm/tick")
    core.sleep(0.3)
    assert.are.equal(tick, read("/proc/" .. st.pid .. "/root/dev/shm/tick")) -- nothing ran
    assert.truthy(stat ~= "")
    _, err, code = runc({ "exec", "z1", "true" })
    assert.are.equal(1, code)
    assert.matches("paused", err)
    _, err, code = runc({ "pause", "z1" })
    assert.are.equal(1, code)
    _, err, code = runc({ "resume", "z1" })
    assert.are.equal(0, code, err)
    assert.are.equal("running", state("z1").status)
    assert.truthy(U.wait_for(function() return read("/proc/" .. st.pid .. "/root/dev/shm/tick") ~= tick end, 5))
    _, err, code = runc({ "resume", "z1" })
    assert.are.equal(1, code)
    assert.matches("not paused", err)
  end)

  it("update changes memory, pids and cpu limits from flags and --resources", function()
    running("u1")
    local _, err, code = runc({ "update", "--memory", tostring(96 * 1024 * 1024), "--pids-limit", "42",
      "--cpu-quota", "50000", "--cpu-period", "100000", "u1" })
    assert.are.equal(0, code, err)
    assert.are.equal(tostring(96 * 1024 * 1024), cgfile("u1", { "memory.limit_in_bytes", "memory.max" }))
    assert.are.equal("42", cgfile("u1", { "pids.max" }))
    local q1 = cgfile("u1", { "cpu.cfs_quota_us", "cpu.max" })
    assert.truthy(q1 == "50000" or q1 == "50000 100000", q1)
    local rf = tmp .. "/res.json"
    assert(core.write_file_atomic(rf, json.encode({ pids = { limit = 17 } })))
    _, err, code = runc({ "update", "--resources", rf, "u1" })
    assert.are.equal(0, code, err)
    assert.are.equal("17", cgfile("u1", { "pids.max" }))
    -- from stdin
    _, err, code = runc({ "update", "--resources", "-", "u1" }, { redirect = " <<'EOF'\n{\"pids\":{\"limit\":9}}\nEOF\n" })
    assert.are.equal(0, code, err)
    assert.are.equal("9", cgfile("u1", { "pids.max" }))
    assert(core.write_file_atomic(rf, json.encode({ blockIO = { weight = 10 } })))
    _, err, code = runc({ "update", "--resources", rf, "u1" })
    assert.are.equal(1, code)
    assert.matches("linux.resources.blockIO: cannot be updated", err)
    _, err, code = runc({ "update", "--pids-limit", "lots", "u1" })
    assert.are.equal(1, code)
    assert.matches("not an integer", err)
  end)
  it("linux.sysctl (namespaced only), process.user.umask, domainname and a read-only cgroup mount", function()
    local host_shmmax = read("/proc/sys/kernel/shmmax")
    local b = bundle("k1", function(cfg)
      cfg.process.args = { "sh", "-c", "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shmmax " ..
        "/proc/sys/kernel/domainname; umask; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; " ..
        "grep ' /sys/fs/cgroup' /proc/mounts | grep -v ' ro,' | grep -v tmpfs; " ..
        "mkdir /sys/fs/cgroup/pids/x /sys/fs/cgroup/x 2>/dev/null || echo ro" }
      cfg.process.user.umask = 63 -- 0077
      cfg.domainname = "example.org"
      cfg.linux.resources.pids = { limit = 33 }
      cfg.linux.sysctl = { ["net.ipv4.ping_group_range"] = "0 0", ["kernel.shmmax"] = "123456789" }
      cfg.mounts[#cfg.mounts + 1] = { destination = "/sys/fs/cgroup", type = "cgroup", source = "cgroup",
                                      options = { "nosuid", "noexec", "nodev", "relatime", "ro" } }
    end)
    local out, err, code = runc({ "run", "--bundle", b, "k1" })
    assert.are.equal(0, code, err)
    assert.are.equal("0\t0\n123456789\nexample.org\n0077\n33\nro\n", out)
    assert.are.equal(host_shmmax, read("/proc/sys/kernel/shmmax")) -- the host's is untouched
    -- without a cgroup namespace: the container's own cgroup directories, bound read-only
    local b2 = bundle("k3", function(cfg)
      cfg.process.args = { "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; " ..
        "ls /sys/fs/cgroup/pids/luac-runc /sys/fs/cgroup/luac-runc >/dev/null 2>&1 || echo no-parent; " ..
        "mkdir /sys/fs/cgroup/pids/x /sys/fs/cgroup/x 2>/dev/null || echo ro" }
      cfg.linux.resources.pids = { limit = 34 }
      for i = #cfg.linux.namespaces, 1, -1 do
        if cfg.linux.namespaces[i].type == "cgroup" then table.remove(cfg.linux.namespaces, i) end
      end
      cfg.mounts[#cfg.mounts + 1] = { destination = "/sys/fs/cgroup", type = "cgroup", source = "cgroup",
                                      options = { "nosuid", "noexec", "nodev", "ro" } }
    end)
    out, err, code = runc({ "run", "--bundle", b2, "k3" })
    assert.are.equal(0, code, err)
    assert.are.equal("34\nno-parent\nro\n", out)
    -- a sysctl that is not namespaced, or without the namespace of its own: refused by name, nothing left
    for name, edit in pairs({
      ["linux.sysctl.kernel.pid_max: not a namespaced sysctl"] = function(cfg)
        cfg.linux.sysctl = { ["kernel.pid_max"] = "100" }
      end,
      ["linux.sysctl.net.ipv4.ip_forward: needs a network namespace"] = function(cfg)
        cfg.linux.sysctl = { ["net.ipv4.ip_forward"] = "1" }
        for i = #cfg.linux.namespaces, 1, -1 do
          if cfg.linux.namespaces[i].type == "network" then table.remove(cfg.linux.namespaces, i) end
        end
      end,
      ["linux.sysctl: bad name"] = function(cfg) cfg.linux.sysctl = { ["net/../../kernel/pid_max"] = "1" } end,
      ["process.user.umask: not an integer in 0..511"] = function(cfg) cfg.process.user.umask = 4096 end,
    }) do
      local bb = bundle("k2", edit)
      local _, e, c = runc({ "run", "--bundle", bb, "k2" })
      assert.are.equal(1, c, name)
      assert.truthy(e:find(name, 1, true), e)
      assert.is_false(core.exists(root .. "/k2"))
      os.execute("rm -rf " .. q(bb))
    end
  end)
end)
