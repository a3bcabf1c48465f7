-- spec/examples_orch_spec.lua: the orchestration examples (bluegreen,
-- jobqueue, keepalive) run end to end through the launcher, each in its own
-- state root, inside the private network namespace tools/test.sh makes
-- (bluegreen publishes a port on 127.0.0.1 and fetches it with the host's
-- wget: loopback only). Each checks what the example claims, that it stays
-- well under 100 lines, and that it leaves nothing behind.
local U = require "spec_util"

local function example(root, name, args, secs, tail)
  local parts = { "timeout", tostring(secs or 60), U.q(U.launcher), U.q(U.srcdir .. "/examples/" .. name) }
  for _, a in ipairs(args or {}) do parts[#parts + 1] = U.q(a) end
  return U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. table.concat(parts, " ") .. (tail or ""))
end

local function lines_of(name)
  local n = 0
  for _ in io.lines(U.srcdir .. "/examples/" .. name) do n = n + 1 end
  return n
end

describe("orchestration examples #root", function()
  local root
  before_each(function() root = U.tmproot() end)
  after_each(function()
    assert.are.same({}, U.rm_all(root))
    U.cleanup(root)
  end)

  it("are each well under 100 lines", function()
    for _, name in ipairs({ "bluegreen.lua", "jobqueue.lua", "keepalive.lua" }) do
      assert.is_true(lines_of(name) <= 90, name .. ": " .. lines_of(name) .. " lines")
    end
  end)

  it("bluegreen.lua switches the published port from v1 to v2 and removes v1", function()
    local out, err, code = example(root, "bluegreen.lua", { "--port", "18280", "--keep" })
    assert.are.equal(0, code, err)
    assert.are.equal("v1 live: v1\nv2 probed: v2\nswitched: v2\nweb-v2 version=v2 running\n", out)
    -- v2 keeps serving on the port, shown by ps with its labels
    assert.are.equal("v2\n", (U.sh("wget -q -O - -T 2 -t 1 http://127.0.0.1:18280/")))
    out = U.ctr(root, { "ps", "-a", "--format", "{{.Names}} {{.Ports}} {{.Labels}}" })
    assert.are.equal("web-v2 127.0.0.1:18280->80/tcp app=web,version=v2\n", out)
    -- without --keep (and after an earlier run) nothing is left, the port is free
    out, err, code = example(root, "bluegreen.lua", { "--port", "18280" })
    assert.are.equal(0, code, err)
    assert.matches("switched: v2\n", out)
    assert.are.same({}, U.container_ids(root))
    assert.are.equal("", (U.sh("wget -q -O - -T 1 -t 1 http://127.0.0.1:18280/")))
    assert.is_nil(require("ctr.network").ruleset():find("18280", 1, true))
  end)

  it("jobqueue.lua reports exit codes, OOM kills and timeouts, and removes every job", function()
    local out, err, code = example(root, "jobqueue.lua", { "-m", "16m", "--timeout", "1.5",
      "echo one", "echo two; exit 3", "exec sleep 30", "exec tail /dev/zero", "echo five" })
    assert.are.equal(1, code, err)
    assert.matches("job 1: exit 0: echo one\n  | one\n", out)
    assert.matches("job 2: exit 3: echo two; exit 3\n  | two\n", out)
    assert.matches("job 3: timed out after 1.5s\n", out)
    assert.matches("job 4: OOM%-killed\n", out)
    assert.matches("job 5: exit 0: echo five\n  | five\n", out)
    assert.matches("\n5 jobs, 3 failed\n$", out)
    assert.are.same({}, U.container_ids(root))
    out, err, code = example(root, "jobqueue.lua", { "true", "echo ok" })
    assert.are.equal(0, code, err)
    assert.matches("2 jobs, 0 failed\n$", out)
  end)

  it("keepalive.lua replaces crashed replicas and keeps N running", function()
    local out, err, code = example(root, "keepalive.lua", { "-n", "2", "--rounds", "8", "--interval", "0.2",
      "--crash-after", "0.4" })
    assert.are.equal(0, code, err)
    assert.matches("^started worker%-1 %(replica 1%)\nstarted worker%-2 %(replica 2%)\n", out)
    assert.matches("worker%-1 exited %(3%)\n", out)
    local restarts = tonumber(out:match("done: 2 replicas kept, (%d+) restarts\n$"))
    assert.is_truthy(restarts, out)
    assert.is_true(restarts >= 2, out)
    local _, exits = out:gsub("exited %(3%)", "")
    assert.are.equal(restarts, exits)
    assert.are.same({}, U.container_ids(root))
  end)

  it("keepalive.lua replaces a replica killed from outside", function()
    local kill = (" sleep 1.2; LUAC_CTR_ROOT=%s %s kill worker-2 >/dev/null; wait"):format(U.q(root), U.q(U.launcher))
    local out, err, code = example(root, "keepalive.lua", { "-n", "3", "--rounds", "15", "--interval", "0.2" },
      60, " > " .. U.q(root .. "/out") .. " &" .. kill .. "; cat " .. U.q(root .. "/out"))
    assert.are.equal(0, code, err)
    assert.matches("worker%-2 exited %(137%)\nstarted worker%-4 %(replica 4%)\n", out)
    assert.matches("done: 3 replicas kept, 1 restarts\n$", out)
    assert.are.same({}, U.container_ids(root))
  end)
  -- Ctrl-C (SIGINT to the launcher) once the example is under way: it ends
  -- with 130 and leaves no container behind
  local function interrupted(name, args, ready)
    local O = require "orch_util"
    local core = require "ctr.core"
    local argv = { U.launcher, U.srcdir .. "/examples/" .. name, table.unpack(args) }
    local p = O.spawn(argv, { LUAC_CTR_ROOT = root })
    local ok = O.expect(p, ready, 20)
    core.kill(p.pid, "INT")
    local out, code = O.finish(p, 30)
    assert.is_true(ok, out)
    assert.are.equal(130, code, out)
    assert.are.same({}, U.container_ids(root), out)
    return out
  end

  it("bluegreen.lua, jobqueue.lua and keepalive.lua clean up when interrupted", function()
    interrupted("bluegreen.lua", { "--port", "18281" }, "v1 live: v1\n")
    assert.is_nil(require("ctr.network").ruleset():find("18281", 1, true))
    interrupted("keepalive.lua", { "-n", "2" }, "started worker%-2")
    local core = require "ctr.core"
    local O = require "orch_util"
    local p = O.launch(root, U.srcdir .. "/examples/jobqueue.lua", { "exec sleep 30", "exec sleep 30", "exec sleep 30", "true" })
    assert.is_truthy(U.wait_for(function() return #U.container_ids(root) == 3 end, 20))
    core.sleep(0.3)
    core.kill(p.pid, "INT")
    local out, code = O.finish(p, 30)
    assert.are.equal(130, code, out)
    assert.are.same({}, U.container_ids(root), out)
  end)
end)
