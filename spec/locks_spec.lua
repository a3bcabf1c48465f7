-- One lock (state.lock_path) and after_fork (#root): a detached container's
-- supervisor, forked from a process that holds locks, holds none of them
-- (not the global lock, not a named one, not another container's), so a
-- long-lived supervisor never keeps a lock its parent took.
local U = require "spec_util"
local core = require "ctr.core"

local root

-- Start container "a" detached while holding a named lock and container
-- b's own lock; print the supervisor's pid.
local SCRIPT = [[
local container = require "ctr.container"
local state = require "ctr.state"
local b = container.create { image = "busybox", cmd = { "sleep", "1000" }, name = "b", network = "none" }
local a = container.create { image = "busybox", cmd = { "sleep", "1000" }, name = "a", network = "none" }
local l = assert(state.lock("spec-held"))
state.with_lock(function() end) -- the global lock, taken and given back
b:_locked(function() a:start { detach = true } end)
l:unlock()
print(a:refresh().state.supervisor.pid, b.id)
]]

-- The lock files a process has open: fds whose target is a lock file of root.
local function lock_fds(pid)
  local out = {}
  for _, fd in ipairs(core.readdir("/proc/" .. pid .. "/fd") or {}) do
    local target = core.readlink("/proc/" .. pid .. "/fd/" .. fd)
    if target and target:sub(1, #root + 1) == root .. "/"
      and (target:match("/lock$") or target:match("%.lock$")) then
      out[#out + 1] = fd .. " -> " .. target
    end
  end
  return out
end

describe("locks #root", function()
  U.per_test_root(function(r) root = r end)

  it("a detached supervisor holds no lock fd its parent held", function()
    local script = root .. "/start.lua"
    local f = assert(io.open(script, "w"))
    f:write(SCRIPT)
    f:close()
    local out, err, code = U.ctr(root, { script })
    assert.are.equal(0, code, err)
    local sup, bid = out:match("^(%d+)%s+(%x+)")
    assert.is_truthy(sup, out)
    assert.is_truthy(core.proc_state(tonumber(sup)), "the supervisor runs")
    assert.same({}, lock_fds(sup))
    -- and so every lock its parent held is free now that the parent is gone
    for _, path in ipairs({ root .. "/containers/" .. bid .. "/lock", root .. "/locks/spec-held.lock",
      root .. "/locks/global.lock" }) do
      local fd, lerr = core.lock_file(path, "ex", { nonblock = true })
      assert.is_truthy(fd, path .. ": " .. tostring(lerr))
      fd:close()
    end
  end)

  it("state.lock_path is re-entrant in a process and exclusive between processes", function()
    local state = require "ctr.state"
    local path = root .. "/x.lock"
    local l1 = assert(state.lock_path(path))
    local l2 = assert(state.lock_path(path))
    assert.is_true(l1.first)
    assert.is_false(l2.first)
    local _, _, code = U.sh("flock -n " .. U.q(path) .. " true")
    assert.are_not.equal(0, code, "another process cannot take it")
    l2:unlock()
    _, _, code = U.sh("flock -n " .. U.q(path) .. " true")
    assert.are_not.equal(0, code, "still held: the outer lock")
    l1:unlock()
    _, _, code = U.sh("flock -n " .. U.q(path) .. " true")
    assert.are.equal(0, code)
  end)

  it("a shared lock_path: with other shared holders, never with an exclusive one", function()
    local state = require "ctr.state"
    local path = root .. "/s.lock"
    local l1 = assert(state.lock_path(path, { shared = true }))
    local l2 = assert(state.lock_path(path, { shared = true }))
    assert.is_false(l2.first)
    local _, _, code = U.sh("flock -n -s " .. U.q(path) .. " true")
    assert.are.equal(0, code, "another process takes it shared")
    _, _, code = U.sh("flock -n " .. U.q(path) .. " true")
    assert.are_not.equal(0, code, "no other process takes it exclusively")
    -- nor this one: the exclusive lock is busy, and a wait for it an error
    local l3, _, e = state.lock_path(path, { nonblock = true })
    assert.is_nil(l3)
    assert.are.equal(core.errno.EWOULDBLOCK, e)
    assert.has_error(function() state.lock_path(path) end)
    l2:unlock()
    l1:unlock()
    _, _, code = U.sh("flock -n " .. U.q(path) .. " true")
    assert.are.equal(0, code)
    -- an exclusive holder may nest a shared request (it covers it)
    l1 = assert(state.lock_path(path))
    l2 = assert(state.lock_path(path, { shared = true }))
    assert.is_false(l2.first)
    l2:unlock()
    l1:unlock()
  end)
end)
