-- start: Start one or more stopped containers
--
-- luac-ctr start [-a [-i]] CONTAINER...
-- Starts each container again with its configuration and filesystem (its
-- overlay upper dir persists across runs; the log is appended to).
-- Detached by default: prints each argument as given. With -a (one
-- container only) the output is relayed to ours and the exit code is the
-- container's, as `docker start -a`. Starting a running container is fine.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local o, args = cli.parse({ ... }, {
  { "a", "attach", "flag", "Attach STDOUT/STDERR and forward signals" },
  { "i", "interactive", "flag", "Attach container's STDIN" },
}, { usage = "start [OPTIONS] CONTAINER [CONTAINER...]", description = "Start one or more stopped containers.", command = "start" })
if #args < 1 then errors.raise(1, "\"start\" requires at least 1 argument.\nSee 'luac-ctr start --help'.") end
if o.attach or o.interactive then
  if #args > 1 then errors.raise(1, "you cannot start and attach multiple containers at once") end
  local c = container.must_get(args[1], 1)
  -- stdin is forwarded with -i, to a container made with -i (docker's)
  local res = c:start { interactive = o.interactive and c.state.interactive or false }
  io.stdout:flush()
  os.exit(res.exit_code)
end
errors.each(args, function(ref)
  local c = container.must_get(ref, 1)
  if not c:running() and c:status() ~= "restarting" then c:start { detach = true } end -- docker: already running
end)
