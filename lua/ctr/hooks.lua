--- ctr.hooks: lifecycle hooks.
--
-- Users register functions in their init.lua (`~/.config/luac-ctr/init.lua`):
--
--   local hooks = require "ctr.hooks"
--   hooks.on("poststart", function(c) print("started " .. c.id) end)
--
-- The container code calls `hooks.run("prestart", container)` and so on.
-- Events used by luac-ctr: "prestart", "poststart", "prestop", "poststop";
-- any string is accepted, so workflows can define their own events.
--
-- Where they run: prestart in the process that starts the container;
-- poststart in the caller (`run -d` too: after the supervisor reported the
-- start, so its output reaches the caller's terminal); prestop in the
-- caller of stop, and of rm -f when the container runs; poststop in the
-- process that records the exit: the caller for a foreground run, the
-- supervisor of a detached container, whose stdout and stderr are the
-- file hooks.log in the container's state directory (<root>/containers/<id>/).
local errors = require "ctr.errors"

local M = {}

local registry = {} -- event -> list of functions, in registration order

local function check_event(event)
  if type(event) ~= "string" or event == "" then
    errors.throw("invalid", "bad hook event (non-empty string expected, got %s)",
      type(event) == "string" and "empty string" or type(event))
  end
end

local function callable(fn)
  if type(fn) == "function" then return true end
  local mt = getmetatable(fn)
  return type(mt) == "table" and mt.__call ~= nil
end

--- Register fn to run on event (after the functions already registered).
-- @param event string: "prestart", "poststart", "prestop", "poststop", or any name
-- @param fn function called as fn(...) with the arguments given to hooks.run
-- @return fn (so it can be removed later with hooks.off)
function M.on(event, fn)
  check_event(event)
  if not callable(fn) then
    errors.throw("invalid", "bad hook for '%s' (function expected, got %s)", event, type(fn))
  end
  local list = registry[event]
  if not list then list = {}; registry[event] = list end
  list[#list + 1] = fn
  return fn
end

--- Remove fn from event's hooks (its first registration).
-- @return true if it was registered, false otherwise
function M.off(event, fn)
  check_event(event)
  local list = registry[event]
  if not list then return false end
  for i, f in ipairs(list) do
    if rawequal(f, fn) then
      table.remove(list, i)
      if #list == 0 then registry[event] = nil end
      return true
    end
  end
  return false
end

--- Run every hook registered for event, in order, with the given arguments.
-- A failing hook raises "hook 'EVENT' #N failed: MESSAGE" and the remaining
-- hooks do not run. Hooks registered or removed while running take effect
-- at the next run.
-- @return the number of hooks that ran
function M.run(event, ...)
  check_event(event)
  local list = registry[event]
  if not list then return 0 end
  local snapshot = table.move(list, 1, #list, 1, {})
  for i, fn in ipairs(snapshot) do
    local ok, err = pcall(fn, ...)
    io.stdout:flush() -- what a hook printed is out before a supervisor's _exit
    if not ok then
      errors.rethrow_interrupt(err) -- Ctrl-C keeps its kind and code
      errors.throw(errors.is(err) and err.kind or "system", "hook '%s' #%d failed: %s", event, i, errors.message(err))
    end
  end
  return #snapshot
end

--- The hooks registered for event (a new list), or with no event a table
-- {event = {fn, ...}} of every event that has hooks.
function M.list(event)
  if event == nil then
    local t = {}
    for ev, list in pairs(registry) do t[ev] = table.move(list, 1, #list, 1, {}) end
    return t
  end
  check_event(event)
  local list = registry[event] or {}
  return table.move(list, 1, #list, 1, {})
end

--- Remove the hooks of event, or of every event when event is nil.
function M.clear(event)
  if event == nil then
    registry = {}
  else
    check_event(event)
    registry[event] = nil
  end
end

return M
