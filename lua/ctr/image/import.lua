--- ctr.image.import: images made from a tarball (import) or from layers
-- already in the store (pull, load, commit).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"
local ref = require "ctr.image.ref"
local config = require "ctr.image.config"
local store = require "ctr.image.store"
local lookup = require "ctr.image.lookup"

local M = {}

local function check_tarball(tarball)
  local st, err = core.stat(tarball)
  if not st then errors.throw("not_found", "%s", "cannot import " .. tarball .. ": " .. err) end
  if st.type ~= "file" then errors.throw("invalid", "%s", "cannot import " .. tarball .. ": not a regular file") end
end

--- Import a tarball (plain, gzip, xz, zstd, bzip2; as `docker export`
-- writes) as a one-layer image. ref: "name[:tag]" or nil (untagged); the
-- tag moves from any image that had it. opts.change: list of --change
-- instructions; opts.message: a comment. Extraction refuses absolute paths,
-- ".." and symlink traversal; a failure leaves nothing behind.
-- tarball "-" reads standard input. Raises on errors. @return the image table
function M.import(tarball, r, opts)
  opts = require("ctr.check").api("image.import", opts)
  ref.check_ref(r)
  local cfg = config.apply_changes(config.default(), opts.change)
  if tarball == "-" then return M.import_stream(io.stdin, r, opts) end
  check_tarball(tarball)
  local rstore = require "ctr.registry_store"
  local rok, img = pcall(function()
    local d = rstore.digest_file(tarball)
    local lid = rstore.check_digest(d)
    rstore.unpack_layer(tarball, lid)
    return state.with_lock(function()
      rstore.unpack_layer(tarball, lid) -- again if an rmi removed it meanwhile
      return store.register({ lid }, cfg, r, { comment = opts.message })
    end)
  end)
  if not rok then
    errors.rethrow_interrupt(img) -- Ctrl-C keeps its kind and code
    errors.throw(errors.is(img) and img.kind or "system", "%s", "cannot import " .. tarball .. ": " .. errors.message(img))
  end
  return img
end

-- add the values of extra's lists (repo_digests, blobs) that img lacks
local function gather(img, extra)
  for _, k in ipairs({ "repo_digests", "blobs" }) do -- lists that gather over pulls
    img[k] = json.array(img[k] or {})
    for _, v in ipairs(extra and extra[k] or {}) do
      local seen = false
      for _, x in ipairs(img[k]) do seen = seen or x == v end
      if not seen then table.insert(img[k], v) end
    end
  end
end

--- Store an image whose layers are in the store already (pull, load):
-- opts = { id = content id (the config's sha256 hex), layers = {ids, bottom
-- first}, config = the image config's "config" part, ref = "name:tag" or
-- nil, extra = fields of the record (digest, repo_digests, blobs, ...) }.
-- An image with that id just gains the tag. Raises on errors.
-- @return the image table
function M.store_image(opts)
  ref.check_ref(opts.ref)
  state.ensure()
  return state.with_lock(function()
    for _, lid in ipairs(opts.layers) do
      if not core.exists(store.layer_dir(lid)) then errors.throw("system", "layer %s is missing", lid) end
    end
    local img = store.register(opts.layers, opts.config or config.default(), opts.ref, opts.extra, opts.id)
    gather(img, opts.extra)
    store.save(img)
    return img
  end)
end

--- Import a tarball read from an open Lua file (e.g. io.stdin: `import -`):
-- it is copied to <root>/tmp first. Same options and result as image.import.
function M.import_stream(f, r, opts)
  ref.check_ref(r)
  config.apply_changes(config.default(), (opts or {}).change) -- fail early on bad changes
  local dir = state.mktemp("stdin")
  local path = util.join(dir, "archive")
  local ok, res = pcall(function()
    local out = errors.checkf("cannot import -: " .. path, io.open(path, "wb"))
    while true do
      local chunk = f:read(65536)
      if not chunk then break end
      errors.checkf("cannot import -: " .. path, out:write(chunk))
    end
    errors.checkf("cannot import -: " .. path, out:close())
    return M.import(path, r, opts)
  end)
  core.remove_all(dir)
  state.release_temp(dir)
  if not ok then error(res, 0) end
  return res
end

--- Register a new image made of parent's layers plus the tree layer_dir
-- (moved into the store; it should live under <root>/tmp, same filesystem).
-- Used by commit. opts: { parent = image table or reference (nil: a base
-- image), layer_dir = path, ref = "name:tag" or nil (untagged), config =
-- table (default: the parent's), comment = string, created_by = string
-- (its history's CreatedBy: the container's command) }. Raises on errors.
-- @return the image table
function M.add_layer_image(opts)
  local parent = opts.parent
  if type(parent) == "string" then
    local err
    parent, err = lookup.resolve(parent)
    if not parent then errors.throw("not_found", "%s", err) end
  end
  ref.check_ref(opts.ref)
  if type(opts.layer_dir) ~= "string" then errors.throw("invalid", "image.add_layer_image: layer_dir expected") end
  return state.with_lock(function()
    local layers = {}
    if parent then
      for _, l in ipairs(parent.layers) do layers[#layers + 1] = l end
    end
    layers[#layers + 1] = store.add_layer(opts.layer_dir)
    local cfg = opts.config or (parent and parent.config) or config.default()
    return store.register(layers, cfg, opts.ref,
      { parent = parent and parent.id or nil, comment = opts.comment, created_by = opts.created_by })
  end)
end

return M
