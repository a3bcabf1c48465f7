--- ctr.template_funcs: the values of docker's templates as Go sees them
-- (their types, text and truth) and the template functions (Go's
-- builtins and docker's), for ctr.format's evaluator of ctr.template trees.
local errors = require "ctr.errors"

local M = {}

-- Values as Go's templates see them (our values are Lua tables from JSON).
local json = require "ctr.json"
local NULL = json.null
M.NULL = NULL

--- Go's name of a value's type, for its messages.
function M.gotype(v)
  if type(v) == "string" then return "string" end
  if type(v) == "boolean" then return "bool" end
  if math.type(v) == "integer" then return "int" end
  if type(v) == "number" then return "float64" end
  if v == nil or v == NULL then return "interface {}" end
  return M.is_list(v) and "[]interface {}" or "map[string]interface {}"
end

--- True when v is a list (a JSON array, or a table with a sequence).
function M.is_list(v)
  if type(v) ~= "table" or v == NULL then return false end
  local mt = getmetatable(v)
  if mt and mt.__jsontype then return mt.__jsontype == "array" end
  return #v > 0 or next(v) == nil
end

--- The text of a value as Go's fmt prints it (a table: JSON, our
-- extension; nil: missing, default "<no value>"; JSON null: "<nil>").
function M.text(v, missing)
  if v == nil then return missing or "<no value>" end
  if v == NULL then return "<nil>" end
  if type(v) == "table" then return json.encode(v) end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 1e21 then return ("%d"):format(v) end
  return tostring(v)
end

--- Go's truth: false, 0, "", nil and empty lists and maps are false.
function M.truth(v)
  if v == nil or v == NULL or v == false or v == 0 or v == "" then return false end
  if type(v) == "table" then return next(v) ~= nil end
  return true
end

-- a function's error (ctr.format reports it as "error calling NAME: msg")
local function fail(fmt, ...) errors.throw("invalid", fmt, ...) end

local function want(n, nargs, name)
  if nargs ~= n then fail("wrong number of args for %s: want %d got %d", name, n, nargs) end
end

local function str(v, name)
  if type(v) ~= "string" then fail("%s: expected string; found %s", name, M.text(v)) end
  return v
end

local function index(a, nargs)
  if nargs < 1 then fail("wrong number of args for index: want at least 1 got 0") end
  local v = a[1]
  for i = 2, nargs do
    local k = a[i]
    if v == nil or v == NULL then fail("index of untyped nil") end
    if type(v) ~= "table" then fail("can't index item of type %s", M.gotype(v)) end
    if M.is_list(v) then
      if math.type(k) ~= "integer" then fail("cannot index slice/array with type %s", M.gotype(k)) end
      if k < 0 or k >= #v then fail("index out of range: %d", k) end
      v = v[k + 1]
    else
      v = v[k]
    end
  end
  return v
end

-- Go's fmt verbs on our values: %s %v %d %q %t %x %f %e %g %c %%
local function printf(a, nargs)
  local f, i = str(a[1], "printf"), 1
  return (f:gsub("%%([-+ #0]*%d*%.?%d*)([%a%%])", function(flags, verb)
    if verb == "%" then return "%" end
    i = i + 1
    if i > nargs then return "%!" .. verb .. "(MISSING)" end
    local v = a[i]
    if verb == "s" or verb == "v" or verb == "t" then return ("%" .. flags .. "s"):format(M.text(v)) end
    if verb == "q" then return ("%" .. flags .. "s"):format(json.encode(M.text(v))) end
    if verb == "d" or verb == "x" or verb == "X" or verb == "o" or verb == "c" then
      local n = math.tointeger(v)
      if not n then return "%!" .. verb .. "(" .. M.gotype(v) .. "=" .. M.text(v) .. ")" end
      return ("%" .. flags .. verb):format(n)
    end
    if (verb == "f" or verb == "e" or verb == "g") and type(v) == "number" then return ("%" .. flags .. verb):format(v) end
    return "%!" .. verb .. "(" .. M.gotype(v) .. "=" .. M.text(v) .. ")"
  end))
end

local function print_(a, nargs, sep_all)
  local t = {}
  for i = 1, nargs do
    local prev_str = i > 1 and type(a[i - 1]) == "string"
    if i > 1 and (sep_all or not (prev_str or type(a[i]) == "string")) then t[#t + 1] = " " end
    t[#t + 1] = M.text(a[i])
  end
  return table.concat(t)
end

local function compare(op)
  return function(a, nargs)
    want(2, nargs, op)
    local x, y = a[1], a[2]
    if op == "eq" then return x == y elseif op == "ne" then return x ~= y end
    if type(x) ~= type(y) or (type(x) ~= "number" and type(x) ~= "string") then
      fail("incompatible types for comparison")
    end
    if op == "lt" then return x < y elseif op == "le" then return x <= y
    elseif op == "gt" then return x > y else return x >= y end
  end
end

-- The functions of docker's templates (Go's builtins and docker's own):
-- each takes the list of evaluated arguments and their number.
local FUNCS = {
  json = function(a, n) want(1, n, "json"); return json.encode(a[1] == nil and NULL or a[1]) end,
  index = index,
  join = function(a, n)
    want(2, n, "join")
    local t = {}
    for i, x in ipairs(type(a[1]) == "table" and a[1] or {}) do t[i] = M.text(x) end
    return table.concat(t, str(a[2], "join"))
  end,
  split = function(a, n)
    want(2, n, "split")
    local s, sep, t = str(a[1], "split"), str(a[2], "split"), json.array({})
    if sep == "" then for ch in s:gmatch(utf8.charpattern) do t[#t + 1] = ch end return t end
    local pos = 1
    while true do
      local b, e = s:find(sep, pos, true)
      if not b then t[#t + 1] = s:sub(pos); return t end
      t[#t + 1] = s:sub(pos, b - 1); pos = e + 1
    end
  end,
  upper = function(a, n) want(1, n, "upper"); return M.text(a[1]):upper() end,
  lower = function(a, n) want(1, n, "lower"); return M.text(a[1]):lower() end,
  title = function(a, n) want(1, n, "title"); return (M.text(a[1]):gsub("(%w)(%w*)", function(f, r) return f:upper() .. r end)) end,
  len = function(a, n)
    want(1, n, "len")
    local v = a[1]
    if type(v) == "string" then return #v end
    if type(v) ~= "table" or v == NULL then fail("len of type %s", M.gotype(v)) end
    local c = 0
    for _ in pairs(v) do c = c + 1 end
    return c
  end,
  printf = printf,
  print = function(a, n) return print_(a, n, false) end,
  println = function(a, n) return print_(a, n, true) .. "\n" end,
  truncate = function(a, n)
    want(2, n, "truncate")
    local s, k = M.text(a[1]), math.tointeger(a[2]) or 0
    local cut = utf8.len(s) and utf8.offset(s, k + 1)
    return cut and s:sub(1, cut - 1) or s
  end,
  pad = function(a, n) want(3, n, "pad"); return (" "):rep(a[2]) .. M.text(a[1]) .. (" "):rep(a[3]) end,
  eq = compare("eq"), ne = compare("ne"), lt = compare("lt"), le = compare("le"), gt = compare("gt"), ge = compare("ge"),
  ["not"] = function(a, n) want(1, n, "not"); return not M.truth(a[1]) end,
  ["and"] = function(a, n)
    for i = 1, n do if not M.truth(a[i]) or i == n then return a[i] end end
  end,
  ["or"] = function(a, n)
    for i = 1, n do if M.truth(a[i]) or i == n then return a[i] end end
  end,
}

--- The function called name in templates (Go's builtins and docker's:
-- json, index, join, split, upper, lower, title, len, printf, print,
-- println, truncate, pad, eq, ne, lt, le, gt, ge, not, and, or), or nil.
-- It takes the list of evaluated arguments and their number.
function M.func(name) return FUNCS[name] end

return M
