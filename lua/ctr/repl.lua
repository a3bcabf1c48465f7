--- ctr.repl: the luac-ctr REPL (run by `luac-ctr` with no script, or `-i`).
--
-- Expressions print their values (tables pretty-printed by ctr.pretty),
-- statements run; an incomplete chunk keeps reading with the `...> ` prompt.
-- On a terminal: line editing, Tab completion of globals and fields (`ctr.co<Tab>`)
-- and persistent history (libedit, through the launcher's `ctr.readline`).
-- Without a terminal it reads lines from stdin with no prompts, so it can be scripted.
-- `help(fn_or_name)` prints the doc comment of a function of ctr.
local pretty = require "ctr.pretty"

local M = {}

--- The primary prompt.
M.prompt = "ctr> "
--- The continuation prompt (the chunk so far is incomplete).
M.prompt2 = "...> "

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil
  not or repeat return then true until while]]):gmatch("%a+") do keywords[#keywords + 1] = w end

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

-- ---- completion -------------------------------------------------------------

local function resolve(path)
  local v = _G
  for part in path:gmatch("[^.]+") do
    if not part:match("^[%a_][%w_]*$") then return nil end
    local ok, x = pcall(function() return v[part] end)
    if not ok or x == nil then return nil end
    v = x
  end
  return v
end

local function callable(x)
  if type(x) == "function" then return true end
  local mt = getmetatable(x)
  return type(mt) == "table" and mt.__call ~= nil
end

local function collect(v, keys, methods, depth)
  if type(v) == "table" then
    for k, x in next, v do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and (not methods or callable(x)) then
        keys[k] = true
      end
    end
  end
  local mt = getmetatable(v)
  if depth < 5 and type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
    collect(rawget(mt, "__index"), keys, methods, depth + 1)
  end
end

local function fields(v, methods)
  local keys = {}
  if type(v) == "string" then collect(string, keys, methods, 0) end
  collect(v, keys, methods, 0)
  local ctr = package.loaded.ctr
  if not methods and rawequal(v, ctr) and type(rawget(ctr, "submodules")) == "function" then
    for _, name in ipairs(ctr.submodules()) do keys[name] = true end
  end
  return keys
end

--- Tab completion: the full words that complete word (a global, or a path
-- `a.b.c` / `obj:meth` whose last part is partial), sorted.
-- @param word the text before the cursor, from the last separator
-- @return list of strings
function M.complete(word)
  local out = {}
  local prefix, sep, part = word:match("^(.*)([.:])([%w_]*)$")
  local keys
  if prefix then
    if prefix:find(":", 1, true) then return out end
    local v = resolve(prefix)
    if v == nil then return out end
    keys = fields(v, sep == ":")
  else
    prefix, sep, part = "", "", word
    keys = fields(_G, false)
    for _, k in ipairs(keywords) do keys[k] = true end
  end
  for k in pairs(keys) do
    if k:sub(1, #part) == part then out[#out + 1] = prefix .. sep .. k end
  end
  table.sort(out)
  return out
end

-- ---- documentation ------------------------------------------------------------

local function dir_of(path) return path:match("^(.*)/[^/]*$") or "." end

--- The directories help() reads docs from: {C binding sources, Lua modules}.
function M.doc_dirs()
  local ok, info = pcall(require, "ctr.launcher")
  if ok and type(info) == "table" and info.doc_dirs then return info.doc_dirs end
  local here = package.searchpath("ctr.repl", package.path)
  local luadir = here and dir_of(here) or "lua/ctr"
  return { luadir .. "/../../bindings", luadir }
end

-- the entries of dir ending in suffix, sorted, as `ls -1p` lists them:
-- hidden ones left out, a directory's name with "/" after it (so suffix "/"
-- gives the subdirectories)
local function list_dir(dir, suffix)
  local core = require "ctr.core"
  local t = {}
  for _, name in ipairs(core.readdir(dir) or {}) do
    local st = core.stat(dir .. "/" .. name)
    if st and st.type == "dir" then name = name .. "/" end
    if name:sub(1, 1) ~= "." and name:sub(-#suffix) == suffix then t[#t + 1] = dir .. "/" .. name end
  end
  table.sort(t)
  return t
end

local function trim_lines(lines)
  while #lines > 0 and not lines[1]:match("%S") do table.remove(lines, 1) end
  while #lines > 0 and not lines[#lines]:match("%S") do table.remove(lines) end
  return lines
end

--- Add the `/*** name(...) ... */` doc blocks of a C source to docs.
function M.scan_c(path, docs)
  local f = io.open(path)
  if not f then return end
  local src = f:read("a")
  f:close()
  for block in src:gmatch("/%*%*%*(.-)%*/") do
    local lines = {}
    for l in (block .. "\n"):gmatch("(.-)\n") do
      lines[#lines + 1] = (l:gsub("^%s*%*%s?", "", 1))
    end
    trim_lines(lines)
    local name = lines[1] and lines[1]:match("^%s*([%a_][%w_.:]*)")
    if name and not docs[name] then
      docs[name] = { name = name, text = table.concat(lines, "\n"), source = path }
    end
  end
end

local function lua_fn(line)
  local name, params = line:match("^function%s+[%a_][%w_]*[.:]([%a_][%w_]*)%s*(%b())")
  if name then return name, params end
  return line:match("^[%a_][%w_]*%.([%a_][%w_]*)%s*=%s*function%s*(%b())")
end

--- Add the `--- ` doc comments before `function M.name(...)` of a Lua module to docs,
-- as "<modname>.name"; the file's leading comment documents modname itself.
function M.scan_lua(path, modname, docs)
  local f = io.open(path)
  if not f then return end
  local block, first = nil, true
  for line in f:lines() do
    local start = line:match("^%s*%-%-%-%s?(.*)$")
    if start and not line:match("^%s*%-%-%-%-") then
      block = { start }
    elseif block and line:match("^%s*%-%-") then
      block[#block + 1] = line:match("^%s*%-%-%s?(.*)$")
    else
      local name, params = lua_fn(line)
      if block and name then
        local key = modname .. "." .. name
        docs[key] = docs[key] or { name = key,
          text = key .. params .. "\n" .. table.concat(trim_lines(block), "\n"), source = path }
      elseif block and first and not docs[modname] then
        docs[modname] = { name = modname, text = table.concat(trim_lines(block), "\n"), source = path }
      end
      if line:match("%S") then first = false end
      block = nil
    end
  end
  f:close()
end

local docs_cache

--- All docs, scanned from the sources at first use: {name = {name, text, source}}.
-- Names: "core.unshare" (C bindings), "ctr.hooks.on", "ctr.hooks" (Lua modules).
function M.docs()
  if docs_cache then return docs_cache end
  local docs = {}
  for _, dir in ipairs(M.doc_dirs()) do
    for _, p in ipairs(list_dir(dir, ".c")) do M.scan_c(p, docs) end
    for _, p in ipairs(list_dir(dir, ".lua")) do
      local base = p:match("([^/]+)%.lua$")
      M.scan_lua(p, base == "init" and "ctr" or "ctr." .. base, docs)
    end
    -- a module split into parts (ctr/container/*.lua): each part's functions
    -- are also known by the facade's name (ctr.container.run)
    for _, p in ipairs(list_dir(dir .. "/container", ".lua")) do
      local part = "ctr.container." .. p:match("([^/]+)%.lua$")
      M.scan_lua(p, part, docs)
      for k, d in pairs(docs) do
        local fn = k:sub(1, #part + 1) == part .. "." and k:sub(#part + 2)
        if fn and not docs["ctr.container." .. fn] then docs["ctr.container." .. fn] = d end
      end
    end
  end
  docs_cache = docs
  return docs
end

-- The names a value is known by in the loaded ctr modules.
local function names_of(v)
  local set, names = {}, {}
  for modname, mod in pairs(package.loaded) do
    if (modname == "ctr" or modname:sub(1, 4) == "ctr.") and type(mod) == "table" then
      if rawequal(mod, v) then set[modname] = true end
      for k, x in next, mod do
        if type(k) == "string" and rawequal(x, v) then set[modname .. "." .. k] = true end
      end
    end
  end
  for n in pairs(set) do names[#names + 1] = n end
  table.sort(names)
  return names
end

local function candidates(name)
  local c = { name, "ctr." .. name }
  local rest = name:match("^ctr%.(.*)$") -- C modules: "core.x", "net.x", "archive.x"
  if rest then c[#c + 1] = rest end
  return c
end

local function module_index(docs, modname)
  local fns = {}
  for k in pairs(docs) do
    local f = k:sub(1, #modname + 1) == modname .. "." and k:sub(#modname + 2)
    if f and not f:find(".", 1, true) then fns[#fns + 1] = f end
  end
  table.sort(fns)
  if #fns == 0 then return nil end
  local lines, line = {}, "functions:"
  for i, f in ipairs(fns) do
    local item = " " .. f .. (i < #fns and "," or "")
    if #line + #item > 78 then lines[#lines + 1] = line; line = " " end
    line = line .. item
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

--- The doc text for a function, module or name ("core.unshare", "ctr.hooks.on",
-- "hooks.on", "unshare"), or nil, message.
function M.doc(x)
  local docs = M.docs()
  local names = type(x) == "string" and { x } or names_of(x)
  if #names == 0 then return nil, "no documentation for " .. tostring(x) .. " (not a ctr function)" end
  local out, seen = {}, {}
  local function add(d)
    if seen[d] then return end
    seen[d] = true
    local text = d.text
    local idx = module_index(docs, d.name)
    if idx then text = text .. "\n" .. idx end
    out[#out + 1] = text
  end
  for _, n in ipairs(names) do
    for _, c in ipairs(candidates(n)) do
      if docs[c] then add(docs[c]); break end
      if module_index(docs, c) then add({ name = c, text = n .. ":" }); break end
    end
  end
  if #out == 0 and type(x) == "string" and not x:find(".", 1, true) then
    local keys = {}
    for k in pairs(docs) do if k:match("%." .. x .. "$") then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do add(docs[k]) end
  end
  if #out == 0 then return nil, "no documentation for " .. (names[1] or tostring(x)) end
  return table.concat(out, "\n\n")
end

local general_help = [[
luac-ctr REPL: type Lua; expressions print their value.
  ctr                 the luac-ctr API (require "ctr"); submodules: ctr.submodules()
  core                ctr.core, the C primitives
  help(fn_or_name)    documentation, e.g. help(ctr.hooks.on), help "core.unshare"
  pp(v, ...)          pretty-print values
  Tab                 complete globals and fields (ctr.co<Tab>)
  Ctrl-D              quit]]

--- Print the documentation of a ctr function or module (a value or a name).
function M.help(x)
  if x == nil then
    print(general_help)
    return
  end
  local text, err = M.doc(x)
  print(text or err)
end

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
