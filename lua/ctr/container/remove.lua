--- ctr.container.remove: removing a container (its cgroup, network
-- attachment and directory), and what is left of one whose creation never
-- finished.
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"
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

-- SIGKILL to each running container of list (prestop hooks first, unless
-- no_hooks), then one wait on all their pidfds (no polling: a pidfd is
-- readable once its process is gone), then for their exits' records.
-- Returns c -> {hok, herr} for the containers signalled.
local function kill_all(list, no_hooks)
  local hooked, fds = {}, {}
  for _, c in ipairs(list) do
    if not c.dead and c:status() == "restarting" then c:_stopped_by_user() end
    if not c.dead and c:status() == "running" then
      local hok, herr = true, nil
      if not no_hooks then hok, herr = pcall(object.run_hooks, "prestop", c) end -- as stop does
      hooked[c] = { hok, herr }
      c:_thaw_paused()
      c:_stopped_by_user()
      local fd = c:_pidfd()
      if fd then
        require("ctr.eventlog").container(c, "kill", { signal = 9 }) -- first: its die may be recorded at once
        core.kill(fd, 9)
        fds[#fds + 1] = { fd, "in" }
      end
    end
  end
  local deadline = core.clock("monotonic") + 30
  while #fds > 0 and core.clock("monotonic") < deadline do
    local ready = core.poll(fds, math.max(1, math.floor((deadline - core.clock("monotonic")) * 1000))) or {}
    local gone = {}
    for _, r in ipairs(ready) do gone[r.fd] = true end
    local left = {}
    for _, f in ipairs(fds) do
      if gone[f[1]] then f[1]:close() else left[#left + 1] = f end
    end
    fds = left
  end
  for _, f in ipairs(fds) do f[1]:close() end
  for c in pairs(hooked) do c:_await_record(5) end
  return hooked
end

--- Remove the container: its cgroup, network attachment and directory.
-- A running container is refused unless opts.force (then it is killed
-- first). opts.volumes: its anonymous volumes go too (docker rm -v),
-- unless another container uses them. Safe to call again after a failure
-- part way.
function Container:remove(opts)
  check.self(self, Container, "remove")
  opts = check.api("Container:remove", opts)
  return self:_remove(opts.force, opts.volumes, true, nil)
end

-- The removal; hok, herr: how the prestop hooks went when they ran
-- already (container.remove_all).
function Container:_remove(force, volumes, hok, herr)
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
      local h = kill_all({ self }, not hok)[self] -- a hook's failure is raised after the removal
      if h and hok then hok, herr = h[1], h[2] end
    end
    if self.state.auto_remove and self.state.status == "exited" and not core.exists(self.dir) then
      if not hok then error(herr, 0) end
      return true -- --rm: removed at its exit (its supervisor's _finish)
    end
    -- under the container's lock: a concurrent start cannot slip in
    if self:_locked(self._remove_locked, self) then
      self:_removed(volumes)
      if not hok then error(herr, 0) end
      return true
    end
  end
  errors.throw("conflict", "cannot remove container %s: it keeps being started again", self.state.name)
end

-- After the removal (the container's lock released): its name goes
-- (holding the global lock shared, taken after the container's lock: no
-- replacement of the entry can interleave, ctr.container.store), and with
-- volumes its anonymous volumes.
function Container:_removed(volumes)
  local name = self.state.name
  if state.valid_name(name) then state.with_shared_lock(store.release_name, name, self.id) end
  if volumes and self.state.mounts then require("ctr.volume").remove_anonymous(self.state.mounts) end
end

-- The directory dir deleted: first as it is (remove_all refuses, deleting
-- nothing, when a mount is below it), then, when that failed, once more
-- after detaching whatever is mounted below it (only after a crash).
local function delete_tree(dir)
  local ok, err = core.remove_all(dir)
  if not ok then
    umount_below(dir)
    ok, err = core.remove_all(dir)
  end
  if not ok and require("ctr.rootless").active() then ok, err = require("ctr.rootless").remove_all(dir) end
  return ok, err
end

-- The removal proper (holding the container's lock): false when the
-- container is running (again). Each step can be repeated: a failure part
-- way leaves the container listed, and the next remove finishes the work.
-- exited: the caller has just recorded its exit, releasing its cgroup and
-- network (ctr.container.lifecycle).
function Container:_remove_locked(exited)
  if not exited and self:status() == "running" then return false end
  if not exited or self._cgroup_left then
    local cgroup = require "ctr.cgroup"
    local g = cgroup.open(self.state.cgroup or ("luac-ctr/" .. self.id))
    if g then g:remove { force = true } end
  end
  if not exited then self:_detach_network() end
  -- out of containers/ in one step (nobody can take its lock any more),
  -- then deleted
  local trash = state.dir("tmp", "removed-" .. self.id)
  local dir = self.dir
  local moved, _, e = core.rename(self.dir, trash)
  if not moved and e == core.errno.ENOENT and core.exists(self.dir) then -- no <root>/tmp yet
    state.ensure()
    moved = core.rename(self.dir, trash)
  end
  if moved then dir = trash end
  local ok, err = delete_tree(dir)
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

--- Remove the containers of list (docker rm A B C): opts as
-- Container:remove. With force the running ones are killed at once and
-- waited for together (on their pidfds), then each is removed. Returns a
-- list: for each container, true or the error its removal raised.
function M.remove_all(list, opts)
  if type(list) ~= "table" then errors.throw("invalid", "container.remove_all: a list of containers expected") end
  opts = check.api("container.remove_all", opts)
  local hooked = opts.force and kill_all(list) or {}
  local res = {}
  for i, c in ipairs(list) do
    local h = hooked[c] or { true }
    local ok, err = pcall(c._remove, c, opts.force, opts.volumes, h[1], h[2])
    if not ok then errors.rethrow_interrupt(err) end
    res[i] = ok or err
  end
  return res
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
