--- ctr.container.pause: docker pause / unpause: Container:pause,
-- Container:unpause, Container:paused. The container's cgroup is frozen
-- through ctr.freezer (v1 freezer.state or v2 cgroup.freeze); the pause is
-- recorded in its state (state.paused = the pid that was frozen), so ps and
-- inspect show it without reading the cgroup, and a later start is never
-- taken for paused.
local errors = require "ctr.errors"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

--- Whether the container is running and paused.
function Container:paused()
  local st = self.state
  return st.paused ~= nil and st.paused == st.pid and self:status() == "running"
end

--- Freeze every process of the running container (docker pause). Raises
-- not_running, or conflict when it is paused already; a freeze that does
-- not take (ctr.commit.freeze's checks) is thawed again and raised.
-- Returns nothing.
function Container:pause()
  return self:_locked(function()
    if self:status() ~= "running" then errors.throw("not_running", "Container %s is not running", self.id) end
    if self:paused() then errors.throw("conflict", "Container %s is already paused", self.id) end
    require("ctr.commit").freeze(self) -- its thaw is unpause
    self.state.paused = self.state.pid
    self:_save()
    require("ctr.eventlog").container(self, "pause")
  end)
end

--- Thaw the container's processes (docker unpause). Raises not_running
-- or conflict when it is not paused.
function Container:unpause()
  return self:_locked(function()
    if self:status() ~= "running" then errors.throw("not_running", "Container %s is not running", self.id) end
    if not self:paused() then errors.throw("conflict", "Container %s is not paused", self.id) end
    self:_thaw()
    self.state.paused = nil
    self:_save()
    require("ctr.eventlog").container(self, "unpause")
  end)
end

-- Write the thawed state to the container's freezer (raises on failure).
function Container:_thaw()
  local freezer = require "ctr.freezer"
  local g, err = require("ctr.cgroup").open(self.state.cgroup or ("luac-ctr/" .. self.id))
  if not g then errors.throw("system", "cannot thaw container %s: %s", self.state.name, err) end
  local fz, ferr = freezer.of(g)
  if not fz then errors.throw("system", "cannot thaw container %s: %s", self.state.name, ferr) end
  local ok, werr = freezer.set(fz, false)
  if not ok then errors.throw("system", "cannot thaw container %s: %s", self.state.name, werr) end
end

--- Thaw a paused container before it is signalled (stop, kill, rm -f do):
-- a frozen process would not act on the signal.
function Container:_thaw_paused()
  if self:paused() then self:unpause() end
end

return M
