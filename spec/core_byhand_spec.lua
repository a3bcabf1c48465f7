-- End-to-end proof that ctr.core is enough to build a container by hand:
-- clone into new mnt/uts/pid namespaces, set a hostname, mount a tmpfs,
-- run a program in it, and report an exit code the parent checks.
local core = require "ctr.core"
local C = require "core_child"

local function mounts_under(dir)
  local t = {}
  for line in io.lines("/proc/self/mountinfo") do
    local mp = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and mp:sub(1, #dir) == dir then t[#t + 1] = mp end
  end
  return t
end

describe("core container by hand #root", function()
  local dir
  before_each(function() dir = C.tmpdir() end)
  after_each(function()
    for _, m in ipairs(mounts_under(dir)) do core.umount2(m, "detach") end
    C.rmdir(dir)
  end)

  it("a cloned child gets its own hostname, tmpfs and pid 1, and exits 42", function()
    local host = core.gethostname()
    local ids = { mnt = core.ns_id(0, "mnt"), uts = core.ns_id(0, "uts"), pid = core.ns_id(0, "pid") }
    local out_r, out_w = assert(core.pipe())
    local pid, errpipe = C.start(function()
      out_r:close()
      assert(core.getpid() == 1, "pid 1 in the new pid namespace")
      for n, id in pairs(ids) do
        assert(core.ns_id(0, n) ~= id, n .. " namespace is new")
      end
      assert(core.mount(nil, "/", nil, "rec,private"))
      assert(core.sethostname("tiny"))
      assert(core.mount("tmpfs", dir, "tmpfs", "nosuid,nodev", "size=1m,mode=0755"))
      local f = assert(core.open(dir .. "/hello", "wronly,creat"))
      f:write("from inside"); f:close()
      -- run a program in there: it sees the hostname and the tmpfs
      local child = assert(core.fork())
      if child == 0 then
        pcall(function()
          core.dup2(out_w, 1)
          core.execve("/bin/sh", { "sh", "-c", 'echo "$(hostname) $$ $(cat "$1/hello")"', "sh", dir },
            { PATH = "/usr/bin:/bin" })
        end)
        core._exit(127)
      end
      local _, how, code = core.waitpid(child)
      assert(how == "exited" and code == 0, "sh exited " .. tostring(how) .. " " .. tostring(code))
      return 42
    end, "mnt,uts,pid")
    out_w:close()
    local out = C.read_all(out_r)
    out_r:close()
    local how, code, msg = C.finish(pid, errpipe)
    C.assert_exit(42, how, code, msg)
    assert.are.equal("tiny 2 from inside\n", out)
    -- nothing leaked into our namespaces
    assert.are.equal(host, core.gethostname())
    assert.are.same({}, mounts_under(dir))
    local p = io.popen("ls -A " .. dir); local listing = p:read("a"); p:close()
    assert.are.equal("", listing)
  end)
end)
