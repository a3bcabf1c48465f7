-- ctr.core area proc: fork, clone, pidfds, execve, _exit, waitpid, kill,
-- sessions, /proc/<pid>/stat facts.
local core = require "ctr.core"
local C = require "core_child"

-- Run argv with env in a child, stdout captured; returns output, how, code.
local function exec_capture(path, argv, env)
  local r, w = assert(core.pipe())
  local pid = assert(core.fork())
  if pid == 0 then
    pcall(function()
      core.dup2(w, 1)
      core.execve(path, argv, env)
    end)
    core._exit(127)
  end
  w:close()
  local out = C.read_all(r)
  r:close()
  local _, how, code = core.waitpid(pid)
  return out, how, code
end

local function wait_state(pid, want)
  for _ = 1, 500 do
    if core.proc_state(pid) == want then return true end
    core.sleep(0.01)
  end
  return false
end

describe("core proc", function()
  it("fork runs a child whose exit code waitpid returns", function()
    local pid = assert(core.fork())
    if pid == 0 then core._exit(7) end
    assert.is_true(pid > 0)
    local wpid, how, code, exit_code = core.waitpid(pid)
    assert.are.equal(pid, wpid)
    assert.are.equal("exited", how)
    assert.are.equal(7, code)
    assert.are.equal(7, exit_code)
  end)

  it("the child sees its own pid and its parent's", function()
    local me = core.getpid()
    local how, code, msg = C.run(function()
      assert(core.getppid() == me, "getppid")
      assert(core.getpid() ~= me, "getpid")
    end)
    C.assert_exit(0, how, code, msg)
  end)

  it("waitpid reports killed children, nohang, and ECHILD", function()
    local pid = assert(core.fork())
    if pid == 0 then core.sleep(30); core._exit(0) end
    assert.are.equal(0, core.waitpid(pid, "nohang"))
    assert.is_true(core.kill(pid, "KILL"))
    local wpid, how, sig, exit_code = core.waitpid(pid)
    assert.are.equal(pid, wpid)
    assert.are.equal("killed", how)
    assert.are.equal(9, sig)
    assert.are.equal(137, exit_code)
    local none, msg, errno = core.waitpid(pid)
    assert.is_nil(none)
    assert.matches("No child", msg)
    assert.are.equal(core.errno.ECHILD, errno)
    assert.has_error(function() core.waitpid(pid, "sometimes") end)
    assert.has_error(function() core.waitpid("x") end)
  end)

  it("waitpid reports stopped children with untraced", function()
    local pid = assert(core.fork())
    if pid == 0 then core.sleep(30); core._exit(0) end
    assert.is_true(core.kill(pid, "SIGSTOP"))
    local _, how, sig = core.waitpid(pid, "untraced")
    assert.are.equal("stopped", how)
    assert.are.equal(core.signals.STOP, sig)
    core.kill(pid, 9)
    local _, how2 = core.waitpid(pid)
    assert.are.equal("killed", how2)
  end)

  it("kill accepts names and numbers, and fails on a missing process", function()
    local pid = assert(core.fork())
    if pid == 0 then core.sleep(30); core._exit(0) end
    assert.is_true(core.kill(pid, 0))
    assert.is_true(core.kill(pid, "term"))
    local _, how, sig = core.waitpid(pid)
    assert.are.equal("killed", how)
    assert.are.equal(15, sig)
    local ok, msg, errno = core.kill(pid, "TERM")
    assert.is_nil(ok)
    assert.matches("No such process", msg)
    assert.are.equal(core.errno.ESRCH, errno)
    assert.has_error(function() core.kill(pid, "NOTASIGNAL") end)
    assert.has_error(function() core.kill({}, "TERM") end)
  end)

  it("pidfd_open gives a pidfd that kill and poll accept", function()
    local pid = assert(core.fork())
    if pid == 0 then core.sleep(30); core._exit(0) end
    local pfd = assert(core.pidfd_open(pid))
    assert.are.equal("pidfd", pfd.kind)
    assert.are.same({}, core.poll({ {pfd, "in"} }, 0))
    assert.is_true(core.kill(pfd, "TERM"))
    local ready = core.poll({ {pfd, "in"} }, 5000)
    assert.are.equal(1, #ready)
    local _, how, sig = core.waitpid(pid)
    assert.are.equal("killed", how); assert.are.equal(15, sig)
    local ok, _, errno = core.kill(pfd, "TERM")
    assert.is_nil(ok); assert.are.equal(core.errno.ESRCH, errno)
    pfd:close()
    local none, _, e2 = core.pidfd_open(pid)
    assert.is_nil(none); assert.are.equal(core.errno.ESRCH, e2)
  end)

  it("execve passes argv exactly, spaces included", function()
    local out, how, code = exec_capture("/bin/sh",
      { "sh", "-c", 'printf "%s|" "$@"', "x", "a  b", "c", "" }, {})
    assert.are.equal("exited", how); assert.are.equal(0, code)
    assert.are.equal("a  b|c||", out)
  end)

  it("execve passes exactly the given env (list and map)", function()
    local out = exec_capture("/usr/bin/env", { "env" }, { "A=1", "B=two  words", "C=" })
    assert.are.equal("A=1\nB=two  words\nC=\n", out)
    out = exec_capture("/usr/bin/env", { "env" }, { FOO = "bar baz" })
    assert.are.equal("FOO=bar baz\n", out)
    out = exec_capture("/usr/bin/env", { "env" })
    assert.are.equal("", out)
  end)

  it("execve searches PATH from the given env when path has no slash", function()
    local out, how, code = exec_capture("echo", { "echo", "found" }, { "PATH=/nonexistent:/usr/bin:/bin" })
    assert.are.equal("exited", how); assert.are.equal(0, code)
    assert.are.equal("found\n", out)
    -- without PATH in env, the default PATH is used
    out = exec_capture("echo", { "echo", "default" }, {})
    assert.are.equal("default\n", out)
  end)

  it("execve failures return nil, message, errno (no fork needed)", function()
    local ok, msg, errno = core.execve("/nonexistent/prog", { "prog" }, {})
    assert.is_nil(ok)
    assert.matches("No such file", msg)
    assert.are.equal(core.errno.ENOENT, errno)
    ok, msg, errno = core.execve("no-such-program-xyz", { "x" }, { "PATH=/nonexistent" })
    assert.is_nil(ok)
    assert.matches("no%-such%-program%-xyz", msg)
    assert.are.equal(core.errno.ENOENT, errno)
    ok, msg, errno = core.execve("/", { "x" }, {})
    assert.is_nil(ok)
    assert.are.equal(core.errno.EACCES, errno)
  end)

  it("execve with wrong argument types raises", function()
    assert.has_error(function() core.execve("/bin/true", "true") end)
    assert.has_error(function() core.execve("/bin/true", { "true", 5 }) end)
    assert.has_error(function() core.execve("/bin/true", { "true" }, { 5 }) end)
    assert.has_error(function() core.execve("/bin/true", { "true" }, { A = {} }) end)
    assert.has_error(function() core.execve({}, { "true" }) end)
  end)

  it("setsid and setpgid in a child", function()
    local how, code, msg = C.run(function()
      assert(core.setpgid(0, 0))
      local ok, _, errno = core.setsid() -- a group leader may not setsid
      assert(ok == nil and errno == core.errno.EPERM, "setsid as group leader")
      local pid = assert(core.fork())
      if pid == 0 then
        core._exit(core.setsid() == core.getpid() and 0 or 1)
      end
      local _, how, code = core.waitpid(pid)
      assert(how == "exited" and code == 0, "setsid in grandchild")
      local bad, _, e = core.setpgid(999999, 0)
      assert(bad == nil and e == core.errno.ESRCH, "setpgid of a missing pid")
    end)
    C.assert_exit(0, how, code, msg)
  end)

  it("starttime and proc_state read /proc/<pid>/stat", function()
    local me = core.getpid()
    local t = assert(core.starttime(me))
    assert.is_true(math.type(t) == "integer" and t > 0)
    assert.are.equal(t, core.starttime(me))
    assert.are.equal("R", core.proc_state(me))
    local pid = assert(core.fork())
    if pid == 0 then core._exit(0) end
    assert.is_true(core.starttime(pid) >= t)
    assert.is_true(wait_state(pid, "Z"))
    core.waitpid(pid)
    local none, msg, errno = core.starttime(pid)
    assert.is_nil(none); assert.matches("/proc/" .. pid .. "/stat", msg)
    assert.are.equal(core.errno.ENOENT, errno)
    none, _, errno = core.proc_state(pid)
    assert.is_nil(none); assert.are.equal(core.errno.ENOENT, errno)
    assert.has_error(function() core.starttime("me") end)
  end)
end)

describe("core proc clone #root", function()
  it("clone starts the child in new namespaces", function()
    local my_uts = core.ns_id(0, "uts")
    local how, code, msg = C.run(function()
      assert(core.getpid() == 1, "pid 1 in the new pid namespace")
      assert(core.ns_id(0, "uts") ~= my_uts, "new uts namespace")
      return 5
    end, "pid,uts")
    C.assert_exit(5, how, code, msg)
    assert.has_error(function() core.clone("pid,bogus") end)
  end)

  it("clone with an invalid flag combination fails with EINVAL", function()
    local pid, msg, errno = core.clone(0x00000800) -- CLONE_SIGHAND without CLONE_VM
    if pid == 0 then core._exit(0) end
    assert.is_nil(pid)
    assert.matches("clone", msg)
    assert.are.equal(core.errno.EINVAL, errno)
  end)
end)
