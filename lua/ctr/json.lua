--- ctr.json: JSON over dkjson, with stable (sorted) keys, integers kept as
-- integers, and explicit array/object markers for empty tables.
--
--   json.encode({b = 1, a = {}}, {indent = true})
--   json.decode('{"n": 1234}').n  --> 1234 (math.type "integer")
--   json.encode({list = json.array({})}) --> {"list":[]}
--   json.encode({map = json.object({})}) --> {"map":{}}
-- The install ships a precompiled copy of Debian's dkjson (faster to load).
local vendored, dkjson = pcall(require, "ctr.vendor.dkjson")
if not vendored then dkjson = require "dkjson" end

local M = {}

--- The JSON null sentinel (decode returns nil for null; use this to write one).
M.null = dkjson.null

--- Mark t (default a new table) as a JSON array: `[]` even when empty.
function M.array(t)
  return setmetatable(t or {}, { __jsontype = "array" })
end

--- Mark t (default a new table) as a JSON object: `{}` even when empty.
function M.object(t)
  return setmetatable(t or {}, { __jsontype = "object" })
end

-- every string key in v (recursively), sorted: dkjson's keyorder
local function all_keys(v, seen, set)
  if type(v) ~= "table" or seen[v] then return end
  seen[v] = true
  for k, x in pairs(v) do
    if type(k) == "string" then set[k] = true end
    all_keys(x, seen, set)
  end
end

--- Encode a value. opts.indent = true pretty-prints (2 spaces). Object
-- keys are always sorted so files are stable. Raises on values JSON
-- cannot hold (functions, cycles).
function M.encode(value, opts)
  opts = opts or {}
  local set, order = {}, {}
  all_keys(value, {}, set)
  for k in pairs(set) do order[#order + 1] = k end
  table.sort(order)
  local s, err = dkjson.encode(value, { indent = opts.indent and true or nil, keyorder = order })
  if not s then error("json.encode: " .. tostring(err), 2) end
  return s
end

--- Decode a JSON text. Returns the value, or nil, err. Numbers without a
-- fraction or exponent decode as integers; decoded arrays and objects carry
-- the json.array/json.object markers so they encode back the same way.
function M.decode(str)
  if type(str) ~= "string" then return nil, "json.decode: expected a string, got " .. type(str) end
  local ok, v, pos, err = pcall(dkjson.decode, str, 1, nil)
  if not ok then return nil, "invalid JSON: " .. tostring(v) end
  if err then return nil, ("invalid JSON at position %s: %s"):format(tostring(pos), err) end
  if v == nil and not str:match("^%s*null%s*$") then return nil, "invalid JSON: empty input" end
  return v
end

return M
