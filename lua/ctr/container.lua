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
--
-- A container lives in <root>/containers/<id>/ (see ctr.container.store).
local object = require "ctr.container.object"
local store = require "ctr.container.store"
local identity = require "ctr.container.identity"
local spec = require "ctr.container.spec"
local create = require "ctr.container.create"
local lifecycle = require "ctr.container.lifecycle"
local signal = require "ctr.container.signal"
local remove = require "ctr.container.remove"
local service = require "ctr.container.service"
local scope = require "ctr.container.scope"
local events = require "ctr.container.events"
require "ctr.container.launch"
require "ctr.container.exec"
require "ctr.container.inspect"
require "ctr.container.image"
require "ctr.container.health"

local M = {}
M.Container = object.Container

M.LOG_MAX = create.LOG_MAX
M.LOG_FILES = create.LOG_FILES
M.ETC_FILE_MAX = identity.ETC_FILE_MAX

M.load = store.load
M.list = service.list
M.get = store.get
M.must_get = store.must_get
M.resolve_user = identity.resolve_user
M.resolve_groups = identity.resolve_groups
M.clean_path = identity.clean_path
M.parse_volume = identity.parse_volume
M.env_merge = identity.env_merge
M.default_network = spec.default_network
M.network_available = spec.network_available
M.create = create.create
M.run = lifecycle.run
M.signum = signal.signum
M.wait_any = signal.wait_any
M.remove_on_exit = lifecycle.remove_on_exit
M.scope = scope.scope
M.events = events.events
M.remove_incomplete = remove.remove_incomplete

return M
