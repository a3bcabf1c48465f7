--- ctr.container.create: making a container (state "created") from
-- docker's options: its directory, /etc files, OCI config and state.json.
local core = require "ctr.core"
local state = require "ctr.state"
local util = require "ctr.util"
local errors = require "ctr.errors"
local store = require "ctr.container.store"
local spec = require "ctr.container.spec"
local check = require "ctr.check"
local object = require "ctr.container.object"

local M = {}

M.LOG_MAX = 10 * 1024 * 1024 -- rotate the log at 10 MiB ...
M.LOG_FILES = 2              -- ... keeping one rotated file

-- The container's directory is private (0700); its upper dir becomes the
-- attributes of the container's "/", so it is 0755 like any root.
local function mkdirs(dir)
  for _, d in ipairs({ { dir, 448 }, { dir .. "/upper", 493 }, { dir .. "/work", 448 }, { dir .. "/rootfs", 493 } }) do
    local ok, err = core.mkdir(d[1], d[2])
    if not ok then errors.throw("system", "cannot create %s: %s", d[1], err) end
    core.chmod(d[1], d[2]) -- not subject to the umask
  end
end

local function random_name()
  local adj = { "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen",
                "lucid", "merry", "nimble", "proud", "quiet", "swift", "witty", "zen" }
  local noun = { "turing", "hopper", "lovelace", "ritchie", "thompson", "knuth", "torvalds", "dijkstra",
                 "liskov", "wirth", "lamport", "hamming", "kernighan", "pike", "cerf", "allen" }
  local b = core.getrandom(3)
  return adj[b:byte(1) % #adj + 1] .. "_" .. noun[b:byte(2) % #noun + 1] .. "_" .. (b:byte(3) % 100)
end

-- The volumes' host directories are created when missing (as docker does).
local function make_volume_dirs(volumes, maps)
  for _, v in ipairs(volumes) do
    if v.type == "bind" and not core.exists(v.source) then
      local ok, err = util.mkdir_p(v.source, 493)
      if not ok then errors.throw("system", "cannot create the volume directory %s: %s", v.source, err) end
      if maps then require("ctr.userns").give(v.source, maps) end -- a new one is the container's
    end
  end
end

-- The new container's state.json record.
local function state_record(o, plan, id, name, dir, hostname, dcfg)
  return {
    id = id, name = name, image = o.image, image_id = plan.img.id,
    command = plan.args, created = util.now(), status = "created",
    cgroup = (plan.cgroup_parent and plan.cgroup_parent .. "/" or "") .. "luac-ctr/" .. id,
    cgroup_delegated = plan.cgroup_parent and true or nil, -- rootless (ctr.rootless.cgroup_parent)
    resources = plan.resources, tty = o.tty or false,
    interactive = o.interactive or false, auto_remove = o.rm or false,
    network = { mode = plan.net, ip = o.ip, ports = plan.ports, hostname = hostname, add_hosts = o.add_host },
    log = { path = dir .. "/container.log", max_size = o.log_max or M.LOG_MAX, max_files = o.log_files or M.LOG_FILES },
    stop_signal = plan.icfg.StopSignal or "SIGTERM", config = dcfg, userns = plan.maps, labels = plan.labels,
    healthcheck = plan.healthcheck,
    host = { privileged = o.privileged, read_only = o.read_only, cap_add = o.cap_add, cap_drop = o.cap_drop },
    mounts = plan.mounts, -- docker's Mounts records (ctr.volume.mounts)
    restart = plan.restart, restart_count = 0, stop_timeout = plan.stop_timeout, -- ctr.container.runflags
    init = o.init or nil, cgroup_extra = plan.cgroup_extra, join = plan.join, ipc_mode = plan.ipc_mode,
    shm_size = plan.shm_size, modes = plan.modes,
  }
end

-- Fill the new directory dir of container id: the name file, /etc files,
-- config.json and, last, state.json. Until state.json is renamed into
-- place nobody reads the directory (a creation cut short is collected
-- whole: ctr.gc, ctr.dead), so the files before it are written in place.
-- Returns the OCI config and the state.
local function write_files(o, plan, id, name, dir)
  mkdirs(dir)
  local durable = { durable = not o.rm } -- a --rm container's files go when it exits
  state.write_new(dir .. "/name", name, durable) -- for ctr.dead, should state.json be lost
  plan.maps = plan.userns and require("ctr.userns").setup(plan.userns, id, dir) -- ids allocated
  local hostname = o.hostname or id:sub(1, 12)
  local files = spec.etc_files(dir, hostname, o)
  local dcfg = spec.docker_config(o, plan, hostname)
  dcfg.Labels = plan.labels
  if #plan.volumes > 0 then require("ctr.volume.mounts").prepare(plan) end -- volumes found or made, sources set
  local cfg = spec.oci_config(o, plan, id, dir, hostname, files)
  make_volume_dirs(plan.volumes, plan.maps)
  state.write_new(dir .. "/config.json", require("ctr.json").encode(cfg, { indent = true }) .. "\n", durable)
  local st = state_record(o, plan, id, name, dir, hostname, dcfg)
  state.write_json(dir .. "/state.json", st, durable)
  return cfg, st
end

-- The container's name, claimed for id (ctr.container.store). Holding
-- the global lock shared (shared true): only a name without an entry is
-- claimed, nil when there was none (o.name has an entry, 20 generated
-- names had); holding it exclusively: o.name unless a container has it (a
-- stale entry is replaced), else a generated name no container has.
local function claim(o, id, shared)
  if shared then
    if o.name then return store.try_claim(o.name, id) and o.name or nil end
    for _ = 1, 20 do
      local name = random_name()
      if store.try_claim(name, id) then return name end
    end
    return nil
  end
  if o.name then
    local other = store.by_name(o.name)
    if other then
      errors.throw("conflict", "the container name %q is already in use by container %s: remove it or choose another name", o.name, other.id)
    end
  end
  local name = o.name
  for _ = 1, 20 do -- a generated name is not one in use either
    if name then break end
    name = random_name()
    if store.by_name(name) then name = nil end
  end
  name = name or ("ctr_" .. id:sub(1, 12))
  store.claim_name(name, id)
  return name
end

-- Holding the global lock (shared: see claim): the name is claimed and the
-- container made; whatever fails removes its directory. Returns the
-- container, or nil when the name could not be claimed (shared only).
local function create_locked(o, plan, shared)
  local id = state.new_id()
  local dir = store.dir(id)
  local name = claim(o, id, shared) -- before state.json: every container has its entry (ctr.container.store)
  if not name then return nil end
  local ok, cfg, st = pcall(write_files, o, plan, id, name, dir)
  if not ok then
    store.release_name(name, id)
    core.remove_all(dir)
    if plan.userns then require("ctr.userns").release(id) end
    if plan.new_volumes then require("ctr.volume.mounts").discard(plan) end
    error(cfg, 0)
  end
  local c = object.new(id, st) -- just written: no need to read them back
  c._config, c._seen = cfg, object.fingerprint(dir .. "/state.json")
  require("ctr.eventlog").container(c, "create")
  return c
end

--- Create a container (state "created"); nothing runs yet. Options (docker
-- run's): image, cmd (list), entrypoint, name, env (list "K=V" or map),
-- env_file (list of paths), cwd (workdir is its older name), user,
-- group_add, hostname, tty, interactive, labels (a table of strings),
-- volumes (list of "HOST:CTR[:ro][,idmap]", "NAME:CTR[:ro]" or "/CTR"), mounts
-- (list of docker --mount values), tmpfs (list of "/CTR[:OPTS]"), volumes_from
-- (list of "CONTAINER[:ro|rw]"): see ctr.volume.mounts, read_only, memory, memory_swap, cpus,
-- cpuset_cpus, pids_limit, cap_add, cap_drop, privileged, devices (list of
-- "HOST[:CONTAINER[:PERMS]]"), network, ip, userns ("auto" or "host"),
-- uidmap, gidmap (lists of "CONTAINER:HOST:SIZE"),
-- publish (list), add_host, dns, rm (remove when it exits), log_max, log_files,
-- security_opt (list: seccomp=unconfined|PROFILE.json, no-new-privileges;
-- without it the default seccomp profile applies, --privileged is unconfined),
-- ulimits (list of "NAME=SOFT[:HARD]", docker's --ulimit: the process's rlimits),
-- health ({cmd =, interval =, timeout =, retries =, start_period =} or false:
-- see ctr.container.health; default: the image's HEALTHCHECK).
-- Returns the container; raises on bad input, leaving nothing behind: an
-- unknown option or one of the wrong type is an `invalid` error (ctr.check).
function M.create(o)
  o = check.api("container.create", o)
  local plan = spec.plan(o)
  local lbl = require("ctr.labels").normalize(o.labels)
  plan.labels = next(lbl) and require("ctr.json").object(lbl) or nil
  plan.healthcheck = require("ctr.container.health").plan(o.health, plan.icfg, "container.create")
  if #plan.volumes == 0 then -- volumes are found or made under the exclusive lock (ctr.volume.mounts)
    -- Creations hold the global lock shared: they never wait for one
    -- another; whatever must see no creation in progress (ctr.dead, ctr.gc,
    -- rm of an incomplete container, prunes, rename, a stale name's
    -- replacement) takes it exclusively.
    store.ensure_index()
    local c = state.with_shared_lock(create_locked, o, plan, true)
    if c then return c end
  end
  return state.with_lock(create_locked, o, plan, false)
end

return M
