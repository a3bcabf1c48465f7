--- ctr.registry_image: Image objects and prune (the Lua API over ctr.image
-- and the registry modules).
--
--   local image = require "ctr.image"
--   local img = image.pull { ref = "127.0.0.1:5000/app:1", progress = print }
--   print(img.id, img:inspect().digest)
--   img:tag("app:stable")
--   image.get("app:stable"):remove()
local core = require "ctr.core"
local errors = require "ctr.errors"
local state = require "ctr.state"

local M = {}

--- An image of the store: the fields of its record and the methods below.
-- The fields (API: read them, do not write them): id (64 hex: the config's
-- sha256 for pulled and loaded images), ref (what it was found by), name
-- and repo_tags (its names, "name:tag"; the record's "tag" field is left
-- out: img:tag() is the method), layers (layer ids, lowest first), config
-- (the image config: Cmd, Entrypoint, Env, WorkingDir, User, ExposedPorts,
-- Volumes, Labels, StopSignal, Healthcheck), created (RFC 3339), size
-- (bytes), comment. Pulled and loaded images also have digest and
-- manifest_digest ("sha256:..."), config_digest, repo_digests
-- ("name@sha256:..."), diff_ids, blobs, os, architecture, variant, source
-- (the registry and repository it came from).
local Image = {}
Image.__index = Image
M.Image = Image

local function wrap(rec, ref)
  rec.tag = nil
  rec.ref = ref
  return setmetatable(rec, Image)
end

--- The Image for ref ("name[:tag]", id, id prefix, "sha256:..."; kept
-- as img.ref); raises a "not_found" error when there is none.
function M.get(ref)
  local image = require "ctr.image"
  local rec, err = image.resolve(ref)
  if not rec then
    if err and not err:match("^no such image") then errors.throw("invalid", "%s", err) end
    errors.throw("not_found", "no such image: %s", tostring(ref))
  end
  return wrap(rec, ref)
end

--- Give the image another name "name[:tag]" (moved from any image that had
-- it). @return self, refreshed
function Image:tag(newref)
  local rec = require("ctr.image").tag(self.id, newref)
  for k, v in pairs(rec) do
    if k ~= "tag" then self[k] = v end
  end
  return self
end

--- Remove the image as image.remove does with the reference it was got
-- by (a tag: only that tag goes unless it is the last; opts.force).
-- @return the lines ("Untagged: ...", "Deleted: ...")
function Image:remove(opts)
  return require("ctr.image").remove(self.ref or self.id, opts)
end

--- The image's record: id, repo_tags, repo_digests, digest (of the
-- manifest it was pulled by), config_digest, diff_ids, layers, layer_dirs,
-- config, created, size, os, architecture.
function Image:inspect()
  local t = require("ctr.image").inspect(self.id)
  if not t then errors.throw("not_found", "no such image: %s", self.id) end
  return t
end

--- Push the image to ref ("host[:port]/path:tag"). opts.progress as
-- registry_push's. @return the manifest digest
function Image:push(ref, opts)
  return require("ctr.registry_push").push { ref = ref, image = self.id, progress = opts and opts.progress }
end

--- Pull opts.ref (see ctr.registry_pull.pull). @return the Image
function M.pull(opts)
  if type(opts) == "string" then opts = { ref = opts } end
  opts = require("ctr.check").api("image.pull", opts)
  local img = wrap(require("ctr.registry_pull").pull(opts))
  require("ctr.eventlog").record("image", "pull", opts.ref, { name = opts.ref })
  return img
end

--- Push the local image opts.ref (or opts.image under opts.ref).
-- @return the manifest digest
function M.push(opts)
  if type(opts) == "string" then opts = { ref = opts } end
  opts = require("ctr.check").api("image.push", opts)
  local digest = require("ctr.registry_push").push(opts)
  require("ctr.eventlog").record("image", "push", opts.ref, { name = opts.ref })
  return digest
end

--- Save images (a reference or a list) to the archive path ("-": stdout).
function M.save(refs, path)
  if type(refs) == "string" then refs = { refs } end
  local res = table.pack(require("ctr.registry_archive").save(refs, path))
  for _, r in ipairs(refs) do require("ctr.eventlog").record("image", "save", tostring(r), { name = tostring(r) }) end
  return table.unpack(res, 1, res.n)
end

--- Load the images of an archive. @return list of Images
function M.load(path, opts)
  opts = require("ctr.check").api("image.load", opts)
  local out = {}
  for i, l in ipairs(require("ctr.registry_load").load(path, opts)) do
    out[i] = M.get(l.id)
    require("ctr.eventlog").record("image", "load", "sha256:" .. l.id, { name = "sha256:" .. l.id })
  end
  return out
end

-- ids of every layer and blob an image names, and every layer a container's
-- config names
local function used()
  local image = require "ctr.image"
  local u = {}
  for _, img in ipairs(image.list()) do
    for _, l in ipairs(img.layers) do u[l] = true end
    for _, b in ipairs(img.blobs or {}) do u[b] = true end
  end
  for _, cid in ipairs(core.readdir(state.dir("containers")) or {}) do
    local cfg = core.read_file(state.dir("containers", cid, "config.json")) or ""
    for l in cfg:gmatch("/layers/(%x+)") do u[l] = true end
  end
  return u
end

-- remove layers and blobs nothing names; returns how many
local function sweep()
  local u, n = used(), 0
  for _, l in ipairs(core.readdir(state.dir("layers")) or {}) do
    if l:match("^%x+$") and not u[l] then
      local trash = state.dir("tmp", "deleted-" .. l)
      if core.rename(state.dir("layers", l), trash) and core.remove_all(trash) then n = n + 1 end
    end
  end
  for _, b in ipairs(core.readdir(state.dir("blobs", "sha256")) or {}) do
    if b:match("^%x+$") and not u["sha256:" .. b] and core.unlink(state.dir("blobs", "sha256", b)) then n = n + 1 end
  end
  return n
end

-- Remove the images prune may remove (see M.prune) into the list removed.
local function prune_images(all, removed)
  local image = require "ctr.image"
  local cache = require "ctr.build.cache"
  local lock = cache.exclusive() -- nil while a build runs: its cache stays
  local ok, err = pcall(function()
    local imgs = image.list()
    local _, in_use = cache.entries(imgs)
    for _, img in ipairs(imgs) do
      if (#img.repo_tags == 0 or all) and cache.prunable(img, all, lock ~= nil, in_use) and
          #image.containers_using(img.id) == 0 then
        local rok, rerr = pcall(image.remove, img.id, { force = true })
        if rok then removed[#removed + 1] = img.id else errors.rethrow_interrupt(rerr) end
      end
    end
    if lock then cache.sweep_keys() end
  end)
  if lock then lock:close() end
  if not ok then error(err, 0) end
end

--- Remove images no container uses: untagged ones (of the build cache
-- (ctr.build.cache), the dangling entries only), or all with opts.all (the
-- whole build cache too; while a build runs, its cache is left alone);
-- then every layer and blob no image or container names (only that with
-- opts.layers_only). @return the list of removed image ids, and the number
-- of layers/blobs removed
function M.prune(opts)
  opts = require("ctr.check").api("image.prune", opts)
  state.ensure()
  local removed = {}
  if not (opts and opts.layers_only) then prune_images(opts and opts.all, removed) end
  return removed, state.with_lock(sweep)
end

return M
