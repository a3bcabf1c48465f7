-- After a crash (#root): supervisors and containers killed with SIGKILL, or
-- pids reused after a reboot. ps tells the truth and rm cleans up
-- completely: cgroups, directories, network allocations.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function state_of(id)
  return json.decode(assert(core.read_file(root .. "/containers/" .. id .. "/state.json")))
end

local function rund(...)
  local out, err, code = ctr("run", "-d", ...)
  assert.are.equal(0, code, err)
  return (out:gsub("%s+$", ""))
end

local function gone(pid)
  return U.wait_for(function() return core.proc_state(pid) == nil or core.proc_state(pid) == "Z" end, 10)
end

local function ps_line(name)
  for l in ctr("ps", "-a"):gmatch("[^\n]+") do
    if l:match("%s" .. name .. "$") then return l end
  end
end

local _ -- what multiple assignments throw away (not a global)

describe("crash recovery #root", function()
  U.per_test_root(function(r) root = r end)

  it("supervisor and container killed: ps -a shows exited, rm removes cgroup, dir and address", function()
    local id = rund("--name", "victim", "busybox", "sleep", "60")
    local other = rund("--name", "bystander", "--network", "none", "busybox", "sleep", "60")
    local st = state_of(id)
    assert.are.equal("running", st.status)
    local att = st.network.attachment
    assert.is_table(att, "the default network gave the container an address")
    assert.is_truthy(ctr("network", "inspect", att.network):find(id, 1, true))
    -- the crash: the supervisor first (nobody records anything), then the container
    assert(core.kill(st.supervisor.pid, 9))
    assert.is_truthy(gone(st.supervisor.pid))
    assert(core.kill(st.pid, 9))
    assert.is_truthy(gone(st.pid))
    assert.are.equal("running", state_of(id).status) -- nothing recorded it...
    assert.matches("Exited %(255%)", ps_line("victim")) -- ...but ps checks the kernel
    assert.is_nil(ctr("ps"):find("victim", 1, true))
    assert.matches("Up ", ps_line("bystander"))
    local out = ctr("inspect", "-f", "{{.State.Status}} {{.State.Running}}", "victim")
    assert.are.equal("exited false\n", out)
    assert.is_true(#U.cgroup_dirs(id) > 0) -- left behind by the crash
    local err, code
    out, err, code = ctr("rm", "victim")
    assert.are.equal(0, code, err)
    assert.same({}, U.cgroup_dirs(id))
    assert.is_false(core.exists(root .. "/containers/" .. id))
    -- the address is free again: network inspect no longer lists it
    local nets = json.decode((ctr("network", "inspect", att.network)))
    local text = json.encode(nets)
    assert.is_nil(text:find(id, 1, true), "allocation of the removed container still there")
    -- a new container can take that very address
    local id2 = rund("--name", "heir", "--ip", att.ip, "busybox", "sleep", "60")
    assert.are.equal(att.ip, state_of(id2).network.attachment.ip)
    -- the bystander was never disturbed
    assert.are.equal("running", state_of(other).status)
    assert.are.equal(state_of(other).starttime, core.starttime(state_of(other).pid))
  end)

  it("supervisor killed, container alive: ps shows it up; stop records the exit, rm cleans up", function()
    local id = rund("--name", "orphan", "--network", "none", "busybox", "sleep", "60")
    local st = state_of(id)
    assert(core.kill(st.supervisor.pid, 9))
    assert.is_truthy(gone(st.supervisor.pid))
    assert.matches("Up ", ps_line("orphan"))
    local out, err, code = ctr("stop", "-t", "1", "orphan")
    assert.are.equal(0, code, err)
    assert.are.equal("orphan\n", out)
    assert.is_truthy(gone(st.pid))
    local st2 = state_of(id)
    assert.are.equal("exited", st2.status)
    assert.is_nil(st2.pid)
    assert.matches("Exited", ps_line("orphan"))
    out, err, code = ctr("rm", "orphan")
    assert.are.equal(0, code, err)
    assert.same({}, U.cgroup_dirs(id))
    assert.same({}, U.container_ids(root))
  end)

  it("container killed, supervisor alive: the supervisor records the exit", function()
    local id = rund("--name", "shot", "--network", "none", "busybox", "sleep", "60")
    local st = state_of(id)
    assert(core.kill(st.pid, 9))
    assert.is_truthy(U.wait_for(function() return state_of(id).status == "exited" end, 10))
    assert.are.equal(137, state_of(id).exit_code)
    -- the supervisor removes the cgroup right after recording the exit
    assert.is_truthy(U.wait_for(function() return #U.cgroup_dirs(id) == 0 end, 10))
    assert.matches("Exited %(137%)", ps_line("shot"))
  end)

  it("a creation cut short (no state.json) is listed as dead and goes with rm ID", function()
    local id = rund("--name", "whole", "--network", "none", "busybox", "true")
    ctr("wait", "whole")
    local broken = ("%064x"):format(7)
    local dir = root .. "/containers/" .. broken
    assert(core.mkdir(dir, 448))
    assert(core.mkdir(dir .. "/upper", 493))
    assert(core.write_file_atomic(dir .. "/config.json", "{}", 384))
    local out = ctr("ps", "-a", "-q", "--no-trunc", "--filter", "status=dead")
    assert.are.equal(broken .. "\n", out)
    local err, code
    out, err, code = ctr("rm", broken:sub(1, 20))
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(dir))
    assert.is_true(core.exists(root .. "/containers/" .. id))
    _, err, code = ctr("rm", broken)
    assert.are.equal(1, code)
    assert.matches("no such container", err)
  end)

  it("after a reboot a recorded pid may belong to another process: never mistaken for the container", function()
    local id = rund("--name", "stale", "--network", "none", "busybox", "true")
    assert.are.equal("0\n", (ctr("wait", "stale")))
    -- as if it had been running before a reboot, its pid now reused by us
    local st = state_of(id)
    st.status, st.pid, st.starttime = "running", core.getpid(), core.starttime(core.getpid()) + 1
    st.supervisor = { pid = core.getpid(), starttime = core.starttime(core.getpid()) + 1 }
    st.exit_code = nil
    assert(core.write_file_atomic(root .. "/containers/" .. id .. "/state.json", json.encode(st), 384))
    assert.matches("Exited %(255%)", ps_line("stale"))
    local _, err, code = ctr("kill", "stale")
    assert.are.equal(1, code)
    assert.matches("not running", err)
    _, err, code = ctr("stop", "stale")
    assert.are.equal(0, code, err)
    assert.are.equal("exited", state_of(id).status)
    assert.is_truthy(core.proc_state(core.getpid())) -- we are still alive
    _, err, code = ctr("rm", "stale")
    assert.are.equal(0, code, err)
    assert.same({}, U.container_ids(root))
  end)
end)
