-- exec: entering a running container, exactly (#root).
local U = require "spec_util"

local root

local function ctr(args, opts) return U.ctr(root, args, opts) end

local function start(name, ...)
  local args = { "run", "-d", "--name", name }
  for _, a in ipairs({ ... }) do args[#args + 1] = a end
  local out, err, code = ctr(args)
  assert.are.equal(0, code, err)
  return out:match("%x+")
end

describe("exec #root", function()
  U.per_test_root(function(r) root = r end)

  it("runs inside the container's pid namespace: ps shows top as PID 1 and itself", function()
    start("test", "-e", "CTR_VAR=1", "busybox", "top")
    local out, err, code = ctr({ "exec", "test", "ps", "-e" })
    assert.are.equal(0, code, err)
    assert.matches("\n%s+1 root%s+top", out)
    assert.matches("ps %-e", out)
    local n = 0
    for _ in out:gmatch("\n") do n = n + 1 end
    assert.are.equal(3, n) -- header, top, ps
  end)

  it("joins the container's cgroup, hostname, environment and capabilities, not the host's", function()
    start("c1", "--hostname", "inside", "-e", "CTR_VAR=1", "busybox", "top")
    local out = ctr({ "exec", "c1", "sh", "-c", "cat /proc/self/cgroup; echo ==; cat /proc/1/cgroup" })
    local mine, init = out:match("^(.-)==\n(.*)$")
    assert.are.equal(init, mine)
    assert.matches("pids:/\n", mine)
    assert.are.equal("inside\n", ctr({ "exec", "c1", "hostname" }))
    local env = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " HOST_ONLY=1 " .. U.q(U.launcher) .. " exec -e EXTRA=2 c1 env")
    assert.matches("CTR_VAR=1", env)
    assert.matches("EXTRA=2", env)
    assert.matches("HOSTNAME=inside", env)
    assert.not_matches("HOST_ONLY", env)
    assert.not_matches("LUAC_CTR_ROOT", env)
    local st = ctr({ "exec", "c1", "grep", "-E", "^(CapBnd|NoNewPrivs)", "/proc/self/status" })
    assert.matches("CapBnd:%s+00000000a80425fb", st)
    assert.matches("NoNewPrivs:%s+1", st)
    -- from the host: the exec'd process is in the container's cgroup
    local id = U.container_ids(root)[1]
    local p = io.popen("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " exec c1 sleep 2")
    local procs = U.wait_for(function()
      local f = io.open("/sys/fs/cgroup/pids/luac-ctr/" .. id .. "/cgroup.procs")
      local s = f:read("a"); f:close()
      local n = 0
      for _ in s:gmatch("%d+") do n = n + 1 end
      return n >= 2 and n
    end, 5)
    p:close()
    assert.is_truthy(procs)
  end)

  it("passes argv exactly, with -w and -u", function()
    start("c2", "busybox", "top")
    assert.are.equal("a  b\n", ctr({ "exec", "c2", "sh", "-c", 'echo "a  b"' }))
    assert.are.equal("x|a b|'q'|\n", ctr({ "exec", "c2", "sh", "-c", 'printf "%s|" "$@"; echo', "_", "x", "a b", "'q'" }))
    assert.are.equal("/tmp\n", ctr({ "exec", "-w", "/tmp", "c2", "pwd" }))
    assert.are.equal("65534\n", ctr({ "exec", "-u", "nobody", "c2", "id", "-u" }))
  end)

  it("returns the command's exit code: n, 126, 127, 128+signal", function()
    start("c3", "busybox", "top")
    local _, _, code = ctr({ "exec", "c3", "sh", "-c", "exit 7" })
    assert.are.equal(7, code)
    local _, err
    _, err, code = ctr({ "exec", "c3", "no-such-thing" })
    assert.are.equal(127, code)
    assert.matches("executable file not found", err)
    _, err, code = ctr({ "exec", "c3", "/etc" })
    assert.are.equal(126, code)
    _, _, code = ctr({ "exec", "c3", "sh", "-c", "kill -9 $$" })
    assert.are.equal(137, code)
  end)

  it("runs a command in the background with -d", function()
    start("bgexec", "busybox", "top")
    local t0 = require("ctr.core").clock()
    local out, err, code = ctr({ "exec", "-d", "bgexec", "sh", "-c", "sleep 1; touch /tmp/done" })
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    assert.is_true(require("ctr.core").clock() - t0 < 0.9)
    assert.is_truthy(U.wait_for(function()
      local _, _, c = ctr({ "exec", "bgexec", "test", "-e", "/tmp/done" })
      return c == 0
    end, 10))
  end)

  it("leaks none of our file descriptors into the container", function()
    start("c4", "busybox", "top")
    local out = U.sh("exec 7</etc/hostname; LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) ..
      " exec c4 ls /proc/self/fd")
    local fds = {}
    for n in out:gmatch("%d+") do fds[#fds + 1] = tonumber(n) end
    table.sort(fds)
    assert.same({ 0, 1, 2, 3 }, fds) -- 3 is ls's own directory fd
  end)

  it("reports unknown, stopped and ambiguous containers clearly with 1 (docker's code)", function()
    local _, err, code = ctr({ "exec", "nope", "true" })
    assert.are.equal(1, code)
    assert.matches("no such container: nope", err)
    ctr({ "run", "--name", "done", "busybox", "true" })
    _, err, code = ctr({ "exec", "done", "true" })
    assert.are.equal(1, code)
    assert.matches("is not running", err)
    -- two containers whose ids share a one-character prefix
    local ids = {}
    for i = 1, 40 do
      local id = start("amb" .. i, "busybox", "sleep", "60")
      local c = id:sub(1, 1)
      if ids[c] then
        _, err, code = ctr({ "exec", c, "true" })
        assert.are.equal(1, code)
        assert.matches("multiple containers match prefix", err)
        return
      end
      ids[c] = true
    end
    error("no shared prefix among 40 ids")
  end)

  it("runs several execs at once without disturbing each other or the container", function()
    start("c5", "busybox", "top")
    local cmd = {}
    for i = 1, 6 do
      cmd[#cmd + 1] = "(LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) ..
        " exec c5 sh -c 'sleep 0.3; echo out" .. i .. "; exit " .. i .. "' > " .. U.q(root .. "/o" .. i) ..
        "; echo $? > " .. U.q(root .. "/rc" .. i) .. ") &"
    end
    U.sh(table.concat(cmd, " ") .. " wait")
    for i = 1, 6 do
      local f = io.open(root .. "/o" .. i); assert.are.equal("out" .. i .. "\n", f:read("a")); f:close()
      f = io.open(root .. "/rc" .. i); assert.are.equal(tostring(i) .. "\n", f:read("a")); f:close()
    end
    local out = ctr({ "exec", "c5", "ps", "-e" })
    assert.matches("\n%s+1 root%s+top", out)
  end)

  it("exec -it gives a shell on a pty: prompt, Ctrl-C interrupts the command, exit 3 returns 3", function()
    start("tty", "busybox", "top")
    local s = U.pty(root, { "exec", "-it", "tty", "sh" })
    local ok, err = pcall(function()
      s:expect("# ", 15)
      s:send("tty\r")
      s:expect("/dev/pts/")
      s:send("sleep 60\r")
      require("ctr.core").sleep(0.3)
      s:send("\3")
      s:expect("# ", 10)
      s:send("echo still-here\r")
      s:expect("still-here")
      s:send("exit 3\r")
      assert.are.equal(3, s:wait(15))
    end)
    s:close()
    assert(ok, err)
    -- the container is unaffected
    assert.matches("top", ctr({ "exec", "tty", "ps", "-e" }))
  end)

  it("works from the Lua API: exec{argv, env, cwd, capture}", function()
    start("api", "busybox", "top")
    local state = require "ctr.state"
    state.set_root(root)
    local ok, err = pcall(function()
      local c = assert(require("ctr.container").get("api"))
      local r = c:exec { argv = { "sh", "-c", "echo $X; pwd; echo e >&2; exit 5" }, env = { X = "y" }, cwd = "/etc", capture = true }
      assert.are.equal(5, r.exit_code)
      assert.are.equal("y\n/etc\n", r.stdout)
      assert.are.equal("e\n", r.stderr)
      local h = c:exec { argv = { "sleep", "0.2" }, detach = true }
      assert.are.equal(0, h.wait().exit_code)
    end)
    state.set_root(nil)
    assert(ok, err)
  end)
end)
