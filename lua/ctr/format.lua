--- ctr.format: docker's --format templates, for ps, inspect and the like.
--
--   local f = format.compile("{{.ID}}\t{{.Names}}", { fields = FIELDS, context = "*formatter.ContainerContext" })
--   io.stdout:write(f(row), "\n")
--
-- Actions: `{{.Field}}` and `{{.A.B}}` (a value: a table prints as JSON),
-- `{{.}}` (the whole value as JSON), `{{json .}}` and `{{json .A.B}}` (JSON).
-- With opts.table a leading "table " is dropped (docker's table directive:
-- no header is printed) and the escapes \t and \n are turned into a tab and
-- a newline. Template errors are docker's, one line, exit 1: an action left
-- open ("template parsing error: template: :LINE: unclosed action"), a
-- field not in opts.fields ("can't evaluate field X in type CONTEXT"), and
-- with opts.missing = "error" a key the value does not have ("map has no
-- entry for key"). Otherwise a missing value prints opts.missing (default
-- "<no value>", docker's).
local errors = require "ctr.errors"
local json = require "ctr.json"

local M = {}

-- the line of position pos (1-based) and the position its line starts at
local function line_of(tmpl, pos)
  local before = tmpl:sub(1, pos)
  return select(2, before:gsub("\n", "")) + 1, (before:match(".*()\n") or 0) + 1
end

--- Check a template before anything is printed (see above for the errors;
-- fields: the set of names a top-level {{.Name}} may use, or nil for any;
-- context: the type docker names in its message).
function M.check(tmpl, fields, context)
  local pos = 1
  while true do
    local s = tmpl:find("{{", pos, true)
    if not s then return end
    local line, bol = line_of(tmpl, s)
    local e = tmpl:find("}}", s + 2, true)
    if not e then errors.raise(1, "template parsing error: template: :%d: unclosed action", line) end
    local lead, f = tmpl:sub(s + 2, e - 1):match("^(%s*)%.([%w_]+)%s*$")
    if fields and f and not fields[f] then
      errors.raise(1, "template: :%d:%d: executing \"\" at <.%s>: can't evaluate field %s in type %s",
        line, s + 2 + #lead - bol, f, f, context or "")
    end
    pos = e + 2
  end
end

-- the value at a dotted path (".A.B"; "." is v itself); a missing key is
-- nil, or docker's error with missing == "error"
local function lookup(v, path, missing)
  for k in path:gmatch("[^.]+") do
    if type(v) ~= "table" or v[k] == nil then
      if missing ~= "error" then return nil end
      errors.raise(1, "template parsing error: template: :1: executing \"\" at <%s>: map has no entry for key %q", path, k)
    end
    v = v[k]
  end
  return v
end

--- Expand a checked template for one value v (a table); opts as compile's.
function M.expand(tmpl, v, opts)
  opts = opts or {}
  local s = tmpl:gsub("{{%s*json%s+(%.[%w_.]*)%s*}}", function(p) return json.encode(lookup(v, p, opts.missing)) end)
  return (s:gsub("{{%s*(%.[%w_.]*)%s*}}", function(p)
    local x = lookup(v, p, opts.missing)
    if type(x) == "table" then return json.encode(x) end
    if x == nil then return opts.missing ~= "error" and opts.missing or "<no value>" end
    return tostring(x)
  end))
end

--- Compile a template: check it (raising docker's errors) and return a
-- function(v) giving the expanded text for a value. opts: fields, context
-- (see check), missing ("error", or the text for a missing value), table
-- (accept docker's "table " directive and \t, \n escapes).
function M.compile(tmpl, opts)
  opts = opts or {}
  if opts.table then tmpl = tmpl:gsub("^table%s+", ""):gsub("\\t", "\t"):gsub("\\n", "\n") end
  M.check(tmpl, opts.fields, opts.context)
  return function(v) return M.expand(tmpl, v, opts) end
end

return M
