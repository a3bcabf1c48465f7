--- ctr.image.ref: image references "name[:tag]".
local M = {}

local function valid_component(c, first)
  if first and c:match("^[%w.-]+:%d+$") then return true end -- registry host:port
  return c:match("^[a-z0-9]+$") ~= nil or c:match("^[a-z0-9][a-z0-9._-]*[a-z0-9]$") ~= nil
end

--- Split and check a reference "name[:tag]". Returns name, tag (default
-- "latest"), or nil, err. Names are lowercase components ([a-z0-9] with
-- inner ".", "_", "-") separated by "/"; tags are [A-Za-z0-9_][A-Za-z0-9_.-]*
-- (at most 128 characters).
function M.parse_ref(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "invalid reference format: empty image name" end
  local name, tag = ref:match("^(.+):([%w_][%w_.-]*)$")
  if not name then name, tag = ref, "latest" end
  if #tag > 128 then return nil, "invalid reference format: tag too long: " .. ref end
  if name:match("^[0-9a-f]+$") and #name == 64 then
    return nil, "invalid repository name (" .. name .. "), cannot specify 64-byte hexadecimal strings"
  end
  if name:lower() ~= name and not name:match("^[^/]+:%d+/") then
    return nil, "invalid reference format: repository name must be lowercase: " .. ref
  end
  local i = 0
  for c in (name .. "/"):gmatch("([^/]*)/") do
    i = i + 1
    if not valid_component(c, i == 1 and name:find("/") ~= nil) then
      return nil, "invalid reference format: " .. ref
    end
  end
  return name, tag
end

--- Raise an "invalid" error unless ref is nil or a valid reference.
function M.check_ref(ref)
  if ref == nil then return end
  local ok, err = M.parse_ref(ref)
  if not ok then require("ctr.errors").throw("invalid", "%s", err) end
end

return M
