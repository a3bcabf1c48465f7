-- logs: Fetch the logs of a container
--
-- luac-ctr logs [-f] [-t] [--tail N] [--since TIME] [--until TIME] CONTAINER
-- Prints what the container wrote, in order: its stdout on our stdout, its
-- stderr on our stderr, from the rotated log files and the current one.
-- -f follows until the container stops; -t prefixes each line with its
-- RFC 3339 time; TIME is RFC 3339, a Unix time or a duration ago (10m, 1h).
-- Works for running and exited containers. Unknown container: exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local logs = require "ctr.logs"

-- --tail N or "all" (nil: everything)
local function tail(s)
  if s == "all" then return nil end
  return math.tointeger(tonumber(s)) or errors.raise(125, "invalid --tail %q: a number or \"all\"", s)
end

-- a --since/--until TIME, checked now, passed on as given
local function time(s)
  if not logs.parse_time(s) then errors.raise(125, select(2, logs.parse_time(s))) end
  return s
end

local o, args, ro = cli.parse({ ... }, {
  { "f", "follow", "flag", "Follow log output", key = "follow" },
  { "t", "timestamps", "flag", "Show timestamps" },
  { "n", "tail", "string", "Number of lines to show from the end of the logs (default \"all\")", key = "tail", parse = tail },
  { nil, "since", "string", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)",
    key = "since", parse = time },
  { nil, "until", "string", "Show logs before a timestamp or relative time", key = "until", parse = time },
  { nil, "details", "flag", "Accepted for compatibility" },
}, { usage = "logs [OPTIONS] CONTAINER", description = "Fetch the logs of a container.", command = "logs" })
if #args ~= 1 then errors.raise(1, "\"logs\" requires exactly 1 argument.\nSee 'luac-ctr logs --help'.") end
local c = container.must_get(args[1], 1)
io.stdout:setvbuf(o.follow and "line" or "full")
logs.read(c, ro, function(e)
  local text = o.timestamps and (e.time .. " " .. e.log) or e.log
  if e.stream == "stderr" then
    io.stdout:flush()
    io.stderr:write(text)
  else
    io.stdout:write(text)
  end
end)
io.stdout:flush()
