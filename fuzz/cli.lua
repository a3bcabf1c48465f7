--- fuzz driver: ctr.cli.parse (the option parser every workflow uses).
-- The input is argv, NUL-separated; its first byte chooses
-- stop_at_positional. Properties: parse returns, or raises a ctr.errors
-- error with exit code 125 (never a Lua runtime error); every positional
-- and every option value is one of the arguments (or a part of one); kinds
-- hold (flag -> boolean, int -> integer, list -> list of strings).
local cli = require "ctr.cli"
local P = require "props"

local DEFS = {
  { "d", "detach", "flag", "" },
  { "i", "interactive", "flag", "" },
  { "t", "tty", "flag", "" },
  { "e", "env", "list", "" },
  { "v", "volume", "list", "" },
  { "p", "publish", "list", "" },
  { nil, "name", "string", "" },
  { "u", "user", "string", "" },
  { "m", "memory", "string", "" },
  { nil, "cpu-shares", "int", "" },
  { nil, "rm", "flag", "" },
  { "w", "workdir", "string", "" },
}
local KIND = {}
for _, d in ipairs(DEFS) do KIND[(d[2] or d[1]):gsub("-", "_")] = d[3] end

local EXIT = setmetatable({}, { __tostring = function() return "os.exit" end })
local sink = { write = function(self) return self end, flush = function() end }

local function parse(argv, info)
  local exit, stdout = os.exit, io.stdout
  os.exit = function() error(EXIT, 0) end
  io.stdout = sink
  local r = table.pack(pcall(cli.parse, argv, DEFS, info))
  os.exit, io.stdout = exit, stdout
  return table.unpack(r, 1, r.n)
end

local function is_part(s, argv)
  for _, a in ipairs(argv) do
    if a == s or a:find(s, 1, true) then return true end
  end
  return false
end

local function check_opts(opts, argv)
  for k, v in pairs(opts) do
    local kind = KIND[k]
    if not kind then P.fail("an option %q that no definition has", k) end
    if kind == "flag" and type(v) ~= "boolean" then P.fail("flag %s is a %s", k, type(v)) end
    if kind == "int" and math.type(v) ~= "integer" then P.fail("int %s is %s", k, tostring(v)) end
    if kind == "string" and not (type(v) == "string" and is_part(v, argv)) then
      P.fail("string %s = %q is not from the arguments", k, tostring(v))
    end
    if kind == "list" then
      for _, x in ipairs(v) do
        if not is_part(x, argv) then P.fail("list %s holds %q, not from the arguments", k, x) end
      end
    end
  end
end

return function(data)
  if #data == 0 then return end
  local info = { stop_at_positional = data:byte(1) % 2 == 1, command = "run", usage = "run" }
  local argv = P.split0(data:sub(2), 64)
  local ok, opts, pos = parse(argv, info)
  if not ok then
    if opts == EXIT then return end -- --help
    P.expected_error(opts, "cli.parse")
    if type(opts) ~= "table" or opts.code ~= 125 then P.fail("cli.parse raised without exit code 125") end
    return
  end
  check_opts(opts, argv)
  for _, s in ipairs(pos) do
    if not is_part(s, argv) then P.fail("positional %q is not an argument", s) end
  end
  if #pos > #argv then P.fail("more positionals than arguments") end
end
