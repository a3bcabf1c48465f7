--- ctr.build.copy: COPY, ADD and WORKDIR's files, staged into a new
-- layer directory.
--
-- The work is done by a forked helper in a private mount namespace whose
-- root is a fresh tmpfs holding only three mounts: /ctx (the source: the
-- build context bind-mounted read-only, or the layers of a stage or image
-- for --from), /img (the target image's layers, read-only: to follow its
-- symlinks and keep the metadata of the directories above the destination)
-- and /out (the layer being made). The host's tree is gone from it, so no
-- path, symlink or rename in the context or the image can lead to a host
-- file; the resolution of ctr.build.context refuses, with a clear error,
-- a source that leads out of the context. The helper hashes what it copies
-- (paths, types, modes, sizes, contents, link targets): the cache key of
-- the step.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"
local context = require "ctr.build.context"

local M = {}

local function must(ok, err, ...)
  if not ok then error(err, 0) end
  return ok, err, ...
end

local read_all = require("ctr.util").read_all

-- Mount a tree of layer dirs (top first) read-only at dir.
local function mount_layers(layers, dir)
  if #layers == 1 then
    must(core.mount(layers[1], dir, nil, "bind,ro,nodev,nosuid"))
  elseif #layers > 1 then
    must(core.mount("overlay", dir, "overlay", "ro,nodev,nosuid", "lowerdir=" .. table.concat(layers, ":")))
  end
end

-- The helper's root: tmpfs with /ctx, /img, /out; then pivot into it.
local function enter(mnt, o)
  must(core.unshare("mnt"))
  must(core.mount(nil, "/", nil, "rprivate"))
  must(core.mount("tmpfs", mnt, "tmpfs", "nodev,nosuid", "mode=755"))
  for _, d in ipairs({ "ctx", "img", "out" }) do must(core.mkdir(mnt .. "/" .. d, 493)) end
  if o.context then
    must(core.mount(o.context, mnt .. "/ctx", nil, "bind,rec,ro,nodev,nosuid"))
  else
    mount_layers(o.from_layers or {}, mnt .. "/ctx")
  end
  mount_layers(o.layers or {}, mnt .. "/img")
  if o.staging then must(core.mount(o.staging, mnt .. "/out", nil, "bind,nodev,nosuid")) end
  must(core.chdir(mnt))
  must(core.pivot_root(".", "."))
  must(core.umount2(".", "detach"))
  must(core.chdir("/"))
end

--- Run fn(o) in the helper (see the header); returns its result (JSON-able).
-- o: { context = host dir | from_layers = {dirs, top first}, layers = the
-- target image's dirs (top first), staging = host dir (the new layer) }.
-- Raises the helper's error.
function M.in_helper(o, fn)
  require "ctr.http" -- loaded before the host's tree goes away
  if o.add and not o.dry then require "ctr.archive" end -- (libarchive only when an ADD may unpack)
  local mnt = state.mktemp("buildmnt")
  local r, w = core.pipe()
  io.stdout:flush()
  local pid, ferr = core.fork()
  if not pid then
    r:close(); w:close(); core.rmdir(mnt); state.release_temp(mnt)
    errors.throw("system", "cannot start the copy helper: fork: %s", ferr)
  end
  if pid == 0 then
    r:close()
    local ok, res = pcall(function() enter(mnt, o); return fn(o) end)
    local msg = ok and json.encode({ ok = true, res = res }) or json.encode({ err = errors.message(res) })
    core.write(w, msg)
    core._exit(ok and 0 or 1)
  end
  w:close()
  local rok, text = pcall(read_all, r)
  r:close()
  if not rok then core.kill(pid, "KILL") end -- interrupted: it must not write on into a layer dir removed next
  local wok, werr = pcall(core.waitpid, pid)
  while not wok and errors.is(werr, "interrupted") do wok = pcall(core.waitpid, pid) end
  core.rmdir(mnt)
  state.release_temp(mnt)
  if not rok then error(text, 0) end
  local v = json.decode(text)
  if type(v) ~= "table" then errors.throw("system", "the copy helper died without a report") end
  if not v.ok then errors.throw("invalid", "%s", v.err) end
  return v.res
end

-- ---- inside the helper --------------------------------------------------------

-- Make every directory of the resolved relative path r in /out that is
-- missing there: an image directory keeps its mode and owner, a new one
-- gets 0755 and own's ids.
local function make_dirs(r, own)
  if own and own.dry then return end
  local cur = ""
  for _, seg in ipairs(context.segments(r)) do
    cur = cur == "" and seg or cur .. "/" .. seg
    local out = "/out/" .. cur
    if not core.lstat(out) then
      local st = core.lstat("/img/" .. cur)
      must(core.mkdir(out, 493))
      if st and st.type == "dir" then
        must(core.chmod(out, st.mode)); must(core.lchown(out, st.uid, st.gid))
      else
        must(core.chmod(out, 493)); must(core.lchown(out, own and own.uid or 0, own and own.gid or 0))
      end
    end
  end
end

-- Make the directories of dest (segments) in /out, following the image's
-- symlinks in its own root (a dangling one too: its target is made, as
-- docker and buildah do): returns the resolved relative dest.
local function make_parents(segs, upto, own)
  local cur = ""
  for i = 1, upto do
    local cand = cur == "" and segs[i] or cur .. "/" .. segs[i]
    local r, st = context.resolve("/img", cand, true, false, true)
    if st and st.type ~= "dir" then errors.throw("invalid", "/%s is not a directory in the image", cand) end
    cur = r
    make_dirs(cur, own)
  end
  return cur
end

local function copy_file(src, dst, mode)
  local fin = must(core.open(src, "rdonly,cloexec,nofollow"))
  local fout, err = core.open(dst, "wronly,creat,trunc,cloexec,nofollow", 384)
  if not fout then fin:close(); error(err, 0) end
  while true do
    local s = core.read(fin, 65536)
    if not s or s == "" then break end
    must(core.write(fout, s))
  end
  fin:close(); fout:close()
  must(core.chmod(dst, mode))
end

-- copy one entry (already lstat'd as st) from /ctx/src to /out/dst
local function copy_entry(o, src, dst, st, sums)
  local mode = o.chmod or st.mode
  local uid, gid = o.uid or (o.context and 0 or st.uid), o.gid or (o.context and 0 or st.gid)
  if st.type ~= "dir" and st.type ~= "file" and st.type ~= "link" then
    return -- devices, fifos and sockets of the context are not copied
  end
  local extra = st.type == "file" and require("ctr.http").sha256_file(src) or
    (st.type == "link" and (core.readlink(src) or "") or "")
  sums[#sums + 1] = table.concat({ dst:sub(5), st.type, mode, st.type == "dir" and 0 or st.size, extra }, "\0")
  if o.dry then return end
  if st.type == "dir" then
    if not core.lstat(dst) then must(core.mkdir(dst, 493)) end
    must(core.chmod(dst, mode))
  elseif st.type == "file" then
    core.unlink(dst)
    copy_file(src, dst, mode)
  else
    core.unlink(dst)
    must(core.symlink(extra, dst))
  end
  must(core.lchown(dst, uid, gid))
  if st.type ~= "dir" then must(core.set_mtime(dst, st.mtime_ns)) end -- a directory's: once filled
end

-- copy the tree /ctx/src (a directory) into /out/dst (existing)
local function copy_tree(o, rel, src, dst, sums)
  local names = core.readdir(src) or {}
  table.sort(names)
  for _, n in ipairs(names) do
    local crel = rel == "" and n or rel .. "/" .. n
    local st = core.lstat(src .. "/" .. n)
    local skip = o.ignore and context.ignored(o.ignore, crel)
    if st and not (skip and (st.type ~= "dir" or not context.may_reinclude(o.ignore, crel))) then
      if not skip then
        if not o.dry then must(util.mkdir_p(dst, 493)) end -- under a walked excluded directory
        copy_entry(o, src .. "/" .. n, dst .. "/" .. n, st, sums)
      end
      if st.type == "dir" then
        copy_tree(o, crel, src .. "/" .. n, dst .. "/" .. n, sums)
        if not skip and not o.dry then must(core.set_mtime(dst .. "/" .. n, st.mtime_ns)) end
      end
    end
  end
end

local MAGIC = { "^\31\139", "^BZh", "^\2537zXZ\0", "^\40\181\47\253" }

-- whether the file at path is a tar archive (plain or compressed)
local function is_archive(path)
  local fd = core.open(path, "rdonly,cloexec,nofollow")
  if not fd then return false end
  local head = core.read(fd, 512) or ""
  fd:close()
  for _, m in ipairs(MAGIC) do
    if head:match(m) then return true end
  end
  return head:sub(258, 262) == "ustar"
end

-- The matches of one source: list of context-relative paths.
local function matches(o, s)
  local c, err = context.clean(s)
  if not c then errors.throw("invalid", "%s", err) end
  local list = context.has_glob(c) and context.glob("/ctx", c, not o.context) or { c }
  local out = {}
  for _, p in ipairs(list) do
    if not (o.ignore and p ~= "" and context.ignored(o.ignore, p)) then out[#out + 1] = p end
  end
  if #out == 0 then
    errors.throw("not_found", "%s %s: no such file or directory in the %s%s", o.what, s,
      o.context and "build context" or "source image", o.ignore and " (or excluded by .dockerignore)" or "")
  end
  return out
end

-- Stage one source path p into the resolved destination.
local function stage_one(o, p, dest, into_dir, sums)
  local r, st = context.resolve("/ctx", p, not o.context)
  if not r then
    errors.throw("not_found", "%s %s: no such file or directory in the %s", o.what, p,
      o.context and "build context" or "source image")
  end
  if st.type == "dir" then
    local d = "/out/" .. dest
    if o.dry or not core.lstat(d) then make_parents(context.segments(dest), #context.segments(dest), o) end
    copy_tree(o, r, r == "" and "/ctx" or "/ctx/" .. r, d, sums)
  elseif o.add and st.type == "file" and is_archive("/ctx/" .. r) then
    make_parents(context.segments(dest), #context.segments(dest), o)
    sums[#sums + 1] = "archive\0" .. dest .. "\0" .. require("ctr.http").sha256_file("/ctx/" .. r)
    if not o.dry then must(require("ctr.archive").extract("/ctx/" .. r, "/out/" .. dest)) end
  else
    local target = into_dir and (dest == "" and "" or dest .. "/") .. (p:match("[^/]+$") or p) or dest
    local segs = context.segments(target)
    local parent = make_parents(segs, #segs - 1, o)
    copy_entry(o, "/ctx/" .. r, "/out/" .. (parent == "" and "" or parent .. "/") .. segs[#segs], st, sums)
  end
end

-- The helper's body for COPY/ADD: o.sources, o.dest (absolute, in the
-- image), o.dest_dir (a trailing slash); returns { hash =, count = }.
local function stage_body(o)
  local sums, all = {}, {}
  for _, s in ipairs(o.sources) do
    for _, p in ipairs(matches(o, s)) do all[#all + 1] = p end
  end
  local segs = context.segments(o.dest)
  local dr, dst = context.resolve("/img", o.dest, true)
  local into_dir = o.dest_dir or #all > 1 or (dr and dst.type == "dir")
  if #all > 1 and not o.dest_dir then
    errors.throw("invalid", "%s: with more than one source the destination must end with /", o.what)
  end
  local dest = make_parents(segs, into_dir and #segs or #segs - 1, o)
  if not into_dir then dest = (dest == "" and "" or dest .. "/") .. segs[#segs] end
  for _, p in ipairs(all) do stage_one(o, p, dest, into_dir, sums) end
  table.sort(sums)
  return { hash = require("ctr.http").sha256(table.concat(sums, "\n")), count = #sums }
end

--- Stage a COPY/ADD into o.staging (an empty layer dir). o: { what =
-- "COPY"|"ADD", context = dir | from_layers = {dirs}, layers = the target
-- image's layer dirs (top first), ignore = compiled .dockerignore patterns
-- (context only), sources = {paths}, dest = "/abs/path", dest_dir = bool,
-- uid =, gid =, chmod = (numbers or nil), add = bool (unpack archives),
-- dry = true: only hash what would be copied (no staging dir needed) }.
-- Returns { hash = hex of what was (or would be) copied, count = entries }. Raises on a
-- missing source, an escape from the context, or a failure to copy.
function M.stage(o)
  return M.in_helper(o, stage_body)
end

--- WORKDIR: make the directory path (absolute) in o.staging when the image
-- (o.layers) lacks it. Returns true when it made it.
function M.workdir(o)
  return M.in_helper(o, function()
    if context.resolve("/img", o.dest, true) then return false end
    local segs = context.segments(o.dest)
    make_parents(segs, #segs, o)
    return true
  end)
end

return M
