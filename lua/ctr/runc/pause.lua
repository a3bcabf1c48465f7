--- luac-runc pause ID / resume ID: freeze or thaw every process of a
-- running container's cgroup (v1 freezer.state, v2 cgroup.freeze); the
-- state then says "paused" until resume. pause waits (at most 5 s) for the
-- freeze to complete.
local core = require "ctr.core"
local errors = require "ctr.errors"
local freezer = require "ctr.freezer"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

local M = {}

M.TIMEOUT = 5

function M.set(ctx, args, frozen)
  local name = frozen and "pause" or "resume"
  local _, pos = runc.parse(args, {}, name)
  local st = store.load(ctx, runc.id_arg(pos, name))
  local status = store.status(ctx, st)
  if frozen and status ~= "running" then errors.raise(1, "container %s is not running (%s)", st.id, status) end
  if not frozen and status ~= "paused" then errors.raise(1, "container %s is not paused (%s)", st.id, status) end
  local fz, ferr = store.freezer(st)
  if not fz then errors.raise(1, "cannot %s container %s: %s", name, st.id, ferr) end
  local ok, err = freezer.set(fz, frozen)
  if not ok then errors.raise(1, "cannot %s container %s: %s", name, st.id, err) end
  if not frozen then return 0 end
  local deadline = core.clock("monotonic") + M.TIMEOUT
  while not freezer.frozen(fz) do
    if core.clock("monotonic") > deadline then
      freezer.set(fz, false)
      errors.raise(1, "cannot pause container %s: the freeze did not complete in %d s", st.id, M.TIMEOUT)
    end
    core.sleep(0.01)
  end
  return 0
end

return setmetatable(M, { __call = function(_, ctx, args) return M.set(ctx, args, true) end })
