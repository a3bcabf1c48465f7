-- ctr.core area pty: openpty, ptsname, raw mode save/restore, window size,
-- controlling terminal.
local core = require "ctr.core"
local C = require "core_child"

-- Read from fd until want bytes arrived (or 5 s passed).
local function read_n(fd, want)
  local got = ""
  local deadline = core.clock() + 5
  while #got < want and core.clock() < deadline do
    local ready = core.poll({ {fd, "in"} }, 100)
    if #ready > 0 then got = got .. assert(core.read(fd, 4096)) end
  end
  return got
end

describe("core pty", function()
  local m, s, name
  before_each(function() m, s, name = assert(core.openpty()) end)
  after_each(function() m:close(); s:close() end)

  it("openpty returns master, slave and the slave's name", function()
    assert.are.equal("pty", m.kind)
    assert.are.equal("pty", s.kind)
    assert.matches("^/dev/pts/%d+$", name)
    assert.are.equal(name, core.ptsname(m))
    assert.is_true(core.isatty(s))
    assert.are_not.equal(0, C.fd_flags(m.fd) & 0x80000) -- close-on-exec
  end)

  it("what is written to the slave is read from the master", function()
    assert.are.equal(6, core.write(s, "hello\n"))
    assert.are.equal("hello\r\n", read_n(m, 7)) -- onlcr in cooked mode
    core.write(m, "typed\n")
    assert.are.equal("typed\n", read_n(s, 6))
    assert.are.equal("typed\r\n", read_n(m, 7)) -- echo
  end)

  it("make_raw and tcrestore round-trip", function()
    assert.is_false(core.is_raw(s))
    local saved = assert(core.make_raw(s))
    assert.is_string(saved)
    assert.is_true(core.is_raw(s))
    core.write(s, "raw\n")
    assert.are.equal("raw\n", read_n(m, 4)) -- no output processing
    assert.is_true(core.tcrestore(s, saved))
    assert.is_false(core.is_raw(s))
    assert.is_string(core.tcgetattr(s))
    core.write(s, "x\n")
    assert.are.equal("x\r\n", read_n(m, 3))
  end)

  it("set_winsize and get_winsize", function()
    assert.is_true(core.set_winsize(m, 24, 80))
    local rows, cols = core.get_winsize(s)
    assert.are.equal(24, rows); assert.are.equal(80, cols)
    assert.is_true(core.set_winsize(s, 50, 132))
    rows, cols = core.get_winsize(m)
    assert.are.equal(50, rows); assert.are.equal(132, cols)
    assert.has_error(function() core.set_winsize(m, -1, 80) end)
    assert.has_error(function() core.set_winsize(m, "tall", 80) end)
  end)

  it("terminal calls on a pipe fail with ENOTTY; bad saved states raise", function()
    local r, w = assert(core.pipe())
    local checks = {
      { core.make_raw, r }, { core.tcgetattr, r }, { core.get_winsize, r },
      { core.set_winsize, r, 1, 1 }, { core.ptsname, r }, { core.is_raw, r },
    }
    for _, c in ipairs(checks) do
      local ok, msg, errno = c[1](table.unpack(c, 2))
      assert.is_nil(ok)
      assert.is_string(msg)
      assert.are.equal(core.errno.ENOTTY, errno)
    end
    local ok, _, errno = core.make_controlling_tty(r, false)
    assert.is_nil(ok); assert.are.equal(core.errno.ENOTTY, errno)
    assert.has_error(function() core.tcrestore(s, "short") end)
    assert.has_error(function() core.tcrestore(s, nil) end)
    r:close(); w:close()
  end)

  it("make_controlling_tty gives a child a controlling terminal", function()
    local how, code, msg = C.run(function()
      assert(core.make_controlling_tty(s))
      local tty = assert(core.open("/dev/tty", "rdwr"))
      tty:close()
      -- already a session leader now: setsid again fails
      local again, _, errno = core.make_controlling_tty(s)
      assert(again == nil and errno == core.errno.EPERM, "second setsid")
    end)
    C.assert_exit(0, how, code, msg)
  end)
end)
