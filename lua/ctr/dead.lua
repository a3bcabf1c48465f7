--- ctr.dead: containers whose state is missing or unreadable ("Dead").
--
-- A container directory whose state.json cannot be read (truncated or
-- corrupted by a crash or a full disk), or that has none because its
-- creation was cut short (a killed `run -d`), is still a container: `ps -a`
-- lists it with status "dead" and the reason, `inspect`, `logs` and
-- `rm -f` find it by name or id prefix. What it holds is found from the
-- kernel and our other records, not from the lost state: its processes
-- from its cgroup (luac-ctr/<id>), its network attachment, addresses and
-- firewall rules from the network records (ctr.network, by id), its name
-- from the `name` file written at creation (or what survives of the
-- truncated state.json). `rm` kills the processes and frees all of it.
--
-- A directory without state.json is only taken for dead once no creation
-- can be in progress: the global lock (held by create, shared, from mkdir
-- to state.json) can be taken exclusively, or the directory is older than
-- M.GRACE seconds.
local core = require "ctr.core"
local state = require "ctr.state"
local util = require "ctr.util"
local errors = require "ctr.errors"

local M = {}

--- Seconds a container directory without state.json is given to be completed.
M.GRACE = 60

local function cdir(id, ...) return state.dir("containers", id, ...) end

-- No creation in progress for this directory without state.json: checked
-- again under the global lock (a creation may have just finished).
local function settled(id, st)
  if st.mtime and util.now() - st.mtime > M.GRACE then return true end
  local l = state.lock("global", { nonblock = true })
  if not l then return false end
  local done = not core.exists(cdir(id, "state.json"))
  l:unlock()
  return done
end

-- The name: the `name` file, else what survives of a truncated state.json.
local function recover_name(id)
  local s = core.read_file(cdir(id, "name"))
  if s and state.valid_name(s) then return s end
  local text = core.read_file(cdir(id, "state.json"))
  local n = text and text:match('\n  "name": "([^"\\\n]*)"')
  if n and state.valid_name(n) then return n end
  return ""
end

-- The container's processes, from its cgroup: the pids and the oldest
-- (the container's init) with its start time.
local function processes(id)
  local cg = require("ctr.cgroup").open("luac-ctr/" .. id)
  if not cg then return {} end
  local ok, pids = pcall(cg.pids, cg)
  if not ok then
    errors.rethrow_interrupt(pids)
    return {}
  end
  local init, init_st
  for _, p in ipairs(pids) do
    local s = core.starttime(p)
    if s and (not init_st or s < init_st) then init, init_st = p, s end
  end
  return pids, init, init_st
end

local Dead = {}

--- Load the dead container in directory <root>/containers/<id>, given why
-- its state could not be read (load_err); nil when the entry is not a
-- directory, or its creation may still be in progress.
function M.load(id, load_err)
  local container = require "ctr.container"
  if getmetatable(Dead) == nil then
    setmetatable(Dead, { __index = container.Container })
    Dead.__index = Dead
    Dead.__tostring = container.Container.__tostring
  end
  local st = core.stat(cdir(id))
  if not st or st.type ~= "dir" then return nil end
  local reason
  if core.exists(cdir(id, "state.json")) then
    reason = "unreadable state: " .. tostring(load_err)
  else
    if not settled(id, st) then return nil end
    local c = container.load(id) -- completed meanwhile
    if c then return c end
    reason = "incomplete: its creation was interrupted (no state.json)"
  end
  local pids, pid, starttime = processes(id)
  return setmetatable({ id = id, dir = cdir(id), dead = true, pids = pids, state = {
    id = id, name = recover_name(id), status = "dead", dead_reason = reason,
    created = math.floor(st.mtime or 0), cgroup = "luac-ctr/" .. id, network = {},
    pid = pid, starttime = starttime, log = { path = cdir(id, "container.log") },
  } }, Dead)
end

--- Always "dead".
function Dead:status() return "dead" end -- luacheck: no unused args

--- Dead containers have no exit code.
function Dead:exit_code() return nil end -- luacheck: no unused args

--- Nothing to re-read: the state is what load recovered.
function Dead:refresh() return self end

local function refuse(self)
  errors.raise(1, "container %s is dead (%s): remove it with rm -f",
    self.state.name ~= "" and self.state.name or util.short_id(self.id), self.state.dead_reason)
end
Dead.start, Dead.exec, Dead.kill, Dead.stop, Dead.wait = refuse, refuse, refuse, refuse, refuse

--- Remove it: kill what runs in its cgroup, free its cgroup, network
-- attachment, addresses and rules, unmount and delete its directory. A
-- directory without state.json is removed under the global lock (never
-- while a creation could be writing it).
function Dead:remove()
  local function go()
    if self.state.dead_reason:match("^incomplete") and core.exists(cdir(self.id, "state.json")) then
      errors.raise(1, "container %s was completed meanwhile: try again", util.short_id(self.id))
    end
    return self:_locked(self._remove_locked, self)
  end
  if core.exists(cdir(self.id, "state.json")) then return go() end
  return state.with_lock(go)
end

-- Leave every network by id (the attachment record is ours, not the state's).
function Dead:_detach_network()
  local container = require "ctr.container"
  if not container.network_available() or not core.exists(state.dir("networks")) then return end
  local network = require "ctr.network"
  pcall(network.detach_all, self.id)
end

--- What inspect shows: the id, recovered name, State {Status = "dead",
-- Dead = true, Error = the reason, Pid = the init found in its cgroup},
-- the config when readable, the log path and cgroup.
function Dead:inspect()
  local json = require "ctr.json"
  local cfg = require("ctr.state").read_json(cdir(self.id, "config.json"))
  local st = self.state
  local procs = json.array({})
  for i, p in ipairs(self.pids or {}) do procs[i] = p end
  return {
    Id = self.id, Name = st.name and "/" .. st.name, Created = util.rfc3339(st.created),
    State = { Status = "dead", Dead = true, Running = false, Pid = st.pid or 0, ExitCode = 0,
              Error = st.dead_reason, Processes = procs },
    Config = cfg, LogPath = st.log.path, Cgroup = st.cgroup,
  }
end

return M
