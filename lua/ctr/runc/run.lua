--- luac-runc run [--bundle B] [--pid-file F] [--console-socket S]
--   [--detach] ID: create + start; without --detach wait for the init (our
--   child here), delete the container and exit with its exit code.
local errors = require "ctr.errors"
local runc = require "ctr.runc"
local create = require "ctr.runc.create"
local start = require "ctr.runc.start"
local delete = require "ctr.runc.delete"

return function(ctx, args)
  local o, pos = runc.parse(args, create.OPTS, "run")
  local id = runc.id_arg(pos, "run")
  local p, st = create.create(ctx, id, o)
  local ok, err = pcall(start.start, ctx, st)
  if not ok then
    pcall(delete.delete, ctx, st, true)
    error(err, 0)
  end
  if o.detach then return 0 end
  local res, werr = p:wait()
  if not o.keep then delete.delete(ctx, st, true) end
  if not res then errors.throw("system", "%s", "run: waiting for the container: " .. tostring(werr)) end
  return res.exit_code
end
