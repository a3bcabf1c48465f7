-- luac-runc with a user namespace (#root): linux.uidMappings/gidMappings and
-- a "user" entry of linux.namespaces work as runc's do: the init is root
-- inside and the mapped uid on the host, exec joins the namespace, and the
-- inconsistent configs runc refuses are refused in one line.
-- Run inside a private network namespace (as tools/test.sh does).
local core = require "ctr.core"

local tmp, root, rootfs

local H = require("runc_util").harness(function() return tmp, root, rootfs end)
local runc, bundle, state = H.runc, H.bundle, H.state

local HOST = 3000000 -- the container's 0 on the host

local function with_userns(cfg)
  cfg.linux.namespaces[#cfg.linux.namespaces + 1] = { type = "user" }
  cfg.linux.uidMappings = { { containerID = 0, hostID = HOST, size = 65536 } }
  cfg.linux.gidMappings = { { containerID = 0, hostID = HOST + 100000, size = 65536 } }
end

local function host_ids(pid)
  local u, g
  for line in io.lines("/proc/" .. pid .. "/status") do
    u = u or line:match("^Uid:%s+(%d+)")
    g = g or line:match("^Gid:%s+(%d+)")
  end
  return math.tointeger(tonumber(u)), math.tointeger(tonumber(g))
end

require("runc_util").file_hooks(H, function(t, r, s) tmp, rootfs, root = t, r, s end)

describe("luac-runc user namespace #root", function()
  it("runs the process as root inside and as the mapped ids on the host; exec joins it", function()
    local b = bundle("uns", function(cfg)
      with_userns(cfg)
      cfg.process.args = { "sleep", "60" }
    end)
    local _, err, code = runc({ "create", "--bundle", b, "u1" })
    assert.are.equal(0, code, err)
    local pid = state("u1").pid
    local hu, hg = host_ids(pid)
    assert.are.equal(HOST, hu)
    assert.are.equal(HOST + 100000, hg)
    _, err, code = runc({ "start", "u1" })
    assert.are.equal(0, code, err)
    local out
    out, err, code = runc({ "exec", "u1", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map" })
    assert.are.equal(0, code, err)
    assert.matches("^0\n0\n%s*0%s+" .. HOST .. "%s+65536\n%s*0%s+" .. (HOST + 100000) .. "%s+65536\n$", out)
    -- the bundle's rootfs is not idmapped (as runc): its root-owned files are nobody's inside
    out = runc({ "exec", "u1", "sh", "-c", "stat -c %u /bin/busybox; touch /bin/x 2>/dev/null || echo denied" })
    assert.are.equal("65534\ndenied\n", out)
    _, err, code = runc({ "delete", "--force", "u1" })
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(root .. "/u1"))
  end)

  it("refuses mappings without a user namespace, a user namespace without mappings, joining one", function()
    local cases = {
      function(cfg) cfg.linux.uidMappings = { { containerID = 0, hostID = HOST, size = 10 } } end,
      function(cfg) cfg.linux.namespaces[#cfg.linux.namespaces + 1] = { type = "user" } end,
      function(cfg) cfg.linux.namespaces[#cfg.linux.namespaces + 1] = { type = "user", path = "/proc/1/ns/user" } end,
      function(cfg) with_userns(cfg); cfg.linux.uidMappings[1].size = 0 end,
      function(cfg) with_userns(cfg); cfg.linux.gidMappings[1].hostID = 4294967295 end,
    }
    for i, edit in ipairs(cases) do
      local b = bundle("bad" .. i, edit)
      local _, err, code = runc({ "run", "--bundle", b, "bad" .. i })
      assert.are.equal(1, code, "case " .. i)
      assert.matches("^[^\n]*\n$", err)
      assert.matches("linux%.[%w]+", err)
      assert.is_false(core.exists(root .. "/bad" .. i))
    end
  end)
end)
