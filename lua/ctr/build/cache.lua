--- ctr.build.cache: the build cache, what it holds and how it goes.
--
-- The cache is the builds' intermediate images: one per RUN, COPY, ADD
-- (and WORKDIR that made its directory) step, an untagged image record
-- with build_step = true whose top layer is the step's (<root>/images,
-- <root>/layers), and the step keys that lead to them (<root>/build-cache/
-- <key>: the image id; a key whose image is gone is a miss). `images`
-- hides them (-a shows them), `system df` counts them as "Build Cache".
--
-- An entry is in use when it is an ancestor (parent chain) of an image
-- that is not cache (a built image: its layers are shared); the others are
-- dangling (what they made was removed). `builder prune` removes the
-- dangling ones, `-a` all; `image prune` the dangling ones, `image prune
-- -a` and `system prune -a` all (the layers a kept image names stay).
--
-- A running build holds <root>/locks/build.lock shared; a prune takes it
-- exclusive without waiting and, while a build runs, leaves the cache alone
-- (a build that starts during a prune waits for it).
local core = require "ctr.core"
local errors = require "ctr.errors"
local state = require "ctr.state"

local M = {}

local function lock_path() return state.dir("locks", "build.lock") end

--- Hold the build lock (shared) while building: returns its fd (close it,
-- or let it be collected, to release).
function M.hold()
  state.ensure()
  local fd, err = core.lock_file(lock_path(), "sh")
  if not fd then errors.throw("system", "cannot take the build lock: %s", err) end
  return fd
end

--- The build lock, exclusive, or nil when a build holds it (then the cache
-- must be left alone). Close the fd when done.
function M.exclusive()
  state.ensure()
  local fd = core.lock_file(lock_path(), "ex", { nonblock = true })
  return fd
end

--- Whether img is a build cache entry (an untagged intermediate image).
function M.is_cache(img)
  return img.build_step == true and #(img.repo_tags or {}) == 0
end

--- The cache entries among imgs (default: every image): a list of
-- { image =, used = bool (an ancestor of an image that is not cache) },
-- and the set of ids in use.
function M.entries(imgs)
  imgs = imgs or require("ctr.image").list()
  local by_id, used = {}, {}
  for _, i in ipairs(imgs) do by_id[i.id] = i end
  for _, i in ipairs(imgs) do
    if not M.is_cache(i) then
      local p, n = i.parent, 0
      while p and by_id[p] and not used[p] and n < 100000 do
        used[p], p, n = true, by_id[p].parent, n + 1
      end
    end
  end
  local out = {}
  for _, i in ipairs(imgs) do
    if M.is_cache(i) then out[#out + 1] = { image = i, used = used[i.id] or false } end
  end
  return out, used
end

--- Whether a prune may remove img: anything that is not cache; cache only
-- when the caller holds the exclusive lock (locked) and it is dangling, or
-- all.
function M.prunable(img, all, locked, used)
  if not M.is_cache(img) then return true end
  return locked and (all or not used[img.id]) or false
end

-- Remove the keys whose image is gone.
local function sweep_keys()
  local dir = state.dir("build-cache")
  for _, k in ipairs(core.readdir(dir) or {}) do
    local id = (core.read_file(dir .. "/" .. k) or ""):match("^(%x+)")
    if k:match("^%x+$") and not (id and core.exists(state.dir("images", id .. ".json"))) then
      core.unlink(dir .. "/" .. k)
    end
  end
end

local function layer_size(l)
  return core.du(state.dir("layers", l)) or 0
end

--- The cache's disk use, as system df counts it: { total = entries,
-- active = entries in use, size = bytes of their own (top) layers,
-- reclaimable = of those, the bytes no image that is not cache names,
-- rows = { {image =, size =, used =} } }. imgs: every image (default).
function M.usage(imgs)
  imgs = imgs or require("ctr.image").list()
  local kept = {}
  for _, i in ipairs(imgs) do
    if not M.is_cache(i) then for _, l in ipairs(i.layers or {}) do kept[l] = true end end
  end
  local rows, u, seen = {}, { total = 0, active = 0, size = 0, reclaimable = 0 }, {}
  for _, e in ipairs(M.entries(imgs)) do
    local top = e.image.layers and e.image.layers[#e.image.layers]
    local n = (top and not seen[top]) and layer_size(top) or 0
    if top then seen[top] = true end
    rows[#rows + 1] = { image = e.image, size = n, used = e.used }
    u.total, u.size = u.total + 1, u.size + n
    if e.used then u.active = u.active + 1 end
    if top and not kept[top] then u.reclaimable = u.reclaimable + n end
  end
  u.rows = rows
  return u
end

--- Remove the dangling cache entries (all: every one) that no container
-- uses, their keys, and the layers nothing names any more. Returns
-- { deleted = {ids}, reclaimed = bytes, busy = true when a build was
-- running (nothing removed) }.
function M.prune(o)
  o = o or {}
  local image = require "ctr.image"
  local lock = M.exclusive()
  if not lock then return { deleted = {}, reclaimed = 0, busy = true } end
  local res = { deleted = {}, reclaimed = 0 }
  local ok, err = pcall(function()
    local imgs = image.list()
    local before = M.usage(imgs).reclaimable
    local _, used = M.entries(imgs)
    for _, img in ipairs(imgs) do
      if M.is_cache(img) and (o.all or not used[img.id]) and #image.containers_using(img.id) == 0 then
        local rok, rerr = pcall(image.remove, img.id, { force = true })
        if rok then res.deleted[#res.deleted + 1] = img.id else errors.rethrow_interrupt(rerr) end
      end
    end
    sweep_keys()
    image.prune { layers_only = true }
    res.reclaimed = math.max(0, before - M.usage().reclaimable)
  end)
  lock:close()
  if not ok then error(err, 0) end
  return res
end

M.sweep_keys = sweep_keys

return M
