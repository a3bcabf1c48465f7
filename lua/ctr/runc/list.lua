--- luac-runc list [-q] [--format table|json]: the containers of --root.
local json = require "ctr.json"
local errors = require "ctr.errors"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

return function(ctx, args)
  local o = runc.parse(args, { flags = { ["-q"] = "quiet", ["--quiet"] = "quiet" },
                               values = { ["--format"] = "format", ["-f"] = "format" } }, "list")
  local fmt = o.format or "table"
  if fmt ~= "table" and fmt ~= "json" then errors.raise(1, "list: invalid --format %s", errors.quote(fmt)) end
  local states = {}
  for _, id in ipairs(store.ids(ctx)) do
    local ok, st = pcall(store.load, ctx, id)
    if ok then states[#states + 1] = store.oci_state(ctx, st) else errors.rethrow_interrupt(st) end
  end
  if o.quiet then
    for _, s in ipairs(states) do print(s.id) end
  elseif fmt == "json" then
    print(json.encode(json.array(states)))
  else
    print(("%-20s %-8s %-10s %-40s %-31s %s"):format("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"))
    for _, s in ipairs(states) do
      print(("%-20s %-8d %-10s %-40s %-31s %s"):format(s.id, s.pid, s.status, s.bundle, s.created, "root"))
    end
  end
  return 0
end
