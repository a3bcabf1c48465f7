-- attach: Attach local standard input, output, and error streams to a running container
--
-- luac-ctr attach [--no-stdin] [--sig-proxy=false] CONTAINER
-- Relays what a running (detached) container writes from now on, its
-- stdout on ours and its stderr on ours, until it exits; the exit code is
-- the container's (docker's). With --sig-proxy (the default) a SIGINT or
-- SIGTERM we get is sent to the container (which decides whether to end);
-- --sig-proxy=false: it ends the attach only. The output is followed in the
-- container's log, which its supervisor writes. Our stdin goes to a
-- container made with -i (its supervisor keeps its stdin open: the FIFO
-- <dir>/stdin), unless --no-stdin; our end of input ends only the
-- forwarding (docker's, without --sig-proxy's terminal raw mode: a
-- terminal stays in line mode). A container not running: one line, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local logs = require "ctr.logs"

local o, args = cli.parse({ ... }, {
  { nil, "no-stdin", "flag", "Do not attach STDIN" },
  { nil, "sig-proxy", "flag", "Proxy all received signals to the process (default true; --sig-proxy=false)" },
  { nil, "detach-keys", "string", "Accepted for compatibility (not read: end the attach with a signal)" },
}, { usage = "attach [OPTIONS] CONTAINER", description = "Attach local standard input, output, and error streams to a running container.",
     command = "attach" })
if #args ~= 1 then errors.raise(1, "\"attach\" requires exactly 1 argument.\nSee 'luac-ctr attach --help'.") end
local c = container.must_get(args[1], 1)
if not c:running() then errors.raise(1, "You cannot attach to a stopped container, start it first") end
-- our stdin to the container's (a child process copies it, so that the
-- output is followed meanwhile); returns the child's pid
local function forward_stdin()
  local core = require "ctr.core"
  local fifo, err = core.open(c.dir .. "/stdin", "wronly,cloexec,nofollow")
  if not fifo then errors.raise(1, "cannot attach to the stdin of %s: %s", args[1], err) end
  local pid = core.fork()
  if pid == 0 then
    core.signals_reset() -- a signal ends the forwarding quietly
    while true do
      local s = core.read(0, 65536)
      if not s or s == "" or not core.write(fifo, s) then core._exit(0) end
    end
  end
  fifo:close()
  return pid
end
local forwarder -- started once the log is followed: what the container answers is seen
local function on_follow()
  if not forwarder and c.state.interactive and not o.no_stdin then forwarder = forward_stdin() end
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
  local ok, err = pcall(logs.read, c, { tail = 0, follow = true, on_follow = on_follow }, relay)
  if ok then break end
  if not (proxy and errors.is(err, "interrupted")) then error(err, 0) end
  local sig = errors.code(err) == 130 and "INT" or "TERM"
  if c:running() then c:kill(sig) else break end
end
io.stdout:flush()
if forwarder then
  local core = require "ctr.core"
  core.kill(forwarder, "KILL")
  core.waitpid(forwarder)
end
os.exit(c:exit_code() or 0)
