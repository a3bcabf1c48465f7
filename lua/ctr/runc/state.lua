--- luac-runc state ID: the runtime-spec state JSON of a container
-- (ociVersion, id, status created|running|stopped, pid, bundle, rootfs,
-- created, owner, annotations).
local json = require "ctr.json"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

return function(ctx, args)
  local _, pos = runc.parse(args, {}, "state")
  local st = store.load(ctx, runc.id_arg(pos, "state"))
  io.stdout:write(json.encode(store.oci_state(ctx, st), { indent = true }), "\n")
  return 0
end
