--- ctr.labels: a container's labels (docker's Config.Labels).
--
-- Labels are a table of strings set at creation
-- (`container.run{labels = {svc = "web"}}`, `run --label svc=web`), kept in
-- the container's state (c.state.labels) and its Config.Labels (inspect),
-- shown by `ps --format '{{.Labels}}'` and selected by
-- `container.list{label = "svc=web"}` and `ps --filter label=svc=web`: a
-- filter "k=v" wants the label k with the value v, a filter "k" only the
-- label k; several filters must all match (as docker's).
local errors = require "ctr.errors"

local M = {}

--- The labels of a list of "k=v" strings (docker's --label; "k" alone is
-- k with an empty value), merged over base (a table, not changed).
-- Raises `invalid` for an empty key. Returns a new table.
function M.parse(list, base)
  local out = {}
  for k, v in pairs(base or {}) do out[k] = v end
  for _, s in ipairs(list or {}) do
    local k, v = tostring(s):match("^([^=]*)=(.*)$")
    if not k then k, v = tostring(s), "" end
    if k == "" or k:find("%s") then errors.throw("invalid", "invalid label %s: want KEY=VALUE", errors.quote(s)) end
    out[k] = v
  end
  return out
end

--- The "k=v" lines of a label file (docker's --label-file): blank lines
-- and lines starting with # are skipped. Raises `invalid` when it cannot be read.
function M.read_file(path)
  local f, err = io.open(path, "r")
  if not f then errors.throw("invalid", "cannot read label file: %s", err) end
  local out = {}
  for line in f:lines() do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then out[#out + 1] = line end
  end
  f:close()
  return out
end

--- A labels table with every key and value a string (numbers and booleans
-- written out); raises `invalid` for anything else.
function M.normalize(t)
  local out = {}
  for k, v in pairs(t or {}) do
    local tv = type(v)
    if type(k) ~= "string" or k == "" or (tv ~= "string" and tv ~= "number" and tv ~= "boolean") then
      errors.throw("invalid", "invalid label %s: labels are a table of strings, e.g. {svc = \"web\"}",
        errors.quote(tostring(k)))
    end
    out[k] = tostring(v)
  end
  return out
end

--- True when labels match every filter of filters (a string or a list of
-- "k=v" / "k").
function M.matches(labels, filters)
  if type(filters) == "string" then filters = { filters } end
  labels = labels or {}
  for _, f in ipairs(filters or {}) do
    local k, v = f:match("^([^=]*)=(.*)$")
    if k then
      if labels[k] ~= v then return false end
    elseif labels[f] == nil then
      return false
    end
  end
  return true
end

--- The labels as docker's ps prints them: "k=v,k2=v2", sorted by key.
function M.format(labels)
  local keys = {}
  for k in pairs(labels or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do keys[i] = k .. "=" .. tostring(labels[k]) end
  return table.concat(keys, ",")
end

return M
