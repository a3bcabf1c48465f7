--- ctr.oci: the container's configuration as an OCI runtime-spec config.
--
-- The run workflow turns options and the image into one table shaped like
-- runc's config.json (process, root, hostname, mounts, linux {namespaces,
-- resources, maskedPaths, readonlyPaths, devices}); it is saved as the
-- container's config.json and executed by `ctr.core.spawn`. One extension:
-- `root.overlay = {lowerdir, upperdir, workdir}`: the overlay root is
-- mounted inside the container's own mount namespace, so it can never be
-- left behind on the host.
local errors = require "ctr.errors"

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

--- Docker's default device policy (linux.resources.devices): nothing but mknod
-- of any node and the devices every container gets (null, zero, full, random,
-- urandom, tty, ptmx and its own ptys, 136:*) may be opened. The container's
-- console is one of its ptys; the host's /dev/console (5:1) stays out.
M.default_device_rules = {
  { allow = false, access = "rwm" },
  { allow = true, type = "c", access = "m" },
  { allow = true, type = "b", access = "m" },
  { allow = true, type = "c", major = 1, minor = 3, access = "rwm" },
  { allow = true, type = "c", major = 1, minor = 5, access = "rwm" },
  { allow = true, type = "c", major = 1, minor = 7, access = "rwm" },
  { allow = true, type = "c", major = 1, minor = 8, access = "rwm" },
  { allow = true, type = "c", major = 1, minor = 9, access = "rwm" },
  { allow = true, type = "c", major = 5, minor = 0, access = "rwm" },
  { allow = true, type = "c", major = 5, minor = 2, access = "rwm" },
  { allow = true, type = "c", major = 136, access = "rwm" },
}

--- The device policy of a --privileged container: every device.
M.privileged_device_rules = { { allow = true, access = "rwm" } }

local function device_path(p, spec)
  if p:sub(1, 5) ~= "/dev/" or not p:sub(6):match("[^/]") then
    errors.throw("invalid", ("invalid device %q: the container path %s must be below /dev/"):format(spec, p))
  end
  for part in p:gmatch("[^/]+") do
    if part == ".." or part == "." then
      errors.throw("invalid", ("invalid device %q: the container path %s has a . or .. component"):format(spec, p))
    end
  end
  return (p:gsub("/+", "/"):gsub("/$", ""))
end

--- Parse a --device value "HOST[:CONTAINER[:PERMS]]" (or "HOST:PERMS", as
-- docker reads it): HOST must be a character or block device (symlinks are
-- followed); CONTAINER (default HOST) a path below /dev/; PERMS r, w and/or m
-- (default rwm). Raises on anything else.
-- @return { path =, type = "c"|"b", major =, minor =, fileMode =, uid =, gid =, access = }
function M.parse_device(spec)
  local core = require "ctr.core"
  local parts = {}
  for p in (tostring(spec) .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  local host, dest, perms = parts[1], parts[2], parts[3]
  if #parts == 2 and dest:match("^[rwm]+$") then dest, perms = nil, parts[2] end
  if #parts > 3 or host == "" or dest == "" or perms == "" then
    errors.throw("invalid", ("invalid device %q: use HOST[:CONTAINER[:PERMS]]"):format(spec))
  end
  perms = perms or "rwm"
  if not perms:match("^[rwm]+$") or perms:match("(.).*%1") then
    errors.throw("invalid", ("invalid device %q: permissions %q must be made of r, w and m"):format(spec, perms))
  end
  if host:sub(1, 1) ~= "/" then errors.throw("invalid", ("invalid device %q: the host path must be absolute"):format(spec)) end
  local st, err = core.stat(host)
  if not st then errors.throw("invalid", ("invalid device %q: %s"):format(spec, err)) end
  if st.type ~= "chr" and st.type ~= "blk" then
    errors.throw("invalid", ("invalid device %q: %s is not a character or block device"):format(spec, host))
  end
  return { path = device_path(dest or host, spec), type = st.type == "chr" and "c" or "b",
           major = st.rdev_major, minor = st.rdev_minor, fileMode = st.mode & 511,
           uid = st.uid, gid = st.gid, access = perms }
end

--- Parse a list of --device values (see parse_device).
function M.parse_devices(list)
  local t = {}
  for i, spec in ipairs(list or {}) do t[i] = M.parse_device(spec) end
  return t
end

--- The device policy (linux.resources.devices) for parsed --device entries;
-- privileged: every device.
function M.device_rules(devices, privileged)
  if privileged then return M.privileged_device_rules end
  local rules = {}
  for i, r in ipairs(M.default_device_rules) do rules[i] = r end
  for _, d in ipairs(devices or {}) do
    rules[#rules + 1] = { allow = true, type = d.type, major = d.major, minor = d.minor, access = d.access }
  end
  return rules
end

--- The device policy a config asks for; a config without one (made before
-- device policies existed) gets the default.
function M.device_rules_of(cfg)
  local r = cfg.linux and cfg.linux.resources and cfg.linux.resources.devices
  if type(r) == "table" then return r end
  return M.default_device_rules
end

-- The device nodes made in /dev: the defaults, then the --device ones.
local function device_nodes(devices)
  local nodes = {}
  for i, d in ipairs(M.devices) do nodes[i] = d end
  for _, d in ipairs(devices or {}) do
    nodes[#nodes + 1] = { path = d.path, type = d.type, major = d.major, minor = d.minor,
                          fileMode = d.fileMode, uid = d.uid, gid = d.gid }
  end
  return nodes
end

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
    elseif not known[c] then errors.throw("invalid", ("unknown capability to drop: %s"):format(c))
    else set[c] = nil end
  end
  for _, c in ipairs(cap_add or {}) do
    c = M.cap_name(c)
    if c == "ALL" then for _, a in ipairs(M.all_caps()) do add(a) end
    elseif not known[c] then errors.throw("invalid", ("unknown capability to add: %s"):format(c))
    elseif not have[c] then errors.throw("invalid", ("cannot add %s: luac-ctr does not have it itself"):format(c))
    else add(c) end
  end
  local list = {}
  for _, c in ipairs(order) do if set[c] then list[#list + 1] = c end end
  return list
end

-- v1/hybrid: a tmpfs at /sys/fs/cgroup (made read-only by readonlyPaths)
-- with a read-only bind of the container's own cgroup directory of each v1
-- hierarchy ({ {mount=, dir=}, ... }): at /sys/fs/cgroup/<hierarchy>, and
-- at each of its controllers' names when it holds several ("cpu,cpuacct"),
-- as docker does. Never a hierarchy's root: the host's cgroups stay hidden.
local function cgroup_v1_mounts(m, list, privileged)
  m[#m + 1] = { destination = "/sys/fs/cgroup", type = "tmpfs", source = "cgroup",
                options = { "nosuid", "noexec", "nodev", "mode=755", "size=64k" } }
  local opts = { "bind", "rprivate", "nosuid", "noexec", "nodev" }
  if not privileged then opts[#opts + 1] = "ro" end
  for _, h in ipairs(list) do
    local name = h.mount:match("([^/]+)/*$")
    local names = { name }
    if name:find(",", 1, true) then
      for c in name:gmatch("[^,]+") do names[#names + 1] = c end
    end
    for _, n in ipairs(names) do
      m[#m + 1] = { destination = "/sys/fs/cgroup/" .. n, type = "bind", source = h.dir, options = opts }
    end
  end
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
  -- a fresh sysfs, with the host's network too (never a bind of the host's
  -- /sys, whose cgroup hierarchies, debugfs, tracefs... would come along):
  -- read-only on the mount only, the host's sysfs stays as it is
  m[#m + 1] = { destination = "/sys", type = "sysfs", source = "sysfs", options = sys_opts }
  if o.cgroup_v2 then -- the container's own cgroup (its cgroup namespace root), read-only
    local opts = { "nosuid", "noexec", "nodev", "relatime" }
    if not o.privileged then opts[#opts + 1] = "ro" end
    m[#m + 1] = { destination = "/sys/fs/cgroup", type = "cgroup2", source = "cgroup", options = opts }
  elseif o.cgroup_v1 then
    cgroup_v1_mounts(m, o.cgroup_v1, o.privileged)
  end
  for _, f in ipairs({ "hostname", "hosts", "resolv.conf" }) do
    if o.files and o.files[f] then
      local opts = { "bind", "rprivate" }
      if o.userns then opts[#opts + 1] = "idmap" end -- owned by the container's root
      m[#m + 1] = { destination = "/etc/" .. f, type = "bind", source = o.files[f], options = opts }
    end
  end
  for _, v in ipairs(o.volumes or {}) do
    if v.type == "tmpfs" then -- --tmpfs, --mount type=tmpfs (options checked by ctr.volume.mounts)
      m[#m + 1] = { destination = v.destination, type = "tmpfs", source = "tmpfs", options = v.options }
    else
      local opts = { "rbind", v.propagation or "rprivate" }
      if v.ro then opts[#opts + 1] = "ro" end
      if v.idmap then opts[#opts + 1] = "ridmap" end -- -v ...:idmap (a user namespace's)
      m[#m + 1] = { destination = v.destination, type = "bind", source = v.source, options = opts }
    end
  end
  return m
end

local function readonly_paths(o)
  if not o.cgroup_v1 then return M.readonly_paths end
  local t = { table.unpack(M.readonly_paths) }
  t[#t + 1] = "/sys/fs/cgroup"
  return t
end

local function namespaces(o)
  local ns = { { type = "pid" }, { type = "mount" }, { type = "ipc" }, { type = "uts" }, { type = "cgroup" } }
  if o.network ~= "host" then ns[#ns + 1] = { type = "network" } end
  if o.userns then ns[#ns + 1] = { type = "user" } end
  return ns
end

--- Build the config. o: args, env (list "K=V"), cwd, uid, gid, groups,
-- terminal, hostname, read_only, privileged, caps (the set M.capabilities
-- returned; computed from cap_add and cap_drop when not given), network
-- ("none"|"bridge"|"host"|name), volumes {{source, destination, ro, idmap}},
-- cgroup_v2 (mount the container's cgroup2 at /sys/fs/cgroup), cgroup_v1
-- (v1/hybrid: {{mount=, dir=}} the container's cgroup directory of each v1
-- hierarchy, bound read-only below a tmpfs at /sys/fs/cgroup),
-- rootfs, lowerdir, upperdir, workdir, files {hostname=, hosts=, ["resolv.conf"]=},
-- resources (a table kept for inspect), rlimits, devices (what parse_devices
-- returns: nodes made in /dev and allowed by the device policy), seccomp (a
-- checked ctr.seccomp profile, resolved here against the capabilities; nil or
-- false: unconfined), no_new_privileges (default: not privileged), userns
-- ({uid = map, gid = map}, map a list of {containerID, hostID, size}: a user
-- namespace of its own, idmapped volumes; nil: the host's).
function M.build(o)
  local caps = o.caps or M.capabilities(o.cap_add, o.cap_drop, o.privileged)
  local resources = {}
  for k, v in pairs(o.resources or {}) do resources[k] = v end
  resources.devices = M.device_rules(o.devices, o.privileged)
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
      resources = resources,
      maskedPaths = o.privileged and {} or M.masked_paths,
      readonlyPaths = o.privileged and {} or readonly_paths(o),
      devices = device_nodes(o.devices),
      seccomp = o.seccomp and require("ctr.seccomp").resolve(o.seccomp, caps) or nil,
      uidMappings = o.userns and o.userns.uid or nil,
      gidMappings = o.userns and o.userns.gid or nil,
    },
  }
end

return M
