--- ctr.onexit: cleanups that run when the script ends, however it ends.
--
-- `ctr.on_exit(fn)` (the same as onexit.add) registers fn; the cleanups run
-- last registered first, each in a pcall (a failing one prints
-- "luac-ctr: on_exit: <msg>" and the others still run):
--
-- * when the script returns or ends with an error, an interrupt among them
--   (SIGINT/SIGTERM are errors: see core.interrupts), as the Lua state is
--   closed (the launcher and lua5.4 close it);
-- * when the script calls os.exit (which this module wraps) or errors.main
--   exits.
--
-- Only the process that registered them runs them: a forked child's exit
-- runs nothing. A second Ctrl-C during the cleanups ends the process at once.
local M = {}

local list = {}
local owner -- the pid that registered the cleanups
local sentinel -- its __gc runs them when the Lua state is closed

local function pid() return require("ctr.core").getpid() end

--- Run the registered cleanups now (last first) and forget them. Called by
-- os.exit, errors.main and the state's closing; a no-op in a forked child.
function M.run()
  if not owner or pid() ~= owner then
    list = {}
    return
  end
  while #list > 0 do
    local fn = table.remove(list)
    local ok, e = pcall(fn)
    if not ok then
      local errors = require "ctr.errors"
      io.stderr:write("luac-ctr: on_exit: ", errors.oneline(errors.message(e)), "\n")
    end
  end
end

local function install()
  owner = pid()
  sentinel = setmetatable({}, { __gc = function() M.run() end })
  local os_exit = os.exit
  -- luacheck: ignore 122 (os.exit is wrapped on purpose)
  os.exit = function(code, close)
    M.run()
    return os_exit(code, close)
  end
end

--- Register fn() to run when the script ends (see the module's doc); returns
-- fn, for onexit.cancel.
function M.add(fn)
  if type(fn) ~= "function" then
    require("ctr.errors").throw("invalid", "on_exit: a function expected, got %s", type(fn))
  end
  if not sentinel then install() end
  list[#list + 1] = fn
  return fn
end

--- Forget a cleanup registered with add (true when it was registered).
function M.cancel(fn)
  for i = #list, 1, -1 do
    if list[i] == fn then
      table.remove(list, i)
      return true
    end
  end
  return false
end

return M
