--- luac-runc spec [--bundle B]: write a default config.json (runc's
-- defaults, without the cgroup mount this slice does not support) into B or
-- the current directory; an existing one is never overwritten.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local oci = require "ctr.oci"
local runc = require "ctr.runc"

local M = {}

function M.default()
  local caps = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" }
  local mounts = {
    { destination = "/proc", type = "proc", source = "proc" },
    { destination = "/dev", type = "tmpfs", source = "tmpfs",
      options = { "nosuid", "strictatime", "mode=755", "size=65536k" } },
    { destination = "/dev/pts", type = "devpts", source = "devpts",
      options = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
    { destination = "/dev/shm", type = "tmpfs", source = "shm",
      options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
    { destination = "/dev/mqueue", type = "mqueue", source = "mqueue", options = { "nosuid", "noexec", "nodev" } },
    { destination = "/sys", type = "sysfs", source = "sysfs", options = { "nosuid", "noexec", "nodev", "ro" } },
  }
  return {
    ociVersion = runc.OCI_VERSION,
    process = {
      terminal = true,
      user = { uid = 0, gid = 0 },
      args = { "sh" },
      env = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" },
      cwd = "/",
      capabilities = { bounding = caps, effective = caps, permitted = caps },
      rlimits = { { type = "RLIMIT_NOFILE", hard = 1024, soft = 1024 } },
      noNewPrivileges = true,
    },
    root = { path = "rootfs", readonly = true },
    hostname = "luac-runc",
    mounts = mounts,
    linux = {
      resources = { devices = { { allow = false, access = "rwm" } } },
      namespaces = { { type = "pid" }, { type = "network" }, { type = "ipc" }, { type = "uts" },
                     { type = "mount" }, { type = "cgroup" } },
      maskedPaths = oci.masked_paths,
      readonlyPaths = oci.readonly_paths,
    },
  }
end

return setmetatable(M, { __call = function(_, _, args)
  local o, pos = runc.parse(args, { values = { ["--bundle"] = "bundle", ["-b"] = "bundle" },
                                     flags = { ["--rootless"] = "rootless" } }, "spec")
  if pos[1] then errors.raise(1, "spec: unexpected argument %s", errors.quote(pos[1])) end
  if o.rootless then errors.raise(1, "spec: --rootless is not supported") end
  local path = (o.bundle or ".") .. "/config.json"
  if core.exists(path) then errors.raise(1, "File %s exists. Remove it first", path) end
  local ok, err = core.write_file_atomic(path, json.encode(M.default(), { indent = true }) .. "\n", 420)
  if not ok then errors.raise(1, "spec: %s", err) end
  return 0
end })
