--- ctr.image.store: the image records and layers on disk.
--
--   <root>/layers/<layer-id>/   a file tree shared by the images that list it
--   <root>/images/<id>.json     an image record (see ctr.image)
--
-- The functions that change records expect the caller to hold the global
-- lock (state.with_lock).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"
local ref = require "ctr.image.ref"
local config = require "ctr.image.config"

local M = {}

--- The path of an image's record.
function M.image_path(id) return state.dir("images", id .. ".json") end

--- The directory of a layer.
function M.layer_dir(layer_id) return state.dir("layers", layer_id) end

-- fill the derived fields name/tag from repo_tags[1]
local function normalize(img)
  img.repo_tags = json.array(img.repo_tags or {})
  img.layers = json.array(img.layers or {})
  local first = img.repo_tags[1]
  if first then
    img.name, img.tag = first:match("^(.*):([^:/]*)$")
  else
    img.name, img.tag = nil, nil
  end
  return img
end

--- Write an image record (atomically).
function M.save(img)
  normalize(img)
  state.write_json(M.image_path(img.id), img)
end

--- Every image record (unreadable files are skipped).
function M.load_all()
  local names = core.readdir(state.dir("images"))
  local t = {}
  for _, n in ipairs(names or {}) do
    local id = n:match("^([0-9a-f]+)%.json$")
    if id then
      local img = state.read_json(state.dir("images", n))
      if type(img) == "table" and img.id == id then t[#t + 1] = normalize(img) end
    end
  end
  return t
end

--- True when img has the tag full ("name:tag").
function M.has_tag(img, full)
  for _, t in ipairs(img.repo_tags) do
    if t == full then return true end
  end
  return false
end

local function find_by_id(all, hex)
  local matches = {}
  for _, img in ipairs(all) do
    if img.id == hex then return img end
    if img.id:sub(1, #hex) == hex then matches[#matches + 1] = img end
  end
  if #matches == 1 then return matches[1] end
  if #matches > 1 then
    return nil, ("ambiguous image id prefix %q: it matches %d images"):format(hex, #matches)
  end
  return nil
end

--- Find without creating: img, matched_tag | nil, err (err nil: not found).
function M.find(r)
  if type(r) ~= "string" or r == "" then return nil, "invalid reference format: empty image name" end
  local all = M.load_all()
  local name, tag = ref.parse_ref(r)
  if name then
    local full = name .. ":" .. tag
    for _, img in ipairs(all) do
      if M.has_tag(img, full) then return img, full end
    end
  end
  local hex = r:gsub("^sha256:", "")
  if not hex:match("^[0-9a-f]+$") then return nil end
  return find_by_id(all, hex)
end

--- Move a finished tree into layers/; returns the layer id. On failure the
-- tree is removed and an error raised.
function M.add_layer(dir)
  local lid = state.new_id()
  local ok, err = core.rename(dir, M.layer_dir(lid))
  if not ok then core.remove_all(dir) end
  state.release_temp(dir)
  if not ok then errors.throw("system", "%s", "cannot store the layer: " .. err) end
  return lid
end

local function layer_size(lid)
  local n = core.du(M.layer_dir(lid))
  return n or 0
end

--- Take the tag full off img (the record is not saved).
function M.untag(img, full)
  local keep = json.array({})
  for _, t in ipairs(img.repo_tags) do
    if t ~= full then keep[#keep + 1] = t end
  end
  img.repo_tags = keep
end

--- Give tag `full` to img, taking it from any other image (docker moves a tag).
function M.move_tag(img, full, all)
  for _, other in ipairs(all or M.load_all()) do
    if other.id ~= img.id and M.has_tag(other, full) then
      M.untag(other, full)
      M.save(other)
    end
  end
  if not M.has_tag(img, full) then table.insert(img.repo_tags, full) end
end

local function retag(old, r, extra)
  if r then
    local name, tag = ref.parse_ref(r)
    M.move_tag(old, name .. ":" .. tag)
  end
  for k, v in pairs(extra or {}) do
    if old[k] == nil then old[k] = v end
  end
  M.save(old)
  return old
end

--- Create an image record (caller holds the global lock); id: a content
-- id (pulled, loaded) whose existing record then just gains the tag.
function M.register(layers, cfg, r, extra, id)
  local old = id and M.find(id)
  if old and old.id == id then return retag(old, r, extra) end
  local img = {
    id = id or state.new_id(),
    layers = json.array(layers),
    config = config.clean(cfg),
    created = util.rfc3339(),
    repo_tags = json.array({}),
  }
  local size = 0
  for _, lid in ipairs(layers) do size = size + layer_size(lid) end
  img.size = size
  for k, v in pairs(extra or {}) do img[k] = v end
  if r then
    local name, tag = ref.parse_ref(r)
    M.move_tag(img, name .. ":" .. tag)
  end
  M.save(img)
  return img
end

--- Containers (under <root>/containers/*/state.json) whose image_id is id:
-- list of { id =, name = }. A container whose state is unreadable (dead)
-- counts when its config.json names one of the image's layers.
function M.containers_using(id)
  local t = {}
  local rec = state.read_json(M.image_path(id))
  for _, cid in ipairs(core.readdir(state.dir("containers")) or {}) do
    local st = state.read_json(state.dir("containers", cid, "state.json"))
    if type(st) == "table" and (st.image_id == id or st.image == id) then
      t[#t + 1] = { id = st.id or cid, name = st.name }
    elseif type(st) ~= "table" and type(rec) == "table" then
      local cfg = core.read_file(state.dir("containers", cid, "config.json")) or ""
      for _, l in ipairs(rec.layers or {}) do
        if cfg:find(l, 1, true) then t[#t + 1] = { id = cid }; break end
      end
    end
  end
  return t
end

return M
