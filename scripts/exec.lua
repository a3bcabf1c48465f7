-- exec: Execute a command in a running container
--
-- luac-ctr exec [OPTIONS] CONTAINER COMMAND [ARG...]
-- Joins the container's namespaces and cgroup and runs COMMAND with the
-- container's environment, user, working directory and capabilities. The
-- exit code is the command's (126: cannot execute, 127: not found); an
-- unknown, ambiguous or stopped container exits 1, as docker's exec does.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local envfile = require "ctr.envfile"

local opts, args, o = cli.parse({ ... }, {
  { "d", "detach", "flag", "Detached mode: run command in the background", key = "detach" },
  { "i", "interactive", "flag", "Keep STDIN open", key = "interactive" },
  { "t", "tty", "flag", "Allocate a pseudo-TTY", key = "tty" },
  { "e", "env", "list", "Set environment variables" },
  { nil, "env-file", "list", "Read in a file of environment variables" },
  { "w", "workdir", "string", "Working directory inside the container", key = "cwd" },
  { "u", "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])", key = "user" },
}, { usage = "exec [OPTIONS] CONTAINER COMMAND [ARG...]", command = "exec", stop_at_positional = true })
if #args < 2 then errors.raise(125, "\"exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]") end
-- docker: -it needs a terminal on stdin (else the relay would wait forever)
if o.tty and o.interactive and not o.detach and not require("ctr.core").isatty(0) then
  errors.raise(1, "the input device is not a TTY")
end
local c = container.must_get(args[1], 1)
if not c:running() then errors.raise(1, "container %s is not running", c.state.name) end
o.argv, o.env = { table.unpack(args, 2) }, envfile.collect(opts.env_file, opts.env)
local res = c:exec(o)
if not o.detach then
  io.stdout:flush()
  os.exit(res.exit_code)
end
