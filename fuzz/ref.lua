--- fuzz driver: image references (ctr.image.parse_ref) and --change
-- instructions (ctr.image.apply_changes). The first byte chooses which.
-- Properties: parse_ref returns name, tag or nil, err (never raises); an
-- accepted name has only [a-z0-9._-] components separated by single "/"
-- (a registry host:port first), none "." or "..", and reparsing
-- "name:tag" gives it back; apply_changes returns a config that encodes as
-- JSON and decodes back the same, or raises a message (never a Lua
-- runtime error).
local image = require "ctr.image"
local json = require "ctr.json"
local P = require "props"

local function check_name(name, tag, ref)
  if name:find("//", 1, true) or name:sub(1, 1) == "/" or name:sub(-1) == "/" then
    P.fail("accepted %q: empty path component", ref)
  end
  local i = 0
  for c in name:gmatch("[^/]+") do
    i = i + 1
    local host = i == 1 and name:find("/", 1, true) and c:match("^[%w.-]+:%d+$")
    if not host and not c:match("^[a-z0-9._-]+$") then P.fail("accepted %q: component %q", ref, c) end
    if c == "." or c == ".." then P.fail("accepted %q: component %q", ref, c) end
  end
  if not tag:match("^[%w_][%w_.-]*$") or #tag > 128 then P.fail("accepted %q: tag %q", ref, tag) end
  local n2, t2 = image.parse_ref(name .. ":" .. tag)
  if n2 ~= name or t2 ~= tag then P.fail("reparsing %q gave %s:%s", ref, tostring(n2), tostring(t2)) end
end

local function fuzz_ref(ref)
  local ok, name, tag = pcall(image.parse_ref, ref)
  if not ok then P.fail("parse_ref raised: %s", tostring(name)) end
  if name == nil then
    if type(tag) ~= "string" then P.fail("parse_ref failed without a message") end
    return
  end
  check_name(name, tag, ref)
end

local function fuzz_changes(data)
  local list = {}
  for line in (data .. "\n"):gmatch("([^\n]*)\n") do list[#list + 1] = line end
  local ok, c = pcall(image.apply_changes, nil, list)
  if not ok then
    P.expected_error(c, "apply_changes")
    return
  end
  P.round_trip(json, c, "the changed config")
end

return function(data)
  if #data == 0 then return end
  if data:byte(1) % 2 == 0 then fuzz_ref(data:sub(2)) else fuzz_changes(data:sub(2)) end
end
