--- props: helpers shared by the Lua fuzz drivers.
local M = {}

--- Deep equality of two decoded JSON values (metatables ignored, number
-- subtypes compared: an integer never turns into a float).
function M.equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return math.type(a) == math.type(b) and a == b end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not M.equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- Fail (the fuzzer saves the input) with a formatted message.
function M.fail(fmt, ...)
  error(string.format(fmt, ...), 0)
end

--- Raise unless e is an error the code under test means to raise: a
-- ctr.errors value or a message, not a Lua runtime error (those carry a
-- "file.lua:line:" position, which error(msg, 0) never adds).
function M.expected_error(e, where)
  local msg = type(e) == "table" and e.msg or e
  if type(msg) ~= "string" then M.fail("%s raised a %s", where, type(e)) end
  if msg:match("^[^\n]-%.lua:%d+: ") or msg:match("^%[string ") or msg:match("^[^\n]-%.c:%d+: ") then
    M.fail("%s raised a Lua runtime error: %s", where, msg)
  end
  return msg
end

--- Bytes in JSON strings: unless FUZZ_SKIP_BYTES=1, json.encode of a string
-- that is not UTF-8 must raise or write JSON that decodes to the same bytes.
-- spec/fuzz_spec.lua sets it (and says pending) while the encoder of the
-- tree under test writes raw bytes (today's base: issue 17, bytes-clean).
M.check_bytes = os.getenv("FUZZ_SKIP_BYTES") ~= "1"

--- One-line messages: unless FUZZ_SKIP_ONELINE=1, an error message holds no
-- control character (jansson quotes the input "near" the error verbatim).
M.check_oneline = os.getenv("FUZZ_SKIP_ONELINE") ~= "1"

--- True when a value holds only valid UTF-8 strings without NUL (keys too).
function M.utf8_clean(v)
  if type(v) == "string" then return utf8.len(v) ~= nil and not v:find("\0", 1, true) end
  if type(v) ~= "table" then return true end
  for k, x in pairs(v) do
    if not M.utf8_clean(k) or not M.utf8_clean(x) then return false end
  end
  return true
end

--- encode v with json: raises a clean error, or round-trips exactly.
function M.round_trip(json, v, what)
  if not M.check_bytes and not M.utf8_clean(v) then return end
  local ok, text = pcall(json.encode, v)
  if not ok then
    M.expected_error(text, what)
    return
  end
  local back, err = json.decode(text)
  if back == nil and text ~= "null" then M.fail("%s: json.encode wrote invalid JSON %q: %s", what, text, tostring(err)) end
  if not M.equal(v, back) then M.fail("%s: JSON round trip changed the value: %q", what, text) end
  return text
end

--- Split data at NUL bytes into at most max strings.
function M.split0(data, max)
  local t = {}
  for s in (data .. "\0"):gmatch("([^%z]*)%z") do
    if #t >= max then break end
    t[#t + 1] = s
  end
  return t
end

return M
