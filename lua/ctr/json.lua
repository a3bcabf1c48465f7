--- ctr.json: JSON with stable (sorted) keys, integers kept as integers, and
-- explicit array/object markers for empty tables.
--
--   json.encode({b = 1, a = {}}, {indent = true})
--   json.decode('{"n": 1234}').n  --> 1234 (math.type "integer")
--   json.encode({list = json.array({})}) --> {"list":[]}
--   json.encode({map = json.object({})}) --> {"map":{}}
--
-- The work is done in C by ctr.core (libjansson parses; the encoder writes
-- this layout, bindings/l_json.c).
local core = require "ctr.core"
local errors = require "ctr.errors"

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

--- Encode a value. opts.indent = true pretty-prints (2 spaces). Object
-- keys are always sorted so files are stable. Raises ("invalid") on values
-- JSON cannot hold (functions, cycles).
function M.encode(value, opts)
  opts = opts or {}
  local ok, s = pcall(core.json_encode, value, opts.indent and true or false)
  if not ok then
    errors.rethrow_interrupt(s)
    errors.throw("invalid", "%s", errors.message(s))
  end
  return s
end

--- Decode a JSON text. Returns the value, or nil, err. Numbers without a
-- fraction or exponent decode as integers; decoded arrays and objects carry
-- the json.array/json.object markers so they encode back the same way.
-- keys (optional, a set {name = true, ...}): of a top-level object, only
-- the members with those keys are made (the whole text is still checked);
-- a second argument that is not a table is ignored (json.decode(f()) with
-- an f that returns more than the text).
function M.decode(str, keys)
  if type(str) ~= "string" then return nil, "json.decode: expected a string, got " .. type(str) end
  if not str:find("%S") then return nil, "invalid JSON: empty input" end
  local v, err = core.json_decode(str, array_mt, object_mt, false, type(keys) == "table" and keys or nil)
  -- a Ctrl-C that came while decoding is not bad JSON: it goes on up
  if v == nil and type(err) == "table" and err.kind == "interrupted" then error(err, 0) end
  return v, err
end

--- Read the JSON file `file` of every directory dir/names[i], relative to
-- one open of dir (core.json_read_under): values[i] is the decoded object
-- or array (keys: as decode's), or the file's text when it is something
-- else or not plain JSON (decode it with json.decode, which has the last
-- word and words the error), and infos[i] its fingerprint
-- ("INO:SIZE:MTIME_NS"); values[i] is false and infos[i] the error when
-- it cannot be read. nil, err when dir cannot be opened.
function M.read_under(dir, names, file, keys)
  return core.json_read_under(dir, names, file, array_mt, object_mt, keys)
end

return M
