-- run: Create and run a new container from an image
--
-- luac-ctr run [OPTIONS] IMAGE [COMMAND [ARG...]]
-- The options are docker run's; each names the key of container.run's
-- option table it fills (key =) and how its value is read (the kind), so
-- the work is container.run(o) (ctr.container) plus the output.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local run_options = require "ctr.run_options"

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
local opts, args, o = cli.parse({ ... }, run_options.defs("run"), {
  usage = "run [OPTIONS] IMAGE [COMMAND [ARG...]]",
  description = "Create and run a new container from an image.",
  command = "run", stop_at_positional = true,
})
if #args < 1 then errors.raise(125, "\"run\" requires at least 1 argument: IMAGE [COMMAND [ARG...]]") end
-- docker: -it needs a terminal on stdin (else the relay would wait forever)
if o.tty and o.interactive and not o.detach and not require("ctr.core").isatty(0) then
  errors.raise(1, "the input device is not a TTY")
end
o = run_options.options(opts, args, o)

local res = container.run(o) -- detached: the container; else its exit
if o.detach then
  io.stdout:write(res.id, "\n")
else
  io.stdout:flush()
  os.exit(res.exit_code)
end
