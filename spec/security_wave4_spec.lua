-- security, wave 4: attacks on the newest features (--init, volume copy-up,
-- shared namespaces, build's .dockerignore and COPY --chown, --sysctl,
-- --mount). Each test carries out the attack and failed before its fix.
--
-- Run as root (#root).
local U = require "spec_util"

local q = U.q
local root

local function run(args, opts) return U.ctr(root, args, opts) end

local function sh_ok(cmd)
  local out, err, code = U.sh("{ " .. cmd .. "; }")
  assert(code == 0, ("command failed (%d): %s\n%s"):format(code, cmd, err))
  return out
end

-- Every readable mapping of PID 1, read through /proc/1/mem, to
-- /tmp/pid1.mem in the container; then how many times each word turns up.
local READ_PID1 = [[
: > /tmp/pid1.mem
while read range perms rest; do
  case $perms in r*) ;; *) continue ;; esac
  s=$((0x${range%-*})); e=$((0x${range#*-}))
  [ "$s" -ge 0 ] && [ "$e" -gt "$s" ] || continue
  dd if=/proc/1/mem bs=4096 skip=$((s / 4096)) count=$(((e - s) / 4096)) 2>/dev/null >> /tmp/pid1.mem
done < /proc/1/maps
echo "bytes=$(wc -c < /tmp/pid1.mem)"
for w in "$@"; do echo "$w=$(tr -c 'A-Za-z0-9_:-' '\n' < /tmp/pid1.mem | grep -c -x -e "$w")"; done
echo "environ=$(wc -c < /proc/1/environ)"
]]

describe("security wave 4 #root", function()
  U.per_test_root(function(r) root = r end)

  describe("run --init", function()
    it("PID 1 holds nothing of the runtime's memory: a SYS_PTRACE container reads /proc/1/mem", function()
      -- the secret is the runtime's (a label, an env var of the caller); the
      -- script names it only in halves
      local secret = "LuacCtrWave4Secret" .. "Label77"
      local envsecret = "LuacCtrWave4Secret" .. "Env91"
      local out, err, code = U.sh("CALLER_SECRET=" .. envsecret .. " LUAC_CTR_ROOT=" .. q(root) .. " "
        .. q(U.launcher) .. " run --rm --init --cap-add SYS_PTRACE --network none --label probe=" .. secret
        .. " busybox sh -c " .. q(READ_PID1) .. " sh LuacCtrWave4Secret\"Label77\" LuacCtrWave4Secret\"Env91\" "
        .. "init")
      assert.are.equal(0, code, err)
      -- the read worked (PID 1's memory is there: its argv "init" at least)
      assert.is_truthy(tonumber(out:match("bytes=(%d+)")) > 0, out)
      assert.is_truthy(tonumber(out:match("\ninit=(%d+)")) > 0, out)
      assert.are.equal("0", out:match("Label77=(%d+)"), out)
      assert.are.equal("0", out:match("Env91=(%d+)"), out)
      assert.are.equal("0", out:match("environ=(%d+)"), out)
    end)
  end)

  describe("exec", function()
    -- a static poller: reads every process's environment in a loop and
    -- notes the first that holds the marker
    local POLLER = [[
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char buf[65536], path[64];
  if (argc != 3) return 2;
  for (;;) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
      int fd = open(path, O_RDONLY);
      if (fd < 0) continue;
      ssize_t n = read(fd, buf, sizeof buf);
      close(fd);
      if (n > 0 && memmem(buf, (size_t)n, argv[1], strlen(argv[1]))) {
        int o = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
        dprintf(o, "found in pid %s\n", e->d_name);
        close(o);
      }
    }
    if (d) closedir(d);
  }
}
]]

    it("the caller's environment never reaches the container: a SYS_PTRACE container polls /proc/*/environ", function()
      local dir = root .. "/poller"
      sh_ok("mkdir -p " .. q(dir) .. " " .. q(root .. "/out"))
      local f = assert(io.open(dir .. "/poll.c", "w")); f:write(POLLER); f:close()
      sh_ok("gcc -O2 -static -o " .. q(dir .. "/poll") .. " " .. q(dir .. "/poll.c"))
      local marker = "LuacCtrWave4" .. "ExecSecret"
      local _, err, code = run({ "run", "-d", "--name", "c", "--network", "none", "--cap-add", "SYS_PTRACE",
        "-v", dir .. ":/p:ro", "-v", root .. "/out:/out", "busybox", "/p/poll", marker, "/out/result" })
      assert.are.equal(0, code, err)
      for i = 1, 25 do
        _, err, code = U.sh("CALLER_SECRET=" .. marker .. i .. " LUAC_CTR_ROOT=" .. q(root) .. " " .. q(U.launcher)
          .. " exec c true")
        assert.are.equal(0, code, err)
      end
      assert.is_nil(io.open(root .. "/out/result"), "the container read the caller's environment")
    end)
  end)

  describe("volume copy-up", function()
    it("looks at the image's layers without following a lower layer's symlink on the host", function()
      local identity = require "ctr.container.identity"
      local l1, l2, host = root .. "/l1", root .. "/l2", root .. "/host"
      -- the upper layer's /a is a directory; the lower one's a symlink to a
      -- host directory (overlayfs shows only the upper /a)
      sh_ok("mkdir -p " .. q(l1 .. "/a") .. " " .. q(l2) .. " " .. q(host .. "/x")
        .. " && ln -s " .. q(host) .. " " .. q(l2 .. "/a")
        .. " && ln -s ../../../../../../../.. " .. q(host .. "/up"))
      assert.is_nil(identity.layer_lstat({ l1, l2 }, "/a/x", "dir"))
      assert.are.equal("dir", identity.layer_lstat({ l1, l2 }, "/a", "dir").type)
      assert.are.equal("/a/up", identity.mount_destination("/a/up", { l1, l2 }, "/a/up"))
    end)

    -- Import an image from a directory that setup(dir) fills.
    local function image(name, setup, changes)
      local src = root .. "/src-" .. name
      sh_ok("mkdir -p " .. q(src))
      setup(src)
      sh_ok("tar -cf " .. q(src .. ".tar") .. " -C " .. q(src) .. " .")
      local args = { "import" }
      for _, c in ipairs(changes or {}) do args[#args + 1] = "--change"; args[#args + 1] = c end
      args[#args + 1] = src .. ".tar"; args[#args + 1] = name
      local _, err, code = run(args)
      assert(code == 0, "import failed: " .. err)
      sh_ok("rm -rf " .. q(src) .. " " .. q(src .. ".tar"))
    end

    it("a container sharing an empty volume cannot redirect the copy onto the host", function()
      -- /data/d/e (mode 0777) and a big file in it: while it is copied, the
      -- container using the volume swaps d for a symlink to a host
      -- directory; libarchive's deferred fixups then chmod the host's e
      local victim = root .. "/victim"
      sh_ok("mkdir -p " .. q(victim .. "/e") .. " && chmod 0700 " .. q(victim .. "/e"))
      image("copyup", function(src)
        sh_ok("mkdir -p " .. q(src .. "/data/d/e") .. " && chmod 0777 " .. q(src .. "/data/d/e")
          .. " && head -c 134217728 /dev/zero > " .. q(src .. "/data/d/e/big"))
      end, { 'CMD ["/nothing"]' })
      assert.are.equal(0, select(3, run({ "volume", "create", "shared" })))
      local _, err, code = run({ "run", "-d", "--name", "x", "--network", "none", "-v", "shared:/v", "busybox", "sh", "-c",
        "until [ -e /v/d/e/big ]; do :; done; mv /v/d /v/moved && ln -s " .. victim .. " /v/d && echo swapped > /v/log; sleep 30" })
      assert.are.equal(0, code, err)
      _, err, code = run({ "create", "--name", "y", "--network", "none", "-v", "shared:/data", "copyup" })
      assert.are.equal(0, code, err)
      assert.is_truthy(U.wait_for(function()
        return (run({ "exec", "x", "cat", "/v/log" })) == "swapped\n"
      end, 30), "the container never swapped d")
      assert.are.equal("700", sh_ok("stat -c %a " .. q(victim .. "/e")):match("%d+"))
      -- the copy is whole: the volume holds the image's files (moved away
      -- by the container only once they were all there)
      assert.are.equal("134217728 777\n", (run({ "exec", "x", "sh", "-c",
        "stat -c '%s' /v/moved/e/big | tr '\\n' ' '; stat -c %a /v/moved/e" })))
    end)
  end)

  describe("--pid container:X", function()
    -- Sharing a pid namespace lets a process read /proc/<pid>/environ and
    -- mem of another with the same uids whose capabilities are a subset of
    -- its own (the kernel's rule, as on a host). CAP_SYS_PTRACE lifts the
    -- subset rule: X could read, and trace, a newcomer holding capabilities
    -- X has not (here CAP_SYS_ADMIN): that is what is refused.
    local function environ_seen(name)
      return run({ "exec", name, "sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'" })
    end

    it("is refused when a container in X's pid namespace has CAP_SYS_PTRACE (it could trace the newcomer)", function()
      local secret = "LuacCtrWave4" .. "PidSecret"
      -- the boundary kept: without CAP_SYS_PTRACE, q cannot read a newcomer with more capabilities
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "q", "--network", "none", "busybox", "sleep", "30" })))
      local out, err, code = run({ "run", "-d", "--name", "w", "--pid", "container:q", "--cap-add", "SYS_ADMIN",
        "--network", "none", "-e", "TOKEN=" .. secret, "busybox", "sleep", "30" })
      assert.are.equal(0, code, out .. err)
      local seen = environ_seen("q")
      assert.is_nil(seen:find(secret, 1, true), seen)
      assert.are.equal(0, select(3, run({ "rm", "-f", "q", "w" })))
      -- the attack: x, with CAP_SYS_PTRACE, reads the newcomer's environment through /proc
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "x", "--cap-add", "SYS_PTRACE", "--network", "none",
        "busybox", "sleep", "30" })))
      out, err, code = run({ "run", "-d", "--name", "y", "--pid", "container:x", "--cap-add", "SYS_ADMIN", "--network", "none",
        "-e", "TOKEN=" .. secret, "busybox", "sleep", "30" })
      seen = environ_seen("x")
      assert.is_nil(seen:find(secret, 1, true), seen)
      assert.are.equal(125, code, out .. err)
      assert.matches("^luac%-ctr: [^\n]*CAP_SYS_PTRACE[^\n]*\n$", err)
      assert.are.equal(1, #U.container_ids(root)) -- nothing left of y
      -- without the capability the namespace is joined; then a container in
      -- it with the capability (joined after) makes later joins refused too
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "p", "--network", "none", "busybox", "sleep", "30" })))
      local _
      _, err, code = run({ "run", "--rm", "--pid", "container:p", "--network", "none", "busybox", "true" })
      assert.are.equal(0, code, err)
      _, err, code = run({ "run", "-d", "--name", "tracer", "--pid", "container:p", "--cap-add", "SYS_PTRACE",
        "--network", "none", "busybox", "sleep", "30" })
      assert.are.equal(0, code, err)
      _, err, code = run({ "run", "--rm", "--pid", "container:p", "--network", "none", "busybox", "true" })
      assert.are.equal(125, code, err)
      assert.matches("tracer", err)
      _, err, code = run({ "run", "--rm", "--pid", "container:p", "--privileged", "--network", "none", "busybox", "true" })
      assert.are.equal(125, code, err)
    end)
  end)

  describe("build", function()
    local function write(path, text)
      sh_ok("mkdir -p " .. q(path:match("^(.*)/")))
      local f = assert(io.open(path, "w")); f:write(text); f:close()
    end
    local function layers() return #(require("ctr.core").readdir(root .. "/layers") or {}) end

    it("reads the Containerfile and .dockerignore files inside the context, never through a symlink out", function()
      local ctx = root .. "/ctx"
      write(root .. "/host/secret", "HOSTSECRETWORD is a line of a host file\n")
      write(ctx .. "/a", "a\n")
      sh_ok("ln -s " .. q(root .. "/host/secret") .. " " .. q(ctx .. "/Dockerfile"))
      local out, err, code = run({ "build", "-t", "leak:1", ctx })
      assert.is_nil((out .. err):find("HOSTSECRETWORD", 1, true), out .. err)
      assert.are_not.equal(0, code)
      assert.matches("^luac%-ctr: [^\n]*\n$", err)
      -- FILE.dockerignore next to a Containerfile in the context: a symlink
      -- to a host file naming "a" would exclude a if it were read
      sh_ok("rm " .. q(ctx .. "/Dockerfile"))
      write(root .. "/host/ignore", "a\n")
      write(ctx .. "/sub/cf", "FROM scratch\nCOPY a /a\n")
      sh_ok("ln -s " .. q(root .. "/host/ignore") .. " " .. q(ctx .. "/sub/cf.dockerignore"))
      sh_ok("ln -s " .. q(root .. "/host/ignore") .. " " .. q(ctx .. "/.dockerignore"))
      out, err, code = run({ "build", "-t", "ign:1", "-f", ctx .. "/sub/cf", ctx })
      assert.are.equal(0, code, err) -- a was not excluded
      sh_ok("rm " .. q(ctx .. "/sub/cf.dockerignore")) -- then context/.dockerignore, the same
      out, err, code = run({ "build", "-t", "ign:2", "-f", ctx .. "/sub/cf", ctx })
      assert.are.equal(0, code, err)
    end)

    it("refuses a .dockerignore it cannot read (too big, not a file) instead of ignoring it", function()
      local ctx = root .. "/ctx"
      write(ctx .. "/secret.txt", "do not ship\n")
      write(ctx .. "/Dockerfile", "FROM scratch\nCOPY . /x/\n")
      write(ctx .. "/.dockerignore", "secret.txt\n" .. ("#" .. ("x"):rep(1022) .. "\n"):rep(5 * 1024))
      local n = layers()
      local _, err, code = run({ "build", "-t", "ign:1", ctx })
      assert.are.equal(125, code, err)
      assert.matches("^luac%-ctr: [^\n]*%.dockerignore[^\n]*\n$", err)
      sh_ok("rm " .. q(ctx .. "/.dockerignore") .. " && mkdir " .. q(ctx .. "/.dockerignore"))
      _, err, code = run({ "build", "-t", "ign:1", ctx })
      assert.are.equal(125, code, err)
      assert.matches("^luac%-ctr: [^\n]*%.dockerignore[^\n]*\n$", err)
      assert.are.equal(n, layers())
      assert.is_nil(run({ "images" }):find("ign", 1, true))
    end)

    it("COPY --chown takes ids 0..2147483647 only, numeric or from the image's passwd and group; --chmod 0..7777", function()
      local ctx = root .. "/ctx"
      write(ctx .. "/a", "a\n")
      write(ctx .. "/passwd", "root:x:0:0::/:/bin/sh\nbig:x:4294967296:0::/:/bin/sh\nhuge:x:99999999999999999999:0::/:/bin/sh\n"
        .. "over:x:2147483648:0::/:/bin/sh\nok:x:1000:1000::/:/bin/sh\n")
      write(ctx .. "/group", "root:x:0:\nbig:x:4294967295:\nok:x:1000:\n")
      write(ctx .. "/Dockerfile", "FROM scratch\nCOPY passwd group /etc/\n")
      local _, err, code = run({ "build", "-t", "base:1", ctx })
      assert.are.equal(0, code, err)
      local n = layers()
      for _, chown in ipairs({ "4294967296", "2147483648", "99999999999999999999", "0:4294967295", "1:-1",
        "big", "huge", "over", "ok:big", "0x10", "" }) do
        write(ctx .. "/Dockerfile", "FROM base:1\nCOPY --chown=" .. chown .. " a /a\n")
        _, err, code = run({ "build", "-t", "bad:1", ctx })
        assert.are.equal(125, code, chown .. ": " .. err)
        assert.matches("^luac%-ctr: [^\n]*%-%-chown[^\n]*\n$", err)
        assert.is_nil(err:find("%.lua:%d"), err)
      end
      for _, chmod in ipairs({ "17777", "777777", "77777777777777777777777", "u+s" }) do
        write(ctx .. "/Dockerfile", "FROM base:1\nCOPY --chmod=" .. chmod .. " a /a\n")
        _, err, code = run({ "build", "-t", "bad:1", ctx })
        assert.are.equal(125, code, chmod .. ": " .. err)
        assert.matches("^luac%-ctr: [^\n]*%-%-chmod[^\n]*\n$", err)
        assert.is_nil(err:find("%.lua:%d"), err)
      end
      assert.are.equal(n, layers())
      assert.is_nil(run({ "images" }):find("bad", 1, true))
      write(ctx .. "/Dockerfile", "FROM base:1\nCOPY --chown=ok:ok a /a\nCOPY --chown=2147483647:0 --chmod=04755 a /b\n")
      _, err, code = run({ "build", "-t", "good:1", ctx })
      assert.are.equal(0, code, err)
    end)
  end)

  describe("mounts inside /proc", function()
    it("are refused: a volume over /proc/self would answer the runtime's own reads there", function()
      local v = root .. "/fake"
      sh_ok("mkdir -p " .. q(v) .. " && printf 'Name:\\tfake\\n' > " .. q(v .. "/status"))
      for _, dest in ipairs({ "/proc/self", "/proc/1", "/proc", "/proc/sys/kernel" }) do
        local out, err, code = run({ "run", "--rm", "--network", "none", "-v", v .. ":" .. dest, "busybox", "cat", "/proc/1/status" })
        assert.are.equal(125, code, dest .. ": " .. out .. err)
        assert.matches("^luac%-ctr: [^\n]*inside /proc[^\n]*\n$", err)
        assert.is_nil(out:find("fake", 1, true))
      end
      local _, err, code = run({ "run", "--rm", "--network", "none", "--tmpfs", "/proc/self", "busybox", "true" })
      assert.are.equal(125, code, err)
      _, err, code = run({ "run", "--rm", "--network", "none", "--mount", "type=bind,src=" .. v .. ",dst=/proc/self", "busybox", "true" })
      assert.are.equal(125, code, err)
      -- through a symlink of the image: caught on the resolved path
      local src = root .. "/img"
      sh_ok("mkdir -p " .. q(src .. "/bin") .. " && cp /bin/busybox " .. q(src .. "/bin/busybox")
        .. " && ln -s busybox " .. q(src .. "/bin/cat") .. " && ln -s /proc/self " .. q(src .. "/x")
        .. " && tar -cf " .. q(src .. ".tar") .. " -C " .. q(src) .. " .")
      assert.are.equal(0, select(3, run({ "import", src .. ".tar", "procimg" })))
      local out
      out, err, code = run({ "run", "--rm", "--network", "none", "-v", v .. ":/x", "procimg", "/bin/cat", "/proc/1/status" })
      assert.are_not.equal(0, code, out .. err)
      assert.matches("inside /proc", err)
      assert.is_nil(out:find("fake", 1, true))
      -- what stays allowed: lxcfs's binds of files
      sh_ok("echo 'MemTotal: 1 kB' > " .. q(root .. "/meminfo"))
      out, err, code = run({ "run", "--rm", "--network", "none", "-v", root .. "/meminfo:/proc/meminfo:ro", "busybox", "cat", "/proc/meminfo" })
      assert.are.equal(0, code, err)
      assert.are.equal("MemTotal: 1 kB\n", out)
    end)
  end)

  describe("--sysctl and tmpfs options (checked, already held)", function()
    it("never reach the host's kernel settings, and tmpfs options take no injected flag", function()
      local function host(key) return (io.open("/proc/sys/" .. key:gsub("%.", "/")):read("a")) end
      local core_pattern, forward = host("kernel.core_pattern"), host("net.ipv4.ip_forward")
      assert.are.equal(0, select(3, run({ "run", "-d", "--name", "ipc", "--ipc", "shareable", "--network", "none", "busybox", "sleep", "30" })))
      for _, args in ipairs({
        { "--sysctl", "kernel.core_pattern=|/tmp/x" }, { "--sysctl", "kernel.hostname=x" },
        { "--sysctl", "vm.overcommit_memory=1" }, { "--sysctl", "net/../kernel/core_pattern=x" },
        { "--network", "host", "--sysctl", "net.ipv4.ip_forward=0" },
        { "--ipc", "host", "--sysctl", "kernel.shmmax=1" }, { "--ipc", "container:ipc", "--sysctl", "fs.mqueue.msg_max=1" },
        { "--tmpfs", "/x:size=1m,huge=always" }, { "--tmpfs", "/x:mode=1777,uid=0,context=x" },
        { "--mount", "type=tmpfs,dst=/x,tmpfs-size=1m,exec" }, { "--mount", "type=tmpfs,dst=/x,tmpfs-mode=1777,suid" },
      }) do
        local cmd = { "run", "--rm" }
        for _, a in ipairs(args) do cmd[#cmd + 1] = a end
        if args[1] ~= "--network" then cmd[#cmd + 1] = "--network"; cmd[#cmd + 1] = "none" end
        cmd[#cmd + 1] = "busybox"; cmd[#cmd + 1] = "true"
        local out, err, code = run(cmd)
        assert.are.equal(125, code, table.concat(args, " ") .. ": " .. out .. err)
        assert.matches("^luac%-ctr: [^\n]*\n$", err)
      end
      assert.are.equal(core_pattern, host("kernel.core_pattern"))
      assert.are.equal(forward, host("net.ipv4.ip_forward"))
      -- a container's own namespace takes them
      local out, err, code = run({ "run", "--rm", "--network", "none", "--sysctl", "net.ipv4.ip_forward=" .. (forward:match("1") and "0" or "1"),
        "busybox", "cat", "/proc/sys/net/ipv4/ip_forward" })
      assert.are.equal(0, code, err)
      assert.are_not.equal(forward, out)
      assert.are.equal(forward, host("net.ipv4.ip_forward"))
    end)
  end)
end)
