-- luac-runc (issue 11): --preserve-fds N for create/run and exec (fds
-- 3..3+N-1 passed into the container as they are, every other fd closed)
-- and systemd's LISTEN_FDS pass-through (socket activation), as runc.
--
-- Run inside a private network namespace (as tools/test.sh does).
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q

local tmp, root, rootfs

local H = require("runc_util").harness(function() return tmp, root, rootfs end)
local runc, make_rootfs, bundle, read = H.runc, H.make_rootfs, H.bundle, H.read
local RUNC = require("runc_util").RUNC

setup(function()
  tmp = U.tmproot()
  rootfs = tmp .. "/rootfs"
  make_rootfs(rootfs)
  root = tmp .. "/state"
end)

teardown(function()
  for _, id in ipairs(core.readdir(root) or {}) do runc({ "delete", "--force", id }) end
  U.cleanup(tmp)
end)

-- luac-runc with our root, in a shell that sets up its fds (redirections).
local function runc_sh(args, redirs, env)
  return U.sh((env or "") .. q(RUNC) .. " --root " .. q(root) .. " " .. args .. " " .. redirs)
end

-- The fds open in the container's process (ls of /proc/self/fd, without ls's own).
local LIST_FDS = "for f in /proc/self/fd/*; do echo ${f##*/}; done | sort -n | tr '\\n' ' '"

describe("luac-runc --preserve-fds", function()
  it("run passes fds 3..3+N-1 (a file and a pipe) and closes the others", function()
    assert(core.write_file_atomic(tmp .. "/in.txt", "from fd 3\n"))
    local b = bundle("p1", function(cfg)
      cfg.process.args = { "sh", "-c", "cat <&3; echo to-fd-4 >&4; " .. LIST_FDS }
    end)
    local out, err, code = runc_sh("run --bundle " .. q(b) .. " --preserve-fds 2 p1",
      "3<" .. q(tmp .. "/in.txt") .. " 4>" .. q(tmp .. "/fd4.txt") .. " 5<" .. q(tmp .. "/in.txt"))
    assert.are.equal(0, code, err)
    -- the glob's own directory fd is the one above 4
    assert.matches("^from fd 3\n0 1 2 3 4 %d+ $", out)
    assert.are.equal("to-fd-4\n", read(tmp .. "/fd4.txt"))
    -- a pipe through create + start
    b = bundle("p2", function(cfg) cfg.process.args = { "sh", "-c", "echo through-the-pipe >&3" } end)
    out, err, code = U.sh("({ " .. q(RUNC) .. " --root " .. q(root) .. " create --bundle " .. q(b) ..
      " --preserve-fds 1 p2 3>&1 >/dev/null 2>" .. q(tmp .. "/p2.err") .. " && " .. q(RUNC) .. " --root " ..
      q(root) .. " start p2; } | cat)")
    assert.are.equal(0, code, err .. read(tmp .. "/p2.err"))
    assert.are.equal("through-the-pipe\n", out, err .. read(tmp .. "/p2.err"))
    runc({ "delete", "--force", "p2" })
  end)

  it("LISTEN_FDS for luac-runc's own pid: those fds first, LISTEN_FDS/LISTEN_PID=1 in the env", function()
    assert(core.write_file_atomic(tmp .. "/sock.txt", "socket\n"))
    local b = bundle("l1", function(cfg)
      cfg.process.args = { "sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3; cat <&4" }
    end)
    local out, err, code = U.sh("sh -c " .. q("exec env LISTEN_FDS=1 LISTEN_PID=$$ " .. q(RUNC) .. " --root " ..
      q(root) .. " run --bundle " .. q(b) .. " --preserve-fds 1 l1") .. " 3<" .. q(tmp .. "/sock.txt") ..
      " 4<" .. q(tmp .. "/in.txt"))
    assert.are.equal(0, code, err)
    assert.are.equal("1 1\nsocket\nfrom fd 3\n", out)
    -- another process's LISTEN_PID: nothing passed
    b = bundle("l2", function(cfg) cfg.process.args = { "sh", "-c", "echo [$LISTEN_FDS]; " .. LIST_FDS } end)
    out, err, code = runc_sh("run --bundle " .. q(b) .. " l2", "3<" .. q(tmp .. "/sock.txt"),
      "LISTEN_FDS=1 LISTEN_PID=1 ")
    assert.are.equal(0, code, err)
    assert.matches("^%[%]\n0 1 2 %d+ $", out)
  end)

  it("exec --preserve-fds passes a pipe; an fd that is not open is an error", function()
    local b = bundle("e1", function(cfg) cfg.process.args = { "sleep", "1000" } end)
    local _, err, code = runc({ "create", "--bundle", b, "e1" })
    assert.are.equal(0, code, err)
    _, err, code = runc({ "start", "e1" })
    assert.are.equal(0, code, err)
    local out
    out, err, code = U.sh("(printf piped | " .. q(RUNC) .. " --root " .. q(root) ..
      " exec --preserve-fds 1 e1 sh -c " .. q("cat <&3; echo; " .. LIST_FDS) .. " 3<&0 </dev/null)")
    assert.are.equal(0, code, err)
    assert.matches("^piped\n0 1 2 3 %d+ $", out)
    out, err, code = runc_sh("exec --preserve-fds 3 e1 true", "3</dev/null")
    assert.are.equal(1, code, out)
    assert.matches("fd 4 is to be passed on", err)
    b = bundle("e2")
    _, err, code = runc_sh("create --bundle " .. q(b) .. " --preserve-fds x e2", ">/dev/null")
    assert.are.equal(1, code)
    assert.matches("%-%-preserve%-fds \"?x\"?: must be a number", err)
    assert.is_false(core.exists(root .. "/e2"))
    runc({ "delete", "--force", "e1" })
  end)
end)
