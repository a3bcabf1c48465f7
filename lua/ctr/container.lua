--- ctr.container: containers, their state and their lifecycle.
--
--   local container = require "ctr.container"
--   local c = container.create{ image = "busybox", cmd = {"top"}, name = "web", memory = "64m" }
--   c:start{ detach = true }
--   print(c:exec{ cmd = {"ps"}, capture = true }.stdout)
--   c:stop{ timeout = 5 }
--   c:remove()
--
-- Errors are raised (ctr.errors values carrying docker's exit codes: 125
-- for bad input or a container in the wrong state, 126/127 when a command
-- cannot be run or is not found). Lookups that callers branch on
-- (container.get) return nil, err instead.
--
-- This module gathers the public functions of its parts, a module per
-- concern, each adding its methods to the one Container class:
--
--   ctr.container.object     the Container class: status, exit code, config
--   ctr.container.store      lookup (load, list, get), saving, locking
--   ctr.container.identity   user, groups, paths, volumes, environment
--   ctr.container.spec       docker's options to the OCI config
--   ctr.container.create     create
--   ctr.container.launch     a start's first phase: cgroup, process, network
--   ctr.container.lifecycle  start, supervise, record the exit, run
--   ctr.container.signal     kill, stop, wait
--   ctr.container.exec       exec
--   ctr.container.remove     remove
--   ctr.container.inspect    inspect
--   ctr.container.service    labels and list{label=}, publish/unpublish, logs
--   ctr.container.scope      containers removed with a scope or the script
--   ctr.container.events     start, exit and oom events
--   ctr.container.image      commit, export (ctr.commit)
--   ctr.container.health     health checks (HEALTHCHECK) of detached containers
--   ctr.container.restart    restart policies (--restart) of detached containers
--   ctr.container.runflags   --init, -P, --sysctl, --stop-*, --shm-size, cgroup flags
--   ctr.container.nsshare    --ipc, --pid, --uts, --network container:NAME
--   ctr.container.copy       cp: files between a container and the host
--   ctr.container.pause      pause, unpause
--   ctr.container.helper     a helper rooted in a container's files (cp, diff)
--   ctr.container.changes    diff
--   ctr.container.ports      port
--   ctr.container.rename     rename
--   ctr.container.top        top
--   ctr.container.update     update (resource limits)
--   ctr.container.prune      container prune, system df's numbers
--   ctr.container.stats      stats: CPU, memory, network and block I/O, pids
--
-- A container lives in <root>/containers/<id>/ (see ctr.container.store).
--
-- Only object and store load with this module: the other parts load on
-- first use of one of their functions or methods (a `run` does not load
-- health or events, an `exec` not create or lifecycle), which keeps every
-- command's start-up short. M.load_all() loads every part (the REPL does,
-- to list and complete them).
local object = require "ctr.container.object"
local store = require "ctr.container.store"

local M = {}
M.Container = object.Container

-- the parts that add methods to Container, and those methods
local METHODS = {
  ["ctr.container.changes"] = { "diff" },
  ["ctr.container.copy"] = { "copy_from", "copy_to" },
  ["ctr.container.ports"] = { "port" },
  ["ctr.container.rename"] = { "rename" },
  ["ctr.container.top"] = { "top" },
  ["ctr.container.update"] = { "update" },
  ["ctr.container.exec"] = { "exec" },
  ["ctr.container.health"] = { "health" },
  ["ctr.container.image"] = { "commit", "export" },
  ["ctr.container.inspect"] = { "inspect" },
  ["ctr.container.launch"] = { "_reserve_network", "_attach_network", "_detach_network", "_launch" },
  ["ctr.container.lifecycle"] = { "_finish", "start", "_start_detached" },
  ["ctr.container.remove"] = { "remove", "_remove", "_removed", "_remove_locked" },
  ["ctr.container.service"] = { "labels", "publish", "unpublish", "logs" },
  ["ctr.container.signal"] = { "kill", "_await_record", "_exit_of_removed", "stop", "wait", "_stopped_by_user" },
  ["ctr.container.pause"] = { "paused", "pause", "unpause", "_thaw", "_thaw_paused" },
  ["ctr.container.stats"] = { "stats" },
}

-- the module's values that live in a part: name -> the part (same name
-- there); tools/gendoc.lua reads the lazy(...) lines as re-exports
local lazy, load_parts = require("ctr.util").lazy_parts(M)
lazy(M, "LOG_MAX", "ctr.container.create")
lazy(M, "LOG_FILES", "ctr.container.create")
lazy(M, "ETC_FILE_MAX", "ctr.container.identity")
lazy(M, "list", "ctr.container.service")
lazy(M, "resolve_user", "ctr.container.identity")
lazy(M, "resolve_groups", "ctr.container.identity")
lazy(M, "clean_path", "ctr.container.identity")
lazy(M, "parse_volume", "ctr.container.identity")
lazy(M, "env_merge", "ctr.container.identity")
lazy(M, "default_network", "ctr.container.spec")
lazy(M, "network_available", "ctr.container.spec")
lazy(M, "create", "ctr.container.create")
lazy(M, "run", "ctr.container.lifecycle")
lazy(M, "remove_on_exit", "ctr.container.lifecycle")
lazy(M, "signum", "ctr.container.signal")
lazy(M, "wait_any", "ctr.container.signal")
lazy(M, "scope", "ctr.container.scope")
lazy(M, "events", "ctr.container.events")
lazy(M, "remove_incomplete", "ctr.container.remove")
lazy(M, "remove_all", "ctr.container.remove")
lazy(M, "prune", "ctr.container.prune")
lazy(M, "disk_usage", "ctr.container.prune")

local method_part = {}
for part, names in pairs(METHODS) do
  for _, n in ipairs(names) do method_part[n] = part end
end

setmetatable(M.Container, {
  __index = function(class, k)
    local part = method_part[k]
    if not part then return nil end
    require(part)
    return rawget(class, k)
  end,
})

M.load = store.load
M.get = store.get
M.must_get = store.must_get

--- Load every part of the module now (their methods and functions), as
-- the REPL does before it lists or completes them.
function M.load_all()
  for part in pairs(METHODS) do require(part) end
  load_parts()
  return M
end

return M
