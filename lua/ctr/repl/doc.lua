--- ctr.repl.doc: help() for the REPL: the doc comments of the C bindings
-- (bindings/*.c) and of the Lua modules (lua/ctr/**/*.lua).
local M = {}

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

-- The name a definition line documents: "name" for `function M.name(`
-- and `M.name = function(`, "Owner:name" / "Owner.name" for a method or a
-- function of another table (`function Container:stop(`); and its params.
local function lua_fn(line)
  local owner, sep, name, params = line:match("^function%s+([%a_][%w_]*)([.:])([%a_][%w_]*)%s*(%b())")
  if name then return (owner == "M" and "" or owner .. sep) .. name, params end
  return line:match("^M%.([%a_][%w_]*)%s*=%s*function%s*(%b())")
end

--- Add the `--- ` doc comments before `function M.name(...)` of a Lua module to docs,
-- as "<modname>.name" ("<modname>.Container:stop" for `function Container:stop`);
-- the file's leading comment documents modname itself.
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

-- The Lua modules below dir as {path, modname}: ctr.x for x.lua, ctr.x.y
-- for x/y.lua (ctr.x for x/init.lua).
local function lua_modules(dir, prefix)
  local out = {}
  for _, p in ipairs(list_dir(dir, ".lua")) do
    local base = p:match("([^/]+)%.lua$")
    out[#out + 1] = { p, base == "init" and prefix or prefix .. "." .. base }
  end
  if prefix == "ctr" then
    for _, sub in ipairs(list_dir(dir, "/")) do
      local name = sub:match("([%w_]+)/$")
      if name then
        for _, m in ipairs(lua_modules(dir .. "/" .. name, "ctr." .. name)) do out[#out + 1] = m end
      end
    end
  end
  return out
end

--- All docs, scanned from the sources at first use: {name = {name, text, source}}.
-- Names: "core.unshare" (C bindings), "ctr.hooks.on", "ctr.hooks" (Lua modules),
-- "ctr.container.Container:stop" (methods).
function M.docs()
  if docs_cache then return docs_cache end
  local docs = {}
  for _, dir in ipairs(M.doc_dirs()) do
    for _, p in ipairs(list_dir(dir, ".c")) do M.scan_c(p, docs) end
    for _, m in ipairs(lua_modules(dir, "ctr")) do
      M.scan_lua(m[1], m[2], docs)
      -- a module split into parts (ctr/container/*.lua): each part's functions
      -- and methods are also known by the facade's name (ctr.container.run,
      -- ctr.container.Container:stop)
      local pkg = m[2]:match("^(ctr%.[%w_]+)%.[%w_]+$")
      if pkg then
        local add = {} -- no new keys while traversing
        for k, d in pairs(docs) do
          local fn = k:sub(1, #m[2] + 1) == m[2] .. "." and k:sub(#m[2] + 2)
          if fn and not docs[pkg .. "." .. fn] then add[pkg .. "." .. fn] = d end
        end
        for k, d in pairs(add) do docs[k] = d end
      end
    end
  end
  docs_cache = docs
  return docs
end

-- The names a value is known by in the loaded ctr modules: "ctr.hooks.on",
-- and "ctr.container.Container:stop" for a method of a class table a
-- module exposes.
local function names_of(v)
  local set, names = {}, {}
  for modname, mod in pairs(package.loaded) do
    if (modname == "ctr" or modname:sub(1, 4) == "ctr.") and type(mod) == "table" then
      if rawequal(mod, v) then set[modname] = true end
      for k, x in next, mod do
        if type(k) == "string" and rawequal(x, v) then set[modname .. "." .. k] = true end
        if type(k) == "string" and type(x) == "table" and k:match("^%u") then
          for mk, mx in next, x do
            if type(mk) == "string" and rawequal(mx, v) then set[modname .. "." .. k .. ":" .. mk] = true end
          end
        end
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
  local meths = {}
  for k in pairs(docs) do
    local f = k:sub(1, #modname + 1) == modname .. "." and k:sub(#modname + 2)
    f = f and (f:match("^[%w_]+%.([%w_]+:[%w_]+)$") or f) -- methods defined in a submodule too
    if f and not f:find(".", 1, true) and not f:find("^_") and not f:find(":_", 1, true) then
      if f:find(":", 1, true) then meths[#meths + 1] = f else fns[#fns + 1] = f end
    end
  end
  -- a loaded module lists what it has (a split module's parts have more)
  local mod, seen = package.loaded[modname], {}
  local function keep(list, has)
    local out = {}
    for _, f in ipairs(list) do
      if not seen[f] and (type(mod) ~= "table" or has(f)) then out[#out + 1] = f end
      seen[f] = true
    end
    table.sort(out)
    return out
  end
  fns = keep(fns, function(f) return rawget(mod, f) ~= nil end)
  meths = keep(meths, function(f)
    local owner, name = f:match("^([%w_]+):([%w_]+)$")
    local class = owner and rawget(mod, owner)
    return type(class) == "table" and rawget(class, name) ~= nil
  end)
  if #fns + #meths == 0 then return nil end
  local lines = {}
  for _, group in ipairs({ { "functions:", fns }, { "methods:", meths } }) do
    local line, list = group[1], group[2]
    for i, f in ipairs(list) do
      local item = " " .. f .. (i < #list and "," or "")
      if #line + #item > 78 then lines[#lines + 1] = line; line = " " end
      line = line .. item
    end
    if #list > 0 then lines[#lines + 1] = line end
  end
  return table.concat(lines, "\n")
end

-- The docs whose name ends in .short ("Container:wait", "unshare"), sorted.
local function by_suffix(docs, short)
  local keys = {}
  for k in pairs(docs) do
    if k == short or k:sub(-#short - 1) == "." .. short then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

--- The doc text for a function, method, module or name ("core.unshare",
-- "ctr.hooks.on", "hooks.on", "unshare", "Container:wait"; a value such as
-- c.stop finds Container:stop), or nil, message.
function M.doc(x)
  for _, name in ipairs { "ctr.container", "ctr.image" } do -- their parts load on first use: list them all
    local lazy = package.loaded[name]
    if type(lazy) == "table" and rawget(lazy, "load_all") then lazy.load_all() end
  end
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
  if #out == 0 then -- "unshare", "Container:wait", or a method defined in a submodule
    for _, n in ipairs(names) do
      local short = n:find(":", 1, true) and n:match("([^.]+)$") or (not n:find(".", 1, true) and n)
      for _, k in ipairs(short and by_suffix(docs, short) or {}) do add(docs[k]) end
    end
  end
  if #out == 0 then return nil, "no documentation for " .. (names[1] or tostring(x)) end
  return table.concat(out, "\n\n")
end

local general_help = [[
luac-ctr REPL: type Lua; expressions print their value.
  ctr                 the luac-ctr API (require "ctr"); submodules: ctr.submodules()
  core                ctr.core, the C primitives
  help(fn_or_name)    documentation, e.g. help(ctr.hooks.on), help "core.unshare",
                      help(c.stop), help "Container:wait"
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


return M
