-- run: Create and run a new container from an image
--
-- luac-ctr run [OPTIONS] IMAGE [COMMAND [ARG...]]
-- The options are docker run's; the work is done by ctr.container.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local defs = {
  { "d", "detach", "flag", "Run in the background and print the container id" },
  { "i", "interactive", "flag", "Keep STDIN open" },
  { "t", "tty", "flag", "Allocate a pseudo-TTY" },
  { nil, "name", "string", "Assign a name to the container" },
  { nil, "rm", "flag", "Remove the container when it exits" },
  { "e", "env", "list", "Set environment variables (KEY=VALUE, or KEY to copy ours)" },
  { nil, "env-file", "list", "Read environment variables from a file" },
  { "v", "volume", "list", "Bind mount a volume (HOST:CONTAINER[:ro])" },
  { "w", "workdir", "string", "Working directory inside the container" },
  { "u", "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])" },
  { nil, "group-add", "list", "Add additional groups to join (gid or name in the image)" },
  { nil, "hostname", "string", "Container host name" },
  { nil, "entrypoint", "string", "Overwrite the default ENTRYPOINT of the image" },
  { "m", "memory", "string", "Memory limit (b, k, m, g)" },
  { nil, "memory-swap", "string", "Memory plus swap limit; -1 for unlimited swap" },
  { nil, "cpus", "string", "Number of CPUs (fractional)" },
  { nil, "cpuset-cpus", "string", "CPUs in which to allow execution (0-3, 0,1)" },
  { nil, "pids-limit", "string", "Tune container pids limit (-1 for unlimited)" },
  { nil, "read-only", "flag", "Mount the container's root filesystem as read only" },
  { nil, "cap-add", "list", "Add Linux capabilities" },
  { nil, "cap-drop", "list", "Drop Linux capabilities" },
  { nil, "privileged", "flag", "Give extended privileges to this container" },
  { nil, "device", "list", "Add a host device to the container (HOST[:CONTAINER[:PERMS]])" },
  { nil, "security-opt", "list", "Security options: seccomp=unconfined|PROFILE.json, no-new-privileges" },
  { nil, "network", "string", "Connect a container to a network (bridge, none, host, NAME)" },
  { nil, "net", "string", "Alias of --network" },
  { nil, "ip", "string", "IPv4 address (e.g., 172.30.100.104)" },
  { "p", "publish", "list", "Publish a container's port to the host ([HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])" },
  { nil, "add-host", "list", "Add a custom host-to-IP mapping (host:ip)" },
  { nil, "dns", "list", "Set custom DNS servers" },
  { nil, "log-max-size", "string", "Rotate the container's log at this size (default 10m)" },
  { nil, "log-max-files", "int", "Log files kept, with the current one (default 2)" },
}

errors.main(function(...)
  require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
  local o, args = cli.parse({ ... }, defs, {
    usage = "run [OPTIONS] IMAGE [COMMAND [ARG...]]",
    description = "Create and run a new container from an image.",
    command = "run", stop_at_positional = true,
  })
  if #args < 1 then errors.raise(125, "\"run\" requires at least 1 argument: IMAGE [COMMAND [ARG...]]") end
  -- docker: -it needs a terminal on stdin (else the relay would wait forever)
  if o.tty and o.interactive and not o.detach and not require("ctr.core").isatty(0) then
    errors.raise(1, "the input device is not a TTY")
  end
  local cmd = { table.unpack(args, 2) }
  local log_max
  if o.log_max_size then log_max = require("ctr.cgroup").parse_memory(o.log_max_size) end
  local res = container.run {
    image = args[1], cmd = cmd, name = o.name, rm = o.rm, env = o.env, env_file = o.env_file,
    volumes = o.volume, workdir = o.workdir, user = o.user, group_add = o.group_add, hostname = o.hostname,
    entrypoint = o.entrypoint, memory = o.memory, memory_swap = o.memory_swap, cpus = o.cpus,
    cpuset_cpus = o.cpuset_cpus, pids_limit = o.pids_limit, read_only = o.read_only,
    cap_add = o.cap_add, cap_drop = o.cap_drop, privileged = o.privileged,
    devices = o.device,
    security_opt = o.security_opt,
    network = o.network or o.net, ip = o.ip, publish = o.publish, add_host = o.add_host, dns = o.dns,
    tty = o.tty, interactive = o.interactive, detach = o.detach,
    log_max = log_max, log_files = o.log_max_files,
  }
  if o.detach then
    io.stdout:write(res.id, "\n")
    return
  end
  io.stdout:flush()
  os.exit(res.exit_code)
end, ...)
