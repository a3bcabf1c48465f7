-- kill: Kill one or more running containers
--
-- luac-ctr kill [-s SIGNAL] CONTAINER...
-- Sends SIGKILL, or the signal given by name (KILL, SIGHUP) or number, to
-- each container's init process (identified by pid and start time, so a
-- reused pid is never signalled). Prints each argument as given. A
-- container that is not running or not found: a message, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local o, args = cli.parse({ ... }, {
  { "s", "signal", "string", "Signal to send to the container (default KILL)" },
}, { usage = "kill [OPTIONS] CONTAINER [CONTAINER...]", description = "Kill one or more running containers.", command = "kill" })
if #args < 1 then errors.raise(1, "\"kill\" requires at least 1 argument.\nSee 'luac-ctr kill --help'.") end
local sig = container.signum(o.signal or "KILL") -- an invalid signal fails before anything is signalled
errors.each(args, function(ref) container.must_get(ref, 1):kill(sig) end)
