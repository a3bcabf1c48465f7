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
local freezer = require "ctr.freezer"

local M = {}

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

-- ---- reading a container's files from inside them -----------------------

local function must(ok, err, ...)
  if not ok then error(err, 0) end
  return ok, err, ...
end

local read_all = require("ctr.util").read_all

-- The helper (a fork): in a private mount namespace, mount_fn(mnt) mounts
-- the container's files (and nothing else) at mnt, the helper pivots into
-- them and unmounts the host's tree, then writes them as a tar archive to
-- out (an fd opened before). Every path it opens, symlinks included, can
-- only resolve to the container's own files; nodev keeps it from reading a
-- device node the container made. close: fds the helper must not keep.
-- cwd: the directory archived (a path inside those files; default "/").
-- Raises on failure.
local function helper(mnt, mount_fn, out, opts, close, cwd, bpf)
  local archive = require "ctr.archive" -- loaded before the host's tree goes away
  for _, fd in ipairs(close) do fd:close() end
  require("ctr.container.helper").seal_require() -- no module from the container's files
  must(core.unshare("mnt"))
  must(core.mount(nil, "/", nil, "rprivate"))
  mount_fn(mnt)
  must(core.chdir(mnt))
  must(core.pivot_root(".", "."))
  must(core.umount2(".", "detach"))
  must(core.seccomp_load(bpf)) -- nothing of the container's can be run or loaded (libraries, gconv)
  must(core.chdir(cwd or "/"))
  must(archive.create(".", out, opts))
end

-- Start the helper: returns { pid =, err = the read end of its error pipe,
-- mnt = its (host) mount point directory } for finish_helper.
local function start_helper(mount_fn, out, opts, close, cwd)
  require "ctr.archive"
  local bpf = require("ctr.container.helper").noexec_filter()
  local mnt = state.mktemp("mnt")
  local er, ew = core.pipe()
  io.stdout:flush()
  local pid, ferr = core.fork()
  if not pid then
    er:close(); ew:close(); core.rmdir(mnt); state.release_temp(mnt)
    errors.raise(1, "cannot start the archive helper: fork: %s", ferr)
  end
  if pid == 0 then
    close[#close + 1] = er
    local ok, err = pcall(helper, mnt, mount_fn, out, opts, close, cwd, bpf)
    if not ok then core.write(ew, errors.message(err)) end
    core._exit(ok and 0 or 1)
  end
  ew:close()
  return { pid = pid, err = er, mnt = mnt }
end

-- Wait for the helper; raises "cannot <what>: <its error>" when it failed.
local function finish_helper(h, what, extra)
  local msg = read_all(h.err)
  h.err:close()
  local _, how, code = core.waitpid(h.pid)
  core.rmdir(h.mnt)
  state.release_temp(h.mnt)
  if how ~= "exited" or code ~= 0 or extra then
    if msg == "" then
      msg = extra or (how == "exited" and ("the archive helper exited with " .. tostring(code))
        or ("the archive helper was killed by signal " .. tostring(code)))
    end
    errors.raise(1, "cannot %s: %s", what, msg)
  end
end

--- Copy a container's upper dir (a host path) into dst (an existing empty
-- dir), keeping owners, modes, times, hard links, symlinks, device nodes
-- (overlayfs whiteouts) and xattrs (trusted.overlay.opaque). The upper dir
-- is read by a helper pivoted into a read-only, nodev bind mount of it (so
-- no symlink or rename the container makes can lead it out) and streamed
-- as a tar through a pipe into dst. Raises on failure.
function M.copy_upper(upper, dst)
  local archive = require "ctr.archive"
  local r, w = core.pipe()
  local ok, h = pcall(start_helper, function(mnt)
    must(core.mount(upper, mnt, nil, "bind,ro,nodev,nosuid,noexec"))
  end, w, { whiteouts = true }, { r })
  w:close()
  if not ok then r:close(); error(h, 0) end
  local xok, xerr = archive.extract(r, dst)
  r:close() -- a helper still writing gets EPIPE
  finish_helper(h, "copy the container's files", not xok and xerr or nil)
  return true
end

--- Copy the directory path (absolute, in the image) of the image layers
-- lowers (host directories, top first) into dst (a new, empty volume
-- directory), keeping owners, modes, times, links and xattrs: what docker
-- copies into a new volume. A helper mounts the layers read-only and nodev
-- in its private mount namespace, pivots into them and archives path from
-- there (its symlinks resolve inside the image, never on the host),
-- streamed as a tar through a pipe into dst. Raises on failure.
function M.copy_from_layers(lowers, path, dst)
  local archive = require "ctr.archive"
  local r, w = core.pipe()
  local ok, h = pcall(start_helper, function(mnt)
    if #lowers == 1 then
      must(core.mount(lowers[1], mnt, nil, "bind,ro,nodev,nosuid,noexec"))
    else
      must(core.mount("overlay", mnt, "overlay", "ro,nodev,nosuid,noexec", "lowerdir=" .. table.concat(lowers, ":")))
    end
  end, w, nil, { r }, path)
  w:close()
  if not ok then r:close(); error(h, 0) end
  local xok, xerr = archive.extract(r, dst)
  r:close()
  finish_helper(h, "copy the image's " .. path .. " into the volume", not xok and xerr or nil)
  return true
end

-- ---- the freezer ------------------------------------------------------------

--- Seconds a freeze may take before it is an error.
M.FREEZE_TIMEOUT = 5

-- The freezer of the container's cgroup: v1 freezer.state if the container
-- has one, else cgroup v2 cgroup.freeze. Raises when there is none.
local function freezer_of(c)
  local g, err = require("ctr.cgroup").open(c.state.cgroup or ("luac-ctr/" .. c.id))
  if not g then errors.raise(1, "cannot freeze container %s: %s", c.state.name, err) end
  local fz, ferr = freezer.of(g)
  if not fz then errors.raise(1, "cannot freeze container %s: %s", c.state.name, ferr) end
  return fz
end

local write_file = freezer.write_file

-- Whether pid's cgroup on the freezer's hierarchy is cg or below it.
local function in_cgroup(pid, fz, cg)
  local text = core.read_file("/proc/" .. pid .. "/cgroup")
  if not text then return true end -- gone
  for line in text:gmatch("[^\n]+") do
    local ctl, p = line:match("^%d+:([^:]*):(.*)$")
    if p and (fz.v1 and ("," .. ctl .. ","):find(",freezer,", 1, true) or (not fz.v1 and ctl == "")) then
      return p == cg or p:sub(1, #cg + 1) == cg .. "/"
    end
  end
  return false
end

-- The pids of the container: those in its pid namespace, and those in any
-- of its cgroup directories.
local function container_pids(c, fz)
  local pids = {}
  local ns = c.state.pid and core.readlink("/proc/" .. c.state.pid .. "/ns/pid")
  if ns then
    for _, n in ipairs(core.readdir("/proc") or {}) do
      if n:match("^%d+$") and core.readlink("/proc/" .. n .. "/ns/pid") == ns then pids[n] = true end
    end
  end
  for _, d in ipairs(fz.g:dirs()) do
    for n in (core.read_file(d .. "/cgroup.procs") or ""):gmatch("%d+") do pids[n] = true end
  end
  return pids
end

-- nil when the freeze took: the freezer says frozen and every process of
-- the container is in the frozen cgroup; else why not.
local function not_frozen(c, fz)
  if not freezer.frozen(fz) then
    local s = core.read_file(fz.check) or ""
    return "the freezer did not report frozen (" .. (s:gsub("%s+$", "")) .. ")"
  end
  local cg = "/" .. fz.g.path
  for pid in pairs(container_pids(c, fz)) do
    if not in_cgroup(pid, fz, cg) then
      return "process " .. pid .. " of the container is outside its freezer cgroup"
    end
  end
  return nil
end

--- Freeze a running container's processes (cgroup v1 freezer.state, else
-- v2 cgroup.freeze) so that its files are read in one consistent state.
-- Returns a
-- function that thaws them (and raises if it cannot), or nil when the
-- container is not running. A freeze that does not take within
-- M.FREEZE_TIMEOUT seconds (or leaves a process of the container outside
-- the frozen cgroup) is thawed again and raised as an error.
function M.freeze(c)
  if c:status() ~= "running" then return nil end
  local fz = freezer_of(c)
  local function thaw()
    local ok, err = write_file(fz.file, fz.off)
    if not ok then errors.raise(1, "cannot thaw container %s: %s", c.state.name, err) end
  end
  local ok, err = write_file(fz.file, fz.on)
  if not ok then
    pcall(thaw)
    errors.raise(1, "cannot freeze container %s: %s", c.state.name, err)
  end
  local deadline = core.clock("monotonic") + M.FREEZE_TIMEOUT
  local why = not_frozen(c, fz)
  while why and core.clock("monotonic") < deadline do
    core.sleep(0.01)
    why = not_frozen(c, fz)
  end
  if why then
    pcall(thaw)
    errors.raise(1, "cannot freeze container %s: %s", c.state.name, why)
  end
  return thaw
end

-- fn() with INT, TERM, HUP and QUIT held (blocked): an interrupted commit
-- or export still thaws the container and removes what it made, then dies.
local function signals_held(fn)
  local old = assert(core.sigmask("block", { "INT", "TERM", "HUP", "QUIT" }))
  local res = table.pack(pcall(fn))
  core.sigmask("setmask", old)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- fn() with c frozen when pause (and running); thawed on every exit.
local function frozen(c, pause, fn)
  -- rootless: no cgroup of its own to freeze (README "Running without root")
  if require("ctr.rootless").in_userns() then pause = false end
  local thaw = pause and not c:paused() and M.freeze(c) or nil -- a paused container stays paused
  local ok, res = pcall(fn)
  if thaw then
    local tok, terr = pcall(thaw)
    if ok and not tok then ok, res = false, terr end
  end
  if not ok then error(res, 0) end
  return res
end

-- The new image's config before --change: the image's, with the
-- container's Cmd, Entrypoint, Env, WorkingDir, User and ExposedPorts over it
-- (as docker's commit). A container made before these were recorded keeps
-- its whole command line as Cmd.
local function committed_config(c, icfg)
  local t = {}
  for k, v in pairs(icfg or {}) do t[k] = v end
  local cc = c.state.config
  if not cc then
    if c.state.command then t.Cmd, t.Entrypoint = c.state.command, nil end
    return t
  end
  for _, k in ipairs({ "Env", "WorkingDir", "User", "ExposedPorts" }) do
    if cc[k] ~= nil then t[k] = cc[k] end
  end
  t.Cmd, t.Entrypoint = cc.Cmd, cc.Entrypoint
  return t
end

--- Make a new image from the container's changes (docker commit): a new
-- layer (a copy of its upper dir) on top of its image's layers, config =
-- the image's with the container's over it (committed_config), then
-- opts.change applied ("ENV A=1", "CMD [\"sh\"]",
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
  local okc, config = pcall(image.apply_changes, committed_config(c, parent.config), opts.change)
  if not okc then
    errors.rethrow_interrupt(config)
    errors.raise(125, errors.message(config))
  end
  local ov = overlay_of(c)
  return signals_held(function()
    local tmp = state.mktemp("commit")
    local ok, res = pcall(function()
      frozen(c, opts.pause ~= false, function() M.copy_upper(ov.upperdir, tmp) end)
      if c.state.userns then require("ctr.userns").unshift_tree(tmp, c.state.userns) end -- its ids
      core.chmod(tmp, 493) -- a layer root: 0755 like the upper dir
      return image.add_layer_image {
        parent = parent, layer_dir = tmp, ref = ref, config = config,
        comment = opts.message or opts.comment,
        created_by = type(c.state.command) == "table" and table.concat(c.state.command, " ") or nil,
      }
    end)
    if not ok then
      core.remove_all(tmp)
      state.release_temp(tmp)
      error(res, 0)
    end
    require("ctr.eventlog").container(c, "commit", { comment = opts.message or opts.comment or "" })
    return res
  end)
end

-- The file export writes to: fd 1 for "-", else path opened (created)
-- here, on the host, before the helper enters the container's files.
local function open_output(path)
  if path == "-" then return 1, nil end
  local existed = core.lstat(path) ~= nil
  local fd, err = core.open(path, "wronly,creat,trunc,cloexec", 420)
  if not fd then errors.raise(1, "cannot export: %s", err) end
  return fd, not existed and path or nil
end

--- Write the container's merged filesystem as a tar archive at path (docker
-- export): a helper mounts the overlay (upper dir over the image layers)
-- read-only and nodev in its private mount namespace, pivots into it and
-- archives it from there, so no symlink or rename the container makes can
-- lead it to a host file, and no mount is ever left on the host. A running
-- container is frozen meanwhile. path "-" writes to standard output.
-- Raises on errors.
function M.export(c, path)
  local ov = overlay_of(c)
  return signals_held(function()
    local fd, created = open_output(path)
    local ok, err = pcall(frozen, c, true, function()
      local h = start_helper(function(mnt)
        -- upper dir on top of the image layers; no upper/work dirs: read-only
        must(core.mount("overlay", mnt, "overlay", "ro,nodev,nosuid,noexec",
          "lowerdir=" .. ov.upperdir .. ":" .. ov.lowerdir))
      end, fd, nil, {})
      finish_helper(h, "export " .. c.state.name)
    end)
    if fd ~= 1 then fd:close() end
    if not ok then
      if created then core.unlink(created) end
      error(err, 0)
    end
    return true
  end)
end

return M
