--- ctr.format: docker's --format templates (Go's text/template), for ps,
-- images, inspect, stats, events and the like.
--
--   local f = format.compile("{{.ID}}\t{{.Names}}", { fields = FIELDS, context = "*formatter.ContainerContext" })
--   io.stdout:write(f(row), "\n")
--
-- The template language is ctr.template's (fields `.A.B`, variables,
-- pipelines, if/else/range/with); this module evaluates it, with docker's
-- functions: json, index, join, split, upper, lower, title, len, printf,
-- print, println, pad, truncate, eq, ne, lt, le, gt, ge, and, or, not.
-- A value prints as Go prints it (a table as JSON, as our own extension;
-- a missing one as opts.missing, default "<no value>"). With opts.table a
-- leading "table " is dropped (see M.table for the header docker prints)
-- and the escapes \t and \n are turned into a tab and a newline. Template
-- errors are docker's, one line, exit 1: parse errors ("template parsing
-- error: template: :LINE: unclosed action"), a field not in opts.fields
-- ("can't evaluate field X in type CONTEXT", before anything is printed),
-- and execution errors ("template: :LINE:COL: executing "" at <.X>: ...";
-- with opts.missing = "error", "map has no entry for key").
local errors = require "ctr.errors"
local json = require "ctr.json"
local template = require "ctr.template"

local M = {}

local NULL = json.null
local funcs = require "ctr.template_funcs"
local gotype, is_list, text, truth = funcs.gotype, funcs.is_list, funcs.text, funcs.truth

-- the execution error of node at (line, col)
local function xerr(st, node, fmt, ...)
  errors.raise(1, "%stemplate: :%d:%d: executing \"\" at <%s>: " .. fmt, st.prefix, node[3], node[4],
    st.what or (type(node[2]) == "string" and node[2]) or "(...)", ...)
end

-- v's field path ".A.B" (node for the messages)
local function walk(st, v, path, node)
  for k in path:gmatch("[^.]+") do
    if v == nil or v == NULL then
      if st.missing == "error" then xerr(st, node, "nil pointer evaluating interface {}.%s", k) end
      return nil
    end
    if type(v) ~= "table" or is_list(v) and next(v) ~= nil then
      xerr(st, node, "can't evaluate field %s in type %s", k, gotype(v))
    end
    if v[k] == nil then
      if st.missing == "error" then xerr(st, node, "map has no entry for key %q", k) end
      return nil
    end
    v = v[k]
  end
  return v
end

local eval_pipe

local function eval_arg(st, a, dot)
  local kind = a[1]
  if kind == "dot" then return dot end
  if kind == "field" then return walk(st, dot, a[2], a) end
  if kind == "var" then
    local name, path = a[2]:match("^(%$[%w_]*)(.*)$")
    local v = st.vars[name]
    if v == nil and not st.declared[name] then xerr(st, a, "undefined variable: %s", name) end
    return walk(st, v, path, a)
  end
  if kind == "sub" then return walk(st, eval_pipe(st, a[2], dot), a.path or "", a) end
  if kind == "bool" then return a[2] == "true" end
  if kind == "nil" then return nil end
  if kind == "ident" then return st.call(st, a, {}) end
  return a[2] -- string, number
end

local function eval_cmd(st, cmd, dot, final, has_final)
  local head = cmd[1]
  if head[1] == "ident" then
    local args = {}
    for i = 2, #cmd do args[#args + 1] = eval_arg(st, cmd[i], dot) end
    if has_final then args[#args + 1] = final end
    return st.call(st, head, args, #cmd - 1 + (has_final and 1 or 0))
  end
  if #cmd > 1 or has_final then xerr(st, head, "can't give argument to non-function %s", head[2]) end
  return eval_arg(st, head, dot)
end

function eval_pipe(st, p, dot)
  local v, has = nil, false
  for _, cmd in ipairs(p.cmds) do
    v = eval_cmd(st, cmd, dot, v, has)
    has = true
  end
  if p.decl then
    st.vars[p.decl[#p.decl]] = v
    st.declared[p.decl[#p.decl]] = true
  end
  return v
end

local run

-- a new scope of variables for a block (restored after it)
local function scoped(st, fn)
  local vars, declared = st.vars, st.declared
  st.vars = setmetatable({}, { __index = vars })
  st.declared = setmetatable({}, { __index = declared })
  fn()
  st.vars, st.declared = vars, declared
end

local function set_vars(st, decl, k, v)
  if not decl then return end
  if #decl == 2 then st.vars[decl[1]], st.declared[decl[1]] = k, true end
  st.vars[decl[#decl]], st.declared[decl[#decl]] = v, true
end

local function range(st, n, dot, out)
  local decl = n[2].decl
  n[2].decl = nil -- the pipeline's value is the list; the variables are set per element
  local v = eval_pipe(st, n[2], dot)
  n[2].decl = decl
  local items = {}
  if type(v) == "table" and v ~= NULL then
    if is_list(v) then
      for i, x in ipairs(v) do items[#items + 1] = { i - 1, x } end
    else
      for k in pairs(v) do items[#items + 1] = { k } end
      table.sort(items, function(a, b) return tostring(a[1]) < tostring(b[1]) end)
      for _, it in ipairs(items) do it[2] = v[it[1]] end
    end
  elseif math.type(v) == "integer" then
    for i = 0, v - 1 do items[#items + 1] = { i, i } end
  elseif v ~= nil and v ~= NULL then
    xerr(st, n[2].cmds[1][1], "range can't iterate over %s", text(v))
  end
  if #items == 0 then
    if n.else_ then scoped(st, function() run(st, n.else_, dot, out) end) end
    return
  end
  for _, it in ipairs(items) do
    scoped(st, function()
      set_vars(st, decl, it[1], it[2])
      run(st, n.body, it[2], out)
    end)
  end
end

function run(st, nodes, dot, out)
  for _, n in ipairs(nodes) do
    local kind = n[1]
    if kind == "text" then out[#out + 1] = n[2]
    elseif kind == "action" then
      local v = eval_pipe(st, n[2], dot)
      if not n[2].decl then out[#out + 1] = text(v, st.missing_text) end
    elseif kind == "range" then range(st, n, dot, out)
    else -- if, with
      scoped(st, function()
        local v = eval_pipe(st, n[2], dot)
        if truth(v) then run(st, n.body, kind == "with" and v or dot, out)
        elseif n.else_ then run(st, n.else_, dot, out) end
      end)
    end
  end
end


local function call(st, node, args, nargs)
  local f = funcs.func(node[2])
  if not f then errors.raise(1, "%stemplate: :%d: function %q not defined", st.prefix, node[3], node[2]) end
  local ok, res = pcall(f, args, nargs or #args)
  if not ok then
    st.what = node[2]
    xerr(st, node, "error calling %s: %s", node[2], (errors.message(res):gsub("^[^:]*:%d+: ", "")))
  end
  return res
end

-- the parse, with docker's prefix on its errors (prefix: "template parsing error: ")
local function parse(tmpl, prefix)
  local ok, tree = pcall(template.parse, tmpl)
  if ok then return tree end
  errors.raise(1, "%s%s", prefix, errors.message(tree))
end

-- check the functions a tree calls exist (Go does at parse time)
local function check_funcs(nodes, prefix)
  local function pipe(p)
    for _, cmd in ipairs(p.cmds) do
      for _, a in ipairs(cmd) do
        if a[1] == "ident" and not funcs.func(a[2]) then
          errors.raise(1, "%stemplate: :%d: function %q not defined", prefix, a[3], a[2])
        elseif a[1] == "sub" then pipe(a[2]) end
      end
    end
  end
  for _, n in ipairs(nodes) do
    if n[1] ~= "text" then pipe(n[2]) end
    if n.body then check_funcs(n.body, prefix) end
    if n.else_ then check_funcs(n.else_, prefix) end
  end
end

--- Check a template before anything is printed: parse it (docker's parse
-- errors), check its functions and, with fields (the set of names a
-- top-level {{.Name}} may use), its fields (context: the type docker names
-- in its message). Returns the tree.
function M.check(tmpl, fields, context)
  local tree = parse(tmpl, "template parsing error: ")
  check_funcs(tree, "template parsing error: ")
  for _, f in ipairs(fields and template.root_fields(tree) or {}) do
    if not fields[f[1]] then
      errors.raise(1, "template: :%d:%d: executing \"\" at <.%s>: can't evaluate field %s in type %s",
        f[2], f[3], f[1], f[1], context or "")
    end
  end
  return tree
end

--- Expand a template (its text, or the tree check returned) for one
-- value v; opts as compile's.
function M.expand(tmpl, v, opts)
  opts = opts or {}
  local tree = type(tmpl) == "string" and M.check(tmpl) or tmpl
  local missing = opts.missing
  local st = {
    vars = { ["$"] = v }, declared = { ["$"] = true }, call = call, missing = missing,
    missing_text = (missing ~= nil and missing ~= "error") and missing or nil,
    prefix = missing == "error" and "template parsing error: " or "",
  }
  local out = {}
  run(st, tree, v, out)
  return table.concat(out)
end

--- Compile a template: check it (raising docker's errors) and return a
-- function(v) giving the expanded text for a value. opts: fields, context
-- (see check), missing ("error", or the text for a missing value), table
-- (accept docker's "table " directive and \t, \n escapes).
function M.compile(tmpl, opts)
  opts = opts or {}
  if opts.table then tmpl = tmpl:gsub("^table%s+", ""):gsub("\\t", "\t"):gsub("\\n", "\n") end
  local tree = M.check(tmpl, opts.fields, opts.context)
  return function(v) return M.expand(tree, v, opts) end
end

--- True when a --format value is docker's "table" directive.
function M.is_table(tmpl) return type(tmpl) == "string" and tmpl:match("^table%s") ~= nil or tmpl == "table" end

--- Lines for rows under a --format template, as docker prints them: with
-- the "table" directive, a header line (the template expanded with
-- headers, a map field -> column title) first and the columns aligned
-- (cells are separated by tabs); otherwise one expanded line per row.
-- opts as compile's. Returns the text (each line ending in a newline).
function M.render(tmpl, rows, headers, opts)
  opts = opts or {}
  local is_table = M.is_table(tmpl)
  if tmpl == "table" then tmpl = opts.default or "" end
  local f = M.compile(tmpl, { fields = opts.fields, context = opts.context, missing = opts.missing, table = true })
  local lines = {}
  if is_table then lines[1] = M.expand(M.check((tmpl:gsub("^table%s+", ""):gsub("\\t", "\t"):gsub("\\n", "\n"))), headers, { missing = "" }) end
  for _, r in ipairs(rows) do lines[#lines + 1] = f(r) end
  if not is_table then return #lines > 0 and table.concat(lines, "\n") .. "\n" or "" end
  local cells = {}
  for i, l in ipairs(lines) do
    cells[i] = {}
    for c in (l .. "\t"):gmatch("(.-)\t") do cells[i][#cells[i] + 1] = c end
  end
  return require("ctr.util").columns(cells)
end

return M
