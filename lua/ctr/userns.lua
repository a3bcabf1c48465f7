--- ctr.userns: id ranges for containers with a user namespace of their own.
--
-- `--userns=auto` gives each container a fresh 65536-id range: its uid and
-- gid 0..65535 map to host ids start..start+65535, never shared with another
-- container. The pool is the `luac-ctr` entries of /etc/subuid and
-- /etc/subgid (as shadow's `usermod --add-subuids`), else `userns_range =
-- START:COUNT` of /etc/luac-ctr/config, else M.DEFAULT_START / M.DEFAULT_COUNT.
-- Allocations are recorded in <root>/userns.json (written atomically, under
-- the lock "userns"); a record whose container directory no longer exists
-- (a crash between the two) is reclaimed by the next allocation, and `rm`
-- releases its container's range.
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"

local M = {}

M.SIZE = 65536                 -- ids per container (auto)
M.DEFAULT_START = 2000000000   -- default pool: above systemd-nspawn's and below
M.DEFAULT_COUNT = 1024 * 65536 -- systemd's "foreign" range (2147352576)
M.MAX_ID = 4294967294          -- (uid_t)-1 is never an id
M.MAX_ENTRIES = 340            -- the kernel's limit of lines in uid_map

--- The config file: $LUAC_CTR_CONFIG or /etc/luac-ctr/config.
function M.config_path() return os.getenv("LUAC_CTR_CONFIG") or "/etc/luac-ctr/config" end

--- Read the "key = value" lines of the config file (# comments). Returns a
-- table (empty when the file does not exist); raises on a malformed line.
function M.config()
  local text = core.read_file(M.config_path())
  local t = {}
  if not text then return t end
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if line ~= "" then
      local k, v = line:match("^([%w_]+)%s*=%s*(.-)$")
      if not k then errors.throw("invalid", "%s line %d: KEY = VALUE expected", M.config_path(), n) end
      t[k] = v
    end
  end
  return t
end

local function check_pool(start, count, where)
  if not start or not count or count < M.SIZE or start < M.SIZE or start + count - 1 > M.MAX_ID then
    errors.throw("invalid", "bad id range %s: START >= 65536, COUNT >= 65536, below 2^32-1", where)
  end
  return { start = start, count = count }
end

-- The `user` ranges of a subid file (/etc/subuid): list of {start, count}.
local function subids(path, user)
  local text = core.read_file(path)
  local t = {}
  for line in (text or ""):gmatch("[^\n]+") do
    local u, s, c = line:match("^([^:]+):(%d+):(%d+)%s*$")
    if u == user then t[#t + 1] = check_pool(math.tointeger(tonumber(s)), math.tointeger(tonumber(c)), path) end
  end
  return t
end

--- The pools of host ids: {uid = {{start, count}, ...}, gid = {...}, from = where}.
function M.pools()
  local uid, gid = subids("/etc/subuid", "luac-ctr"), subids("/etc/subgid", "luac-ctr")
  if #uid > 0 and #gid > 0 then return { uid = uid, gid = gid, from = "/etc/subuid, /etc/subgid" } end
  local r = M.config().userns_range
  if r then
    local s, c = r:match("^(%d+):(%d+)$")
    local p = check_pool(math.tointeger(tonumber(s)), math.tointeger(tonumber(c)), M.config_path() .. " userns_range")
    return { uid = { p }, gid = { p }, from = M.config_path() }
  end
  local p = { start = M.DEFAULT_START, count = M.DEFAULT_COUNT }
  return { uid = { p }, gid = { p }, from = "the default range" }
end

-- Slot k (0-based) of a pool list: the start of its 65536 ids, or nil.
local function slot_start(list, k)
  for _, p in ipairs(list) do
    local n = p.count // M.SIZE
    if k < n then return p.start + k * M.SIZE end
    k = k - n
  end
  return nil
end

local function db_path() return state.dir("userns.json") end

-- fn() holding the lock "userns" (released on error too).
local function locked(fn)
  local lock = errors.check(state.lock("userns"))
  local r = table.pack(pcall(fn))
  lock:unlock()
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

local function load_db()
  local db = state.read_json(db_path())
  if type(db) ~= "table" or type(db.slots) ~= "table" then db = { slots = {} } end
  return db
end

-- Drop the records of containers that no longer exist (crash-safe reclaim).
local function reclaim(db)
  for k, cid in pairs(db.slots) do
    if type(cid) ~= "string" or not core.exists(state.dir("containers", cid)) then db.slots[k] = nil end
  end
end

--- Allocate a fresh range for container cid (its directory must exist).
-- Returns {uid = {{containerID=0, hostID=, size=}}, gid = {...}}; raises a
-- "conflict" error when every range of the pool is in use.
function M.allocate(cid)
  local pools = M.pools()
  return locked(function()
    local db = load_db()
    reclaim(db)
    for k = 0, math.huge do
      local u, g = slot_start(pools.uid, k), slot_start(pools.gid, k)
      if not u or not g then break end
      if not db.slots[tostring(k)] then
        db.slots[tostring(k)] = cid
        state.write_json(db_path(), db)
        return {
          uid = { { containerID = 0, hostID = u, size = M.SIZE } },
          gid = { { containerID = 0, hostID = g, size = M.SIZE } },
        }
      end
    end
    errors.throw("conflict", "no free user namespace range: every 65536-id range of %s is in use", pools.from)
  end)
end

--- Release the range of container cid (nothing when it has none).
function M.release(cid)
  locked(function()
    local db = load_db()
    local changed = false
    for k, owner in pairs(db.slots) do
      if owner == cid then db.slots[k] = nil; changed = true end
    end
    if changed then state.write_json(db_path(), db) end
  end)
end

--- The ranges in use: {[host uid start] = container id}.
function M.in_use()
  local pools = M.pools()
  local t = {}
  for k, cid in pairs(load_db().slots) do
    local s = slot_start(pools.uid, math.tointeger(tonumber(k)) or -1)
    if s then t[s] = cid end
  end
  return t
end

--- Parse explicit mappings ("CONTAINER:HOST:SIZE" strings, as --uidmap);
-- what names the option in errors. Returns {{containerID, hostID, size}};
-- raises "invalid" on bad numbers, overlapping entries or container id 0
-- not mapped.
function M.parse_map(list, what)
  local t, root = {}, false
  if #list > M.MAX_ENTRIES then errors.throw("invalid", "too many %s entries (at most %d)", what, M.MAX_ENTRIES) end
  for _, s in ipairs(list) do
    local c, h, n = tostring(s):match("^(%d+):(%d+):(%d+)$")
    c, h, n = math.tointeger(tonumber(c)), math.tointeger(tonumber(h)), math.tointeger(tonumber(n))
    if not c or n < 1 or c + n - 1 > M.MAX_ID or h + n - 1 > M.MAX_ID then
      errors.throw("invalid", "bad %s %s: CONTAINER:HOST:SIZE, ids below 2^32-1", what, errors.quote(tostring(s)))
    end
    for _, o in ipairs(t) do
      if c < o.containerID + o.size and o.containerID < c + n or h < o.hostID + o.size and o.hostID < h + n then
        errors.throw("invalid", "bad %s %s: overlaps another entry", what, errors.quote(s))
      end
    end
    if c == 0 then root = true end
    t[#t + 1] = { containerID = c, hostID = h, size = n }
  end
  if not root then errors.throw("invalid", "bad %s: container id 0 must be mapped", what) end
  return t
end

--- The host id that container id `id` maps to in map (nil: unmapped).
function M.host_id(map, id)
  for _, e in ipairs(map or {}) do
    if id >= e.containerID and id < e.containerID + e.size then return e.hostID + id - e.containerID end
  end
  return nil
end

--- The user namespace of a new container from its options: o.userns
-- ("auto", "host" or nil: the config file's `userns =`, default host),
-- o.uidmap / o.gidmap (lists of CONTAINER:HOST:SIZE). Returns nil (host)
-- or {mode = "auto"|"explicit", uid = map or nil, gid = map or nil}; the
-- maps of "auto" come later from M.allocate. Raises "invalid".
function M.mode(o)
  local mode = o.userns
  if o.uidmap or o.gidmap then
    if mode and mode ~= "" and mode ~= "private" then
      errors.throw("invalid", "--uidmap/--gidmap and --userns=%s do not go together", mode)
    end
    local u = M.parse_map(o.uidmap or o.gidmap, "--uidmap")
    local g = M.parse_map(o.gidmap or o.uidmap, "--gidmap")
    return { mode = "explicit", uid = u, gid = g }
  end
  mode = mode or M.config().userns or "host"
  if mode == "host" or mode == "" then return nil end
  if mode == "auto" then return { mode = "auto" } end
  errors.throw("invalid", "bad --userns %s: auto or host", errors.quote(mode))
end

--- The container id that host id h maps from in map (nil: unmapped).
function M.container_id(map, h)
  for _, e in ipairs(map or {}) do
    if h >= e.hostID and h < e.hostID + e.size then return e.containerID + h - e.hostID end
  end
  return nil
end

--- Shift the owners of every file below dir (a copy of a user namespace
-- container's upper directory, for commit) from the host ids of rec
-- (state.userns: {uid = map, gid = map}) back to the container's ids, so
-- the layer holds the ids the container saw. Symlinks are not followed;
-- setuid/setgid bits, which chown clears, are put back; each inode once.
function M.unshift_tree(dir, rec)
  local seen, stack = {}, { dir }
  while #stack > 0 do
    local path = table.remove(stack)
    local st = errors.checkf("lstat " .. path, core.lstat(path))
    local key = st.dev .. ":" .. st.ino
    if not seen[key] then
      seen[key] = true
      local u, g = M.container_id(rec.uid, st.uid), M.container_id(rec.gid, st.gid)
      if u or g then
        errors.checkf("chown " .. path, core.lchown(path, u or -1, g or -1))
        if st.mode & 3072 ~= 0 and st.type ~= "link" then -- 06000
          errors.checkf("chmod " .. path, core.chmod(path, st.mode))
        end
      end
      if st.type == "dir" then
        for _, name in ipairs(errors.checkf("readdir " .. path, core.readdir(path))) do
          stack[#stack + 1] = path .. "/" .. name
        end
      end
    end
  end
end

--- Check the user namespace options of a new container against its other
-- options (o.privileged, network mode net). Returns what M.mode returns;
-- raises "invalid" for --privileged or --network host with a user namespace.
function M.for_create(o, net)
  local uns = M.mode(o)
  if not uns then return nil end
  if o.privileged then errors.throw("invalid", "--privileged needs --userns=host") end
  if net == "host" then errors.throw("invalid", "--network host needs --userns=host (its sysfs belongs to the host)") end
  if uns.mode == "explicit" then
    local pools = M.pools()
    for _, k in ipairs({ "uid", "gid" }) do
      for _, e in ipairs(uns[k]) do
        for _, p in ipairs(pools[k]) do
          if e.hostID < p.start + p.count and p.start < e.hostID + e.size then
            errors.throw("invalid", "--%smap %d:%d:%d: host ids %d-%d are kept for --userns=auto (%s)", k, e.containerID,
              e.hostID, e.size, p.start, p.start + p.count - 1, pools.from)
          end
        end
      end
    end
  end
  return uns
end

--- The "CONTAINER:HOST:SIZE" strings of a map (podman's IDMappings entries).
function M.map_strings(map)
  local t = {}
  for _, e in ipairs(map or {}) do t[#t + 1] = ("%d:%d:%d"):format(e.containerID, e.hostID, e.size) end
  return t
end

--- What inspect shows of a container's recorded user namespace (state.userns),
-- as podman: HostConfig.UsernsMode ("private" for a user namespace of its
-- own: auto, --uidmap, rootless; "" for the host's) and HostConfig.IDMappings
-- ({UidMap = {"CONTAINER:HOST:SIZE", ...}, GidMap = ...}; nil, so absent,
-- for the host's).
function M.inspect(rec)
  if not rec then return "", nil end
  return "private", { UidMap = M.map_strings(rec.uid), GidMap = M.map_strings(rec.gid) }
end

--- Give path (a directory made for the container: its /, a new volume) to
-- the container's root: chown to the host ids its uid/gid 0 map to.
function M.give(path, maps)
  local hu, hg = M.host_id(maps.uid, 0), M.host_id(maps.gid, 0)
  errors.checkf("give " .. path .. " to the container's root", core.chown(path, hu or -1, hg or -1))
end

--- Refuse volumes asking for an idmapped mount ("idmap") without a user
-- namespace (uns nil).
function M.check_volumes(volumes, uns)
  for _, v in ipairs(volumes) do
    if v.idmap and not uns then
      errors.throw("invalid", "volume %s: idmap needs a user namespace (--userns=auto or --uidmap)", errors.quote(v.source))
    end
  end
end

--- The maps of a new container (directory dir, id cid) with user namespace
-- uns (from M.for_create): allocated when auto, and the upper directory (the
-- container's "/") given to the container's root. Returns {mode, uid, gid}.
function M.setup(uns, cid, dir)
  local maps = uns
  if uns.mode == "auto" then maps = M.allocate(cid) end
  M.give(dir .. "/upper", maps) -- the container's "/"
  return { mode = uns.mode, uid = maps.uid, gid = maps.gid }
end

return M
