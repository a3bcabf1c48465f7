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
-- jobs end, and all of them on an error or an interrupt (Ctrl-C).
--
-- Shows: container.scope (every container removed at the end, on an error
-- or on Ctrl-C), container.run{timeout=, memory=, labels=} (the supervisor
-- kills a job at its timeout), container.wait_any and its result
-- {exit_code, oom_killed, timed_out}, Container:logs.
local cli = require "ctr.cli"
local container = require "ctr.container"
io.stdout:setvbuf("line") -- progress shows as it happens, through a pipe too

local function start(scope, job, o)
  local c = scope:run {
    image = "busybox", cmd = { "sh", "-c", job.cmd }, detach = true, network = "none", timeout = o.timeout,
    memory = o.memory, memory_swap = o.memory, labels = { queue = "jobqueue", job = tostring(job.n) },
  }
  return c
end

-- The outcome of an ended job: one line, and its output.
local function report(job, c, r, o)
  local line
  if r.timed_out then line = ("timed out after %gs"):format(o.timeout)
  elseif r.oom_killed then line = "OOM-killed"
  else line = ("exit %d: %s"):format(r.exit_code, job.cmd) end
  print(("job %d: %s"):format(job.n, line))
  for _, l in ipairs(c:logs()) do print("  | " .. l) end
  job.failed = r.timed_out or r.exit_code ~= 0
  c:remove { force = true }
end

local function run_all(jobs, o)
  local scope <close> = container.scope()
  local next_job, running, job_of = 1, {}, {}
  while next_job <= #jobs or #running > 0 do
    while #running < o.jobs and next_job <= #jobs do
      local c = start(scope, jobs[next_job], o)
      running[#running + 1], job_of[c] = c, jobs[next_job]
      next_job = next_job + 1
    end
    local c, r = container.wait_any(running)
    for i, x in ipairs(running) do
      if x == c then table.remove(running, i) break end
    end
    report(job_of[c], c, r, o)
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
