--- ctr.gc: removes what commands that died left behind.
--
--   require("ctr.gc").auto()            -- cheap: at most once per M.INTERVAL
--   require("ctr.gc").collect{ wait = true, layers = true, grace = 0 } -- system prune
--
-- Leftovers: work-in-progress directories under <root>/tmp (a killed
-- import's extraction, `import -`'s copy, an rmi's deleted-<layer> or an
-- rm's removed-<id> whose deletion failed), containers whose creation was
-- cut short (no state.json) older than a grace period, name index entries
-- whose container is gone (ctr.container.store), and layers no image
-- record and no container references. Nothing a live command holds is
-- touched: a directory made by state.mktemp is held by its maker's lock
-- (<root>/locks/tmp-<name>.lock, ctr.state); removed-<id> by the removing rm's container
-- lock (inside it); deleted-* and layers by the global lock, which rmi,
-- import and commit hold while they move layers (collect takes it, and
-- skips those when it is busy and opts.wait is not set).
local core = require "ctr.core"
local state = require "ctr.state"
local util = require "ctr.util"

local M = {}

--- auto() runs collect at most once per INTERVAL seconds (a stamp file).
M.INTERVAL = 600
--- A tmp entry without a lock file is left alone until this old (seconds).
M.TMP_GRACE = 60
--- auto() removes containers without state.json older than this (seconds).
M.INCOMPLETE_GRACE = 3600

local function age(path)
  local st = core.lstat(path)
  return st and (util.now() - st.mtime) or 0
end

local function try_lock(path)
  return core.lock_file(path, "ex", { nonblock = true })
end

local function remove(path, report)
  local ok, err = core.remove_all(path)
  if ok then report.removed[#report.removed + 1] = path
  else report.errors[#report.errors + 1] = path .. ": " .. tostring(err) end
  return ok
end

-- One entry of <root>/tmp; returns without touching it when someone holds it.
local function collect_tmp_entry(name, report, global)
  local path = state.dir("tmp", name)
  if name:match("^removed%-") then
    local fd = core.exists(path .. "/lock") and try_lock(path .. "/lock")
    if fd == nil then return end -- an rm is deleting it
    remove(path, report)
    if fd then fd:close() end
  elseif name:match("^deleted%-") then
    if global then remove(path, report) end
  elseif core.exists(state.temp_lock_path(path)) then
    local lock = state.temp_lock_path(path)
    local fd = try_lock(lock)
    if not fd then return end -- its command is alive
    if remove(path, report) then core.unlink(lock) end
    fd:close()
  elseif age(path) >= M.TMP_GRACE then
    remove(path, report)
  end
end

local function collect_tmp(report, global)
  local dir = state.dir("tmp")
  local names = core.readdir(dir) or {}
  for _, name in ipairs(names) do
    if name:sub(1, 1) ~= "." then collect_tmp_entry(name, report, global) end
  end
  -- mktemp lock files whose directory is gone and whose holder died
  local locks = state.dir("locks")
  for _, name in ipairs(core.readdir(locks) or {}) do
    local base = name:match("^tmp%-(.+)%.lock$")
    if base and not core.exists(dir .. "/" .. base) then
      local fd = try_lock(locks .. "/" .. name)
      if fd then core.unlink(locks .. "/" .. name); fd:close() end
    end
  end
end

-- Containers without state.json older than grace (under the global lock:
-- no creation in progress), removed as dead containers.
local function collect_incomplete(report, grace)
  local dead = require "ctr.dead"
  for _, id in ipairs(core.readdir(state.dir("containers")) or {}) do
    local dir = state.dir("containers", id)
    if not core.exists(dir .. "/state.json") and age(dir) >= grace then
      local c = dead.load(id)
      if c and c.dead then
        local ok, err = pcall(c.remove, c)
        if not ok then require("ctr.errors").rethrow_interrupt(err) end
        if ok then report.removed[#report.removed + 1] = dir
        else report.errors[#report.errors + 1] = dir .. ": " .. require("ctr.errors").message(err) end
      end
    end
  end
end

-- Name index entries (ctr.container.store) whose container is gone: a
-- crash between a removal and its entry's (under the global lock: no
-- creation in progress, which makes the entry before the directory).
local function collect_names(report)
  local dir = state.dir("names")
  for _, n in ipairs(core.readdir(dir) or {}) do
    local id = core.readlink(dir .. "/" .. n)
    if not (id and #id == 64 and id:match("^%x+$") and core.exists(state.dir("containers", id))) then
      if core.unlink(dir .. "/" .. n) then report.removed[#report.removed + 1] = dir .. "/" .. n end
    end
  end
end

-- The text of every file of dir (image records, container configs): a layer
-- id found in any of them, readable or not as JSON, is in use.
local function texts(dir, file)
  local t = {}
  for _, n in ipairs(core.readdir(dir) or {}) do
    t[#t + 1] = core.read_file(file and (dir .. "/" .. n .. "/" .. file) or (dir .. "/" .. n)) or ""
  end
  return t
end

local function collect_layers(report)
  local refs = texts(state.dir("images"))
  for _, t in ipairs(texts(state.dir("containers"), "config.json")) do refs[#refs + 1] = t end
  for _, lid in ipairs(core.readdir(state.dir("layers")) or {}) do
    local used = false
    for _, t in ipairs(refs) do
      if t:find(lid, 1, true) then used = true; break end
    end
    if not used then
      local path = state.dir("layers", lid)
      local trash = state.dir("tmp", "deleted-" .. lid)
      if core.rename(path, trash) then path = trash end
      remove(path, report)
    end
  end
end

--- Remove the leftovers. opts: wait (wait for the global lock instead of
-- skipping what needs it), layers (also unreferenced layers), grace
-- (seconds: containers without state.json at least this old go; default
-- INCOMPLETE_GRACE). Returns { removed = {paths}, errors = {messages} }.
function M.collect(opts)
  opts = opts or {}
  local report = { removed = {}, errors = {} }
  if not core.exists(state.dir("tmp")) then return report end
  collect_tmp(report, false) -- what has its own lock: without holding the global one
  local global = state.lock("global", { nonblock = not opts.wait })
  if global then
    collect_tmp(report, true) -- deleted-*: rmi moves them under the global lock
    local ok, err = pcall(function()
      collect_incomplete(report, opts.grace or M.INCOMPLETE_GRACE)
      collect_names(report)
      if opts.layers then collect_layers(report) end
    end)
    global:unlock()
    if not ok then error(err, 0) end
  end
  return report
end

--- The cheap collection any command may run: at most once per INTERVAL
-- seconds per state root (stamp <root>/locks/gc.stamp), one at a time,
-- never waiting for a lock, never raising. Returns the report, or nil when
-- it did not run.
function M.auto()
  local ok, res = pcall(function()
    local stamp = state.dir("locks", "gc.stamp")
    local st = core.stat(stamp)
    if st and M.INTERVAL > 0 and util.now() - st.mtime < M.INTERVAL then return nil end
    if not core.exists(state.dir("tmp")) then return nil end
    local l = state.lock("gc", { nonblock = true })
    if not l then return nil end
    core.write_file_atomic(stamp, "", 384)
    local okc, report = pcall(M.collect, {})
    l:unlock()
    if not okc then require("ctr.errors").rethrow_interrupt(report) end
    return okc and report or nil
  end)
  if not ok then require("ctr.errors").rethrow_interrupt(res) end -- best effort, but Ctrl-C is no failure of it
  return ok and res or nil
end

return M
