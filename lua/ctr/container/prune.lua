--- ctr.container.prune: docker container prune (container.prune) and
-- the numbers of docker system df (container.disk_usage): images,
-- containers, local volumes (when a volume store exists) and the build
-- cache (none: 0).
local core = require "ctr.core"
local errors = require "ctr.errors"
local util = require "ctr.util"
local store = require "ctr.container.store"

local M = {}

-- Seconds since the epoch from an until= value: a Unix time, an RFC 3339
-- time or date, or a duration before now ("10m", "24h", "1h30m").
local function parse_until(s)
  local n = tonumber(s)
  if n then return n end
  local t = util.parse_rfc3339(s) or util.parse_rfc3339(s .. "T00:00:00Z")
  if t then return t end
  local total, rest = 0, s
  for num, unit in s:gmatch("(%d+%.?%d*)([hms])") do
    total = total + tonumber(num) * ({ h = 3600, m = 60, s = 1 })[unit]
    rest = rest:gsub(num .. unit, "", 1)
  end
  if rest ~= "" or total == 0 then
    errors.raise(1, "invalid filter 'until=%s': a Unix time, an RFC 3339 time or a duration (10m, 24h)", s)
  end
  return util.now() - total
end

-- The filter list ({"until=24h", "label=a=b", "label!=c"}) as a predicate.
local function predicate(filters)
  local before, pos, neg = nil, {}, {}
  for _, f in ipairs(filters or {}) do
    local k, op, v = tostring(f):match("^(%a+)(!?=)(.*)$")
    if k == "until" and op == "=" then before = parse_until(v)
    elseif k == "label" and op == "=" then pos[#pos + 1] = v
    elseif k == "label" then neg[#neg + 1] = v
    else errors.raise(1, "invalid filter %s: container prune takes until= and label=/label!=", errors.quote(tostring(f))) end
  end
  local labels = require "ctr.labels"
  return function(c)
    if before and (c.state.created or 0) >= before then return false end
    if #pos > 0 and not labels.matches(c.state.labels, pos) then return false end
    for _, n in ipairs(neg) do
      if labels.matches(c.state.labels, { n }) then return false end
    end
    return true
  end
end

-- The size of the files below path (their apparent sizes, as docker
-- counts them: an empty directory is 0B), 0 when it cannot be read.
local function size_of(path)
  local _, apparent = core.du(path)
  return apparent or 0
end

-- The size of the container's writable layer (its upper dir), bytes.
local function rw_size(c)
  local ov = c.dir and core.exists(c.dir .. "/upper") and c.dir .. "/upper"
  return ov and size_of(ov) or 0
end

--- Remove the stopped containers (created or exited; not running, not
-- dead) that pass opts.filter (a list: "until=24h", "until=<time>",
-- "label=k", "label=k=v", "label!=k..."), as docker container prune.
-- Returns { deleted = {ids}, reclaimed = bytes, errors = {messages} }.
-- A bad filter raises (exit code 1) before anything is removed.
function M.prune(opts)
  opts = require("ctr.check").api("container.prune", opts)
  local keep = predicate(opts.filter)
  local res = { deleted = {}, reclaimed = 0, errors = {} }
  for _, c in ipairs(store.list()) do
    local s = c:status()
    if not c.dead and (s == "exited" or s == "created") and keep(c) then
      local size = rw_size(c)
      local ok, err = pcall(c.remove, c, { force = false })
      if ok then
        res.deleted[#res.deleted + 1] = c.id
        res.reclaimed = res.reclaimed + size
      else
        errors.rethrow_interrupt(err)
        res.errors[#res.errors + 1] = errors.message(err)
      end
    end
  end
  return res
end

-- Images: rows and totals. sizes: layer id -> bytes (each layer once).
local function images_usage(used_by, all)
  local image = require "ctr.image"
  local lsize, users = {}, {}
  local imgs = {}
  for _, img in ipairs(all) do -- the build cache is counted apart
    if not require("ctr.build.cache").is_cache(img) then imgs[#imgs + 1] = img end
  end
  for _, img in ipairs(imgs) do
    for _, l in ipairs(img.layers or {}) do
      if not lsize[l] then lsize[l] = size_of(image.layer_dir(l)) end
      users[l] = (users[l] or 0) + 1
    end
  end
  local rows, total, active, reclaimable, counted = {}, 0, 0, 0, {}
  for _, img in ipairs(imgs) do
    local size, shared = 0, 0
    for _, l in ipairs(img.layers or {}) do
      size = size + lsize[l]
      if users[l] > 1 then shared = shared + lsize[l] end
    end
    local n = #(used_by[img.id] or {})
    if n > 0 then active = active + 1 end
    rows[#rows + 1] = { image = img, size = size, shared = shared, unique = size - shared, containers = n }
  end
  local used_layer = {}
  for _, r in ipairs(rows) do
    if r.containers > 0 then for _, l in ipairs(r.image.layers or {}) do used_layer[l] = true end end
  end
  for l, n in pairs(lsize) do
    if not counted[l] then counted[l] = true; total = total + n end
    if not used_layer[l] then reclaimable = reclaimable + n end
  end
  return { rows = rows, total = #imgs, active = active, size = total, reclaimable = reclaimable }
end

-- Local volumes (ctr.volume, when it exists and has a store).
local function volumes_usage()
  local ok, volume = pcall(require, "ctr.volume")
  if not ok or not core.exists(require("ctr.state").dir("volumes")) then return nil end
  local users = volume.users()
  local rows, size, active, reclaimable = {}, 0, 0, 0
  for _, v in ipairs(volume.list()) do
    local n = size_of(volume.dir(v.name, "_data"))
    local links = #(users[v.name] or {})
    rows[#rows + 1] = { name = v.name, links = links, size = n }
    size = size + n
    if links > 0 then active = active + 1 else reclaimable = reclaimable + n end
  end
  return { rows = rows, total = #rows, active = active, size = size, reclaimable = reclaimable }
end

--- The disk usage docker system df reports: { images = { total, active,
-- size, reclaimable, rows = { {image, size, shared, unique, containers} } },
-- containers = { total, active, size, reclaimable, rows = { {container,
-- size} } }, volumes = (the same, rows { {name, links, size} }; nil
-- without a volume store), build_cache = (ctr.build.cache.usage: rows
-- { {image, size, used} }) }. Sizes in bytes (the files' sizes, as
-- docker counts them).
function M.disk_usage()
  local used_by, crow = {}, {}
  local csize, cactive, creclaim = 0, 0, 0
  for _, c in ipairs(store.list()) do
    if not c.dead then
      local id = c.state.image_id
      if id then used_by[id] = used_by[id] or {}; table.insert(used_by[id], c.id) end
      local n = rw_size(c)
      crow[#crow + 1] = { container = c, size = n }
      csize = csize + n
      if c:status() == "running" then cactive = cactive + 1 else creclaim = creclaim + n end
    end
  end
  table.sort(crow, function(a, b) return (a.container.state.created or 0) > (b.container.state.created or 0) end)
  local all = require("ctr.image").list()
  return {
    images = images_usage(used_by, all),
    containers = { rows = crow, total = #crow, active = cactive, size = csize, reclaimable = creclaim },
    volumes = volumes_usage(),
    build_cache = require("ctr.build.cache").usage(all),
  }
end

return M
