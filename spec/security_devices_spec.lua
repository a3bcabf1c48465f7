-- The device policy (issue 10, point 1): a container may open only the devices
-- it is given. Docker's default list (null, zero, full, random, urandom, tty,
-- ptmx, its own ptys) plus mknod of any node; --device adds one; --privileged
-- lifts the policy. Attacks: a node made with mknod (a loop device, /dev/vcs,
-- the host's root disk) and a 0666 node shipped by a volume or an image, even
-- for -u 1000 --cap-drop ALL, must fail to open with EPERM. Against the real
-- kernel (this host's cgroup v1 devices controller on hybrid layouts; the pure
-- cgroup v2 BPF program is checked by spec/run_v2_spec.lua in the VM).
local U = require "spec_util"

local root

local function run(args, opts) return U.ctr(root, args, opts) end

-- major, minor of a block device of this host: the root filesystem's disk
-- when it is on one, else the first disk in /sys/block.
local function host_disk()
  for line in io.lines("/proc/self/mountinfo") do
    local maj, min, mp = line:match("^%S+ %S+ (%d+):(%d+) %S+ (%S+)")
    if mp == "/" and tonumber(maj) ~= 0 then return tonumber(maj), tonumber(min) end
  end
  local p = io.popen("cat /sys/block/*/dev 2>/dev/null")
  for l in p:lines() do
    local maj, min = l:match("^(%d+):(%d+)$")
    maj = tonumber(maj)
    if maj and maj ~= 7 and maj ~= 1 then p:close(); return maj, tonumber(min) end
  end
  p:close()
  error("no block device on this host")
end

-- A shell snippet: make node path (type, major, minor) and try to open it for
-- reading; prints "MADE <path>" and "OPEN <path> ok|<error>".
local function attempt(path, t, maj, min)
  return ("mknod %s %s %d %d && echo MADE %s; if (exec 3<%s) 2>/tmp/e; then echo OPEN %s ok; " ..
    "else echo OPEN %s $(cat /tmp/e); fi; "):format(path, t, maj, min, path, path, path, path)
end

local EPERM = "Operation not permitted"

describe("device policy #root", function()
  U.per_test_root(function(r) root = r end)

  it("refuses to open mknod'ed loop, vcs and host disk nodes in a default container", function()
    local dmaj, dmin = host_disk()
    local script = attempt("/tmp/loop", "b", 7, 0) .. attempt("/tmp/vcs", "c", 7, 0) ..
      attempt("/tmp/disk", "b", dmaj, dmin) .. attempt("/tmp/mem", "c", 1, 1)
    local out, err, code = run({ "run", "--rm", "--network", "none", "busybox", "sh", "-c", script })
    assert.are.equal(0, code, err)
    for _, n in ipairs({ "loop", "vcs", "disk", "mem" }) do
      assert.truthy(out:find("MADE /tmp/" .. n .. "\n", 1, true), "mknod is allowed (docker's c/b *:* m): " .. out)
      assert.truthy(out:find("OPEN /tmp/" .. n .. " [^\n]*" .. EPERM), n .. " must not open:\n" .. out)
    end
  end)

  it("keeps the container's devices usable: null, zero, full, random, urandom, ptmx, tty", function()
    local script = [[
      echo x > /dev/null && echo null-ok
      [ "$(head -c 5 /dev/zero | wc -c)" = 5 ] && echo zero-ok
      echo x 2>/tmp/e > /dev/full; grep -q "No space" /tmp/e && echo full-ok
      [ "$(head -c 8 /dev/random | wc -c)" = 8 ] && echo random-ok
      [ "$(head -c 8 /dev/urandom | wc -c)" = 8 ] && echo urandom-ok
      (exec 3<>/dev/ptmx) && echo ptmx-ok
      (exec 3<>/dev/tty) 2>/tmp/e; grep -q "not permitted" /tmp/e || echo tty-not-eperm
      mknod /tmp/n c 1 3 && echo x > /tmp/n && echo mknod-null-ok
    ]]
    local out, err, code = run({ "run", "--rm", "--network", "none", "busybox", "sh", "-c", script })
    assert.are.equal(0, code, err)
    assert.are.equal("null-ok\nzero-ok\nfull-ok\nrandom-ok\nurandom-ok\nptmx-ok\ntty-not-eperm\nmknod-null-ok\n", out)
    -- a terminal is a pty of the container's own devpts (136:*)
    local s = U.pty(root, { "run", "--rm", "-t", "--network", "none", "busybox", "sh", "-c",
      "echo hi > $(tty) && echo TTY-OK" })
    s:expect("TTY-OK", 20)
    assert.are.equal(0, s:wait(20))
  end)

  it("refuses a 0666 node from a volume or an image to -u 1000 --cap-drop ALL and to root", function()
    local dir = root .. "/nodes"
    assert(os.execute("mkdir -p " .. U.q(dir) .. " && mknod -m 0666 " .. U.q(dir .. "/vcs") .. " c 7 0 && " ..
      "mknod -m 0666 " .. U.q(dir .. "/loop") .. " b 7 0"))
    local script = "for n in vcs loop; do if e=$( (exec 3<$D/$n) 2>&1); then echo $n ok; else echo $n $e; fi; done"
    for _, who in ipairs({ { "-u", "1000", "--cap-drop", "ALL" }, {} }) do
      local args = { "run", "--rm", "--network", "none", "-e", "D=/nodes", "-v", dir .. ":/nodes" }
      for _, a in ipairs(who) do args[#args + 1] = a end
      for _, a in ipairs({ "busybox", "sh", "-c", script }) do args[#args + 1] = a end
      local out, err, code = run(args)
      assert.are.equal(0, code, err)
      assert.matches("vcs [^\n]*" .. EPERM .. "\nloop [^\n]*" .. EPERM .. "\n", out)
    end
    -- the same nodes shipped in an imported image (with a static busybox)
    local src = root .. "/img"
    assert(os.execute("mkdir -p " .. U.q(src .. "/bin") .. " && cp /bin/busybox " .. U.q(src .. "/bin/") ..
      " && ln -s busybox " .. U.q(src .. "/bin/sh") .. " && cp -a " .. U.q(dir) .. " " .. U.q(src .. "/nodes") ..
      " && tar -cf " .. U.q(root .. "/img.tar") .. " -C " .. U.q(src) .. " ."))
    local _, ierr, icode = run({ "import", root .. "/img.tar", "devnodes" })
    assert.are.equal(0, icode, ierr)
    local out, err, code = run({ "run", "--rm", "--network", "none", "-u", "1000", "--cap-drop", "ALL",
      "-e", "D=/nodes", "devnodes", "/bin/sh", "-c", script })
    assert.are.equal(0, code, err)
    assert.matches("vcs [^\n]*" .. EPERM .. "\nloop [^\n]*" .. EPERM .. "\n", out)
  end)

  it("applies to processes entering with exec", function()
    local _, err, code = run({ "run", "-d", "--name", "d1", "--network", "none", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    local out = run({ "exec", "d1", "sh", "-c", attempt("/tmp/vcs", "c", 7, 0) })
    assert.matches("OPEN /tmp/vcs [^\n]*" .. EPERM, out)
  end)

  it("adds a host device with --device HOST[:CONTAINER[:PERMS]]", function()
    local st = require("ctr.core").stat("/dev/loop-control")
    assert.truthy(st and st.type == "chr", "this host has no /dev/loop-control")
    assert.truthy(require("ctr.core").stat("/dev/loop1"), "this host has no /dev/loop1")
    local out, err, code = run({ "run", "--rm", "--network", "none", "--device", "/dev/loop-control",
      "--device", "/dev/loop1:/dev/l1-ro:r", "busybox", "sh", "-c",
      "ls -ln /dev/loop-control; (exec 3<>/dev/loop-control) && echo rw-ok; " ..
      "(exec 3</dev/l1-ro) && echo ro-ok; (exec 3>/dev/l1-ro) 2>&1; " ..
      attempt("/tmp/loop", "b", 7, 0) })
    assert.are.equal(0, code, err)
    assert.matches(("^c%s +1 +0 +0 +%d, +%d "):format(st.mode == 384 and "rw%-%-%-%-%-%-%-" or "[-rwx]+",
      st.rdev_major, st.rdev_minor), out)
    assert.truthy(out:find("\nrw-ok\nro-ok\n", 1, true), out)
    assert.matches("l1%-ro[^\n]*" .. EPERM, out) -- :r gives no write
    assert.matches("OPEN /tmp/loop [^\n]*" .. EPERM, out) -- and nothing else
  end)

  it("refuses bad --device values with one line and exit 125, leaving nothing", function()
    for _, bad in ipairs({ "/tmp", "/no/such/dev", "dev/null", "/dev/null:/etc/null", "/dev/null:/dev/../x",
      "/dev/null:/dev/n:rwx", "/dev/null:/dev/", "/dev/null:/dev//", "/dev/null:/dev/n:rr", "/dev/null:/dev/n:rw:x", "/dev/null::r" }) do
      local out, err, code = run({ "run", "--rm", "--network", "none", "--device", bad, "busybox", "true" })
      assert.are.equal(125, code, bad)
      assert.are.equal("", out)
      assert.matches("^luac%-ctr: invalid device [^\n]*\n$", err)
    end
    assert.same({}, U.container_ids(root))
  end)

  it("lifts the policy with --privileged", function()
    local out, err, code = run({ "run", "--rm", "--network", "none", "--privileged", "busybox", "sh", "-c",
      attempt("/tmp/loop", "b", 7, 0) .. attempt("/tmp/vcs", "c", 7, 0) })
    assert.are.equal(0, code, err)
    assert.are.equal("MADE /tmp/loop\nOPEN /tmp/loop ok\nMADE /tmp/vcs\nOPEN /tmp/vcs ok\n", out)
  end)

  -- A shell in cgroup g trying /dev/null, /dev/zero and /dev/full for reading and writing.
  local function probe(g)
    local join = {}
    for _, d in ipairs(g:dirs()) do join[#join + 1] = "echo $$ > " .. U.q(d .. "/cgroup.procs") end
    local tries = {}
    for _, d in ipairs({ "null", "zero", "full" }) do
      tries[#tries + 1] = ("(exec 3</dev/%s) 2>&- && echo %s-r; (exec 3>/dev/%s) 2>&- && echo %s-w")
        :format(d, d, d, d)
    end
    return (U.sh("sh -c " .. U.q(table.concat(join, "; ") .. "; " .. table.concat(tries, "; "))))
  end

  it("enforces a config's linux.resources.devices through ctr.cgroup", function()
    local cgroup = require "ctr.cgroup"
    local base = "luac-ctr-spec-dev-" .. require("ctr.core").random_hex(4)
    local g = cgroup.create(base .. "/a", {})
    local g2 = cgroup.create(base .. "/b", {})
    local ok, err = pcall(function()
      g:set_devices({ { allow = false, access = "rwm" }, { allow = true, type = "c", major = 1, minor = 3, access = "r" },
        { allow = true, type = "c", major = 1, minor = 5, access = "rw" } })
      assert.are.equal("null-r\nzero-r\nzero-w\n", probe(g))
      -- a deny inside an earlier allow: the v2 program says it; v1 (a default plus
      -- exceptions) cannot, and says so
      local nok, nerr = pcall(g2.set_devices, g2, { { allow = false, access = "rwm" },
        { allow = true, type = "c", major = 1, access = "rw" }, { allow = false, type = "c", major = 1, minor = 5, access = "w" } })
      if cgroup.layout() == "v2" then
        assert.is_true(nok, nerr)
        assert.are.equal("null-r\nnull-w\nzero-r\nfull-r\nfull-w\n", probe(g2))
      else
        assert.is_false(nok)
        assert.matches("device rule 3 %(deny%) narrows rule 2: the cgroup v1 devices controller cannot express that", tostring(nerr))
      end
      for _, bad in ipairs({ { { allow = true, type = "x" } }, { { allow = true, access = "rwx" } },
        { { allow = true, type = "c", major = 5000 } }, { { allow = true, type = "c", minor = -7 } } }) do
        local bok, berr = pcall(g2.set_devices, g2, bad)
        assert.is_false(bok)
        assert.matches("^device rule 1: invalid device", tostring(berr))
      end
    end)
    g:remove({ force = true })
    g2:remove({ force = true })
    cgroup.open(base):remove()
    assert.same({}, U.cgroup_dirs(base))
    assert(ok, err)
  end)
end)
