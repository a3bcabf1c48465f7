--- ctr.commit: images from containers (commit) and their filesystems as
-- tarballs (export).
--
--   local commit = require "ctr.commit"
--   local img = commit.commit(c, "web:v2", { change = { "ENV A=1" } })
--   commit.export(c, "/tmp/web.tar")
--
-- commit adds ONE layer on top of the container's image layers: a copy of
-- the container's overlay upper dir, whiteouts (char 0:0 devices) and
-- opaque directories (xattr trusted.overlay.opaque) included, so files the
-- container deleted stay deleted in the new image. export writes the merged
-- filesystem (image layers + upper dir) as a tar that `import` (and
-- `docker import`) accepts; the overlay is mounted read-only in a child's
-- private mount namespace, so no mount is ever left on the host.
local core = require "ctr.core"
local state = require "ctr.state"
local errors = require "ctr.errors"

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The container's image (its layers are the lower part of its filesystem).
local function parent_image(c)
  local image = require "ctr.image"
  local img = image.resolve(c.state.image_id)
  if not img then
    errors.raise(1, "the image of container %s (%s) no longer exists", c.state.name, c.state.image or "?")
  end
  return img
end

-- The overlay of the container as its config.json describes it.
local function overlay_of(c)
  local ov = c:config().root and c:config().root.overlay
  if not ov or not ov.upperdir or not ov.lowerdir then
    errors.raise(1, "container %s has no overlay root filesystem", c.state.name)
  end
  return ov
end

--- Copy a container upper dir into dst (an existing empty dir), keeping
-- owners, modes, times, hard links, device nodes (overlayfs whiteouts) and
-- xattrs (trusted.overlay.opaque). Raises on failure.
function M.copy_tree(src, dst)
  -- GNU cp -a keeps all of that (as root, trusted.* xattrs included)
  local ok = os.execute("cp -a --no-target-directory " .. q(src) .. " " .. q(dst) .. " 2>/dev/null")
  if not ok then
    -- again, to get the message
    local p = io.popen("cp -a --no-target-directory " .. q(src) .. " " .. q(dst) .. " 2>&1")
    local msg = p:read("a"); p:close()
    errors.raise(1, "cannot copy %s: %s", src, (msg:gsub("%s+$", "")))
  end
  return true
end

local function write(path, text)
  local f = io.open(path, "w")
  if not f then return false end
  local ok = f:write(text)
  return f:close() and ok ~= nil
end

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Freeze a running container's processes (v1 freezer, else cgroup v2
-- cgroup.freeze) so that its upper dir is copied in one consistent state.
-- Returns a function that thaws them (nil when it could not be frozen).
function M.freeze(c)
  if c:status() ~= "running" then return nil end
  local g = require("ctr.cgroup").open(c.state.cgroup or ("luac-ctr/" .. c.id))
  if not g then return nil end
  local file, frozen, thaw_text, check
  for _, d in ipairs(g:dirs()) do
    if core.exists(d .. "/freezer.state") then
      file, frozen, thaw_text, check = d .. "/freezer.state", "FROZEN", "THAWED", d .. "/freezer.state"
      break
    elseif core.exists(d .. "/cgroup.freeze") and not file then
      file, frozen, thaw_text, check = d .. "/cgroup.freeze", "1", "0", d .. "/cgroup.events"
    end
  end
  if not file then return nil end
  local function thaw() write(file, thaw_text) end
  if not write(file, frozen) then return nil end
  local deadline = core.clock("monotonic") + 2
  while core.clock("monotonic") < deadline do
    local s = read(check) or ""
    if s:match("^FROZEN") or s:match("frozen 1") then return thaw end
    core.sleep(0.01)
  end
  thaw()
  return nil
end

--- Make a new image from the container's changes (docker commit): a new
-- layer (a copy of its upper dir) on top of its image's layers, config =
-- the image's with opts.change applied ("ENV A=1", "CMD [\"sh\"]",
-- "WORKDIR /x", ...), comment = opts.message. ref "name[:tag]" (optional)
-- moves from any image that had it. Works on running and stopped
-- containers: a running one is frozen while its upper dir is copied
-- (unless opts.pause == false). Raises on errors (nothing is left
-- behind). @return the image table
function M.commit(c, ref, opts)
  opts = opts or {}
  local image = require "ctr.image"
  if ref ~= nil then
    local ok, err = image.parse_ref(ref)
    if not ok then errors.raise(125, err) end
  end
  local parent = parent_image(c)
  local okc, config = pcall(image.apply_changes, parent.config, opts.change)
  if not okc then errors.raise(125, errors.message(config)) end
  local ov = overlay_of(c)
  local tmp = state.mktemp("commit")
  local thaw = opts.pause ~= false and M.freeze(c) or nil
  local copied, cerr = pcall(M.copy_tree, ov.upperdir, tmp)
  if thaw then thaw() end
  local ok, res = pcall(function()
    if not copied then error(cerr, 0) end
    core.chmod(tmp, 493) -- a layer root: 0755 like the upper dir
    return image.add_layer_image {
      parent = parent, layer_dir = tmp, ref = ref, config = config,
      comment = opts.message or opts.comment,
    }
  end)
  if not ok then
    core.remove_all(tmp)
    error(res, 0)
  end
  return res
end

-- In a child with its own mount namespace: mount the merged tree read-only
-- at mnt and write the tar. Returns nil or an error message.
local function export_child(ov, mnt, path, w)
  local archive = require "ctr.archive"
  local function must(ok, err)
    if not ok then error(err, 0) end
  end
  local ok, err = pcall(function()
    must(core.unshare("mnt"))
    must(core.mount(nil, "/", nil, "rprivate"))
    -- upper dir on top of the image layers; no upper/work dirs: read-only
    must(core.mount("overlay", mnt, "overlay", "ro", "lowerdir=" .. ov.upperdir .. ":" .. ov.lowerdir))
    must(archive.create(mnt, path))
  end)
  if not ok then core.write(w, errors.message(err)) end
  w:close()
  core._exit(ok and 0 or 1)
end

--- Write the container's merged filesystem as a tar archive at path (docker
-- export): the overlay (upper dir over the image layers) is mounted
-- read-only in a child process's private mount namespace, so it vanishes
-- with the child. path "-" writes to standard output. Raises on errors.
function M.export(c, path)
  local ov = overlay_of(c)
  if path == "-" then path = "/dev/stdout" end
  local mnt = state.mktemp("export")
  local r, w = core.pipe()
  io.stdout:flush()
  local pid, ferr = core.fork()
  if not pid then
    r:close(); w:close(); core.rmdir(mnt)
    errors.raise(1, "export: fork: %s", ferr)
  end
  if pid == 0 then
    r:close()
    export_child(ov, mnt, path, w)
  end
  w:close()
  local chunks = {}
  while true do
    local s = core.read(r, 4096)
    if not s or s == "" then break end
    chunks[#chunks + 1] = s
  end
  r:close()
  local _, how, code = core.waitpid(pid)
  core.rmdir(mnt)
  if how ~= "exited" or code ~= 0 then
    local msg = table.concat(chunks)
    errors.raise(1, "cannot export %s: %s", c.state.name, msg ~= "" and msg or ("the exporter " .. tostring(how)))
  end
  return true
end

return M
