--- ctr.container.exec: running a command inside a running container, as
-- docker exec does.
local core = require "ctr.core"
local errors = require "ctr.errors"
local util = require "ctr.util"
local object = require "ctr.container.object"
local identity = require "ctr.container.identity"
local launch = require "ctr.container.launch"
local check = require "ctr.check"

local M = {}
local Container = object.Container

local ALL_NS = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup" } -- setns joins user first

-- Join only the namespaces the container does not share with us (a
-- --network host container shares the host's net namespace).
local function namespaces_to_join(pid)
  local me = core.getpid()
  local out = {}
  for _, n in ipairs(ALL_NS) do
    if core.ns_id(pid, n) ~= core.ns_id(me, n) then out[#out + 1] = n end
  end
  return out
end

-- Feed what src has into the command's stdin pipe w (non-blocking), keeping
-- what does not fit in feed.pending. Returns false once the input is over.
local function feed_step(feed, readable)
  if feed.pending == "" and readable then
    local s = core.read(feed.src, 65536)
    if not s or s == "" then return false end
    feed.pending = s
  end
  local n, _, errno = core.write(feed.w, feed.pending)
  if not n and errno ~= core.errno.EAGAIN then return false end -- the command closed its stdin
  feed.pending = feed.pending:sub((n or 0) + 1)
  return true
end

-- Read two pipes to their ends at once (neither may fill up and block the
-- command), feeding feed.src to feed.w meanwhile when given. Returns both contents.
-- With a deadline (monotonic seconds), stops there and returns a third value, true.
local function collect(a, b, feed, deadline)
  local bufs = { [a] = {}, [b] = {} }
  local open = { a, b }
  while #open > 0 do
    local list = {}
    for i, fd in ipairs(open) do list[i] = { fd, "in" } end
    if feed then list[#list + 1] = feed.pending == "" and { feed.src, "in" } or { feed.w, "out" } end
    local ms = deadline and math.max(0, math.ceil((deadline - core.clock("monotonic")) * 1000)) or -1
    local ready, err = core.poll(list, ms)
    if not ready then errors.throw("system", "exec: poll: %s", err) end
    if deadline and (#ready == 0 or core.clock("monotonic") >= deadline) then
      if feed then feed.w:close() end
      return table.concat(bufs[a]), table.concat(bufs[b]), true
    end
    for _, r in ipairs(ready) do
      if feed and (r.fd == feed.src or r.fd == feed.w) then
        if not feed_step(feed, r.fd == feed.src) then feed.w:close(); feed = nil end
      else
        local s = core.read(r.fd, 65536)
        if s and s ~= "" then
          table.insert(bufs[r.fd], s)
        else
          for i, fd in ipairs(open) do if fd == r.fd then table.remove(open, i) break end end
        end
      end
    end
  end
  if feed then feed.w:close() end
  return table.concat(bufs[a]), table.concat(bufs[b])
end

local function exec_process(self, o)
  local cfg = self:config()
  local base = cfg.process
  if type(o.cmd) ~= "table" or #o.cmd == 0 then errors.throw("invalid", "exec: no command given (cmd = {...})") end
  -- docker: exec -t sets TERM=xterm (as run -t does) unless -e TERM= is given
  local env = identity.env_merge(base.env, o.tty and { "TERM=xterm" } or {})
  env = identity.env_merge(env, o.env or {})
  local user = base.user
  if o.user then
    local image = require "ctr.image"
    local img = image.resolve(self.state.image_id)
    local uid, gid = identity.resolve_user(o.user, img and image.lower_dirs(img) or {})
    user = { uid = uid, gid = gid, additionalGids = {} }
  end
  local caps = base.capabilities
  if user.uid ~= 0 and caps then
    caps = { bounding = caps.bounding, effective = {}, permitted = {}, inheritable = {}, ambient = {} }
  end
  return {
    args = o.cmd, env = env, cwd = o.cwd or base.cwd, user = user,
    capabilities = caps, noNewPrivileges = base.noNewPrivileges, terminal = o.tty or false,
    rlimits = base.rlimits, -- as docker exec: the container's
  }
end

-- Where the command goes: the container's namespaces (those it does not
-- share with us), its seccomp filter and its cgroup.
local function exec_target(self)
  local target = { pid = self.state.pid, namespaces = namespaces_to_join(self.state.pid) }
  local sc = self:config().linux and self:config().linux.seccomp -- the container's filter
  if sc then target.seccomp_bpf, target.seccomp = require("ctr.seccomp").program(sc) end
  local entry = self.state.cgroup_entry -- recorded at start: no cgroup lookups on the hot path
  if entry then
    target.cgroup_procs, target.cgroup_into = entry.join, entry.into
  else
    local g = require("ctr.cgroup").open(self.state.cgroup)
    if g then target.cgroup_procs, target.cgroup_into = launch.cgroup_entry(g) end
  end
  return target
end

-- The command's stdio in target, and our ends in keep: the caller's fds
-- never enter the container; pipes do, relayed by us (none when detached;
-- with a tty, the pty).
local function exec_stdio(o, target, keep)
  keep.devnull = launch.open_devnull()
  if o.tty then return end
  local devnull = keep.devnull
  target.stdin, target.stdout, target.stderr = devnull, devnull, devnull
  local src = o.stdin or (o.interactive and 0) or nil
  if src and not o.detach then
    local in_r, in_w = core.pipe()
    target.stdin, keep.in_r, keep.in_w, keep.in_src = in_r, in_r, in_w, src
  end
  if not o.detach then
    local out_r, out_w = core.pipe()
    local err_r, err_w = core.pipe()
    target.stdout, target.stderr = out_w, err_w
    keep.out_r, keep.err_r, keep.out_w, keep.err_w = out_r, err_r, out_w, err_w
  end
end

-- Enter the container and start the command (the pidfd is checked
-- against the start time: a reused pid is never entered). Closes the
-- command's ends of the pipes; raises 125, or 126/127 when it cannot be
-- executed or is not found.
local function enter(self, process, target, keep)
  target.pidfd = self:_pidfd()
  if not target.pidfd then
    for _, k in ipairs({ "devnull", "in_r", "in_w", "out_r", "out_w", "err_r", "err_w" }) do
      if keep[k] then keep[k]:close() end
    end
    errors.throw("not_running", "container %s is not running", self.state.name)
  end
  local p, err, errno, exec_failed = core.exec_in(require("ctr.json").encode(process), target)
  target.pidfd:close()
  if keep.out_w then keep.out_w:close(); keep.err_w:close() end
  if keep.in_r then keep.in_r:close() end
  keep.devnull:close()
  if not p then
    if keep.out_r then keep.out_r:close(); keep.err_r:close() end
    if keep.in_w then keep.in_w:close() end
    -- it died meanwhile (setns: no such process, while /proc may still show
    -- it exiting; or its cgroup gone)
    if not exec_failed and (errno == core.errno.ESRCH or self:refresh():status() ~= "running") then
      errors.throw("not_running", "container %s is not running", self.state.name)
    end
    launch.exec_error(err, errno, exec_failed)
  end
  return p
end

-- o.capture: collect the output as strings (feeding the input meanwhile);
-- at the deadline (if any) the command is killed.
local function capture(p, keep, deadline)
  local feed = nil
  if keep.in_w then
    assert(core.set_nonblock(keep.in_w))
    feed = { src = keep.in_src, w = keep.in_w, pending = "" }
  end
  local out, errout, timed_out = collect(keep.out_r, keep.err_r, feed, deadline)
  keep.out_r:close(); keep.err_r:close()
  if timed_out then p:kill(9) end
  local res = p:wait()
  res.stdout, res.stderr, res.timed_out = out, errout, timed_out or false
  return res
end

-- In the foreground: relay the command's stdio to ours (or o.stdout,
-- o.stderr), forwarding signals, until it exits.
local function relay(p, o, keep)
  local pty = p:pty()
  local stdin = o.stdin or 0
  local res, serr = p:supervise {
    pty = pty, stdin = (o.tty and (o.interactive ~= false) and stdin) or keep.in_src,
    stdin_pipe = keep.in_w and keep.in_w:release(),
    stdout = keep.out_r, stderr = keep.err_r,
    echo = true, echo_stdout = o.stdout, echo_stderr = o.stderr,
    forward_signals = true, raw = o.tty and core.isatty(stdin), timeout = o.timeout,
  }
  if pty then pty:close() end
  if keep.out_r then keep.out_r:close(); keep.err_r:close() end
  if not res then errors.throw("system", "exec: %s", serr) end
  return res
end

--- Run a command inside the running container, as docker exec does: the
-- container's namespaces, cgroup, environment (plus o.env), working
-- directory (o.cwd), user (o.user), capabilities and no_new_privs.
-- o: cmd (list, required; argv is its older name), env, cwd (workdir too),
-- user, tty, interactive, stdin,
-- stdout, stderr (fds; default ours, stdin /dev/null unless interactive;
-- never given to the command: it gets pipes and we relay; not with detach),
-- capture (collect stdout and stderr as strings), detach (return a handle
-- {pid=, wait=function}), timeout (seconds: the command is killed then,
-- SIGKILL, and timed_out is true). Returns the result shape of
-- Container:result ({exit_code=, signal=, oom_killed=, timed_out=,
-- started_at=, finished_at=}) [with stdout=, stderr=]. Raises not_running
-- (code 125) when the container is not running (or dies as the command
-- enters it), 126/127 when the command cannot be executed or is not found.
function Container:exec(o)
  check.self(self, Container, "exec")
  o = check.api("Container:exec", o)
  if self:status() ~= "running" then
    errors.throw("not_running", "container %s is not running", self.state.name)
  end
  if self.state.paused and self.state.paused == self.state.pid then -- Container:paused, without loading its part
    errors.raise(1, "Container %s is paused, unpause the container before exec", self.id)
  end
  if o.timeout ~= nil and not (type(o.timeout) == "number" and o.timeout > 0) then
    errors.throw("invalid", "exec: timeout must be a number of seconds > 0, got %s", tostring(o.timeout))
  end
  local process = exec_process(self, o)
  local target = exec_target(self)
  if o.detach and (o.stdin or o.stdout or o.stderr) then
    errors.throw("invalid", "exec: a detached command gets no stdin, stdout or stderr (nothing would relay them)")
  end
  local keep = {}
  exec_stdio(o, target, keep)
  local p = enter(self, process, target, keep)
  local eventlog, exec_id = require "ctr.eventlog", core.random_hex(32)
  local cmdline = table.concat(process.args or {}, " ")
  eventlog.container(self, "exec_create: " .. cmdline, { execID = exec_id })
  eventlog.container(self, "exec_start: " .. cmdline, { execID = exec_id })
  if o.detach then
    return { pid = p.pid, proc = p, wait = function() return p:wait() end }
  end
  local started = util.now()
  local res
  if o.capture then
    res = capture(p, keep, o.timeout and core.clock("monotonic") + o.timeout)
  else
    res = relay(p, o, keep)
  end
  res.oom_killed, res.timed_out = false, res.timed_out or false
  res.started_at, res.finished_at = started, util.now()
  eventlog.container(self, "exec_die", { execID = exec_id, exitCode = res.exit_code })
  return res
end

return M
