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
  M.expose(o, plan)
end

-- "80", "80/udp", "8000-8010/tcp" (docker's --expose): the ports, as keys "80/tcp".
local function expose_keys(spec, out)
  local lo, hi, proto = tostring(spec):match("^(%d+)%-?(%d*)/?(%a*)$")
  proto = (proto or ""):lower()
  if proto == "" then proto = "tcp" end
  lo, hi = tonumber(lo), tonumber(hi ~= "" and hi or lo)
  if not lo or lo < 1 or hi > 65535 or hi < lo or hi - lo > 1024 or (proto ~= "tcp" and proto ~= "udp") then
    errors.throw("invalid", "invalid --expose %s: use PORT[-PORT][/tcp|/udp]", errors.quote(tostring(spec)))
  end
  for p = lo, hi do out[#out + 1] = ("%d/%s"):format(p, proto) end
end

--- --expose and -P (o.expose, o.publish_all): the exposed ports join the
-- image's (plan.icfg.ExposedPorts, a copy); with publish_all each exposed
-- port not published yet gets a free host port at every start (a port
-- {random = true}: ctr.container.launch binds port 0 and records the one
-- the kernel chose), held as -p holds them.
function M.expose(o, plan)
  local keys = {}
  for _, e in ipairs(o.expose or {}) do expose_keys(e, keys) end
  local icfg = {}
  for k, v in pairs(plan.icfg) do icfg[k] = v end
  local exposed = {}
  for k, v in pairs(icfg.ExposedPorts or {}) do exposed[k] = v end
  for _, k in ipairs(keys) do exposed[k] = require("ctr.json").object({}) end
  icfg.ExposedPorts = next(exposed) and exposed or nil
  plan.icfg = icfg
  if not o.publish_all or plan.net == "none" or plan.net == "host" then return end
  local published, list = {}, {}
  for _, p in ipairs(plan.ports) do published[("%d/%s"):format(p.container_port, p.proto)] = true end
  for k in pairs(exposed) do
    local port, proto = k:match("^(%d+)/?(%a*)$")
    if port and not published[k] then list[#list + 1] = { tonumber(port), proto ~= "" and proto or "tcp" } end
  end
  table.sort(list, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
  for _, p in ipairs(list) do
    plan.ports[#plan.ports + 1] = { host_ip = "0.0.0.0", host_port = 0, container_port = math.tointeger(p[1]), proto = p[2], random = true }
  end
end

--- Apply the plan's settings to cfg, the OCI config of ctr.oci.build.
-- Returns cfg.
function M.apply(cfg, o, plan)
  local _ = o and plan
  return cfg
end

return M
