--- ctr.envfile: environment files as docker's --env-file reads them.
--
-- One variable a line: `KEY=VALUE` sets KEY to VALUE exactly as written
-- (spaces and quotes included: nothing is trimmed or unquoted after the
-- `=`); a bare `KEY` takes the host's value of KEY, or is left out when the
-- host has none. Leading whitespace is dropped; empty lines and lines whose
-- first other character is `#` are skipped; a UTF-8 byte order mark at the
-- start and a carriage return at a line's end are ignored. A name that is
-- empty or holds whitespace is an error ("invalid", exit 125). Used by
-- `run --env-file` (ctr.container) and `exec --env-file` (scripts/exec.lua).
local errors = require "ctr.errors"

local M = {}

-- one line of an env file: the "KEY=VALUE" it gives, or nil for none
local function entry(line, lookup, where)
  line = line:gsub("^%s+", "")
  if line == "" or line:sub(1, 1) == "#" then return nil end
  local name, value = line:match("^([^=]*)=(.*)$")
  name = name or line
  if name == "" then errors.throw("invalid", "%s: no variable name in %s", where, errors.quote(line)) end
  if name:find("%s") then
    errors.throw("invalid", "%s: variable %s contains whitespace", where, errors.quote(name))
  end
  if value then return name .. "=" .. value end
  local host = lookup(name)
  return host and (name .. "=" .. host) or nil
end

--- Parse the text of an env file into a list of "KEY=VALUE" (the rules
-- above). lookup(name) gives the host's value of a bare KEY (default
-- os.getenv); where names the file in messages. Raises "invalid".
function M.parse(text, lookup, where)
  lookup, where = lookup or os.getenv, where or "env file"
  local out, n = {}, 0
  text = text:gsub("^\239\187\191", "")
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local e = entry(line:gsub("\r$", ""), lookup, ("%s line %d"):format(where, n))
    if e then out[#out + 1] = e end
  end
  return out
end

--- Read an env file (see parse); an unreadable file raises "invalid"
-- ("cannot read env file: ...").
function M.read(path, lookup)
  local f, err = io.open(path, "r")
  if not f then errors.throw("invalid", "cannot read env file: %s", err) end
  local text = f:read("a")
  f:close()
  if not text then errors.throw("invalid", "cannot read env file: %s", path) end
  return M.parse(text, lookup, path)
end

--- The environment of --env-file files then -e entries, in that order (as
-- docker merges them): a list of "KEY=VALUE" and bare "KEY" (the -e ones
-- are kept as given; the API resolves a bare KEY).
function M.collect(files, env)
  local out = {}
  for _, f in ipairs(files or {}) do
    for _, e in ipairs(M.read(f)) do out[#out + 1] = e end
  end
  for _, e in ipairs(env or {}) do out[#out + 1] = e end
  return out
end

return M
