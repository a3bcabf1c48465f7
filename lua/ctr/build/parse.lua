--- ctr.build.parse: Containerfile (Dockerfile) text to a list of
-- instructions, and docker's word processing ($VAR expansion, quotes).
--
--   local parse = require "ctr.build.parse"
--   local df = parse.parse(text, "Containerfile")
--   -- df.instructions[i] = { cmd = "RUN", line = 3, file =, flags = {network = "none"},
--   --                        args = "echo hi", json = nil | {"echo", "hi"} }
--
-- Parser directives (`# escape=` ` `, `# syntax=`) are read from the top of
-- the file only; the escape character ends a line to continue it; comment
-- lines and empty lines inside a continued instruction are dropped as
-- docker drops them. Heredocs (`RUN <<EOF`) are refused. An unsupported
-- instruction or flag, or a malformed instruction, is an "invalid" error
-- naming file:line.
local errors = require "ctr.errors"
local json = require "ctr.json"

local M = {}

--- The flags each supported instruction accepts (name -> true).
M.INSTRUCTIONS = {
  FROM = {}, RUN = { network = true }, COPY = { from = true, chown = true, chmod = true },
  ADD = { chown = true, chmod = true }, ENV = {}, ARG = {}, WORKDIR = {}, USER = {}, CMD = {},
  ENTRYPOINT = {}, EXPOSE = {}, VOLUME = {}, LABEL = {}, STOPSIGNAL = {}, SHELL = {},
  HEALTHCHECK = { interval = true, timeout = true, ["start-period"] = true, ["start-interval"] = true,
    retries = true },
}

-- instructions whose arguments may be a JSON array (exec form)
local JSON_FORM = { RUN = true, CMD = true, ENTRYPOINT = true, SHELL = true, COPY = true, ADD = true,
  VOLUME = true, HEALTHCHECK = false }

local function fail(file, line, fmt, ...)
  errors.throw("invalid", "%s:%d: " .. fmt, file, line, ...)
end

-- The lines of text (without their line ends).
local function split_lines(text)
  local t = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = (l:gsub("\r$", "")) end
  if t[#t] == "" then t[#t] = nil end
  return t
end

-- Read the parser directives at the top; returns escape char, directives,
-- index of the first line after them.
local function directives(lines, file)
  local d, i = {}, 1
  while lines[i] do
    local k, v = lines[i]:match("^%s*#%s*([%a]+)%s*=%s*(.-)%s*$")
    k = k and k:lower()
    if k ~= "escape" and k ~= "syntax" and k ~= "check" then break end
    if d[k] then fail(file, i, "parser directive %s given twice", k) end
    d[k] = v
    i = i + 1
  end
  local esc = d.escape or "\\"
  if esc ~= "\\" and esc ~= "`" then fail(file, 1, "invalid escape character %q (\\ or ` expected)", esc) end
  return esc, d, i
end

-- Whether line ends with the escape char (continued): returns the line without it.
local function continued(line, esc)
  local body = line:match("^(.-)" .. (esc == "`" and "`" or "\\") .. "[ \t]*$")
  return body
end

-- Logical lines: { text =, line = first physical line number }.
local function logical_lines(lines, first, esc)
  local out, cur, start = {}, nil, nil
  for i = first, #lines do
    local l = lines[i]
    local blank = l:match("^%s*$") ~= nil
    local comment = l:match("^%s*#") ~= nil
    if not (blank or comment) or cur then
      if cur and (blank or comment) then
        goto next -- dropped inside a continuation
      end
      local body = continued(l, esc)
      if cur then cur = cur .. (body or l) else cur, start = body or l, i end
      if not body then
        out[#out + 1] = { text = cur, line = start }
        cur = nil
      end
    end
    ::next::
  end
  if cur then out[#out + 1] = { text = cur, line = start } end
  return out
end

-- Leading --name[=value] flags of rest: flags table, the rest.
local function take_flags(rest, allowed, file, line, cmd)
  local flags = {}
  while rest:match("^%-%-") do
    local name, value, after = rest:match("^%-%-([%w%-]+)=(%S*)%s*(.*)$")
    if not name then
      name, after = rest:match("^%-%-([%w%-]+)%s*(.*)$")
      value = true
    end
    if not name then fail(file, line, "%s: malformed flag in %q", cmd, rest) end
    if not allowed[name] then fail(file, line, "%s: the flag --%s is not supported", cmd, name) end
    flags[name] = value
    rest = after
  end
  return flags, rest
end

-- The JSON (exec) form of args when it is one: a list of strings, or nil.
local function json_form(args)
  if not args:match("^%[") then return nil end
  local v = json.decode(args)
  if type(v) ~= "table" then return nil end
  for i = 1, #v do
    if type(v[i]) ~= "string" then return nil end
  end
  return json.array(v)
end

local function check_instruction(ins, file)
  local c, a = ins.cmd, ins.args
  local line = ins.line
  if a == "" and c ~= "HEALTHCHECK" then fail(file, line, "%s requires at least one argument", c) end
  if (c == "RUN" or c == "COPY" or c == "ADD") and not ins.json and a:match("<<%-?[\"']?[%a_]") then
    fail(file, line, "%s: heredocs (<<WORD) are not supported", c)
  end
  if c == "SHELL" and not ins.json then fail(file, line, "SHELL requires the arguments in JSON form") end
  if c == "FROM" then
    local n = select(2, a:gsub("%S+", ""))
    local as = a:match("^%S+%s+(%S+)%s+%S+$")
    if not (n == 1 or (n == 3 and as and as:upper() == "AS")) then
      fail(file, line, "FROM requires one image and optionally AS name, got %q", a)
    end
  end
  if (c == "COPY" or c == "ADD") and (ins.json and #ins.json or select(2, a:gsub("%S+", ""))) < 2 then
    fail(file, line, "%s requires at least two arguments (sources and destination)", c)
  end
  if c == "HEALTHCHECK" then
    local w = (a:match("^(%S+)") or ""):upper()
    if w ~= "NONE" and w ~= "CMD" then fail(file, line, "HEALTHCHECK requires NONE or CMD, got %q", a) end
  end
end

-- One logical line to an instruction table.
local function instruction(ll, file)
  local word, rest = ll.text:match("^%s*(%S+)%s*(.-)%s*$")
  local cmd = word:upper()
  local allowed = M.INSTRUCTIONS[cmd]
  if not allowed then
    local names = {}
    for k in pairs(M.INSTRUCTIONS) do names[#names + 1] = k end
    table.sort(names)
    fail(file, ll.line, "unsupported instruction %s (supported: %s)", word, table.concat(names, ", "))
  end
  local flags, orig
  orig = rest
  flags, rest = take_flags(rest, allowed, file, ll.line, cmd)
  local ins = { cmd = cmd, line = ll.line, file = file, flags = flags, args = rest,
    json = JSON_FORM[cmd] and json_form(rest) or nil }
  if cmd == "HEALTHCHECK" then
    local body = rest:match("^[Cc][Mm][Dd]%s+(.*)$")
    ins.json = body and json_form(body) or nil
  end
  ins.text = cmd .. (orig ~= "" and " " .. orig or "")
  check_instruction(ins, file)
  return ins
end

--- Parse Containerfile text (file: the name used in errors). Returns
-- { instructions = {...}, escape = "\\" | "`", directives = { syntax =, escape = },
-- notes = { messages } }. Raises an "invalid" error naming file:line.
function M.parse(text, file)
  file = file or "Containerfile"
  if type(text) ~= "string" then errors.throw("invalid", "%s: not a text", file) end
  local lines = split_lines(text)
  local esc, d, first = directives(lines, file)
  local out = { instructions = {}, escape = esc, directives = d, notes = {} }
  if d.syntax then
    out.notes[#out.notes + 1] = ("note: the syntax directive (%s) is ignored: this builder's own syntax is used"):format(d.syntax)
  end
  for _, ll in ipairs(logical_lines(lines, first, esc)) do
    out.instructions[#out.instructions + 1] = instruction(ll, file)
  end
  if #out.instructions == 0 then errors.throw("invalid", "%s: the file has no instructions", file) end
  if out.instructions[1].cmd ~= "FROM" and out.instructions[1].cmd ~= "ARG" then
    fail(file, out.instructions[1].line, "the first instruction must be FROM (or ARG before FROM)")
  end
  return out
end

-- ---- words: docker's quote removal and $VAR expansion ----------------------

-- ${NAME<op>word}: the expansion.
local function brace(name, op, word, vars)
  local v = vars[name]
  if op == "" then return v or "" end
  if op == ":-" then return (v and v ~= "") and v or word end
  if op == "-" then return v or word end
  if op == ":+" then return (v and v ~= "") and word or "" end
  if op == "+" then return v and word or "" end
  if op == ":?" or op == "?" then
    if v and (op == "?" or v ~= "") then return v end
    errors.throw("invalid", "%s: %s", name, word ~= "" and word or "is not set")
  end
  errors.throw("invalid", "unsupported modifier %q in ${%s%s}", op, name, op)
end

-- the variable at s[i] ("$" at i): value, next index
local function variable(s, i, vars, esc)
  local name = s:match("^[%a_][%w_]*", i + 1)
  if name then return vars[name] or "", i + 1 + #name end
  if s:sub(i + 1, i + 1) ~= "{" then return "$", i + 1 end
  local n2, op = s:match("^([%a_][%w_]*)([:]?[-+?]?)", i + 2)
  if not n2 then errors.throw("invalid", "bad substitution in %q", s) end
  local j, depth, word = i + 2 + #n2 + #op, 1, {}
  while j <= #s do
    local ch = s:sub(j, j)
    if ch == "}" then depth = depth - 1; if depth == 0 then break end end
    if ch == "$" then
      local v
      v, j = variable(s, j, vars, esc)
      word[#word + 1] = v
    else
      word[#word + 1] = ch
      j = j + 1
    end
  end
  if depth ~= 0 then errors.throw("invalid", "missing '}' in %q", s) end
  return brace(n2, op, table.concat(word), vars), j + 1
end

--- docker's word processing of s: quotes removed ('...' literal, "..."
-- with $ expansion), the escape char (esc, default "\\") quoting the next
-- character, $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} expanded from vars (a
-- map). split: return the whitespace-separated words (a list), else the
-- whole processed string.
function M.words(s, vars, esc, split)
  esc = esc or "\\"
  local words, cur, has, i, q = {}, {}, false, 1, nil
  while i <= #s do
    local ch = s:sub(i, i)
    if q == "'" then
      if ch == "'" then q = nil else cur[#cur + 1] = ch end
      i = i + 1
    elseif ch == esc and i < #s and (q == nil or s:sub(i + 1, i + 1):match("[\"$`\\]")) then
      cur[#cur + 1] = s:sub(i + 1, i + 1); has = true
      i = i + 2
    elseif ch == esc and q == '"' then
      cur[#cur + 1] = ch; i = i + 1
    elseif ch == "$" then
      local v
      v, i = variable(s, i, vars, esc)
      cur[#cur + 1] = v; has = true
    elseif (ch == "'" or ch == '"') and q == nil then
      q = ch; has = true; i = i + 1
    elseif ch == '"' and q == '"' then
      q = nil; i = i + 1
    elseif split and q == nil and ch:match("%s") then
      if has or #cur > 0 then words[#words + 1] = table.concat(cur) end
      cur, has = {}, false
      i = i + 1
    else
      cur[#cur + 1] = ch; i = i + 1
    end
  end
  if q then errors.throw("invalid", "unterminated quote in %q", s) end
  if not split then return table.concat(cur) end
  if has or #cur > 0 then words[#words + 1] = table.concat(cur) end
  return words
end

--- Only $VAR expansion of s (no quote removal): for the JSON form.
function M.expand(s, vars)
  local out, i = {}, 1
  while i <= #s do
    local ch = s:sub(i, i)
    if ch == "$" then
      local v
      v, i = variable(s, i, vars)
      out[#out + 1] = v
    else
      out[#out + 1] = ch; i = i + 1
    end
  end
  return table.concat(out)
end

--- ENV / LABEL / ARG arguments: a list of { key, value } pairs, from
-- `k=v k2="v 2"` or the legacy `k v w` (one pair, value the rest). vars
-- expands values (nil: no expansion, for ARG names).
function M.pairs_of(args, vars, esc, what)
  local list = {}
  local first = args:match("^%S+")
  if first and not first:find("=", 1, true) and what ~= "ARG" then
    local k, v = args:match("^(%S+)%s+(.*)$")
    if not k then errors.throw("invalid", "%s %s: a value is required", what, args) end
    return { { k, M.words(v, vars or {}, esc, false) } }
  end
  for _, w in ipairs(M.words(args, vars or {}, esc, true)) do
    local k, v = w:match("^([^=]+)=(.*)$")
    if not k and what ~= "ARG" then errors.throw("invalid", "%s: %q is not key=value", what, w) end
    list[#list + 1] = { k or w, v }
  end
  return list
end

return M
