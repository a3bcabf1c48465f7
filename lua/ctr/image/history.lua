--- ctr.image.history: an image's history, as docker history shows it:
-- one entry per layer and per step that made no layer, newest first.
--
-- A pulled or loaded image has its config's `history` (created,
-- created_by, comment, empty_layer), each layer entry sized by the layer
-- it names. An image made here has none; its entries are made from what
-- the store knows: its parent's history (commit, build), then one entry
-- for each layer of its own (created_by: the build step, or the command of
-- the committed container; comment: the commit message, or "Imported from
-- ..." for import), or one of size 0 when it added no layer (build's
-- final config).
local core = require "ctr.core"
local json = require "ctr.json"
local errors = require "ctr.errors"
local util = require "ctr.util"
local store = require "ctr.image.store"

local M = {}

local function layer_size(lid)
  local n = lid and core.du(store.layer_dir(lid))
  return n or 0
end

local function time_of(s)
  if type(s) ~= "string" then return nil end
  return (util.parse_rfc3339(s))
end

-- the entries of a config blob's history, oldest first; nil when there is none
local function from_config(img)
  if type(img.config_digest) ~= "string" then return nil end
  local rs = require "ctr.registry_store"
  if not rs.has_blob(img.config_digest) then return nil end
  local text = core.read_file(rs.blob_path(img.config_digest))
  local ok, cfg = pcall(json.decode, text or "")
  if not ok or type(cfg) ~= "table" or type(cfg.history) ~= "table" or #cfg.history == 0 then return nil end
  local out, li = {}, 0
  for _, h in ipairs(cfg.history) do
    if type(h) == "table" then
      local size = 0
      if not h.empty_layer then
        li = li + 1
        size = layer_size(img.layers[li])
      end
      out[#out + 1] = {
        id = "<missing>", created = time_of(h.created), created_by = tostring(h.created_by or ""),
        size = size, comment = tostring(h.comment or ""),
      }
    end
  end
  return out
end

-- oldest first; depth guards a parent chain that loops (a hostile record)
local function entries(img, depth)
  local out = from_config(img)
  if out then
    out[#out].id = "sha256:" .. img.id
    return out
  end
  out = {}
  local parent = depth < 256 and type(img.parent) == "string" and store.find(img.parent)
  local first = 1
  if parent and parent.id ~= img.id then
    out = entries(parent, depth + 1)
    first = #parent.layers + 1
  end
  local t = time_of(img.created)
  local by = img.created_by or (img.build_step and img.comment) or ""
  local comment = (not img.build_step and img.comment) or ""
  if not parent and comment == "" and #img.layers == 1 and not img.build_step then comment = "Imported from -" end
  for i = first, #img.layers do
    out[#out + 1] = { id = "<missing>", created = t, created_by = by, size = layer_size(img.layers[i]), comment = comment }
  end
  if first > #img.layers then
    out[#out + 1] = { id = "<missing>", created = t, created_by = by, size = 0, comment = comment }
  end
  out[#out].id = "sha256:" .. img.id
  return out
end

--- The history of image r (a reference, an id or an id prefix): a list,
-- newest first, of {id = "sha256:<hex>" for the entries that are a local
-- image (the image itself, its parents) or "<missing>", created (Unix
-- seconds, or nil), created_by, size (bytes), comment}. Raises not_found.
function M.history(r)
  local img, err = require("ctr.image.lookup").resolve(r)
  if not img then errors.throw("not_found", "%s", err) end
  local old = entries(img, 0)
  local out = {}
  for i = #old, 1, -1 do out[#out + 1] = old[i] end
  return out
end

return M
