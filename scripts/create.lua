-- create: Create a new container
--
-- luac-ctr create [OPTIONS] IMAGE [COMMAND [ARG...]]
-- The options are run's (ctr.run_options) but --detach: the container is
-- made (its filesystem, config and state) but not started; its id is
-- printed, `ps -a` shows it as Created, and `start` (or `start -a`) runs it.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local run_options = require "ctr.run_options"

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
local opts, args, o = cli.parse({ ... }, run_options.defs("create"), {
  usage = "create [OPTIONS] IMAGE [COMMAND [ARG...]]",
  description = "Create a new container.",
  command = "create", stop_at_positional = true,
})
if #args < 1 then errors.raise(125, "\"create\" requires at least 1 argument: IMAGE [COMMAND [ARG...]]") end
o = run_options.options(opts, args, o)
io.stdout:write(container.create(o).id, "\n")
