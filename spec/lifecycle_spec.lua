-- Container lifecycle workflows against the real kernel (#root): ps, stop,
-- kill, rm, inspect, wait, start, restart, image.
local U = require "spec_util"
local json = require "ctr.json"
local core = require "ctr.core"

local root

local function ctr(...) return U.ctr(root, { ... }) end

-- run -d NAME ARGS... (no network: these specs are about the lifecycle)
local function rund(name, ...)
  local out, err, code = ctr("run", "-d", "--network", "none", "--name", name, "busybox", ...)
  assert.are.equal(0, code, err)
  return (out:gsub("%s+$", ""))
end

local function state_of(ref)
  local state = require "ctr.state"
  local container = require "ctr.container"
  state.set_root(root)
  local c = container.get(ref)
  state.set_root(nil)
  return c and c.state, c
end

local function status_of(ref)
  local _, c = state_of(ref)
  return c and c:status()
end

local function pid_alive(pid, starttime)
  return core.starttime(pid) == starttime and core.proc_state(pid) ~= "Z"
end

-- a container that has printed "ready" to its log
local function wait_ready(name)
  return U.wait_for(function()
    local out = ctr("logs", name)
    return out:find("ready", 1, true) ~= nil
  end, 10)
end

local _ -- what multiple assignments throw away (not a global)

describe("lifecycle #root", function()
  U.per_test_root(function(r) root = r end)

  describe("ps", function()
    it("lists running containers; -a adds the others, with docker's columns and status words", function()
      local id = rund("up", "sleep", "30")
      rund("gone", "sh", "-c", "exit 3")
      assert.is_truthy(U.wait_for(function() return state_of("gone").status == "exited" end, 10))
      local out, err, code = ctr("ps")
      assert.are.equal(0, code, err)
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.equal(2, #lines)
      assert.matches("^CONTAINER ID%s+IMAGE%s+COMMAND%s+CREATED%s+STATUS%s+PORTS%s+NAMES$", lines[1])
      assert.matches("^" .. id:sub(1, 12) .. "%s+busybox%s+\"sleep 30\"%s+.- ago%s+Up .-%s+up$", lines[2])
      out = ctr("ps", "-a")
      assert.matches("Exited %(3%) .- ago%s+gone\n", out)
      assert.matches("Up [^\n]+up\n", out)
    end)

    it("shows Created for a container never started, truncates long commands like docker", function()
      local state = require "ctr.state"
      local container = require "ctr.container"
      state.set_root(root)
      container.create { image = "busybox", name = "fresh", network = "none", cmd = { "sh", "-c", "echo a very long command line here" } }
      state.set_root(nil)
      local out = ctr("ps", "-a")
      assert.matches('"sh %-c echo a very l…"%s+[^\n]-Created%s+fresh', out)
      out = ctr("ps", "-a", "--no-trunc")
      assert.matches('"sh -c echo a very long command line here"', out, nil, true)
    end)

    it("-q prints ids only, --format json one object per line, --format templates", function()
      local id1 = rund("one", "sleep", "30")
      local id2 = rund("two", "sleep", "30")
      local out = ctr("ps", "-q")
      local ids = {}
      for l in out:gmatch("[^\n]+") do ids[l] = true end
      assert.same({ [id1:sub(1, 12)] = true, [id2:sub(1, 12)] = true }, ids)
      out = ctr("ps", "--format", "json")
      local n = 0
      for l in out:gmatch("[^\n]+") do
        local o = json.decode(l)
        n = n + 1
        assert.are.equal("running", o.State)
        assert.is_truthy(o.Names == "one" or o.Names == "two")
        assert.matches("^Up ", o.Status)
        assert.are.equal("busybox", o.Image)
      end
      assert.are.equal(2, n)
      out = ctr("ps", "--format", "{{.Names}}:{{.State}}", "--filter", "name=one")
      assert.are.equal("one:running\n", out)
      out = ctr("ps", "--no-trunc", "-q", "--filter", "name=two")
      assert.are.equal(id2 .. "\n", out)
      -- -l: the newest, -n N: the N newest (any state)
      assert.are.equal("two\n", (ctr("ps", "-l", "--format", "{{.Names}}")))
      assert.are.equal("two\none\n", (ctr("ps", "-n", "5", "--format", "{{.Names}}")))
    end)

    it("filters by name and status (repeated keys match any value)", function()
      rund("web1", "sleep", "30")
      rund("web2", "sh", "-c", "exit 0")
      rund("db", "sleep", "30")
      assert.is_truthy(U.wait_for(function() return state_of("web2").status == "exited" end, 10))
      local function names(...)
        local out, err, code = ctr("ps", "--format", "{{.Names}}", ...)
        assert.are.equal(0, code, err)
        local t = {}
        for l in out:gmatch("[^\n]+") do t[#t + 1] = l end
        table.sort(t)
        return t
      end
      assert.same({ "web1" }, names("--filter", "name=web"))
      assert.same({ "web1", "web2" }, names("-a", "--filter", "name=web"))
      assert.same({ "web2" }, names("--filter", "status=exited"))
      assert.same({ "db", "web1", "web2" }, names("--filter", "status=exited", "--filter", "status=running"))
      assert.same({ "web1" }, names("-a", "--filter", "name=web", "--filter", "status=running"))
      local _, err, code = ctr("ps", "--filter", "bogus")
      assert.are.equal(125, code)
      assert.matches("invalid filter", err)
    end)

    it("stays fast with 1000 containers: one state read each, no subprocesses", function()
      local id = rund("model", "sh", "-c", "exit 0")
      assert.is_truthy(U.wait_for(function() return state_of("model").status == "exited" end, 10))
      local st = assert(io.open(root .. "/containers/" .. id .. "/state.json")):read("a")
      local function fabricate(from, to)
        for i = from, to do
          local nid = ("%064x"):format(i)
          local dir = root .. "/containers/" .. nid
          assert(core.mkdir(dir, 448))
          local s = st:gsub(id, nid):gsub('"name":"model"', ('"name":"fake%d"'):format(i))
          assert(core.write_file_atomic(dir .. "/state.json", s, 384))
        end
      end
      local function timed_ps()
        local t0 = core.clock("monotonic")
        local out, err, code = ctr("ps", "-a")
        assert.are.equal(0, code, err)
        return core.clock("monotonic") - t0, select(2, out:gsub("\n", ""))
      end
      fabricate(1, 1000)
      local t1000, lines = timed_ps()
      assert.are.equal(1002, lines)
      fabricate(1001, 2000)
      local t2000 = timed_ps()
      print(("\n    ps -a: 1000 containers %.0f ms, 2000 containers %.0f ms"):format(t1000 * 1000, t2000 * 1000))
      assert.is_true(t1000 < 3, "ps -a with 1000 containers took " .. t1000 .. " s")
      assert.is_true(t2000 < t1000 * 4 + 0.3, "ps is not linear: " .. t1000 .. " s then " .. t2000 .. " s")
      -- fabricated containers have no cgroups: remove their dirs directly
      for i = 1, 2000 do core.remove_all(root .. "/containers/" .. ("%064x"):format(i)) end
    end)
  end)

  describe("stop", function()
    it("stops with SIGTERM when the process handles it, printing the name", function()
      rund("polite", "sh", "-c", "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done")
      assert.is_truthy(wait_ready("polite"))
      local t0 = core.clock("monotonic")
      local out, err, code = ctr("stop", "polite")
      assert.are.equal(0, code, err)
      assert.are.equal("polite\n", out)
      assert.is_true(core.clock("monotonic") - t0 < 5)
      local st = state_of("polite")
      assert.are.equal("exited", st.status)
      assert.are.equal(7, st.exit_code)
    end)

    it("kills after -t seconds a PID 1 that ignores SIGTERM; exited only once the process is gone", function()
      local id = rund("stubborn", "sleep", "30")
      local st = state_of("stubborn")
      local pid, starttime = st.pid, st.starttime
      local t0 = core.clock("monotonic")
      local out, _, code = ctr("stop", "-t", "1", id:sub(1, 12))
      local dt = core.clock("monotonic") - t0
      assert.are.equal(0, code)
      assert.are.equal(id:sub(1, 12) .. "\n", out)
      assert.is_true(dt >= 1 and dt < 8, "took " .. dt)
      assert.is_false(pid_alive(pid, starttime))
      st = state_of("stubborn")
      assert.are.equal("exited", st.status)
      assert.are.equal(137, st.exit_code)
    end)

    it("a SIGTERM-ignoring PID 1 is reported running until it is really gone", function()
      rund("stub2", "sleep", "30")
      local p = io.popen("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " stop -t 2 stub2")
      -- during the grace period the process still runs: never "exited"
      local t0 = core.clock("monotonic")
      while core.clock("monotonic") - t0 < 1.2 do
        assert.are.equal("running", status_of("stub2"))
        core.sleep(0.1)
      end
      p:read("a")
      p:close()
      assert.are.equal("exited", status_of("stub2"))
    end)

    it("stopping a stopped container is fine; an unknown one exits 1, the others are stopped", function()
      rund("done", "true")
      assert.is_truthy(U.wait_for(function() return state_of("done").status == "exited" end, 10))
      local out, err, code = ctr("stop", "done")
      assert.are.equal(0, code, err)
      assert.are.equal("done\n", out)
      rund("alive", "sleep", "30")
      out, err, code = ctr("stop", "-t", "1", "nosuch", "alive")
      assert.are.equal(1, code)
      assert.are.equal("alive\n", out)
      assert.matches("luac%-ctr: no such container: nosuch", err)
      assert.are.equal("exited", status_of("alive"))
    end)

    it("stops several containers at once: one timeout, not one each", function()
      rund("s1", "sleep", "30")
      rund("s2", "sleep", "30")
      rund("s3", "sleep", "30")
      local t0 = core.clock("monotonic")
      local out, err, code = ctr("stop", "-t", "2", "s1", "s2", "s3")
      local dt = core.clock("monotonic") - t0
      assert.are.equal(0, code, err)
      assert.are.equal("s1\ns2\ns3\n", out)
      assert.is_true(dt >= 2 and dt < 5, "took " .. dt)
      for _, n in ipairs({ "s1", "s2", "s3" }) do assert.are.equal(137, state_of(n).exit_code) end
    end)

    it("uses the signal given with -s", function()
      rund("hup", "sh", "-c", "trap 'exit 11' HUP; echo ready; while true; do sleep 0.1; done")
      assert.is_truthy(wait_ready("hup"))
      local _, err, code = ctr("stop", "-s", "HUP", "-t", "5", "hup")
      assert.are.equal(0, code, err)
      assert.are.equal(11, state_of("hup").exit_code)
    end)
  end)

  describe("kill", function()
    it("sends SIGKILL by default and a signal by name or number with -s", function()
      rund("k1", "sleep", "30")
      local out, err, code = ctr("kill", "k1")
      assert.are.equal(0, code, err)
      assert.are.equal("k1\n", out)
      assert.is_truthy(U.wait_for(function() return state_of("k1").status == "exited" end, 10))
      assert.are.equal(137, state_of("k1").exit_code)

      rund("k2", "sh", "-c", "trap 'exit 12' USR1; trap 'exit 13' HUP; echo ready; while true; do sleep 0.1; done")
      assert.is_truthy(wait_ready("k2"))
      _, err, code = ctr("kill", "-s", "SIGUSR1", "k2")
      assert.are.equal(0, code, err)
      assert.is_truthy(U.wait_for(function() return state_of("k2").status == "exited" end, 10))
      assert.are.equal(12, state_of("k2").exit_code)

      rund("k3", "sh", "-c", "trap 'exit 13' HUP; echo ready; while true; do sleep 0.1; done")
      assert.is_truthy(wait_ready("k3"))
      _, err, code = ctr("kill", "-s", "1", "k3")
      assert.are.equal(0, code, err)
      assert.is_truthy(U.wait_for(function() return state_of("k3").status == "exited" end, 10))
      assert.are.equal(13, state_of("k3").exit_code)
    end)

    it("fails with exit 1 for a stopped or unknown container, 125 for a bad signal", function()
      rund("stopped", "true")
      assert.is_truthy(U.wait_for(function() return state_of("stopped").status == "exited" end, 10))
      local _, err, code = ctr("kill", "stopped")
      assert.are.equal(1, code)
      assert.matches("is not running", err)
      _, err, code = ctr("kill", "nosuch")
      assert.are.equal(1, code)
      assert.matches("no such container: nosuch", err)
      rund("target", "sleep", "30")
      _, err, code = ctr("kill", "-s", "NOPE", "target")
      assert.are.equal(125, code)
      assert.matches("invalid signal", err)
      assert.are.equal("running", status_of("target"))
    end)
  end)

  describe("rm", function()
    it("removes a stopped container: state dir and cgroup gone", function()
      local id = rund("old", "true")
      assert.is_truthy(U.wait_for(function() return state_of("old").status == "exited" end, 10))
      local out, err, code = ctr("rm", "old")
      assert.are.equal(0, code, err)
      assert.are.equal("old\n", out)
      assert.is_false(core.exists(root .. "/containers/" .. id))
      assert.same({}, U.cgroup_dirs(id))
      assert.same({}, U.container_ids(root))
    end)

    it("refuses a running container without -f (exit 1), kills and removes it with -f", function()
      local id = rund("busy", "sleep", "30")
      local st = state_of("busy")
      local _, err, code = ctr("rm", "busy")
      assert.are.equal(1, code)
      assert.matches("cannot remove running container busy: stop the container before removing it or use %-f", err)
      assert.are.equal("running", status_of("busy"))
      local out
      out, err, code = ctr("rm", "-f", "-v", "busy")
      assert.are.equal(0, code, err)
      assert.are.equal("busy\n", out)
      assert.is_false(pid_alive(st.pid, st.starttime))
      assert.same({}, U.cgroup_dirs(id))
      assert.same({}, U.container_ids(root))
    end)

    it("never disturbs another container; unknown ones exit 1 after removing the rest", function()
      rund("keep", "sleep", "30")
      rund("drop", "sleep", "30")
      local out, err, code = ctr("rm", "-f", "drop", "nosuch")
      assert.are.equal(1, code)
      assert.are.equal("drop\n", out)
      assert.matches("no such container: nosuch", err)
      assert.are.equal("running", status_of("keep"))
      assert.are.equal(1, #U.container_ids(root))
    end)

    it("finishes a removal that failed part way", function()
      local id = rund("half", "sleep", "30")
      local st = state_of("half")
      -- as if a first rm had died after killing the process and deleting the cgroup
      core.kill(st.pid, 9)
      assert.is_truthy(U.wait_for(function() return state_of("half").status == "exited" end, 10))
      for _, d in ipairs(U.cgroup_dirs(id)) do core.rmdir(d) end
      local _, err, code = ctr("rm", "half")
      assert.are.equal(0, code, err)
      assert.same({}, U.container_ids(root))
      assert.same({}, U.cgroup_dirs(id))
    end)

    it("a removal that fails while deleting files keeps the container; the next rm finishes", function()
      local id = rund("sticky", "sh", "-c", "echo x > /pinned")
      assert.are.equal("0\n", (ctr("wait", "sticky")))
      local pinned = root .. "/containers/" .. id .. "/upper/pinned"
      if select(3, U.sh("chattr +i " .. U.q(pinned))) ~= 0 then
        pending("chattr +i is not supported on this filesystem")
        return
      end
      local ok, res = pcall(function()
        local _, err, code = ctr("rm", "sticky")
        assert.are.equal(1, code)
        assert.matches("removing", err)
        assert.is_true(core.exists(root .. "/containers/" .. id))
        assert.same({}, core.readdir(root .. "/tmp"))
      end)
      -- wherever a broken removal may have left it
      U.sh("chattr -i " .. U.q(pinned) .. " " .. U.q(root .. "/tmp/removed-" .. id .. "/upper/pinned") .. " 2>/dev/null")
      assert(ok, res)
      local _, err, code = ctr("rm", id)
      assert.are.equal(0, code, err)
      assert.same({}, U.container_ids(root))
      assert.same({}, U.cgroup_dirs(id))
    end)
  end)

  describe("inspect", function()
    it("prints a JSON array with config, state, pid, times, mounts, limits and network", function()
      local vol = root .. "/vol"
      local out, err, code = ctr("run", "-d", "--network", "none", "--name", "insp", "-m", "64m",
        "-v", vol .. ":/data:ro", "busybox", "sleep", "30")
      assert.are.equal(0, code, err)
      local id = out:gsub("%s+$", "")
      out, err, code = ctr("inspect", "insp")
      assert.are.equal(0, code, err)
      local t = json.decode(out)
      assert.are.equal(1, #t)
      local c = t[1]
      assert.are.equal(id, c.Id)
      assert.are.equal("/insp", c.Name) -- docker's form
      assert.are.equal("sleep", c.Path)
      assert.same({ "30" }, c.Args)
      assert.are.equal("running", c.State.Status)
      assert.is_true(c.State.Running)
      assert.are.equal(state_of("insp").pid, c.State.Pid)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT", c.State.StartedAt)
      assert.are.equal(64 * 1024 * 1024, c.HostConfig.Resources.memory)
      assert.are.equal("none", c.HostConfig.NetworkMode)
      assert.same({ { Type = "bind", Source = vol, Destination = "/data", RW = false, Mode = "ro", Propagation = "rprivate" } }, c.Mounts)
      assert.are.equal("none", c.NetworkSettings.mode)
      assert.same({ "sleep", "30" }, c.Config.process.args)

      assert.are.equal(0, select(3, ctr("stop", "-t", "1", "insp")))
      c = json.decode((ctr("inspect", id)))[1]
      assert.are.equal("exited", c.State.Status)
      assert.are.equal(0, c.State.Pid)
      assert.are.equal(137, c.State.ExitCode)
      assert.matches("^%d%d%d%d%-", c.State.FinishedAt)
    end)

    it("falls back to images, supports -f templates, exits 1 for unknown names", function()
      rund("tmpl", "sleep", "30")
      local out, err, code = ctr("inspect", "busybox")
      assert.are.equal(0, code, err)
      local t = json.decode(out)
      assert.are.equal(1, #t)
      assert.is_table(t[1].layers)
      out = ctr("inspect", "-f", "{{.Name}} {{.State.Status}}", "tmpl")
      assert.are.equal("/tmpl running\n", out)
      out, err, code = ctr("inspect", "tmpl", "nosuch")
      assert.are.equal(1, code)
      assert.matches("no such object: nosuch", err)
      assert.are.equal(1, #json.decode(out))
    end)
  end)

  describe("wait", function()
    it("blocks until the container exits and prints its exit code", function()
      -- w1 exits only when the spec opens its gate: no timing assumption
      rund("w1", "sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 5")
      rund("w2", "sh", "-c", "exit 6")
      local outf, rcf = root .. "/wait.out", root .. "/wait.rc"
      U.sh(string.format("(LUAC_CTR_ROOT=%s %s wait w1 w2 >%s 2>&1; echo $? >%s.tmp; mv %s.tmp %s) >/dev/null 2>&1 &",
        U.q(root), U.q(U.launcher), U.q(outf), U.q(rcf), U.q(rcf), U.q(rcf)))
      core.sleep(0.3)
      assert.is_nil(io.open(rcf), "wait returned before w1 exited")
      local _, err, code = ctr("exec", "w1", "touch", "/tmp/go")
      assert.are.equal(0, code, err)
      local deadline = core.clock("monotonic") + 30
      while not io.open(rcf) and core.clock("monotonic") < deadline do core.sleep(0.05) end
      local f = assert(io.open(rcf), "wait did not return")
      assert.are.equal("0", f:read("l")); f:close()
      f = assert(io.open(outf)); local out = f:read("a"); f:close()
      assert.are.equal("5\n6\n", out)
      _, err, code = ctr("wait", "nosuch")
      assert.are.equal(1, code)
      assert.matches("no such container", err)
    end)
  end)

  describe("start and restart", function()
    it("starts an exited container again with the same configuration and filesystem", function()
      rund("again", "sh", "-c", "echo run >> /runs; cat /runs | wc -l")
      local out, err, code = ctr("wait", "again")
      assert.are.equal("0\n", out, err)
      out, err, code = ctr("start", "again")
      assert.are.equal(0, code, err)
      assert.are.equal("again\n", out)
      assert.are.equal("0\n", (ctr("wait", "again")))
      -- -a relays the output and returns the exit code
      out, err, code = ctr("start", "-a", "again")
      assert.are.equal(0, code, err)
      assert.matches("^%s*3\n$", out)
      -- the log has all three runs
      out = ctr("logs", "again")
      assert.matches("^%s*1\n%s*2\n%s*3\n$", out)
    end)

    it("start -a returns the container's exit code; starting a running container is fine", function()
      rund("code", "sh", "-c", "exit 9")
      ctr("wait", "code")
      local _, _, code = ctr("start", "-a", "code")
      assert.are.equal(9, code)
      rund("running", "sleep", "30")
      local pid = state_of("running").pid
      local out, err
      out, err, code = ctr("start", "running")
      assert.are.equal(0, code, err)
      assert.are.equal("running\n", out)
      assert.are.equal(pid, state_of("running").pid)
      _, err, code = ctr("start", "nosuch")
      assert.are.equal(1, code)
      assert.matches("no such container", err)
    end)

    it("restart stops (after -t) and starts again with a new process", function()
      rund("rs", "sh", "-c", "echo x >> /count; sleep 30")
      local st = state_of("rs")
      local out, err, code = ctr("restart", "-t", "1", "rs")
      assert.are.equal(0, code, err)
      assert.are.equal("rs\n", out)
      local st2 = state_of("rs")
      assert.are.equal("running", status_of("rs"))
      assert.are_not.equal(st.pid, st2.pid)
      assert.is_false(pid_alive(st.pid, st.starttime))
      -- same filesystem: the file has two lines now
      local res = U.wait_for(function()
        local o = ctr("exec", "rs", "wc", "-l", "/count")
        return o:match("^%s*2") and o
      end, 10)
      assert.is_truthy(res)
      -- restarting an exited container starts it
      ctr("stop", "-t", "1", "rs")
      _, err, code = ctr("restart", "rs")
      assert.are.equal(0, code, err)
      assert.are.equal("running", status_of("rs"))
    end)
  end)

  describe("usage", function()
    it("exits 1 without a container argument and 125 for unknown flags", function()
      for _, cmd in ipairs({ "stop", "kill", "rm", "wait", "start", "restart", "inspect", "logs", "commit", "export" }) do
        local _, err, code = ctr(cmd)
        assert.are.equal(1, code, cmd)
        assert.matches("requires", err, nil, true)
        _, err, code = ctr(cmd, "--bogus", "x")
        assert.are.equal(125, code, cmd)
        assert.matches("unknown flag", err, nil, true)
      end
    end)
  end)

  describe("image", function()
    it("dispatches ls, inspect, tag and rm", function()
      local out, err, code = ctr("image", "ls")
      assert.are.equal(0, code, err)
      assert.matches("REPOSITORY", out)
      _, err, code = ctr("image", "tag", "busybox", "mybox:1")
      assert.are.equal(0, code, err)
      out = ctr("image", "ls", "-q", "mybox")
      assert.are.equal(1, select(2, out:gsub("\n", "")))
      out, err, code = ctr("image", "inspect", "mybox:1")
      assert.are.equal(0, code, err)
      assert.is_table(json.decode(out)[1].layers)
      out, err, code = ctr("image", "rm", "mybox:1")
      assert.are.equal(0, code, err)
      assert.are.equal("Untagged: mybox:1\n", out)
      _, err, code = ctr("image", "inspect", "mybox:1")
      assert.are.equal(1, code)
      _, err, code = ctr("image", "frobnicate")
      assert.are.equal(1, code)
      assert.matches("unknown image command", err)
    end)
  end)
end)
