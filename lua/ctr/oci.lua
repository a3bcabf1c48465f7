--- ctr.oci: the container's configuration as an OCI runtime-spec config.
--
-- The run workflow turns options and the image into one table shaped like
-- runc's config.json (process, root, hostname, mounts, linux {namespaces,
-- resources, maskedPaths, readonlyPaths, devices}); it is saved as the
-- container's config.json and executed by `ctr.core.spawn`. One extension:
-- `root.overlay = {lowerdir, upperdir, workdir}`: the overlay root is
-- mounted inside the container's own mount namespace, so it can never be
-- left behind on the host.
local M = {}

--- Docker's default capability set (everything else is dropped from the bounding set).
M.default_caps = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

--- Every capability we can give (for --privileged and "ALL"): those in
-- our own bounding set (a capability we lack cannot be granted).
function M.all_caps()
  local core = require "ctr.core"
  local mine = core.caps_get().bounding
  local t = {}
  for _, name in ipairs(mine) do t[#t + 1] = name:upper() end
  return t
end

--- Every capability name the kernel knows (to tell unknown names from ones we lack).
function M.known_caps()
  local core = require "ctr.core"
  local t = {}
  for _, name in ipairs(core.cap_list()) do t[name:upper()] = true end
  return t
end

--- Docker's masked paths: hidden behind /dev/null or an empty read-only tmpfs.
M.masked_paths = {
  "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
  "/sys/firmware", "/sys/devices/virtual/powercap",
}

--- Docker's read-only paths.
M.readonly_paths = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" }

--- The device nodes made in the container's /dev.
M.devices = {
  { path = "/dev/null", type = "c", major = 1, minor = 3, fileMode = 438 },
  { path = "/dev/zero", type = "c", major = 1, minor = 5, fileMode = 438 },
  { path = "/dev/full", type = "c", major = 1, minor = 7, fileMode = 438 },
  { path = "/dev/random", type = "c", major = 1, minor = 8, fileMode = 438 },
  { path = "/dev/urandom", type = "c", major = 1, minor = 9, fileMode = 438 },
  { path = "/dev/tty", type = "c", major = 5, minor = 0, fileMode = 438 },
}

--- Normalise a capability name: "net_admin" / "cap_net_admin" -> "CAP_NET_ADMIN".
function M.cap_name(name)
  name = name:upper()
  if name:sub(1, 4) ~= "CAP_" and name ~= "ALL" then name = "CAP_" .. name end
  return name
end

--- The capability set from docker's defaults, --cap-add and --cap-drop (names or ALL).
function M.capabilities(cap_add, cap_drop, privileged)
  local set, order = {}, {}
  local function add(c) if not set[c] then set[c] = true; order[#order + 1] = c end end
  local known = M.known_caps()
  local have = {}
  for _, c in ipairs(M.all_caps()) do have[c] = true end
  local base = privileged and M.all_caps() or M.default_caps
  for _, c in ipairs(base) do add(c) end
  for _, c in ipairs(cap_drop or {}) do
    c = M.cap_name(c)
    if c == "ALL" then set, order = {}, {}
    elseif not known[c] then error(("unknown capability to drop: %s"):format(c), 0)
    else set[c] = nil end
  end
  for _, c in ipairs(cap_add or {}) do
    c = M.cap_name(c)
    if c == "ALL" then for _, a in ipairs(M.all_caps()) do add(a) end
    elseif not known[c] then error(("unknown capability to add: %s"):format(c), 0)
    elseif not have[c] then error(("cannot add %s: luac-ctr does not have it itself"):format(c), 0)
    else add(c) end
  end
  local list = {}
  for _, c in ipairs(order) do if set[c] then list[#list + 1] = c end end
  return list
end

local function default_mounts(o)
  local sys_opts = { "nosuid", "noexec", "nodev" }
  if not o.privileged then sys_opts[#sys_opts + 1] = "ro" end
  local m = {
    { destination = "/proc", type = "proc", source = "proc", options = { "nosuid", "noexec", "nodev" } },
    { destination = "/dev", type = "tmpfs", source = "tmpfs", options = { "nosuid", "strictatime", "mode=755", "size=65536k" } },
    { destination = "/dev/pts", type = "devpts", source = "devpts",
      options = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
    { destination = "/dev/shm", type = "tmpfs", source = "shm", options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
    { destination = "/dev/mqueue", type = "mqueue", source = "mqueue", options = { "nosuid", "noexec", "nodev" } },
  }
  if o.network ~= "host" then
    m[#m + 1] = { destination = "/sys", type = "sysfs", source = "sysfs", options = sys_opts }
  else -- sysfs belongs to the network namespace: bind the host's, read-only
    m[#m + 1] = { destination = "/sys", type = "bind", source = "/sys", options = { "rbind", "nosuid", "noexec", "nodev", "ro" } }
  end
  if o.cgroup_v2 then -- the container's own cgroup (its cgroup namespace root), read-only
    local opts = { "nosuid", "noexec", "nodev", "relatime" }
    if not o.privileged then opts[#opts + 1] = "ro" end
    m[#m + 1] = { destination = "/sys/fs/cgroup", type = "cgroup2", source = "cgroup", options = opts }
  end
  for _, f in ipairs({ "hostname", "hosts", "resolv.conf" }) do
    if o.files and o.files[f] then
      m[#m + 1] = { destination = "/etc/" .. f, type = "bind", source = o.files[f], options = { "bind", "rprivate" } }
    end
  end
  for _, v in ipairs(o.volumes or {}) do
    local opts = { "rbind", "rprivate" }
    if v.ro then opts[#opts + 1] = "ro" end
    m[#m + 1] = { destination = v.destination, type = "bind", source = v.source, options = opts }
  end
  return m
end

local function namespaces(o)
  local ns = { { type = "pid" }, { type = "mount" }, { type = "ipc" }, { type = "uts" }, { type = "cgroup" } }
  if o.network ~= "host" then ns[#ns + 1] = { type = "network" } end
  return ns
end

--- Build the config. o: args, env (list "K=V"), cwd, uid, gid, groups,
-- terminal, hostname, read_only, privileged, cap_add, cap_drop, network
-- ("none"|"bridge"|"host"|name), volumes {{source, destination, ro}},
-- cgroup_v2 (mount the container's cgroup2 at /sys/fs/cgroup),
-- rootfs, lowerdir, upperdir, workdir, files {hostname=, hosts=, ["resolv.conf"]=},
-- resources (a table kept for inspect), rlimits, seccomp (a checked
-- ctr.seccomp profile, resolved here against the capabilities; nil or
-- false: unconfined), no_new_privileges (default: not privileged).
function M.build(o)
  local caps = M.capabilities(o.cap_add, o.cap_drop, o.privileged)
  local root_user = (o.uid or 0) == 0
  local nnp = not o.privileged
  if o.no_new_privileges ~= nil then nnp = o.no_new_privileges end
  return {
    ociVersion = "1.0.2",
    process = {
      terminal = o.terminal or false,
      user = { uid = o.uid or 0, gid = o.gid or 0, additionalGids = o.groups or {} },
      args = o.args,
      env = o.env,
      cwd = o.cwd or "/",
      capabilities = {
        bounding = caps,
        effective = root_user and caps or {},
        permitted = root_user and caps or {},
        inheritable = {},
        ambient = {},
      },
      rlimits = o.rlimits or {},
      noNewPrivileges = nnp,
    },
    root = {
      path = o.rootfs,
      readonly = o.read_only or false,
      overlay = { lowerdir = o.lowerdir, upperdir = o.upperdir, workdir = o.workdir },
    },
    hostname = o.hostname,
    mounts = default_mounts(o),
    linux = {
      namespaces = namespaces(o),
      resources = o.resources or {},
      maskedPaths = o.privileged and {} or M.masked_paths,
      readonlyPaths = o.privileged and {} or M.readonly_paths,
      devices = M.devices,
      seccomp = o.seccomp and require("ctr.seccomp").resolve(o.seccomp, caps) or nil,
    },
  }
end

return M
