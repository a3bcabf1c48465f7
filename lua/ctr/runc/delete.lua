--- luac-runc delete [--force] ID: remove a stopped container's cgroup and
-- state. --force kills (SIGKILL) a created or running one first, and is not
-- an error for a container that does not exist. The config's poststop hooks
-- run once the container and its cgroup are gone; one failing is a warning
-- (stderr and the log), not an error, as runc.
local core = require "ctr.core"
local errors = require "ctr.errors"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

local M = {}

local function kill_and_wait(st)
  local fd = store.pidfd(st)
  if not fd then return end
  core.kill(fd, "KILL")
  core.poll({ { fd, "in" } }, 10000) -- a pidfd is readable once the process exited
  fd:close()
end

--- Remove container st (force: kill it first).
function M.delete(ctx, st, force)
  local status = store.status(ctx, st)
  if status ~= "stopped" then
    if not force then errors.raise(1, "cannot delete container %s that is not stopped: %s", st.id, status) end
    kill_and_wait(st)
  end
  local g = st.cgroup and require("ctr.cgroup").open(st.cgroup)
  if g then
    local ok, err = pcall(g.remove, g, { force = true })
    if not ok then errors.rethrow_interrupt(err) end
    if not ok then errors.raise(1, "delete %s: removing its cgroup: %s", st.id, errors.message(err)) end
  end
  local cok, cfg = pcall(store.config, ctx, st)
  local hok, herr = pcall(require("ctr.runc.hooks").run, cok and cfg or {}, "poststop",
    store.oci_state(ctx, st, "stopped"))
  if not hok then errors.rethrow_interrupt(herr) end
  if not hok then runc.warn(ctx, "delete %s: %s", st.id, errors.message(herr)) end
  runc.user_hooks(ctx, "poststop", { id = st.id, bundle = st.bundle, config = cok and cfg or nil, runtime = "luac-runc" })
  local ok, err = core.remove_all(store.dir(ctx, st.id))
  if not ok then errors.raise(1, "delete %s: %s", st.id, err) end
end

return setmetatable(M, { __call = function(_, ctx, args)
  local o, pos = runc.parse(args, { flags = { ["--force"] = "force", ["-f"] = "force" } }, "delete")
  local id = runc.id_arg(pos, "delete")
  if o.force and not core.exists(store.dir(ctx, id) .. "/state.json") then return 0 end
  M.delete(ctx, store.load(ctx, id), o.force)
  return 0
end })
