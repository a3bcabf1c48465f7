--- ctr.container.store: where containers live and how they are found,
-- saved and locked.
--
-- A container lives in <root>/containers/<id>/: config.json (the OCI config),
-- state.json, container.log (docker json-file lines), upper/ and work/ (its
-- overlayfs layer), rootfs/ (the mount point, used only inside its own mount
-- namespace), and its hostname, hosts and resolv.conf files.
--
-- Names are indexed in <root>/names/: names/<name> is a symlink whose text
-- is the id of the container that has the name (read with readlink, never
-- followed; anything but 64 hex digits is ignored). An entry is made
-- before the container's state.json (create) or its new name (rename) is
-- written, and removed after the container or its old name is gone, so
-- every container has the entry of its name; an entry whose container is
-- missing or has another name (a crash between the two) is stale: ignored
-- by lookups and replaced by the next claim of the name, under the global
-- lock. A creation claims a free name holding the global lock shared
-- (try_claim: symlink(2) makes the entry only where there is none, so of
-- two claims of a name one fails), a removal releases it the same way
-- (release_name): a stale entry is replaced only under the exclusive lock,
-- so neither can interleave with a replacement. A root without names/
-- (made before the index) gets it built from the containers, once, under
-- the global lock (ensure_index).
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"
local json = require "ctr.json"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

--- The path of container id's directory, or of a file in it:
-- store.dir(id, "state.json").
function M.dir(id, ...) return state.dir("containers", id, ...) end
local cdir = M.dir

--- Load a container by its full id; nil, err when it has no readable state.
function M.load(id) return object.load(id) end

--- Every container (in no particular order); one whose state is missing
-- or unreadable is listed as dead (ctr.dead), once no creation can be in
-- progress. keys (optional, a set {name = true, ...}): only those fields
-- of each state are decoded, for a listing that reads no other (ps).
function M.list(keys)
  local dir = state.dir("containers")
  local names = core.readdir(dir) or {}
  -- every state.json read relative to one open of the directory, and
  -- decoded there when it is plain
  local values, infos = json.read_under(dir, names, "state.json", keys)
  local out = {}
  for i, id in ipairs(names) do
    local c, err
    if values then
      c, err = object.from_read(id, values[i], infos[i], keys, dir .. "/" .. id) -- (state.dir("containers", id))
    else
      c, err = M.load(id) -- the directory is gone: as each load finds it
    end
    if not c then c = require("ctr.dead").load(id, err) end
    if c then out[#out + 1] = c end
  end
  return out
end

local function names_dir() return state.dir("names") end

--- Build the name index from the containers when the root has none yet
-- (taking the global lock: never while holding it shared).
function M.ensure_index()
  if core.exists(names_dir()) then return end
  state.with_lock(function()
    if core.exists(names_dir()) then return end
    local tmp = state.mktemp("names")
    for _, c in ipairs(M.list()) do
      local n = c.state.name
      if state.valid_name(n) then core.symlink(c.id, tmp .. "/" .. n) end -- a duplicate keeps the first
    end
    local ok, err, e = core.rename(tmp, names_dir())
    if not ok then core.remove_all(tmp) end
    state.release_temp(tmp)
    if not ok and not core.exists(names_dir()) then errors.check(nil, "cannot make " .. names_dir() .. ": " .. err, e) end
  end)
end

-- The id names/<name> holds, or nil (no entry, or not an id).
local function entry(name)
  local id = state.valid_name(name) and core.readlink(names_dir() .. "/" .. name)
  return id and #id == 64 and id:match("^%x+$") and id or nil
end

-- The container (dead ones too) of id, when it exists and is called name.
local function named(id, name)
  local c, err = M.load(id)
  if not c then c = require("ctr.dead").load(id, err) end
  if c and c.state.name == name then return c end
end

--- The container named name, if any: one readlink of the name index and
-- one read of that container's state.
function M.by_name(name)
  if not state.valid_name(name) then return nil end
  M.ensure_index()
  local id = entry(name)
  return id and named(id, name) or nil
end

--- Make name's index entry point to id (under the global lock, once
-- by_name(name) found no container: a stale entry is replaced). Raises a
-- system error when it cannot be written.
function M.claim_name(name, id)
  M.ensure_index()
  local path = names_dir() .. "/" .. name
  core.unlink(path)
  errors.checkf("cannot record the name " .. name, core.symlink(id, path))
end

--- Make name's index entry point to id when it has none (holding the
-- global lock, shared or not; the index exists: ensure_index). Returns
-- true, or false when the name has an entry (a container of that name or
-- a stale entry: then by_name and claim_name under the exclusive lock);
-- raises a system error when it cannot be written.
function M.try_claim(name, id)
  local ok, err, e = core.symlink(id, names_dir() .. "/" .. name)
  if not ok and e == core.errno.EEXIST then return false end
  return errors.checkf("cannot record the name " .. name, ok, err, e)
end

--- Remove name's index entry if it still points to id (holding the global
-- lock, shared or not: only a claim under the exclusive lock replaces an
-- entry, so none can change it between the read and the unlink).
function M.release_name(name, id)
  if entry(name) == id then core.unlink(names_dir() .. "/" .. name) end
end

-- get, with the kind of error when there is no single match: a full id,
-- then a name (the index), then an id prefix (directory names; only the
-- matching containers are read).
local function find(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "no container given", "invalid" end
  if #ref == 64 and ref:match("^%x+$") then
    local c = M.load(ref)
    if c then return c end
  end
  local c = M.by_name(ref)
  if c then return c end
  local by_prefix = {}
  if ref:match("^%x+$") then
    for _, id in ipairs(core.readdir(state.dir("containers")) or {}) do
      if id:sub(1, #ref) == ref then
        local err
        c, err = M.load(id)
        if not c then c = require("ctr.dead").load(id, err) end
        if c then by_prefix[#by_prefix + 1] = c end
      end
    end
  end
  if #by_prefix == 1 then return by_prefix[1] end
  if #by_prefix > 1 then
    return nil, ("multiple containers match prefix %s: give more characters"):format(ref), "invalid"
  end
  return nil, ("no such container: %s"):format(ref), "not_found"
end

--- Find a container by full id, name or unique id prefix.
-- Returns the container, or nil and a message ("no such container: x",
-- "multiple containers match prefix x").
function M.get(ref)
  local c, err = find(ref)
  return c, err
end

--- Like get, but raises when there is no single match: exit code `code`
-- (default 125; the lifecycle workflows ps/stop/rm/... use 1, as docker).
function M.must_get(ref, code)
  local c, err, kind = find(ref)
  if not c then error(errors.new { kind = kind, code = code, msg = err }, 0) end
  return c
end

-- Save the state (holding the container's lock: no other write can land
-- between ours and the fingerprint taken after it).
function Container:_save()
  local path = cdir(self.id, "state.json")
  state.write_json(path, self.state, { durable = not self.state.auto_remove })
  self._seen = object.fingerprint(path)
end

-- Run fn(...) holding the container's own lock (<dir>/lock, a state.lock_path
-- lock: re-entrant in a process), with self:refresh()ed state. Starting,
-- recording an exit and removing take it, so they never interleave. Raises
-- "no such container" (exit 1) when the container was removed meanwhile.
-- Returns fn's results.
function Container:_locked(fn, ...)
  local l = state.lock_path(cdir(self.id, "lock"))
  if not l or (l.first and not core.exists(self.dead and self.dir or cdir(self.id, "state.json"))) then
    if l then l:unlock() end
    error(errors.new { kind = "not_found", code = 1, msg = "no such container: " .. (self.state.name or self.id) }, 0)
  end
  self:refresh()
  local res = table.pack(pcall(fn, ...))
  l:unlock()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

return M
