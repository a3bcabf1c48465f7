--- luac-runc features: the runtime-spec features JSON (what this runtime
-- honours; everything else in a config is rejected by name, see config.lua).
local json = require "ctr.json"
local oci = require "ctr.oci"
local runc = require "ctr.runc"

return function()
  local caps = {}
  for i, c in ipairs(oci.known_caps()) do caps[i] = c end
  table.sort(caps)
  local f = {
    ociVersionMin = "1.0.0",
    ociVersionMax = runc.OCI_VERSION,
    hooks = json.array({}),
    mountOptions = { "bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "sync",
      "dirsync", "noatime", "nodiratime", "relatime", "strictatime", "mand", "private", "rprivate", "slave",
      "rslave", "shared", "rshared", "unbindable", "runbindable" },
    linux = {
      namespaces = { "cgroup", "ipc", "mount", "network", "pid", "uts" },
      capabilities = caps,
      cgroup = { v1 = true, v2 = true, systemd = false, systemdUser = false, rdma = false },
      seccomp = { enabled = true },
      apparmor = { enabled = false },
      selinux = { enabled = false },
      intelRdt = { enabled = false },
    },
    annotations = { ["org.luac-ctr.runc.version"] = runc.VERSION },
  }
  print(json.encode(f, { indent = true }))
  return 0
end
