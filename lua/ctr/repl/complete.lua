--- ctr.repl.complete: Tab completion of globals and fields for the REPL.
local M = {}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil
  not or repeat return then true until while]]):gmatch("%a+") do keywords[#keywords + 1] = w end

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

-- the names offered for v's fields: private ones (a leading _, metamethods
-- included) only for globals (_G, _VERSION)
local function collect(v, keys, methods, depth, private)
  if type(v) == "table" then
    for k, x in next, v do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and (not methods or callable(x))
        and (private or k:sub(1, 1) ~= "_") then
        keys[k] = true
      end
    end
  end
  local mt = getmetatable(v)
  if depth < 5 and type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
    collect(rawget(mt, "__index"), keys, methods, depth + 1, private)
  end
end

local function fields(v, methods)
  for _, name in ipairs { "ctr.container", "ctr.image" } do -- their parts load on first use: offer them all
    local lazy = package.loaded[name]
    if type(lazy) == "table" and rawget(lazy, "load_all") then lazy.load_all() end
  end
  local keys = {}
  if type(v) == "string" then collect(string, keys, methods, 0) end
  collect(v, keys, methods, 0, rawequal(v, _G))
  local ctr = package.loaded.ctr
  if not methods and rawequal(v, ctr) and type(rawget(ctr, "submodules")) == "function" then
    for _, name in ipairs(ctr.submodules()) do keys[name] = true end
  end
  return keys
end

--- Tab completion: the full words that complete word (a global, or a path
-- `a.b.c` / `obj:meth` whose last part is partial), sorted. Private fields
-- (a leading `_`: c._save, metamethods) are not offered.
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

return M
