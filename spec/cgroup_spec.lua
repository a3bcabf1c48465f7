-- ctr.cgroup against this machine's real cgroups (hybrid here: v1 controllers
-- plus a cgroup2 mount at /sys/fs/cgroup/unified; the checks also hold on v1
-- and v2). Every cgroup lives below a parent private to this run, removed in
-- teardown; every process started is killed in after_each.
local cgroup = require "ctr.cgroup"
local U = require "spec_util"

local MiB = 1024 * 1024
local PARENT = "luac-ctr-spec-" .. (io.open("/proc/self/stat"):read("n"))

local function readf(p)
  local f = io.open(p)
  if not f then return nil end
  local s = f:read("a"); f:close()
  return (s:gsub("%s+$", ""))
end

local function sh_out(cmd)
  local p = io.popen(cmd); local s = p:read("a"); p:close()
  return (s:gsub("%s+$", ""))
end

-- The mounted hierarchies, read independently of the code under test.
local function mounts()
  local t = {}
  for line in io.lines("/proc/self/mountinfo") do
    local mp, fstype, opts = line:match("^%S+ %S+ %S+ %S+ (%S+) .- %- (%S+) %S+ (%S+)$")
    if fstype == "cgroup" or fstype == "cgroup2" then
      t[#t + 1] = { mount = mp, version = fstype == "cgroup2" and 2 or 1, opts = "," .. opts .. "," }
    end
  end
  return t
end

-- Directory and version of the hierarchy that owns a controller.
local function owner(ctrl)
  local v2
  for _, m in ipairs(mounts()) do
    if m.version == 1 and m.opts:find("," .. ctrl .. ",", 1, true) then return m.mount, 1 end
    if m.version == 2 and not v2 then v2 = m.mount end
  end
  return v2, 2
end

local function expected_layout()
  local root = sh_out("stat -f -c %T /sys/fs/cgroup")
  if root == "cgroup2fs" then return "v2" end
  local v1, v2 = false, false
  for _, m in ipairs(mounts()) do
    if m.version == 1 then v1 = true else v2 = true end
  end
  return (v1 and v2) and "hybrid" or (v1 and "v1" or "v2")
end

describe("ctr.cgroup #root", function()
  local started, made

  -- Start a process via popen; returns its pid (the shell execs cmd).
  local function spawn(cmd)
    local h = assert(io.popen("sh -c 'echo $$; exec " .. cmd .. "' 2>/dev/null", "r"))
    local pid = assert(tonumber(h:read("l")))
    started[#started + 1] = { h = h, pid = pid }
    return pid
  end

  -- Start `cmd` already inside g (it joins before exec); returns the popen handle.
  local function spawn_in(g, cmd)
    local joins = {}
    for _, f in ipairs(g:procs_files()) do joins[#joins + 1] = "echo $$ > " .. f end
    local h = assert(io.popen("sh -c '" .. table.concat(joins, "; ") .. "; echo joined; exec " .. cmd .. "' 2>&1", "r"))
    started[#started + 1] = { h = h }
    assert.are.equal("joined", h:read("l"))
    return h
  end

  local function create(name, opts)
    local g = cgroup.create(PARENT .. "/" .. name, opts)
    made[#made + 1] = g
    return g
  end

  before_each(function() started, made = {}, {} end)

  after_each(function()
    for _, g in ipairs(made) do pcall(g.remove, g, { force = true }) end
    made = {}
    for _, s in ipairs(started) do
      if s.pid then os.execute("kill -9 " .. s.pid .. " 2>/dev/null") end
      s.h:close()
    end
  end)

  teardown(function()
    local p = cgroup.open(PARENT)
    if p then p:remove({ force = true }) end
  end)

  it("detects the layout from statfs and mountinfo", function()
    assert.are.equal(expected_layout(), cgroup.layout())
    local info = cgroup.info()
    assert.are.equal(cgroup.layout(), info.kind)
    assert.is_true(#info.hierarchies >= 1)
  end)

  it("creates the cgroup on every hierarchy with the limits in the files", function()
    local g = create("limits", { memory = "32m", memory_swap = "64m", cpus = 1.5,
                                 cpuset_cpus = "0", pids = 10 })
    assert.are.equal(PARENT .. "/limits", g.path)
    local ms = mounts()
    assert.are.equal(#ms, #g:dirs())
    for _, m in ipairs(ms) do
      assert.truthy(readf(m.mount .. "/" .. g.path .. "/cgroup.procs"), "missing in " .. m.mount)
    end
    local md, mv = owner("memory")
    local cd, cv = owner("cpu")
    local sd = owner("cpuset")
    local pd = owner("pids")
    if mv == 1 then
      assert.are.equal(tostring(32 * MiB), readf(md .. "/" .. g.path .. "/memory.limit_in_bytes"))
      local memsw = md .. "/" .. g.path .. "/memory.memsw.limit_in_bytes"
      if readf(memsw) then assert.are.equal(tostring(64 * MiB), readf(memsw)) end
    else
      assert.are.equal(tostring(32 * MiB), readf(md .. "/" .. g.path .. "/memory.max"))
      assert.are.equal(tostring(32 * MiB), readf(md .. "/" .. g.path .. "/memory.swap.max"))
    end
    if cv == 1 then
      assert.are.equal("150000", readf(cd .. "/" .. g.path .. "/cpu.cfs_quota_us"))
      assert.are.equal("100000", readf(cd .. "/" .. g.path .. "/cpu.cfs_period_us"))
    else
      assert.are.equal("150000 100000", readf(cd .. "/" .. g.path .. "/cpu.max"))
    end
    assert.are.equal("0", readf(sd .. "/" .. g.path .. "/cpuset.cpus"))
    assert.are.equal("10", readf(pd .. "/" .. g.path .. "/pids.max"))
    assert.are.equal(32 * MiB, g:stats().memory_max)
  end)

  it("copies cpuset.cpus and cpuset.mems from the parent when not given", function()
    local g = create("cpuset", {})
    local sd = owner("cpuset")
    assert.are.equal(readf(sd .. "/cpuset.effective_cpus"), readf(sd .. "/" .. g.path .. "/cpuset.effective_cpus"))
    assert.are.equal(readf(sd .. "/cpuset.effective_mems"), readf(sd .. "/" .. g.path .. "/cpuset.effective_mems"))
    assert.are_not.equal("", readf(sd .. "/" .. g.path .. "/cpuset.effective_mems"))
    assert.are.equal(-1, g:stats().memory_max)
  end)

  it("finds v1 hierarchies mounted elsewhere (v1 layout, escaped mount points)", function()
    local _, mv = owner("memory")
    if mv ~= 1 or not owner("pids") or not owner("cpu") then
      pending("needs memory, pids and cpu on cgroup v1")
      return
    end
    local path = PARENT .. "/elsewhere"
    made[#made + 1] = { remove = function() local g = cgroup.open(path); if g then g:remove({ force = true }) end end }
    local tmp = sh_out("mktemp -d /tmp/luac-ctr-spec.XXXXXX")
    local d = tmp .. "/my mounts"
    local lua = 'local cg = require "ctr.cgroup"; print(cg.layout()); ' ..
      'for _, h in ipairs(cg.info().hierarchies) do print(h.mount .. "=" .. h.controllers) end; ' ..
      'local g = cg.create("' .. path .. '", { memory = "48m", pids = 7, cpus = 0.5 }); ' ..
      'print(#g:dirs())'
    local script = table.concat({
      "set -e", "mount -t tmpfs tmpfs /sys/fs/cgroup",
      'mkdir -p "$D/mem" "$D/pids" "$D/cpu"',
      'mount -t cgroup -o memory cgroup "$D/mem"', 'mount -t cgroup -o pids cgroup "$D/pids"',
      'mount -t cgroup -o cpu cgroup "$D/cpu"',
      'LUA_PATH="lua/?.lua;;" LUA_CPATH="$B/?.so;;" lua5.4 -e "$L"' }, "\n")
    local out, err, code = U.sh("D=" .. U.q(d) .. " B=" .. U.q(U.build) .. " L=" .. U.q(lua) ..
      " unshare -m --propagation private sh -c " .. U.q(script))
    os.execute("rm -rf " .. U.q(tmp))
    assert.are.equal(0, code, out .. err)
    assert.are.equal(table.concat({ "v1", d .. "/mem=memory", d .. "/pids=pids", d .. "/cpu=cpu", "3" }, "\n"),
      out:gsub("%s+$", ""))
    local md, pd, cd = owner("memory"), owner("pids"), owner("cpu")
    assert.are.equal(tostring(48 * MiB), readf(md .. "/" .. path .. "/memory.limit_in_bytes"))
    assert.are.equal("7", readf(pd .. "/" .. path .. "/pids.max"))
    assert.are.equal("50000", readf(cd .. "/" .. path .. "/cpu.cfs_quota_us"))
    assert.are.equal(3, #assert(cgroup.open(path)):dirs())
  end)

  it("moves a process into the cgroup on every hierarchy", function()
    local g = create("add", { pids = 50 })
    local pid = spawn("sleep 30")
    g:add(pid)
    local lines = 0
    for line in io.lines("/proc/" .. pid .. "/cgroup") do
      lines = lines + 1
      assert.are.equal("/" .. g.path, line:match("^%d+:[^:]*:(.*)$"), line)
    end
    assert.are.equal(#g:dirs(), lines)
    assert.are.same({ pid }, g:pids())
    assert.are.equal(1, g:stats().pids)
    local again = assert(cgroup.open(g.path))
    assert.are.same({ pid }, again:pids())
  end)

  it("OOM-kills a process that allocates past the memory limit and reports it", function()
    local g = create("oom", { memory = "32m", memory_swap = "32m" })
    assert.is_false(g:oom_killed())
    local h = spawn_in(g, 'lua5.4 -e "local t={} for i=1,100 do t[i]=string.rep([[x]],1<<20)..i end print([[survived]])"')
    local out = h:read("a")
    assert.is_nil(out:match("survived"))
    assert.is_true(g:oom_killed())
    assert.is_true(g:stats().oom_kills >= 1)
  end)

  it("stops forks at the pids limit", function()
    local g = create("pids", { pids = 10 })
    local h = spawn_in(g, 'lua5.4 -e "local ok,bad,hs=0,0,{} for i=1,20 do local p=io.popen([[exec sleep 30]]) '
      .. 'if p then ok=ok+1 hs[#hs+1]=p else bad=bad+1 end end print(ok..[[ ]]..bad) io.stdout:flush() os.execute([[exec sleep 30]])"')
    local ok, bad = h:read("l"):match("^(%d+) (%d+)$")
    assert.are.equal(9, tonumber(ok))  -- lua itself is the 10th task
    assert.are.equal(11, tonumber(bad))
    assert.are.equal(10, g:stats().pids)
    g:kill()
    assert.are.same({}, g:pids())
  end)

  it("counts CPU time", function()
    local g = create("cpu", { cpus = 1 })
    local h = spawn_in(g, 'lua5.4 -e "local t=os.clock() while os.clock()-t<0.2 do end"')
    h:read("a")
    assert.is_true(g:stats().cpu_usec >= 100000)
  end)

  it("removes the cgroup everywhere, idempotently", function()
    local g = create("rm", { memory = "64m" })
    local dirs = g:dirs()
    assert.is_true(#dirs >= 1)
    g:remove()
    for _, d in ipairs(dirs) do assert.is_nil(readf(d .. "/cgroup.procs"), d) end
    assert.is_true(g:remove())
    local none, err = cgroup.open(g.path)
    assert.is_nil(none)
    assert.matches("no cgroup", err)
  end)

  it("refuses to remove a cgroup with a live process unless forced", function()
    local g = create("busy", {})
    local pid = spawn("sleep 30")
    g:add(pid)
    local ok, err = pcall(g.remove, g)
    assert.is_false(ok)
    assert.matches("cannot remove cgroup " .. PARENT:gsub("%-", "%%-") .. "/busy: 1 process is still in it", tostring(err))
    g:remove({ force = true })
    assert.is_nil(cgroup.open(g.path))
    -- killed: gone (the file may vanish between open and read: empty), or a
    -- zombie until it is reaped
    local st = readf("/proc/" .. pid .. "/stat")
    assert.is_true(st == nil or st == "" or st:match("^%d+ %(.-%) Z") ~= nil, st)
  end)

  it("never shares a cgroup and cleans up after a failed create", function()
    local g = create("once", {})
    local ok, err = pcall(cgroup.create, g.path, {})
    assert.is_false(ok)
    assert.matches("already exists", tostring(err))
    ok, err = pcall(cgroup.create, PARENT .. "/badcpus", { cpuset_cpus = "4095" })
    assert.is_false(ok)
    assert.matches("cpuset.cpus", tostring(err))
    assert.is_nil(cgroup.open(PARENT .. "/badcpus"))
  end)

  it("rejects bad limits and paths with clear messages", function()
    local function err_of(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return tostring(e) -- a ctr.errors value: its message
    end
    assert.are.equal('invalid memory value "12x": use a number with an optional b, k, m or g suffix',
      err_of(cgroup.parse_memory, "12x"))
    assert.matches("invalid memory value", err_of(cgroup.parse_memory, "-1"))
    assert.matches("invalid memory value", err_of(cgroup.parse_memory, ""))
    assert.matches("invalid memory value", err_of(cgroup.parse_memory, "1bb"))
    assert.matches('invalid cpus value "abc"', err_of(cgroup.parse_cpus, "abc"))
    assert.matches("range of CPUs is from 0.01 to", err_of(cgroup.parse_cpus, "0"))
    assert.matches("range of CPUs is from 0.01 to", err_of(cgroup.parse_cpus, "1000"))
    assert.matches("memory_swap: you should always set the memory limit",
      err_of(cgroup.create, PARENT .. "/x", { memory_swap = "1g" }))
    assert.matches("must be at least the memory limit",
      err_of(cgroup.create, PARENT .. "/x", { memory = "1g", memory_swap = "512m" }))
    assert.matches("minimum memory limit allowed is 6MB", err_of(cgroup.create, PARENT .. "/x", { memory = "1m" }))
    assert.matches('pids: invalid value', err_of(cgroup.create, PARENT .. "/x", { pids = 1.5 }))
    assert.matches('cpuset_cpus: invalid value "a"', err_of(cgroup.create, PARENT .. "/x", { cpuset_cpus = "a" }))
    assert.matches("must be relative", err_of(cgroup.create, "/abs", {}))
    assert.matches('"%.%."', err_of(cgroup.create, PARENT .. "/../x", {}))
    assert.matches("must not be empty", err_of(cgroup.create, "", {}))
    assert.matches("control character", err_of(cgroup.create, PARENT .. "/a\nb", {}))
    assert.matches("unknown cgroup option 'memroy'", err_of(cgroup.create, PARENT .. "/x", { memroy = 1 }))
    assert.is_nil(cgroup.open(PARENT .. "/x"))
  end)

  it("parses docker-style sizes and cpus", function()
    assert.are.equal(512 * MiB, cgroup.parse_memory("512m"))
    assert.are.equal(512 * MiB, cgroup.parse_memory("512MB"))
    assert.are.equal(1024 * MiB, cgroup.parse_memory("1G"))
    assert.are.equal(1536 * MiB, cgroup.parse_memory("1.5g"))
    assert.are.equal(100 * 1024, cgroup.parse_memory("100k"))
    assert.are.equal(2048, cgroup.parse_memory("2048b"))
    assert.are.equal(4096, cgroup.parse_memory("4096"))
    assert.are.equal(1.5, cgroup.parse_cpus("1.5"))
    assert.are.equal(0.5, cgroup.parse_cpus(0.5))
    assert.are.equal("luac-ctr/abc", cgroup.path_for("abc"))
    assert.are.equal("x/y/abc", cgroup.path_for("abc", "x/y"))
  end)
end)
