--- ctr.registry_push: pushing a local image to a registry.
--
-- A layer the image was pulled with keeps the blob it was pulled as (same
-- digest, same diff_id): it is not sent when the registry has it (HEAD),
-- and is mounted from the repository it came from when that is on the same
-- registry (docker's cross-repository blob mount). Any other layer (a
-- commit's, an import's, a loaded one) is written as a gzip tar in the OCI
-- layer form (overlay whiteouts as ".wh." files, opaque dirs with
-- ".wh..wh..opq"; no time in the gzip header, so the same tree gives the
-- same digest), checked with HEAD and uploaded only when the registry
-- lacks it; then the image config and an OCI image manifest under the tag.
local errors = require "ctr.errors"
local json = require "ctr.json"
local registry = require "ctr.registry"
local state = require "ctr.state"
local store = require "ctr.registry_store"
local core = require "ctr.core"

local M = {}

M.LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
-- the OCI names of docker's layer media types (the same bytes)
local OCI_TYPE = {
  ["application/vnd.docker.image.rootfs.diff.tar.gzip"] = M.LAYER_TYPE,
  ["application/vnd.oci.image.layer.v1.tar+gzip"] = M.LAYER_TYPE,
  ["application/vnd.oci.image.layer.v1.tar"] = "application/vnd.oci.image.layer.v1.tar",
  ["application/vnd.oci.image.layer.v1.tar+zstd"] = "application/vnd.oci.image.layer.v1.tar+zstd",
}
M.CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Whether the registry has blob d.
local function has_blob(c, d)
  local resp = c:request { method = "HEAD", url = c:url("/blobs/" .. d) }
  if resp.status == 200 then return true end
  if resp.status == 404 then return false end
  registry.http_error(c, resp, "blob " .. d)
end

-- Upload a blob from a file (path) or memory (data).
local function upload(c, d, path, data)
  local resp = c:request { method = "POST", url = c:url("/blobs/uploads/"), body = "" }
  if resp.status ~= 202 then registry.http_error(c, resp, "start an upload") end
  local loc = registry.headers(resp.headers)["location"]
  if not loc or loc:find("[\r\n]") then errors.throw("system", "registry %s: no upload location", c.ref.domain) end
  if loc:sub(1, 1) == "/" then loc = c.base:match("^(https?://[^/]+)") .. loc end
  if not loc:match("^https?://") then errors.throw("system", "registry %s: bad upload location", c.ref.domain) end
  loc = loc .. (loc:find("?", 1, true) and "&" or "?") .. "digest=" .. urlencode(d)
  resp = c:request { method = "PUT", url = loc, body_file = path, body = data,
    headers = { "Content-Type: application/octet-stream" } }
  if resp.status ~= 201 then registry.http_error(c, resp, "upload " .. d) end
end

-- Ask the registry to mount blob d from repository from (on the same
-- registry) into c's repository: true when it did (201). Anything else (no
-- such blob there, no permission, no mount support) is not an error: the
-- registry then opens a normal upload, which is cancelled.
local function mount(c, d, from)
  local resp = c:request { method = "POST", body = "",
    url = c:url("/blobs/uploads/?mount=" .. urlencode(d) .. "&from=" .. urlencode(from)) }
  if resp.status == 201 then return true end
  local loc = resp.status == 202 and registry.headers(resp.headers)["location"]
  if loc and not loc:find("[\r\n]") then
    if loc:sub(1, 1) == "/" then loc = c.base:match("^(https?://[^/]+)") .. loc end
    if loc:match("^https?://") then pcall(c.request, c, { method = "DELETE", url = loc }) end
  end
  return false
end

-- How the layers lids were pulled: {[lid] = {desc = {mediaType, digest,
-- size}, diff_id, source = "domain/repo"}}, from the stored manifests of
-- the images that list them (a layer of a commit or an import has none).
local function pulled_as(lids)
  local want, found = {}, {}
  for _, lid in ipairs(lids) do want[lid] = true end
  for _, rec in ipairs(require("ctr.image.store").load_all()) do
    local m = rec.manifest_digest and store.has_blob(rec.manifest_digest) and type(rec.diff_ids) == "table" and
        json.decode(core.read_file(store.blob_path(rec.manifest_digest)) or "")
    for i, l in ipairs(type(m) == "table" and type(m.layers) == "table" and m.layers or {}) do
      local lid = type(l) == "table" and store.hex(l.digest)
      if lid and want[lid] and not found[lid] and OCI_TYPE[l.mediaType] and math.type(l.size) == "integer" and
          store.hex(rec.diff_ids[i]) then
        found[lid] = { desc = { mediaType = OCI_TYPE[l.mediaType], digest = l.digest, size = l.size },
          diff_id = rec.diff_ids[i], source = rec.source }
      end
    end
  end
  return found
end

-- Write the layer lid as a gzip OCI tar under dir; returns its descriptor,
-- diff_id and path.
local function layer_tar(lid, dir, i)
  local archive = require "ctr.archive"
  local path = dir .. "/layer-" .. i .. ".tar.gz"
  local ok, err = archive.create(store.layer_dir(lid), path, { oci = true, gzip = true })
  local diff_id = ok and archive.digest(path)
  if not diff_id then errors.throw("system", "cannot archive layer %s: %s", lid, err) end
  local d, size = store.digest_file(path)
  return { mediaType = M.LAYER_TYPE, digest = d, size = size }, diff_id, path
end

-- The repository (on c's registry) a pulled layer can be mounted from.
local function mount_source(c, p)
  local domain, repo = tostring(p.source):match("^([^/]+)/(.+)$")
  if domain == c.ref.domain and repo ~= c.ref.repo then return repo end
end

-- Push layer lid (the i-th); returns its descriptor and diff_id.
local function push_layer(c, lid, i, p, dir, progress)
  if p then -- the blob it was pulled as
    local d = p.desc.digest
    if has_blob(c, d) then
      progress { status = "exists", digest = d, size = p.desc.size, index = i }
      return p.desc, p.diff_id
    end
    local from = mount_source(c, p)
    if from and mount(c, d, from) then
      progress { status = "mounted", digest = d, size = p.desc.size, index = i, from = from }
      return p.desc, p.diff_id
    end
  end
  local desc, diff_id, path = layer_tar(lid, dir, i)
  if has_blob(c, desc.digest) then
    progress { status = "exists", digest = desc.digest, size = desc.size, index = i }
  else
    upload(c, desc.digest, path)
    progress { status = "pushed", digest = desc.digest, size = desc.size, index = i }
  end
  core.unlink(path)
  return desc, diff_id
end

local function push_layers(c, img, dir, progress)
  local descs, diff_ids = json.array({}), json.array({})
  local pulled = pulled_as(img.layers)
  for i, lid in ipairs(img.layers) do
    descs[i], diff_ids[i] = push_layer(c, lid, i, pulled[lid], dir, progress)
  end
  return descs, diff_ids
end

local function image_config(img, diff_ids)
  local arch = require("ctr.registry_pull").platform()
  return json.encode({
    architecture = img.architecture or arch.architecture, os = img.os or "linux", variant = img.variant,
    created = img.created, config = img.config or json.object({}),
    rootfs = { type = "layers", diff_ids = diff_ids },
  })
end

--- Push the local image opts.ref ("[host[:port]/]path:tag") to its
-- registry. opts.image: push this local image (reference or id) under
-- opts.ref instead. opts.progress(ev): ev.status "exists" / "mounted"
-- (ev.from: the repository) / "pushed" per layer, "done" with ev.digest. Raises ("not_found" for an unknown image,
-- "invalid" for a bad reference, "system" for the network).
-- @return the manifest digest
function M.push(opts)
  local image = require "ctr.image"
  local r = registry.parse(opts.ref)
  if r.digest then errors.throw("invalid", "cannot push to a digest reference: %s", opts.ref) end
  local img = image.resolve(opts.image or r.local_ref)
  if not img then img = opts.image == nil and image.resolve(opts.ref) or nil end
  if not img then errors.throw("not_found", "no such image: %s", opts.image or opts.ref) end
  local progress = opts.progress or function() end
  local c = registry.client(r, { push = true })
  local res = state.with_temp("push", function(dir)
    local descs, diff_ids = push_layers(c, img, dir, progress)
    local cfg = image_config(img, diff_ids)
    local cd = "sha256:" .. require("ctr.http").sha256(cfg)
    if not has_blob(c, cd) then upload(c, cd, nil, cfg) end
    local manifest = json.encode({ schemaVersion = 2, mediaType = registry.MEDIA.oci_manifest,
      config = { mediaType = M.CONFIG_TYPE, digest = cd, size = #cfg }, layers = descs })
    local resp = c:request { method = "PUT", url = c:url("/manifests/" .. r.tag), body = manifest,
      headers = { "Content-Type: " .. registry.MEDIA.oci_manifest } }
    if resp.status ~= 201 then registry.http_error(c, resp, "manifest " .. r.repo .. ":" .. r.tag) end
    return "sha256:" .. require("ctr.http").sha256(manifest)
  end)
  image.store_image { id = img.id, layers = img.layers, config = img.config,
    extra = { repo_digests = json.array({ r.name .. "@" .. res }) } }
  progress { status = "done", digest = res }
  return res
end

return M
