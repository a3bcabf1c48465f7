-- runflags: docker run's runtime flags against the real kernel (#root):
-- --restart (a crasher restarted with docker's back-off), --init, -P and
-- --expose, --sysctl, --stop-signal/--stop-timeout, --shm-size, resource
-- flags, --cgroupns, and shared namespaces (--ipc, --pid, --uts,
-- --network container:NAME). Each flag is checked by what the container
-- sees, not by the config written.
local U = require "spec_util"
local json = require "ctr.json"

local root

local function run(args, opts) return U.ctr(root, args, opts) end

local function inspect(name)
  local out, err, code = run({ "inspect", name })
  assert(code == 0, err)
  return json.decode(out)[1]
end

describe("run flags: policies and checks", function()
  it("parses restart policies as docker and computes docker's back-off", function()
    local restart = require "ctr.container.restart"
    assert.are.same({ Name = "no", MaximumRetryCount = 0 }, restart.parse(nil))
    assert.are.same({ Name = "on-failure", MaximumRetryCount = 3 }, restart.parse("on-failure:3"))
    assert.are.same({ Name = "unless-stopped", MaximumRetryCount = 0 }, restart.parse("unless-stopped"))
    for _, bad in ipairs({ "sometimes", "always:3", "on-failure:x", "on-failure:-1", "" .. string.rep("9", 12) }) do
      assert.has_error(function() restart.parse(bad) end)
    end
    local d, seq = nil, {}
    for _ = 1, 12 do d = restart.next_delay(d, 0.5); seq[#seq + 1] = d end
    assert.are.same({ 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 60, 60 }, seq)
    assert.are.equal(0.1, restart.next_delay(60, 10)) -- a run of 10 s starts over
    local st = { restart = { Name = "on-failure", MaximumRetryCount = 2 }, restart_count = 1 }
    assert.is_true(restart.wanted(st, { exit_code = 1 }))
    assert.is_false(restart.wanted(st, { exit_code = 0 }))
    st.restart_count = 2
    assert.is_false(restart.wanted(st, { exit_code = 1 }))
    assert.is_false(restart.wanted({ restart = { Name = "always" }, manual_stop = true }, { exit_code = 1 }))
  end)

  it("allows only namespaced sysctls, for namespaces of the container's own", function()
    local rf = require "ctr.container.runflags"
    assert.are.same({ ["net.ipv4.ip_forward"] = "1", ["kernel.sem"] = "1 2 3 4" },
      rf.sysctls({ "net.ipv4.ip_forward=1", "kernel.sem=1 2 3 4" }, {}, "bridge"))
    assert.has_error(function() rf.sysctls({ "kernel.hostname=x" }, {}, "bridge") end)
    assert.has_error(function() rf.sysctls({ "net.core.somaxconn=1" }, {}, "container:abc") end)
    assert.has_error(function() rf.sysctls({ "fs.mqueue.msg_max=1" }, { ipc = "host" }, "bridge") end)
    assert.has_error(function() rf.sysctls({ "net.ipv4/../../x=1" }, {}, "bridge") end)
    assert.has_error(function() rf.sysctls({ "net.ipv4.a=1\n" }, {}, "bridge") end)
  end)
end)

describe("run flags #root", function()
  U.per_test_root(function(r) root = r end)

  describe("--restart", function()
    it("on-failure:3 restarts a crasher exactly 3 times with docker's back-off, then it is exited", function()
      local vol = root .. "/vol"
      assert(os.execute("mkdir -p " .. U.q(vol)))
      local _, err, code = run({ "run", "-d", "--name", "crasher", "--network", "none", "--restart", "on-failure:3",
        "-v", vol .. ":/data", "busybox", "sh", "-c", "cut -d' ' -f1 /proc/uptime >> /data/t; exit 3" })
      assert.are.equal(0, code, err)
      local seen_restarting = false
      assert.is_truthy(U.wait_for(function()
        local out = run({ "ps", "-a", "--filter", "name=crasher" })
        if out:match("Restarting %(3%) .- ago") then seen_restarting = true end
        return out:match("Exited %(3%)") and inspect("crasher").State.Status == "exited"
      end, 20))
      assert.is_true(seen_restarting)
      local doc = inspect("crasher")
      assert.are.equal(3, doc.RestartCount)
      assert.are.same({ Name = "on-failure", MaximumRetryCount = 3 }, doc.HostConfig.RestartPolicy)
      assert.are.equal("exited", doc.State.Status)
      assert.are.equal(3, doc.State.ExitCode)
      local t = {}
      for l in io.lines(vol .. "/t") do t[#t + 1] = tonumber(l) end
      assert.are.equal(4, #t) -- the first run and 3 restarts
      -- 100 ms, 200 ms, 400 ms between them (uptime has 10 ms steps)
      assert.is_true(t[2] - t[1] >= 0.09, "first delay " .. (t[2] - t[1]))
      assert.is_true(t[3] - t[2] >= 0.19, "second delay " .. (t[3] - t[2]))
      assert.is_true(t[4] - t[3] >= 0.39, "third delay " .. (t[4] - t[3]))
      assert.is_true(t[4] - t[3] > t[2] - t[1])
    end)

    it("always: restarted until stopped; stop and rm -f end it without a restart", function()
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "al", "--network", "none", "--restart", "always",
        "busybox", "sh", "-c", "sleep 0.2; exit 1" })))
      assert.are.equal("1\n", (run({ "wait", "al" }))) -- docker: each exit ends a wait
      assert.is_truthy(U.wait_for(function() return inspect("al").RestartCount >= 2 end, 10))
      assert.are.equal(0, select(3, run({ "stop", "al" })))
      local n = inspect("al").RestartCount
      assert.are.equal("exited", inspect("al").State.Status)
      os.execute("sleep 1")
      assert.are.equal(n, inspect("al").RestartCount)
      assert.are.equal("exited", inspect("al").State.Status)
      -- started again by the user: the count starts over; rm -f ends it for good
      assert.are.equal(0, select(3, run({ "start", "al" })))
      assert.is_truthy(U.wait_for(function() return inspect("al").RestartCount >= 1 end, 10))
      assert.are.equal(0, select(3, run({ "rm", "-f", "al" })))
      assert.are.same({}, U.container_ids(root))
    end)

    it("a running always container killed by the user stays exited", function()
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "k", "--network", "none", "--restart", "unless-stopped",
        "busybox", "sleep", "60" })))
      assert.are.equal(0, select(3, run({ "kill", "k" })))
      os.execute("sleep 0.5")
      local doc = inspect("k")
      assert.are.equal("exited", doc.State.Status)
      assert.are.equal(0, doc.RestartCount)
    end)

    it("refuses --restart with --rm and a bad policy, in one line, leaving nothing", function()
      local _, err, code = run({ "run", "--rm", "--restart", "always", "busybox", "true" })
      assert.are.equal(125, code)
      assert.are.equal("luac-ctr: Conflicting options: --restart and --rm\n", err)
      _, err, code = run({ "run", "--restart", "sometimes", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("invalid restart policy", err)
      _, err, code = run({ "run", "--restart", "always:3", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("only be used with 'on%-failure'", err)
      assert.are.same({}, U.container_ids(root))
    end)
  end)

  describe("--init", function()
    local function zombies(name)
      local out = run({ "exec", name, "ps", "-o", "stat,comm" })
      local n = 0
      for _ in out:gmatch("\nZ") do n = n + 1 end
      return n, out
    end

    it("reaps the orphans a process leaves (none without it), ps shows the init as PID 1", function()
      local cmd = { "sh", "-c", "(sleep 0.1 &); (sleep 0.1 &); exec sleep 30" }
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "noinit", "--network", "none", "busybox", table.unpack(cmd) })))
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "withinit", "--init", "--network", "none", "busybox", table.unpack(cmd) })))
      assert.is_truthy(U.wait_for(function() return zombies("noinit") == 2 end, 5)) -- the test can fail
      os.execute("sleep 0.3")
      local n, out = zombies("withinit")
      assert.are.equal(0, n, out)
      out = run({ "exec", "withinit", "ps", "-o", "pid,comm,args" })
      assert.matches("\n%s*1 init%s+init\n", out)
      assert.matches("\n%s*%d+ sleep%s+sleep 30\n", out)
      assert.not_matches("luac%-ctr", out) -- nothing of the host's command line
    end)

    it("forwards SIGTERM to the process and exits with its status", function()
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "t", "--init", "--network", "none", "busybox", "sh", "-c",
        "trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done" })))
      assert.is_truthy(U.wait_for(function() return run({ "logs", "t" }):match("ready") end, 5))
      local t0 = os.time()
      assert.are.equal(0, select(3, run({ "stop", "t" })))
      assert.is_true(os.time() - t0 < 5) -- not the 10 s of a SIGKILL
      assert.are.equal("ready\ngot TERM\n", (run({ "logs", "t" })))
      assert.are.equal(42, inspect("t").State.ExitCode)
      assert.is_true(inspect("t").HostConfig.Init)
      local _, _, code = run({ "run", "--rm", "--init", "--network", "none", "busybox", "sh", "-c", "kill -9 $$" })
      assert.are.equal(137, code)
      _, _, code = run({ "run", "--rm", "--init", "--network", "none", "busybox", "nosuch" })
      assert.are.equal(127, code)
    end)
  end)

  describe("-P and --expose", function()
    it("publishes every exposed port on a free host port, held, reachable; bad --expose refused", function()
      local _, err, code = run({ "run", "-d", "--name", "web", "-P", "--expose", "8000", "--expose", "9000-9001/udp",
        "busybox", "sh", "-c", "echo hi > /tmp/index.html; exec httpd -f -p 8000 -h /tmp" })
      assert.are.equal(0, code, err)
      local ports = inspect("web").NetworkSettings.Ports
      local hp = tonumber(ports["8000/tcp"][1].HostPort)
      assert.is_true(hp > 1024 and hp < 65536)
      assert.truthy(ports["9000/udp"] and ports["9001/udp"])
      local out = run({ "ps", "--format", "{{.Ports}}" })
      assert.matches("0%.0%.0%.0:" .. hp .. "%->8000/tcp", out)
      -- held: another bind to it fails (as -p's)
      local core = require "ctr.core"
      local sock, perr = core.port_hold("0.0.0.0", hp, "tcp")
      assert.is_nil(sock)
      assert.matches("in use", perr)
      local got = U.wait_for(function()
        local body = U.sh("wget -T 2 -qO- http://127.0.0.1:" .. hp .. "/index.html")
        return body == "hi\n" and body
      end, 10)
      assert.are.equal("hi\n", got)
      _, err, code = run({ "run", "--rm", "--expose", "80-70", "busybox", "true" })
      assert.are.equal(125, code)
      assert.are.equal('luac-ctr: invalid --expose "80-70": use PORT[-PORT][/tcp|/udp]\n', err)
    end)
  end)

  describe("--sysctl, --shm-size, resources, --cgroupns", function()
    it("sets namespaced sysctls (read inside), refuses the others in one line", function()
      local _
      local out, err, code = run({ "run", "--rm", "--sysctl", "kernel.shmmax=123456789", "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=99", "--sysctl", "fs.mqueue.msg_max=20", "busybox", "sh", "-c",
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/fs/mqueue/msg_max" })
      assert.are.equal(0, code, err)
      assert.are.equal("123456789\n99\n20\n", out)
      local host = U.sh("cat /proc/sys/kernel/shmmax")
      assert.are_not.equal("123456789\n", host) -- the host's own value is untouched
      _, err, code = run({ "run", "--rm", "--sysctl", "kernel.pid_max=10", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("^luac%-ctr: sysctl \"kernel.pid_max\" is not allowed %(not a namespaced sysctl", err)
      _, err, code = run({ "run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true" })
      assert.are.equal(125, code)
      assert.are.equal("luac-ctr: sysctl \"net.ipv4.ip_forward\" is not allowed with --network host\n", err)
      _, _, code = run({ "run", "--rm", "--ipc", "host", "--sysctl", "kernel.shmmax=1", "busybox", "true" })
      assert.are.equal(125, code)
      assert.are.same({}, U.container_ids(root))
    end)

    it("sizes /dev/shm, sets cpu shares, memory reservation, oom-kill-disable; cgroupns host shows the path", function()
      local _
      local out, err, code = run({ "run", "--rm", "--shm-size", "1m", "busybox", "df", "-k", "/dev/shm" })
      assert.are.equal(0, code, err)
      assert.matches("\nshm%s+1024%s", out)
      local v2 = require("ctr.cgroup").layout() == "v2"
      out, err, code = run({ "run", "--rm", "--cpu-shares", "512", "--memory-reservation", "32m", "-m", "64m",
        "busybox", "sh", "-c", v2 and "cat /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/memory.low"
          or "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/memory/memory.soft_limit_in_bytes" })
      assert.are.equal(0, code, err)
      assert.are.equal(v2 and "20\n33554432\n" or "512\n33554432\n", out)
      if not v2 then
        out = run({ "run", "--rm", "--oom-kill-disable", "-m", "64m", "busybox", "head", "-1", "/sys/fs/cgroup/memory/memory.oom_control" })
        assert.are.equal("oom_kill_disable 1\n", out)
      end
      out = run({ "run", "--rm", "--cgroupns", "host", "--name", "cgh", "busybox", "cat", "/proc/self/cgroup" })
      assert.matches(":/luac%-ctr/%x+\n", out)
      out = run({ "run", "--rm", "busybox", "cat", "/proc/self/cgroup" })
      assert.not_matches("luac%-ctr", out)
      _, err, code = run({ "run", "--rm", "--cpu-shares", "1", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("from 2 to 262144", err)
    end)
  end)

  describe("--stop-signal and --stop-timeout", function()
    it("stop sends the stop signal, waits the stop timeout; inspect shows them", function()
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "s", "--stop-signal", "USR1", "busybox", "sh", "-c",
        "trap 'echo got USR1; exit 5' USR1; echo ready; while :; do sleep 0.1; done" })))
      assert.is_truthy(U.wait_for(function() return run({ "logs", "s" }):match("ready") end, 5))
      assert.are.equal(0, select(3, run({ "stop", "s" })))
      assert.are.equal("ready\ngot USR1\n", (run({ "logs", "s" })))
      local doc = inspect("s")
      assert.are.equal(5, doc.State.ExitCode)
      assert.are.equal("USR1", doc.Config.StopSignal)
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "s2", "--stop-timeout", "1", "busybox", "sh", "-c",
        "trap '' TERM; echo ready; while :; do sleep 0.1; done" })))
      assert.is_truthy(U.wait_for(function() return run({ "logs", "s2" }):match("ready") end, 5))
      local core = require "ctr.core"
      local t0 = core.clock("monotonic")
      assert.are.equal(0, select(3, run({ "stop", "s2" })))
      local took = core.clock("monotonic") - t0
      assert.is_true(took >= 0.9 and took < 5, "stop took " .. took)
      doc = inspect("s2")
      assert.are.equal(1, doc.Config.StopTimeout)
      assert.are.equal(137, doc.State.ExitCode)
    end)
  end)

  describe("shared namespaces", function()
    it("--pid, --ipc and --network container:NAME join a running container's namespaces", function()
      local _, err, code = run({ "run", "-d", "--name", "pod", "--ipc", "shareable", "--sysctl", "kernel.shmmax=7777",
        "busybox", "sh", "-c", "echo hi > /tmp/index.html; echo seg > /dev/shm/seg; exec httpd -f -p 8000 -h /tmp" })
      assert.are.equal(0, code, err)
      -- pid: the other's processes are seen
      local out = run({ "run", "--rm", "--pid", "container:pod", "busybox", "ps", "-o", "pid,args" })
      assert.matches("\n%s*1 httpd %-f %-p 8000", out)
      -- ipc: its IPC sysctls and a SysV segment made in it are seen, not from a private one
      local pid = inspect("pod").State.Pid
      local mk, mkerr = U.sh("nsenter --ipc=/proc/" .. pid .. "/ns/ipc ipcmk -M 4096")
      local key = mk:match("(%d+)%s*$")
      assert.truthy(key, mk .. mkerr)
      out = run({ "run", "--rm", "--ipc", "container:pod", "busybox", "sh", "-c",
        "cat /proc/sys/kernel/shmmax /dev/shm/seg /proc/sysvipc/shm" })
      assert.matches("^7777\nseg\n", out) -- its sysctls and its /dev/shm
      assert.matches("\n%s*%-?%d+%s+" .. key .. "%s", out)
      out = run({ "run", "--rm", "busybox", "cat", "/proc/sysvipc/shm" })
      assert.not_matches("\n%s*%-?%d+%s+" .. key .. "%s", out)
      -- network: the other's loopback, /etc/hosts and hostname; no address of its own
      out, err, code = run({ "run", "--rm", "--network", "container:pod", "busybox", "sh", "-c",
        "for i in $(seq 50); do wget -qO- http://127.0.0.1:8000/index.html && break; sleep 0.1; done; hostname; cat /etc/hosts" })
      assert.are.equal(0, code, err)
      local id = inspect("pod").Id
      assert.matches("^hi\n" .. id:sub(1, 12) .. "\n", out)
      assert.matches("\tpod " .. id:sub(1, 12) .. "\n", out) -- the first one's /etc/hosts
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "side", "--network", "container:pod", "busybox", "sleep", "30" })))
      local doc = inspect("side")
      assert.are.equal("container:" .. id, doc.HostConfig.NetworkMode)
      assert.are.equal("shareable", inspect("pod").HostConfig.IpcMode)
      assert.are.same({ ["kernel.shmmax"] = "7777" }, inspect("pod").HostConfig.Sysctls)
      assert.is_nil(doc.NetworkSettings.ip)
      -- the first removed while the second runs: the second keeps running
      assert.are.equal(0, select(3, run({ "rm", "-f", "pod" })))
      assert.are.equal("running", inspect("side").State.Status)
      assert.are.equal(0, select(3, run({ "stop", "-t", "0", "side" })))
      _, err, code = run({ "start", "side" })
      assert.are_not.equal(0, code)
      assert.matches("not running\n$", err)
    end)

    it("host namespaces only when asked; bad modes and donors refused in one line", function()
      local hostname = U.sh("hostname")
      assert.are.equal(hostname, (run({ "run", "--rm", "--uts", "host", "busybox", "hostname" })))
      assert.are_not.equal(hostname, (run({ "run", "--rm", "busybox", "hostname" })))
      local host_ns = U.sh("readlink /proc/self/ns/pid /proc/self/ns/ipc /proc/self/ns/uts")
      local out = run({ "run", "--rm", "--pid", "host", "--ipc", "host", "busybox", "sh", "-c",
        "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc" })
      assert.are.equal(host_ns:match("^[^\n]*\n[^\n]*\n"), out)
      out = run({ "run", "--rm", "busybox", "sh", "-c", "for n in pid ipc uts; do readlink /proc/self/ns/$n; done" })
      assert.matches("^pid:.*\nipc:.*\nuts:.*\n$", out)
      for l in out:gmatch("[^\n]+") do assert.is_nil(host_ns:find(l, 1, true)) end
      assert.not_matches("shm", (run({ "run", "--rm", "--ipc", "none", "busybox", "ls", "/dev" })))
      local cases = {
        { { "--pid", "bogus" }, 'luac-ctr: invalid --pid "bogus"\n' },
        { { "--ipc", "container:nosuch" }, "luac-ctr: --ipc container:nosuch: no such container: nosuch\n" },
        { { "--network", "container:nosuch" }, "luac-ctr: --network container:nosuch: no such container: nosuch\n" },
      }
      for _, c in ipairs(cases) do
        local args = { "run", "--rm" }
        for _, a in ipairs(c[1]) do args[#args + 1] = a end
        args[#args + 1] = "busybox"; args[#args + 1] = "true"
        local _, err, code = run(args)
        assert.are.equal(125, code)
        assert.are.equal(c[2], err)
      end
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "priv", "--network", "none", "busybox", "sleep", "30" })))
      local _, err, code = run({ "run", "--rm", "--ipc", "container:priv", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("non%-shareable", err)
      _, err = run({ "run", "--rm", "-p", "80:80", "--network", "container:priv", "busybox", "true" })
      assert.matches("port publishing", err)
      assert.are.same({ "priv" }, { (run({ "ps", "-a", "--format", "{{.Names}}" }):match("^(%S+)\n$")) })
    end)
  end)
end)
