-- container: Manage containers
--
-- luac-ctr container prune [-f] [--filter until=...|label=...]
-- luac-ctr container COMMAND ...   (ls, ps, list, run, exec, ...: that workflow)
-- prune removes every stopped container (created or exited) passing the
-- filters (until=TIME|DURATION, label=K[=V], label!=K[=V]) and prints
-- docker's "Deleted Containers:" list and "Total reclaimed space: SIZE".
-- Without -f it asks first (the answer is read from standard input). Other
-- commands run the workflow of that name (container ls is ps).
local cli = require "ctr.cli"
local errors = require "ctr.errors"

local USAGE = [[
Usage:  luac-ctr container COMMAND

Manage containers

Commands:
  prune       Remove all stopped containers
  ls          List containers (ps)
  COMMAND     Any container workflow: cp, diff, exec, inspect, kill, logs, pause, port, rename, restart,
              rm, run, start, stop, top, unpause, update, wait, export, commit
]]

-- docker's units.HumanSize: 4 significant digits, decimal units
local function human_size(n) return require("ctr.util").human_size(n, 4) end

local function prune(argv)
  local o, args, po = cli.parse(argv, {
    { nil, "filter", "list", "Provide filter values (e.g. \"until=<timestamp>\")", key = "filter" },
    { "f", "force", "flag", "Do not prompt for confirmation" },
  }, { usage = "container prune [OPTIONS]", description = "Remove all stopped containers.", command = "container prune" })
  if #args > 0 then errors.raise(1, "\"container prune\" accepts no arguments.\nSee 'luac-ctr container prune --help'.") end
  local container = require "ctr.container"
  if not o.force then
    io.stdout:write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
    io.stdout:flush()
    local answer = io.stdin:read("l")
    if not answer or not answer:match("^%s*[yY]") then errors.raise(1, "container prune has been cancelled") end
  end
  local res = container.prune(po)
  local w = io.stdout
  if #res.deleted > 0 then w:write("Deleted Containers:\n", table.concat(res.deleted, "\n"), "\n\n") end
  w:write("Total reclaimed space: ", human_size(res.reclaimed), "\n")
  for _, e in ipairs(res.errors) do io.stderr:write("luac-ctr: ", errors.oneline(e), "\n") end
  if #res.errors > 0 then os.exit(1) end
end

local ALIAS = { ls = "ps", list = "ps", remove = "rm" }
local argv = { ... }
local sub = table.remove(argv, 1)
cli.group_help(sub, USAGE)
if sub == "prune" then
  prune(argv)
else
  local name = ALIAS[sub] or sub
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  if not name:match("^[a-z]+$") or name == "container" then errors.raise(1, "unknown container command %s\n%s", errors.quote(sub), USAGE) end
  local fn = loadfile(here .. "/" .. name .. ".lua")
  if not fn then errors.raise(1, "unknown container command %s\n%s", errors.quote(sub), USAGE) end
  fn(table.unpack(argv))
end
