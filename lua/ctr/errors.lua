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

local ESC = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r" }

-- one character of a message as printed: C0 controls and DEL as \n, \t, \r or
-- \xNN, C1 controls (U+0080..U+009F) as \u00NN, bytes that are not UTF-8 as
-- \xNN; other UTF-8 text as it is
local function escape_char(ch)
  if #ch == 1 then
    local b = ch:byte()
    if b < 0x20 or b == 0x7f then return ESC[ch] or ("\\x%02x"):format(b) end
    if b >= 0x80 then return ("\\x%02x"):format(b) end
    return ch
  end
  if ch:byte(1) == 0xc2 and ch:byte(2) < 0xa0 then return ("\\u%04x"):format(utf8.codepoint(ch)) end
  return ch
end

--- A message made safe to print as one line on a terminal: newlines, tabs,
-- escape sequences and other control characters are escaped (\n, \t, \xNN),
-- bytes that are not UTF-8 too (\xNN); a backslash-newline written by
-- string.format's %q becomes \n, and a final "\nSee 'luac-ctr X --help'."
-- becomes " (see 'luac-ctr X --help')". Every error line the workflows print
-- goes through here (launcher/main.c escapes its own lines the same way).
function M.oneline(msg)
  msg = tostring(msg):gsub("\\\n", "\n")
  -- docker's usage hint on a second line goes at the end of the one line
  msg = msg:gsub("\nSee '(luac%-ctr [%w%s-]*)'%.?$", " (see '%1')")
  if not msg:find("[%c\128-\255]") then return msg end
  local out, i, n = {}, 1, #msg
  while i <= n do
    local b = msg:byte(i)
    local seq = msg:sub(i, i + (b >= 0xf0 and 3 or b >= 0xe0 and 2 or b >= 0xc0 and 1 or 0))
    if #seq > 1 and utf8.len(seq) ~= 1 then seq = msg:sub(i, i) end
    out[#out + 1] = escape_char(seq)
    i = i + #seq
  end
  return table.concat(out)
end

--- A string quoted for a message on one line: "..." with the escapes of
-- oneline and \" and \\ (where %q would break the line at a newline).
function M.quote(s)
  return '"' .. M.oneline((tostring(s):gsub('[\\"]', "\\%0"))) .. '"'
end

--- Print "luac-ctr: <msg>" on stderr as one line (see oneline).
function M.report(msg)
  io.stderr:write("luac-ctr: ", M.oneline(M.message(msg)), "\n")
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
  io.stderr:write("luac-ctr: ", M.oneline(M.message(res[2])), "\n")
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
      io.stderr:write("luac-ctr: ", M.oneline(M.message(res)), "\n")
    end
  end
  if failed then os.exit(1) end
end

return M
