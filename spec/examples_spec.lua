-- spec/examples_spec.lua: every examples/*.lua runs end to end through the
-- launcher, against the kernel, each in its own state root; the specs check
-- what the examples claim (the page fetched by name, exit codes and output
-- collected, the built image runs with its changes, the probe-triggered
-- restart, the sandbox's read-only root and pids limit) and that the
-- examples leave nothing behind. Run inside a private network namespace
-- (tools/test.sh does): compose.lua makes a bridge network.
local U = require "spec_util"

-- Run an example with the launcher under `timeout` (a broken example must
-- not hang the suite). Returns stdout, stderr, exit code.
local function example(root, name, args, secs)
  local parts = { "timeout", tostring(secs or 120), U.q(U.launcher), U.q(U.srcdir .. "/examples/" .. name) }
  for _, a in ipairs(args or {}) do parts[#parts + 1] = U.q(a) end
  return U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. table.concat(parts, " "))
end

-- Remove what an example may have left (containers, networks), then the root.
local function cleanup(root)
  U.rm_all(root)
  pcall(function()
    local state = require "ctr.state"
    local network = require "ctr.network"
    state.set_root(root)
    for _, n in ipairs(network.list()) do pcall(network.remove, n.name) end
    state.set_root(nil)
  end)
  U.cleanup(root)
end

local function link_exists(name)
  local _, _, code = U.sh("ip link show " .. U.q(name) .. " >/dev/null 2>&1")
  return code == 0
end

local _ -- what multiple assignments throw away (not a global)

describe("examples #root", function()
  local root
  before_each(function() root = U.tmproot() end)
  after_each(function() cleanup(root) end)

  describe("compose.lua", function()
    it("up serves a page that the client fetches by name; ps shows both; down removes everything", function()
      local page = "page-" .. require("ctr.core").random_hex(6)
      local out, err, code = example(root, "compose.lua", { "up", "--project", "t1", "--page", page })
      assert.are.equal(0, code, err)
      assert.are.equal(page .. "\n", out) -- the client's wget -O - http://web/ output, and only that

      local net = require("ctr.json").decode(assert(io.open(root .. "/networks/t1-net.json")):read("a"))
      assert.is_true(link_exists(net.bridge))

      out, err, code = example(root, "compose.lua", { "ps", "--project", "t1" })
      assert.are.equal(0, code, err)
      local web_ip = out:match("\nweb%s+t1_web%s+running%s+(%d+%.%d+%.%d+%.%d+)")
      assert.is_truthy(web_ip, out)
      assert.are.equal(net.subnet:match("^(%d+%.%d+%.%d+%.)"), web_ip:match("^(%d+%.%d+%.%d+%.)"))
      assert.matches("\nclient%s+t1_client%s+exited%s+0", out)

      out, err, code = example(root, "compose.lua", { "down", "--project", "t1" })
      assert.are.equal(0, code, err)
      assert.are.same({}, U.container_ids(root))
      assert.is_nil(io.open(root .. "/networks/t1-net.json"))
      assert.is_false(link_exists(net.bridge))
    end)

    it("up again starts afresh, down twice is fine, and a bad subcommand is refused", function()
      local out, err, code = example(root, "compose.lua", { "up", "--project", "a" })
      assert.are.equal(0, code, err)
      assert.are.equal("Hello from web\n", out)
      local first = U.container_ids(root)
      assert.are.equal(2, #first)
      out, err, code = example(root, "compose.lua", { "up", "--project", "a", "--page", "second" })
      assert.are.equal(0, code, err)
      assert.are.equal("second\n", out)
      local second = U.container_ids(root)
      assert.are.equal(2, #second)
      for _, id in ipairs(first) do
        for _, id2 in ipairs(second) do assert.are_not.equal(id, id2) end
      end
      for _ = 1, 2 do
        _, err, code = example(root, "compose.lua", { "down", "--project", "a" })
        assert.are.equal(0, code, err)
      end
      assert.are.same({}, U.container_ids(root))
      _, err, code = example(root, "compose.lua", { "bogus" })
      assert.are.equal(125, code)
      assert.matches("usage", err)
    end)
  end)

  describe("jobs.lua", function()
    it("runs N jobs at most K at once with limits, collecting exit codes and output", function()
      local shared = root .. "/shared"
      os.execute("mkdir -p " .. U.q(shared))
      local mark = "echo start >> /shared/log; sleep 0.3; echo end >> /shared/log; "
      local out, err, code = example(root, "jobs.lua", {
        "-j", "2", "-m", "16m", "-v", shared .. ":/shared",
        mark .. "echo one",
        mark .. "echo two >&2; exit 3",
        mark .. "echo three",
        "exec tail /dev/zero", -- over its memory limit: OOM-killed
        mark .. "echo five",
      })
      assert.are.equal(1, code, err)
      assert.matches("job 1 exit 0: [^\n]*\n  | one\n", out)
      assert.matches("job 2 exit 3: [^\n]*\n  | two\n", out)
      assert.matches("job 3 exit 0: [^\n]*\n  | three\n", out)
      assert.matches("job 4 exit 137: exec tail /dev/zero\n", out)
      assert.matches("job 5 exit 0: [^\n]*\n  | five\n", out)
      assert.matches("5 jobs, 2 failed\n$", out)
      -- the shared log: every marked job ran, never more than 2 at once
      local running, most, starts = 0, 0, 0
      for line in io.lines(shared .. "/log") do
        if line == "start" then running = running + 1; starts = starts + 1 else running = running - 1 end
        most = math.max(most, running)
      end
      assert.are.equal(4, starts)
      assert.are.equal(0, running)
      assert.is_true(most >= 1 and most <= 2, "at most 2 at once, saw " .. most)
      assert.are.same({}, U.container_ids(root))
    end)
  end)

  describe("build.lua", function()
    it("builds and commits a tagged image whose command, env and workdir are the recipe's", function()
      local out, err, code = example(root, "build.lua", { "--tag", "spec-built:1" })
      assert.are.equal(0, code, err)
      assert.matches("STEP 11/11: CMD %[\"/app/hello.sh\"%]\n", out) -- ctr.build's plain progress
      local id = out:match("built spec%-built:1 %((%x+)%)\n$")
      assert.is_truthy(id, out)
      assert.are.same({}, U.container_ids(root)) -- the build container is gone

      local lines = 0
      for _ in io.lines(U.srcdir .. "/examples/build.lua") do lines = lines + 1 end
      local want = ("hello from a Lua-built image (workdir /app, recipe %d lines, 3 extra files)\n"):format(lines)
      out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "spec-built:1" })
      assert.are.equal(0, code, err)
      assert.are.equal(want, out)
      -- the RUN step ran at build time, with the ENV and WORKDIR set before it
      out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "spec-built:1", "cat", "/app/built.txt" })
      assert.are.equal(0, code, err)
      assert.are.equal(want, out)

      local state, image = require "ctr.state", require "ctr.image"
      state.set_root(root)
      local img = image.resolve("spec-built:1")
      state.set_root(nil)
      assert.are.equal(id, img.id)
      assert.are.same({ "/app/hello.sh" }, img.config.Cmd)
      assert.are.equal("/app", img.config.WorkingDir)
    end)
  end)

  describe("healthcheck.lua", function()
    it("restarts the container after M failed probes, and it is healthy again", function()
      local out, err, code = example(root, "healthcheck.lua",
        { "--restarts", "1", "--retries", "2", "--interval", "0.1", "--break-after", "1.5", "--name", "hc" }, 60)
      assert.are.equal(0, code, err)
      local first = out:match("^probe ok %(pid (%d+)%)\n")
      assert.is_truthy(first, out)
      local before = out:match("probe failed %(1/2%): exit 1 health: broken\nprobe failed %(2/2%): exit 1 health: broken\n" ..
        "restarted hc %(restart 1%): pid (%d+) %-> %d+\n")
      assert.are.equal(first, before, out)
      local new = out:match("restarted hc %(restart 1%): pid %d+ %-> (%d+)\nprobe ok %(pid (%d+)%)\n")
      assert.is_truthy(new, out)
      assert.are_not.equal(first, new)
      assert.matches("probe ok %(pid " .. new .. "%)\ndone: 1 restart%(s%)\n$", out)
      assert.are.same({}, U.container_ids(root))
    end)
  end)

  describe("sandbox.lua", function()
    it("has a read-only root, no capabilities, no network but lo, and passes the exit code", function()
      local out, err, code = example(root, "sandbox.lua", { "sh", "-c",
        "echo hi; grep -E '^Cap(Eff|Bnd)' /proc/self/status; grep -c : /proc/net/dev; grep -o '^ *lo:' /proc/net/dev; " ..
        "touch /x || echo rc=$?; echo y >> /etc/passwd || echo rc=$?; exit 7" })
      assert.are.equal(7, code, err)
      assert.are.equal("hi\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n1\n    lo:\nrc=1\nrc=1\n", out)
      assert.matches("touch: /x: Read%-only file system", err)
      assert.matches("/etc/passwd: Read%-only file system", err)
      assert.are.same({}, U.container_ids(root))
    end)

    it("stops forking at the pids limit", function()
      local out, err, code = example(root, "sandbox.lua", { "--pids", "16", "sh", "-c",
        "i=0; while true; do sleep 100 & i=$((i+1)); echo $i; done" })
      assert.are.equal(2, code, err) -- the shell gives up when fork fails
      assert.matches("can't fork: Resource temporarily unavailable", err)
      assert.matches("\n15\n$", out) -- 1 shell + 15 sleeps = the 16 allowed
      assert.are.same({}, U.container_ids(root))
    end)

    it("contains a fork bomb and kills it at the timeout", function()
      local out, err, code = example(root, "sandbox.lua", { "--pids", "16", "--timeout", "2", "sh", "-c",
        "bomb() { bomb | bomb & }; bomb; exec sleep 100" })
      assert.are.equal(137, code, out .. err)
      assert.matches("can't fork", err)
      assert.matches("sandbox: killed after 2s\n$", err)
      assert.are.same({}, U.container_ids(root))
    end)

    it("OOM-kills a command over its memory limit", function()
      local _, err, code = example(root, "sandbox.lua", { "-m", "16m", "sh", "-c", "exec tail /dev/zero" })
      assert.are.equal(137, code, err)
    end)
  end)
end)
