-- security (#root): cp never reaches the host through the container's
-- files. Everything in the container is hostile: its symlinks, a race that
-- swaps a directory with a symlink while cp runs (CVE-2018-15664), its
-- libraries (CVE-2019-14271: docker cp's helper loaded the container's
-- libnss), a symlink in the destination path pointing to a host directory,
-- and the tar stream coming out of it.
local U = require "spec_util"
local core = require "ctr.core"

local RACE_SECONDS = 6

-- A library whose constructor leaves a marker file in the directory it is
-- loaded from (PWNED: "/" of the container in the helper) and one on the
-- host (HOSTMARK, a path compiled in).
local EVIL_C = [[
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void pwn(void) {
  int fd = open("PWNED", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close(fd);
  fd = open(HOSTMARK, O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close(fd);
}
int evil(void) { return 42; }
]]

local function now() return core.clock("monotonic") end

describe("cp stays inside the container #root", function()
  local root, work, bin, hostdir, marker, hostmark

  local function ctr(...) return U.ctr(root, { ... }) end
  local function ok(...)
    local out, err, code = ctr(...)
    assert.are.equal(0, code, table.concat({ ... }, " ") .. ": " .. err)
    return out
  end
  -- a regular file below path (symlinks not followed: a copied symlink
  -- is a symlink, as docker's) holds the marker
  local function has_marker(path)
    local out = U.sh("find " .. U.q(path) .. " -type f -exec grep -lF " .. U.q(marker) .. " {} +")
    return out ~= ""
  end
  local function host_names()
    local t = core.readdir(hostdir) or {}
    table.sort(t)
    return t
  end
  local function upper(name)
    return root .. "/containers/" .. ok("inspect", "-f", "{{.Id}}", name):gsub("%s+$", "") .. "/upper"
  end

  lazy_setup(function()
    root = U.tmproot()
    work = root .. "/work"
    assert(core.mkdir(work, 493))
    bin, hostdir, marker = U.swap_race(work)
    hostmark = work .. "/HOST-PWNED"
    local f = assert(io.open(work .. "/evil.c", "w")); f:write(EVIL_C); f:close()
    local _, err, code = U.sh("gcc -shared -fPIC -O2 -DHOSTMARK='\"" .. hostmark .. "\"' -o " .. U.q(bin .. "/evil.so") ..
      " " .. U.q(work .. "/evil.c"))
    assert.are.equal(0, code, err)
  end)
  lazy_teardown(function()
    U.rm_all(root)
    U.cleanup(root)
  end)

  -- A detached container swapping /x/d0 and /x/l0 -> the host directory.
  local function swapper(name)
    ok("run", "-d", "--name", name, "--network", "none", "-v", bin .. ":/p:ro", "busybox", "sh", "-c",
      "exec /p/swap /x " .. hostdir .. " " .. (RACE_SECONDS * 3 + 30))
    assert.is_truthy(U.wait_for(function() return ctr("logs", name):find("swapping", 1, true) end, 10),
      "the swapper did not start: " .. ctr("logs", name))
  end

  it("CVE-2018-15664: cp out of a directory swapped with a symlink to the host never brings the host file", function()
    swapper("sw1")
    local out = work .. "/out"
    local n, made = 0, 0
    local deadline = now() + RACE_SECONDS
    while now() < deadline do
      n = n + 1
      os.execute("rm -rf " .. U.q(out))
      local src = n % 2 == 0 and "sw1:/x/d0" or "sw1:/x/l0/."
      local _, _, code = ctr("cp", src, out)
      if code == 0 then made = made + 1 end
      assert.is_false(core.exists(out) and has_marker(out), ("cp %s (%d of %d) held the host file"):format(src, n, n))
    end
    assert.is_true(made > 0, "no cp succeeded")
    local _, _, code = ctr("cp", "sw1:/x/l0/secret", work .. "/s") -- the link resolves in the container: no such file
    assert.are.equal(1, code)
    assert.is_false(core.exists(work .. "/s"))
    assert.are.equal("running", ok("inspect", "-f", "{{.State.Status}}", "sw1"):gsub("%s+$", ""))
    ok("rm", "-f", "sw1")
  end)

  it("CVE-2018-15664: cp into a directory swapped with a symlink to the host never writes there", function()
    swapper("sw2")
    local f = assert(io.open(work .. "/payload", "w")); f:write("payload\n"); f:close()
    local n, made = 0, 0
    local deadline = now() + RACE_SECONDS
    while now() < deadline do
      n = n + 1
      local dst = n % 2 == 0 and "sw2:/x/d0/" or "sw2:/x/l0/p" .. n
      local _, _, code = ctr("cp", work .. "/payload", dst)
      if code == 0 then made = made + 1 end
      assert.same({ "secret" }, host_names(), ("cp to %s (%d) wrote into the host directory"):format(dst, n))
    end
    assert.is_true(made > 0, "no cp succeeded")
    assert.are.equal("running", ok("inspect", "-f", "{{.State.Status}}", "sw2"):gsub("%s+$", ""))
    ok("rm", "-f", "sw2")
  end)

  it("a symlink in the destination path to a host directory resolves inside the container (running and stopped)", function()
    local script = "mkdir -p /x && ln -s " .. hostdir .. " /x/abs && ln -s ../../../../../../../.." .. hostdir ..
      " /x/rel && mkdir -p /x/in"
    ok("run", "-d", "--name", "dst", "--network", "none", "busybox", "sh", "-c", script .. " && exec sleep 300")
    ok("run", "--name", "dst-stopped", "--network", "none", "busybox", "sh", "-c", script)
    assert.is_truthy(U.wait_for(function() local _, _, c = ctr("exec", "dst", "test", "-L", "/x/rel"); return c == 0 end, 5))
    local f = assert(io.open(work .. "/payload", "w")); f:write("payload\n"); f:close()
    for _, name in ipairs({ "dst", "dst-stopped" }) do
      for _, dst in ipairs({ "/x/abs/", "/x/abs/new", "/x/rel/", "/x/rel/new", "/x/../../../../" .. hostdir .. "/new" }) do
        ctr("cp", work .. "/payload", name .. ":" .. dst) -- an error (no such directory in the container) or a copy inside it
        assert.same({ "secret" }, host_names(), "cp to " .. name .. ":" .. dst .. " wrote into the host directory")
      end
      -- reading through them: the host's secret never comes out
      for _, src in ipairs({ "/x/abs/secret", "/x/rel/secret", "/x/abs/." }) do
        os.execute("rm -rf " .. U.q(work .. "/got"))
        ctr("cp", "-L", name .. ":" .. src, work .. "/got")
        assert.is_false(core.exists(work .. "/got") and has_marker(work .. "/got"), name .. ":" .. src)
      end
    end
    -- where a copy through the link went: the same path inside the container
    ok("exec", "dst", "mkdir", "-p", hostdir)
    ok("cp", work .. "/payload", "dst:/x/abs/inside")
    assert.are.equal("payload\n", ok("exec", "dst", "cat", hostdir .. "/inside"))
    assert.same({ "secret" }, host_names())
    ok("rm", "-f", "dst", "dst-stopped")
  end)

  it("a tar stream with a symlink to the host and a file through it is refused (cp - C:DIR)", function()
    ok("run", "-d", "--name", "tarin", "--network", "none", "busybox", "sh", "-c", "mkdir /x && exec sleep 300")
    local tar = work .. "/evil.tar"
    local py = ([[
import io, tarfile
t = tarfile.open(%q, "w")
l = tarfile.TarInfo("l"); l.type = tarfile.SYMTYPE; l.linkname = %q; t.addfile(l)
f = tarfile.TarInfo("l/pwn"); data = b"pwned\n"; f.size = len(data); t.addfile(f, io.BytesIO(data))
t.close()
]]):format(tar, hostdir)
    local _, err, code = U.sh("python3 -c " .. U.q(py))
    assert.are.equal(0, code, err)
    _, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " cp - tarin:/x < " .. U.q(tar),
      { keep_stdin = true })
    assert.are.equal(1, code, "the archive was accepted")
    assert.matches("symlink", err)
    assert.same({ "secret" }, host_names())
    ok("rm", "-f", "tarin")
  end)

  it("the host side of cp out refuses hostile entries: symlink paths, .., absolute paths, devices; drops setuid", function()
    local archive = require "ctr.archive"
    local function try(entries, opts)
      local tar = work .. "/t.tar"
      local py = "import io, tarfile\nt = tarfile.open(" .. ("%q"):format(tar) .. ", 'w')\n" .. entries .. "\nt.close()\n"
      local _, err, code = U.sh("python3 -c " .. U.q(py))
      assert.are.equal(0, code, err)
      local dest = work .. "/x" .. tostring(now()):gsub("%.", "")
      assert(core.mkdir(dest, 448))
      local fd = assert(core.open(tar, "rdonly"))
      local res, msg = archive.copy_in(fd, dest, opts or { uid = 0, gid = 0, nodev = true, nosuid = true })
      fd:close()
      return res, msg, dest
    end
    local file = "f = tarfile.TarInfo(%q); d = b'x'; f.size = 1; f.mode = %s; t.addfile(f, io.BytesIO(d))"
    local link = ("l = tarfile.TarInfo('l'); l.type = tarfile.SYMTYPE; l.linkname = %q; t.addfile(l)"):format(hostdir)
    assert.is_nil((try(link .. "\n" .. file:format("l/pwn", "0o644"))))
    assert.is_nil((try(file:format("../pwn", "0o644"))))
    assert.is_nil((try(file:format(hostdir .. "/pwn", "0o644"))))
    local dev = "d = tarfile.TarInfo('sda'); d.type = tarfile.BLKTYPE; d.devmajor = 8; d.devminor = 0; t.addfile(d)"
    local res, msg = try(dev)
    assert.is_nil(res)
    assert.matches("refusing device node", msg)
    assert.same({ "secret" }, host_names())
    local dest
    res, msg, dest = try(file:format("suid", "0o4755"))
    assert.is_true(res, msg)
    assert.are.equal(493, core.lstat(dest .. "/suid").mode) -- 0755: the setuid bit dropped
  end)

  it("CVE-2019-14271: the helper cannot load or run anything from the container", function()
    -- the container's libraries where a libc would look for NSS and gconv modules
    local libs = "/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib /usr/lib /lib64 /usr/lib/x86_64-linux-gnu/gconv"
    ok("run", "-d", "--name", "libs", "--network", "none", "-v", bin .. ":/p:ro", "busybox", "sh", "-c",
      "for d in " .. libs .. "; do mkdir -p $d; for n in libnss_files.so.2 libnss_compat.so.2 libnss_dns.so.2 " ..
      "libc.so.6 libarchive.so.13 UTF-16.so; do cp /p/evil.so $d/$n; done; done; cp /p/evil.so /evil.so; " ..
      "printf 'passwd: files\\ngroup: files\\n' > /etc/nsswitch.conf; " ..
      "printf 'module INTERNAL UTF-16// UTF-16 1\\nmodule UTF-16// INTERNAL UTF-16 1\\n' > /usr/lib/x86_64-linux-gnu/gconv/gconv-modules; " ..
      "mkdir -p /d && echo in > /d/f && exec sleep 300")
    assert.is_truthy(U.wait_for(function() local _, _, c = ctr("exec", "libs", "test", "-e", "/d/f"); return c == 0 end, 5))
    local up = upper("libs")
    -- the library is loadable, and it leaves its markers when loaded (here, on the host: the control)
    local _, err, code = U.sh("cd " .. U.q(work) .. " && lua5.4 -e " ..
      U.q("assert(package.loadlib(" .. ("%q"):format(up .. "/evil.so") .. ", 'evil'))"))
    assert.are.equal(0, code, err)
    assert.is_true(core.exists(hostmark) and core.exists(work .. "/PWNED"))
    os.remove(hostmark); os.remove(work .. "/PWNED")
    -- cp both ways, with owners (names would be looked up by a libc's NSS)
    ok("cp", "-a", "libs:/d", work .. "/d-out")
    ok("cp", "-a", work .. "/d-out", "libs:/d-in")
    ok("cp", "libs:/etc/passwd", "-")
    assert.is_false(core.exists(hostmark), "a container library was loaded on the host's side")
    assert.is_false(core.exists(up .. "/PWNED"), "a container library was loaded inside the container's root")
    -- a Lua module planted in the container wherever this process's require would look
    local plant = {}
    for tmpl in package.path:gmatch("[^;]+") do
      local p = tmpl:gsub("%?", "cmds1_evil")
      if p:sub(1, 2) == "./" then p = "/" .. p:sub(3) end
      if p:sub(1, 1) == "/" then plant[#plant + 1] = p end
    end
    ok("exec", "libs", "sh", "-c", "for p in " .. table.concat(plant, " ") ..
      "; do mkdir -p ${p%/*} && echo 'error(\"EVIL MODULE RAN\")' > $p; done")
    -- the helper itself: require, dlopen and execve of the container's files fail in it
    local state = require "ctr.state"
    state.set_root(root)
    local container = require "ctr.container"
    local helper = require "ctr.container.helper"
    for _, how in ipairs({ "ro", "ns" }) do
      local c = assert(container.get("libs"))
      local h = helper.start(c, how, function()
        local rok, rerr = pcall(require, "cmds1_evil")
        if rok or not tostring(rerr):find("module 'cmds1_evil' not found", 1, true) then
          error("require: " .. tostring(rerr), 0)
        end
        local f, lerr = package.loadlib("/evil.so", "evil")
        if f then error("loaded /evil.so", 0) end
        assert(lerr)
        local _, eerr = core.execve("/bin/true", { "true" }, {})
        error("execve returned: " .. tostring(eerr), 0)
      end, {})
      local okf, ferr = pcall(helper.finish, h)
      assert.is_false(okf)
      assert.matches("execve returned", require("ctr.errors").message(ferr))
    end
    state.set_root(nil)
    assert.is_false(core.exists(up .. "/PWNED"))
    assert.is_false(core.exists(hostmark))
    -- export and commit read the container's files by a pivoted helper too
    -- (sealed require, the same seccomp program)
    ok("export", "-o", work .. "/libs.tar", "libs")
    ok("commit", "libs", "libs-img:1")
    assert.is_false(core.exists(up .. "/PWNED"))
    assert.is_false(core.exists(hostmark))
    ok("rmi", "libs-img:1")
    ok("rm", "-f", "libs")
  end)
end)
