--- ctr.registry_pull: pulling an image from a registry into the store.
--
-- The manifest (or the index entry for the platform, then its manifest),
-- the config and every missing layer are downloaded (layers in parallel)
-- into <root>/tmp and each is verified against its digest and size; only
-- when all are good are the layers unpacked (".wh." whiteouts become
-- overlay whiteouts) and the image recorded. Layers already in the store
-- are not downloaded again.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local registry = require "ctr.registry"
local state = require "ctr.state"
local store = require "ctr.registry_store"

local M = {}

--- The largest layer accepted (bytes).
M.MAX_LAYER = 64 * 1024 * 1024 * 1024
--- The most layers an image may have.
M.MAX_LAYERS = 256
--- Layers downloaded at the same time.
M.PARALLEL = 4

local LAYER_TYPES = {
  ["application/vnd.oci.image.layer.v1.tar"] = true,
  ["application/vnd.oci.image.layer.v1.tar+gzip"] = true,
  ["application/vnd.oci.image.layer.v1.tar+zstd"] = true,
  ["application/vnd.docker.image.rootfs.diff.tar.gzip"] = true,
  ["application/vnd.docker.image.rootfs.diff.tar"] = true,
}

local ARCH = { x86_64 = "amd64", aarch64 = "arm64", armv7l = "arm", armv6l = "arm", i686 = "386",
  i386 = "386", ppc64le = "ppc64le", s390x = "s390x", riscv64 = "riscv64" }

--- The platform to pull: spec "os/arch[/variant]", or this machine's.
-- @return {os=, architecture=, variant=}
function M.platform(spec)
  if spec then
    local os_, arch, variant = spec:match("^([%w_]+)/([%w_]+)/?([%w_]*)$")
    if not os_ then errors.throw("invalid", "invalid platform %q (expected os/arch[/variant])", spec) end
    return { os = os_, architecture = arch, variant = variant ~= "" and variant or nil }
  end
  local m = (core.uname() or {}).machine or "x86_64"
  local p = { os = "linux", architecture = ARCH[m] or m }
  if m == "armv7l" then p.variant = "v7" elseif m == "armv6l" then p.variant = "v6" end
  return p
end

local function fmt_platform(p)
  return p.os .. "/" .. p.architecture .. (p.variant and ("/" .. p.variant) or "")
end

--- The entry of index (an OCI index or docker manifest list) for the
-- platform p ({os=, architecture=, variant=}; an exact variant first), or nil.
function M.pick(index, p)
  local loose
  for _, e in ipairs(type(index.manifests) == "table" and index.manifests or {}) do
    local ep = type(e) == "table" and type(e.platform) == "table" and e.platform
    if ep and ep.os == p.os and ep.architecture == p.architecture then
      if ep.variant == p.variant then return e end
      if not p.variant or (p.architecture == "arm64" and p.variant == "v8" and not ep.variant) then
        loose = loose or e
      end
    end
  end
  return loose
end

local function check_size(n, what, max)
  if math.type(n) ~= "integer" or n < 0 or n > max then
    errors.throw("invalid", "invalid size for %s: %s", what, tostring(n))
  end
  return n
end

--- Check a manifest's config and layer descriptors (hostile input):
-- valid digests, bounded sizes and layer counts, known layer media types.
-- Raises an "invalid" error.
function M.check_manifest(m)
  if type(m.config) ~= "table" or type(m.layers) ~= "table" then
    errors.throw("invalid", "the manifest has no config or layers")
  end
  store.check_digest(m.config.digest, "the image config")
  check_size(m.config.size, "the image config", store.MAX_JSON)
  if #m.layers == 0 or #m.layers > M.MAX_LAYERS then errors.throw("invalid", "the manifest has %d layers", #m.layers) end
  for i, l in ipairs(m.layers) do
    if type(l) ~= "table" then errors.throw("invalid", "bad layer %d in the manifest", i) end
    store.check_digest(l.digest, "layer " .. i)
    check_size(l.size, "layer " .. i, M.MAX_LAYER)
    if not LAYER_TYPES[l.mediaType] then
      errors.throw("invalid", "layer %d has an unsupported media type %s", i, tostring(l.mediaType))
    end
  end
end

-- Resolve the reference to a platform manifest: returns the manifest, its
-- digest and body, the top digest (what the tag points to) and the list of
-- {digest, body} of the JSON blobs seen.
local function resolve(c, r, plat)
  local m, d, body, mt = c:manifest(r.digest or r.tag)
  local top, seen = d, { { d, body } }
  if registry.is_index(m, mt) then
    local e = M.pick(m, plat)
    if not e then errors.throw("not_found", "%s has no image for platform %s", r.name, fmt_platform(plat)) end
    store.check_digest(e.digest, "the platform manifest")
    m, d, body, mt = c:manifest(e.digest)
    if registry.is_index(m, mt) then errors.throw("invalid", "nested image indexes are not supported") end
    seen[#seen + 1] = { d, body }
  end
  M.check_manifest(m)
  return m, d, top, seen
end

local function fetch_config(c, m)
  local resp = c:request { url = c:url("/blobs/" .. m.config.digest), follow = true, max_body = m.config.size }
  if resp.status ~= 200 then registry.http_error(c, resp, "config " .. m.config.digest) end
  if "sha256:" .. resp.sha256 ~= m.config.digest or resp.size ~= m.config.size then
    errors.throw("invalid", "digest mismatch for the image config %s", m.config.digest)
  end
  local cfg = json.decode(resp.body)
  if type(cfg) ~= "table" or type(cfg.rootfs) ~= "table" or type(cfg.rootfs.diff_ids) ~= "table" then
    errors.throw("invalid", "the image config %s is not an image config", m.config.digest)
  end
  if #cfg.rootfs.diff_ids ~= #m.layers then
    errors.throw("invalid", "the image config lists %d layers, the manifest %d", #cfg.rootfs.diff_ids, #m.layers)
  end
  for i, l in ipairs(m.layers) do -- an uncompressed layer's digest is its diff_id
    store.check_digest(cfg.rootfs.diff_ids[i], "the config's diff_id of layer " .. i)
    if l.mediaType:match("%.tar$") and cfg.rootfs.diff_ids[i] ~= l.digest then
      errors.throw("invalid", "layer %d: its digest %s is not the config's diff_id %s", i, l.digest,
        tostring(cfg.rootfs.diff_ids[i]))
    end
  end
  return cfg, resp.body
end


-- Download the layers not in the store into dir, verified; returns
-- {index -> file}.
local function download(c, m, dir, progress)
  local reqs, which, files = {}, {}, {}
  for i, l in ipairs(m.layers) do
    local id = store.hex(l.digest)
    if store.has_layer(id) then
      progress { status = "exists", digest = l.digest, size = l.size, index = i }
    elseif not which[l.digest] then
      which[l.digest] = true
      files[i] = dir .. "/layer-" .. i
      reqs[#reqs + 1] = { url = c:url("/blobs/" .. l.digest), follow = true, out_file = files[i],
        max_body = l.size, index = i }
    end
  end
  local function on_bytes(k, now)
    local l = m.layers[reqs[k].index]
    progress { status = "downloading", digest = l.digest, size = l.size, current = now, index = reqs[k].index }
  end
  local res = #reqs > 0 and c:perform(reqs, { parallel = M.PARALLEL, progress = on_bytes, done = function(k, resp)
    local l = m.layers[reqs[k].index]
    progress { status = resp.status == 200 and "downloaded" or "failed", digest = l.digest, size = resp.size,
      index = reqs[k].index }
  end }) or {}
  for k, resp in ipairs(res) do
    local l = m.layers[reqs[k].index]
    if resp.status ~= 200 then registry.http_error(c, resp, "layer " .. l.digest) end
    if "sha256:" .. resp.sha256 ~= l.digest or resp.size ~= l.size then
      errors.throw("invalid", "digest mismatch for layer %s: got sha256:%s (%d bytes, expected %d)",
        l.digest, resp.sha256 or "?", resp.size, l.size)
    end -- (ctr.http hashed the bytes as it wrote them to the file)
  end
  return files
end

local function record(r, m, md, top, seen, cfg, cfg_body)
  local image = require "ctr.image"
  local blobs = json.array({})
  for _, s in ipairs(seen) do blobs[#blobs + 1] = store.put_data(s[2], s[1], "manifest") end
  blobs[#blobs + 1] = store.put_data(cfg_body, m.config.digest, "config")
  local layers = {}
  for i, l in ipairs(m.layers) do layers[i] = store.hex(l.digest) end
  return image.store_image {
    id = store.hex(m.config.digest), layers = layers, config = type(cfg.config) == "table" and cfg.config or {},
    ref = r.local_ref,
    extra = { digest = top, manifest_digest = md, config_digest = m.config.digest, blobs = blobs,
      repo_digests = json.array({ r.name .. "@" .. top }), diff_ids = json.array(cfg.rootfs.diff_ids),
      os = cfg.os, architecture = cfg.architecture, variant = cfg.variant,
      created = type(cfg.created) == "string" and cfg.created or nil, source = r.domain .. "/" .. r.repo },
  }
end

--- Pull opts.ref from its registry: opts = { ref = "name[:tag|@digest]",
-- platform = "os/arch[/variant]" (default: this machine), progress =
-- function(ev) (ev.status "resolved", "exists", "downloading" (with
-- ev.current bytes), "downloaded", "failed", "unpacked", "done"; ev.digest,
-- ev.size, ev.index, ev.image); ctr.registry_progress.new() shows them }. Raises
-- ("invalid" for a bad reference or content that does not match its
-- digest, "not_found", "system" for the network). @return the image table
function M.pull(opts)
  local r = registry.parse(opts.ref)
  local plat = M.platform(opts.platform)
  local progress = opts.progress or function() end
  state.ensure()
  require("ctr.gc").collect() -- what a killed pull left in <root>/tmp (its lock is free)
  local c = registry.client(r)
  local m, md, top, seen = resolve(c, r, plat)
  progress { status = "resolved", digest = top, layers = #m.layers }
  local cfg, cfg_body = fetch_config(c, m)
  local img = state.with_temp("pull", function(dir)
    local files = download(c, m, dir, progress)
    for i, l in ipairs(m.layers) do
      if files[i] then
        store.unpack_layer(files[i], store.hex(l.digest), true, cfg.rootfs.diff_ids[i])
        core.unlink(files[i])
        progress { status = "unpacked", digest = l.digest, size = l.size, index = i }
      end
    end
    return record(r, m, md, top, seen, cfg, cfg_body)
  end)
  progress { status = "done", digest = top, image = img }
  return img
end

return M
