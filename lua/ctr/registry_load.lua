--- ctr.registry_load: loading image archives (docker load).
--
-- Reads a docker-archive (manifest.json: docker save, podman save) or an
-- OCI image layout (oci-layout + index.json: podman save --format
-- oci-archive, skopeo, luac-ctr save). The archive is extracted safely into
-- <root>/tmp; every path it names must stay inside (no "..", no symlinks);
-- blobs named by digest are verified (and uncompressed docker-archive
-- layers against their diff_ids) BEFORE any layer is unpacked or image
-- recorded; a bad archive leaves nothing.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local store = require "ctr.registry_store"

local M = {}

--- The most images one archive may hold.
M.MAX_IMAGES = 256

local function http() return require "ctr.http" end

-- The regular file rel inside dir (no "..", no absolute path, no symlink
-- on the way); raises an "invalid" error.
local function inside(dir, rel, what)
  if type(rel) ~= "string" or rel == "" or rel:sub(1, 1) == "/" or #rel > 4096 then
    errors.throw("invalid", "invalid path for %s in the archive: %s", what, tostring(rel))
  end
  local p, st = dir, nil
  for c in rel:gmatch("[^/]+") do
    if c == ".." then errors.throw("invalid", "path with \"..\" for %s in the archive: %s", what, rel) end
    if c ~= "." then
      p = p .. "/" .. c
      st = core.lstat(p)
      if not st then errors.throw("invalid", "%s is missing from the archive (%s)", what, rel) end
      if st.type == "link" then errors.throw("invalid", "%s in the archive is a symlink (%s)", what, rel) end
    end
  end
  if not st or st.type ~= "file" then errors.throw("invalid", "%s in the archive is not a file (%s)", what, rel) end
  return p, st.size
end

local function read_json(path, size, what)
  if size > store.MAX_JSON then errors.throw("invalid", "%s is too large (%d bytes)", what, size) end
  local data, err = core.read_file(path)
  if not data then errors.throw("system", "cannot read %s: %s", what, err) end
  local v = json.decode(data)
  if type(v) ~= "table" then errors.throw("invalid", "%s is not valid JSON", what) end
  return v, data
end

local function check_config(cfg, n)
  if type(cfg.rootfs) ~= "table" or type(cfg.rootfs.diff_ids) ~= "table" or #cfg.rootfs.diff_ids ~= n then
    errors.throw("invalid", "the image config does not list the image's %d layers", n)
  end
  for i = 1, n do store.check_digest(cfg.rootfs.diff_ids[i], "the config's diff_id of layer " .. i) end
end

local function compressed(path)
  local f = io.open(path, "rb")
  local head = f and f:read(4) or ""
  if f then f:close() end
  return head:sub(1, 2) == "\31\139" or head == "\40\181\47\253" or head:sub(1, 3) == "BZh" or
      head == "\253\55\122\88"
end

-- docker-archive: a plan {id, config, cdata, layers = {{path, digest}}, tags}
-- for each entry of manifest.json, all verified.
local function plan_docker(dir)
  local mp, msize = inside(dir, "manifest.json", "manifest.json")
  local list = read_json(mp, msize, "manifest.json")
  if #list == 0 or #list > M.MAX_IMAGES then errors.throw("invalid", "manifest.json lists %d images", #list) end
  local plans = {}
  for _, e in ipairs(list) do
    if type(e) ~= "table" or type(e.Layers) ~= "table" then errors.throw("invalid", "bad entry in manifest.json") end
    local cp, csize = inside(dir, e.Config, "the config")
    local cfg, cdata = read_json(cp, csize, "the image config")
    local cd = "sha256:" .. http().sha256(cdata)
    local named = tostring(e.Config):match("(%x+)%.json$") or tostring(e.Config):match("sha256/(%x+)$")
    if named and #named == 64 and "sha256:" .. named ~= cd then
      errors.throw("invalid", "digest mismatch for the image config %s", e.Config)
    end
    check_config(cfg, #e.Layers)
    local layers = {}
    for i, lp in ipairs(e.Layers) do
      local p = inside(dir, lp, "layer " .. i)
      local d = store.digest_file(p)
      local lnamed = tostring(lp):match("sha256/(%x+)$")
      if (lnamed and "sha256:" .. lnamed ~= d) or (d ~= cfg.rootfs.diff_ids[i] and not compressed(p)) then
        errors.throw("invalid", "digest mismatch for layer %d (%s): got %s", i, lp, d)
      end
      layers[i] = { p, d }
    end
    plans[#plans + 1] = { id = store.hex(cd), cd = cd, config = cfg, cdata = cdata, layers = layers,
      tags = type(e.RepoTags) == "table" and e.RepoTags or {} }
  end
  return plans
end

-- A verified blob of the OCI layout: its path.
local function blob(dir, desc, what)
  if type(desc) ~= "table" then errors.throw("invalid", "bad descriptor for %s", what) end
  local hex = store.check_digest(desc.digest, what)
  local p = inside(dir, "blobs/sha256/" .. hex, what)
  store.verify_file(p, desc.digest, desc.size, what)
  return p
end

local function oci_name(entry)
  local a = type(entry.annotations) == "table" and entry.annotations or {}
  local n = a["io.containerd.image.name"] or a["org.opencontainers.image.ref.name"]
  if type(n) ~= "string" or not (n:find("/") or n:find(":")) then return nil end
  local ok, r = pcall(require("ctr.registry").parse, n)
  if not ok then errors.rethrow_interrupt(r) end
  return ok and r.local_ref or nil
end

local function plan_oci_entry(dir, entry)
  local pull = require "ctr.registry_pull"
  local registry = require "ctr.registry"
  local mp, msize = blob(dir, entry, "a manifest"), entry.size
  local m = read_json(mp, msize, "a manifest")
  if registry.is_index(m, m.mediaType) then
    local e = pull.pick(m, pull.platform())
    if not e then errors.throw("not_found", "the archive has no image for this platform") end
    m = read_json(blob(dir, e, "a manifest"), e.size, "a manifest")
  end
  pull.check_manifest(m)
  local cfg, cdata = read_json(blob(dir, m.config, "the image config"), m.config.size, "the image config")
  check_config(cfg, #m.layers)
  local layers = {}
  for i, l in ipairs(m.layers) do layers[i] = { blob(dir, l, "layer " .. i), l.digest } end
  local name = oci_name(entry)
  return { id = store.hex(m.config.digest), cd = m.config.digest, config = cfg, cdata = cdata, layers = layers,
    tags = { name } }
end

local function plan_oci(dir)
  local p, size = inside(dir, "index.json", "index.json")
  local index = read_json(p, size, "index.json")
  local list = type(index.manifests) == "table" and index.manifests or {}
  if #list == 0 or #list > M.MAX_IMAGES then errors.throw("invalid", "index.json lists %d images", #list) end
  local plans = {}
  for _, entry in ipairs(list) do plans[#plans + 1] = plan_oci_entry(dir, entry) end
  return plans
end

-- Unpack a plan's layers (an "unpacked" or "exists" event each) and record
-- its image; returns {id=, tags=}.
local function apply(plan, progress)
  local image = require "ctr.image"
  local registry = require "ctr.registry"
  local ids = {}
  for i, l in ipairs(plan.layers) do
    local now
    ids[i], now = store.unpack_layer(l[1], store.hex(l[2]), true, plan.config.rootfs.diff_ids[i])
    local st = core.stat(l[1])
    progress { status = now and "unpacked" or "exists", digest = l[2], size = st and st.size, index = i }
  end
  store.put_data(plan.cdata, plan.cd, "the image config")
  local tags = {}
  for _, t in ipairs(plan.tags) do
    local ok, r = pcall(registry.parse, t)
    if not ok then errors.rethrow_interrupt(r) end
    if ok and r.local_ref then tags[#tags + 1] = r.local_ref end
  end
  local cfg = plan.config
  local img = image.store_image { id = plan.id, layers = ids, config = type(cfg.config) == "table" and cfg.config or {},
    ref = tags[1], extra = { blobs = json.array({ plan.cd }), config_digest = plan.cd, diff_ids = json.array(cfg.rootfs.diff_ids),
      os = cfg.os, architecture = cfg.architecture, created = type(cfg.created) == "string" and cfg.created or nil } }
  for i = 2, #tags do image.tag(img.id, tags[i]) end
  return { id = img.id, tags = tags }
end

--- Load the images of the archive at path (docker-archive or OCI layout
-- tar, plain or compressed; "-": standard input). opts.progress(ev): per
-- layer ev.status "unpacked" or "exists" (ev.digest, ev.size), per image
-- "loaded" (ev.id, ev.tags). Raises ("invalid" for a bad archive).
-- @return list of {id=, tags={...}}
function M.load(path, opts)
  local progress = (opts or {}).progress or function() end
  state.ensure()
  local res = state.with_temp("load", function(dir)
    local archive = require "ctr.archive"
    local x = dir .. "/x"
    local mok, merr = core.mkdir(x, 448)
    if not mok then errors.throw("system", "cannot create %s: %s", x, merr) end
    local src = path == "-" and 0 or path
    local eok, err = archive.extract(src, x)
    if not eok then errors.throw("invalid", "cannot read the archive %s: %s", path, err) end
    local plans
    if core.lstat(x .. "/index.json") and core.lstat(x .. "/oci-layout") then
      plans = plan_oci(x)
    elseif core.lstat(x .. "/manifest.json") then
      plans = plan_docker(x)
    else
      errors.throw("invalid", "%s is not a docker-archive or an OCI image layout", path)
    end
    local out = {}
    for i, plan in ipairs(plans) do
      out[i] = apply(plan, progress)
      progress { status = "loaded", id = out[i].id, tags = out[i].tags }
    end
    return out
  end)
  return res
end

return M
