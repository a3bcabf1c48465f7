--- ctr.container.store: where containers live and how they are found,
-- saved and locked.
--
-- A container lives in <root>/containers/<id>/: config.json (the OCI config),
-- state.json, container.log (docker json-file lines), upper/ and work/ (its
-- overlayfs layer), rootfs/ (the mount point, used only inside its own mount
-- namespace), and its hostname, hosts and resolv.conf files.
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"
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
-- or unreadable is listed as dead (ctr.dead), once no creation can be in progress.
function M.list()
  local names = core.readdir(state.dir("containers")) or {}
  local out = {}
  for _, id in ipairs(names) do
    local c, err = M.load(id)
    if not c then c = require("ctr.dead").load(id, err) end
    if c then out[#out + 1] = c end
  end
  return out
end

-- get, with the kind of error when there is no single match.
local function find(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "no container given", "invalid" end
  if #ref == 64 and ref:match("^%x+$") then
    local c = M.load(ref)
    if c then return c end
  end
  local by_prefix = {}
  for _, c in ipairs(M.list()) do
    if c.state.name == ref then return c end
    if ref:match("^%x+$") and c.id:sub(1, #ref) == ref then by_prefix[#by_prefix + 1] = c end
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

--- The container named name, if any.
function M.by_name(name)
  for _, c in ipairs(M.list()) do
    if c.state.name == name then return c end
  end
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
