--- ctr.errors: errors that carry an exit code.
--
-- The high-level API raises errors; workflows turn them into one line on
-- stderr and docker's exit codes: 125 for errors before the command runs
-- (bad input, unknown container...), 126 when the command cannot be
-- executed, 127 when it is not found.
local M = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.msg end

--- Raise an error with an exit code: errors.raise(125, "no such container: %s", name).
function M.raise(code, fmt, ...)
  local msg = select("#", ...) > 0 and string.format(fmt, ...) or fmt
  error(setmetatable({ code = code, msg = msg }, Error), 0)
end

--- Make an error value without raising it.
function M.new(code, msg)
  return setmetatable({ code = code, msg = msg }, Error)
end

--- The message of any error value (string, table with msg, or other).
function M.message(e)
  if type(e) == "table" and e.msg then return e.msg end
  return tostring(e)
end

--- The exit code an error value asks for (default: def or 125).
function M.code(e, def)
  if type(e) == "table" and math.type(e.code) == "integer" then return e.code end
  return def or 125
end

--- Run fn(...) for a workflow: on error print "luac-ctr: <message>" on
-- stderr and exit with the error's code (125 unless it carries one). With
-- LUAC_CTR_DEBUG=1 a traceback is printed too. Returns fn's results.
function M.main(fn, ...)
  local res = table.pack(xpcall(fn, function(e)
    if os.getenv("LUAC_CTR_DEBUG") == "1" then
      io.stderr:write(debug.traceback(M.message(e), 2), "\n")
    end
    return e
  end, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  io.stderr:write("luac-ctr: ", M.message(res[2]), "\n")
  io.stderr:flush()
  os.exit(M.code(res[2]))
end

--- Apply fn to each item of a list, as docker's multi-container commands
-- do: every item is tried; fn's result is printed on stdout (nil: the item
-- itself, false: nothing); a failure prints "luac-ctr: <message>" on stderr
-- and the workflow exits 1 at the end. Returns when all succeeded.
function M.each(list, fn)
  local failed = false
  for _, item in ipairs(list) do
    local ok, res = pcall(fn, item)
    if ok then
      if res ~= false then io.stdout:write(tostring(res == nil and item or res), "\n") end
      io.stdout:flush()
    else
      failed = true
      io.stderr:write("luac-ctr: ", M.message(res), "\n")
    end
  end
  if failed then os.exit(1) end
end

return M
