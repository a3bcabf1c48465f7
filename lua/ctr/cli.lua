--- ctr.cli: docker-style command-line parsing for workflows.
--
-- A workflow describes its options once:
--
--   local opts, args = cli.parse(arg, {
--     { "d", "detach", "flag", "Run in the background and print the id" },
--     { "e", "env", "list", "Set an environment variable" },
--     { nil, "name", "string", "Assign a name" },
--   }, { usage = "run [OPTIONS] IMAGE [COMMAND [ARG...]]", stop_at_positional = true })
--
-- Short flags combine (-it, -dit), values come as `-e X`, `-eX`,
-- `--env X` or `--env=X`; "list" options repeat; `--` ends the options.
-- With stop_at_positional, the first non-option and everything after it are
-- positional (docker run IMAGE CMD -x: -x belongs to CMD). `--help` prints
-- the usage and the option table and exits 0. Errors raise exit code 125.
--
-- An option can also say which key of the API's option table it fills and
-- how its value is parsed (the kind):
--
--   { "m", "memory", "size", "Memory limit", key = "memory" }
--
-- Kinds: flag, string, list (repeats), int, number, size ("32m": bytes as
-- cgroup.parse_memory reads them; "-1" too with allow_unlimited), duration
-- ("1m30s", "500ms", "10": seconds as a number), map (repeated KEY=VALUE:
-- a table; a bare KEY is KEY=""). A def may carry its own parse = function(s)
-- returning the value or raising. cli.parse returns, besides the options and
-- the positional arguments, that API option table, so a workflow is
-- `local _, args, o = cli.parse(...)`, then `container.run(o)`.
local errors = require "ctr.errors"

local M = {}

local function key(def) return (def[2] or def[1]):gsub("-", "_") end

local function index(defs)
  local short, long = {}, {}
  for _, d in ipairs(defs) do
    if d[1] then short[d[1]] = d end
    if d[2] then long[d[2]] = d end
  end
  return short, long
end

--- The help text for a usage line and option definitions.
function M.help(defs, info)
  local out = { "Usage:  luac-ctr " .. (info and info.usage or "") }
  if info and info.description then out[#out + 1] = "\n" .. info.description end
  out[#out + 1] = "\nOptions:"
  for _, d in ipairs(defs) do
    local names = (d[1] and ("-" .. d[1] .. ", ") or "    ") .. (d[2] and ("--" .. d[2]) or "")
    if d[3] ~= "flag" then names = names .. " " .. d[3] end
    out[#out + 1] = string.format("  %-28s %s", names, d[4] or "")
  end
  return table.concat(out, "\n") .. "\n"
end

local function bad(def, value, why)
  errors.raise(125, "invalid argument %q for \"--%s\" flag: %s", value, def[2] or def[1], why)
end

local DUR = { h = 3600, m = 60, s = 1, ms = 1e-3, us = 1e-6, ["µs"] = 1e-6, ns = 1e-9 }

--- Parse a duration as docker's flags take it: Go's form ("1h30m", "1.5s",
-- "300ms"; units h, m, s, ms, us, ns) or a plain number of seconds ("10").
-- Returns the seconds (a number), or nil and a message.
function M.parse_duration(s)
  s = tostring(s)
  local n = tonumber(s)
  if n and s:match("^%s*[%d.]+%s*$") then return n end
  if s == "" or not s:match("^[%d.]") then return nil, ("invalid duration %q"):format(s) end
  local total, rest = 0, s
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d*%.?%d+)(%a+)(.*)$")
    if not num then num, unit, tail = rest:match("^(%d*%.?%d+)(µs)(.*)$") end
    if not num or not DUR[unit] then return nil, ("invalid duration %q"):format(s) end
    total, rest = total + tonumber(num) * DUR[unit], tail
  end
  return total
end

-- the value of one option, parsed as its kind says
local PARSE = {
  int = function(def, v)
    local n = math.tointeger(tonumber(v))
    if not n then bad(def, v, "not an integer") end
    return n
  end,
  number = function(def, v)
    local n = tonumber(v)
    if not n or n ~= n then bad(def, v, "not a number") end
    return n
  end,
  size = function(def, v)
    if def.allow_unlimited and v == "-1" then return -1 end
    local ok, n = pcall(require("ctr.cgroup").parse_memory, v)
    if not ok then
      errors.rethrow_interrupt(n)
      errors.raise(125, errors.message(n))
    end
    return n
  end,
  duration = function(def, v)
    local n, err = M.parse_duration(v)
    if not n then bad(def, v, err) end
    return n
  end,
}

--- The value of an option def for one argument string, parsed as its kind
-- (or its own parse function) says; raises (exit 125) on a bad value.
function M.value(def, v)
  if def.parse then return def.parse(v) end
  local p = PARSE[def[3]]
  return p and p(def, v) or v
end

local function set(opts, def, value, api)
  local k = key(def)
  if def[3] == "flag" then
    opts[k] = value
  elseif def[3] == "list" then
    opts[k] = opts[k] or {}
    table.insert(opts[k], value)
  elseif def[3] == "map" then
    local mk, mv = value:match("^([^=]*)=(.*)$")
    opts[k] = opts[k] or {}
    opts[k][mk or value] = mv or ""
  else
    opts[k] = M.value(def, value)
  end
  if def.key then api[def.key] = opts[k] end
end

local function take_value(argv, i, name)
  local v = argv[i + 1]
  if v == nil then errors.raise(125, "flag needs an argument: %s", name) end
  return v, i + 1
end

-- --name, --name=value or --name value; returns the index of the last argument used
local function long_opt(argv, i, long, info, opts, api)
  local a = argv[i]
  local name, value = a:match("^%-%-([^=]+)=(.*)$")
  name = name or a:sub(3)
  local def = long[name]
  if not def then errors.raise(125, "unknown flag: --%s\nSee 'luac-ctr %s --help'.", name, info.command or "") end
  if def[3] == "flag" then
    if value and value ~= "true" and value ~= "false" then
      errors.raise(125, "invalid argument %q for \"--%s\" flag", value, name)
    end
    set(opts, def, value ~= "false", api)
  else
    if not value then value, i = take_value(argv, i, "--" .. name) end
    set(opts, def, value, api)
  end
  return i
end

-- -abc, -eVALUE or -e VALUE; returns the index of the last argument used
local function short_opts(argv, i, short, info, opts, api)
  local a, j = argv[i], 2
  while j <= #a do
    local c = a:sub(j, j)
    local def = short[c]
    if not def then errors.raise(125, "unknown shorthand flag: %q in %s\nSee 'luac-ctr %s --help'.", c, a, info.command or "") end
    if def[3] == "flag" then
      set(opts, def, true, api)
      j = j + 1
    else
      local value = a:sub(j + 1)
      if value == "" then value, i = take_value(argv, i, "-" .. c) end
      set(opts, def, value, api)
      break
    end
  end
  return i
end

--- Parse argv (a list, e.g. the script's `arg`) against option definitions
-- {short, long, kind, help, key = API key} (kinds: see above). Returns the
-- options table (keys are long names with - turned into _), the list of
-- positional arguments and the API option table (each given option that
-- has a key, under that key, its value parsed).
function M.parse(argv, defs, info)
  info = info or {}
  local short, long = index(defs)
  local opts, pos, api = {}, {}, {}
  local i, n = 1, #argv
  while i <= n do
    local a = argv[i]
    if a == "--" then
      table.move(argv, i + 1, n, #pos + 1, pos)
      break
    elseif a == "--help" or (a == "-h" and not short.h) then
      io.stdout:write(M.help(defs, info))
      os.exit(0)
    elseif a:sub(1, 2) == "--" then
      i = long_opt(argv, i, long, info, opts, api)
    elseif a:sub(1, 1) == "-" and #a > 1 then
      i = short_opts(argv, i, short, info, opts, api)
    elseif info.stop_at_positional then
      table.move(argv, i, n, #pos + 1, pos)
      break
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  M.need_root(info, argv)
  return opts, pos, api
end

--- For a command group (container, network, system...): with no
-- subcommand, or sub a help word (--help, -h, help), print usage and exit
-- (1 without a subcommand, 0 when help was asked for); else return.
function M.group_help(sub, usage)
  if sub == nil or sub == "--help" or sub == "-h" or sub == "help" then
    io.stdout:write(usage)
    os.exit(sub == nil and 1 or 0)
  end
end

--- Raise (exit 1, one line) when not run as root: every workflow that names
-- its command (info.command) works on containers, images or networks,
-- which needs root, except the rootless ones (ctr.rootless.COMMANDS, exit
-- 125 for the others) on the caller's own state root. `--help` is answered
-- before; info.root = false opts out (a workflow that needs no privilege).
-- A rootless pull or commit (ctr.rootless.USERNS_COMMANDS) is re-run, with
-- its arguments argv, in the caller's user namespace.
function M.need_root(info, argv)
  if not info.command or info.root == false then return end
  local core = require "ctr.core"
  if core.geteuid() == 0 then return end
  local rootless = require "ctr.rootless"
  if rootless.own_state() then -- README "Running without root"
    if rootless.USERNS_COMMANDS[info.command] and argv then rootless.reexec(info.command, argv) end
    if rootless.COMMANDS[info.command] then return end
    errors.raise(125, "\"%s\" needs root (running as uid %d): it does not work without root yet (README: Running without root)",
      info.command, core.geteuid())
  end
  -- docker's client exits 1 when it cannot reach its daemon (run: 125)
  errors.raise(info.command == "run" and 125 or 1,
    "\"%s\" needs root (running as uid %d): containers need namespaces, cgroups and mounts, "
      .. "and the state in %s is root's (your own state root works without root: README, Running without root)",
    info.command, core.geteuid(), require("ctr.state").root())
end

return M
