--- ctr.errors: the one kind of error value the high-level API raises.
--
-- An error value is a table {kind=, msg=, code=, errno=} with a metatable
-- (tostring gives msg). `kind` says what went wrong, for scripts to branch on
-- with errors.is(e, kind):
--
-- | kind | meaning | exit code |
-- |---|---|---|
-- | invalid | bad input: an unknown option, a wrong type, a bad name | 125 |
-- | not_found | no such container, image, network, volume | 125 |
-- | conflict | the name is taken, the container is running, ... | 125 |
-- | not_running | the container is not running | 125 |
-- | timeout | a wait, run or exec ran out of time | 124 |
-- | interrupted | SIGINT (130) or SIGTERM (143) reached the script | 130/143 |
-- | system | the kernel or the filesystem said no (errno is set) | 125 |
--
-- The exit codes are docker's: 125 for errors before the command runs, 126
-- when the command cannot be executed, 127 when it is not found. The launcher
-- prints an uncaught error value as "luac-ctr: <msg>" and exits with its code,
-- so a workflow is plain top-level code. Primitives (ctr.core, ctr.net,
-- ctr.archive) return nil, msg, errno instead; errors.check turns that into an
-- error value.
local M = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.msg end
Error.__name = "ctr.error"

--- The exit code each kind gets when none is given.
M.CODES = {
  invalid = 125, not_found = 125, conflict = 125, not_running = 125,
  timeout = 124, interrupted = 130, system = 125,
}

local function fmt_msg(fmt, ...)
  if select("#", ...) > 0 then return string.format(fmt, ...) end
  return tostring(fmt)
end

--- Make an error value without raising it: errors.new{kind=, msg=, code=,
-- errno=}, or the older errors.new(code, msg). kind defaults to "system",
-- code to the kind's (see CODES).
function M.new(t, msg)
  if type(t) ~= "table" then t = { code = t, msg = msg } end
  local kind = t.kind or "system"
  if not M.CODES[kind] then error("errors.new: unknown kind " .. tostring(kind), 2) end
  return setmetatable({
    kind = kind, msg = tostring(t.msg or kind), errno = t.errno,
    code = math.type(t.code) == "integer" and t.code or M.CODES[kind],
  }, Error)
end

--- Raise an error value with an exit code: errors.raise(125, "no such
-- container: %s", name). Its kind is "system"; prefer errors.throw.
function M.raise(code, fmt, ...)
  error(M.new { code = code, msg = fmt_msg(fmt, ...) }, 0)
end

--- Raise an error value of a kind: errors.throw("not_found", "no such
-- container: %s", name). The exit code is the kind's (see CODES).
function M.throw(kind, fmt, ...)
  error(M.new { kind = kind, msg = fmt_msg(fmt, ...) }, 0)
end

--- True when e is an error value (of the given kind, when one is given).
function M.is(e, kind)
  if getmetatable(e) ~= Error then return false end
  return kind == nil or e.kind == kind
end

--- Re-raise e unchanged when it is an interrupt (kind "interrupted": SIGINT or
-- SIGTERM reached the script) and return nothing otherwise. Call it first in
-- any handler of a pcall that turns the caught error into something else (a
-- new message, a return value), so that Ctrl-C keeps its kind and exit code.
function M.rethrow_interrupt(e)
  if M.is(e, "interrupted") then error(e, 0) end
end

--- Turn a primitive's result into a value or a raise: errors.check(core.open(p))
-- returns the results when the first is not nil, else raises a "system" error
-- carrying msg and errno (prefixed with what, when given: errors.check(what, ...)
-- needs what to be a string and the primitive's results after it).
function M.check(v, msg, errno, ...)
  if v ~= nil then return v, msg, errno, ... end
  error(M.new { kind = "system", msg = msg or "failed", errno = errno }, 0)
end

--- Like check, with "what: " before the primitive's message:
-- errors.checkf("open " .. p, core.open(p, "rdonly")).
function M.checkf(what, v, msg, errno, ...)
  if v ~= nil then return v, msg, errno, ... end
  error(M.new { kind = "system", msg = what .. ": " .. tostring(msg or "failed"), errno = errno }, 0)
end

--- An error value for anything caught by pcall: error values as they are,
-- strings and other values as a "system" error (code 1 for a plain Lua
-- error, as the launcher gives it).
function M.from(e)
  if M.is(e) then return e end
  if type(e) == "table" and (e.msg or e.exit) then
    return M.new { msg = e.msg or "", code = e.code or e.exit }
  end
  return M.new { msg = tostring(e), code = 1 }
end

--- The message of any error value (string, table with msg, or other).
function M.message(e)
  if type(e) == "table" and e.msg then return e.msg end
  return tostring(e)
end

--- The exit code an error value asks for (default: def or 125).
function M.code(e, def)
  if type(e) == "table" and math.type(e.code) == "integer" then return e.code end
  if type(e) == "table" and math.type(e.exit) == "integer" then return e.exit end
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
    if not ok then M.rethrow_interrupt(res) end
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
