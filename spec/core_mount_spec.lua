-- ctr.core area mount: mount/umount2 with flags by name, pivot_root, chroot,
-- chdir, getcwd, mknod. Mount-changing work happens in forked children that
-- first unshare the mount namespace and make it private, so nothing leaks.
local core = require "ctr.core"
local C = require "core_child"

local function mounted(path)
  for line in io.lines("/proc/self/mountinfo") do
    local mp, opts = line:match("^%S+ %S+ %S+ %S+ (%S+) (%S+)")
    if mp == path then return true, opts end
  end
  return false
end

-- The optional fields of a mount point's mountinfo line ("shared:N master:M").
local function propagation(path)
  for line in io.lines("/proc/self/mountinfo") do
    local mp, rest = line:match("^%S+ %S+ %S+ %S+ (%S+) %S+ ?(.-) %- ")
    if mp == path then return rest end
  end
end

local function private_ns()
  assert(core.unshare("mnt"))
  assert(core.mount(nil, "/", nil, "rec,private"))
end

local function exists(p)
  local f = io.open(p); if f then f:close() return true end
  return false
end

local _ -- what multiple assignments throw away (not a global)

-- After each test: its directory unmounted (what a test left mounted on
-- it, up to three mounts stacked) and removed.
local function remove_dir(dir)
  if dir then
    for _ = 1, 3 do if mounted(dir) then core.umount2(dir, "detach") end end
  end
  C.rmdir(dir)
end

describe("core mount", function()
  local dir
  before_each(function() dir = C.tmpdir() end)
  after_each(function() remove_dir(dir) end)

  it("getcwd and chdir", function()
    local p = io.popen("pwd"); local pwd = p:read("l"); p:close()
    assert.are.equal(pwd, core.getcwd())
    local how, code, msg = C.run(function()
      assert(core.chdir(dir))
      assert(core.getcwd() == dir, "getcwd after chdir")
      assert(core.chdir("/"))
      local fd = assert(core.open(dir, "rdonly,directory"))
      assert(core.chdir(fd))
      assert(core.getcwd() == dir, "getcwd after fchdir")
    end)
    C.assert_exit(0, how, code, msg)
    local ok, m, errno = core.chdir(dir .. "/missing")
    assert.is_nil(ok); assert.matches("No such file", m)
    assert.are.equal(core.errno.ENOENT, errno)
    assert.has_error(function() core.chdir({}) end)
    assert.has_error(function() core.chdir(true) end)
  end)

  it("mknod makes fifos and files; bad types raise", function()
    assert.is_true(core.mknod(dir .. "/fifo", "p", 420))
    assert.is_true(os.execute("test -p " .. dir .. "/fifo"))
    assert.is_true(core.mknod(dir .. "/file", "f"))
    assert.is_true(os.execute("test -f " .. dir .. "/file"))
    assert.is_true(core.mknod(dir .. "/fifo2", "fifo", 384))
    assert.is_true(os.execute("test -p " .. dir .. "/fifo2"))
    local ok, msg, errno = core.mknod(dir .. "/fifo", "p")
    assert.is_nil(ok); assert.matches("File exists", msg)
    assert.are.equal(core.errno.EEXIST, errno)
    ok, _, errno = core.mknod(dir .. "/missing/x", "p")
    assert.is_nil(ok); assert.are.equal(core.errno.ENOENT, errno)
    assert.has_error(function() core.mknod(dir .. "/x", "socket") end)
    assert.has_error(function() core.mknod(dir .. "/x", "p", 0x10000) end)
    assert.has_error(function() core.mknod(dir .. "/x", "c", 420, -1, 0) end)
  end)

  it("failures return nil, message, errno and bad flags raise", function()
    local ok, msg, errno = core.mount("tmpfs", dir .. "/missing", "tmpfs")
    assert.is_nil(ok); assert.matches("missing", msg)
    assert.are.equal(core.errno.ENOENT, errno)
    ok, msg, errno = core.umount2(dir)
    assert.is_nil(ok); assert.matches("umount", msg)
    assert.are.equal(core.errno.EINVAL, errno)
    ok, _, errno = core.umount(dir, "nofollow") -- alias of umount2
    assert.is_nil(ok); assert.are.equal(core.errno.EINVAL, errno)
    ok, _, errno = core.chroot(dir .. "/missing")
    assert.is_nil(ok); assert.are.equal(core.errno.ENOENT, errno)
    assert.has_error(function() core.mount("tmpfs", dir, "tmpfs", "nosuid,sideways") end)
    assert.has_error(function() core.mount("tmpfs", {}, "tmpfs") end)
    assert.has_error(function() core.umount2(dir, "gently") end)
    assert.has_error(function() core.pivot_root(dir) end)
  end)
end)

describe("core mount #root", function()
  local dir
  before_each(function() dir = C.tmpdir() end)
  after_each(function() remove_dir(dir) end)

  it("mounts a tmpfs with flags and data, remounts ro, unmounts", function()
    local how, code, msg = C.run(function()
      private_ns()
      assert(core.mount("tmpfs", dir, "tmpfs", "nosuid,nodev,noexec", "size=1m,mode=0755"))
      local m, opts = mounted(dir)
      assert(m, "mounted")
      assert(opts:match("nosuid") and opts:match("nodev") and opts:match("noexec"), opts)
      local f = assert(core.open(dir .. "/x", "wronly,creat"))
      f:write("data"); f:close()
      assert(core.mount(nil, dir, nil, "remount,ro,nosuid,nodev,noexec"))
      local bad, _, errno = core.open(dir .. "/y", "wronly,creat")
      assert(bad == nil and errno == core.errno.EROFS, "read-only after remount")
      local busy = assert(core.open(dir .. "/x"))
      local b2, _, e2 = core.umount2(dir)
      assert(b2 == nil and e2 == core.errno.EBUSY, "busy while a file is open")
      busy:close()
      assert(core.umount2(dir))
      assert(not mounted(dir), "unmounted")
    end)
    C.assert_exit(0, how, code, msg)
    assert.are.same({}, (function() local t = {} if mounted(dir) then t[1] = dir end return t end)())
  end)

  it("bind mounts apply ro and propagation in one call", function()
    local how, code, msg = C.run(function()
      private_ns()
      os.execute("mkdir " .. dir .. "/src " .. dir .. "/dst")
      local f = assert(core.open(dir .. "/src/file", "wronly,creat")); f:write("x"); f:close()
      assert(core.mount(dir .. "/src", dir .. "/dst", nil, "bind,rec,ro,nosuid,rprivate"))
      local m, opts = mounted(dir .. "/dst")
      assert(m, "bind mounted")
      assert(opts:match("^ro") and opts:match("nosuid"), "ro,nosuid applied: " .. opts)
      assert(exists(dir .. "/dst/file"), "file visible through the bind")
      local bad, _, errno = core.open(dir .. "/dst/new", "wronly,creat")
      assert(bad == nil and errno == core.errno.EROFS, "ro bind")
      -- propagation only (a source like "none" is ignored)
      assert(core.mount("none", dir .. "/dst", nil, "shared"))
      assert(propagation(dir .. "/dst"):match("shared:"), "shared")
      assert(core.mount(nil, dir .. "/dst", nil, "private"))
      assert(propagation(dir .. "/dst") == "", "private")
      assert(core.mount(nil, dir .. "/dst", nil, {"rec", "slave"}))
      assert(core.umount2(dir .. "/dst", "detach"))
      assert(not mounted(dir .. "/dst"), "detached")
    end)
    C.assert_exit(0, how, code, msg)
  end)

  it("mknod makes a char device", function()
    local how, code, msg = C.run(function()
      private_ns()
      assert(core.mount("tmpfs", dir, "tmpfs", "nosuid", "size=1m"))
      assert(core.mknod(dir .. "/null", "c", 438, 1, 3))
      local fd = assert(core.open(dir .. "/null", "wronly"))
      assert(core.write(fd, "discarded") == 9, "write to the new /dev/null")
      fd:close()
    end)
    C.assert_exit(0, how, code, msg)
  end)

  it("chroot changes the root directory", function()
    local f = assert(io.open(dir .. "/marker", "w")); f:write("in"); f:close()
    local how, code, msg = C.run(function()
      assert(core.chroot(dir))
      assert(core.chdir("/"))
      local h = assert(io.open("/marker"))
      assert(h:read("a") == "in", "marker content")
      h:close()
      assert(core.getcwd() == "/", "cwd is the new root")
    end)
    C.assert_exit(0, how, code, msg)
  end)

  it("pivot_root swaps the root and the old one detaches", function()
    local how, code, msg = C.run(function()
      private_ns()
      assert(core.mount("tmpfs", dir, "tmpfs", "nosuid,nodev", "size=1m"))
      local f = assert(core.open(dir .. "/marker", "wronly,creat")); f:write("new root"); f:close()
      local bad, _, errno = core.pivot_root(dir, dir .. "/missing")
      assert(bad == nil and errno == core.errno.ENOENT, "pivot_root to a missing put_old")
      assert(core.chdir(dir))
      assert(core.pivot_root(".", "."))
      assert(core.umount2(".", "detach"))
      assert(core.chdir("/"))
      local h = assert(io.open("/marker"))
      assert(h:read("a") == "new root", "marker in the new root")
      h:close()
      assert(io.open("/etc/passwd") == nil, "old root is gone")
    end)
    C.assert_exit(0, how, code, msg)
    assert.is_false(mounted(dir))
  end)
end)
