-- stop: Stop one or more running containers
--
-- luac-ctr stop [-t SECONDS] [-s SIGNAL] CONTAINER...
-- Sends the stop signal (SIGTERM, or the image's STOPSIGNAL), then SIGKILL
-- after the timeout (default 10 s). Returns once the process is gone and
-- its exit is recorded; prints each argument as given. Several containers
-- are stopped at the same time. Stopping a stopped container is fine. An
-- unknown container: a message, exit 1 (the others are still stopped).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args, so = cli.parse({ ... }, {
  { "t", "time", "int", "Seconds to wait before killing the container (default 10)", key = "timeout" },
  { nil, "timeout", "int", "Alias of --time", key = "timeout" },
  { "s", "signal", "string", "Signal to send to the container", key = "signal" },
}, { usage = "stop [OPTIONS] CONTAINER [CONTAINER...]", description = "Stop one or more running containers.", command = "stop" })
if #args < 1 then errors.raise(1, "\"stop\" requires at least 1 argument.\nSee 'luac-ctr stop --help'.") end
if so.timeout and so.timeout < 0 then so.timeout = 3600 * 24 * 365 end -- -1: wait forever
if so.signal then container.signum(so.signal) end -- check it before stopping anything
-- all at once (a child each), as docker does: N stubborn containers take
-- one timeout, not N; the names are printed in the order given
local core = require "ctr.core"
io.stdout:flush()
local pids = {}
for i, ref in ipairs(args) do
  local pid = assert(core.fork())
  if pid == 0 then
    local ok, err = pcall(function()
      container.must_get(ref, 1):stop(so)
    end)
    if not ok then errors.report(err) end
    io.stderr:flush()
    core._exit(ok and 0 or 1)
  end
  pids[i] = pid
end
local failed = false
for i, ref in ipairs(args) do
  local _, how, code = core.waitpid(pids[i])
  if how == "exited" and code == 0 then io.stdout:write(ref, "\n") else failed = true end
end
if failed then os.exit(1) end
