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
    if d[3] ~= "flag" then names = names .. " " .. (d[3] == "list" and "list" or d[3]) end
    out[#out + 1] = string.format("  %-28s %s", names, d[4] or "")
  end
  return table.concat(out, "\n") .. "\n"
end

local function set(opts, def, value)
  local k = key(def)
  if def[3] == "list" then
    opts[k] = opts[k] or {}
    table.insert(opts[k], value)
  elseif def[3] == "int" then
    local n = math.tointeger(tonumber(value))
    if not n then errors.raise(125, "invalid argument %q for \"--%s\" flag: not an integer", value, def[2] or def[1]) end
    opts[k] = n
  else
    opts[k] = value
  end
end

local function take_value(argv, i, name)
  local v = argv[i + 1]
  if v == nil then errors.raise(125, "flag needs an argument: %s", name) end
  return v, i + 1
end

--- Parse argv (a list, e.g. the script's `arg`) against option definitions
-- {short, long, kind ("flag"|"string"|"int"|"list"), help}. Returns the
-- options table (keys are long names with - turned into _) and the list of
-- positional arguments.
function M.parse(argv, defs, info)
  info = info or {}
  local short, long = index(defs)
  local opts, pos = {}, {}
  local i, n = 1, #argv
  while i <= n do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, n do pos[#pos + 1] = argv[j] end
      break
    elseif a == "--help" or (a == "-h" and not short.h) then
      io.stdout:write(M.help(defs, info))
      os.exit(0)
    elseif a:sub(1, 2) == "--" then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local def = long[name]
      if not def then errors.raise(125, "unknown flag: --%s\nSee 'luac-ctr %s --help'.", name, info.command or "") end
      if def[3] == "flag" then
        if value and value ~= "true" and value ~= "false" then
          errors.raise(125, "invalid argument %q for \"--%s\" flag", value, name)
        end
        opts[key(def)] = value ~= "false"
      else
        if not value then value, i = take_value(argv, i, "--" .. name) end
        set(opts, def, value)
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local j = 2
      while j <= #a do
        local c = a:sub(j, j)
        local def = short[c]
        if not def then errors.raise(125, "unknown shorthand flag: %q in %s\nSee 'luac-ctr %s --help'.", c, a, info.command or "") end
        if def[3] == "flag" then
          opts[key(def)] = true
          j = j + 1
        else
          local value = a:sub(j + 1)
          if value == "" then value, i = take_value(argv, i, "-" .. c) end
          set(opts, def, value)
          break
        end
      end
    else
      if info.stop_at_positional then
        for j = i, n do pos[#pos + 1] = argv[j] end
        break
      end
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  M.need_root(info)
  return opts, pos
end

--- Raise (exit 1, one line) when not run as root: every workflow that names
-- its command (info.command) works on containers, images or networks,
-- which needs root until a rootless mode exists. `--help` is answered
-- before; info.root = false opts out (a workflow that needs no privilege).
function M.need_root(info)
  if not info.command or info.root == false then return end
  local core = require "ctr.core"
  if core.geteuid() == 0 then return end
  local rootless = require "ctr.rootless"
  if rootless.own_state() then -- README "Running without root"
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
