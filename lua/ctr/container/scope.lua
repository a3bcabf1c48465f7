--- ctr.container.scope: containers tied to the script's life.
--
--   local scope <close> = container.scope()
--   local web = scope:run { image = "busybox", cmd = {...}, detach = true }
--   ... -- web is removed (forced) when the block ends, errs or is interrupted
--
-- A scope removes its containers when it is closed: at the end of the
-- block of its <close> variable, by scope:close(), or when the script ends
-- (returns, fails, is interrupted or calls os.exit: see ctr.on_exit).
local errors = require "ctr.errors"
local onexit = require "ctr.onexit"
local lifecycle = require "ctr.container.lifecycle"

local M = {}
local Scope = {}
Scope.__index = Scope

--- A new scope (see the module's doc).
function M.scope()
  local s = setmetatable({ containers = {} }, Scope)
  s.cleanup = onexit.add(function() s:close() end)
  return s
end

local function check(self, what)
  if getmetatable(self) ~= Scope then
    errors.throw("invalid", "use scope:%s, not scope.%s", what, what)
  end
  if self.closed then errors.throw("invalid", "scope:%s: the scope is closed", what) end
end

--- Tie container c to the scope; returns c.
function Scope:add(c)
  check(self, "add")
  self.containers[#self.containers + 1] = c
  return c
end

--- container.run{...} with the container tied to the scope from its
-- creation on. Returns what container.run returns.
function Scope:run(o)
  check(self, "run")
  return lifecycle._run(o, function(c) self.containers[#self.containers + 1] = c end)
end

--- Remove (forced) every container of the scope, last first; a container
-- already removed is skipped. Closing twice is fine. Raises the first
-- failure after trying them all.
function Scope:close()
  if getmetatable(self) ~= Scope then errors.throw("invalid", "use scope:close, not scope.close") end
  if self.closed then return end
  self.closed = true
  onexit.cancel(self.cleanup)
  local first
  for i = #self.containers, 1, -1 do
    local c = self.containers[i]
    local ok, e = pcall(function()
      if require("ctr.core").exists(c.dir) then c:remove { force = true } end
    end)
    -- the first failure is raised, an interrupt before any other
    if not ok and (not first or (errors.is(e, "interrupted") and not errors.is(first, "interrupted"))) then first = e end
  end
  if first then error(first, 0) end
end

Scope.__close = Scope.close

return M
