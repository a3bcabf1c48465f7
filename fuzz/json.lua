--- fuzz driver: ctr.json (core.json_decode/json_encode in bindings/l_json.c).
-- Properties: any string of bytes encodes to JSON that decodes back to
-- it (or encode raises a clean error); decode never raises (a value, or nil and a one-line message);
-- a value decoded from a text without null re-encodes, and decoding that
-- gives the same value; encoding is stable (encode(decode(encode(v))) is
-- the same text); core.json_decode's fast path gives what jansson gives
-- (the same value, with the same markers, or the same error).
local json = require "ctr.json"
local core = require "ctr.core"
local P = require "props"
assert(core.json_decode, "the fuzz build's ctr.core has no json_decode")

local AMT, OMT = { __jsontype = "array" }, { __jsontype = "object" }

-- deep equality that also sees integer vs float, the markers and the
-- order next() walks a table in (a table built the same way)
local same = require "json_same"

return function(data)
  local fv, ferr = core.json_decode(data, AMT, OMT, true)
  local jv, jerr = core.json_decode(data, AMT, OMT)
  if not same(fv, jv) or ferr ~= jerr then
    P.fail("the fast decode differs from jansson's: %s / %s", tostring(ferr), tostring(jerr))
  end
  P.round_trip(json, data, "a string of the input's bytes")
  local ok, v, err = pcall(json.decode, data)
  if not ok then P.fail("json.decode raised: %s", tostring(v)) end
  if v == nil then
    if data:match("^%s*null") then return end -- JSON null (jansson also takes "null\0")
    if type(err) ~= "string" then P.fail("json.decode failed without a message") end
    if P.check_oneline and err:find("[%c]") then P.fail("json.decode's message has a control character: %q", err) end
    return
  end
  if data:find("null", 1, true) then return end -- null members/items are dropped by design
  local text = P.round_trip(json, v, "a decoded value")
  if not text then P.fail("json.encode of a decoded value raised") end
  if json.encode(json.decode(text)) ~= text then P.fail("encoding is not stable for %q", text) end
end
