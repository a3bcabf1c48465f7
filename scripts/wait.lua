-- wait: Block until one or more containers stop, then print their exit codes
--
-- luac-ctr wait CONTAINER...
-- Waits for each container in turn (a created one: until it has been
-- started and has exited) and prints its exit code. Unknown container: a
-- message, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args = cli.parse({ ... }, {}, {
  usage = "wait CONTAINER [CONTAINER...]",
  description = "Block until one or more containers stop, then print their exit codes.", command = "wait",
})
if #args < 1 then errors.raise(1, "\"wait\" requires at least 1 argument.\nSee 'luac-ctr wait --help'.") end
errors.each(args, function(ref) return container.must_get(ref, 1):wait() end)
