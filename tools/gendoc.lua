#!/usr/bin/env lua5.4
--- tools/gendoc.lua: the API reference, docs/api.md, from the doc comments.
--
--   lua5.4 tools/gendoc.lua            write docs/api.md
--   lua5.4 tools/gendoc.lua --stdout   print it instead
--   lua5.4 tools/gendoc.lua --check    exit 1, listing what is wrong, when a
--                                      public function has no doc comment or
--                                      docs/api.md is not up to date
--
-- Sources: the `/*** core.name(args) -> results` blocks of bindings/*.c
-- (ctr.core by area, ctr.archive, ctr.net, and methods such as proc:start),
-- and in lua/ctr/*.lua the `--- ` comment runs right before
-- `function M.name`, `function Obj:name`, `function M.Obj.name` or
-- `M.name = function` (local functions and names starting with `_` are not
-- public; `M.name = localfn` publishes a documented local function).
--
-- The check is done twice. In the sources: every public Lua definition,
-- and every function a luaL_Reg array of bindings/*.c registers, has a doc
-- comment (an alias shares its function's). At run time: every function
-- value reachable as a field of ctr.core, ctr.archive, ctr.net and each
-- lua/ctr module, of the method tables those modules expose (like
-- ctr.container.Container), and of the C objects' method tables
-- (registry["ctr.fd"].methods: fd:close, proc:start) is a documented one:
-- C functions by name, Lua functions by file and line.
-- The C modules come from $LUAC_CTR_BUILD (default build/).
-- Loaded with loadfile("tools/gendoc.lua")("--library", srcdir) it returns
-- its functions instead (the specs use it).
local G = {}

-- ---------------------------------------------------------------------------
-- reading the sources

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function ls(dir, suffix)
  local p = io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  local t = {}
  for name in p:lines() do
    if name:sub(-#suffix) == suffix then t[#t + 1] = name end
  end
  p:close()
  table.sort(t)
  return t
end

local function trim(lines)
  while #lines > 0 and not lines[1]:match("%S") do table.remove(lines, 1) end
  while #lines > 0 and not lines[#lines]:match("%S") do table.remove(lines) end
  return lines
end

-- The leading /* ... */ comment of a C file, without its "file.c - " prefix.
local function c_header(src)
  local block = src:match("^%s*/%*(.-)%*/")
  if not block or block:sub(1, 2) == "**" then return nil end
  local lines = {}
  for l in (block .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = (l:gsub("^%s*%*%s?", "", 1)) end
  trim(lines)
  if lines[1] then lines[1] = lines[1]:gsub("^%s*[%w_]+%.c%s+%-%s+", "") end
  return table.concat(lines, "\n")
end

--- Scan one C source: a list of {name=, module=, signature=, text=, line=}
-- for its `/***` blocks, its header comment, and its registered functions.
function G.scan_c(path)
  local src = read(path) or ""
  local out = {}
  local pos = 1
  while true do
    local s, e, block = src:find("/%*%*%*(.-)%*/", pos)
    if not s then break end
    pos = e + 1
    local lines = {}
    for l in (block .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = (l:gsub("^%s*%*%s?", "", 1)) end
    trim(lines)
    local sig = table.remove(lines, 1) or ""
    local mod, sep, fname = sig:match("^%s*([%a_][%w_]*)([.:])([%a_][%w_]*)")
    if mod then
      local _, nl = src:sub(1, s):gsub("\n", "")
      out[#out + 1] = {
        module = mod, name = mod .. sep .. fname, field = fname, method = sep == ":",
        signature = sig:gsub("^%s+", ""):gsub("%s+$", ""), text = table.concat(trim(lines), "\n"),
        line = nl + 1, file = path,
      }
    end
  end
  return out, c_header(src), G.c_registered(src)
end

--- The functions a C source registers: {name=, cfunc=, array=, line=} for
-- each entry of its luaL_Reg arrays (metamethods and _names left out).
function G.c_registered(src)
  local regs = {}
  for start, array, body in src:gmatch("()luaL_Reg%s+([%w_]+)%s*%[%]%s*=%s*(%b{})") do
    local _, nl = src:sub(1, start):gsub("\n", "")
    for name, cfunc in body:gmatch('{%s*"([^"]+)"%s*,%s*([%w_]+)%s*}') do
      if name:sub(1, 1) ~= "_" then
        regs[#regs + 1] = { name = name, cfunc = cfunc, array = array, line = nl + 1 }
      end
    end
  end
  return regs
end

-- What a Lua line defines: kind ("public"|"local"|"alias"), owner, sep, name, params.
local function lua_def(line)
  local owner, sep, name, params = line:match("^function%s+([%a_][%w_.]*)([.:])([%a_][%w_]*)%s*(%b())")
  if owner then return "public", owner, sep, name, params end
  owner, name, params = line:match("^([%a_][%w_.]*)%.([%a_][%w_]*)%s*=%s*function%s*(%b())")
  if owner then return "public", owner, ".", name, params end
  name, params = line:match("^local%s+function%s+([%a_][%w_]*)%s*(%b())")
  if name then return "local", nil, nil, name, params end
  name, params = line:match("^local%s+([%a_][%w_]*)%s*=%s*function%s*(%b())")
  if name then return "local", nil, nil, name, params end
  local from, field
  owner, name, from, field = line:match("^([%a_][%w_]*)%.([%a_][%w_]*)%s*=%s*([%a_][%w_]*)%.([%a_][%w_]*)%s*$")
  if owner then return "reexport", owner, ".", name, from .. "." .. field end
  -- a lazily loaded re-export: lazy(M, "name", "ctr.module") (see ctr.container)
  owner, name, from = line:match('^lazy%(([%a_][%w_]*),%s*"([%a_][%w_]*)",%s*"([%a_][%w_.]*)"%)%s*$')
  if owner then return "reexport", owner, ".", name, "=" .. from .. "|" .. name end
  owner, name, params = line:match("^([%a_][%w_]*)%.([%a_][%w_]*)%s*=%s*([%a_][%w_]*)%s*$")
  if owner and params ~= "nil" and params ~= "true" and params ~= "false" then
    return "alias", owner, ".", name, params
  end
end

--- Scan one Lua module. Returns {header=, defs={...}, by_line={[line]=def}}
-- where each def is {kind=, owner=, name=, params=, doc=(text or nil),
-- line=, file=}.
function G.scan_lua(path)
  local defs, by_line, locals, requires = {}, {}, {}, {}
  local header
  local block, first, lineno = nil, true, 0
  for line in io.lines(path) do
    lineno = lineno + 1
    local rname, rmod = line:match('^local%s+([%a_][%w_]*)%s*=%s*require%s*%(?%s*"([%w_.]+)"%s*%)?%s*$')
    if rname then requires[rname] = rmod end
    local start = line:match("^%-%-%-%s?(.*)$")
    if start and not line:match("^%-%-%-%-") then
      block = { start }
    elseif block and line:match("^%-%-") then
      block[#block + 1] = line:match("^%-%-%s?(.*)$")
    else
      local kind, owner, sep, name, params = lua_def(line)
      if kind then
        local d = {
          kind = kind, owner = owner, sep = sep, name = name, params = params,
          doc = block and table.concat(trim(block), "\n") or nil, line = lineno, file = path,
        }
        if kind == "local" then locals[name] = d end
        if kind == "alias" then d.target = locals[params]; d.params = nil end
        if kind == "reexport" then
          local lazy_mod, lazy_field = params:match("^=(.-)|(.*)$")
          local from, field = params:match("^(.-)%.(.*)$")
          d.from_module, d.from_field, d.params = requires[from], field, nil
          if lazy_mod then d.from_module, d.from_field = lazy_mod, lazy_field end
        end
        defs[#defs + 1] = d
        by_line[lineno] = d
      elseif block and first then
        header = table.concat(trim(block), "\n")
      end
      if line:match("%S") then first = false end
      block = nil
    end
  end
  return { header = header, defs = defs, by_line = by_line }
end

-- ---------------------------------------------------------------------------
-- the model: modules, their functions, what is undocumented

local ORDER = { "ctr", "ctr.core", "ctr.archive", "ctr.net", "ctr.container",
  "ctr.container.object", "ctr.container.store", "ctr.container.create", "ctr.container.spec",
  "ctr.container.identity", "ctr.container.launch", "ctr.container.lifecycle", "ctr.container.signal",
  "ctr.container.exec", "ctr.container.remove", "ctr.container.inspect", "ctr.image",
  "ctr.network", "ctr.state", "ctr.cgroup", "ctr.hooks", "ctr.errors", "ctr.cli", "ctr.oci" }

local function modname_of(file)
  local rel = file:match("lua/(ctr/.+)%.lua$") or ("ctr/" .. file:match("([^/]+)%.lua$"))
  return (rel:gsub("/init$", ""):gsub("/", "."))
end

-- The Lua module files gendoc reads, relative to lua/ctr: the modules and
-- those of the packages split into a directory (lua/ctr/container/*.lua,
-- lua/ctr/network/*.lua, lua/ctr/image/*.lua, lua/ctr/repl/*.lua, lua/ctr/volume/*.lua).
G.LUA_SUBDIRS = { "", "container/", "network/", "image/", "repl/", "volume/" }

local function lua_files(srcdir)
  local t = {}
  for _, sub in ipairs(G.LUA_SUBDIRS) do
    for _, f in ipairs(ls(srcdir .. "/lua/ctr/" .. sub, ".lua")) do t[#t + 1] = sub .. f end
  end
  return t
end

--- A facade's `M.name = part.field` (part = require "ctr.x.y"): listed in
-- the facade's section with the documentation of part's M.field, when it has
-- one (an undocumented one is reported in part's own file).
function G.resolve_reexport(r, by_module)
  local scan = by_module[r.d.from_module]
  for _, t in ipairs(scan and scan.defs or {}) do
    if t.owner == "M" and t.name == r.d.from_field and t.kind ~= "local" and t.doc then
      local params = t.params or (t.target and t.target.params) or "()"
      r.sec.fns[#r.sec.fns + 1] = {
        signature = r.mname .. "." .. r.d.name .. params,
        text = t.doc .. "\n\nDefined in `" .. r.d.from_module .. "`.",
      }
      return
    end
  end
end

--- Everything gendoc knows about the sources under srcdir:
-- {modules = {list of {name=, header=, sections={ {title=, text=, fns={...}} }}},
--  missing = {"file:line name", ...} (public definitions without a comment),
--  c_names = {["core.x"]=entry}, lua = {[file]=scan}}.
function G.collect(srcdir)
  local mods, missing, c_names, lua = {}, {}, {}, {}
  local function mod(name)
    if not mods[name] then mods[name] = { name = name, sections = {} } end
    return mods[name]
  end
  for _, f in ipairs(ls(srcdir .. "/bindings", ".c")) do
    local entries, header, regs = G.scan_c(srcdir .. "/bindings/" .. f)
    local fields = {}
    for _, e in ipairs(entries) do fields[e.field] = true end
    local doc_cfuncs = {} -- an alias (core.umount = l_umount2) shares its function's doc
    for _, r in ipairs(regs) do if fields[r.name] then doc_cfuncs[r.cfunc] = true end end
    for _, r in ipairs(regs) do -- every registered function has a doc block in its file
      if not fields[r.name] and not doc_cfuncs[r.cfunc] then
        missing[#missing + 1] = ("bindings/%s:%d: %s (%s in %s[])"):format(f, r.line, r.name, r.cfunc, r.array)
      end
    end
    local area = f:match("^l_(.-)%.c$")
    local m
    if area then
      m = mod("ctr.core")
      m.sections[#m.sections + 1] = { title = "area " .. area, file = "bindings/" .. f, text = header, fns = {} }
    elseif f == "lctr_core.c" then
      mod("ctr.core").header = header
    elseif #entries > 0 then
      local mname = "ctr." .. entries[1].module
      m = mod(mname)
      m.header = header
      m.sections[#m.sections + 1] = { file = "bindings/" .. f, fns = {} }
    end
    for _, e in ipairs(entries) do
      c_names[e.name] = e
      if m then table.insert(m.sections[#m.sections].fns, { signature = e.signature, text = e.text }) end
    end
  end
  local reexports, by_module = {}, {}
  for _, f in ipairs(lua_files(srcdir)) do
    local path = srcdir .. "/lua/ctr/" .. f
    local scan = G.scan_lua(path)
    lua[path] = scan
    local mname = modname_of(path)
    by_module[mname] = scan
    local m = mod(mname)
    m.header = scan.header
    local sec = { file = "lua/ctr/" .. f, fns = {} }
    m.sections[1] = sec
    for _, d in ipairs(scan.defs) do
      local public = d.kind ~= "local" and d.kind ~= "reexport" and d.name:sub(1, 1) ~= "_"
      if d.kind == "reexport" and d.from_module then reexports[#reexports + 1] = { d = d, sec = sec, mname = mname } end
      if d.kind == "alias" then
        public = public and d.target ~= nil -- M.x = <non-function local>: not a function
        d.doc = d.doc or (d.target and d.target.doc)
        d.params = d.target and d.target.params
      end
      if public then
        if not d.doc then
          missing[#missing + 1] = ("lua/ctr/%s:%d: %s%s%s"):format(f, d.line, d.owner, d.sep, d.name)
        else
          local owner = (d.owner == "M" and mname) or d.owner:gsub("^M%.", mname .. ".")
          sec.fns[#sec.fns + 1] = { signature = owner .. d.sep .. d.name .. (d.params or "()"), text = d.doc }
        end
      end
    end
  end
  for _, r in ipairs(reexports) do G.resolve_reexport(r, by_module) end
  local list, seen = {}, {}
  for _, n in ipairs(ORDER) do
    if mods[n] then list[#list + 1] = mods[n]; seen[n] = true end
  end
  local rest = {}
  for n in pairs(mods) do if not seen[n] then rest[#rest + 1] = n end end
  table.sort(rest)
  for _, n in ipairs(rest) do list[#list + 1] = mods[n] end
  return { modules = list, missing = missing, c_names = c_names, lua = lua }
end

-- ---------------------------------------------------------------------------
-- the run-time check

local function setup_paths(srcdir, build)
  package.path = srcdir .. "/lua/?.lua;" .. srcdir .. "/lua/?/init.lua;" .. package.path
  package.cpath = build .. "/?.so;" .. package.cpath
end

--- The public functions reachable at run time that have no doc comment:
-- a list of "ctr.mod.name (file:line)" strings, plus load errors.
-- opts.c_modules: the C modules to walk (default ctr.core, ctr.archive, ctr.net).
function G.undocumented_at_runtime(model, srcdir, build, opts)
  local c_walk = opts and opts.c_modules or { "ctr.core", "ctr.archive", "ctr.net" }
  setup_paths(srcdir, build)
  local bad, seen = {}, {}
  local documented_c = {}
  local cmods = {}
  for _, full in ipairs(c_walk) do cmods[full:match("^ctr%.(.*)$")] = full end
  local function load(name)
    local ok, m = pcall(require, name)
    if not ok or type(m) ~= "table" then
      bad[#bad + 1] = ("cannot load %s: %s"):format(name, tostring(m))
      return nil
    end
    return m
  end
  local loaded = {}
  for short, full in pairs(cmods) do loaded[full] = load(full); loaded[short] = loaded[full] end
  -- C userdata methods live in registry["ctr.<kind>"].methods (ctr.fd, ctr.proc)
  local reg = debug.getregistry()
  local function methods_of(kind)
    local mt = rawget(reg, "ctr." .. kind)
    local ms = type(mt) == "table" and rawget(mt, "methods")
    return type(ms) == "table" and ms or nil
  end
  for _, e in pairs(model.c_names) do
    local m = e.method and methods_of(e.module) or loaded[e.module]
    local f = m and rawget(m, e.field)
    if type(f) == "function" then documented_c[f] = true end
  end
  local function lua_documented(f)
    local info = debug.getinfo(f, "S")
    if info.what == "C" then return documented_c[f] == true, "C function" end
    local file = info.source:sub(1, 1) == "@" and info.source:sub(2)
    local scan = file and model.lua[file]
    if not scan then
      for path, s in pairs(model.lua) do
        if file and path:sub(-#file) == file then scan = s end
      end
    end
    local where = (file or info.short_src) .. ":" .. info.linedefined
    local d = scan and scan.by_line[info.linedefined]
    return d ~= nil and d.doc ~= nil, where
  end
  local function check(label, f)
    if seen[f] then return end
    seen[f] = true
    local ok, where = lua_documented(f)
    if not ok then bad[#bad + 1] = ("%s (%s)"):format(label, where) end
  end
  local function walk(label, t, depth)
    local keys = {}
    for k in next, t do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = rawget(t, k)
      if k:sub(1, 1) ~= "_" then
        if type(v) == "function" then
          check(label .. "." .. k, v)
        elseif type(v) == "table" and depth == 0 and not package.loaded[label .. "." .. k] then
          walk(label .. "." .. k, v, 1) -- method tables such as ctr.container.Container
        end
      end
    end
  end
  for _, full in ipairs(c_walk) do
    if loaded[full] then walk(full, loaded[full], 0) end
  end
  if #c_walk > 0 then
    local core = loaded["ctr.core"]
    if core and core.pipe then -- the ctr.fd metatable is made with the first fd
      local r, w = core.pipe()
      if r then r:close(); w:close() end
    end
    local kinds = {}
    for k, v in next, reg do
      if type(k) == "string" and k:match("^ctr%.[%w_]+$") and type(v) == "table" and methods_of(k:sub(5)) then
        kinds[#kinds + 1] = k:sub(5)
      end
    end
    table.sort(kinds)
    for _, kind in ipairs(kinds) do
      local ms, names = methods_of(kind), {}
      for k in next, ms do if type(k) == "string" then names[#names + 1] = k end end
      table.sort(names)
      for _, k in ipairs(names) do
        if type(ms[k]) == "function" and k:sub(1, 1) ~= "_" then check(kind .. ":" .. k, ms[k]) end
      end
    end
  end
  local files = {}
  for path in pairs(model.lua) do files[#files + 1] = path end
  table.sort(files)
  for _, path in ipairs(files) do
    local name = modname_of(path)
    local m = load(name)
    if m then walk(name, m, 0) end
  end
  return bad
end

-- ---------------------------------------------------------------------------
-- writing markdown

-- Doc text to markdown: runs of lines indented by 2+ spaces become code blocks.
local function md_text(text)
  local out, code = {}, false
  for line in ((text or "") .. "\n"):gmatch("(.-)\n") do
    line = line:gsub("%s+$", "")
    local indented = line:match("^  ") ~= nil
    if indented and not code then out[#out + 1] = "```lua"; code = true end
    if not indented and code and line:match("%S") then
      while out[#out] == "" do table.remove(out) end
      out[#out + 1] = "```"; out[#out + 1] = ""; code = false
    end
    out[#out + 1] = code and line:sub(3) or line
  end
  if code then
    while out[#out] == "" do table.remove(out) end
    out[#out + 1] = "```"
  end
  return table.concat(trim(out), "\n")
end

local function anchor(name) return (name:gsub("[^%w%- ]", ""):gsub(" ", "-"):lower()) end

--- docs/api.md's text for a model.
function G.markdown(model)
  local o = {
    "# luac-ctr API reference", "",
    "Generated by `lua5.4 tools/gendoc.lua` from the doc comments in `bindings/*.c` and",
    "`lua/ctr/*.lua`; do not edit by hand. Conventions: primitives (`ctr.core`, `ctr.net`,",
    "`ctr.archive`) return `nil, message, errno` on failure; the high-level modules raise",
    "`ctr.errors` values carrying exit codes, except lookups, which return `nil, err`",
    "(see docs/workflows.md).", "", "## Modules", "",
  }
  for _, m in ipairs(model.modules) do
    local n = 0
    for _, s in ipairs(m.sections) do n = n + #s.fns end
    o[#o + 1] = ("- [%s](#%s) (%d function%s)"):format(m.name, anchor(m.name), n, n == 1 and "" or "s")
  end
  for _, m in ipairs(model.modules) do
    o[#o + 1] = ""
    o[#o + 1] = "## " .. m.name
    if m.header then o[#o + 1] = ""; o[#o + 1] = md_text(m.header) end
    for _, s in ipairs(m.sections) do
      if s.title then
        o[#o + 1] = ""
        o[#o + 1] = ("### %s (`%s`)"):format(s.title, s.file)
        if s.text then o[#o + 1] = ""; o[#o + 1] = md_text(s.text) end
      end
      for _, fn in ipairs(s.fns) do
        o[#o + 1] = ""
        o[#o + 1] = "#### `" .. fn.signature .. "`"
        if fn.text ~= "" then o[#o + 1] = ""; o[#o + 1] = md_text(fn.text) end
      end
    end
  end
  return table.concat(o, "\n") .. "\n"
end

-- ---------------------------------------------------------------------------
-- main

local function srcdir_default()
  local here = arg and arg[0] and arg[0]:match("^(.*)/tools/[^/]*$")
  return here or "."
end

local function main(args)
  local mode = "write"
  local srcdir = srcdir_default()
  for _, a in ipairs(args) do
    if a == "--check" then mode = "check"
    elseif a == "--stdout" then mode = "stdout"
    elseif a:match("^%-%-srcdir=") then srcdir = a:match("=(.*)")
    else io.stderr:write("usage: lua5.4 tools/gendoc.lua [--check|--stdout] [--srcdir=DIR]\n"); os.exit(2) end
  end
  local build = os.getenv("LUAC_CTR_BUILD") or "build"
  if build:sub(1, 1) ~= "/" then build = srcdir .. "/" .. build end
  local model = G.collect(srcdir)
  local md = G.markdown(model)
  local target = srcdir .. "/docs/api.md"
  if mode == "stdout" then io.write(md) return 0 end
  if mode == "write" then
    local f = assert(io.open(target, "w"))
    f:write(md)
    f:close()
    print("wrote " .. target)
    return 0
  end
  local problems = 0
  for _, m in ipairs(model.missing) do
    print("undocumented: " .. m); problems = problems + 1
  end
  for _, b in ipairs(G.undocumented_at_runtime(model, srcdir, build)) do
    print("undocumented at run time: " .. b); problems = problems + 1
  end
  if read(target) ~= md then
    print("stale: docs/api.md differs from the sources: run lua5.4 tools/gendoc.lua"); problems = problems + 1
  end
  if problems == 0 then print("docs: ok") end
  return problems == 0 and 0 or 1
end

local a1, a2 = ...
if a1 == "--library" then
  G.srcdir = a2 or "."
  return G
end
os.exit(main(arg or {}))
