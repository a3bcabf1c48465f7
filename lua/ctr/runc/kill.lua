--- luac-runc kill [--all] ID [SIGNAL]: send SIGNAL (a name, with or without
-- SIG, or a number; default SIGTERM) to the container's init through a
-- pidfd checked to be that process; --all: to every process of its cgroup.
local core = require "ctr.core"
local errors = require "ctr.errors"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

local function signal_of(s)
  local n = s:match("^%d+$") and math.tointeger(tonumber(s)) or s
  local num = core.signum(n)
  if not num or num <= 0 or num > 64 then errors.raise(1, "kill: invalid signal %s", errors.quote(s)) end
  return num
end

return function(ctx, args)
  local o, pos = runc.parse(args, { flags = { ["--all"] = "all", ["-a"] = "all" } }, "kill")
  local id = runc.id_arg(pos, "kill", 2)
  local sig = signal_of(pos[2] or "SIGTERM")
  local st = store.load(ctx, id)
  runc.user_hooks(ctx, "prestop", { id = id, bundle = st.bundle, pid = st.pid, signal = sig, runtime = "luac-runc" })
  if o.all then
    local g = require("ctr.cgroup").open(st.cgroup)
    for _, pid in ipairs(g and g:pids() or {}) do core.kill(pid, sig) end
    return 0
  end
  local fd = store.pidfd(st)
  if not fd then errors.raise(1, "container %s is not running", id) end
  local ok, err = core.kill(fd, sig)
  fd:close()
  if not ok then errors.raise(1, "kill %s: %s", id, err) end
  return 0
end
