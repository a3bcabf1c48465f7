-- security: the container's root filesystem never leads to the host (#root):
-- working directory (CVE-2024-21626 class), read-only volumes all the way
-- down, mounts attached once on the resolved object (CVE-2021-30465 class),
-- device setup never following links, a fresh sysfs for --network host.
local U = require "spec_util"

local root

local function ctr(args, opts) return U.ctr(root, args, opts) end

-- a file on the host only: reaching it from a container is an escape
local function host_secret()
  local secret = "host-secret-" .. tostring(math.random(1e9))
  local path = root .. "/host-marker"
  local f = assert(io.open(path, "w")); f:write(secret, "\n"); f:close()
  return secret, path
end

-- from a cwd outside the root, enough ".." reach the host's / and the marker
local function escape_script(marker)
  return "cd ../../../../../../../../../..; cat ." .. marker .. " 2>/dev/null; true"
end

local function mode_of(path)
  return (U.sh("stat -c %a " .. U.q(path))):gsub("%s+$", "")
end

local function compile_static(src, out)
  local c = out .. ".c"
  local f = assert(io.open(c, "w")); f:write(src); f:close()
  local _, err, code = U.sh("gcc -static -O2 -o " .. U.q(out) .. " " .. U.q(c))
  assert.are.equal(0, code, "gcc -static: " .. err)
end

describe("security: root filesystem #root", function()
  U.per_test_root(function(r) root = r end)

  it("run -w /proc/self/fd/N never starts the command in a host directory", function()
    local secret, marker = host_secret()
    for n = 3, 12 do
      local out, err = ctr({ "run", "--rm", "--network", "none", "-w", "/proc/self/fd/" .. n, "busybox", "sh", "-c",
        escape_script(marker) })
      assert.is_nil(out:find(secret, 1, true), ("run -w /proc/self/fd/%d reached the host: %s"):format(n, out .. err))
    end
  end)

  it("exec -w /proc/self/fd/N never starts the command in a host directory", function()
    local secret, marker = host_secret()
    local _, err, code = ctr({ "run", "-d", "--name", "target", "--network", "none", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    for n = 3, 12 do
      local out, eerr = ctr({ "exec", "-w", "/proc/self/fd/" .. n, "target", "sh", "-c", escape_script(marker) })
      assert.is_nil(out:find(secret, 1, true), ("exec -w /proc/self/fd/%d reached the host: %s"):format(n, out .. eerr))
    end
    -- an ordinary working directory still works
    assert.are.equal("/etc\n", (ctr({ "exec", "-w", "/etc", "target", "pwd" })))
  end)

  it("an image whose WorkingDir is /proc/self/fd/N is refused, never a host directory", function()
    local secret, marker = host_secret()
    local _, err, code = ctr({ "run", "--name", "base", "--network", "none", "busybox", "true" })
    assert.are.equal(0, code, err)
    for n = 3, 12 do
      local tag = "wd:" .. n
      _, err, code = ctr({ "commit", "-c", "WORKDIR /proc/self/fd/" .. n, "base", tag })
      assert.are.equal(0, code, err)
      local out, rerr = ctr({ "run", "--rm", "--network", "none", tag, "sh", "-c", escape_script(marker) })
      assert.is_nil(out:find(secret, 1, true), ("WorkingDir /proc/self/fd/%d reached the host: %s"):format(n, out .. rerr))
    end
  end)

  it("a :ro volume is read-only all the way down (a mount below its source too)", function()
    local src = root .. "/src"
    assert(os.execute("mkdir -p " .. U.q(src .. "/sub") .. " && mount -t tmpfs tmpfs " .. U.q(src .. "/sub")))
    local out, err, code = ctr({ "run", "--rm", "--network", "none", "-v", src .. ":/d:ro", "busybox", "sh", "-c",
      "touch /d/top 2>/dev/null && echo top-written; touch /d/sub/below 2>/dev/null && echo sub-written; true" })
    local below = io.open(src .. "/sub/below")
    os.execute("umount " .. U.q(src .. "/sub"))
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    assert.is_nil(below, "a write went through /d/sub into the host's read-only volume")
  end)

  it("a volume's destination swapped with RENAME_EXCHANGE by another container never leaves a :ro volume writable", function()
    local shared, hostro, bin = root .. "/shared", root .. "/hostro", root .. "/bin"
    assert(os.execute("mkdir -p " .. U.q(shared .. "/d") .. " " .. U.q(hostro) .. " " .. U.q(bin)))
    assert(os.execute("ln -s / " .. U.q(shared .. "/e")))
    compile_static([[
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  time_t end = time(NULL) + atoi(argv[3]);
  while (time(NULL) < end)
    for (int i = 0; i < 1000; i++)
      renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE);
  return 0;
}
]], bin .. "/swap")
    local _, err, code = ctr({ "run", "-d", "--name", "swapper", "--network", "none", "-v", shared .. ":/s", "-v",
      bin .. ":/x", "busybox", "/x/swap", "/s/d", "/s/e", "120" })
    assert.are.equal(0, code, err)
    local core = require "ctr.core"
    local deadline = core.clock("monotonic") + 40
    local runs, started, hit = 0, 0, nil
    -- bounded: 80 runs or 40 s, stopping at the first write that lands
    while runs < 80 and core.clock("monotonic") < deadline and not hit do
      runs = runs + 1
      local _, _, rc = ctr({ "run", "--rm", "--network", "none", "-v", shared .. ":/s", "-v", hostro .. ":/s/d:ro",
        "busybox", "sh", "-c", "for f in /s/d /s/e; do echo pwn > $f/pwn; done 2>/dev/null; true" })
      if rc == 0 then started = started + 1 end
      local f = io.open(hostro .. "/pwn")
      if f then f:close(); hit = runs end
    end
    assert.is_nil(hit, ("run %d of %d wrote into the host's read-only directory"):format(hit or 0, runs))
    assert.is_true(started > 0, "no victim container ever started: the race was not exercised")
  end)

  it("device setup never follows a link out of the root: -v DIR:/dev with DIR/null -> a host file", function()
    local dev, hostfile = root .. "/devdir", root .. "/hostfile"
    assert(os.execute("mkdir -p " .. U.q(dev) .. " && echo secret > " .. U.q(hostfile) .. " && chmod 600 " ..
      U.q(hostfile) .. " && ln -s " .. U.q(hostfile) .. " " .. U.q(dev .. "/null")))
    local _, err, code = ctr({ "run", "--rm", "--network", "none", "-v", dev .. ":/dev", "busybox", "true" })
    assert.are.equal("600", mode_of(hostfile))
    assert.are.equal(125, code)
    assert.is_truthy(err:find("/dev/null already exists in the container and is not a device node", 1, true), err)
  end)

  it("an existing device node where a device goes is replaced by the right one", function()
    local dev = root .. "/devdir"
    -- /dev/null's place holds a /dev/zero node, mode 0600
    assert(os.execute("mkdir -p " .. U.q(dev) .. " && mknod -m 600 " .. U.q(dev .. "/null") .. " c 1 5"))
    local out, err, code = ctr({ "run", "--rm", "--network", "none", "-v", dev .. ":/dev", "busybox", "sh", "-c",
      "stat -c '%a %t:%T' /dev/null" })
    assert.are.equal(0, code, err)
    assert.are.equal("666 1:3\n", out)
  end)

  it("--network host gets a fresh read-only sysfs: no host cgroup, debugfs, tracefs, securityfs or bpffs", function()
    -- (its own cgroup hierarchies are there, read-only, as docker's: spec/parity_a_spec.lua)
    local probe = "luac-ctr-sec-probe-" .. tostring(math.random(1e9))
    local out, err, code = ctr({ "run", "--rm", "--network", "host", "busybox", "sh", "-c",
      "echo $$ > /sys/fs/cgroup/memory/cgroup.procs 2>/dev/null && echo procs-written; " ..
      "for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do mkdir $h" .. probe .. " 2>/dev/null && echo mkdir-$h; done; " ..
      "ls -d /sys/fs/cgroup/*/luac-ctr 2>/dev/null; echo ==; cat /proc/self/mountinfo" })
    -- whatever happened, nothing is left on the host
    U.sh("rmdir /sys/fs/cgroup/*/" .. probe .. " /sys/fs/cgroup/" .. probe)
    assert.are.equal(0, code, err)
    local actions, mountinfo = out:match("^(.-)==\n(.*)$")
    assert.are.equal("", actions)
    for line in mountinfo:gmatch("[^\n]+") do
      local mp, opts, fstype = line:match("^%S+ %S+ %S+ %S+ (%S+) (%S+) .-%- (%S+)")
      if mp and (mp == "/sys" or mp:sub(1, 5) == "/sys/") then
        -- cgroup (v1/hybrid): only the container's own hierarchies, read-only
        -- (a hierarchy's root would show luac-ctr/ above: checked by `ls -d`)
        assert.is_nil(({ debugfs = 1, tracefs = 1, securityfs = 1, bpf = 1 })[fstype],
          "the host's " .. fstype .. " is in the container at " .. mp)
        if fstype == "sysfs" or fstype:match("^cgroup") then
          assert.is_truthy(opts:match("^ro"), mp .. " is writable: " .. line)
        end
      end
    end
    assert.matches(" /sys [^\n]* %- sysfs ", mountinfo)
  end)
end)
