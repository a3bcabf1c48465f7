-- unpause: Unpause all processes within one or more containers
--
-- luac-ctr unpause CONTAINER...
-- Thaws the processes of each paused container. Prints each argument as given; a
-- container that is not found, not running or not paused: one line, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args = cli.parse({ ... }, {}, { usage = "unpause CONTAINER [CONTAINER...]",
  description = "Unpause all processes within one or more containers.", command = "unpause" })
if #args < 1 then errors.raise(1, "\"unpause\" requires at least 1 argument.\nSee 'luac-ctr unpause --help'.") end
errors.each(args, function(ref) container.must_get(ref, 1):unpause() end)
