-- attach: Attach local standard input, output, and error streams to a running container
--
-- luac-ctr attach [--no-stdin] [--sig-proxy=false] CONTAINER
-- Relays what a running (detached) container writes from now on, its
-- stdout on ours and its stderr on ours, until it exits; the exit code is
-- the container's (docker's). With --sig-proxy (the default) a SIGINT or
-- SIGTERM we get is sent to the container (which decides whether to end);
-- --sig-proxy=false: it ends the attach only. The output is followed in the
-- container's log, which its supervisor writes. Not done: stdin. A detached
-- container's stdin is /dev/null (run -d -i does not keep it open: the
-- supervisor has no channel to take input from a client), so nothing is
-- forwarded; a container made with -i gets a one-line notice on stderr
-- (--no-stdin silences it). A container not running: one line, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local logs = require "ctr.logs"

local o, args = cli.parse({ ... }, {
  { nil, "no-stdin", "flag", "Do not attach STDIN" },
  { nil, "sig-proxy", "flag", "Proxy all received signals to the process (default true; --sig-proxy=false)" },
  { nil, "detach-keys", "string", "Accepted for compatibility (there is no stdin to read them from)" },
}, { usage = "attach [OPTIONS] CONTAINER", description = "Attach local standard input, output, and error streams to a running container.",
     command = "attach" })
if #args ~= 1 then errors.raise(1, "\"attach\" requires exactly 1 argument.\nSee 'luac-ctr attach --help'.") end
local c = container.must_get(args[1], 1)
if not c:running() then errors.raise(1, "You cannot attach to a stopped container, start it first") end
if c.state.interactive and not o.no_stdin then
  io.stderr:write("luac-ctr: attach: stdin is not forwarded: a detached container's stdin is closed\n")
end
local proxy = o.sig_proxy ~= false

io.stdout:setvbuf("line")
local function relay(e)
  if e.stream == "stderr" then
    io.stdout:flush()
    io.stderr:write(e.log)
  else
    io.stdout:write(e.log)
  end
end

-- follow the log from now on; an interrupt is the container's (sig-proxy)
while true do
  local ok, err = pcall(logs.read, c, { tail = 0, follow = true }, relay)
  if ok then break end
  if not (proxy and errors.is(err, "interrupted")) then error(err, 0) end
  local sig = errors.code(err) == 130 and "INT" or "TERM"
  if c:running() then c:kill(sig) else break end
end
io.stdout:flush()
os.exit(c:exit_code() or 0)
