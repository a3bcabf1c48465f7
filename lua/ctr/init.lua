--- ctr: the luac-ctr Lua API.
--
-- `local ctr = require "ctr"` gives a table whose fields load on first use,
-- so a script pays only for what it touches:
--
--   ctr.core       the C primitives (unshare, mount, fork, execve, ...)
--   ctr.container  containers: create, run, exec, stop, remove, ...
--   ctr.image      images: import, list, remove, commit
--   ctr.state      the state root, locking, atomic JSON files
--   ctr.cgroup     cgroup v1/v2 limits
--   ctr.network    bridge networks
--   ctr.json       JSON (libjansson) with integers kept as integers
--   ctr.hooks      lifecycle hooks (prestart, poststart, prestop, poststop)
--   ctr.cli        docker-style option parsing for workflows
--   ctr.format     docker's --format templates ({{.Field}}, {{json .}})
--   ctr.envfile    --env-file files, read as docker reads them
--   ctr.logs       container logs (read, follow, timestamps)
--   ctr.commit     commit and export a container's root
--   ctr.volume     named and anonymous volumes (create, list, inspect, remove, prune)
--   ctr.on_exit(fn) run fn when the script ends: returns, errs, is interrupted
--                  or calls os.exit (ctr.onexit)
--   (and archive, net, nft, util, oci, errors, repl, pretty, seccomp, gc,
--   dead, runc, freezer, onexit, check, labels: each is the module ctr.<name>; spec/parity_b_spec.lua loads
--   every one)
local M = { _VERSION = "luac-ctr 0.1.0" }

local submodules = {
  format = true, envfile = true,
  template = true, template_funcs = true, run_options = true,
  core = true, archive = true, net = true, nft = true, container = true, image = true,
  state = true, cgroup = true, network = true, json = true, hooks = true,
  cli = true, util = true, oci = true, errors = true, logs = true, commit = true, repl = true,
  build = true,
  pretty = true, seccomp = true, gc = true, dead = true, runc = true, freezer = true, onexit = true,
  http = true, registry = true, registry_store = true, registry_auth = true, registry_pull = true,
  registry_push = true, registry_archive = true, registry_load = true, registry_progress = true,
  registry_image = true,
  userns = true, rootless = true, check = true, labels = true,
  volume = true, eventlog = true,
  pasta = true,
}

--- The names of the lazily loaded submodules, sorted (used by the REPL's completion).
function M.submodules()
  local t = {}
  for k in pairs(submodules) do t[#t + 1] = k end
  table.sort(t)
  return t
end

--- Run fn() when the script ends: when it returns, fails, is interrupted
-- (SIGINT/SIGTERM) or calls os.exit. Cleanups run last registered first;
-- see ctr.onexit. Returns fn.
function M.on_exit(fn) return require("ctr.onexit").add(fn) end

--- The events of containers (start, exit, oom) as an iterator object:
-- `for e in ctr.events{containers = {c}} do ... end`; see ctr.container.events.
function M.events(o) return require("ctr.container.events").events(o) end

return setmetatable(M, {
  __index = function(t, k)
    if submodules[k] then
      local m = require("ctr." .. k)
      rawset(t, k, m)
      return m
    end
  end,
})
