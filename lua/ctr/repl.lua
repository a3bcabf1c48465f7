--- ctr.repl: the luac-ctr REPL (run by `luac-ctr` with no script, or `-i`).
--
-- Expressions print their values (tables pretty-printed by ctr.pretty),
-- statements run; an incomplete chunk keeps reading with the `...> ` prompt.
-- On a terminal: line editing, Tab completion of globals and fields (`ctr.co<Tab>`)
-- and persistent history (libedit, through the C module `ctr.readline`).
-- Without a terminal it reads lines from stdin with no prompts, so it can be scripted.
-- `help(fn_or_name)` prints the doc comment of a function of ctr.
local pretty = require "ctr.pretty"
local complete = require "ctr.repl.complete"
local doc = require "ctr.repl.doc"

local M = {}

--- The primary prompt.
M.prompt = "ctr> "
--- The continuation prompt (the chunk so far is incomplete).
M.prompt2 = "...> "


--- The history file: $LUAC_CTR_HISTORY, else $XDG_STATE_HOME/luac-ctr/history,
-- else ~/.local/state/luac-ctr/history; nil when none can be found.
function M.history_path()
  local e = os.getenv("LUAC_CTR_HISTORY")
  if e and e ~= "" then return e end
  local s = os.getenv("XDG_STATE_HOME")
  if s and s:sub(1, 1) == "/" then return s .. "/luac-ctr/history" end
  local h = os.getenv("HOME")
  if h and h ~= "" then return h .. "/.local/state/luac-ctr/history" end
  return nil
end

--- Compile a chunk the way lua5.4's REPL does: as `return <chunk>` first
-- (so expressions print), then as statements.
-- @return function | nil, err, incomplete (true when more input could complete it)
function M.compile(chunk, env)
  env = env or _G
  local fn = load("return " .. chunk, "=stdin", "t", env)
  if fn then return fn end
  local err
  fn, err = load(chunk, "=stdin", "t", env)
  if fn then return fn end
  return nil, err, err:sub(-5) == "<eof>"
end

local function errmsg(e)
  if type(e) == "string" then return e end
  local mt = getmetatable(e)
  if type(mt) == "table" and mt.__tostring then return tostring(e) end
  if type(e) == "table" and e.msg then return tostring(e.msg) end
  return pretty.format(e)
end

local function handler(e)
  local msg = errmsg(e)
  if os.getenv("LUAC_CTR_DEBUG") == "1" then return debug.traceback(msg, 2) end
  return msg
end

--- Run a compiled chunk. @return true, results (table.pack) | false, message
function M.call(fn)
  local r = table.pack(xpcall(fn, handler))
  if not r[1] then return false, r[2] end
  return true, table.pack(table.unpack(r, 2, r.n))
end

--- Format the results of a chunk: pretty-printed, separated by tabs; nil when
-- there are none. Strings print as they are (like lua5.4), strings in tables quoted.
function M.format_results(res)
  if res.n == 0 then return nil end
  local out = {}
  for i = 1, res.n do
    out[i] = type(res[i]) == "string" and res[i] or pretty.format(res[i])
  end
  return table.concat(out, "\t")
end

-- ---- completion and documentation (ctr.repl.complete, ctr.repl.doc) ---------

M.complete = complete.complete
M.doc_dirs = doc.doc_dirs
M.scan_c = doc.scan_c
M.scan_lua = doc.scan_lua
M.docs = doc.docs
M.doc = doc.doc
M.help = doc.help

--- Load `ctr` (and `core`, if it loads) as globals, plus help and pp.
function M.preload(env)
  env = env or _G
  local ok, ctr = pcall(require, "ctr")
  if ok then
    env.ctr = ctr
    local okc, core = pcall(function() return ctr.core end)
    if okc then env.core = core end
  end
  env.help = env.help or M.help
  env.pp = env.pp or pretty.print
end

-- ---- the loop ------------------------------------------------------------------

local function reader(rl, tty)
  if rl then
    return function(first) return rl.readline(first and M.prompt or M.prompt2) end
  end
  return function(first)
    if tty then io.stdout:write(first and M.prompt or M.prompt2); io.stdout:flush() end
    return io.stdin:read("l")
  end
end

-- The next chunk: its text, function or error; nil at end of input, "" after Ctrl-C.
local function read_chunk(read)
  local line = read(true)
  if line == nil then return nil end
  if line == false then return "" end
  local chunk = line
  local fn, err, incomplete = M.compile(chunk)
  while not fn and incomplete do
    local more = read(false)
    if more == false then return "" end
    if more == nil then break end
    chunk = chunk .. "\n" .. more
    fn, err, incomplete = M.compile(chunk)
  end
  return chunk, fn, err
end

local function eval_print(fn, rl)
  if rl then rl.interruptible(true) end
  local ok, res = M.call(fn)
  if rl then rl.interruptible(false) end
  if ok then
    local s = M.format_results(res)
    if s then io.stdout:write(s, "\n") end
  else
    io.stdout:flush()
    io.stderr:write(res, "\n")
  end
  io.stdout:flush()
  return ok
end

local function setup_readline(rl)
  rl.init { history_size = 1000 }
  rl.set_completer(M.complete)
  local hist = M.history_path()
  if hist then
    local ok, err = rl.read_history(hist)
    if not ok then
      io.stderr:write("luac-ctr: ", err, " (history disabled)\n")
      hist = nil
    end
  end
  return hist
end

--- Run the REPL until end of input.
-- @param opts optional table: tty (default: stdin is a terminal), preload
--   (default true: set the globals ctr, core, help, pp)
-- @return exit code: 0, or 1 when reading a non-terminal and some chunk failed
function M.run(opts)
  opts = opts or {}
  local has_rl, rlmod = pcall(require, "ctr.readline")
  local tty = opts.tty
  if tty == nil then tty = has_rl and rlmod.isatty(0) or false end
  local rl = tty and has_rl and rlmod or nil
  if opts.preload ~= false then M.preload() end
  local hist = rl and setup_readline(rl)
  if tty then
    local okl, info = pcall(require, "ctr.launcher")
    io.stdout:write("luac-ctr ", okl and info.version or "", " (", _VERSION,
      "): help() for help, Ctrl-D to quit\n")
  end
  local read, failures = reader(rl, tty), 0
  while true do
    local chunk, fn, err = read_chunk(read)
    if chunk == nil then break end
    if rl and chunk:match("%S") then
      rl.add_history(chunk)
      if hist then rl.write_history(hist) end
    end
    if fn then
      if not eval_print(fn, rl) then failures = failures + 1 end
    elseif chunk:match("%S") then
      io.stderr:write(err, "\n")
      failures = failures + 1
    end
  end
  if tty then io.stdout:write("\n") end
  return (failures > 0 and not tty) and 1 or 0
end

return M
