-- run: containers from images against the real kernel (#root).
local U = require "spec_util"

local root

local function run(args, opts) return U.ctr(root, args, opts) end

local function mounts_clean()
  return #U.mounts_under(root) == 0
end

describe("run #root", function()
  U.per_test_root(function(r) root = r end)

  describe("basics", function()
    it("runs a command from the built-in busybox image and removes it with --rm", function()
      local out, err, code = run({ "run", "--rm", "busybox", "echo", "hello from a container" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("hello from a container\n", out)
      assert.same({}, U.container_ids(root))
    end)

    it("passes argv as a list, never joined into a string", function()
      local out, _, code = run({ "run", "--rm", "busybox", "sh", "-c", 'printf "%s|" "$@"', "x", "a  b", "", "c'd" })
      assert.are.equal(0, code)
      assert.are.equal("a  b||c'd|", out)
    end)

    it("returns the command's exit code, 128+n for a signal", function()
      local _, _, code = run({ "run", "--rm", "busybox", "sh", "-c", "exit 42" })
      assert.are.equal(42, code)
      -- a signal from outside (pid 1 ignores SIGKILL sent from inside its namespace)
      local p = io.popen("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) ..
        " run --name sig busybox sleep 30 >/dev/null 2>&1; echo rc=$?")
      local json = require "ctr.json"
      local pid = U.wait_for(function()
        local id = U.container_ids(root)[1]
        local f = id and io.open(root .. "/containers/" .. id .. "/state.json")
        local st = f and json.decode(f:read("a"))
        if f then f:close() end
        return st and st.status == "running" and st.pid
      end, 10)
      assert.is_truthy(pid)
      require("ctr.core").kill(pid, 9)
      local out = p:read("a")
      p:close()
      assert.are.equal("rc=137\n", out)
    end)

    it("exits 127 for a missing command and 126 for one that cannot run, leaving nothing", function()
      local _, err, code = run({ "run", "--rm", "busybox", "no-such-cmd" })
      assert.are.equal(127, code)
      assert.matches('executable file not found', err)
      _, err, code = run({ "run", "busybox", "/etc/passwd" })
      assert.are.equal(126, code)
      assert.matches("Permission denied", err)
      assert.same({}, U.container_ids(root))
      assert.is_true(mounts_clean())
    end)

    it("keeps an exited container without --rm, with its exit code", function()
      local _, _, code = run({ "run", "--name", "keep", "busybox", "sh", "-c", "exit 3" })
      assert.are.equal(3, code)
      local ids = U.container_ids(root)
      assert.are.equal(1, #ids)
      local f = io.open(root .. "/containers/" .. ids[1] .. "/state.json")
      local st = require("ctr.json").decode(f:read("a"))
      f:close()
      assert.are.equal("exited", st.status)
      assert.are.equal(3, st.exit_code)
      assert.are.equal("keep", st.name)
      assert.same({}, U.cgroup_dirs(ids[1])) -- released at exit
    end)

    it("records output in the container log with timestamps", function()
      run({ "run", "--name", "logged", "busybox", "sh", "-c", "echo out; echo err >&2" })
      local id = U.container_ids(root)[1]
      local f = assert(io.open(root .. "/containers/" .. id .. "/container.log"))
      local text = f:read("a")
      f:close()
      assert.matches('{"log":"out\\n","stream":"stdout","time":"%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z"}', text)
      assert.matches('"log":"err\\n","stream":"stderr"', text, 1, true)
    end)
  end)

  describe("process", function()
    it("gives exactly the image's environment plus -e and --env-file, never ours", function()
      local envf = root .. "/env.list"
      local f = io.open(envf, "w"); f:write("# comment\nFROM_FILE=yes\n\n"); f:close()
      local out, _, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " LEAK_ME=1 HOSTVAR=hv " .. U.q(U.launcher) ..
        " run --rm --hostname h1 -e A=1 -e 'B=x y' -e HOSTVAR --env-file " .. U.q(envf) .. " busybox env")
      assert.are.equal(0, code)
      local env = {}
      for line in out:gmatch("[^\n]+") do env[#env + 1] = line end
      table.sort(env)
      assert.same({ "A=1", "B=x y", "FROM_FILE=yes", "HOME=/root", "HOSTNAME=h1", "HOSTVAR=hv",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, env)
    end)

    it("feeds our stdin to the container with -i, and not without", function()
      local out, _, code = run({ "run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done" }, { stdin = "line one\nline two\n" })
      assert.are.equal(0, code)
      assert.are.equal("line one\nline two\ndone\n", out)
      out = run({ "run", "--rm", "busybox", "sh", "-c", "cat; echo done" }, { stdin = "ignored\n" })
      assert.are.equal("done\n", out)
    end)

    it("brings lo up in the container's network namespace, even with --network none", function()
      local out, _, code = run({ "run", "--rm", "--network", "none", "busybox", "sh", "-c",
        "ip -o link | cut -d: -f2 | tr -d ' \n'; echo; ping -c1 -W2 127.0.0.1 >/dev/null && echo lo-works" })
      assert.are.equal(0, code)
      assert.are.equal("lo\nlo-works\n", out)
    end)

    it("replaces the image's command with --entrypoint", function()
      local out, _, code = run({ "run", "--rm", "--entrypoint", "echo", "busybox", "from", "entrypoint" })
      assert.are.equal(0, code)
      assert.are.equal("from entrypoint\n", out)
    end)

    it("forwards signals to the container in the foreground", function()
      local p = io.popen("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) ..
        " run --name sigfwd busybox sh -c 'trap \"echo got-term; exit 9\" TERM; echo ready; while :; do sleep 0.1; done' 2>&1; echo rc=$?")
      local json = require "ctr.json"
      local ok = U.wait_for(function()
        local id = U.container_ids(root)[1]
        local f = id and io.open(root .. "/containers/" .. id .. "/state.json")
        local st = f and json.decode(f:read("a"))
        if f then f:close() end
        return st and st.status == "running" and st.supervisor and st.supervisor.pid
      end, 10)
      assert.is_truthy(ok)
      -- the script prints "ready" once its trap is set (a TERM before that
      -- would be ignored by PID 1 and the container would never end)
      assert.are.equal("ready", p:read("l"))
      require("ctr.core").kill(ok, "TERM") -- the launcher, which forwards it
      local out = p:read("a")
      p:close()
      assert.matches("got%-term", out)
      assert.matches("rc=9\n$", out)
    end)

    it("sets the working directory (-w), creating it", function()
      local out, _, code = run({ "run", "--rm", "-w", "/srv/app", "busybox", "pwd" })
      assert.are.equal(0, code)
      assert.are.equal("/srv/app\n", out)
    end)

    it("runs as the requested user (-u)", function()
      local out = run({ "run", "--rm", "-u", "nobody", "busybox", "id" })
      assert.matches("uid=65534", out)
      out = run({ "run", "--rm", "-u", "123:456", "busybox", "sh", "-c", "id -u; id -g" })
      assert.are.equal("123\n456\n", out)
      local _, err, code = run({ "run", "--rm", "-u", "nosuchuser", "busybox", "id" })
      assert.are.equal(125, code)
      assert.matches("unable to find user nosuchuser", err)
    end)

    it("applies docker's capability set, --cap-add/--cap-drop, --privileged and no_new_privs", function()
      local function caps(...)
        local args = { "run", "--rm" }
        for _, a in ipairs({ ... }) do args[#args + 1] = a end
        for _, a in ipairs({ "busybox", "sh", "-c", "grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status" }) do args[#args + 1] = a end
        local out, err, code = run(args)
        assert.are.equal(0, code, err)
        return out
      end
      local def = caps()
      assert.matches("CapBnd:%s+00000000a80425fb", def)
      assert.matches("CapEff:%s+00000000a80425fb", def)
      assert.matches("NoNewPrivs:%s+1", def)
      assert.matches("CapBnd:%s+0000000000000000", caps("--cap-drop", "ALL"))
      assert.matches("CapBnd:%s+00000000a82425fb", caps("--cap-add", "SYS_ADMIN"))
      assert.matches("CapBnd:%s+00000000a80425fa", caps("--cap-drop", "chown"))
      local priv = caps("--privileged")
      assert.matches("NoNewPrivs:%s+0", priv)
      assert.not_matches("CapBnd:%s+00000000a80425fb", priv)
      local _, err, code = run({ "run", "--rm", "--cap-add", "NOT_A_CAP", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("unknown capability", err)
    end)
  end)

  describe("filesystem", function()
    it("has a private root: hostname, hosts, proc with masked and read-only paths, read-only sys, dev", function()
      local script = table.concat({
        "cat /etc/hostname", "grep -c localhost /etc/hosts", "test -f /etc/resolv.conf && echo resolv",
        "wc -c < /proc/keys", "echo 1 > /proc/sys/kernel/ostype 2>/dev/null || echo procsys-ro",
        "touch /sys/x 2>/dev/null || echo sys-ro", "ls /dev | tr '\\n' ' '", "echo",
        "echo data > /dev/null && echo null-ok", "head -c 4 /dev/zero | wc -c",
        "grep -E ' /dev/pts | /dev/shm | /dev/mqueue ' /proc/mounts | wc -l",
      }, "; ")
      local out, err, code = run({ "run", "--rm", "--hostname", "box", "busybox", "sh", "-c", script })
      assert.are.equal(0, code, err)
      local l = {}
      for line in out:gmatch("[^\n]*") do l[#l + 1] = line end
      assert.are.equal("box", l[1])
      assert.are.equal("2", l[2])
      assert.are.equal("resolv", l[3])
      assert.are.equal("0", l[4])
      assert.are.equal("procsys-ro", l[5])
      assert.are.equal("sys-ro", l[6])
      for _, d in ipairs({ "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue", "fd", "stdin" }) do
        assert.matches("%f[%w]" .. d .. "%f[^%w]", l[7])
      end
      assert.are.equal("null-ok", l[8])
      assert.are.equal("4", l[9])
      assert.are.equal("3", l[10])
    end)

    it("gives each container its own writable layer over a shared read-only image", function()
      run({ "run", "--name", "w1", "busybox", "sh", "-c", "echo one > /etc/marker; rm /bin/true" })
      local out, _, code = run({ "run", "--rm", "busybox", "sh", "-c", "cat /etc/marker 2>&1; ls /bin/true" })
      assert.are.equal(0, code)
      assert.matches("No such file", out)
      assert.matches("/bin/true", out)
      local id = U.container_ids(root)[1]
      local f = assert(io.open(root .. "/containers/" .. id .. "/upper/etc/marker"))
      assert.are.equal("one\n", f:read("a"))
      f:close()
    end)

    it("makes the root read-only with --read-only", function()
      local out, _, code = run({ "run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x 2>&1; exit 0" })
      assert.are.equal(0, code)
      assert.matches("Read%-only file system", out)
    end)

    it("bind-mounts volumes read-write and read-only, creating missing host directories", function()
      local host = root .. "/vol"
      local missing = root .. "/created/by/run"
      local out, err, code = run({ "run", "--rm", "-v", host .. ":/data", "-v", missing .. ":/m:ro", "busybox", "sh", "-c",
        "echo hi > /data/f && cat /data/f; touch /m/x 2>&1; exit 0" })
      assert.are.equal(0, code, err)
      assert.matches("^hi\n", out)
      assert.matches("Read%-only file system", out)
      local f = assert(io.open(host .. "/f"))
      assert.are.equal("hi\n", f:read("a"))
      f:close()
      assert.is_true(os.rename(missing, missing))
      assert.is_true(mounts_clean())
    end)

    it("refuses a volume destination that escapes the root", function()
      local _, err, code = run({ "run", "--rm", "-v", root .. "/v:/../../etc", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("escapes the root", err)
      _, err, code = run({ "run", "--rm", "-v", "./relative:/x", "busybox", "true" }) -- NAME:/x is a named volume
      assert.are.equal(125, code)
      assert.matches("includes invalid characters for a local volume name", err)
      _, err, code = run({ "run", "--rm", "-v", root .. "/v:/x:rx", "busybox", "true" })
      assert.are.equal(125, code)
      assert.same({}, U.container_ids(root))
    end)
  end)

  describe("cgroups", function()
    it("puts the container in its own cgroup, seen as / inside its cgroup namespace", function()
      local out, _, code = run({ "run", "--rm", "busybox", "cat", "/proc/self/cgroup" })
      assert.are.equal(0, code)
      for line in out:gmatch("[^\n]+") do assert.matches(":/$", line) end
    end)

    it("OOM-kills a process over the memory limit and reports it", function()
      local _, _, code = run({ "run", "--name", "oom", "-m", "16m", "--memory-swap", "16m", "busybox", "sh", "-c",
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived" })
      assert.are.equal(137, code)
      local id = U.container_ids(root)[1]
      local f = io.open(root .. "/containers/" .. id .. "/state.json")
      local st = require("ctr.json").decode(f:read("a"))
      f:close()
      assert.is_true(st.oom_killed)
    end)

    it("stops a fork bomb at the pids limit", function()
      local out, err, code = run({ "run", "--rm", "--pids-limit", "10", "busybox", "sh", "-c",
        "for i in $(seq 30); do sleep 5 & done; echo all-forked" })
      assert.are_not.equal(0, code)
      assert.matches("can't fork", err)
      assert.not_matches("all%-forked", out)
    end)

    it("sets cpu quota, cpuset and memory limits", function()
      local id = run({ "run", "-d", "--cpus", "0.5", "--cpuset-cpus", "0", "-m", "64m", "busybox", "sleep", "30" }):match("%x+")
      assert.is_truthy(id)
      local function read(p) local f = io.open(p); local s = f and f:read("l"); if f then f:close() end; return s end
      assert.are.equal("50000", read("/sys/fs/cgroup/cpu/luac-ctr/" .. id .. "/cpu.cfs_quota_us"))
      assert.are.equal("0", read("/sys/fs/cgroup/cpuset/luac-ctr/" .. id .. "/cpuset.cpus"))
      assert.are.equal(tostring(64 * 1024 * 1024), read("/sys/fs/cgroup/memory/luac-ctr/" .. id .. "/memory.limit_in_bytes"))
    end)
  end)

  describe("detached", function()
    it("prints the id, keeps running under a supervisor, logs, and survives the launcher", function()
      local out, err, code = run({ "run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo started; exec sleep 30" })
      assert.are.equal(0, code, err)
      local id = out:match("^(%x+)\n$")
      assert.are.equal(64, #id)
      local log = root .. "/containers/" .. id .. "/container.log"
      assert.is_truthy(U.wait_for(function()
        local f = io.open(log); local s = f and f:read("a"); if f then f:close() end
        return s and s:find("started", 1, true)
      end, 10))
      local c = require("ctr.container")
      require("ctr.state").set_root(root)
      local ct = assert(c.get("bg"))
      assert.are.equal("running", ct:status())
      require("ctr.state").set_root(nil)
    end)

    it("never reports a dead process as running", function()
      local id = run({ "run", "-d", "busybox", "sleep", "30" }):match("%x+")
      local state = require "ctr.state"
      state.set_root(root)
      local c = assert(require("ctr.container").get(id))
      -- kill the supervisor first, then the container: nobody records the exit
      local core = require "ctr.core"
      core.kill(c.state.supervisor.pid, 9)
      core.kill(c.state.pid, 9)
      assert.is_truthy(U.wait_for(function() return c:refresh():status() == "exited" end, 10))
      state.set_root(nil)
    end)
  end)

  describe("bad input", function()
    local function assert_nothing_left()
      assert.same({}, U.container_ids(root))
      assert.is_true(mounts_clean())
    end

    it("unknown image", function()
      local _, err, code = run({ "run", "--rm", "nosuchimage", "true" })
      assert.are.equal(125, code)
      assert.matches("Unable to find image 'nosuchimage'", err)
      assert_nothing_left()
    end)

    it("bad memory, cpus and pids values", function()
      for _, args in ipairs({ { "-m", "12x" }, { "--cpus", "zero" }, { "--cpus", "-1" }, { "--pids-limit", "abc" },
        { "-m", "4m", "--memory-swap", "2m" } }) do
        local a = { "run", "--rm" }
        for _, x in ipairs(args) do a[#a + 1] = x end
        a[#a + 1] = "busybox"; a[#a + 1] = "true"
        local _, err, code = run(a)
        assert.are.equal(125, code, table.concat(args, " "))
        assert.are.equal(1, select(2, err:gsub("\n", "")), err)
      end
      assert_nothing_left()
    end)

    it("unknown options and missing image", function()
      local _, err, code = run({ "run", "--bogus", "busybox" })
      assert.are.equal(125, code)
      assert.matches("unknown flag: %-%-bogus", err)
      _, err, code = run({ "run" })
      assert.are.equal(125, code)
      assert.matches("requires at least 1 argument", err)
      assert_nothing_left()
    end)

    it("names: invalid, and in use", function()
      local _, err, code = run({ "run", "--rm", "--name", "bad/name", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches("invalid container name", err)
      local _, _, c1 = run({ "run", "-d", "--name", "taken", "busybox", "sleep", "30" })
      assert.are.equal(0, c1)
      _, err, code = run({ "run", "--rm", "--name", "taken", "busybox", "true" })
      assert.are.equal(125, code)
      assert.matches('name "taken" is already in use', err)
      assert.are.equal(1, #U.container_ids(root))
    end)
  end)

  describe("terminal", function()
    it("-it gives a shell on a pty: prompt, Ctrl-C interrupts the command, exit code returns", function()
      local s = U.pty(root, { "run", "-it", "--rm", "busybox", "sh" })
      local ok, err = pcall(function()
        s:expect("# ", 15)
        s:send("tty; echo $TERM\r")
        s:expect("/dev/pts/0")
        s:expect("xterm")
        s:send("stty size\r")
        s:expect("30 100")
        require("ctr.core").set_winsize(s.master, 40, 120) -- the launcher gets SIGWINCH
        require("ctr.core").sleep(0.2)
        s:send("stty size\r")
        s:expect("40 120")
        s:send("sleep 60\r")
        require("ctr.core").sleep(0.3)
        s:send("\3")
        s:expect("# ", 10)
        s:send("echo after-interrupt\r")
        s:expect("after-interrupt")
        s:send("exit 3\r")
        assert.are.equal(3, s:wait(15))
      end)
      s:close()
      assert(ok, err)
    end)
  end)
end)
