-- ctr.core area idmap: uid_map, gid_map, setgroups.
local core = require "ctr.core"
local C = require "core_child"

local function read_file(p)
  local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s
end

local _ -- what multiple assignments throw away (not a global)

describe("core idmap", function()
  it("bad maps raise", function()
    assert.has_error(function() core.write_uid_map(0, 5) end)
    assert.has_error(function() core.write_uid_map(0, {}) end)
    assert.has_error(function() core.write_uid_map(0, { { 0, 1000 } }) end)
    assert.has_error(function() core.write_gid_map(0, { "0 1000 1" }) end)
    assert.has_error(function() core.write_gid_map(0, { { 0, -1, 1 } }) end)
    assert.has_error(function() core.setgroups_deny("self") end)
  end)

  it("a missing pid fails with ENOENT", function()
    local ok, msg, errno = core.write_uid_map(999999, "0 0 1")
    assert.is_nil(ok); assert.matches("/proc/999999/uid_map", msg)
    assert.are.equal(core.errno.ENOENT, errno)
    ok, _, errno = core.setgroups_deny(999999)
    assert.is_nil(ok); assert.are.equal(core.errno.ENOENT, errno)
  end)
end)

describe("core idmap #root", function()
  it("maps ids of a child in a new user namespace", function()
    local go_r, go_w = assert(core.pipe())
    local pid, errpipe = C.start(function()
      go_w:close()
      assert(core.read(go_r, 1) == "", "wait for the maps")
      -- our (outside) uid 0 maps to 0 inside; 100000.. to 1..
      assert(core.getuid() == 0 and core.getgid() == 0, "root inside")
      local um = read_file("/proc/self/uid_map")
      assert(um:match("^%s*0%s+0%s+1\n%s*1%s+100000%s+65536%s*$"), "uid_map: " .. um)
      local gm = read_file("/proc/self/gid_map")
      assert(gm:match("^%s*0%s+0%s+1\n%s*1%s+200000%s+10%s*$"), "gid_map: " .. gm)
      assert(read_file("/proc/self/setgroups") == "deny\n", "setgroups deny")
    end, "user")
    go_r:close()
    local ok, err = pcall(function()
      assert.is_true(core.write_uid_map(pid, "0 0 1\n1 100000 65536\n"))
      local again, _, errno = core.write_uid_map(pid, "0 0 1")
      assert.is_nil(again); assert.are.equal(core.errno.EPERM, errno)
      assert.is_true(core.setgroups_deny(pid))
      assert.is_true(core.write_gid_map(pid, { { 0, 0, 1 }, { 1, 200000, 10 } }))
    end)
    go_w:close()
    local how, code, msg = C.finish(pid, errpipe)
    assert(ok, err)
    C.assert_exit(0, how, code, msg)
  end)
end)
