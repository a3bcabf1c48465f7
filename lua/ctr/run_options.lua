--- ctr.run_options: the options of `run` and `create` (docker's), shared by
-- scripts/run.lua and scripts/create.lua: their definitions for ctr.cli
-- and the option table of container.run / container.create they give.
--
--   local ro = require "ctr.run_options"
--   local opts, args, o = cli.parse({ ... }, ro.defs("create"), {...})
--   o = ro.options(opts, args, o)  -- container.create(o)
local M = {}

-- each names the key of container.run's option table it fills (key =) and
-- how its value is read (the kind)
local DEFS = {
  { "d", "detach", "flag", "Run in the background and print the container id", key = "detach" },
  { "i", "interactive", "flag", "Keep STDIN open", key = "interactive" },
  { "t", "tty", "flag", "Allocate a pseudo-TTY", key = "tty" },
  { nil, "name", "string", "Assign a name to the container", key = "name" },
  { nil, "rm", "flag", "Remove the container when it exits", key = "rm" },
  { "e", "env", "list", "Set environment variables (KEY=VALUE, or KEY to copy ours)", key = "env" },
  { nil, "env-file", "list", "Read environment variables from a file", key = "env_file" },
  { "v", "volume", "list", "Bind mount a volume (HOST:CONTAINER[:ro], NAME:CONTAINER[:ro] or /CONTAINER)", key = "volumes" },
  { "w", "workdir", "string", "Working directory inside the container", key = "workdir" },
  { "u", "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])", key = "user" },
  { nil, "group-add", "list", "Add additional groups to join (gid or name in the image)", key = "group_add" },
  { nil, "hostname", "string", "Container host name", key = "hostname" },
  { nil, "entrypoint", "string", "Overwrite the default ENTRYPOINT of the image", key = "entrypoint" },
  { "m", "memory", "size", "Memory limit (b, k, m, g)", key = "memory" },
  { nil, "memory-swap", "size", "Memory plus swap limit; -1 for unlimited swap", key = "memory_swap", allow_unlimited = true },
  { nil, "cpus", "string", "Number of CPUs (fractional)", key = "cpus" },
  { nil, "cpuset-cpus", "string", "CPUs in which to allow execution (0-3, 0,1)", key = "cpuset_cpus" },
  { nil, "pids-limit", "string", "Tune container pids limit (-1 for unlimited)", key = "pids_limit" },
  { nil, "read-only", "flag", "Mount the container's root filesystem as read only", key = "read_only" },
  { nil, "cap-add", "list", "Add Linux capabilities", key = "cap_add" },
  { nil, "cap-drop", "list", "Drop Linux capabilities", key = "cap_drop" },
  { nil, "privileged", "flag", "Give extended privileges to this container", key = "privileged" },
  { nil, "device", "list", "Add a host device to the container (HOST[:CONTAINER[:PERMS]])", key = "devices" },
  { nil, "security-opt", "list", "Security options: seccomp=unconfined|PROFILE.json, no-new-privileges", key = "security_opt" },
  { nil, "ulimit", "list", "Ulimit options (NAME=SOFT[:HARD], e.g. nofile=1024:2048; -1: unlimited)", key = "ulimits" },
  { nil, "userns", "string", "User namespace: auto (a fresh 65536-id range) or host", key = "userns" },
  { nil, "uidmap", "list", "UID map for the user namespace (CONTAINER:HOST:SIZE)", key = "uidmap" },
  { nil, "gidmap", "list", "GID map for the user namespace (CONTAINER:HOST:SIZE)", key = "gidmap" },
  { nil, "network", "string", "Connect a container to a network (bridge, none, host, NAME)", key = "network" },
  { nil, "net", "string", "Alias of --network" },
  { nil, "ip", "string", "IPv4 address (e.g., 172.30.100.104)", key = "ip" },
  { "p", "publish", "list", "Publish a container's port to the host ([HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])", key = "publish" },
  { nil, "add-host", "list", "Add a custom host-to-IP mapping (host:ip)", key = "add_host" },
  { nil, "dns", "list", "Set custom DNS servers", key = "dns" },
  { nil, "log-max-size", "size", "Rotate the container's log at this size (default 10m)", key = "log_max" },
  { nil, "log-max-files", "int", "Log files kept, with the current one (default 2)", key = "log_files" },
  { nil, "health-cmd", "string", "Command to run to check health (run by /bin/sh -c)" },
  { nil, "health-interval", "duration", "Time between running the check (default 30s)" },
  { nil, "health-timeout", "duration", "Maximum time to allow one check to run (default 30s)" },
  { nil, "health-retries", "int", "Consecutive failures needed to report unhealthy (default 3)" },
  { nil, "health-start-period", "duration", "Start period for the container to initialize before counting retries" },
  { nil, "no-healthcheck", "flag", "Disable any container-specified HEALTHCHECK" },
  { "l", "label", "list", "Set meta data on a container (KEY=VALUE)" },
  { nil, "label-file", "list", "Read in a line delimited file of labels" },
  { nil, "mount", "list", "Attach a filesystem mount (type=bind|volume|tmpfs,source=,target=[,readonly])", key = "mounts" },
  { nil, "tmpfs", "list", "Mount a tmpfs directory (/PATH[:OPTS])", key = "tmpfs" },
  { nil, "volumes-from", "list", "Mount volumes from the specified container(s) (CONTAINER[:ro|rw])", key = "volumes_from" },
  { nil, "expose", "list", "Expose a port or a range of ports (PORT[-PORT][/PROTO])", key = "expose" },
  { "P", "publish-all", "flag", "Publish all exposed ports to random host ports", key = "publish_all" },
  { nil, "init", "flag", "Run an init inside the container that forwards signals and reaps processes", key = "init" },
  { nil, "sysctl", "list", "Sysctl options (KEY=VALUE: namespaced ones only)", key = "sysctl" },
  { nil, "stop-signal", "string", "Signal to stop the container (default SIGTERM)", key = "stop_signal" },
  { nil, "stop-timeout", "int", "Timeout (in seconds) to stop a container", key = "stop_timeout" },
  { nil, "shm-size", "size", "Size of /dev/shm (default 64m)", key = "shm_size" },
  { nil, "oom-kill-disable", "flag", "Disable OOM Killer", key = "oom_kill_disable" },
  { nil, "memory-reservation", "size", "Memory soft limit", key = "memory_reservation" },
  { nil, "cpu-shares", "int", "CPU shares (relative weight)", key = "cpu_shares" },
  { nil, "cgroupns", "string", "Cgroup namespace to use (host|private)", key = "cgroupns" },
  { nil, "ipc", "string", "IPC mode: private, shareable, host, container:NAME or none", key = "ipc" },
  { nil, "pid", "string", "PID namespace: host or container:NAME", key = "pid" },
  { nil, "uts", "string", "UTS namespace: host", key = "uts" },
  { nil, "restart", "string", "Restart policy of a detached container: no, on-failure[:N], always, unless-stopped", key = "restart" },
}

-- the options of run alone (create has no --detach)
local RUN_ONLY = { detach = true }

--- The ctr.cli option definitions of command ("run" or "create"); a new
-- list each time (cli.parse may keep it).
function M.defs(command)
  local t = {}
  for _, d in ipairs(DEFS) do
    if command == "run" or not RUN_ONLY[d[2]] then t[#t + 1] = d end
  end
  return t
end

--- The option table of container.run/create from what cli.parse returned
-- (opts by option name, the positional args, o by key): the image and
-- command, --network or --net, labels (--label-file first, --label wins)
-- and the health check. Raises docker's errors (exit 125).
function M.options(opts, args, o)
  local errors = require "ctr.errors"
  o.image, o.cmd = args[1], { table.unpack(args, 2) }
  o.network = opts.network or opts.net -- --network wins over its alias
  local labels = require "ctr.labels"
  local label_list = {} -- docker: --label-file first, --label wins
  for _, f in ipairs(opts.label_file or {}) do
    for _, l in ipairs(labels.read_file(f)) do label_list[#label_list + 1] = l end
  end
  for _, l in ipairs(opts.label or {}) do label_list[#label_list + 1] = l end
  o.labels = labels.parse(label_list)
  if opts.no_healthcheck then
    if opts.health_cmd then errors.raise(125, "--no-healthcheck conflicts with --health-* options") end
    o.health = false
  elseif opts.health_cmd or opts.health_interval or opts.health_timeout or opts.health_retries or opts.health_start_period then
    o.health = { cmd = opts.health_cmd, interval = opts.health_interval, timeout = opts.health_timeout,
                 retries = opts.health_retries, start_period = opts.health_start_period }
  end
  return o
end

return M
