--- ctr.container.copy: docker cp, both directions: Container:copy_from
-- (the container's files to the host or to a tar stream) and
-- Container:copy_to (host files or a tar stream into the container).
--
-- Everything in the container's root is hostile, so no path of the
-- container is ever resolved on the host: a helper (a fork of this
-- process) enters the container's files first (a running container's own
-- mount namespace, through its pidfd, so that its volumes are seen as
-- docker cp sees them; a stopped container's overlay mounted in a private
-- mount namespace, read-only and nodev to read as export does), pivots or
-- is rooted there, and only then resolves the container path; every symlink it meets resolves inside the container. The helper
-- is confined by seccomp before it enters: no execve, no mmap or mprotect
-- with PROT_EXEC, so no library of the container can ever be loaded into
-- it (CVE-2019-14271). The tar stream between helper and host is made and
-- read by libarchive (ctr.archive.copy_out/copy_in): on the host no
-- absolute path, "..", path through a symlink, device node or setuid bit
-- from the container is accepted. A running container is frozen while its
-- files are read or written (CVE-2018-15664), thawed after on every path;
-- a paused one stays paused.
local core = require "ctr.core"
local errors = require "ctr.errors"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

--- docker's view of a cp path: { path = without trailing "/" or "/.",
-- dir, base, slash = it ended with "/" (or "/."), contents = it ended with
-- "/." (copy what is in the directory, not the directory) }. rel_root: the
-- directory a relative path is taken from (a container path: "/").
function M.split_path(p, rel_root)
  if rel_root and p:sub(1, 1) ~= "/" then p = rel_root .. p end
  local contents = p == "." or p:match("/%.$") ~= nil
  local slash = contents or p:match("/$") ~= nil
  local clean = p:gsub("/%.$", "/"):gsub("(.)/+$", "%1")
  local dir, base = clean:match("^(.*)/([^/]+)$")
  if not dir then dir, base = ".", clean elseif dir == "" then dir = "/" end
  if clean == "/" then dir, base, contents = "/", ".", true end
  return { path = clean, dir = dir, base = base, slash = slash, contents = contents }
end

--- Where a copy lands, by docker's rules: src_dir (the source is a
-- directory), s (split_path of the source), kind (the destination's type:
-- "dir", another type, or nil when it does not exist), d (split_path of the
-- destination). Returns the directory to extract into and the name the
-- source gets there ("": its contents go straight into it). Raises
-- docker's errors.
function M.target(src_dir, s, kind, d, where)
  if kind == "dir" then return d.path, (src_dir and s.contents) and "" or s.base end
  if kind then
    if src_dir then errors.raise(1, "cannot copy directory %s to file %s", s.path, where(d.path)) end
    if d.slash then errors.raise(1, "%s: not a directory", where(d.path)) end
    return d.dir, d.base
  end
  if d.slash and not src_dir then errors.raise(1, "%s: no such directory", where(d.path)) end
  return d.dir, d.base
end

local helper = require "ctr.container.helper"
local must, read_all, start, finish = helper.must, helper.read_all, helper.start, helper.finish

-- ---- freezing, ids ----------------------------------------------------------------

-- fn() with INT, TERM, HUP, QUIT held and the container frozen when it runs
-- (unless paused already: it stays as it is), thawed on every exit; a
-- stopped container's lock held instead, so that it cannot start meanwhile.
local function frozen(c, fn)
  local old = assert(core.sigmask("block", { "INT", "TERM", "HUP", "QUIT" }))
  local ok, res = pcall(function()
    if c:status() ~= "running" then
      local done, r = c:_locked(function()
        if c:status() == "running" then return false end
        return true, fn()
      end)
      if done then return r end
    end
    local thaw = not c:paused() and require("ctr.commit").freeze(c) or nil
    local fok, fres = pcall(fn)
    if thaw then
      local tok, terr = pcall(thaw)
      if fok and not tok then fok, fres = false, terr end
    end
    if not fok then error(fres, 0) end
    return fres
  end)
  core.sigmask("setmask", old)
  if not ok then error(res, 0) end
  return res
end

-- The host id of the container's root (0 without a user namespace).
local function id_base(c)
  local u = c.state.userns
  if not u then return 0 end
  local function base(map)
    for _, e in ipairs(map or {}) do if e.containerID == 0 then return e.hostID end end
    errors.raise(1, "container %s maps no host id to its root", c.state.name)
  end
  local b = base(u.uid)
  if base(u.gid) ~= b then errors.raise(1, "cp: container %s's uid and gid maps differ", c.state.name) end
  return b
end

local function running(c) return c:status() == "running" end

local function kind_of(st) return st and st.type or nil end

-- ---- the two directions ----------------------------------------------------------------

--- Copy src (a path in the container; "/." at its end: what is in that
-- directory) to dst on the host, or as a tar stream to standard output
-- when dst is "-" (docker cp CONTAINER:SRC DST). opts.archive (-a): keep
-- the owners (else they are the caller's); opts.follow_link (-L): follow
-- src when it is a symlink. Device nodes and setuid/setgid bits are not
-- written on the host. Returns true and the size of the tar stream copied
-- (nil for "-"); raises (code 1) with docker's messages.
function Container:copy_from(src, dst, opts)
  opts = require("ctr.check").api("Container:copy_from", opts)
  local archive = require "ctr.archive"
  local s = M.split_path(src, "/")
  local name = self.state.name
  local function where(p) return p end
  local stream = dst == "-"
  local d, kind, into
  if not stream then
    d = M.split_path(dst)
    kind = kind_of(core.stat(d.path))
    into = kind == "dir" and d.path or d.dir
    if not kind then
      local pst = core.stat(d.dir)
      if not pst then errors.raise(1, "stat %s: no such file or directory", d.dir) end
      if pst.type ~= "dir" then errors.raise(1, "%s: not a directory", d.dir) end
    end
  end
  local r, w = core.pipe()
  local bytes = frozen(self, function()
    local h = start(self, running(self) and "ns" or "ro", function()
      local st = (opts.follow_link or s.slash) and core.stat(s.path) or core.lstat(s.path)
      if not st then errors.raise(1, "Could not find the file %s in container %s", s.path, name) end
      if s.slash and st.type ~= "dir" then errors.raise(1, "%s: not a directory", s.path) end
      local n = s.contents and "" or s.base
      if not stream then n = select(2, M.target(st.type == "dir", s, kind, d, where)) end
      must(archive.copy_out(s.path, stream and 1 or w, { name = n ~= "" and n or nil, follow = opts.follow_link }))
    end, { r })
    w:close()
    local ok, err = true, nil
    if not stream then
      local uid, gid, shift = core.getuid(), core.getgid(), 0
      if opts.archive then uid, gid, shift = -1, -1, -id_base(self) end
      ok, err = archive.copy_in(r, into, { uid = uid, gid = gid, shift = shift, nodev = true, nosuid = true })
    end
    r:close()
    finish(h, not ok and err or nil)
    return ok and err or nil
  end)
  return true, bytes
end

-- The host source of copy_to: its split_path and its stat (raises docker's errors).
local function host_source(src, follow)
  local s = M.split_path(src)
  local st = (follow or s.slash) and core.stat(s.path) or core.lstat(s.path)
  if not st then errors.raise(1, "lstat %s: no such file or directory", s.path) end
  if s.slash and st.type ~= "dir" then errors.raise(1, "%s: not a directory", s.path) end
  return s, st
end

--- Copy src on the host (or a tar stream read from standard input when
-- src is "-") into the container at dst (docker cp SRC CONTAINER:DST).
-- The files belong to the container's root unless opts.archive (-a) keeps
-- their owners (shifted into a user namespace's range);
-- opts.follow_link (-L): follow src when it is a symlink. Returns true and
-- the size of the tar stream copied (nil for "-"); raises (code 1) with
-- docker's messages.
function Container:copy_to(src, dst, opts)
  opts = require("ctr.check").api("Container:copy_to", opts)
  local archive = require "ctr.archive"
  local name = self.state.name
  local d = M.split_path(dst, "/")
  local stream = src == "-"
  local s, st
  if not stream then s, st = host_source(src, opts.follow_link) end
  local base = id_base(self)
  local ids = opts.archive and { uid = -1, gid = -1, shift = base } or { uid = 0, gid = 0, shift = base }
  local function where(p) return name .. ":" .. p end
  local r, w = core.pipe()
  local rr, rw = core.pipe()
  local bytes = frozen(self, function()
    local h = start(self, running(self) and "ns" or "rw", function()
      local kind = kind_of(core.stat(d.path))
      local into, n
      if stream then
        if kind ~= "dir" then errors.raise(1, "%s: no such directory", where(d.path)) end
        into, n = d.path, ""
      else
        into, n = M.target(st.type == "dir", s, kind, d, where)
      end
      local ist = core.stat(into)
      if not ist or ist.type ~= "dir" then
        errors.raise(1, "Could not find the file %s in container %s", into, name)
      end
      must(core.write(rw, n .. "\n"))
      rw:close()
      must(archive.copy_in(stream and 0 or r, into, ids))
    end, { w, rr })
    r:close(); rw:close()
    local line = read_all(rr)
    rr:close()
    local ok, err = true, nil
    if line:sub(-1) == "\n" and not stream then
      local n = line:sub(1, -2)
      core.signal("PIPE", "ignore") -- a helper that failed: EPIPE here, its error below
      ok, err = archive.copy_out(s.path, w, { name = n ~= "" and n or nil, follow = opts.follow_link })
      core.signal("PIPE", "default")
    end
    w:close()
    finish(h, not ok and err or nil)
    return ok and err or nil
  end)
  return true, bytes
end

return M
