--- ctr.volume: docker's volumes (driver "local"): named directories under
-- the state root that outlive the containers that mount them.
--
--   local volume = require "ctr.volume"
--   local v = volume.create { name = "pgdata", labels = { app = "db" } }
--   print(v.mountpoint)                 -- <root>/volumes/pgdata/_data
--   for _, x in ipairs(volume.list { filter = { dangling = "true" } }) do ... end
--   volume.get("pgdata"):remove()       -- refused while a container uses it
--   volume.prune { all = true }         -- every unused volume
--
-- A volume lives in <root>/volumes/NAME/: volume.json (its record, written
-- atomically) and _data/ (what containers see, bound through the same mount
-- path as -v HOST:CTR). A volume is made complete in <root>/tmp and renamed
-- into place, so a crash never leaves half a volume. Names are docker's:
-- [a-zA-Z0-9][a-zA-Z0-9_.-]+; an anonymous volume (no name) gets a 64-hex
-- id and docker's label com.docker.volume.anonymous. A volume is in use
-- while a container (running or not) records it in its mounts.
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"
local check = require "ctr.check"
local json = require "ctr.json"
local util = require "ctr.util"

local M = {}

--- The label docker puts on anonymous volumes (prune without `all` removes only these).
M.ANONYMOUS_LABEL = "com.docker.volume.anonymous"

--- The longest volume name accepted.
M.NAME_MAX = 200

local Volume = {}
Volume.__index = Volume
M.Volume = Volume

--- True when name is a valid local volume name (docker's rule).
function M.valid_name(name)
  return type(name) == "string" and #name >= 2 and #name <= M.NAME_MAX
    and name:match("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$") ~= nil
end

--- Raise docker's one-line error unless name is a valid volume name; what
-- prefixes the message (e.g. "create data!" or the -v value).
function M.check_name(name, what)
  if M.valid_name(name) then return name end
  errors.throw("invalid", "%s: %s includes invalid characters for a local volume name, only "
    .. '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    what or "create", errors.quote(tostring(name)))
end

--- The directory of volume name: <root>/volumes/NAME (or a path in it).
function M.dir(name, ...) return state.dir("volumes", name, ...) end

-- A Volume from its record (fields documented at M.get).
local function from_record(name, rec)
  local labels = type(rec.labels) == "table" and rec.labels or {}
  return setmetatable({
    name = name, driver = rec.driver or "local", labels = labels, created = rec.created,
    mountpoint = M.dir(name, "_data"), anonymous = labels[M.ANONYMOUS_LABEL] ~= nil,
  }, Volume)
end

--- The volume called name: a Volume with fields name, driver ("local"),
-- labels (a table), created (Unix seconds), mountpoint (its _data
-- directory on the host), anonymous (true for one made without a name).
-- Returns nil, "no such volume: NAME" when there is none.
function M.get(name)
  if not M.valid_name(name) then return nil, ("no such volume: %s"):format(tostring(name)) end
  local rec = state.read_json(M.dir(name, "volume.json"))
  if type(rec) ~= "table" then return nil, ("no such volume: %s"):format(name) end
  return from_record(name, rec)
end

--- get, raising not_found (exit 1) when there is no such volume.
function M.must_get(name)
  local v, err = M.get(name)
  if not v then errors.throw("not_found", "%s", err) end
  return v
end

-- Make the volume in <root>/tmp and rename it into place (the caller holds
-- the global lock). Returns the Volume.
local function make(name, labels)
  state.ensure()
  errors.checkf("cannot create " .. state.dir("volumes"), util.mkdir_p(state.dir("volumes"), 448))
  local tmp = state.mktemp("volume")
  local ok, err = pcall(function()
    errors.checkf("cannot create the volume's data directory", core.mkdir(tmp .. "/_data", 493))
    core.chmod(tmp .. "/_data", 493)
    core.chmod(tmp, 457) -- 0711: the containers' root may have to reach _data
    state.write_json(tmp .. "/volume.json", { name = name, driver = "local", labels = json.object(labels), created = util.now() })
    errors.checkf("cannot create volume " .. name, core.rename(tmp, M.dir(name)))
  end)
  if not ok then core.remove_all(tmp) end
  state.release_temp(tmp)
  if not ok then error(err, 0) end
  require("ctr.eventlog").record("volume", "create", name, { driver = "local" })
  return M.must_get(name)
end

--- Create a volume (docker volume create). o: name (default: an anonymous
-- volume named by a new 64-hex id), labels (a table of strings), driver
-- (only "local"). A volume that exists already is returned as it is
-- (docker's behaviour). Returns the Volume and true when it was made now.
function M.create(o)
  o = check.api("volume.create", o or {})
  if o.driver and o.driver ~= "local" then
    errors.throw("invalid", "volume driver %s is not supported (only local)", errors.quote(o.driver))
  end
  local labels = {}
  for k, v in pairs(o.labels or {}) do labels[k] = tostring(v) end
  local name = o.name
  if name == nil then
    name = state.new_id()
    labels[M.ANONYMOUS_LABEL] = ""
  end
  M.check_name(name, "create " .. tostring(name))
  return state.with_lock(function()
    local v = M.get(name)
    if v then return v, false end
    return make(name, labels), true
  end)
end

--- The containers that use each volume: {[name] = {container id, ...}}.
function M.users()
  local t = {}
  for _, c in ipairs(require("ctr.container.store").list()) do
    for _, m in ipairs(c.state and c.state.mounts or {}) do
      if m.Type == "volume" and m.Name then
        t[m.Name] = t[m.Name] or {}
        table.insert(t[m.Name], c.id)
      end
    end
  end
  return t
end

-- Does volume v match the filter {name =, label = (list or string),
-- dangling =, driver =}? users: M.users().
local function matches(v, f, users)
  if f.name and not v.name:find(f.name, 1, true) then return false end
  if f.driver and f.driver ~= v.driver then return false end
  if f.dangling ~= nil then
    local want = f.dangling == true or f.dangling == "true" or f.dangling == "1"
    if want ~= (users[v.name] == nil) then return false end
  end
  local labels = type(f.label) == "string" and { f.label } or f.label or {}
  for _, l in ipairs(labels) do
    local k, val = l:match("^([^=]+)=(.*)$")
    if k then
      if v.labels[k] ~= val then return false end
    elseif v.labels[l] == nil then return false end
  end
  return true
end

--- Every volume, sorted by name. o.filter: {name = substring, label =
-- "KEY" or "KEY=VALUE" (or a list of them, all must match), dangling =
-- "true"|"false" (used by no container), driver = "local"}.
function M.list(o)
  o = check.api("volume.list", o or {})
  local f = o.filter or {}
  local users = f.dangling ~= nil and M.users() or {}
  local names = core.readdir(state.dir("volumes")) or {}
  table.sort(names)
  local out = {}
  for _, name in ipairs(names) do
    local v = M.get(name)
    if v and matches(v, f, users) then out[#out + 1] = v end
  end
  return out
end

--- docker volume inspect's description: CreatedAt, Driver, Labels,
-- Mountpoint, Name, Options, Scope.
function Volume:inspect()
  check.self(self, Volume, "inspect", "v")
  return {
    CreatedAt = self.created and util.rfc3339(self.created) or "0001-01-01T00:00:00Z",
    Driver = self.driver, Labels = json.object(self.labels), Mountpoint = self.mountpoint,
    Name = self.name, Options = json.object({}), Scope = "local",
  }
end

-- Remove the volume's directory (the caller holds the global lock and
-- checked it is unused): out of volumes/ in one step, then deleted.
local function delete(v)
  local trash = state.dir("tmp", "deleted-volume-" .. v.name) -- ctr.gc: under the global lock only
  local dir = M.dir(v.name)
  if core.rename(dir, trash) then dir = trash end
  local ok, err = core.remove_all(dir)
  if not ok and require("ctr.rootless").active() then ok, err = require("ctr.rootless").remove_all(dir) end
  if not ok then errors.throw("system", "removing %s: %s", dir, err) end
  require("ctr.eventlog").record("volume", "destroy", v.name, { driver = "local" })
end

--- Remove the volume (docker volume rm). A volume a container uses (any
-- container, stopped ones too) is refused with docker's conflict
-- "remove NAME: volume is in use - [ids]". o.force: accepted (docker's -f
-- only ignores missing volumes; it never removes one in use). Returns true.
function Volume:remove(o)
  check.self(self, Volume, "remove", "v")
  check.api("Volume:remove", o or {})
  return state.with_lock(function()
    local ids = M.users()[self.name]
    if ids then errors.throw("conflict", "remove %s: volume is in use - [%s]", self.name, table.concat(ids, ", ")) end
    if not M.get(self.name) then errors.throw("not_found", "no such volume: %s", self.name) end
    delete(self)
    return true
  end)
end

--- Remove the volumes no container uses (docker volume prune): the
-- anonymous ones, or every one with o.all. o.filter as list's.
-- Returns the names removed and the bytes they held.
function M.prune(o)
  o = check.api("volume.prune", o or {})
  return state.with_lock(function()
    local users, removed, bytes = M.users(), {}, 0
    for _, v in ipairs(M.list { filter = o.filter }) do
      if not users[v.name] and (o.all or v.anonymous) then
        bytes = bytes + (core.du(v.mountpoint) or 0)
        delete(v)
        removed[#removed + 1] = v.name
      end
    end
    return removed, bytes
  end)
end

--- Remove the anonymous volumes in mounts (a container's recorded mounts)
-- that no container uses any more (rm -v, run --rm). Errors are ignored:
-- the volume stays, as docker leaves it.
function M.remove_anonymous(mounts)
  for _, m in ipairs(mounts or {}) do
    if m.Type == "volume" and m.Anonymous then
      local v = M.get(m.Name)
      if v then pcall(v.remove, v) end
    end
  end
end

return M
