-- restart: Restart one or more containers
--
-- luac-ctr restart [-t SECONDS] CONTAINER...
-- Stops each container (as `stop -t`, default 10 s) and starts it again,
-- detached, with the same configuration and filesystem. Prints each
-- argument as given; failures: a message, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args, so = cli.parse({ ... }, {
  { "t", "time", "int", "Seconds to wait for stop before killing the container (default 10)", key = "timeout" },
  { nil, "timeout", "int", "Alias of --time", key = "timeout" },
  { "s", "signal", "string", "Signal to send to the container to stop it", key = "signal" },
}, { usage = "restart [OPTIONS] CONTAINER [CONTAINER...]", description = "Restart one or more containers.", command = "restart" })
if #args < 1 then errors.raise(1, "\"restart\" requires at least 1 argument.\nSee 'luac-ctr restart --help'.") end
errors.each(args, function(ref)
  local c = container.must_get(ref, 1)
  c:stop(so)
  c:refresh():start { detach = true }
  require("ctr.eventlog").container(c, "restart") -- docker's: after kill, die, stop, start
end)
