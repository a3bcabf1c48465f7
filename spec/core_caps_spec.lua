-- ctr.core area caps: capability sets, bounding set, caps_set, names,
-- no_new_privs, dumpable, keepcaps. Changes happen in forked children.
local core = require "ctr.core"
local C = require "core_child"

local function has(list, name)
  for _, v in ipairs(list) do if v == name then return true end end
  return false
end

describe("core caps", function()
  it("names and numbers", function()
    assert.are.equal(21, core.cap_from_name("CAP_SYS_ADMIN"))
    assert.are.equal(21, core.cap_from_name("cap_sys_admin"))
    assert.are.equal(21, core.cap_from_name("sys_admin"))
    assert.are.equal("cap_sys_admin", core.cap_name(21))
    assert.are.equal("cap_chown", core.cap_name(0))
    local list = core.cap_list()
    assert.are.equal("cap_chown", list[1])
    assert.is_true(has(list, "cap_net_admin"))
    assert.is_true(#list >= 38)
    local none, msg, errno = core.cap_from_name("cap_fly")
    assert.is_nil(none); assert.matches("cap_fly", msg)
    assert.are.equal(core.errno.EINVAL, errno)
    assert.has_error(function() core.cap_name(99) end)
    assert.has_error(function() core.cap_from_name({}) end)
  end)

  it("caps_get reads the five sets of a process", function()
    local me = assert(core.caps_get())
    for _, set in ipairs({ "effective", "permitted", "inheritable", "bounding", "ambient" }) do
      assert.is_table(me[set])
    end
    assert.is_true(#me.bounding > 0)
    local one = assert(core.caps_get(1))
    assert.is_table(one.bounding)
    local none, msg, errno = core.caps_get(999999)
    assert.is_nil(none); assert.matches("/proc/999999/status", msg)
    assert.are.equal(core.errno.ENOENT, errno)
    assert.has_error(function() core.caps_get("self") end)
  end)

  it("no_new_privs, dumpable and keepcaps", function()
    local how, code, msg = C.run(function()
      assert(core.set_no_new_privs())
      assert(core.get_no_new_privs() == true, "no_new_privs set")
      assert(core.set_dumpable(false))
      assert(core.get_dumpable() == false, "not dumpable")
      assert(core.set_dumpable(true))
      assert(core.get_dumpable() == true, "dumpable again")
      assert(core.set_keepcaps(true))
      assert(core.set_keepcaps(false))
    end)
    C.assert_exit(0, how, code, msg)
    assert.has_error(function() core.set_dumpable("no") end)
    assert.has_error(function() core.set_keepcaps(1) end)
  end)
end)

describe("core caps #root", function()
  it("cap_drop_bound removes from the bounding set", function()
    local how, code, msg = C.run(function()
      assert(has(core.caps_get().bounding, "cap_sys_admin"), "root has cap_sys_admin bounded")
      assert(core.cap_drop_bound({ "cap_sys_admin", "CAP_NET_RAW" }))
      local b = core.caps_get().bounding
      assert(not has(b, "cap_sys_admin") and not has(b, "cap_net_raw"), "dropped")
      assert(has(b, "cap_chown"), "others kept")
      -- without CAP_SETPCAP dropping fails
      assert(core.caps_set { effective = { "cap_chown" } })
      local bad, _, errno = core.cap_drop_bound("cap_chown")
      assert(bad == nil and errno == core.errno.EPERM, "drop without CAP_SETPCAP")
    end)
    C.assert_exit(0, how, code, msg)
    assert.has_error(function() core.cap_drop_bound("cap_fly") end)
    assert.has_error(function() core.cap_drop_bound(true) end)
  end)

  it("caps_set sets effective, permitted, inheritable and ambient", function()
    local how, code, msg = C.run(function()
      assert(core.caps_set { permitted = { "cap_chown", "cap_net_raw", "cap_setpcap" },
        effective = { "cap_chown" }, inheritable = { "cap_net_raw" } })
      local s = core.caps_get()
      assert(table.concat(s.effective, ",") == "cap_chown", "effective " .. table.concat(s.effective, ","))
      assert(table.concat(s.permitted, ",") == "cap_chown,cap_setpcap,cap_net_raw", "permitted")
      assert(table.concat(s.inheritable, ",") == "cap_net_raw", "inheritable")
      assert(core.caps_set { ambient = { "cap_net_raw" } })
      assert(table.concat(core.caps_get().ambient, ",") == "cap_net_raw", "ambient")
      -- a capability outside the permitted set cannot be raised
      local bad, _, errno = core.caps_set { effective = { "cap_sys_admin" } }
      assert(bad == nil and errno == core.errno.EPERM, "raise outside permitted")
      bad, _, errno = core.caps_set { ambient = { "cap_chown" } }
      assert(bad == nil and errno == core.errno.EPERM, "ambient not inheritable")
    end)
    C.assert_exit(0, how, code, msg)
    assert.has_error(function() core.caps_set("all") end)
    assert.has_error(function() core.caps_set { effective = { "cap_fly" } } end)
  end)
end)
