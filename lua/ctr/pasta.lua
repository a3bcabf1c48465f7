--- ctr.pasta: the network of a rootless container (README "Running without
-- root"): pasta (Debian's passt) gives the container's network namespace
-- a tap interface with a copy of the host's address and routes, relays its
-- traffic through ordinary sockets of the user's, and binds the published
-- ports (-p) on the host, splicing their connections into the container.
-- We start it (a helper process in the foreground, as podman does) once the container's
-- process exists, record its pid in the container's state and kill it when
-- the container's run ends: nothing of it outlives the container.
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

local SEARCH = { "/usr/bin/pasta", "/usr/sbin/pasta", "/usr/local/bin/pasta", "/bin/pasta" }

--- The path of the pasta executable, or nil when it is not installed.
function M.binary()
  for _, p in ipairs(SEARCH) do if core.access(p, "x") then return p end end
  return nil
end

--- Why pasta cannot give this caller a network (a one-line reason), or nil
-- when it can: it is installed, and /dev/net/tun (which it opens inside
-- the container's namespaces) is readable and writable by the caller.
function M.unusable()
  if not M.binary() then return "pasta is not installed (Debian package passt)" end
  if not core.access("/dev/net/tun", "rw") then
    return "/dev/net/tun is not readable and writable by you (chmod 0666 /dev/net/tun, Debian's default)"
  end
  return nil
end

--- The lowest port a user may bind (net.ipv4.ip_unprivileged_port_start).
function M.unprivileged_start()
  local s = core.read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start") or ""
  return math.tointeger(tonumber(s:match("%d+"))) or 1024
end

--- Check the published ports ps (parsed -p specs) of a rootless container:
-- raises "invalid" for a host port below the unprivileged start (1024).
function M.check_ports(ps)
  local low = M.unprivileged_start()
  for _, p in ipairs(ps or {}) do
    if p.host_port < low then
      errors.throw("invalid", "rootless: cannot publish host port %d: ports below %d need root", p.host_port, low)
    end
  end
end

-- pasta's forwarding options for the published ports ps: -t/-u
-- [ADDR/]HOSTPORT:CTRPORT each, "none" when there is none.
local function forwards(argv, ps)
  local any = { tcp = false, udp = false }
  for _, p in ipairs(ps or {}) do
    local addr = (p.host_ip and p.host_ip ~= "0.0.0.0") and (p.host_ip .. "/") or ""
    argv[#argv + 1] = p.proto == "udp" and "-u" or "-t"
    argv[#argv + 1] = ("%s%d:%d"):format(addr, p.host_port, p.container_port)
    any[p.proto == "udp" and "udp" or "tcp"] = true
  end
  if not any.tcp then argv[#argv + 1] = "-t"; argv[#argv + 1] = "none" end
  if not any.udp then argv[#argv + 1] = "-u"; argv[#argv + 1] = "none" end
end

-- Start argv (pasta in the foreground: our child, reaped by M.stop) with
-- stdin and stdout on /dev/null and stderr to the file err. Returns its pid.
local function spawn(argv, err)
  local pid, ferr = core.fork()
  if not pid then errors.throw("system", "pasta: fork: %s", ferr) end
  if pid == 0 then
    local null = core.open("/dev/null", "rdwr")
    local e = core.open(err, "wronly,creat,trunc,nofollow,noctty", 384)
    if null then core.dup2(null, 0); core.dup2(null, 1) end
    if e then core.dup2(e, 2) end
    core.execve(argv[1], argv, { "PATH=/usr/sbin:/usr/bin:/sbin:/bin" })
    core._exit(127)
  end
  return pid
end

-- Wait (up to 10 s) until pasta child pid wrote pidfile (its set-up is
-- done: the namespace configured, the ports bound). Returns true, or
-- false and how it ended.
local function ready(pid, pidfile)
  for _ = 1, 1000 do
    if (core.read_file(pidfile) or ""):match("%d+\n") then return true end
    local r, how, code = core.waitpid(pid, "nohang")
    if r == pid then return false, ("%s %s"):format(how, tostring(code)) end
    core.sleep(0.01)
  end
  return false, "no set-up in 10 s"
end

-- The last non-empty line of the files, for an error message.
local function last_line(...)
  local line
  for _, f in ipairs({ ... }) do
    for l in (core.read_file(f) or ""):gmatch("[^\n]+") do
      if not l:match("syslog") then line = l end
    end
  end
  return line
end

--- Give the network namespace of process pid (stopped before its execve)
-- a network, publishing the ports ps; dir is the container's directory
-- (pasta's pid file and log). Returns {pid=, starttime=} of the pasta
-- process; raises "system" with pasta's own message when it fails.
function M.start(pid, ps, dir)
  local why = M.unusable()
  if why then errors.throw("invalid", "rootless network: %s; use --network none", why) end
  local pidfile, log, err = dir .. "/pasta.pid", dir .. "/pasta.log", dir .. "/pasta.err"
  os.remove(pidfile)
  -- no way from the container to the host's loopback (-T/-U none) or to
  -- the host through the gateway's address (--no-map-gw)
  local argv = { M.binary(), "--foreground", "--config-net", "--quiet", "--no-map-gw", "-T", "none", "-U", "none",
    "-P", pidfile, "-l", log }
  forwards(argv, ps)
  argv[#argv + 1] = tostring(math.tointeger(pid))
  local child = spawn(argv, err)
  local p = { pid = child, starttime = core.starttime(child) }
  local ok, how = ready(child, pidfile)
  if not ok then
    M.stop(p)
    errors.throw("system", "rootless network: pasta failed (%s): %s", how, last_line(err, log) or "no message")
  end
  return p
end

--- Stop the pasta process p ({pid=, starttime=}, as M.start returned):
-- kill it and reap it when it is our child, else wait (up to 2 s) until it
-- is gone. A pid reused by another process is never signalled.
function M.stop(p)
  if not p or not p.pid then return end
  local alive = require("ctr.container.object").alive
  local fd = core.pidfd_open(p.pid)
  if fd and alive(p.pid, p.starttime) then core.kill(fd, "SIGKILL") end -- the pidfd: never a reused pid
  if fd then fd:close() end
  for _ = 1, 200 do
    local r = core.waitpid(p.pid, "nohang")
    if r == p.pid then return end
    if r == nil and not alive(p.pid, p.starttime) then return end -- not our child: another's to reap
    core.sleep(0.01)
  end
end

return M
