--- ctr.registry_push: pushing a local image to a registry.
--
-- Each layer is written as an uncompressed tar in the OCI layer form
-- (overlay whiteouts as ".wh." files, opaque dirs with ".wh..wh..opq";
-- its digest is then also its diff_id), checked with HEAD and uploaded only
-- when the registry lacks it; then the image config and an OCI image
-- manifest under the tag.
local errors = require "ctr.errors"
local json = require "ctr.json"
local registry = require "ctr.registry"
local state = require "ctr.state"
local store = require "ctr.registry_store"
local core = require "ctr.core"

local M = {}

M.LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
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

-- Write the layer lid as an OCI tar under dir; returns digest, size, path.
local function layer_tar(lid, dir, i)
  local archive = require "ctr.archive"
  local path = dir .. "/layer-" .. i .. ".tar"
  local ok, err = archive.create(store.layer_dir(lid), path, { oci = true })
  if not ok then errors.throw("system", "cannot archive layer %s: %s", lid, err) end
  local d, size = store.digest_file(path)
  return d, size, path
end

local function push_layers(c, img, dir, progress)
  local descs, diff_ids = json.array({}), json.array({})
  for i, lid in ipairs(img.layers) do
    local d, size, path = layer_tar(lid, dir, i)
    if has_blob(c, d) then
      progress { status = "exists", digest = d, size = size, index = i }
    else
      upload(c, d, path)
      progress { status = "pushed", digest = d, size = size, index = i }
    end
    core.unlink(path)
    descs[i] = { mediaType = M.LAYER_TYPE, digest = d, size = size }
    diff_ids[i] = d
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
-- opts.ref instead. opts.progress(ev): ev.status "exists" / "pushed" per
-- layer, "done" with ev.digest. Raises ("not_found" for an unknown image,
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
  local dir = state.mktemp("push")
  local ok, res = pcall(function()
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
  core.remove_all(dir)
  state.release_temp(dir)
  if not ok then error(errors.from(res), 0) end
  image.store_image { id = img.id, layers = img.layers, config = img.config,
    extra = { repo_digests = json.array({ r.name .. "@" .. res }) } }
  progress { status = "done", digest = res }
  return res
end

return M
