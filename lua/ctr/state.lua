--- ctr.state: the state root and its files.
--
-- Layout under the root (default /var/lib/luac-ctr, or $LUAC_CTR_ROOT, or
-- the launcher's --root, or state.set_root):
--
--   containers/<id>/     one directory per container (state.json, ...)
--   images/<id>.json     image records (ctr.image)
--   layers/<id>/         image layers: read-only file trees shared by images
--   locks/<name>.lock    flock files (state.lock)
--   names/<name>         the name index: a symlink whose text is the id of
--                        the container of that name (ctr.container.store)
--   tmp/                 work in progress (renamed into place when complete)
--
-- Writers take the global lock (state.with_lock) around read-modify-write
-- sequences; files are replaced atomically (state.write_file, write_json).
-- These are the project's one lock (state.lock_path: a re-entrant flock,
-- released in forked children by after_fork) and one atomic write.
local core = require "ctr.core"
local json = require "ctr.json"
local util = require "ctr.util"
local errors = require "ctr.errors"

local M = {}

M.DEFAULT_ROOT = "/var/lib/luac-ctr"

local root_override = nil

--- The state root: set_root's value, else $LUAC_CTR_ROOT, else /var/lib/luac-ctr.
function M.root()
  local r = root_override or os.getenv("LUAC_CTR_ROOT")
  if (r == nil or r == "") and core.geteuid() ~= 0 then r = require("ctr.rootless").default_root() end
  if r == nil or r == "" then r = M.DEFAULT_ROOT end
  return r
end

--- Use dir as the state root for this process (nil: back to the default).
function M.set_root(dir)
  if dir ~= nil and type(dir) ~= "string" then errors.throw("invalid", "state.set_root: expected a string") end
  root_override = dir
end

--- A path under the root: state.dir("containers", id) -> "<root>/containers/<id>".
function M.dir(...)
  return util.join(M.root(), ...)
end

--- Create the root and its subdirectories (mode 0700) if missing.
-- Raises on failure. Returns the root.
function M.ensure()
  local root = M.root()
  errors.checkf("cannot create the state root", util.mkdir_p(root, 448)) -- 0700
  for _, sub in ipairs({ "containers", "images", "layers", "locks", "tmp" }) do
    local d = util.join(root, sub)
    local _, err2, e = core.mkdir(d, 448)
    if e and e ~= core.errno.EEXIST then errors.check(nil, "cannot create " .. d .. ": " .. err2, e) end
  end
  return root
end

-- locks held by this process: lock file path -> { fd = ctr.fd, count = n }
local held = {}
-- locks on the work-in-progress directories this process made (mktemp): dir -> lock
local temp_locks = {}

local Lock = {}
Lock.__index = Lock

--- Release the lock (idempotent). Nested locks of the same path in this
-- process are counted: the flock is released by the outermost unlock.
function Lock:unlock()
  if self.released then return true end
  self.released = true
  local h = held[self.path]
  if h == nil or h ~= self.entry then return true end -- dropped by after_fork
  h.count = h.count - 1
  if h.count == 0 then
    held[self.path] = nil
    h.fd:close()
  end
  return true
end
Lock.__close = Lock.unlock
Lock.__gc = Lock.unlock

-- $LUAC_CTR_LOCK_LOG: a file to which every wait for a lock held by
-- another process appends a line "<lock file> <ms waited>" (bench/matrix.sh
-- counts them); unset, a lock is taken in one flock(2).
local wait_log = os.getenv("LUAC_CTR_LOCK_LOG")
if wait_log == "" then wait_log = nil end

local function log_wait(path, t0)
  local fd = core.open(wait_log, "wronly,creat,append,nofollow,cloexec", 384)
  if not fd then return end
  core.write(fd, ("%s %.1f\n"):format(path, (core.clock("monotonic") - t0) * 1000))
  fd:close()
end

--- Take the exclusive flock of the file at path (created, mode 0600, when
-- missing), waiting for it. Re-entrant within a process: nested locks of
-- the same path are counted. opts.nonblock = true fails at once when
-- another process holds it. opts.shared = true takes a shared flock
-- instead (held by any number of processes at once, never with an
-- exclusive one); an exclusive lock asked for while this process holds the
-- path shared is busy (nonblock) or an error (it would never be granted).
-- @return a handle with :unlock() (also `local l <close> = state.lock_path(p)`)
-- and a field first (true when this call took the flock, false when the
-- process held it already), or nil, err, errno when opts.nonblock and the
-- lock is busy (or on errors).
function M.lock_path(path, opts)
  local nonblock = opts and opts.nonblock or false
  local shared = opts and opts.shared or false
  local h = held[path]
  if h then
    if h.shared and not shared then
      if nonblock then return nil, path .. ": held shared by this process", core.errno.EWOULDBLOCK end
      errors.throw("system", "%s: an exclusive lock asked for while this process holds it shared", path)
    end
    h.count = h.count + 1
    return setmetatable({ path = path, entry = h, first = false }, Lock)
  end
  local how = shared and "sh" or "ex"
  local fd, err, e = core.lock_file(path, how, { nonblock = nonblock or wait_log ~= nil })
  if not fd and not nonblock and e == core.errno.EWOULDBLOCK then
    local t0 = core.clock("monotonic")
    fd, err, e = core.lock_file(path, how, { nonblock = false })
    log_wait(path, t0)
  end
  if not fd then return nil, err, e end
  h = { fd = fd, count = 1, shared = shared }
  held[path] = h
  return setmetatable({ path = path, entry = h, first = true }, Lock)
end

--- Take the exclusive lock <root>/locks/<name>.lock (default "global"),
-- waiting for it: lock_path's lock, of a name (opts as lock_path's). Raises an invalid error for
-- a bad name.
-- @return the handle, or nil, err, errno when opts.nonblock and the lock
-- is busy (or on errors).
function M.lock(name, opts)
  name = name or "global"
  if not M.valid_name(name) then errors.throw("invalid", "state.lock: invalid lock name %s", tostring(name)) end
  local path = M.dir("locks", name .. ".lock")
  local l, err, e = M.lock_path(path, opts)
  if not l and e == core.errno.ENOENT then -- a new root: made on the first lock, not checked on every one
    M.ensure()
    l, err, e = M.lock_path(path, opts)
  end
  return l, err, e
end

--- In a child made by fork() that will not exec: close this process's
-- copies of the lock files held by the parent (a lock is released only when
-- every copy is closed, so a long-lived child would otherwise keep it) and
-- forget them: container locks (lock_path) and named ones (lock) alike.
-- The parent still holds its locks. (Lock fds are close-on-exec, so
-- children that exec need nothing.)
function M.after_fork()
  for path, h in pairs(held) do
    h.fd:close()
    held[path] = nil
  end
  for d in pairs(temp_locks) do temp_locks[d] = nil end -- their fds were in held
end

-- with_lock and with_shared_lock: fn(...) holding the global lock.
local function with_global(opts, fn, ...)
  local l, err, e = M.lock("global", opts)
  if not l then errors.check(nil, "cannot take the state lock: " .. tostring(err), e) end
  local res = table.pack(pcall(fn, ...))
  l:unlock()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- Run fn(...) holding the global lock; the lock is released on return and
-- on error (the error is re-raised). Returns fn's results.
function M.with_lock(fn, ...) return with_global(nil, fn, ...) end

--- Run fn(...) holding the global lock shared: with other shared holders
-- (creations and removals of containers, which never wait for one another)
-- but never with an exclusive one (with_lock). Returns fn's results.
function M.with_shared_lock(fn, ...) return with_global({ shared = true }, fn, ...) end

--- Read and decode a JSON file. Returns the table, or nil, err, errno
-- (errno set when the file could not be read, e.g. ENOENT).
function M.read_json(path)
  local s, err, e = core.read_file(path)
  if not s then return nil, err, e end
  local v, jerr = json.decode(s)
  if v == nil then return nil, path .. ": " .. tostring(jerr) end
  return v
end

-- Put the complete temp file tmp in path's place. An existing file is
-- swapped with it, then unlinked, rather than renamed over: ext4 starts
-- the writeback of a file renamed over another (auto_da_alloc, for the
-- durability write_quick does not promise), and the unlink of that file
-- (its container's removal) then waits for the disk.
local function put_in_place(tmp, path)
  local ok, err, e = core.rename(tmp, path, "exchange")
  if ok then
    core.unlink(tmp) -- the old content
    return true
  end
  if e == core.errno.ENOENT or e == core.errno.EINVAL or e == core.errno.ENOSYS then -- no old one; no exchange here
    return core.rename(tmp, path)
  end
  return nil, err, e
end

-- The fast replacement: a temp file put in place of path, without fsync.
local function write_quick(path, text, mode)
  local tmp = path .. ".tmp"
  local fd, err, e = core.open(tmp, "wronly,creat,trunc,nofollow,cloexec", mode)
  if fd then
    local n
    n, err, e = core.write(fd, text) -- all of it (short writes are retried)
    fd:close()
    if n then core.chmod(tmp, mode) end -- not subject to the umask
    if n then n, err, e = put_in_place(tmp, path) end
    if n then return end
    core.unlink(tmp)
  end
  errors.check(nil, ("cannot write %s: %s"):format(path, err), e)
end

--- Replace the file at path with text atomically (readers see the old or
-- the new content, never a part). opts: mode (default 0600), durable
-- (default true: fsync'd, as core.write_file_atomic; false: only renamed
-- into place, for files that do not outlive their container, such as an
-- --rm container's). Raises a system error; returns true.
function M.write_file(path, text, opts)
  local mode = opts and opts.mode or 384
  if opts and opts.durable == false then
    write_quick(path, text, mode)
  else
    errors.checkf("cannot write " .. path, core.write_file_atomic(path, text, mode))
  end
  return true
end

--- Write text to the new file path (mode default 0600), in place: for the
-- files of a directory nobody reads yet (a container's before its
-- state.json exists: a creation cut short is collected whole). Fails when
-- path exists. opts as write_file's: durable (default true) fsyncs it.
-- Raises a system error; returns true.
function M.write_new(path, text, opts)
  local mode = opts and opts.mode or 384
  local fd, err, e = core.open(path, "wronly,creat,excl,nofollow,cloexec", mode)
  if fd then
    local n
    n, err, e = core.write(fd, text) -- all of it (short writes are retried)
    if n and not (opts and opts.durable == false) then n, err, e = core.fsync(fd) end
    fd:close()
    if n then n, err, e = core.chmod(path, mode) end -- not subject to the umask
    if n then return true end
  end
  errors.check(nil, ("cannot write %s: %s"):format(path, err), e)
end

--- Write t as pretty JSON with sorted keys, atomically: write_file's
-- opts (a number: the mode, default 0600). Raises on failure; returns true.
function M.write_json(path, t, opts)
  if math.type(opts) == "integer" then opts = { mode = opts } end
  return M.write_file(path, json.encode(t, { indent = true }) .. "\n", opts)
end

--- A new random id: 64 lowercase hex characters.
function M.new_id()
  if core.random_hex then
    local h = core.random_hex(32)
    if h then return h end
  end
  local f = assert(io.open("/dev/urandom", "rb"))
  local b = f:read(32)
  f:close()
  return (b:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

--- true if s is a valid container/lock name: [a-zA-Z0-9][a-zA-Z0-9_.-]*
function M.valid_name(s)
  return type(s) == "string" and s:match("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$") ~= nil
end

-- Whether the lock l holds the file now at path (not one unlinked since).
local function same_file(l, path)
  local held_st = core.stat("/proc/self/fd/" .. l.entry.fd:fileno())
  local st = core.lstat(path)
  return held_st ~= nil and st ~= nil and held_st.ino == st.ino and held_st.dev == st.dev
end

--- A new empty directory <root>/tmp/<prefix>-<random> (mode 0700) for work in
-- progress; rename it into place when complete. Raises on failure. The
-- process holds the lock temp_lock_path(dir) until release_temp(dir) or its exit:
-- the garbage collector (ctr.gc) removes only directories nobody holds.
function M.mktemp(prefix)
  M.ensure()
  -- The lock first, the directory second: a command killed between the two
  -- leaves a lock file nobody holds (collected at once), never a directory
  -- without a lock (which the collector must leave alone for TMP_GRACE, as
  -- it cannot tell it from one being made).
  local chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  local lerr, e
  for _ = 1, 100 do
    local bytes = errors.check(core.getrandom(6))
    local name = (prefix or "tmp") .. "-" .. bytes:gsub(".", function(c)
      local i = c:byte() % #chars + 1
      return chars:sub(i, i)
    end)
    local d = M.dir("tmp", name)
    local l
    l, lerr, e = M.lock_path(M.temp_lock_path(d), { nonblock = true })
    if l and not same_file(l, M.temp_lock_path(d)) then
      -- the collector removed the lock file (no directory yet, no flock yet)
      -- between our open and our flock: ours is a lock on nothing
      l:unlock()
      l = nil
    end
    if l then
      local ok, merr, me = core.mkdir(d, 448) -- 0700, as mkdtemp's
      if ok then
        temp_locks[d] = l
        return d
      end
      core.unlink(M.temp_lock_path(d))
      l:unlock()
      if me ~= core.errno.EEXIST then errors.check(nil, merr, me) end
    end
  end
  errors.check(nil, "cannot make a temporary directory under " .. M.dir("tmp") .. ": " .. tostring(lerr), e)
end

--- The lock file held while the mktemp directory dir (<root>/tmp/<name>)
-- is in use: <root>/locks/tmp-<name>.lock.
function M.temp_lock_path(dir)
  return M.dir("locks", "tmp-" .. dir:match("[^/]+$") .. ".lock")
end

--- Release mktemp's lock on dir (once dir was moved into place or removed)
-- and delete the lock file. Idempotent.
function M.release_temp(dir)
  local l = temp_locks[dir]
  if not l then return end
  temp_locks[dir] = nil
  core.unlink(M.temp_lock_path(dir))
  l:unlock()
end

--- Run fn(dir) in a new mktemp(prefix) directory, removed (and released)
-- afterwards whether fn returned or raised; returns fn's result, or raises
-- its error (as an errors value).
function M.with_temp(prefix, fn)
  local dir = M.mktemp(prefix)
  local ok, res = pcall(fn, dir)
  core.remove_all(dir)
  M.release_temp(dir)
  if not ok then error(errors.from(res), 0) end
  return res
end

return M
