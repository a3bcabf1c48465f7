-- Disk full (#root #diskfull): the state root is a 16 MB tmpfs that is
-- filled to the last block while `run`, `commit` and `import` work. Each
-- must fail with one clear line naming the lack of space and a non-zero
-- exit, show nothing half-written (ps -a, images, the state root's tmp/),
-- and the same command must work once space is freed. (There is no `pull`
-- in luac-ctr: nothing to check for it.)
local U = require "spec_util"
local _ -- what multiple assignments throw away (not a global)

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function avail_kb()
  return tonumber((U.sh("(df -k --output=avail " .. U.q(root) .. " | tail -1)")):match("%d+"))
end

-- Fill the tmpfs so that leave_kb KiB stay free (0: not one block): the
-- command under test then runs out of space at its start or part way.
local function fill(leave_kb)
  leave_kb = leave_kb or 0
  local n = avail_kb() - leave_kb
  if n > 0 then
    os.execute(("dd if=/dev/zero of=%s/fill1 bs=1k count=%d 2>/dev/null"):format(root, n))
  end
  if leave_kb == 0 then os.execute(("dd if=/dev/zero of=%s/fill2 bs=4k 2>/dev/null"):format(root)) end
  assert.is_true(avail_kb() <= leave_kb + 4, "the tmpfs is not full")
end

local function unfill()
  os.remove(root .. "/fill1")
  os.remove(root .. "/fill2")
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local function one_clear_line(err, code)
  assert.are_not.equal(0, code, "the command succeeded on a full disk")
  local l = lines(err)
  assert.are.equal(1, #l, "not one line:\n" .. err)
  assert.matches("^luac%-ctr: ", l[1])
  assert.is_truthy(l[1]:find("No space left on device", 1, true), l[1])
end

local function ls(sub)
  return lines((U.sh("ls -A " .. U.q(root .. "/" .. sub) .. " 2>/dev/null")))
end

describe("disk full #root #diskfull", function()
  local images_before
  before_each(function()
    root = U.tmproot()
    assert(os.execute(("mount -t tmpfs -o size=16m luac-ctr-diskfull %s"):format(U.q(root))))
    local _, err, code = ctr("run", "--rm", "--network", "none", "busybox", "true") -- builds the image
    assert.are.equal(0, code, err)
    images_before = ctr("images", "-q")
  end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root)
  end)

  for _, leave in ipairs({ 0, 4, 12, 20, 28 }) do
    it("run with " .. leave .. " KiB free: one line, nothing in ps -a, works after space is freed", function()
      fill(leave)
      local id, err, code = ctr("run", "-d", "--network", "none", "busybox", "sleep", "100")
      if code == 0 and leave > 0 then -- it fitted: then it is whole
        assert.are.equal(id, (ctr("ps", "-q", "--no-trunc")))
        return
      end
      one_clear_line(err, code)
      assert.are.equal("", (ctr("ps", "-a", "-q")))
      assert.are.same({}, ls("containers"))
      unfill()
      local out
      out, err, code = ctr("run", "--rm", "--network", "none", "busybox", "echo", "ok")
      assert.are.equal(0, code, err)
      assert.are.equal("ok\n", out)
    end)
  end

  it("commit: one line, no new image, no temporary tree, works after space is freed", function()
    local out, err, code = ctr("run", "-d", "--name", "c", "--network", "none", "busybox", "sh", "-c",
      "dd if=/dev/zero of=/data bs=1M count=3 2>/dev/null; touch /done; sleep 1000")
    assert.are.equal(0, code, err)
    assert.is_truthy(U.wait_for(function()
      return (ctr("exec", "c", "test", "-e", "/done")) and select(3, ctr("exec", "c", "test", "-e", "/done")) == 0
    end, 20))
    fill(1024) -- the 3 MB copy runs out part way
    _, err, code = ctr("commit", "c", "full:1")
    one_clear_line(err, code)
    assert.are.equal(images_before, (ctr("images", "-q")))
    assert.are.same({}, ls("tmp"))
    unfill()
    out, err, code = ctr("commit", "c", "full:1")
    assert.are.equal(0, code, err)
    assert.matches("^sha256:%x+\n$", out)
    out, err, code = ctr("run", "--rm", "--network", "none", "full:1", "ls", "-l", "/data")
    assert.are.equal(0, code, err)
    assert.is_truthy(out:find("3145728", 1, true), out)
  end)

  it("import: one line, no new image, no temporary tree, works after space is freed", function()
    local tree = os.tmpname()
    os.remove(tree)
    assert(os.execute(("mkdir -p %s/d && dd if=/dev/urandom of=%s/d/blob bs=1M count=4 2>/dev/null && tar -C %s -cf %s.tar d")
      :format(tree, tree, tree, tree)))
    fill(2048) -- the 4 MB extraction runs out part way
    local out, err, code = ctr("import", tree .. ".tar", "imp:1")
    one_clear_line(err, code)
    assert.are.equal(images_before, (ctr("images", "-q")))
    assert.are.same({}, ls("tmp"))
    unfill()
    out, err, code = ctr("import", tree .. ".tar", "imp:1")
    os.execute("rm -rf " .. U.q(tree) .. " " .. U.q(tree .. ".tar"))
    assert.are.equal(0, code, err)
    assert.matches("^%x+\n$", (out:gsub("^sha256:", "")))
  end)
end)
