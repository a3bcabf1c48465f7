--- ctr.container.remove: removing a container (its cgroup, network
-- attachment and directory), and what is left of one whose creation never
-- finished.
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"
local hooks = require "ctr.hooks"
local object = require "ctr.container.object"
local check = require "ctr.check"
local store = require "ctr.container.store"

local M = {}
local Container = object.Container

-- Detach every mount below dir, deepest first.
local function umount_below(dir)
  local mounts = {}
  for line in io.lines("/proc/self/mountinfo") do
    local mp = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and mp:sub(1, #dir + 1) == dir .. "/" then mounts[#mounts + 1] = mp end
  end
  table.sort(mounts, function(a, b) return #a > #b end)
  for _, mp in ipairs(mounts) do core.umount2(mp, "detach") end
end

--- Remove the container: its cgroup, network attachment and directory.
-- A running container is refused unless opts.force (then it is killed
-- first). opts.volumes: its anonymous volumes go too (docker rm -v),
-- unless another container uses them. Safe to call again after a failure
-- part way.
function Container:remove(opts)
  check.self(self, Container, "remove")
  opts = check.api("Container:remove", opts)
  local force = opts.force
  local hok, herr = true, nil
  for _ = 1, 10 do
    if self:status() == "restarting" then
      if not force then
        errors.throw("conflict", "cannot remove restarting container %s: stop the container before removing it or use -f", self.state.name)
      end
      self:_stopped_by_user()
    end
    if self:status() == "running" then
      if not force then
        errors.throw("conflict", "cannot remove running container %s: stop the container before removing it or use -f", self.state.name)
      end
      if hok then hok, herr = pcall(hooks.run, "prestop", self) end -- as stop does; a failure is raised after the removal
      local kok, kerr = pcall(self.kill, self, "KILL") -- it may be exiting already
      if not kok then errors.rethrow_interrupt(kerr) end
      self:_await_record(5)
    end
    -- under the container's lock: a concurrent start cannot slip in
    if self:_locked(self._remove_locked, self) then
      if opts.volumes and self.state.mounts then require("ctr.volume").remove_anonymous(self.state.mounts) end
      if not hok then error(herr, 0) end
      return true
    end
  end
  errors.throw("conflict", "cannot remove container %s: it keeps being started again", self.state.name)
end

-- The removal proper (holding the container's lock): false when the
-- container is running (again). Each step can be repeated: a failure part
-- way leaves the container listed, and the next remove finishes the work.
function Container:_remove_locked()
  if self:status() == "running" then return false end
  local cgroup = require "ctr.cgroup"
  local g = cgroup.open(self.state.cgroup or ("luac-ctr/" .. self.id))
  if g then g:remove { force = true } end
  self:_detach_network()
  umount_below(self.dir) -- anything still mounted there (only after a crash) goes first
  -- out of containers/ in one step (nobody can take its lock any more),
  -- then deleted
  state.ensure()
  local trash = state.dir("tmp", "removed-" .. self.id)
  local dir = self.dir
  if core.rename(self.dir, trash) then dir = trash end
  local ok, err = core.remove_all(dir)
  if not ok and require("ctr.rootless").active() then ok, err = require("ctr.rootless").remove_all(dir) end
  if not ok then
    -- back under containers/ (remove_all fails before deleting anything
    -- when a mount is below), so that the next rm can finish the work
    if dir == trash then core.rename(trash, self.dir) end
    errors.throw("system", "removing %s: %s", dir, err)
  end
  if self.state.userns then require("ctr.userns").release(self.id) end
  require("ctr.eventlog").container(self, "destroy")
  return true
end

--- Remove the directory (and any cgroup) of a container whose creation
-- never finished: a crash between making its directory and writing its
-- state.json. ref: its full id or a unique id prefix. Returns true; raises
-- not_found when no such incomplete container exists (invalid when the
-- prefix matches several).
function M.remove_incomplete(ref)
  if type(ref) ~= "string" or not ref:match("^%x+$") then errors.throw("not_found", "no such container: %s", tostring(ref)) end
  -- create holds the global lock from mkdir to state.json: never a creation in progress
  return state.with_lock(function()
    local found = {}
    for _, id in ipairs(core.readdir(state.dir("containers")) or {}) do
      if id:sub(1, #ref) == ref and not core.exists(store.dir(id, "state.json")) then found[#found + 1] = id end
    end
    if #found == 0 then errors.throw("not_found", "no such container: %s", ref) end
    if #found > 1 then errors.throw("invalid", "multiple containers match prefix %s: give more characters", ref) end
    local cgroup = require "ctr.cgroup"
    local g = cgroup.open("luac-ctr/" .. found[1])
    if g then pcall(g.remove, g, { force = true }) end
    local ok, err = core.remove_all(store.dir(found[1]))
    if not ok then errors.throw("system", "removing %s: %s", store.dir(found[1]), err) end
    return true
  end)
end

return M
