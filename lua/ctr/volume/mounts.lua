--- ctr.volume.mounts: a container's mounts from docker's options: -v
-- (HOST:CTR bind, NAME:CTR named volume, /CTR anonymous volume), --mount
-- (type=bind|volume|tmpfs), --tmpfs, --volumes-from and the image's
-- Volumes. Every volume is a bind of its _data directory through the one
-- mount path of -v (ctr.oci, the core's detached mounts); a tmpfs is a
-- tmpfs mount there too.
--
-- parse (before the lock: bad input raises, nothing is made) gives the
-- entries {type = "bind"|"volume"|"tmpfs", source, destination, ro,
-- idmap, propagation, name, anonymous, nocopy, labels, options, mode};
-- prepare (under the global lock, as the container is made) creates the
-- volumes that do not exist yet, copies the image's files at the
-- destination into an empty one (as docker does) and gives every entry its
-- source; discard removes what prepare made when the creation fails.
local core = require "ctr.core"
local errors = require "ctr.errors"
local identity = require "ctr.container.identity"
local volume = require "ctr.volume"

local M = {}

local function split(s, sep)
  local t = {}
  for p in (s .. sep):gmatch("([^" .. sep .. "]*)" .. sep) do t[#t + 1] = p end
  return t
end

-- -v NAME:CTR[:OPTS] and -v /CTR: a volume entry.
local function volume_entry(spec, name, dest, mode, lowers)
  local e = { type = "volume", name = name, anonymous = name == nil, mode = mode or "" }
  for m in (mode or ""):gmatch("[^,]+") do
    if m == "ro" then e.ro = true
    elseif m == "nocopy" then e.nocopy = true
    elseif m ~= "rw" and m ~= "z" and m ~= "Z" and m ~= "idmap" then -- idmap: implied in a user namespace
      errors.throw("invalid", "invalid volume specification %q: unknown mode %q (ro, rw, nocopy)", spec, m)
    end
  end
  if name then volume.check_name(name, "create " .. name) end
  e.destination = identity.mount_destination(dest, lowers, spec)
  return e
end

--- Parse a -v value: "HOST:CTR[:OPTS]" (a bind, HOST absolute), "NAME:CTR[:OPTS]"
-- (a named volume: OPTS ro, rw, nocopy) or "/CTR" (an anonymous volume).
-- A relative HOST ("./dir") gets docker's message. Returns the entry.
function M.parse_volume(spec, lowers)
  local parts = split(spec, ":")
  if #parts == 1 and spec:sub(1, 1) == "/" then return volume_entry(spec, nil, spec, nil, lowers) end
  if #parts < 2 or #parts > 3 or parts[1] == "" or parts[2] == "" then
    errors.throw("invalid", "invalid volume specification %q: use HOST:CONTAINER[:ro], NAME:CONTAINER[:ro] or /CONTAINER", spec)
  end
  if parts[1]:sub(1, 1) == "/" then
    local e = identity.parse_volume(spec, lowers)
    e.type, e.mode = "bind", parts[3] or ""
    return e
  end
  return volume_entry(spec, parts[1], parts[2], parts[3], lowers)
end

-- "true"/"1"/"" (a bare key) or "false"/"0" of a --mount boolean.
local function mount_bool(v, spec, key)
  if v == nil or v == "true" or v == "1" then return true end
  if v == "false" or v == "0" then return false end
  errors.throw("invalid", "invalid argument %q for \"--mount\" flag: invalid value for %s: %s", spec, key, v)
end

-- A tmpfs size: bytes, or with a k/m/g suffix.
local function tmpfs_size(v, spec)
  local n = v and require("ctr.util").parse_size(v)
  if not n or n <= 0 then errors.throw("invalid", "invalid argument %q for \"--mount\" flag: invalid tmpfs-size %s", spec, tostring(v)) end
  return "size=" .. n
end

local MOUNT_KEYS = {
  type = "type", source = "source", src = "source", target = "target", destination = "target", dst = "target",
  readonly = "readonly", ro = "readonly", ["bind-propagation"] = "propagation", ["volume-nocopy"] = "nocopy",
  ["volume-label"] = "label", ["volume-driver"] = "driver", ["volume-opt"] = "opt", consistency = "consistency",
  ["tmpfs-size"] = "tmpfs_size", ["tmpfs-mode"] = "tmpfs_mode",
}
local PROPAGATIONS = { private = true, rprivate = true, shared = true, rshared = true, slave = true, rslave = true }

-- The key=value fields of a --mount value, checked against MOUNT_KEYS.
local function mount_fields(spec)
  if spec:find('"', 1, true) then errors.throw("invalid", "invalid argument %q for \"--mount\" flag: quotes are not supported", spec) end
  local f = { labels = {} }
  for _, field in ipairs(split(spec, ",")) do
    local k, v = field:match("^([^=]*)=(.*)$")
    k = k or field
    local key = MOUNT_KEYS[k:lower()]
    if not key then errors.throw("invalid", "invalid argument %q for \"--mount\" flag: unexpected key '%s' in '%s'", spec, k, field) end
    if key == "label" then
      local lk, lv = (v or ""):match("^([^=]+)=?(.*)$")
      if not lk then errors.throw("invalid", "invalid argument %q for \"--mount\" flag: invalid volume-label %s", spec, tostring(v)) end
      f.labels[lk] = lv
    elseif key == "readonly" or key == "nocopy" then f[key] = mount_bool(v, spec, k)
    elseif v == nil or v == "" then
      errors.throw("invalid", "invalid argument %q for \"--mount\" flag: invalid field '%s' must be a key=value pair", spec, field)
    else f[key] = v end
  end
  return f
end

-- The options of a tmpfs: docker's defaults (nosuid, nodev, noexec), then
-- list (--tmpfs's "rw,size=64m,mode=1777,exec" fields). Returns the list.
local function tmpfs_options(list, spec)
  local flags = { nosuid = true, nodev = true, noexec = true }
  local data = {}
  local negate = { exec = "noexec", suid = "nosuid", dev = "nodev" }
  for _, opt in ipairs(list) do
    local k, v = opt:match("^([%a_]+)=(.+)$")
    if negate[opt] then flags[negate[opt]] = nil
    elseif opt == "noexec" or opt == "nosuid" or opt == "nodev" or opt == "ro" then flags[opt] = true
    elseif opt == "rw" then flags.ro = nil
    elseif (k == "size" and v:match("^%d+[kKmMgG%%]?$")) or (k == "mode" and v:match("^[0-7]+$") and #v <= 4)
      or ((k == "uid" or k == "gid" or k == "nr_inodes") and v:match("^%d+$") and #v <= 10) then
      data[#data + 1] = opt
    else
      errors.throw("invalid", "invalid tmpfs option %q in %q: use ro, rw, exec, noexec, suid, nosuid, dev, nodev, "
        .. "size=, mode=, uid=, gid=, nr_inodes=", opt, spec)
    end
  end
  local out = {}
  for _, f in ipairs({ "nosuid", "nodev", "noexec", "ro" }) do if flags[f] then out[#out + 1] = f end end
  for _, d in ipairs(data) do out[#out + 1] = d end
  return out, flags.ro or false
end

--- Parse a --mount value (docker's syntax: type=bind|volume|tmpfs,
-- source|src=, target|dst|destination=, readonly|ro, bind-propagation=,
-- volume-nocopy, volume-label=K=V, volume-driver=local, tmpfs-size=,
-- tmpfs-mode=). An unknown key, a missing target or a field that does not
-- fit the type is an invalid error. Returns the entry.
function M.parse_mount(spec, lowers)
  local f = mount_fields(spec)
  local t = f.type or "volume"
  local function bad(fmt, ...) errors.throw("invalid", "invalid mount config for type %q: " .. fmt, t, ...) end
  if not f.target then errors.throw("invalid", "invalid argument %q for \"--mount\" flag: target is required", spec) end
  if t ~= "bind" and f.propagation then bad("field BindOptions must not be specified") end
  if t ~= "volume" and (f.nocopy or next(f.labels) or f.driver or f.opt) then bad("field VolumeOptions must not be specified") end
  if t ~= "tmpfs" and (f.tmpfs_size or f.tmpfs_mode) then bad("field TmpfsOptions must not be specified") end
  local dest = identity.mount_destination(f.target, lowers, spec)
  if t == "bind" then
    if not f.source then bad("field Source must not be empty") end
    if f.source:sub(1, 1) ~= "/" then bad("invalid mount path: '%s' mount path must be absolute", f.source) end
    if not core.exists(f.source) then bad("bind source path does not exist: %s", f.source) end
    if f.propagation and not PROPAGATIONS[f.propagation] then bad("invalid propagation mode: %s", f.propagation) end
    return { type = "bind", source = f.source, destination = dest, ro = f.readonly or false,
             propagation = f.propagation, mode = "" }
  elseif t == "volume" then
    if f.driver and f.driver ~= "local" then bad("volume driver %s is not supported (only local)", f.driver) end
    if f.opt then bad("volume-opt (the local driver's type, device, o) is not supported") end
    if f.source then volume.check_name(f.source, "create " .. f.source) end
    return { type = "volume", name = f.source, anonymous = f.source == nil, destination = dest,
             ro = f.readonly or false, nocopy = f.nocopy, labels = f.labels, mode = "" }
  elseif t == "tmpfs" then
    if f.source then bad("field Source must not be specified") end
    local list = { f.readonly and "ro" or "rw" }
    if f.tmpfs_size then list[#list + 1] = tmpfs_size(f.tmpfs_size, spec) end
    if f.tmpfs_mode then
      if not f.tmpfs_mode:match("^[0-7]+$") or #f.tmpfs_mode > 4 then bad("invalid tmpfs-mode %s", f.tmpfs_mode) end
      list[#list + 1] = "mode=" .. f.tmpfs_mode
    end
    local opts, ro = tmpfs_options(list, spec)
    return { type = "tmpfs", destination = dest, ro = ro, options = opts, mode = "" }
  end
  errors.throw("invalid", "invalid argument %q for \"--mount\" flag: invalid mount type %q (bind, volume, tmpfs)", spec, t)
end

--- Parse a --tmpfs value "/CTR[:OPTS]". Returns the entry.
function M.parse_tmpfs(spec, lowers)
  local dest, opts = spec:match("^([^:]*):?(.*)$")
  local options, ro = tmpfs_options(opts ~= "" and split(opts, ",") or {}, spec)
  return { type = "tmpfs", destination = identity.mount_destination(dest, lowers, spec), ro = ro,
           options = options, mode = opts }
end

-- --volumes-from CONTAINER[:ro|rw]: the container's volumes and binds
-- (as it records them), with the mode given, else their own.
local function volumes_from(spec, lowers)
  local ref, mode = spec:match("^([^:]+):?(.*)$")
  if not ref or (mode ~= "" and mode ~= "ro" and mode ~= "rw") then
    errors.throw("invalid", "invalid --volumes-from %q: use CONTAINER[:ro|rw]", spec)
  end
  local c, err = require("ctr.container").get(ref)
  if not c then errors.throw("not_found", "%s", err) end
  local out = {}
  for _, m in ipairs(c.state.mounts or {}) do
    local ro = not m.RW
    -- checked against this container's image as any destination is
    m.Destination = identity.mount_destination(tostring(m.Destination), lowers, "--volumes-from " .. spec)
    if mode ~= "" then ro = mode == "ro" end
    if m.Type == "volume" then
      out[#out + 1] = { type = "volume", name = m.Name, destination = m.Destination, ro = ro, mode = mode, shared = true }
    elseif m.Type == "bind" then
      out[#out + 1] = { type = "bind", source = m.Source, destination = m.Destination, ro = ro, mode = mode }
    end
  end
  return out
end

--- The mounts of a container for docker's options o (volumes, mounts,
-- tmpfs, volumes_from) and the image's config icfg (its Volumes become
-- anonymous volumes where nothing else is mounted), the image's layers
-- lowers. A destination given twice is an error. Returns the entries.
function M.parse(o, lowers, icfg)
  local out, seen = {}, {}
  local function add(e, user)
    if seen[e.destination] then
      if user then errors.throw("invalid", "Duplicate mount point: %s", e.destination) end
      return
    end
    seen[e.destination] = true
    out[#out + 1] = e
  end
  for _, v in ipairs(o.volumes or {}) do add(M.parse_volume(v, lowers), true) end
  for _, v in ipairs(o.mounts or {}) do add(M.parse_mount(v, lowers), true) end
  for _, v in ipairs(o.tmpfs or {}) do add(M.parse_tmpfs(v, lowers), true) end
  for _, ref in ipairs(o.volumes_from or {}) do
    for _, e in ipairs(volumes_from(ref, lowers)) do add(e, false) end
  end
  local paths = {}
  for p in pairs(type(icfg.Volumes) == "table" and icfg.Volumes or {}) do paths[#paths + 1] = p end
  table.sort(paths)
  for _, p in ipairs(paths) do
    add({ type = "volume", anonymous = true, destination = identity.mount_destination(p, lowers, "image volume " .. p), mode = "" }, false)
  end
  return out
end

-- The stat of path (absolute, in the image) when it is a directory of the
-- image's layers (top first) reached without a symlink, else nil: looked
-- at with lstat only (the topmost layer's entry is what overlayfs shows),
-- each layer only as far as its own entries are directories (a symlink in a
-- lower layer is never followed on the host).
local function image_dir(lowers, path)
  return identity.layer_lstat(lowers, path, "dir")
end

-- Copy the image's directory dest into the volume v, as docker copies
-- it: into a private directory first (<root>/volumes/NAME/.copyup-*, a
-- sibling of _data on its filesystem, out of any container's reach), then
-- every entry moved into the volume without replacing anything. A
-- container sharing the volume sees whole entries appear and can never
-- redirect a write of the copy through a symlink.
local function copy_up(lowers, dest, v)
  local tmp = errors.check(core.mkdtemp(volume.dir(v.name, ".copyup-XXXXXX")))
  local ok, err = pcall(function()
    require("ctr.commit").copy_from_layers(lowers, dest, tmp)
    errors.checkf("cannot copy the image's " .. dest .. " into the volume " .. v.name, core.move_entries(tmp, v.mountpoint))
  end)
  core.remove_all(tmp)
  if not ok then error(err, 0) end
end

-- A volume entry's volume: found, or made now (then recorded in made).
-- An empty one (a new one, or one never filled) gets the image's files at
-- the destination unless nocopy, as docker copies them: not through
-- --volumes-from, not for rootless callers.
local function ensure_volume(e, plan, made)
  local v, new = nil, false
  if e.name then v = volume.get(e.name) end
  if not v then
    if e.shared then errors.throw("not_found", "no such volume: %s", e.name) end
    v, new = volume.create { name = e.name, labels = e.labels }
  end
  local empty = new or #(core.readdir(v.mountpoint) or { "?" }) == 0
  local st = empty and not e.nocopy and not e.shared and not require("ctr.rootless").active()
    and image_dir(plan.lowers, e.destination)
  if new then made[#made + 1] = v end
  if st then -- the files, then the directory's owner and mode, as docker copies them
    copy_up(plan.lowers, e.destination, v)
    errors.checkf("give the volume " .. v.name .. " the image's owner", core.lchown(v.mountpoint, st.uid, st.gid))
    errors.checkf("give the volume " .. v.name .. " the image's mode", core.chmod(v.mountpoint, st.mode))
  end
  return v
end

--- Under the global lock, as the container is made: the volumes of the
-- plan's entries (plan.volumes) found or created (an empty one gets the
-- image's files at its destination, copied by ctr.commit's pivoted
-- helper: symlinks resolve inside the image, never on the host), every
-- entry given its source, volumes mounted idmapped in a user namespace
-- (so a volume is shared by containers of any id range and keeps the
-- image's owners). Sets plan.new_volumes (for discard) and plan.mounts
-- (docker's Mounts records, kept in the container's state).
function M.prepare(plan)
  local made, records = {}, {}
  plan.new_volumes = made
  local idmap = plan.userns ~= nil and not require("ctr.rootless").active()
  for _, e in ipairs(plan.volumes) do
    local r = { Type = e.type, Destination = e.destination, Mode = e.mode or "", RW = not e.ro }
    if e.type == "volume" then
      local v = ensure_volume(e, plan, made)
      e.source, e.name, e.idmap = v.mountpoint, v.name, idmap or e.idmap
      r.Name, r.Driver, r.Propagation, r.Anonymous = v.name, "local", "", v.anonymous
    elseif e.type == "bind" then
      r.Propagation = e.propagation or "rprivate"
    else
      r.Propagation = ""
    end
    r.Source = e.source or ""
    records[#records + 1] = r
  end
  plan.mounts = records
end

--- Remove the volumes prepare made (the container's creation failed).
function M.discard(plan)
  for _, v in ipairs(plan.new_volumes or {}) do pcall(v.remove, v) end
end

return M
