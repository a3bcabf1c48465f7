-- The container API's shape (#root): one kind of error value per failure
-- (errors.is(e, kind)), run's one result per mode, commit and export as
-- Container methods.
local U = require "spec_util"
local errors = require "ctr.errors"
local state = require "ctr.state"
local container = require "ctr.container"

local root

-- The error value fn(...) raises.
local function raised(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(errors.is(e), "an error value, not " .. tostring(e))
  return e
end

local function kind_of(fn, ...) return raised(fn, ...).kind end

describe("container API #root", function()
  local fresh, done = U.api_state_root(function(r) root = r end)
  before_each(fresh)
  after_each(done)

  it("raises invalid for bad input, not_found for unknown names, in every part", function()
    assert.are.equal("invalid", kind_of(container.parse_volume, "relative:/x"))
    assert.are.equal("invalid", kind_of(container.clean_path, "x", "working directory"))
    assert.are.equal("invalid", kind_of(container.signum, "NOSUCHSIG"))
    assert.are.equal("invalid", kind_of(container.env_merge, {}, { "A B=1" }))
    assert.are.equal("invalid", kind_of(container.create, {}))
    assert.are.equal("invalid", kind_of(container.create, { image = "busybox", memory = "lots" }))
    assert.are.equal("invalid", kind_of(container.create, { image = "busybox", cap_add = { "nope" } }))
    assert.are.equal("invalid", kind_of(container.create, { image = "busybox", devices = { "dev/null" } }))
    assert.are.equal("invalid", kind_of(require("ctr.cgroup").parse_memory, "12x"))
    assert.are.equal("invalid", kind_of(state.lock, "no/such"))
    assert.are.equal("not_found", kind_of(container.create, { image = "no-such-image:1", cmd = { "true" } }))
    local e = raised(container.must_get, "nope")
    assert.are.equal("not_found", e.kind)
    assert.are.equal(125, e.code)
    assert.are.equal(1, raised(container.must_get, "nope", 1).code)
    assert.are.equal("not_found", kind_of(container.remove_incomplete, "abcdef"))
    assert.are.equal(125, select(2, pcall(container.create, {})).code)
  end)

  it("conflict for a name in use and a running container's removal; not_running for kill and exec", function()
    local c = container.create { image = "busybox", cmd = { "sleep", "100" }, name = "one", network = "none" }
    assert.are.equal("conflict", kind_of(container.create, { image = "busybox", cmd = { "true" }, name = "one" }))
    assert.are.equal("not_running", kind_of(c.kill, c, "TERM"))
    assert.are.equal("not_running", kind_of(c.exec, c, { argv = { "true" } }))
    c:start { detach = true }
    assert.are.equal("conflict", kind_of(c.start, c))
    assert.are.equal("conflict", kind_of(c.remove, c))
    assert.are.equal("invalid", kind_of(c.exec, c, { argv = {} }))
    local r = raised(c.exec, c, { argv = { "/no/such/program" } })
    assert.are.equal(127, r.code)
    c:remove { force = true }
  end)

  it("run returns the container when detached, the exit (with its container) in the foreground", function()
    local c = container.run { image = "busybox", cmd = { "sleep", "100" }, detach = true, network = "none" }
    assert.are.equal(container.Container, getmetatable(c))
    assert.is_true(c:running())
    c:remove { force = true }
    local r = container.run { image = "busybox", cmd = { "sh", "-c", "exit 3" }, network = "none", name = "fg" }
    assert.are.equal(3, r.exit_code)
    assert.are.equal(container.Container, getmetatable(r.container))
    assert.are.equal("fg", r.container:name())
    assert.are.equal("exited", r.container:refresh():status())
  end)

  it("ulimits become the process's rlimits (docker --ulimit); bad ones are invalid", function()
    local c = container.run { image = "busybox", cmd = { "sleep", "100" }, detach = true, network = "none",
      ulimits = { "nofile=512:1024", "core=0" } }
    local limits = c:exec { argv = { "cat", "/proc/1/limits" }, capture = true }.stdout
    assert.matches("Max open files%s+512%s+1024", limits)
    assert.matches("Max core file size%s+0%s+0", limits)
    -- docker exec: the container's limits, not the caller's
    assert.are.equal("512 1024\n", c:exec { argv = { "sh", "-c", "echo $(ulimit -n) $(ulimit -Hn)" }, capture = true }.stdout)
    c:remove { force = true }
    assert.same({ { type = "RLIMIT_NPROC", soft = -1, hard = -1 }, { type = "RLIMIT_STACK", soft = 10, hard = -1 } },
      require("ctr.container.spec").rlimits { "nproc=-1", "stack=10:-1" })
    for _, bad in ipairs({ "nofile", "nofiles=1", "nofile=2:1", "nofile=x", "nofile=-2", "nofile=-1:5" }) do
      assert.are.equal("invalid", kind_of(container.create, { image = "busybox", cmd = { "true" }, ulimits = { bad } }))
    end
    assert.are.equal("invalid", kind_of(container.create, { image = "busybox", cmd = { "true" },
      ulimits = { "core=0", "core=1" } }))
    local out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "--ulimit", "nofile=100:200",
      "busybox", "sh", "-c", "ulimit -n; ulimit -Hn" })
    assert.are.equal(0, code, err)
    assert.are.equal("100\n200\n", out)
    assert.same({}, U.container_ids(root))
  end)

  it("commit and export are Container methods", function()
    local c = container.run { image = "busybox", cmd = { "sh", "-c", "echo hi > /made" }, network = "none" }.container
    local img = c:commit { ref = "made:1", change = { "ENV A=1" } }
    assert.is_string(img.id)
    assert.are.equal(img.id, require("ctr.image").resolve("made:1").id)
    local tar = root .. "/fs.tar"
    assert.is_true(c:export(tar))
    local list = U.sh("tar -tf " .. U.q(tar))
    assert.matches("made", list)
    c:remove()
    require("ctr.image").remove("made:1")
  end)
end)
