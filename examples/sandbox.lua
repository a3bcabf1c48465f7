--- examples/sandbox.lua: a throw-away sandbox for an untrusted command.
--
--   luac-ctr examples/sandbox.lua [OPTIONS] COMMAND [ARG...]
--   luac-ctr examples/sandbox.lua --timeout 5 sh -c 'echo hi; touch /x'
--
-- The command runs in a fresh busybox container with no network (only lo),
-- a read-only root filesystem, every capability dropped, and tight limits:
-- memory, number of processes (a fork bomb stops at the pids limit), CPU
-- share and wall-clock time (killed after --timeout seconds). Its output is
-- replayed from the container's log (stdout to stdout, stderr to stderr),
-- the container is removed, and the sandbox exits with the command's exit
-- code (137 when it was killed at the timeout).
--
-- Shows: container.run{detach=} with limits and hardening options,
-- Container:running/kill/wait, ctr.logs.read, and cleaning up in all cases.
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"
local container = require "ctr.container"
local logs = require "ctr.logs"

--- Run argv in a sandbox. limits: memory, pids, cpus, timeout (seconds),
-- image. Returns exit_code, entries ({stream=, log=} in order), timed_out.
local function sandbox(argv, limits)
  local c = container.run {
    image = limits.image or "busybox", cmd = argv, detach = true,
    network = "none", read_only = true, cap_drop = { "ALL" },
    memory = limits.memory or "64m", memory_swap = limits.memory or "64m",
    pids_limit = limits.pids or 32, cpus = limits.cpus or "0.5",
  }
  local ok, code, entries, timed_out = pcall(function()
    local deadline = core.clock("monotonic") + (limits.timeout or 10)
    while c:refresh():running() and core.clock("monotonic") < deadline do core.sleep(0.05) end
    local late = c:running()
    if late then c:kill("KILL") end
    local exit_code = c:wait()
    local out = {}
    logs.read(c, {}, function(e) out[#out + 1] = e end)
    return exit_code, out, late
  end)
  pcall(c.remove, c, { force = true })
  if not ok then error(code, 0) end
  return code, entries, timed_out
end

errors.main(function(...)
  local o, argv = cli.parse({ ... }, {
    { "m", "memory", "string", "Memory limit, swap included (default 64m)" },
    { nil, "pids", "int", "Most processes at once (default 32)" },
    { nil, "cpus", "string", "CPU share (default 0.5)" },
    { nil, "timeout", "string", "Kill the command after this many seconds (default 10)" },
    { nil, "image", "string", "Image (default busybox)" },
  }, { usage = "examples/sandbox.lua [OPTIONS] COMMAND [ARG...]", stop_at_positional = true })
  if #argv == 0 then errors.raise(125, "sandbox: no command given") end
  local timeout = tonumber(o.timeout or "10")
  if not timeout or timeout <= 0 then errors.raise(125, "sandbox: bad --timeout %q", tostring(o.timeout)) end
  local code, entries, timed_out = sandbox(argv, {
    memory = o.memory, pids = o.pids, cpus = o.cpus, timeout = timeout, image = o.image,
  })
  for _, e in ipairs(entries) do
    (e.stream == "stderr" and io.stderr or io.stdout):write(e.log)
  end
  if timed_out then io.stderr:write(("sandbox: killed after %gs\n"):format(timeout)) end
  io.stdout:flush()
  os.exit(code)
end, ...)
