--- ctr.runc.store: luac-runc's state directory (--root, default /run/luac-runc).
--
--   <root>/<id>/state.json   id, pid, starttime, bundle, rootfs, created,
--                            annotations, cgroup (path), config_path
--   <root>/<id>/config.json  the config as create used it (for exec)
--   <root>/<id>/exec.fifo    exists between create and start: the created
--                            init blocks opening it for writing (core/spawn.c
--                            start_fifo); `start` reads it, then removes it
--
-- The status is computed, never stored: "stopped" when the pid is gone, a
-- zombie, or another process (start time differs); "created" while the fifo
-- exists; "paused" when its cgroup's freezer was asked to freeze (v1
-- freezer.state, v2 cgroup.freeze); "running" otherwise.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local util = require "ctr.util"

local M = {}

function M.dir(ctx, id) return ctx.root .. "/" .. id end
function M.fifo(ctx, id) return M.dir(ctx, id) .. "/exec.fifo" end

function M.ensure_root(ctx)
  local ok, err = util.mkdir_p(ctx.root, 448)
  if not ok then errors.raise(1, "cannot create the state dir %s: %s", ctx.root, err) end
end

--- Load a container's state, or raise "container ID does not exist".
function M.load(ctx, id)
  local text = core.read_file(M.dir(ctx, id) .. "/state.json")
  if not text then errors.raise(1, "container %s does not exist", id) end
  local st, err = json.decode(text)
  if type(st) ~= "table" then errors.raise(1, "container %s: unreadable state: %s", id, tostring(err)) end
  return st
end

function M.save(ctx, st)
  local ok, err = core.write_file_atomic(M.dir(ctx, st.id) .. "/state.json", json.encode(st), 384)
  if not ok then errors.raise(1, "cannot write the state of %s: %s", st.id, err) end
end

--- Whether st.pid is still the process we created (alive, not a zombie).
function M.alive(st)
  if not st.pid then return false end
  local stat = core.read_file("/proc/" .. st.pid .. "/stat")
  if not stat then return false end
  local s = stat:match("%) (%a)")
  if s == "Z" or s == "X" or s == "x" then return false end
  return core.starttime(st.pid) == st.starttime
end

function M.status(ctx, st)
  if not M.alive(st) then return "stopped" end
  if core.exists(M.fifo(ctx, st.id)) then return "created" end
  local fz = M.freezer(st)
  if fz and require("ctr.freezer").asked(fz) then return "paused" end
  return "running"
end

--- The freezer of the container's cgroup (ctr.freezer), or nil, msg.
function M.freezer(st)
  if not st.cgroup then return nil, "no cgroup" end
  local g, err = require("ctr.cgroup").open(st.cgroup)
  if not g then return nil, err end
  return require("ctr.freezer").of(g)
end

--- The config the container was created with (saved by create).
function M.config(ctx, st)
  local text, err = core.read_file(M.dir(ctx, st.id) .. "/config.json")
  if not text then errors.raise(1, "container %s: cannot read its config: %s", st.id, err) end
  local cfg, jerr = json.decode(text)
  if type(cfg) ~= "table" then errors.raise(1, "container %s: unreadable config: %s", st.id, tostring(jerr)) end
  return cfg
end

--- The runtime-spec state of a container (status: as computed, unless given).
function M.oci_state(ctx, st, status)
  status = status or M.status(ctx, st)
  local annotations = st.annotations
  if annotations == nil or next(annotations) == nil then annotations = json.object({}) end
  return {
    ociVersion = require("ctr.runc").OCI_VERSION,
    id = st.id,
    status = status,
    pid = status ~= "stopped" and st.pid or 0,
    bundle = st.bundle,
    rootfs = st.rootfs,
    created = st.created,
    owner = "",
    annotations = annotations,
  }
end

--- A pidfd of the container's init, checked to be that process (nil when stopped).
function M.pidfd(st)
  if not st.pid then return nil end
  local fd = core.pidfd_open(st.pid)
  if not fd then return nil end
  if not M.alive(st) then fd:close(); return nil end
  return fd
end

--- The container ids in the state dir (sorted).
function M.ids(ctx)
  local ids = {}
  for _, name in ipairs(core.readdir(ctx.root) or {}) do
    if core.exists(M.dir(ctx, name) .. "/state.json") then ids[#ids + 1] = name end
  end
  return ids
end

return M
