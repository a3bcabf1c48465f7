--- examples/runc/init.lua: a node policy in Lua for every container an engine
-- (podman, containerd, Kubernetes through containerd) starts with luac-runc.
--
-- Put it where luac-runc reads the user's init.lua ($LUAC_CTR_CONFIG/init.lua,
-- else $XDG_CONFIG_HOME/luac-ctr/init.lua or ~/.config/luac-ctr/init.lua of
-- the engine's user) and every `luac-runc create` passes the bundle's OCI
-- config through the "config" hook below before checking and using it:
--
--   * every container gets LUAC_POLICY=1 in its environment;
--   * an annotation org.luac-ctr.memory=SIZE (ctr run --annotation, a pod's
--     annotations) sets a memory limit when the config has none;
--   * a container asking for CAP_SYS_MODULE is refused (create fails with
--     the message, the engine reports it).
--
-- The lifecycle hooks (prestart, poststart, prestop, poststop) fire too;
-- here poststop appends a line to /run/luac-runc-policy.log.
-- spec/runc_containerd_spec.lua runs this file under containerd.
local hooks = require "ctr.hooks"
local util = require "ctr.util"

hooks.on("config", function(cfg)
  cfg.process = cfg.process or {}
  cfg.process.env = cfg.process.env or {}
  table.insert(cfg.process.env, "LUAC_POLICY=1")
  local mem = (cfg.annotations or {})["org.luac-ctr.memory"]
  if mem then
    cfg.linux = cfg.linux or {}
    cfg.linux.resources = cfg.linux.resources or {}
    local m = cfg.linux.resources.memory or {}
    if not m.limit or m.limit <= 0 then m.limit = assert(util.parse_size(mem), "bad org.luac-ctr.memory") end
    cfg.linux.resources.memory = m
  end
  for _, c in ipairs(((cfg.process.capabilities or {}).bounding) or {}) do
    if c == "CAP_SYS_MODULE" then error("policy: CAP_SYS_MODULE is not allowed on this node", 0) end
  end
end)

hooks.on("poststop", function(c)
  local f = io.open(os.getenv("LUAC_POLICY_LOG") or "/run/luac-runc-policy.log", "a")
  if f then f:write("stopped ", c.id, "\n"); f:close() end
end)
