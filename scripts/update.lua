-- update: Update configuration of one or more containers
--
-- luac-ctr update [--memory M] [--memory-swap M] [--cpus N] [--cpu-shares N] [--pids-limit N] [--cpuset-cpus L] CONTAINER...
-- New resource limits, written to a running container's cgroup (v1 or
-- v2) and recorded (inspect's HostConfig shows them; a stopped container
-- gets them at its next start). Every value is checked first: a bad one is
-- one line and changes nothing. Prints each container as given.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args, o = cli.parse({ ... }, {
  { "m", "memory", "size", "Memory limit", key = "memory" },
  { nil, "memory-swap", "size", "Swap limit equal to memory plus swap: -1 to enable unlimited swap", key = "memory_swap", allow_unlimited = true },
  { nil, "cpus", "string", "Number of CPUs", key = "cpus" },
  { "c", "cpu-shares", "int", "CPU shares (relative weight)", key = "cpu_shares" },
  { nil, "pids-limit", "int", "Tune container pids limit (set -1 for unlimited)", key = "pids_limit" },
  { nil, "cpuset-cpus", "string", "CPUs in which to allow execution (0-3, 0,1)", key = "cpuset_cpus" },
}, { usage = "update [OPTIONS] CONTAINER [CONTAINER...]", description = "Update configuration of one or more containers.", command = "update" })
if #args < 1 then errors.raise(1, "\"update\" requires at least 1 argument.\nSee 'luac-ctr update --help'.") end
if next(o) == nil then errors.raise(1, "you must provide one or more flags when using this command") end
errors.each(args, function(ref) container.must_get(ref, 1):update(o) end)
