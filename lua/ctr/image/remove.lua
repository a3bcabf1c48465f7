--- ctr.image.remove: tagging and removing images (docker tag, rmi).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"
local ref = require "ctr.image.ref"
local store = require "ctr.image.store"
local lookup = require "ctr.image.lookup"

local M = {}

--- Give the image ref the additional name newref ("name[:tag]"); the tag
-- moves from any other image that had it. Raises on errors. @return the image
function M.tag(r, newref)
  local name, tag = ref.parse_ref(newref)
  if not name then errors.throw("invalid", "%s", tag) end
  local src, err = lookup.resolve(r)
  if not src then errors.throw("not_found", "%s", err) end
  return state.with_lock(function()
    local img = store.find(src.id)
    if not img then errors.throw("not_found", "%s", "no such image: " .. r) end
    store.move_tag(img, name .. ":" .. tag)
    store.save(img)
    require("ctr.eventlog").record("image", "tag", "sha256:" .. img.id, { name = name .. ":" .. tag })
    return img
  end)
end

-- delete the record and every layer no remaining image uses
local function delete_image(img)
  errors.check(core.unlink(store.image_path(img.id)))
  local used = {}
  for _, other in ipairs(store.load_all()) do
    for _, l in ipairs(other.layers) do used[l] = true end
    for _, b in ipairs(other.blobs or {}) do used[b] = true end
  end
  require("ctr.registry_store").remove_unused(img.blobs or {}, used)
  for _, lid in ipairs(img.layers) do
    if not used[lid] then
      local dir = store.layer_dir(lid)
      local trash = state.dir("tmp", "deleted-" .. lid)
      if core.rename(dir, trash) then dir = trash end
      local ok, err = core.remove_all(dir)
      if not ok then
        errors.throw("system", "%s", "image " .. img.id .. " deleted, but its layer could not be removed: " .. err)
      end
    end
  end
end

local function in_use_error(img, what, users)
  local names = {}
  for _, u in ipairs(users) do names[#names + 1] = u.name or util.short_id(u.id) end
  errors.throw("conflict", "unable to remove %s (must force): image %s is used by container%s %s",
    what, util.short_id(img.id), #users > 1 and "s" or "", table.concat(names, ", "))
end

-- by tag: only that tag goes unless it is the last one
local function remove_tag(img, by_tag, users, opts)
  if #img.repo_tags == 1 and not opts.force then in_use_error(img, by_tag, users) end
  store.untag(img, by_tag)
  store.save(img)
  require("ctr.eventlog").record("image", "untag", "sha256:" .. img.id, { name = by_tag })
  return { "Untagged: " .. by_tag }
end

local function untag_all(img, out)
  for _, t in ipairs(img.repo_tags) do
    out[#out + 1] = "Untagged: " .. t
    require("ctr.eventlog").record("image", "untag", "sha256:" .. img.id, { name = t })
  end
  img.repo_tags = json.array({})
end

local function remove_locked(r, opts)
  local img, how = store.find(r)
  if not img then
    if how then errors.throw("invalid", "%s", how) end
    errors.throw("not_found", "%s", "no such image: " .. tostring(r))
  end
  local out = {}
  local users = store.containers_using(img.id)
  if how and (#img.repo_tags > 1 or #users > 0) then return remove_tag(img, how, users, opts) end
  if not how and #users > 0 then
    if not opts.force then in_use_error(img, util.short_id(img.id), users) end
    untag_all(img, out)
    store.save(img)
    return out
  end
  if not how and #img.repo_tags > 1 and not opts.force then
    errors.throw("conflict", "unable to delete %s (must be forced): image is referenced in multiple repositories (%s)",
      util.short_id(img.id), table.concat(img.repo_tags, ", "))
  end
  untag_all(img, out)
  delete_image(img)
  require("ctr.eventlog").record("image", "delete", "sha256:" .. img.id, { name = "sha256:" .. img.id })
  out[#out + 1] = "Deleted: " .. img.id
  return out
end

--- Remove an image (docker rmi): by tag, only that tag goes unless it is
-- the last one; by id, the image goes (refused if it has several tags,
-- unless opts.force). Refused while a container uses the image, unless
-- opts.force: then it is only untagged (its layers stay for the
-- container). Layers no other image uses are deleted.
-- Raises on errors. @return list of lines ("Untagged: x:y", "Deleted: <id>")
function M.remove(r, opts)
  opts = require("ctr.check").api("image.remove", opts)
  state.ensure()
  return state.with_lock(function() return remove_locked(r, opts) end)
end

return M
