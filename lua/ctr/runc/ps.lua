--- luac-runc ps [--format table|json] ID: the pids of the container's
-- cgroup (json: a JSON array of pids, what podman and containerd read;
-- table: PID and CMD columns).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

return function(ctx, args)
  local o, pos = runc.parse(args, { values = { ["--format"] = "format", ["-f"] = "format" } }, "ps")
  local fmt = o.format or "table"
  if fmt ~= "table" and fmt ~= "json" then errors.raise(1, "ps: invalid --format %s: use table or json", errors.quote(fmt)) end
  local st = store.load(ctx, runc.id_arg(pos, "ps"))
  local g = st.cgroup and require("ctr.cgroup").open(st.cgroup)
  local pids = g and g:pids() or {}
  if fmt == "json" then
    io.stdout:write(#pids == 0 and "[]" or json.encode(pids), "\n")
    return 0
  end
  io.stdout:write(("%-8s %s\n"):format("PID", "CMD"))
  for _, pid in ipairs(pids) do
    local cmd = (core.read_file("/proc/" .. pid .. "/cmdline") or ""):gsub("%z$", ""):gsub("%z", " ")
    io.stdout:write(("%-8d %s\n"):format(pid, cmd))
  end
  return 0
end
