-- Security (issue 10, points 5 and 6): uids and gids are 0..2147483647
-- everywhere (never truncated to uid_t: 4294967296 would be root), and the
-- user lookup reads the image's /etc/passwd and /etc/group inside the image
-- (openat2 RESOLVE_IN_ROOT), regular files only, with a size bound.
local core = require "ctr.core"
local U = require "spec_util"

local q = U.q

local function sh_ok(cmd)
  local out, err, code = U.sh("{ " .. cmd .. "; }")
  assert(code == 0, ("command failed (%d): %s\n%s"):format(code, cmd, err))
  return out
end

-- The launcher under a bound: 20 s and 1 GiB of address space (the
-- vulnerable code reads /dev/zero until memory runs out, or opens a FIFO
-- and waits forever).
local function bounded(root, args)
  local parts = {}
  for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
  local t0 = core.clock("monotonic")
  local out, err, code = U.sh("ulimit -v 1048576; LUAC_CTR_ROOT=" .. q(root) .. " timeout -s KILL 20 "
    .. q(U.launcher) .. " " .. table.concat(parts, " "))
  return out, err, code, core.clock("monotonic") - t0
end

-- Import an image whose root holds a static busybox (sh, id, echo, cat)
-- plus what setup(dir) adds.
local function make_image(root, name, setup, change)
  local src = root .. "/src-" .. name
  sh_ok("mkdir -p " .. q(src .. "/bin") .. " " .. q(src .. "/etc") .. " " .. q(src .. "/dev")
    .. " && cp /bin/busybox " .. q(src .. "/bin/busybox")
    .. " && for a in sh id echo cat; do ln -s busybox " .. q(src .. "/bin") .. "/$a; done")
  setup(src)
  sh_ok("tar -cf " .. q(src .. ".tar") .. " -C " .. q(src) .. " .")
  local args = { "import" }
  for _, c in ipairs(change or {}) do args[#args + 1] = "--change"; args[#args + 1] = c end
  args[#args + 1] = src .. ".tar"; args[#args + 1] = name
  local _, err, code = U.ctr(root, args)
  assert(code == 0, "import failed: " .. err)
  sh_ok("rm -rf " .. q(src) .. " " .. q(src .. ".tar"))
end

local function write(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

local PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"

-- A refusal: exit 125, one line on stderr naming the problem, nothing ran.
local function assert_refused(out, err, code, pattern)
  assert.are.equal(125, code, "stdout: " .. out .. "\nstderr: " .. err)
  assert.is_nil(out:find("RAN", 1, true), out)
  assert.is_nil(out:find("uid=0", 1, true), out)
  assert.matches("^luac%-ctr: [^\n]*\n$", err)
  assert.matches(pattern, err)
end

describe("security: uids and gids #root", function()
  local root
  U.per_test_root(function(r) root = r end)

  local function run_id(...)
    local args = { "run", "--rm", "--network", "none" }
    for _, a in ipairs({ ... }) do args[#args + 1] = a end
    for _, a in ipairs({ "sh", "-c", "echo RAN; id" }) do args[#args + 1] = a end
    return U.ctr(root, args)
  end

  for _, case in ipairs({
    { "-u", "4294967295" }, { "-u", "8589934592" }, { "-u", "0:4294967296" }, { "-u", "-1" },
    { "-u", "1000:-1" }, { "-u", "99999999999999999999" }, { "-u", "2147483648" },
    { "--group-add", "4294967296" },
  }) do
    it("refuses " .. table.concat(case, " ") .. " before anything runs", function()
      local out, err, code = run_id(case[1], case[2], "busybox")
      assert_refused(out, err, code, "0%.%.2147483647")
    end)
  end

  it("accepts the largest valid ids, for -u and --group-add", function()
    local out, err, code = run_id("-u", "2147483647:2147483647", "--group-add", "2147483646", "busybox")
    assert.are.equal(0, code, err)
    assert.matches("uid=2147483647 gid=2147483647 groups=2147483646", out)
  end)

  it("refuses exec -u 4294967295 / 8589934592", function()
    local _, err, code = U.ctr(root, { "run", "-d", "--name", "idc", "--network", "none", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    for _, u in ipairs({ "4294967295", "8589934592", "0:4294967296" }) do
      local out, eerr, ecode = U.ctr(root, { "exec", "-u", u, "idc", "sh", "-c", "echo RAN; id" })
      assert_refused(out, eerr, ecode, "0%.%.2147483647")
    end
  end)

  it("refuses an image passwd or group entry with an out-of-range id", function()
    make_image(root, "evilids", function(dir)
      write(dir .. "/etc/passwd", PASSWD .. "evil:x:4294967296:0::/:/bin/sh\nevilg:x:1000:4294967296::/:/bin/sh\n")
      write(dir .. "/etc/group", "root:x:0:\nbig:x:8589934592:\n")
    end)
    make_image(root, "eviluser", function(dir)
      write(dir .. "/etc/passwd", PASSWD .. "evil:x:4294967296:0::/:/bin/sh\n")
    end, { "USER evil" })
    local out, err, code = run_id("-u", "evil", "evilids")
    assert_refused(out, err, code, "uid of user evil in the image's /etc/passwd")
    out, err, code = run_id("-u", "evilg", "evilids")
    assert_refused(out, err, code, "gid of user evilg in the image's /etc/passwd")
    out, err, code = run_id("-u", "0:big", "evilids")
    assert_refused(out, err, code, "gid of group big in the image's /etc/group")
    out, err, code = run_id("--group-add", "big", "evilids")
    assert_refused(out, err, code, "gid of group big")
    out, err, code = run_id("eviluser") -- the image's own USER
    assert_refused(out, err, code, "uid of user evil")
  end)

  it("refuses out-of-range ids in an OCI config given to core.spawn", function()
    local state = require "ctr.state"
    local image = require "ctr.image"
    state.set_root(root)
    local layer = image.lower_dirs(image.ensure_busybox())[1]
    state.set_root(nil)
    local function try(edit)
      local dir = root .. "/oci"
      sh_ok("rm -rf " .. q(dir) .. " && mkdir -p " .. q(dir .. "/rootfs") .. " " .. q(dir .. "/upper") .. " " .. q(dir .. "/work"))
      local cfg = require("ctr.oci").build {
        args = { "/bin/sh", "-c", "echo RAN; id" }, env = { "PATH=/bin" }, cwd = "/",
        network = "none", hostname = "oci", rootfs = dir .. "/rootfs", lowerdir = layer,
        upperdir = dir .. "/upper", workdir = dir .. "/work",
      }
      edit(cfg.process.user)
      local r, w = assert(core.pipe())
      local ok, p, perr = pcall(core.spawn, require("ctr.json").encode(cfg), { stdout = w, stderr = w })
      w:close()
      if ok and p then -- the vulnerable runtime: let it show what it runs as
        p:start()
        p:wait()
      end
      local out = {}
      repeat local s = core.read(r, 4096); out[#out + 1] = s until not s or s == ""
      r:close()
      return ok, ok and (perr or "") or p, table.concat(out)
    end
    for _, edit in ipairs({
      function(u) u.uid = 4294967296 end, function(u) u.uid = -1 end,
      function(u) u.gid = 4294967296 end, function(u) u.additionalGids = { 4294967296 } end,
    }) do
      local ok, err, out = try(edit)
      assert.is_nil(out:find("RAN", 1, true), out)
      assert.is_true(ok) -- refused by the core's parser: nil, msg
      assert.matches("^process%.user%.[%a]+[%[%]%d]*: not an integer in 0%.%.2147483647$", err)
    end
    local ok, err, out = try(function(u) u.uid, u.gid = 2147483647, 2147483647 end)
    assert.is_true(ok, err)
    assert.matches("RAN\nuid=2147483647 gid=2147483647", out)
  end)
end)

describe("security: user lookup inside the image #root", function()
  local root
  U.per_test_root(function(r) root = r end)

  it("resolves an absolute /etc/passwd symlink inside the image, not on the host", function()
    local host = root .. "/host-passwd"
    write(host, PASSWD .. "hostonly:x:4242:4242::/:/bin/sh\n")
    make_image(root, "linkout", function(dir) sh_ok("ln -s " .. q(host) .. " " .. q(dir .. "/etc/passwd")) end)
    local out, err, code = bounded(root, { "run", "--rm", "--network", "none", "-u", "hostonly", "linkout", "sh", "-c", "echo RAN; id" })
    assert_refused(out, err, code, "unable to find user hostonly")
    -- a relative climb out of the image resolves inside it too
    make_image(root, "climb", function(dir)
      sh_ok("ln -s ../../../../../../../../../.." .. q(host) .. " " .. q(dir .. "/etc/passwd"))
    end)
    out, err, code = bounded(root, { "run", "--rm", "--network", "none", "-u", "hostonly", "climb", "sh", "-c", "echo RAN; id" })
    assert_refused(out, err, code, "unable to find user hostonly")
  end)

  it("follows symlinks that stay inside the image", function()
    make_image(root, "linkin", function(dir)
      write(dir .. "/etc/passwd.real", PASSWD .. "app:x:1234:2345::/home/app:/bin/sh\n")
      write(dir .. "/etc/group.real", "root:x:0:\nstaff:x:3456:\n")
      sh_ok("ln -s /etc/passwd.real " .. q(dir .. "/etc/passwd") .. " && ln -s ../etc/./group.real " .. q(dir .. "/etc/group"))
    end)
    local out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "-u", "app:staff", "linkin", "sh", "-c", "id; echo $HOME" })
    assert.are.equal(0, code, err)
    assert.matches("uid=1234%(app%) gid=3456%(staff%)", out)
    assert.matches("/home/app\n$", out)
  end)

  it("sees the layer stack as the container does: symlinks across layers, whiteouts", function()
    make_image(root, "lay1", function(dir)
      write(dir .. "/etc/passwd", PASSWD)
      write(dir .. "/etc/passwd.real", PASSWD .. "deep:x:1111:1111::/:/bin/sh\n")
      write(dir .. "/etc/group", "root:x:0:\ngone:x:2222:\n")
    end)
    -- a second layer: /etc/passwd -> /etc/passwd.real (in the layer below), /etc/group deleted
    local _, err, code = U.ctr(root, { "run", "--name", "mk", "--network", "none", "lay1", "sh", "-c",
      "rm /etc/passwd /etc/group && /bin/busybox ln -s /etc/passwd.real /etc/passwd" })
    assert.are.equal(0, code, err)
    _, err, code = U.ctr(root, { "commit", "mk", "lay2" })
    assert.are.equal(0, code, err)
    local out
    out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "-u", "deep", "lay2", "id", "-u" })
    assert.are.equal(0, code, err)
    assert.are.equal("1111\n", out)
    out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "-u", "0:gone", "lay2", "sh", "-c", "echo RAN; id" })
    assert_refused(out, err, code, "unable to find group gone")
  end)

  it("refuses /etc/passwd -> /dev/zero quickly, in bounded memory", function()
    make_image(root, "zero", function(dir)
      sh_ok("mknod " .. q(dir .. "/dev/zero") .. " c 1 5 && ln -s /dev/zero " .. q(dir .. "/etc/passwd"))
    end)
    local out, err, code, took = bounded(root, { "run", "--rm", "--network", "none", "-u", "someone", "zero", "sh", "-c", "echo RAN; id" })
    assert_refused(out, err, code, "/etc/passwd: .*character device, not a regular file")
    assert.is_true(took < 10, "took " .. took .. " s")
  end)

  it("refuses an /etc/group FIFO without waiting on it", function()
    make_image(root, "fifo", function(dir)
      write(dir .. "/etc/passwd", PASSWD)
      sh_ok("mkfifo " .. q(dir .. "/etc/group"))
    end)
    local out, err, code, took = bounded(root, { "run", "--rm", "--network", "none", "-u", "root:wheel", "fifo", "sh", "-c", "echo RAN; id" })
    assert_refused(out, err, code, "/etc/group: .*FIFO, not a regular file")
    assert.is_true(took < 10, "took " .. took .. " s")
  end)

  it("refuses an /etc/passwd over the size bound", function()
    make_image(root, "huge", function(dir)
      local f = assert(io.open(dir .. "/etc/passwd", "w"))
      f:write(PASSWD)
      local pad = ("x"):rep(1023) .. "\n"
      for _ = 1, 5 * 1024 do f:write("#", pad) end
      f:write("late:x:0:0::/:/bin/sh\n")
      f:close()
    end)
    local out, err, code = bounded(root, { "run", "--rm", "--network", "none", "-u", "late", "huge", "sh", "-c", "echo RAN; id" })
    assert_refused(out, err, code, "/etc/passwd: .*over the 4194304%-byte limit")
  end)
end)

describe("security: core.read_in_root and core.read_in_layers #root", function()
  local dir

  before_each(function()
    dir = U.tmproot()
    sh_ok(table.concat({
      "cd " .. q(dir), "mkdir -p r/etc L0/etc L1/etc L1/real/etc L0/o L1/o",
      "echo A > r/etc/passwd.real", "ln -s /etc/passwd.real r/etc/passwd",
      "echo hostsecret > host", "ln -s ../../../../../../.." .. q(dir .. "/host") .. " r/etc/esc",
      "ln -s " .. q(dir .. "/host") .. " r/etc/abs", "mkfifo r/etc/fifo", "mknod r/etc/zero c 1 5",
      "echo A1 > L1/etc/passwd.real", "ln -s /etc/passwd.real L0/etc/passwd", "echo OLD > L1/etc/passwd",
      "mknod L0/etc/group c 0 0", "echo G > L1/etc/group", "echo lower > L1/etc/shadow",
      "ln -s a L0/etc/b", "ln -s b L0/etc/a", "ln -s /real/etc L0/rl", "echo R > L1/real/etc/passwd",
      "echo hidden > L1/o/f",
    }, " && "))
    assert(core.setxattr(dir .. "/L0/o", "trusted.overlay.opaque", "y"))
  end)

  after_each(function() U.cleanup(dir) end)

  it("resolves inside the root, regular files only, bounded", function()
    local E = core.errno
    assert.are.equal("A\n", core.read_in_root(dir .. "/r", "/etc/passwd"))
    local fd = assert(core.open(dir .. "/r", "rdonly,directory"))
    assert.are.equal("A\n", core.read_in_root(fd, "etc/passwd"))
    fd:close()
    for _, case in ipairs({ { "etc/esc", E.ENOENT }, { "etc/abs", E.ENOENT }, { "etc/fifo", E.EINVAL },
      { "etc/zero", E.EINVAL }, { "etc", E.EINVAL } }) do
      local s, err, errno = core.read_in_root(dir .. "/r", case[1])
      assert.is_nil(s, case[1])
      assert.are.equal(case[2], errno, err)
    end
    local s, err, errno = core.read_in_root(dir .. "/r", "etc/passwd", 1)
    assert.is_nil(s)
    assert.are.equal(E.EFBIG, errno)
    assert.matches("over the 1%-byte limit", err)
  end)

  it("reads a layer stack as overlayfs shows it", function()
    local E, L = core.errno, { dir .. "/L0", dir .. "/L1" }
    assert.are.equal("A1\n", core.read_in_layers(L, "etc/passwd")) -- a symlink across layers
    assert.are.equal("lower\n", core.read_in_layers(L, "/etc/shadow"))
    assert.are.equal("R\n", core.read_in_layers(L, "rl/passwd"))
    assert.are.equal("A1\n", core.read_in_layers(L, "../../etc/./passwd.real"))
    for _, case in ipairs({ { "etc/group", E.ENOENT }, { "o/f", E.ENOENT }, { "etc/a", E.ELOOP },
      { "etc", E.EINVAL }, { "etc/passwd/x", E.ENOTDIR }, { "rl/../etc/passwd.real", E.ENOENT } }) do
      local s, err, errno = core.read_in_layers(L, case[1])
      assert.is_nil(s, case[1])
      assert.are.equal(case[2], errno, err)
    end
  end)
end)
