--- ctr.registry_store: the content-addressed part of the image store.
--
--   <root>/blobs/sha256/<hex>   manifests, indexes and image configs as
--                               pulled, loaded or pushed, by their digest
--   <root>/layers/<hex>/        a layer unpacked once, named by the sha256
--                               of the archive it came from (the registry's
--                               layer digest, or the imported tarball's), and
--                               shared by every image that lists it
--
-- Everything arrives in <root>/tmp (ctr.state.mktemp: locked while in use,
-- removed by the next command's garbage collection when its writer died),
-- is checked against its digest and size, flushed, then renamed into place:
-- a killed pull leaves nothing half-visible. Digests from outside are
-- checked to be "sha256:" plus 64 lowercase hex digits before they name a
-- file.
local core = require "ctr.core"
local errors = require "ctr.errors"
local state = require "ctr.state"
local util = require "ctr.util"

local M = {}

local MODE_755 = 493

--- The largest manifest, index or image config accepted (bytes).
M.MAX_JSON = 4 * 1024 * 1024

local function http() return require "ctr.http" end

--- The hex part of a digest "sha256:<64 hex>", or nil when d is not one.
function M.hex(d)
  if type(d) ~= "string" then return nil end
  local h = d:match("^sha256:(%x+)$")
  if not h or #h ~= 64 or h:lower() ~= h then return nil end
  return h
end

--- The hex of digest d; raises an "invalid" error naming what when d is
-- not "sha256:" plus 64 lowercase hex digits.
function M.check_digest(d, what)
  local h = M.hex(d)
  if not h then errors.throw("invalid", "invalid digest for %s: %s", what or "a blob", tostring(d)) end
  return h
end

--- The path of the blob with digest d (which must be valid).
function M.blob_path(d)
  return state.dir("blobs", "sha256", M.check_digest(d))
end

--- Whether the blob d is stored.
function M.has_blob(d)
  return M.hex(d) ~= nil and core.exists(M.blob_path(d)) == true
end

local function ensure_dirs()
  state.ensure()
  local ok, err = util.mkdir_p(state.dir("blobs", "sha256"), 448)
  if not ok then errors.throw("system", "cannot create the blob store: %s", err) end
end

--- Verify that the file path has digest d and (when given) size bytes;
-- raises an "invalid" error ("digest mismatch") when it does not.
function M.verify_file(path, d, size, what)
  local want = M.check_digest(d, what)
  local got, n = http().sha256_file(path)
  if not got then errors.throw("system", "cannot read %s: %s", what or path, n) end
  if size and n ~= size then
    errors.throw("invalid", "size mismatch for %s: expected %d bytes, got %d", what or d, size, n)
  end
  if got ~= want then
    errors.throw("invalid", "digest mismatch for %s: expected sha256:%s, got sha256:%s", what or d, want, got)
  end
  return true
end

--- Store data as a blob (written to a temporary name, flushed and renamed).
-- When d is given the data must have that digest. @return the digest
function M.put_data(data, d, what)
  local got = "sha256:" .. http().sha256(data)
  if d and got ~= d then
    errors.throw("invalid", "digest mismatch for %s: expected %s, got %s", what or "a blob", d, got)
  end
  ensure_dirs()
  local path = M.blob_path(got)
  if core.exists(path) then return got end
  local ok, err = core.write_file_atomic(path, data, 420)
  if not ok then errors.throw("system", "cannot store blob %s: %s", got, err) end
  return got
end

--- Move the verified file path into the store as blob d (same filesystem:
-- under <root>/tmp). @return the blob's path
function M.put_file(path, d)
  ensure_dirs()
  local dst = M.blob_path(d)
  local ok, err = core.fsync(path)
  if ok then ok, err = core.rename(path, dst) end
  if not ok then errors.throw("system", "cannot store blob %s: %s", d, err) end
  core.fsync(state.dir("blobs", "sha256"))
  return dst
end

--- Read the stored blob d (at most max bytes, default MAX_JSON), checking
-- its digest. @return the data
function M.read(d, max)
  local path = M.blob_path(d)
  local st = core.stat(path)
  if not st then errors.throw("not_found", "blob %s is not in the store", d) end
  if st.size > (max or M.MAX_JSON) then errors.throw("invalid", "blob %s is too large (%d bytes)", d, st.size) end
  local data, err = core.read_file(path)
  if not data then errors.throw("system", "cannot read blob %s: %s", d, err) end
  if "sha256:" .. http().sha256(data) ~= d then
    errors.throw("system", "blob %s in the store is corrupt (digest mismatch)", d)
  end
  return data
end

--- Remove the blobs of list (digests) that keep(d) does not claim.
function M.remove_unused(list, keep)
  for _, d in ipairs(list) do
    if M.hex(d) and not keep[d] then core.unlink(M.blob_path(d)) end
  end
end

-- ---- layers ---------------------------------------------------------------------

--- The directory of layer id (a hex digest or an older random id).
function M.layer_dir(id) return state.dir("layers", id) end

--- Whether layer id is unpacked in the store.
function M.has_layer(id) return core.exists(M.layer_dir(id)) == true end

-- Move the finished tree tmp to layers/<id>; when another process got
-- there first, its copy is kept and tmp removed.
local function commit_layer(tmp, id)
  local dst = M.layer_dir(id)
  local ok, err = core.rename(tmp, dst)
  if not ok and core.exists(dst) then
    core.remove_all(tmp)
    ok = true
  end
  if not ok then core.remove_all(tmp) end
  state.release_temp(tmp)
  if not ok then errors.throw("system", "cannot store layer %s: %s", id, err) end
  core.fsync(state.dir("layers"))
  return id
end

--- Unpack the layer archive at path (tar: plain, gzip, zstd, ...) as layer
-- id unless it is there already. oci: apply ".wh." whiteouts (registry
-- layers). diff_id ("sha256:<hex>", optional): the sha256 of the layer's
-- uncompressed tar must be this (the image config's rootfs.diff_ids entry).
-- Extraction refuses absolute paths, ".." and symlink traversal; a failure
-- leaves nothing. @return id, and whether it was unpacked now
function M.unpack_layer(path, id, oci, diff_id)
  if M.has_layer(id) then return id, false end
  local archive = require "ctr.archive"
  local tmp = state.mktemp("layer")
  local ok, err = core.chmod(tmp, MODE_755)
  if ok then ok, err = archive.extract(path, tmp, { oci = oci or false, diff_id = diff_id }) end
  if not ok then
    core.remove_all(tmp)
    state.release_temp(tmp)
    errors.throw("invalid", "cannot unpack layer %s: %s", id, err)
  end
  return commit_layer(tmp, id), true
end

--- The sha256 digest ("sha256:<hex>") and size of the file at path.
function M.digest_file(path)
  local hex, n = http().sha256_file(path)
  if not hex then errors.throw("system", "cannot read %s: %s", path, n) end
  return "sha256:" .. hex, n
end

return M
