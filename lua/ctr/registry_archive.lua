--- ctr.registry_archive: images as archives (docker save / docker load).
--
-- save writes ONE tar that is both formats, as docker 25 does: an OCI image
-- layout (oci-layout, index.json, blobs/sha256/...) and a docker-archive
-- manifest.json whose Layers and Config name the same blobs; layers are
-- uncompressed tars in the OCI layer form (".wh." whiteouts). load reads
-- a docker-archive (manifest.json, as docker save and podman save write
-- it) or an OCI layout (index.json; podman save --format oci-archive,
-- skopeo): everything is extracted safely into <root>/tmp, every path the
-- archive names must stay inside it (no "..", no symlinks), blobs named by
-- digest are verified, and only then are layers unpacked and images
-- recorded.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local store = require "ctr.registry_store"

local M = {}

local OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
local OCI_INDEX = "application/vnd.oci.image.index.v1+json"

local function http() return require "ctr.http" end

local function must(ok, err, what)
  if not ok then errors.throw("system", "%s: %s", what, tostring(err)) end
  return ok
end

-- ---- save -----------------------------------------------------------------------

-- Write data as blob into the layout dir; returns digest, size.
local function put_blob(dir, data)
  local hex = http().sha256(data)
  must(core.write_file_atomic(dir .. "/blobs/sha256/" .. hex, data, 420))
  return "sha256:" .. hex, #data
end

-- Archive the layer lid into the layout dir; returns digest, size.
local function put_layer(dir, lid)
  local archive = require "ctr.archive"
  local tmp = dir .. "/blobs/layer.tmp"
  must(archive.create(store.layer_dir(lid), tmp, { oci = true }), nil, "cannot archive layer " .. lid)
  local d, size = store.digest_file(tmp)
  must(core.rename(tmp, dir .. "/blobs/sha256/" .. store.hex(d)))
  return d, size
end

local function save_image(dir, img, ref)
  local descs, diff_ids, paths = json.array({}), json.array({}), json.array({})
  for i, lid in ipairs(img.layers) do
    local d, size = put_layer(dir, lid)
    descs[i] = { mediaType = "application/vnd.oci.image.layer.v1.tar", digest = d, size = size }
    diff_ids[i], paths[i] = d, "blobs/sha256/" .. store.hex(d)
  end
  local plat = require("ctr.registry_pull").platform()
  local cfg = json.encode({ architecture = img.architecture or plat.architecture, os = img.os or "linux",
    created = img.created, config = img.config or json.object({}),
    rootfs = { type = "layers", diff_ids = diff_ids } })
  local cd, csize = put_blob(dir, cfg)
  local manifest = json.encode({ schemaVersion = 2, mediaType = OCI_MANIFEST,
    config = { mediaType = "application/vnd.oci.image.config.v1+json", digest = cd, size = csize },
    layers = descs })
  local md, msize = put_blob(dir, manifest)
  local tags = json.array({})
  if ref then tags[1] = ref end
  local entry = { mediaType = OCI_MANIFEST, digest = md, size = msize }
  if ref then
    local r = require("ctr.registry").parse(ref)
    entry.annotations = { ["io.containerd.image.name"] = r.domain .. "/" .. r.repo .. ":" .. r.tag,
      ["org.opencontainers.image.ref.name"] = r.tag }
  end
  return entry, { Config = "blobs/sha256/" .. store.hex(cd), RepoTags = tags, Layers = paths }
end

-- The images to save: {img, ref or nil} for each reference.
local function resolve_all(refs)
  local image = require "ctr.image"
  local list = {}
  for _, ref in ipairs(refs) do
    local img, err = image.resolve(ref)
    if not img then errors.throw("not_found", "%s", err or ("no such image: " .. ref)) end
    local name, tag = image.parse_ref(ref)
    local tagged = name and (name .. ":" .. tag)
    local has = false
    for _, t in ipairs(img.repo_tags or {}) do has = has or t == tagged end
    list[#list + 1] = { img, has and tagged or nil }
  end
  return list
end

--- Save images (references) to the tar file path, as docker save: an OCI
-- layout plus docker's manifest.json in one archive. path "-" writes to
-- standard output. Raises on errors (path is not left half-written).
function M.save(refs, path)
  if type(refs) ~= "table" or #refs == 0 then errors.throw("invalid", "save needs at least one image") end
  local list = resolve_all(refs)
  state.with_temp("save", function(dir)
    local lay = dir .. "/layout"
    must(core.mkdir(lay, 493)); must(core.mkdir(lay .. "/blobs", 493)); must(core.mkdir(lay .. "/blobs/sha256", 493))
    local index, manifests = json.array({}), json.array({})
    for i, it in ipairs(list) do index[i], manifests[i] = save_image(lay, it[1], it[2]) end
    must(core.write_file_atomic(lay .. "/oci-layout", '{"imageLayoutVersion":"1.0.0"}', 420))
    must(core.write_file_atomic(lay .. "/index.json", json.encode({ schemaVersion = 2, mediaType = OCI_INDEX,
      manifests = index }), 420))
    must(core.write_file_atomic(lay .. "/manifest.json", json.encode(manifests), 420))
    local archive = require "ctr.archive"
    if path == "-" then
      must(archive.create(lay, 1), nil, "cannot write the archive")
    else -- beside path, then renamed: never a half-written path
      local tmp = path .. ".tmp-" .. state.new_id():sub(1, 12)
      local wok, werr = archive.create(lay, tmp)
      if wok then wok, werr = core.fsync(tmp) end
      if wok then wok, werr = core.rename(tmp, path) end
      if not wok then core.unlink(tmp) end
      must(wok, werr, "cannot write " .. path)
    end
  end)
  return true
end

return M
