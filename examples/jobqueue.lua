--- examples/jobqueue.lua: a job queue with limits and timeouts.
--
--   luac-ctr examples/jobqueue.lua [-j K] [-m SIZE] [--timeout S] CMD...
--   luac-ctr examples/jobqueue.lua 'echo one' 'exit 3' 'sleep 60' 'exec tail /dev/zero'
--
-- Each CMD (a shell command line) runs in its own busybox container with
-- no network, a memory limit (-m, default 32m, swap included) and a
-- timeout (--timeout seconds, default 5); at most K (default 3) run at
-- once. Each job's outcome is reported as it ends, in one of three ways:
--
--   job 1: exit 0: echo one         (the exit code, and its output below)
--   job 3: timed out after 5s       (killed at its timeout)
--   job 4: OOM-killed               (over its memory limit)
--
-- The queue exits 1 when any job failed. Containers are removed as their
-- jobs end, and all of them on an error.
--
-- Shows: container.run{detach=, memory=, labels=}, Container:exit_code and
-- state.oom_killed, Container:kill at a deadline, Container:logs.
-- Waiting is polling (c:refresh():running() every 50 ms).
local cli = require "ctr.cli"
local core = require "ctr.core"
local container = require "ctr.container"

local function start(job, o)
  local _, c = container.run {
    image = "busybox", cmd = { "sh", "-c", job.cmd }, detach = true, network = "none",
    memory = o.memory, memory_swap = o.memory, labels = { queue = "jobqueue", job = tostring(job.n) },
  }
  job.c, job.deadline = c, core.clock("monotonic") + o.timeout
end

-- The outcome of a job whose container has ended: one line, and its output.
local function report(job, o)
  local c = job.c
  local line
  if job.timed_out then line = ("timed out after %gs"):format(o.timeout)
  elseif c.state.oom_killed then line = "OOM-killed"
  else line = ("exit %d: %s"):format(c:exit_code(), job.cmd) end
  print(("job %d: %s"):format(job.n, line))
  for _, l in ipairs(c:logs()) do print("  | " .. l) end
  job.failed = job.timed_out or c:exit_code() ~= 0
  c:remove { force = true }
end

-- One pass over the running jobs: report the ended ones, kill the late ones.
local function poll(running, o)
  for i = #running, 1, -1 do
    local job = running[i]
    if not job.c:refresh():running() then
      report(table.remove(running, i), o)
    elseif core.clock("monotonic") > job.deadline then
      job.timed_out = true
      pcall(job.c.kill, job.c, "KILL")
    end
  end
end

local function run_all(jobs, o)
  local next_job, running = 1, {}
  local ok, err = pcall(function()
    while next_job <= #jobs or #running > 0 do
      while #running < o.jobs and next_job <= #jobs do
        start(jobs[next_job], o)
        running[#running + 1] = jobs[next_job]
        next_job = next_job + 1
      end
      core.sleep(0.05)
      poll(running, o)
    end
  end)
  if not ok then
    for _, j in ipairs(running) do pcall(j.c.remove, j.c, { force = true }) end
    error(err, 0)
  end
end

local o, args = cli.parse({ ... }, {
  { "j", "jobs", "int", "Jobs run at once (default 3)" },
  { "m", "memory", "string", "Memory limit of each job (default 32m)" },
  { nil, "timeout", "string", "Seconds a job may run (default 5)" },
}, { usage = "examples/jobqueue.lua [OPTIONS] CMD..." })
o.jobs, o.memory, o.timeout = o.jobs or 3, o.memory or "32m", tonumber(o.timeout or "5")
local jobs = {}
for i, cmd in ipairs(args) do jobs[i] = { n = i, cmd = cmd } end
run_all(jobs, o)
local failed = 0
for _, j in ipairs(jobs) do if j.failed then failed = failed + 1 end end
print(("%d jobs, %d failed"):format(#jobs, failed))
os.exit(failed > 0 and 1 or 0)
