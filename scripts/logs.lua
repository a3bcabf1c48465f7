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

local o, args = cli.parse({ ... }, {
  { "f", "follow", "flag", "Follow log output" },
  { "t", "timestamps", "flag", "Show timestamps" },
  { "n", "tail", "string", "Number of lines to show from the end of the logs (default \"all\")" },
  { nil, "since", "string", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)" },
  { nil, "until", "string", "Show logs before a timestamp or relative time" },
  { nil, "details", "flag", "Accepted for compatibility" },
}, { usage = "logs [OPTIONS] CONTAINER", description = "Fetch the logs of a container.", command = "logs" })
if #args ~= 1 then errors.raise(1, "\"logs\" requires exactly 1 argument.\nSee 'luac-ctr logs --help'.") end
local tail
if o.tail and o.tail ~= "all" then
  tail = math.tointeger(tonumber(o.tail))
  if not tail then errors.raise(125, "invalid --tail %q: a number or \"all\"", o.tail) end
end
for _, k in ipairs({ "since", "until" }) do
  if o[k] and not logs.parse_time(o[k]) then errors.raise(125, select(2, logs.parse_time(o[k]))) end
end
local c = container.must_get(args[1], 1)
io.stdout:setvbuf(o.follow and "line" or "full")
logs.read(c, { follow = o.follow, tail = tail, since = o.since, ["until"] = o["until"] }, function(e)
  local text = o.timestamps and (e.time .. " " .. e.log) or e.log
  if e.stream == "stderr" then
    io.stdout:flush()
    io.stderr:write(text)
  else
    io.stdout:write(text)
  end
end)
io.stdout:flush()
