--- ctr.container.identity: who and what the container's process is, from
-- docker's options and the image: the user and groups (resolved in the
-- image's /etc/passwd and /etc/group, read inside its layers), paths in the
-- container, volumes, and the environment.
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

--- The largest /etc/passwd or /etc/group read from an image.
M.ETC_FILE_MAX = 4 * 1024 * 1024

--- The image's file rel (e.g. "etc/passwd") as the container will see it,
-- read inside the layer stack lowers (core.read_in_layers: symlinks
-- resolve in the image, never on the host): nil when missing; not a regular
-- file, or larger than ETC_FILE_MAX: an error.
function M.read_layer_file(lowers, rel)
  if #lowers == 0 then return nil end
  local s, err, errno = core.read_in_layers(lowers, rel, M.ETC_FILE_MAX)
  if s then return s end
  if errno ~= core.errno.ENOENT and errno ~= core.errno.ENOTDIR then
    errors.throw("system", "cannot read the image's /%s: %s", rel, err)
  end
end
local read_layer_file = M.read_layer_file

--- A uid or gid from the command line or the image (a string): decimal,
-- 0..2147483647, returned as an integer; else raises invalid naming what.
function M.check_id(s, what)
  local n = type(s) == "string" and s:match("^%d+$") and #s <= 10 and math.tointeger(tonumber(s))
  if not n or n > 2147483647 then
    errors.throw("invalid", "invalid %s %q: must be an integer within 0..2147483647", what, tostring(s))
  end
  return n
end
local check_id = M.check_id

local function passwd_lookup(text, field, value)
  for line in (text or ""):gmatch("[^\n]+") do
    local parts = {}
    for p in (line .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
    if parts[field] == value then return parts end
  end
end

--- Resolve a docker -u value ("uid", "uid:gid", "name", "name:group") against
-- the image's /etc/passwd and /etc/group. Returns uid, gid, home.
function M.resolve_user(user, lowers)
  if user == nil or user == "" then return 0, 0, "/root" end
  local u, g = user:match("^([^:]+):(.+)$")
  u = u or user
  if u:match("^%-%d+$") then check_id(u, "uid") end
  if g and g:match("^%-%d+$") then check_id(g, "gid") end
  local passwd = read_layer_file(lowers, "etc/passwd")
  local uid, gid, home
  if u:match("^%d+$") then
    uid = check_id(u, "uid")
    local e = passwd_lookup(passwd, 3, u)
    gid = e and check_id(e[4], "gid of uid " .. u .. " in the image's /etc/passwd") or 0
    home = e and e[6] or "/"
  else
    local e = passwd_lookup(passwd, 1, u)
    if not e then errors.throw("invalid", "unable to find user %s: no matching entries in passwd file", u) end
    local where = " of user " .. u .. " in the image's /etc/passwd"
    uid, gid, home = check_id(e[3], "uid" .. where), check_id(e[4], "gid" .. where), e[6]
  end
  if g then
    if g:match("^%d+$") then gid = check_id(g, "gid")
    else
      local e = passwd_lookup(read_layer_file(lowers, "etc/group"), 1, g)
      if not e then errors.throw("invalid", "unable to find group %s: no matching entries in group file", g) end
      gid = check_id(e[3], "gid of group " .. g .. " in the image's /etc/group")
    end
  end
  return uid, gid, home
end

--- Resolve docker --group-add values (gids, or group names looked up in the
-- image's /etc/group) to a list of gids. Raises on unknown or invalid ones.
function M.resolve_groups(list, lowers)
  local gids, group = {}, nil
  for _, g in ipairs(list or {}) do
    if g:match("^%-?%d+$") then gids[#gids + 1] = check_id(g, "gid")
    else
      group = group or read_layer_file(lowers, "etc/group") or ""
      local e = passwd_lookup(group, 1, g)
      if not e then errors.throw("invalid", "unable to find group %s: no matching entries in group file", g) end
      gids[#gids + 1] = check_id(e[3], "gid of group " .. g .. " in the image's /etc/group")
    end
  end
  return gids
end

--- Normalise a container path: absolute, no "..", no "." or empty parts.
-- Raises when it is relative or climbs out with "..".
function M.clean_path(p, what)
  if type(p) ~= "string" or p:sub(1, 1) ~= "/" then
    errors.throw("invalid", "invalid %s %q: must be an absolute path", what, tostring(p))
  end
  local parts = {}
  for part in p:gmatch("[^/]+") do
    if part == ".." then errors.throw("invalid", "invalid %s %q: it escapes the root filesystem with ..", what, p) end
    if part ~= "." then parts[#parts + 1] = part end
  end
  return "/" .. table.concat(parts, "/")
end

-- Walk path (absolute, in the image) through the image layers lowers (host
-- directories, top first) as overlayfs shows them: fn(prefix, st, layer)
-- for each component with the topmost entry's lstat and its layer (nil when
-- no layer has it: the walk ends); a non-directory ends it too. A layer is
-- looked into only while its own entries on the way are directories, so
-- no symlink of a layer is ever followed on the host.
local function walk_layers(path, lowers, fn)
  local alive, prefix = {}, ""
  for i, d in ipairs(lowers) do alive[i] = d end
  for part in path:gmatch("[^/]+") do
    prefix = prefix .. "/" .. part
    local top, top_layer, next_alive = nil, nil, {}
    for _, d in ipairs(alive) do
      local st = core.lstat(d .. prefix)
      if st and not top then top, top_layer = st, d end
      if st and top.type ~= "dir" then break end -- what is below is hidden
      if st and st.type == "dir" then next_alive[#next_alive + 1] = d end
    end
    fn(prefix, top, top_layer)
    if not top or top.type ~= "dir" then return end
    alive = next_alive
  end
end

--- The lstat of path (absolute, in the image) as the image's layers lowers
-- (top first) show it, when every component above it is a directory and
-- (with want) it is of type want; else nil. No symlink is followed.
function M.layer_lstat(lowers, path, want)
  local result, n, seen = nil, 0, 0
  for _ in path:gmatch("[^/]+") do n = n + 1 end
  walk_layers(path, lowers, function(_, st)
    seen = seen + 1
    if seen == n then result = st end
  end)
  if result and want and result.type ~= want then return nil end
  return result
end

-- Walk path through the image layers: a symlink whose relative target would
-- climb above / makes the path escape the root filesystem: refuse it.
local function check_symlinks(path, lowers, what)
  local depth = 0
  walk_layers(path, lowers, function(prefix, st, layer)
    if st and st.type == "link" then
      local target = core.readlink(layer .. prefix) or ""
      local level = target:sub(1, 1) == "/" and 0 or depth
      for t in target:gmatch("[^/]+") do
        if t == ".." then level = level - 1 elseif t ~= "." then level = level + 1 end
        if level < 0 then
          errors.throw("invalid", "invalid %s %q: %s is a symlink that escapes the root filesystem", what, path, prefix)
        end
      end
    end
    depth = depth + 1
  end)
end

-- The files of /proc a bind may cover (lxcfs's, runc's list).
local LXCFS = { ["/proc/cpuinfo"] = true, ["/proc/diskstats"] = true, ["/proc/meminfo"] = true, ["/proc/stat"] = true,
  ["/proc/swaps"] = true, ["/proc/uptime"] = true, ["/proc/loadavg"] = true, ["/proc/slabinfo"] = true,
  ["/proc/net/dev"] = true, ["/proc/sys/kernel/ns_last_pid"] = true }

--- A mount's destination in the container (a -v, --mount or --tmpfs
-- value's, named spec in messages), checked and normalised: absolute, not
-- "/", not inside /proc (but lxcfs's files), no "..", no symlink of the image that climbs out
-- of its root.
function M.mount_destination(dest, lowers, spec)
  dest = M.clean_path(dest, "volume destination")
  if dest == "/" then errors.throw("invalid", "invalid volume specification %q: cannot mount over /", spec) end
  if (dest == "/proc" or dest:sub(1, 6) == "/proc/") and not LXCFS[dest] then -- runc's rule (core/rootfs.c checks the resolved path)
    errors.throw("invalid", "invalid volume specification %q: %s is inside /proc", spec, dest)
  end
  check_symlinks(dest, lowers or {}, "volume destination")
  return dest
end

--- Parse a -v value "HOST:CTR[:OPTS]" (OPTS: ro or rw, and idmap, comma
-- separated) into {source, destination, ro, idmap}.
-- The host directory is created when missing (as docker does).
function M.parse_volume(spec, lowers)
  local parts = {}
  for p in (spec .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  if #parts < 2 or #parts > 3 or parts[1] == "" or parts[2] == "" then
    errors.throw("invalid", "invalid volume specification %q: use HOST:CONTAINER[:ro]", spec)
  end
  local opts = {}
  for m in (parts[3] or ""):gmatch("[^,]+") do
    if m ~= "ro" and m ~= "rw" and m ~= "idmap" then
      errors.throw("invalid", "invalid volume specification %q: unknown mode %q (ro, rw, idmap)", spec, m)
    end
    opts[m] = true
  end
  if parts[1]:sub(1, 1) ~= "/" then
    errors.throw("invalid", "invalid volume specification %q: the host path must be absolute (named volumes are not supported)", spec)
  end
  local dest = M.mount_destination(parts[2], lowers, spec)
  return { source = parts[1], destination = dest, ro = opts.ro or false, idmap = opts.idmap }
end

--- Merge environment lists the way docker does: base is a list of
-- "K=V"; extra is a list ("K=V" sets, a bare "K" copies our value of K or
-- is dropped) or a map {K = "V"}. Later values win, the first position of
-- a name is kept. Returns a new list.
function M.env_merge(base, extra)
  local order, vals = {}, {}
  local function set(k, v)
    if vals[k] == nil then order[#order + 1] = k end
    vals[k] = v
  end
  for _, e in ipairs(base or {}) do
    local k, v = e:match("^([^=]+)=(.*)$")
    if k then set(k, v) end
  end
  if type(extra) == "table" and #extra == 0 and next(extra) then
    local keys = {}
    for k in pairs(extra) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do set(k, tostring(extra[k])) end
  else
    for _, e in ipairs(extra or {}) do
      local k, v = e:match("^([^=]+)=(.*)$")
      if k then
        if k:match("%s") then errors.throw("invalid", "invalid environment variable: %s", e) end
        set(k, v)
      elseif e ~= "" then
        local hv = os.getenv(e)
        if hv then set(e, hv) end
      end
    end
  end
  local out = {}
  for _, k in ipairs(order) do out[#out + 1] = k .. "=" .. vals[k] end
  return out
end

return M
