--- ctr.template: the part of Go's text/template that docker's --format
-- templates use: a tokenizer, a parse tree and an evaluator.
--
--   local tree = template.parse("{{range .Mounts}}{{.Source}} {{end}}")  -- ctr.format evaluates it
--
-- Actions: pipelines (`.A.B`, `.`, `$`, `$x.A`, "strings", `raw`, numbers,
-- true/false/nil, (sub pipelines), functions with arguments, `a | f b`),
-- `if`/`else if`/`else`/`end`, `range` (with `$v :=` or `$k, $v :=`;
-- `else` for an empty list), `with`, `$x := pipeline`, comments `/* */`
-- and the trim markers `{{-` and `-}}`. Errors are raised as ctr.errors
-- values (exit 1) with Go's messages: parse errors "template: :LINE: msg",
-- execution errors "template: :LINE:COL: executing "" at <NODE>: msg".
local errors = require "ctr.errors"

local M = {}

local function perr(line, fmt, ...)
  errors.raise(1, "template: :%d: " .. fmt, line, ...)
end

-- The lexer: the template's text and actions as a list of items
-- {kind, value, line, col} (kinds: text, field, var, string, number, ident,
-- bool, nil, pipe, lparen, rparen, comma, declare, dot, eoa (end of action)).
local function lex_action(src, i, stop, line, col0, items)
  local function add(kind, v, at) items[#items + 1] = { kind, v, line, col0 + at } end
  while i < stop do
    local c = src:sub(i, i)
    if c:match("%s") then i = i + 1
    elseif c == "|" then add("pipe", c, i); i = i + 1
    elseif c == "(" then add("lparen", c, i); i = i + 1
    elseif c == ")" then add("rparen", c, i); i = i + 1
    elseif c == "," then add("comma", c, i); i = i + 1
    elseif src:find("^:=", i) then add("declare", ":=", i); i = i + 2
    elseif src:find("^=[^=]", i) then add("declare", "=", i); i = i + 1
    elseif c == '"' then
      local j, s = i + 1, {}
      while true do
        local ch = src:sub(j, j)
        if j >= stop or ch == "\n" then perr(line, "unterminated quoted string") end
        if ch == '"' then break end
        if ch == "\\" then
          local e = src:sub(j + 1, j + 1)
          s[#s + 1] = ({ n = "\n", t = "\t", r = "\r", ['"'] = '"', ["\\"] = "\\" })[e] or ("\\" .. e)
          j = j + 2
        else s[#s + 1] = ch; j = j + 1 end
      end
      add("string", table.concat(s), i); i = j + 1
    elseif c == "`" then
      local j = src:find("`", i + 1, true)
      if not j or j >= stop then perr(line, "unterminated raw quoted string") end
      add("string", src:sub(i + 1, j - 1), i); i = j + 1
    elseif c == "." or c == "$" then
      local w = src:match("^[%.%$][%w_%.]*", i)
      if c == "." and w:match("^%.%d") then
        add("number", tonumber(src:match("^[%d%.eE+-]+", i)), i); i = i + #src:match("^[%d%.eE+-]+", i)
      else
        add(c == "$" and "var" or (w == "." and "dot" or "field"), w, i); i = i + #w
      end
    elseif c:match("[%d%-+]") then
      local w = src:match("^[-+]?[%w%.]+", i)
      local n = tonumber(w)
      if not n then perr(line, "bad number syntax: %q", w) end
      add("number", n, i); i = i + #w
    elseif c:match("[%a_]") then
      local w = src:match("^[%w_]+", i)
      local kind = (w == "true" or w == "false") and "bool" or (w == "nil" and "nil" or "ident")
      add(kind, w, i); i = i + #w
    else perr(line, "unexpected %q in command", c) end
  end
  items[#items + 1] = { "eoa", "", line, col0 + stop }
end

--- Split src into items (see above); raises parse errors.
function M.lex(src)
  local items, pos, len = {}, 1, #src
  local function line_at(p) return select(2, src:sub(1, p - 1):gsub("\n", "")) + 1 end
  while pos <= len do
    local s = src:find("{{", pos, true)
    local text = src:sub(pos, (s or len + 1) - 1)
    if s and src:sub(s + 2, s + 3) == "- " then text = text:gsub("%s+$", "") end
    if text ~= "" then items[#items + 1] = { "text", text, line_at(pos), 0 } end
    if not s then break end
    local line = line_at(s)
    local e = src:find("}}", s + 2, true)
    if not e then perr(line, "unclosed action") end
    local a, b = s + 2, e
    if src:sub(a, a + 1) == "- " then a = a + 2 end
    local trim_right = src:sub(e - 2, e - 1) == " -"
    if trim_right then b = e - 2 end
    local bol = (src:sub(1, s):match(".*()\n") or 0) -- columns count from 0 in the line
    if not src:sub(a, b - 1):match("^%s*/%*.-%*/%s*$") then -- a comment is nothing
      lex_action(src, a, b, line, -bol - 1, items)
    end
    pos = e + 2
    if trim_right then pos = src:find("[^%s]", pos) or len + 1 end
  end
  return items
end

-- The parser: a list of nodes. Node kinds: text, action {pipe}, if {pipe,
-- body, else_}, range {pipe, body, else_, k, v}, with {pipe, body, else_}.
-- A pipe is {cmds = {cmd...}, decl = {names}}; a cmd is a list of args;
-- an arg is {kind, value, line, col} or {kind = "pipe", ...}.
local Parser = {}
Parser.__index = Parser

--- The parser's next item (not consumed).
Parser.peek = function(self) return self.items[self.i] end
--- Consume and return the next item.
Parser.next = function(self) self.i = self.i + 1; return self.items[self.i - 1] end

--- One operand of a command: a value, or a (sub pipeline) with an optional .Field after it.
Parser.operand = function(self)
  local it = self:next()
  if it[1] == "lparen" then
    local p = self:pipeline("rparen")
    local rp, nx = self.items[self.i - 1], self:peek()
    local node = { "sub", p, it[3], it[4] }
    if nx[1] == "field" and nx[4] == rp[4] + 1 then node.path = self:next()[2] end -- (...).Field
    return node
  end
  if it[1] == "eoa" or it[1] == "pipe" or it[1] == "rparen" then
    perr(it[3], "missing value for command")
  end
  return it
end

--- A command: its operands until a pipe, the end of the action or stop.
Parser.command = function(self, stop)
  local cmd = {}
  while true do
    local k = self:peek()[1]
    if k == "eoa" or k == "pipe" or k == stop then break end
    cmd[#cmd + 1] = self:operand()
  end
  if #cmd == 0 then perr(self:peek()[3], "missing value for command") end
  return cmd
end

--- A pipeline (with its `$x :=` or `$k, $v :=` declaration) until the end of the action or stop.
Parser.pipeline = function(self, stop)
  local p = { cmds = {} }
  local a, b, c = self.items[self.i], self.items[self.i + 1], self.items[self.i + 2]
  if a[1] == "var" and b[1] == "declare" then
    p.decl = { a[2] }; self.i = self.i + 2
  elseif a[1] == "var" and b[1] == "comma" and c[1] == "var" and self.items[self.i + 3][1] == "declare" then
    p.decl = { a[2], c[2] }; self.i = self.i + 4
  end
  while true do
    p.cmds[#p.cmds + 1] = self:command(stop)
    local it = self:next()
    if it[1] == (stop or "eoa") then return p end
    if it[1] ~= "pipe" then perr(it[3], "unexpected %q in operand", it[2]) end
  end
end

local KEYWORDS = { ["if"] = true, range = true, with = true, ["else"] = true, ["end"] = true }

--- Nodes until the end (or, in a block, until {{end}} or {{else}}: returns the word too).
Parser.list = function(self, in_block)
  local nodes = {}
  while true do
    local it = self:peek()
    if not it then
      if in_block then perr(self.items[#self.items] and self.items[#self.items][3] or 1, "unexpected EOF") end
      return nodes
    end
    if it[1] == "text" then nodes[#nodes + 1] = self:next()
    elseif it[1] == "ident" and KEYWORDS[it[2]] then
      self:next()
      local w = it[2]
      if w == "end" or w == "else" then
        if not in_block then perr(it[3], "unexpected {{%s}}", w) end
        return nodes, w, it
      end
      nodes[#nodes + 1] = self:block(w, it)
    else
      nodes[#nodes + 1] = { "action", self:pipeline(), it[3], it[4] }
    end
  end
end

--- An if, range or with block whose keyword item was it, up to its {{end}}.
Parser.block = function(self, w, it)
  local node = { w, self:pipeline(), it[3], it[4] }
  local body, ended = self:list(true)
  node.body = body
  if ended == "else" then
    local nx = self:peek()
    if nx and nx[1] == "ident" and nx[2] == "if" and w == "if" then -- else if: a nested if
      self:next()
      node.else_ = { self:block("if", nx) }
      return node
    end
    if self:next()[1] ~= "eoa" then perr(it[3], "unexpected tokens after {{else}}") end
    node.else_, ended = self:list(true)
  end
  if ended ~= "end" then perr(it[3], "expected end; found {{else}}") end
  if self:next()[1] ~= "eoa" then perr(it[3], "unexpected tokens after {{end}}") end
  return node
end

--- Parse a template into its tree (raises docker's parse errors).
function M.parse(src)
  local p = setmetatable({ items = M.lex(src), i = 1 }, Parser)
  return p:list(false)
end

-- the fields read from the top-level value (not inside range or with,
-- where the dot is another value): {{name, line, col}...}
local function pipe_fields(p, out)
  for _, cmd in ipairs(p.cmds) do
    for _, a in ipairs(cmd) do
      if a[1] == "field" then out[#out + 1] = { a[2]:match("^%.([^.]*)"), a[3], a[4] }
      elseif a[1] == "sub" then pipe_fields(a[2], out) end
    end
  end
end

--- The fields a template reads from its top-level value, for a check
-- before anything is printed: a list of {name, line, col}.
function M.root_fields(nodes, out)
  out = out or {}
  for _, n in ipairs(nodes) do
    if n[1] ~= "text" then pipe_fields(n[2], out) end
    if n[1] == "if" then M.root_fields(n.body, out) end
    if n.else_ then M.root_fields(n.else_, out) end
  end
  return out
end

return M
