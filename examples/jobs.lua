--- examples/jobs.lua: a parallel job runner.
--
--   luac-ctr examples/jobs.lua [-j K] [--cpus N] [-m SIZE] [-v HOST:CTR] CMD...
--   luac-ctr examples/jobs.lua -j 2 'echo one' 'sleep 1; echo two' 'exit 3'
--
-- Each CMD (a shell command line) runs in its own busybox container with
-- cpu and memory limits (swap included: a job over its memory is
-- OOM-killed, exit code 137) and no network; at most K run at once. When a
-- job exits, its exit code and output (from the container's log) are
-- collected and its container removed. The report lists every job in
-- order; the runner exits 1 if any job failed. -v shares a host directory
-- with every job.
--
-- Shows: container.run{detach=true} with limits, polling Container:running,
-- Container:wait for the exit code, ctr.logs.read for the output.
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"
local container = require "ctr.container"
local logs = require "ctr.logs"

local function start(job, o)
  local c = container.run {
    image = "busybox", cmd = { "sh", "-c", job.cmd }, detach = true, network = "none",
    cpus = o.cpus or "0.5", memory = o.memory or "32m", memory_swap = o.memory or "32m",
    volumes = o.volume,
  }
  job.container = c
end

local function collect(job)
  local c = job.container
  job.exit_code = c:wait()
  local out = {}
  logs.read(c, {}, function(e) out[#out + 1] = e.log end)
  job.output = table.concat(out)
  c:remove { force = true }
  job.container = nil
end

--- Run every job, at most k at once; fills in job.exit_code and job.output.
local function run_all(jobs, k, o)
  local next_job, running = 1, {}
  local ok, err = pcall(function()
    while next_job <= #jobs or #running > 0 do
      while #running < k and next_job <= #jobs do
        start(jobs[next_job], o)
        running[#running + 1] = jobs[next_job]
        next_job = next_job + 1
      end
      core.sleep(0.05)
      for i = #running, 1, -1 do
        if not running[i].container:refresh():running() then
          collect(table.remove(running, i))
        end
      end
    end
  end)
  if not ok then -- interrupted or a start failed: leave no container behind
    for _, j in ipairs(running) do pcall(j.container.remove, j.container, { force = true }) end
    error(err, 0)
  end
end

errors.main(function(...)
  local o, cmds = cli.parse({ ... }, {
    { "j", "jobs", "int", "Most jobs running at once (default 2)" },
    { nil, "cpus", "string", "CPUs per job (default 0.5)" },
    { "m", "memory", "string", "Memory per job, swap included (default 32m)" },
    { "v", "volume", "list", "Bind mount HOST:CTR[:ro] into every job" },
  }, { usage = "examples/jobs.lua [OPTIONS] CMD...", stop_at_positional = true })
  if #cmds == 0 then errors.raise(125, "jobs: no commands given") end
  local k = o.jobs or 2
  if k < 1 then errors.raise(125, "jobs: -j must be at least 1") end
  local jobs = {}
  for i, cmd in ipairs(cmds) do jobs[i] = { n = i, cmd = cmd } end
  run_all(jobs, k, o)
  local failed = 0
  for _, j in ipairs(jobs) do
    io.write(("job %d exit %d: %s\n"):format(j.n, j.exit_code, j.cmd))
    for line in j.output:gmatch("[^\n]+") do io.write("  | ", line, "\n") end
    if j.exit_code ~= 0 then failed = failed + 1 end
  end
  io.write(("%d jobs, %d failed\n"):format(#jobs, failed))
  os.exit(failed == 0 and 0 or 1)
end, ...)
