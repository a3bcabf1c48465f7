-- Docker parity, part A (issue 13): published host ports are held for the
-- container's life, commit carries the container's config, exec -t sets
-- TERM, -it without a terminal fails at once, and /sys/fs/cgroup shows the
-- container's own limits on v1/hybrid hosts.
--
-- Run in a private network namespace (tools/test.sh): the only traffic is to
-- 127.0.0.1 and to the containers the tests make.
local core = require "ctr.core"
local U = require "spec_util"

local root

local function ctr(args, opts) return U.ctr(root, args, opts) end

-- Whether a host program can bind port/tcp (on 0.0.0.0): busybox nc listens
-- until timeout ends it (124) when the bind succeeds, fails at once when not.
local function host_can_bind(port)
  local _, _, code = U.sh("timeout 0.5 busybox nc -l -p " .. port)
  return code == 124
end

-- The firewall as text (nftables, and iptables rules for older trees).
local function firewall()
  return (U.sh("nft list ruleset 2>/dev/null; iptables-save 2>/dev/null | grep '^-A'"))
end

local function veths()
  local out = U.sh("ip -o link show")
  local t = {}
  for name in out:gmatch("%d+: (veth[%w]+)") do t[#t + 1] = name end
  return t
end

-- A network's state as text: its record, and its directory of addresses
-- and attachments (ctr.network.store), each entry with its link or content.
local function net_state(name)
  local d = root .. "/networks/" .. name .. ".d"
  local t = { core.read_file(root .. "/networks/" .. name .. ".json") or "" }
  local names = core.readdir(d) or {}
  table.sort(names)
  for _, f in ipairs(names) do t[#t + 1] = f .. " " .. (core.readlink(d .. "/" .. f) or core.read_file(d .. "/" .. f) or "") end
  return table.concat(t, "\n")
end

describe("docker parity A #root", function()
  U.per_test_root(function(r) root = r end)

  describe("published ports", function()
    it("refuses a host port a host program holds, with nothing left behind", function()
      local port = 18190
      -- a host server on the port (started first, and the default network
      -- made by a first run, so that the failed run below changes nothing)
      local _, _, c0 = ctr({ "run", "--rm", "busybox", "true" })
      assert.equal(0, c0)
      local pid = core.fork()
      if pid == 0 then
        core.execve("/usr/bin/busybox", { "busybox", "nc", "-l", "-p", tostring(port) },
          { "PATH=/usr/bin:/bin" })
        core._exit(127)
      end
      finally(function() core.kill(pid, "KILL"); core.waitpid(pid) end)
      assert.is_truthy(U.wait_for(function() return not host_can_bind(port) end, 5), "the host server listens")
      local fw, links = firewall(), veths()
      local net_before = net_state("bridge")
      local out, err, code = ctr({ "run", "-d", "-p", "127.0.0.1:" .. port .. ":80", "busybox", "sleep", "30" })
      assert.equal(125, code, out .. err)
      assert.matches("address already in use", err:lower(), 1, true)
      assert.equal(1, select(2, err:gsub("\n", "")), "one line: " .. err)
      assert.same({}, U.container_ids(root), "no container directory")
      assert.same(links, veths(), "no veth")
      assert.equal(fw, firewall(), "no firewall element")
      assert.equal(net_before, net_state("bridge"), "no address allocated")
    end)

    it("holds a published port while the container runs, serves it, and frees it when it stops", function()
      local port = 18191
      assert.is_true(host_can_bind(port))
      local out, err, code = ctr({ "run", "-d", "--name", "web", "-p", "127.0.0.1:" .. port .. ":8000", "busybox",
                                   "sh", "-c", "while :; do echo hello-from-web | nc -l -p 8000; done" })
      assert.equal(0, code, out .. err)
      assert.is_false(host_can_bind(port), "a host program cannot take the published port")
      local got = U.wait_for(function()
        local o = U.sh("timeout 2 busybox nc 127.0.0.1 " .. port)
        return o:find("hello-from-web", 1, true) and o
      end, 10)
      assert.is_truthy(got, "published traffic reaches the container")
      out, err, code = ctr({ "stop", "-t", "1", "web" })
      assert.equal(0, code, err)
      assert.is_truthy(U.wait_for(function() return host_can_bind(port) end, 5), "the port is released on stop")
      -- started again, it holds the port again
      out, err, code = ctr({ "start", "web" })
      assert.equal(0, code, err)
      assert.is_false(host_can_bind(port))
      out, err, code = ctr({ "rm", "-f", "web" })
      assert.equal(0, code, err)
      assert.is_truthy(U.wait_for(function() return host_can_bind(port) end, 5), "the port is released on rm -f")
    end)
  end)

  describe("commit", function()
    it("carries the container's Cmd, Entrypoint, Env, WorkingDir, User and ExposedPorts, then --change", function()
      local out, err, code = ctr({ "run", "--name", "src", "-e", "FOO=bar", "-w", "/tmp", "-u", "nobody",
                                   "-p", "127.0.0.1:18192:8000", "--entrypoint", "sh", "busybox",
                                   "-c", "echo \"foo=$FOO bar=$BAR\"; pwd; id -un" })
      assert.equal(0, code, out .. err)
      out, err, code = ctr({ "commit", "src", "snap:a" })
      assert.equal(0, code, out .. err)
      out, err, code = ctr({ "run", "--rm", "snap:a" })
      assert.equal(0, code, out .. err)
      assert.equal("foo=bar bar=\n/tmp\nnobody\n", out)
      out, err, code = ctr({ "image", "inspect", "snap:a" })
      assert.equal(0, code, err)
      local img = require("ctr.json").decode(out)[1]
      local cfg = img.config or img.Config
      assert.same({ "sh" }, cfg.Entrypoint)
      assert.same({ "-c", "echo \"foo=$FOO bar=$BAR\"; pwd; id -un" }, cfg.Cmd)
      assert.equal("/tmp", cfg.WorkingDir)
      assert.equal("nobody", cfg.User)
      assert.is_truthy(cfg.ExposedPorts and cfg.ExposedPorts["8000/tcp"], "ExposedPorts has 8000/tcp")
      -- --change applies over the container's config
      out, err, code = ctr({ "commit", "-c", "ENV BAR=baz", "-c", "WORKDIR /", "src", "snap:b" })
      assert.equal(0, code, out .. err)
      out, err, code = ctr({ "run", "--rm", "snap:b" })
      assert.equal(0, code, out .. err)
      assert.equal("foo=bar bar=baz\n/\nnobody\n", out)
    end)
  end)

  describe("terminals", function()
    it("exec -t sets TERM=xterm as run -t does, unless -e TERM= is given", function()
      local out, err, code = ctr({ "run", "-d", "--name", "t", "busybox", "sleep", "60" })
      assert.equal(0, code, out .. err)
      out, err, code = U.sh("TERM=dumb LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher)
        .. " exec -t t sh -c 'echo term=$TERM'")
      assert.equal(0, code, out .. err)
      assert.matches("term=xterm", out, 1, true)
      out, err, code = U.sh("TERM=dumb LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher)
        .. " exec -t -e TERM=vt100 t sh -c 'echo term=$TERM'")
      assert.equal(0, code, out .. err)
      assert.matches("term=vt100", out, 1, true)
    end)

    it("run -it and exec -it with a stdin that is not a terminal fail at once as docker's", function()
      local launch = "LUAC_CTR_ROOT=" .. U.q(root) .. " timeout -s KILL 20 " .. U.q(U.launcher)
      local out, err, code = U.sh(launch .. " run -it busybox sh")
      assert.equal(1, code, out .. err)
      assert.equal("the input device is not a TTY", (err:gsub("^luac%-ctr: ", ""):gsub("\n$", "")))
      assert.same({}, U.container_ids(root), "no container made")
      out, err, code = ctr({ "run", "-d", "--name", "e", "busybox", "sleep", "60" })
      assert.equal(0, code, out .. err)
      out, err, code = U.sh(launch .. " exec -it e sh")
      assert.equal(1, code, out .. err)
      assert.matches("the input device is not a TTY", err, 1, true)
    end)

    -- A SIGKILLed exec -t client: its terminal closes, the exec'd shell gets
    -- SIGHUP and dies; the shell itself is the host's to reap (its parent was
    -- the client), its orphaned child is the container's PID 1's, as in docker
    -- without --init; with --init, PID 1 reaps it: no zombie is left.
    for _, init in ipairs { false, true } do
      it("a SIGKILLed exec -t client leaves " .. (init and "no zombie with --init" or
        "the shell's orphan to PID 1"), function()
        local args = { "run", "-d", "--name", "k", "--network", "none", "busybox", "sleep", "60" }
        if init then table.insert(args, 3, "--init") end
        local out, err, code = ctr(args)
        assert.equal(0, code, out .. err)
        -- sleep 30 (not shorter): on a busy machine the kill must come
        -- while the shell still waits for it; the shell's exit hangs up the
        -- terminal and SIGHUP ends the sleep, whose exit PID 1 reaps or not
        local p = U.pty(root, { "exec", "-it", "k", "sh", "-c", "echo ready; sleep 30; echo done" })
        p:expect("ready")
        core.kill(p.pid, "KILL")
        core.waitpid(p.pid)
        p.done = true
        p:close()
        local function settled()
          out = ctr({ "exec", "k", "ps", "-o", "pid,ppid,stat,args" })
          local zombies = select(2, out:gsub("\n%s*%d+%s+1%s+Z", ""))
          local gone = not out:find("sh -c echo ready", 1, true) and not out:find("sleep 30", 1, true)
          return gone and zombies == (init and 0 or 1)
        end
        assert.is_true(U.wait_for(settled, 20) and true, out)
        assert.not_matches("sh %-c echo ready", out) -- the shell is gone either way
      end)
    end
  end)

  describe("/sys/fs/cgroup on v1/hybrid hosts", function()
    local v2 = require("ctr.cgroup").layout() == "v2"
    local check = table.concat({
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
      "wc -l < /sys/fs/cgroup/pids/cgroup.procs",
      "ls /sys/fs/cgroup/memory | grep -c luac-ctr",
      "touch /sys/fs/cgroup/x 2>/dev/null && echo tmpfs-writable",
      "echo 1 2>/dev/null > /sys/fs/cgroup/pids/pids.max && echo pids-writable",
      "echo done",
    }, "; ")
    for _, net in ipairs({ "none", "host" }) do
      local title = "shows the container's own hierarchies read-only, never the host's root (--network " .. net .. ")"
      if v2 then pending(title .. ": this host is on cgroup v2") else
        it(title, function()
          local out, err, code = ctr({ "run", "--rm", "--network", net, "-m", "64m", "--pids-limit", "50", "busybox",
                                       "sh", "-c", check })
          assert.equal(0, code, out .. err)
          -- the limits; one process (the shell: cat and wc run one at a time,
          -- the pipeline's reader in it); no host cgroup below; nothing writable
          assert.equal("67108864\n50\n", out:match("^(%d+\n%d+\n)"))
          local procs, luac = out:match("^%d+\n%d+\n%s*(%d+)\n(%d+)\n")
          assert.is_true(tonumber(procs) <= 2, "only the container's processes: " .. out)
          assert.equal("0", luac, "the host's luac-ctr cgroups are not visible")
          assert.is_nil(out:find("writable", 1, true), out)
          assert.matches("done\n$", out)
        end)
      end
    end
  end)
end)
