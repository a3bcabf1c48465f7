-- fs primitives of ctr.core: success and failure (with errno), lock files
-- across processes, atomic writes, remove_all never crossing a mount, du.
local core = require "ctr.core"
local U = require "spec_util"

local E = core.errno
local O700, O644, O600 = 448, 420, 384

-- run a Lua snippet in another lua5.4 process with the same module paths
local function lua_proc(code)
  local prelude = ("package.path=%q..package.path; package.cpath=%q..package.cpath; "):format(
    U.srcdir .. "/lua/?.lua;", U.srcdir .. "/" .. U.build .. "/?.so;")
  return U.sh("lua5.4 -e " .. U.q(prelude .. code))
end

-- run fn, then cleanup (even when fn fails), then re-raise fn's error
local function finally_do(fn, cleanup)
  local ok, err = pcall(fn)
  cleanup()
  if not ok then error(err, 0) end
end

local _ -- what multiple assignments throw away (not a global)

describe("ctr.core fs #root", function()
  local root

  before_each(function() root = U.tmproot() end)
  after_each(function()
    for _, m in ipairs(U.mounts_under(root)) do os.execute("umount -l " .. U.q(m)) end
    U.cleanup(root)
  end)

  it("mkdir, rmdir, rename, unlink, with errno on failure", function()
    local d = root .. "/d"
    assert.is_true(core.mkdir(d, O700))
    assert.are.equal("dir", core.stat(d).type)
    assert.are.equal(O700, core.stat(d).mode)
    local ok, err, e = core.mkdir(d)
    assert.is_nil(ok)
    assert.are.equal(E.EEXIST, e)
    assert.matches("mkdir .*/d: File exists", err)
    _, _, e = core.mkdir(root .. "/no/such/parent")
    assert.are.equal(E.ENOENT, e)

    assert.is_true(core.write_file_atomic(d .. "/f", "x"))
    _, _, e = core.rmdir(d)
    assert.are.equal(E.ENOTEMPTY, e)
    assert.is_true(core.rename(d .. "/f", root .. "/g"))
    assert.is_false(core.exists(d .. "/f"))
    assert.is_true(core.exists(root .. "/g"))
    _, _, e = core.rename(root .. "/missing", root .. "/x")
    assert.are.equal(E.ENOENT, e)
    assert.is_true(core.rmdir(d))
    assert.is_true(core.unlink(root .. "/g"))
    _, _, e = core.unlink(root .. "/g")
    assert.are.equal(E.ENOENT, e)
  end)

  it("stat and lstat describe files, links, devices and fifos", function()
    local f = root .. "/file"
    assert.is_true(core.write_file_atomic(f, "hello", O600))
    local st = core.stat(f)
    assert.are.equal("file", st.type)
    assert.are.equal(O600, st.mode)
    assert.are.equal(5, st.size)
    assert.are.equal(0, st.uid)
    assert.are.equal(1, st.nlink)
    assert.are.equal("integer", math.type(st.ino))
    assert.are.equal("integer", math.type(st.mtime_ns))
    assert.is_true(math.abs(st.mtime - os.time()) < 60)

    assert.is_true(core.symlink("file", root .. "/link"))
    assert.are.equal("link", core.lstat(root .. "/link").type)
    assert.are.equal("file", core.stat(root .. "/link").type)
    assert.are.equal("file", core.readlink(root .. "/link"))
    assert.are.equal(core.realpath(f), core.realpath(root .. "/link"))
    local _, _, e = core.readlink(f)
    assert.are.equal(E.EINVAL, e)
    _, _, e = core.symlink("x", root .. "/link")
    assert.are.equal(E.EEXIST, e)

    assert.is_true(core.mknod(root .. "/null", "chr", O644, 1, 3))
    st = core.lstat(root .. "/null")
    assert.are.equal("chr", st.type)
    assert.are.same({ 1, 3 }, { st.rdev_major, st.rdev_minor })
    assert.is_true(core.mknod(root .. "/fifo", "fifo", O600))
    assert.are.equal("fifo", core.lstat(root .. "/fifo").type)

    assert.is_true(core.link(f, root .. "/hard"))
    assert.are.equal(2, core.stat(f).nlink)

    local r, err
    r, err, e = core.stat(root .. "/missing")
    assert.is_nil(r)
    assert.are.equal(E.ENOENT, e)
    assert.matches("missing", err)
    assert.is_true(core.exists(root .. "/link"))
    assert.is_true(core.symlink("nowhere", root .. "/dangling"))
    assert.is_true(core.exists(root .. "/dangling"))
    assert.is_false(core.exists(root .. "/missing"))
  end)

  it("chmod, chown, lchown, access", function()
    local f = root .. "/f"
    assert.is_true(core.write_file_atomic(f, ""))
    assert.is_true(core.chmod(f, 2541)) -- 04755
    assert.are.equal(2541, core.stat(f).mode)
    assert.is_true(core.chown(f, 1000, 1001))
    assert.are.same({ 1000, 1001 }, { core.stat(f).uid, core.stat(f).gid })
    assert.is_true(core.symlink("f", root .. "/l"))
    assert.is_true(core.lchown(root .. "/l", 1234, 1234))
    assert.are.equal(1234, core.lstat(root .. "/l").uid)
    assert.are.equal(1000, core.stat(root .. "/l").uid)
    local _, _, e = core.chmod(root .. "/missing", O644)
    assert.are.equal(E.ENOENT, e)
    assert.is_true(core.access(f, "r"))
    _, _, e = core.access(root .. "/missing")
    assert.are.equal(E.ENOENT, e)
    assert.has_error(function() core.chmod(f, "rw") end)
  end)

  it("readdir lists sorted names without . and ..", function()
    for _, n in ipairs({ "b", "a", "c" }) do core.mkdir(root .. "/" .. n) end
    assert.are.same({ "a", "b", "c" }, core.readdir(root))
    core.mkdir(root .. "/a/empty")
    assert.are.same({}, core.readdir(root .. "/a/empty"))
    local r, _, e = core.readdir(root .. "/zzz")
    assert.is_nil(r)
    assert.are.equal(E.ENOENT, e)
  end)

  it("write_file_atomic replaces files and leaves no temp files", function()
    local f = root .. "/data.json"
    assert.is_true(core.write_file_atomic(f, "one", O600))
    assert.is_true(core.write_file_atomic(f, "two\0binary", O644))
    assert.are.equal("two\0binary", core.read_file(f))
    assert.are.equal(O644, core.stat(f).mode)
    assert.are.same({ "data.json" }, core.readdir(root))
    local ok, err, e = core.write_file_atomic(root .. "/nodir/x", "y")
    assert.is_nil(ok)
    assert.are.equal(E.ENOENT, e)
    assert.matches("nodir", err)
    -- a failing rename (target is a non-empty directory) removes the temp file
    core.mkdir(root .. "/dir")
    core.write_file_atomic(root .. "/dir/inside", "")
    ok, _, e = core.write_file_atomic(root .. "/dir", "y")
    assert.is_nil(ok)
    assert.are.equal(E.EISDIR, e)
    assert.are.same({ "data.json", "dir" }, core.readdir(root))
    assert.is_true(core.fsync(f))
    local fd = core.lock_file(root .. "/lk")
    assert.is_true(core.fsync(fd))
    fd:close()
    local r
    r, _, e = core.read_file(root .. "/missing")
    assert.is_nil(r)
    assert.are.equal(E.ENOENT, e)
  end)

  it("lock_file excludes another process until closed", function()
    local path = root .. "/x.lock"
    local fd = assert(core.lock_file(path, "ex"))
    local try = ("local c=require'ctr.core'; local f,err,e=c.lock_file(%q,'ex',{nonblock=true}); " ..
      "print(f and 'locked' or ('busy '..e))"):format(path)
    local out, err, code = lua_proc(try)
    assert.are.equal(0, code, err)
    assert.are.equal("busy " .. E.EWOULDBLOCK .. "\n", out)
    -- a shared lock is refused too while the exclusive one is held
    out = lua_proc(try:gsub("'ex'", "'sh'"))
    assert.are.equal("busy " .. E.EWOULDBLOCK .. "\n", out)
    assert.is_true(fd:close())
    out = lua_proc(try)
    assert.are.equal("locked\n", out)
    -- and in-process: a second open file description conflicts as well
    local a = assert(core.lock_file(path, "ex"))
    local b, _, e = core.lock_file(path, "ex", { nonblock = true })
    assert.is_nil(b)
    assert.are.equal(E.EWOULDBLOCK, e)
    a:close()
    local _, _, e2 = core.lock_file(root .. "/no/dir.lock")
    assert.are.equal(E.ENOENT, e2)
  end)

  it("remove_all removes trees without following symlinks", function()
    local outside = root .. "/outside"
    core.mkdir(outside)
    core.write_file_atomic(outside .. "/keep", "keep")
    local t = root .. "/tree"
    assert.is_true(core.mkdir(t))
    core.mkdir(t .. "/a")
    core.mkdir(t .. "/a/b")
    core.write_file_atomic(t .. "/a/b/f", "x")
    core.symlink(outside, t .. "/a/link")
    core.mknod(t .. "/a/wh", "chr", 0, 0, 0)
    core.chmod(t .. "/a/b", 0) -- unreadable dirs are fine for root
    assert.is_true(core.remove_all(t))
    assert.is_false(core.exists(t))
    assert.are.equal("keep", core.read_file(outside .. "/keep"))
    assert.is_true(core.remove_all(root .. "/never-existed"))
    core.write_file_atomic(root .. "/single", "")
    assert.is_true(core.remove_all(root .. "/single"))
    assert.is_false(core.exists(root .. "/single"))
  end)

  it("remove_all refuses to cross a mount point and removes nothing", function()
    local t = root .. "/state"
    core.mkdir(t)
    core.mkdir(t .. "/c1")
    core.write_file_atomic(t .. "/c1/config.json", "{}")
    core.mkdir(t .. "/c1/merged")
    core.write_file_atomic(t .. "/before", "")
    local m = t .. "/c1/merged"
    local _, err, code = U.sh("mount -t tmpfs spec-tmpfs " .. U.q(m))
    assert.are.equal(0, code, err)
    finally_do(function()
      core.write_file_atomic(m .. "/precious", "data")
      local r, msg, e = core.remove_all(t)
      assert.is_nil(r)
      assert.are.equal(E.EBUSY, e)
      assert.matches(m:gsub("%p", "%%%0") .. " is a mount point", msg)
      assert.are.equal("data", core.read_file(m .. "/precious"))
      assert.is_true(core.exists(t .. "/before"))
      assert.is_true(core.exists(t .. "/c1/config.json"))
      -- the mount point itself is refused as well
      r, _, e = core.remove_all(m)
      assert.is_nil(r)
      assert.are.equal(E.EBUSY, e)
      assert.are.equal("data", core.read_file(m .. "/precious"))
    end, function() os.execute("umount " .. U.q(m)) end)
    assert.is_true(core.remove_all(t))
    assert.is_false(core.exists(t))
  end)

  it("du counts blocks, hard links once, and skips other mounts", function()
    local t = root .. "/du"
    core.mkdir(t)
    core.write_file_atomic(t .. "/big", ("x"):rep(100000))
    local bytes, apparent = core.du(t)
    assert.is_true(bytes >= 100000, tostring(bytes))
    assert.are.equal(100000, apparent)
    core.link(t .. "/big", t .. "/big2")
    local b2, a2 = core.du(t)
    assert.are.equal(bytes, b2)
    assert.are.equal(apparent, a2)
    core.mkdir(t .. "/m")
    local _, err, code = U.sh("mount -t tmpfs spec-tmpfs " .. U.q(t .. "/m"))
    assert.are.equal(0, code, err)
    finally_do(function()
      core.write_file_atomic(t .. "/m/more", ("y"):rep(50000))
      local _, a3 = core.du(t)
      assert.are.equal(100000, a3)
    end, function() os.execute("umount " .. U.q(t .. "/m")) end)
    local r, _, e = core.du(root .. "/missing")
    assert.is_nil(r)
    assert.are.equal(E.ENOENT, e)
  end)

  it("gets, sets, lists and removes extended attributes", function()
    local d = root .. "/d"
    core.mkdir(d)
    assert.is_true(core.setxattr(d, "trusted.overlay.opaque", "y"))
    assert.is_true(core.setxattr(d, "user.bin", "a\0b"))
    assert.are.equal("y", core.getxattr(d, "trusted.overlay.opaque"))
    assert.are.equal("a\0b", core.getxattr(d, "user.bin"))
    assert.are.same({ "trusted.overlay.opaque", "user.bin" }, core.listxattr(d))
    local ok, err, e = core.setxattr(d, "user.bin", "x", "create")
    assert.is_nil(ok)
    assert.are.equal(E.EEXIST, e)
    assert.matches("user.bin", err)
    assert.is_true(core.removexattr(d, "user.bin"))
    local v
    v, err, e = core.getxattr(d, "user.bin")
    assert.is_nil(v)
    assert.is_number(e)
    assert.are.same({ "trusted.overlay.opaque" }, core.listxattr(d))
    v, _, e = core.listxattr(root .. "/missing")
    assert.is_nil(v)
    assert.are.equal(E.ENOENT, e)
    assert.has_error(function() core.setxattr(d, "user.x", "v", "sometimes") end)
  end)

  it("mkdtemp makes unique private directories", function()
    local a = assert(core.mkdtemp(root .. "/t-XXXXXX"))
    local b = assert(core.mkdtemp(root .. "/t-XXXXXX"))
    assert.are_not.equal(a, b)
    assert.are.equal(O700, core.stat(a).mode)
    local r, _, e = core.mkdtemp(root .. "/bad")
    assert.is_nil(r)
    assert.are.equal(E.EINVAL, e)
  end)
end)
