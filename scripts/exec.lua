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

errors.main(function(...)
  local o, args = cli.parse({ ... }, {
    { "d", "detach", "flag", "Detached mode: run command in the background" },
    { "i", "interactive", "flag", "Keep STDIN open" },
    { "t", "tty", "flag", "Allocate a pseudo-TTY" },
    { "e", "env", "list", "Set environment variables" },
    { nil, "env-file", "list", "Read in a file of environment variables" },
    { "w", "workdir", "string", "Working directory inside the container" },
    { "u", "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])" },
  }, { usage = "exec [OPTIONS] CONTAINER COMMAND [ARG...]", command = "exec", stop_at_positional = true })
  if #args < 2 then errors.raise(125, "\"exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]") end
  -- docker: -it needs a terminal on stdin (else the relay would wait forever)
  if o.tty and o.interactive and not o.detach and not require("ctr.core").isatty(0) then
    errors.raise(1, "the input device is not a TTY")
  end
  local c = container.must_get(args[1], 1)
  if not c:running() then errors.raise(1, "container %s is not running", c.state.name) end
  local env = {}
  for _, f in ipairs(o.env_file or {}) do
    local fh, ferr = io.open(f)
    if not fh then errors.raise(125, "cannot read env file: %s", ferr) end
    for line in fh:lines() do
      if line:match("%S") and not line:match("^%s*#") then env[#env + 1] = line end
    end
    fh:close()
  end
  for _, e in ipairs(o.env or {}) do env[#env + 1] = e end
  local res = c:exec {
    argv = { table.unpack(args, 2) }, env = env, cwd = o.workdir, user = o.user,
    tty = o.tty, interactive = o.interactive, detach = o.detach,
  }
  if o.detach then return end
  io.stdout:flush()
  os.exit(res.exit_code)
end, ...)
