--- luac-runc start ID: let a created container's init exec its process.
-- The init is blocked opening <root>/<ID>/exec.fifo for writing; opening it
-- for reading here wakes it, it writes one byte and execs. The fifo is then
-- removed (the status becomes "running"). The config's startContainer hooks
-- run before the wake-up (in the container's namespaces), poststart after
-- it; one failing kills the container and fails start, as runc.
local core = require "ctr.core"
local errors = require "ctr.errors"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"
local hooks = require "ctr.runc.hooks"

local M = {}

-- Run the hooks of kind; on a failure kill the container and raise.
local function run_hooks(ctx, st, cfg, kind, status)
  local ok, err = pcall(hooks.run, cfg, kind, store.oci_state(ctx, st, status), st.pid)
  if ok then return end
  local fd = store.pidfd(st)
  if fd then core.kill(fd, "KILL"); fd:close() end
  error(err, 0)
end

--- Wake the init of container st; raises when it is not waiting.
function M.start(ctx, st)
  local status = store.status(ctx, st)
  if status == "running" then errors.raise(1, "cannot start an already running container") end
  if status ~= "created" then errors.raise(1, "cannot start a container that has %s", status) end
  local cfg = store.config(ctx, st)
  run_hooks(ctx, st, cfg, "startContainer", "created")
  local fifo = store.fifo(ctx, st.id)
  local fd, err = core.open(fifo, "rdonly,nonblock,cloexec")
  if not fd then errors.raise(1, "open %s: %s", fifo, err) end
  while true do
    local data = core.read(fd, 1)
    if data and #data > 0 then break end
    if not store.alive(st) then
      fd:close()
      errors.raise(1, "container %s: its init exited before it was started", st.id)
    end
    core.poll({ { fd, "in" } }, 100)
  end
  fd:close()
  core.unlink(fifo)
  run_hooks(ctx, st, cfg, "poststart", "running")
  runc.user_hooks(ctx, "poststart", { id = st.id, bundle = st.bundle, pid = st.pid, config = cfg, runtime = "luac-runc" })
end

return setmetatable(M, { __call = function(_, ctx, args)
  local _, pos = runc.parse(args, {}, "start")
  M.start(ctx, store.load(ctx, runc.id_arg(pos, "start")))
  return 0
end })
