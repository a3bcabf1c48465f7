--- json_same: deep equality of two decoded JSON values that also sees
-- integer vs float, the markers (metatables) and the order next() walks a
-- table in (tables built the same way). Shared by spec/json_fast_spec.lua
-- and fuzz/json.lua (the fuzz targets' Lua path has spec/ in it).
local function same(a, b)
  if type(a) ~= type(b) or math.type(a) ~= math.type(b) then return false end
  if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
  if getmetatable(a) ~= getmetatable(b) then return false end
  local ka, kb = next(a), next(b)
  while ka ~= nil or kb ~= nil do
    if ka ~= kb or not same(a[ka], b[kb]) then return false end
    ka, kb = next(a, ka), next(b, kb)
  end
  return true
end

return same
