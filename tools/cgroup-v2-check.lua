-- tools/cgroup-v2-check.lua - exercise ctr.cgroup on a pure cgroup v2 kernel.
--
-- Run by spec/cgroup_v2_spec.lua inside the throw-away VM of
-- tools/v2vm.sh (--hostroot --share <repo>), as root, from the repo:
--   lua5.4 tools/cgroup-v2-check.lua <build dir>
-- Prints "V2CHECK OK <name>" or "V2CHECK FAIL <name>: <why>" per check, then
-- "V2CHECK DONE passed=<n> failed=<m>"; exits 0 only when every check passed.
local build = arg[1] or os.getenv("LUAC_CTR_BUILD") or "build"
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = build .. "/?.so;" .. package.cpath

local cgroup = require "ctr.cgroup"

local PARENT = "luac-ctr-v2check"
local ROOT = "/sys/fs/cgroup"
local passed, failed = 0, 0
local started = {} -- popen handles of processes we started, closed at the end
local made = {}    -- cgroups we created, removed at the end

local function readf(p)
  local f = io.open(p)
  if not f then return nil end
  local s = f:read("a"); f:close()
  return (s:gsub("%s+$", ""))
end

local function check(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
    print("V2CHECK OK " .. name)
  else
    failed = failed + 1
    print("V2CHECK FAIL " .. name .. ": " .. tostring(err))
  end
  io.stdout:flush()
end

local function eq(want, got, what)
  if want ~= got then
    error(string.format("%s: want %s, got %s", what, tostring(want), tostring(got)), 2)
  end
end

local function create(name, opts)
  local g = cgroup.create(PARENT .. "/" .. name, opts)
  made[#made + 1] = g
  return g
end

-- Start `sh -c 'join the cgroup; exec cmd'`; returns the popen handle.
local function start_in(g, cmd)
  local joins = {}
  for _, f in ipairs(g:procs_files()) do joins[#joins + 1] = "echo $$ > " .. f end
  local script = table.concat(joins, "; ") .. "; echo joined; exec " .. cmd
  local h = assert(io.popen("sh -c '" .. script .. "' 2>&1", "r"))
  started[#started + 1] = h
  eq("joined", h:read("l"), "child joined the cgroup")
  return h
end

local function lua_cmd(code)
  return 'lua5.4 -e "' .. code .. '"'
end

check("layout", function()
  eq("v2", cgroup.layout(), "layout")
end)

check("limits", function()
  local g = create("limits", { memory = "32m", memory_swap = "64m", cpus = 1.5,
                               cpuset_cpus = "0", pids = 10 })
  local d = ROOT .. "/" .. g.path
  eq("33554432", readf(d .. "/memory.max"), "memory.max")
  eq("33554432", readf(d .. "/memory.swap.max"), "memory.swap.max")
  eq("150000 100000", readf(d .. "/cpu.max"), "cpu.max")
  eq("0", readf(d .. "/cpuset.cpus"), "cpuset.cpus")
  eq("10", readf(d .. "/pids.max"), "pids.max")
  local sub = readf(ROOT .. "/" .. PARENT .. "/cgroup.subtree_control")
  for _, c in ipairs({ "cpuset", "cpu", "memory", "pids" }) do
    assert(sub:match("%f[%w]" .. c .. "%f[^%w]"), "parent subtree_control lacks " .. c .. ": " .. sub)
  end
  eq(33554432, g:stats().memory_max, "stats().memory_max")
  g:remove()
  eq(nil, readf(d .. "/cgroup.procs"), "cgroup gone after remove")
end)

check("swap_unlimited", function()
  local g = create("swap", { memory = "64m", memory_swap = -1, cpus = 0.5, cpu_period = 50000 })
  local d = ROOT .. "/" .. g.path
  eq("max", readf(d .. "/memory.swap.max"), "memory.swap.max")
  eq("25000 50000", readf(d .. "/cpu.max"), "cpu.max")
  eq("max", readf(d .. "/pids.max"), "pids.max untouched")
  g:remove()
end)

check("add", function()
  local g = create("add", { pids = 50 })
  local h = assert(io.popen("sh -c 'echo $$; exec sleep 30' 2>/dev/null", "r"))
  started[#started + 1] = h
  local pid = assert(tonumber(h:read("l")), "pid of sleep")
  g:add(pid)
  eq("0::/" .. g.path, readf("/proc/" .. pid .. "/cgroup"), "/proc/pid/cgroup")
  eq(pid, g:pids()[1], "pids()")
  eq(1, g:stats().pids, "stats().pids")
  local ok, err = pcall(g.remove, g)
  assert(not ok and tostring(err):match("still in it"), "remove without force must fail: " .. tostring(err))
  g:remove({ force = true })
  eq(nil, readf(ROOT .. "/" .. g.path .. "/cgroup.procs"), "cgroup gone after forced remove")
  eq(nil, cgroup.open(g.path), "open after remove")
end)

check("oom", function()
  local g = create("oom", { memory = "32m", memory_swap = "32m" })
  assert(not g:oom_killed(), "no OOM kill before the test")
  local h = start_in(g, lua_cmd("local t={} for i=1,100 do t[i]=string.rep([[x]],1<<20)..i end print([[survived]])"))
  local out = h:read("a")
  local _, how, code = h:close()
  assert(not out:match("survived"), "the allocation survived a 32m limit: " .. out)
  local status = how .. " " .. code -- via popen's /bin/sh: "exit 137"
  assert(status == "signal 9" or status == "exit 137", "child not killed by SIGKILL: " .. status)
  assert(g:oom_killed(), "oom_killed() after the OOM kill")
  assert(g:stats().oom_kills >= 1, "stats().oom_kills")
  g:remove()
end)

check("pids_limit", function()
  local g = create("pids", { pids = 10 })
  local h = start_in(g, lua_cmd("local ok,bad,hs=0,0,{} for i=1,20 do local p=io.popen([[exec sleep 30]]) "
    .. "if p then ok=ok+1 hs[#hs+1]=p else bad=bad+1 end end print(ok..[[ ]]..bad) io.stdout:flush() os.execute([[exec sleep 30]])"))
  local ok, bad = h:read("l"):match("^(%d+) (%d+)$")
  ok, bad = tonumber(ok), tonumber(bad)
  assert(ok and ok <= 9 and bad >= 11 and ok + bad == 20,
    "spawned " .. tostring(ok) .. ", failed " .. tostring(bad) .. " (want at most 9 spawned)")
  eq(10, g:stats().pids, "stats().pids at the limit")
  g:kill()
  eq(0, #g:pids(), "pids() after kill")
  g:remove()
end)

check("cpu_usage", function()
  local g = create("cpu", { cpus = 1 })
  local h = start_in(g, lua_cmd("local t=os.clock() while os.clock()-t<0.2 do end"))
  h:read("a"); h:close()
  local s = g:stats()
  assert(s.cpu_usec and s.cpu_usec >= 100000, "cpu_usec after 0.2 s of work: " .. tostring(s.cpu_usec))
  g:remove()
end)

check("errors", function()
  local ok, err = pcall(cgroup.create, PARENT .. "/bad", { memory = "12x" })
  assert(not ok and tostring(err):match('invalid memory value "12x"'), tostring(err))
  ok, err = pcall(cgroup.create, PARENT .. "/bad", { cpuset_cpus = "99" })
  assert(not ok and tostring(err):match("cpuset.cpus"), tostring(err))
  eq(nil, cgroup.open(PARENT .. "/bad"), "failed create left a cgroup")
  local g = create("twice", {})
  ok, err = pcall(cgroup.create, g.path, {})
  assert(not ok and tostring(err):match("already exists"), tostring(err))
  g:remove(); g:remove()
end)

check("devices", function()
  -- a BPF device program from the rules: the last matching rule decides, so a
  -- deny may narrow an earlier allow (which v1 cannot express)
  local g = create("devices", {})
  g:set_devices({ { allow = false, access = "rwm" }, { allow = true, type = "c", major = 1, access = "rw" },
    { allow = false, type = "c", major = 1, minor = 5, access = "w" }, { allow = true, type = "c", access = "m" } })
  local joins = {}
  for _, f in ipairs(g:procs_files()) do joins[#joins + 1] = "echo $$ > " .. f end
  local probes = {}
  for _, d in ipairs({ "null", "zero", "full" }) do
    probes[#probes + 1] = ("(exec 3</dev/%s) 2>&- && echo %s-r; (exec 3>/dev/%s) 2>&- && echo %s-w"):format(d, d, d, d)
  end
  probes[#probes + 1] = "mknod /tmp/c$$ c 1 3 2>&- && echo mknod-c; mknod /tmp/b$$ b 7 0 2>&- || echo mknod-b-denied"
  probes[#probes + 1] = "rm -f /tmp/c$$ /tmp/b$$"
  local h = assert(io.popen("sh -c '" .. table.concat(joins, "; ") .. "; " .. table.concat(probes, "; ") .. "'", "r"))
  local out = h:read("a")
  h:close()
  eq("null-r null-w zero-r full-r full-w mknod-c mknod-b-denied", (out:gsub("%s+$", ""):gsub("\n", " ")), "device access")
  local ok, err = pcall(g.set_devices, g, { { allow = true, type = "c", access = "rwx" } })
  assert(not ok and tostring(err):match("invalid device access"), tostring(err))
  g:remove()
end)

-- clean up whatever a failed check left behind
for _, g in ipairs(made) do pcall(g.remove, g, { force = true }) end
for _, h in ipairs(started) do pcall(h.close, h) end
os.execute("rmdir " .. ROOT .. "/" .. PARENT .. " 2>/dev/null")

print(string.format("V2CHECK DONE passed=%d failed=%d", passed, failed))
os.exit(failed == 0 and 0 or 1)
