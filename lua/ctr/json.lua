--- ctr.json: JSON over dkjson, with stable (sorted) keys, integers kept as
-- integers, and explicit array/object markers for empty tables.
--
--   json.encode({b = 1, a = {}}, {indent = true})
--   json.decode('{"n": 1234}').n  --> 1234 (math.type "integer")
--   json.encode({list = json.array({})}) --> {"list":[]}
--   json.encode({map = json.object({})}) --> {"map":{}}
--
-- The work is done in C by ctr.core (libjansson parses; the encoder writes
-- this layout): dkjson took ~0.7 ms for each 4 KB config. dkjson is the
-- fallback when the C module is not there, loaded only then.
local core_ok, core = pcall(require, "ctr.core")
local fast = core_ok and core.json_decode and core.json_encode
local dkjson
local function dk()
  if not dkjson then
    local vendored, m = pcall(require, "ctr.vendor.dkjson") -- precompiled copy in installs
    dkjson = vendored and m or require "dkjson"
  end
  return dkjson
end

local M = {}

--- The JSON null sentinel (decode returns nil for null; use this to write one).
M.null = setmetatable({}, { __jsontype = "null", __tojson = function() return "null" end,
  __tostring = function() return "null" end })

local array_mt = { __jsontype = "array" }
local object_mt = { __jsontype = "object" }

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
  if fast then
    local ok, s = pcall(core.json_encode, value, opts.indent and true or false)
    if not ok then error(s, 2) end
    return s
  end
  local dj = dk()
  local set, order = {}, {}
  all_keys(value, {}, set)
  for k in pairs(set) do order[#order + 1] = k end
  table.sort(order)
  local s, err = dj.encode(value, { indent = opts.indent and true or nil, keyorder = order })
  if not s then error("json.encode: " .. tostring(err), 2) end
  return s
end

--- Decode a JSON text. Returns the value, or nil, err. Numbers without a
-- fraction or exponent decode as integers; decoded arrays and objects carry
-- the json.array/json.object markers so they encode back the same way.
function M.decode(str)
  if type(str) ~= "string" then return nil, "json.decode: expected a string, got " .. type(str) end
  if fast then
    if not str:find("%S") then return nil, "invalid JSON: empty input" end
    return core.json_decode(str, array_mt, object_mt)
  end
  local ok, v, pos, err = pcall(dk().decode, str, 1, nil)
  if not ok then return nil, "invalid JSON: " .. tostring(v) end
  if err then return nil, ("invalid JSON at position %s: %s"):format(tostring(pos), err) end
  if v == nil and not str:match("^%s*null%s*$") then return nil, "invalid JSON: empty input" end
  return v
end

return M
