--- ctr.image.lookup: finding images (resolve, list, inspect).
local errors = require "ctr.errors"
local ref = require "ctr.image.ref"
local store = require "ctr.image.store"
local config = require "ctr.image.config"
local busybox = require "ctr.image.busybox"

local M = {}

--- Find an image by "name[:tag]", full id or unique id prefix ("sha256:"
-- accepted). "busybox" / "busybox:latest" is built on first use.
-- @return the image table, or nil, err ("no such image: x", ambiguous
-- prefix, busybox cannot be built)
function M.resolve(r)
  local img, err = store.find(r)
  if img then return img end
  if err then return nil, err end
  local name, tag = ref.parse_ref(r)
  if not name then return nil, tag end
  if name == "busybox" and tag == "latest" then
    local ok, res = pcall(busybox.ensure)
    if not ok and errors.is(res, "interrupted") then error(res, 0) end -- not "no image"
    if not ok then return nil, errors.message(res) end
    return res
  end
  return nil, "no such image: " .. r
end

--- Absolute layer directories of img, TOP layer first (overlayfs lowerdir order).
function M.lower_dirs(img)
  local t = {}
  for i = #img.layers, 1, -1 do t[#t + 1] = store.layer_dir(img.layers[i]) end
  return t
end

--- All images, newest first.
function M.list()
  local all = store.load_all()
  table.sort(all, function(a, b)
    if a.created ~= b.created then return (a.created or "") > (b.created or "") end
    return a.id < b.id
  end)
  return all
end

local GOARCH = { x86_64 = "amd64", aarch64 = "arm64", armv7l = "arm", i686 = "386", ppc64le = "ppc64le", s390x = "s390x" }

-- docker's fields of an image inspect, added to t (the record's copy)
local function docker_fields(t)
  local json = require "ctr.json"
  local function list(l, prefix)
    local a = json.array({})
    for i, v in ipairs(l or {}) do a[i] = (prefix or "") .. v end
    return a
  end
  local plat = type(t.platform) == "table" and t.platform or {}
  local m = (require("ctr.core").uname() or {}).machine or "x86_64"
  t.Id, t.RepoTags, t.RepoDigests = "sha256:" .. t.id, list(t.repo_tags), list(t.repo_digests)
  t.Created, t.Size, t.Comment = t.created or "", t.size or 0, t.comment or ""
  t.Config = config.clean(t.config)
  t.RootFS = { Type = "layers", Layers = list(t.layers, "sha256:") }
  t.Architecture = t.architecture or plat.architecture or GOARCH[m] or m
  t.Os = t.os or plat.os or "linux"
  return t
end

--- The image record for ref (a copy, with layer_dirs added), or nil, err;
-- with docker's fields alongside: Id ("sha256:<hex>"), RepoTags,
-- RepoDigests, Created, Config {Cmd, Entrypoint, Env, WorkingDir, User,
-- ...}, RootFS {Type = "layers", Layers}, Size, Architecture, Os, Comment.
function M.inspect(r)
  local img, err = M.resolve(r)
  if not img then return nil, err end
  local t = config.copy(img)
  t.layer_dirs = M.lower_dirs(img)
  return docker_fields(t)
end

return M
