--- ctr.pretty: a pretty printer for Lua values (used by the REPL).
--
--   local pretty = require "ctr.pretty"
--   print(pretty.format({b = 2, a = {1, 2, 3}}))
--   --> { a = { 1, 2, 3 }, b = 2 }
--
-- Tables print nested with their keys sorted (the array part first, then
-- numbers, strings, and other keys), short tables on one line, long ones one
-- field a line. A table that contains itself prints `<cycle>`; tables deeper
-- than `depth` print `{...}`. Values with a __tostring metamethod (objects)
-- print through it.
local M = {}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil
  not or repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

local type_order = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_order[ta] or 9) < (type_order[tb] or 9) or
      ((type_order[ta] or 9) == (type_order[tb] or 9) and ta < tb) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"):gsub("\r", "\\r"))
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__tostring ~= nil
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" and math.type(v) == "float" and v == math.floor(v) and v == v and
      v ~= math.huge and v ~= -math.huge then
    return string.format("%.1f", v)
  end
  return tostring(v)
end

local function fmt_key(k, st)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k] then return k end
  return "[" .. st.fmt(k, 1) .. "]"
end

-- The array part (1..n without holes) and the other keys, sorted.
local function sorted_keys(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  return n, keys
end

local function fmt_table(t, level, st)
  if st.seen[t] then return "<cycle>" end
  if next(t) == nil then return "{}" end
  if level > st.depth then return "{...}" end
  st.seen[t] = true
  local n, keys = sorted_keys(t)
  local items = {}
  for i = 1, n do items[#items + 1] = st.fmt(rawget(t, i), level + 1) end
  for _, k in ipairs(keys) do
    items[#items + 1] = fmt_key(k, st) .. " = " .. st.fmt(rawget(t, k), level + 1)
  end
  st.seen[t] = nil
  local one = "{ " .. table.concat(items, ", ") .. " }"
  if #one + (level - 1) * #st.indent <= st.width and not one:find("\n", 1, true) then
    return one
  end
  local pad = st.indent:rep(level)
  return "{\n" .. pad .. table.concat(items, ",\n" .. pad) .. "\n" ..
      st.indent:rep(level - 1) .. "}"
end

--- Format a value as a string.
-- @param v any value
-- @param opts optional table: depth (nesting limit, default 6), indent
--   (default two spaces), width (one-line limit, default 72)
-- @return string
function M.format(v, opts)
  opts = opts or {}
  local st = { seen = {}, depth = opts.depth or 6, indent = opts.indent or "  ",
    width = opts.width or 72 }
  st.fmt = function(x, level)
    if type(x) == "table" and not has_tostring(x) then return fmt_table(x, level, st) end
    if has_tostring(x) then
      local ok, s = pcall(tostring, x)
      if not ok then require("ctr.errors").rethrow_interrupt(s) end
      return ok and tostring(s) or "<__tostring error: " .. tostring(s) .. ">"
    end
    return scalar(x)
  end
  return st.fmt(v, 1)
end

--- Print values formatted by pretty.format, separated by tabs, on stdout.
function M.print(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = M.format((select(i, ...))) end
  io.stdout:write(table.concat(out, "\t"), "\n")
end

return M
