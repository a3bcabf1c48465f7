-- pause: Pause all processes within one or more containers
--
-- luac-ctr pause CONTAINER...
-- Freezes every process of each running container (its cgroup's freezer:
-- v1 freezer.state or v2 cgroup.freeze); ps shows it Up ... (Paused), inspect
-- State.Paused true and Status "paused"; exec is refused until unpause, stop
-- and kill thaw it first. Prints each argument as given; a
-- container that is not found, not running or not pausable: one line, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args = cli.parse({ ... }, {}, { usage = "pause CONTAINER [CONTAINER...]",
  description = "Pause all processes within one or more containers.", command = "pause" })
if #args < 1 then errors.raise(1, "\"pause\" requires at least 1 argument.\nSee 'luac-ctr pause --help'.") end
errors.each(args, function(ref) container.must_get(ref, 1):pause() end)
