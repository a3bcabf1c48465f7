--- ctr.runc.cgroups: the container's cgroup as luac-runc makes it from a
-- bundle's config: its path (linux.cgroupsPath, the systemd slice:prefix:name
-- form with --systemd-cgroup), cpu shares, and the mounts of type "cgroup".
-- (ctr.runc.config has checked the config.)
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"

local M = {}

local function bad(field, fmt, ...)
  errors.raise(1, "config.json: %s: " .. fmt, field, ...)
end

local function empty(v)
  if v == nil or v == false or v == "" or v == json.null then return true end
  return type(v) == "table" and next(v) == nil
end

--- Apply linux.resources.cpu.shares to cgroup g (a ctr.cgroup): v1
-- cpu.shares as it is, v2 cpu.weight = 1 + (shares - 2) * 9999 / 262142 (the
-- conversion the engines use). M.check has checked the value.
function M.cpu_shares(g, r)
  local shares = r and r.cpu and r.cpu.shares
  if empty(shares) or shares == 0 then return end
  for _, d in ipairs(g:dirs()) do
    local file, text = d .. "/cpu.shares", tostring(shares)
    if not core.exists(file) then file, text = d .. "/cpu.weight", tostring(1 + (shares - 2) * 9999 // 262142) end
    if core.exists(file) then
      local ok, err = require("ctr.freezer").write_file(file, text)
      if not ok then errors.raise(1, "linux.resources.cpu.shares: writing %s: %s", file, err) end
    end
  end
end

-- systemd's slice:prefix:name as the directory path systemd would give it
-- ("a-b.slice" -> "a.slice/a-b.slice", the unit "prefix-name.scope").
local function systemd_path(p)
  local slice, prefix, name = p:match("^([^:]*):([^:]*):([^:]+)$")
  if not slice or (slice ~= "" and not slice:match("^[%w_%-%.@]+%.slice$")) or prefix:find("/", 1, true) or
     name:find("/", 1, true) then
    bad("linux.cgroupsPath", "%s: not a systemd slice:prefix:name", errors.quote(p))
  end
  if slice == "" then slice = "system.slice" end
  local parts, acc = {}, nil
  if slice ~= "-.slice" then
    for word in slice:sub(1, -7):gmatch("[^%-]+") do
      acc = acc and (acc .. "-" .. word) or word
      parts[#parts + 1] = acc .. ".slice"
    end
  end
  parts[#parts + 1] = name:match("%.slice$") and name or ((prefix ~= "" and prefix .. "-" or "") .. name .. ".scope")
  return table.concat(parts, "/")
end

--- The cgroup path (relative to every hierarchy) of linux.cgroupsPath; with
-- systemd (--systemd-cgroup) the slice:prefix:name form, made as the
-- directories systemd would name (no systemd unit is registered).
function M.cgroup_path(l, id, systemd)
  local p = l.cgroupsPath
  if empty(p) then return systemd and ("system.slice/luac-runc-" .. id .. ".scope") or ("luac-runc/" .. id) end
  if type(p) ~= "string" then bad("linux.cgroupsPath", "must be a string") end
  if p:find(":", 1, true) then
    if not systemd then
      bad("linux.cgroupsPath", "%s: the systemd slice:prefix:name form needs --systemd-cgroup", errors.quote(p))
    end
    p = systemd_path(p)
  end
  local rel = p:gsub("^/+", ""):gsub("/+$", "")
  for seg in rel:gmatch("[^/]+") do
    if seg == "." or seg == ".." then bad("linux.cgroupsPath", "%s: no . or .. allowed", errors.quote(p)) end
  end
  if rel == "" then bad("linux.cgroupsPath", "must name a cgroup below the root") end
  return rel
end

-- Options of a cgroup mount (nosuid, ro, ...) for each mount made of it,
-- plus extra ("memory", "cpu,cpuacct", "name=systemd": a hierarchy's).
local function cgroup_opts(m, extra)
  local opts = {}
  for _, o in ipairs(m.options or {}) do
    if o ~= "rw" and o ~= "rbind" and o ~= "bind" then opts[#opts + 1] = o end
  end
  for o in (extra or ""):gmatch("[^,]+") do opts[#opts + 1] = o end
  return opts
end

-- One hierarchy (mount point mnt, v1 controllers ctl or nil for cgroup2)
-- at dest: with a cgroup namespace the filesystem itself (it shows the
-- namespace root), else a bind of the container's own directory in it.
local function hierarchy_mount(m, dest, mnt, ctl, path, cgroupns)
  local opts = cgroup_opts(m, ctl)
  if cgroupns then
    return { destination = dest, type = ctl and "cgroup" or "cgroup2", source = "cgroup", options = opts }
  end
  local dir = mnt .. "/" .. path
  if not core.exists(dir) then return nil end
  local bopts = { "rbind" }
  for _, o in ipairs(cgroup_opts(m)) do bopts[#bopts + 1] = o end
  return { destination = dest, type = "bind", source = dir, options = bopts }
end

--- Mounts of type "cgroup" as runc makes them: the container's own cgroup
-- (path, relative to each hierarchy) and nothing above it. With a cgroup
-- namespace (cgroupns true) the hierarchies are mounted (they show the
-- namespace root), without one the container's directories are bound. On
-- cgroup v2 one mount; on v1 and hybrid a tmpfs at the destination
-- (writable: the container's own, holding only the mount points) with each
-- v1 hierarchy below it (named after the host's mount point) and, hybrid,
-- cgroup2 as "unified". Each keeps the mount's options (ro: read-only).
function M.cgroup_mounts(mounts, path, cgroupns)
  local out = {}
  for _, m in ipairs(mounts or {}) do
    if m.type ~= "cgroup" then
      out[#out + 1] = m
    else
      local info = require("ctr.cgroup").info()
      if info.kind == "v2" then
        out[#out + 1] = hierarchy_mount(m, m.destination, info.hierarchies[1].mount, nil, path, cgroupns)
      else
        out[#out + 1] = { destination = m.destination, type = "tmpfs", source = "tmpfs",
                          options = { "nosuid", "nodev", "noexec", "mode=755", "size=64k" } }
        for _, h in ipairs(info.hierarchies) do
          local dest = m.destination .. "/" .. h.mount:match("([^/]+)$")
          out[#out + 1] = hierarchy_mount(m, dest, h.mount, h.version == 1 and h.controllers or nil, path, cgroupns)
        end
      end
    end
  end
  return out
end

return M
