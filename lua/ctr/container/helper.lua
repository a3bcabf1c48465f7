--- ctr.container.helper: a helper process rooted in a container's files
-- (cp, diff): a fork of this process that enters the container's files and
-- only then resolves any path of the container, so every symlink it meets
-- resolves inside them. Before it enters, require is sealed (only modules
-- loaded already: no Lua or C module can come from the container); once in,
-- it is confined by seccomp (no execve, no mmap/mprotect with PROT_EXEC:
-- nothing of the container can be run or loaded into it; no mount, setns,
-- open_by_handle_at, ptrace, bpf... to lead it back out).
local core = require "ctr.core"
local errors = require "ctr.errors"
local state = require "ctr.state"

local M = {}

--- ok, ... or raise err (a primitive's nil, err as a plain raise).
function M.must(ok, err, ...)
  if not ok then error(err, 0) end
  return ok, err, ...
end

-- The helper's seccomp program, loaded once it is in the container's
-- files: no execve(at), no mmap/mprotect with PROT_EXEC (4), so nothing of
-- the container can be run or loaded into it, and none of the calls that
-- would lead back out of the container's files or into the kernel's
-- privileged corners (mount, setns, open_by_handle_at, ptrace, bpf, ...).
local DENIED = {
  "execve", "execveat", "mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
  "open_by_handle_at", "name_to_handle_at", "ptrace", "process_vm_readv", "process_vm_writev", "bpf",
  "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "keyctl", "add_key",
  "request_key", "fsopen", "fsmount", "fspick", "move_mount", "open_tree", "userfaultfd", "perf_event_open",
}
--- The compiled seccomp program (core.seccomp_load it in the helper once
-- it is in the container's files): nothing can be executed or mapped
-- executable, no call leads back out. Compile it before the fork.
function M.noexec_filter()
  local exec_arg = { { index = 2, value = 4, valueTwo = 4, op = "SCMP_CMP_MASKED_EQ" } }
  return errors.checkf("compile the copy helper's seccomp filter", core.seccomp_compile(require("ctr.json").encode {
    defaultAction = "SCMP_ACT_ALLOW",
    syscalls = {
      { names = DENIED, action = "SCMP_ACT_ERRNO", errnoRet = 1 },
      { names = { "mmap", "mprotect", "pkey_mprotect" }, action = "SCMP_ACT_ERRNO", errnoRet = 1, args = exec_arg },
    },
  }))
end

--- In a helper about to enter a container's files: require finds only the
-- modules loaded already, so no Lua file or C module can be loaded from
-- the container's files once the helper is in them.
function M.seal_require()
  package.path, package.cpath = "", ""
  for i = #package.searchers, 2, -1 do package.searchers[i] = nil end
end

-- In the helper: become rooted in the container's files. how: "ro" (the
-- overlay read-only, nodev), "rw" (a stopped container's overlay), "ns"
-- (the running container's mount namespace, pidfd).
local function enter(how, ov, mnt, pidfd)
  if how == "ns" then
    M.must(core.setns(pidfd, "mnt"))
    M.must(core.chdir("/"))
    return
  end
  M.must(core.unshare("mnt"))
  M.must(core.mount(nil, "/", nil, "rprivate"))
  if how == "diff" then
    M.must(core.mount("tmpfs", mnt, "tmpfs", "nodev,nosuid,noexec", "mode=0700,size=64k"))
    M.must(core.mkdir(mnt .. "/u", 448)); M.must(core.mkdir(mnt .. "/l", 448))
    M.must(core.mount(ov.upperdir, mnt .. "/u", nil, "bind,ro,nodev,nosuid,noexec"))
    if ov.lowerdir:find(":", 1, true) then
      M.must(core.mount("overlay", mnt .. "/l", "overlay", "ro,nodev,nosuid,noexec", "lowerdir=" .. ov.lowerdir))
    else
      M.must(core.mount(ov.lowerdir, mnt .. "/l", nil, "bind,ro,nodev,nosuid,noexec"))
    end
  elseif how == "ro" then
    M.must(core.mount("overlay", mnt, "overlay", "ro,nodev,nosuid,noexec",
      "lowerdir=" .. ov.upperdir .. ":" .. ov.lowerdir))
  else
    M.must(core.mount("overlay", mnt, "overlay", "nodev,nosuid,noexec",
      ("lowerdir=%s,upperdir=%s,workdir=%s"):format(ov.lowerdir, ov.upperdir, ov.workdir)))
  end
  M.must(core.chdir(mnt))
  M.must(core.pivot_root(".", "."))
  M.must(core.umount2(".", "detach"))
  M.must(core.chdir("/"))
end

--- Everything read from fd up to its end (ctr.util.read_all).
M.read_all = require("ctr.util").read_all

--- Fork the helper: it closes the fds in close, seals require, enters
-- the container's files, confines itself with seccomp (how it enters: "ro" the overlay read-only and nodev, "rw" a
-- stopped container's overlay, "ns" the running container's mount
-- namespace, "diff" its upper dir at /u and its image layers at /l, both
-- read-only) and runs fn() there; an error is sent back to finish. Returns
-- the handle for finish.
function M.start(c, how, fn, close)
  require "ctr.archive" -- loaded before the helper is confined
  local ov = c:config().root and c:config().root.overlay
  if not ov or not ov.upperdir or not ov.lowerdir or not ov.workdir then
    errors.raise(1, "container %s has no overlay root filesystem", c.state.name)
  end
  local bpf = M.noexec_filter()
  local pidfd = how == "ns" and c:_pidfd() or nil
  if how == "ns" and not pidfd then errors.raise(1, "container %s is not running", c.state.name) end
  local mnt = how ~= "ns" and state.mktemp("mnt") or nil
  local er, ew = core.pipe()
  io.stdout:flush()
  local pid, ferr = core.fork()
  if pid == 0 then
    local ok, err = pcall(function()
      er:close()
      for _, fd in ipairs(close) do fd:close() end
      M.seal_require()
      enter(how, ov, mnt, pidfd)
      M.must(core.seccomp_load(bpf))
      fn()
    end)
    if not ok then core.write(ew, errors.message(err)) end
    core._exit(ok and 0 or 1)
  end
  ew:close()
  if pidfd then pidfd:close() end
  if not pid then
    er:close()
    if mnt then core.rmdir(mnt); state.release_temp(mnt) end
    errors.raise(1, "cannot start the copy helper: fork: %s", ferr)
  end
  return { pid = pid, err = er, mnt = mnt }
end

--- Wait for the helper; raises its error (exit code 1), else extra (an
-- error of the caller's side) when given.
function M.finish(h, extra)
  local msg = M.read_all(h.err)
  h.err:close()
  local _, how, code = core.waitpid(h.pid)
  if h.mnt then core.rmdir(h.mnt); state.release_temp(h.mnt) end
  if how == "exited" and code == 0 and not extra then return end
  if msg == "" then
    msg = extra or (how == "exited" and ("the copy helper exited with " .. tostring(code))
      or ("the copy helper was killed by signal " .. tostring(code)))
  end
  errors.raise(1, "%s", msg)
end


return M
