-- docker's everyday commands (#root): cp, diff, top, port, rename,
-- pause/unpause, update, container prune, system df, run against the
-- kernel and compared with the output docker documents.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

describe("docker commands: cp diff top port rename pause update prune df #root", function()
  local root, work

  local function ctr(...) return U.ctr(root, { ... }) end
  local function ok(...)
    local out, err, code = ctr(...)
    assert.are.equal(0, code, table.concat({ ... }, " ") .. ": " .. err)
    return out
  end
  local function fails(code, pattern, ...)
    local out, err, c = ctr(...)
    assert.are.equal(code, c, table.concat({ ... }, " ") .. ": " .. out .. err)
    if pattern then assert.matches(pattern, err) end
    assert.are.equal(1, select(2, err:gsub("\n", "")), "one line: " .. err)
  end
  local function inspect(name) return json.decode(ok("inspect", name))[1] end
  local function sh(cmd)
    local out, err, code = U.sh(cmd)
    assert.are.equal(0, code, cmd .. ": " .. err)
    return out
  end

  lazy_setup(function()
    root = U.tmproot()
    work = root .. "/work"
    assert(core.mkdir(work, 493))
    ok("network", "create", "n1")
    ok("run", "-d", "--name", "web", "--network", "n1", "-p", "127.0.0.1:18480:80", "-p", "18481:81/udp",
      "busybox", "sh", "-c",
      "mkdir -p /data/sub && echo hi > /data/a && echo x > /data/sub/b && ln -s /data/a /data/link && " ..
      "chown 1234:5678 /data/a && rm /bin/true && echo y >> /etc/passwd && exec sleep 300")
    ok("run", "-d", "--name", "peer", "--network", "n1", "busybox", "sleep", "300")
    assert.is_truthy(U.wait_for(function()
      local _, _, c = ctr("exec", "web", "test", "-L", "/data/link"); return c == 0
    end, 5))
  end)
  lazy_teardown(function()
    U.rm_all(root)
    U.cleanup(root)
  end)

  describe("cp", function()
    it("copies a file, a directory and a directory's contents out, by docker's path rules", function()
      ok("cp", "web:/data/a", work .. "/a.txt")
      assert.are.equal("hi\n", sh("cat " .. U.q(work .. "/a.txt")))
      assert.are.equal("0:0", sh("stat -c %u:%g " .. U.q(work .. "/a.txt")):gsub("%s", ""))
      assert(core.mkdir(work .. "/into", 493))
      ok("cp", "web:/data", work .. "/into") -- existing dir: data goes in by its name
      assert.are.equal("x\n", sh("cat " .. U.q(work .. "/into/data/sub/b")))
      assert.are.equal("link", core.lstat(work .. "/into/data/link").type) -- the link itself, not followed
      ok("cp", "web:/data/.", work .. "/contents") -- missing dst: created with the contents
      assert.is_truthy(core.exists(work .. "/contents/sub/b"))
      assert.is_falsy(core.exists(work .. "/contents/data"))
      ok("cp", "-L", "web:/data/link", work .. "/followed")
      assert.are.equal("file", core.lstat(work .. "/followed").type)
      ok("cp", "-a", "web:/data/a", work .. "/owned")
      assert.are.equal("1234:5678", sh("stat -c %u:%g " .. U.q(work .. "/owned")):gsub("%s", ""))
    end)

    it("writes a tar stream with - and reads one with -", function()
      local _, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " cp web:/data - > " .. U.q(work .. "/d.tar"))
      assert.are.equal(0, code, err)
      local list = {}
      for l in sh("tar tf " .. U.q(work .. "/d.tar")):gmatch("[^\n]+") do list[#list + 1] = l end
      table.sort(list)
      assert.same({ "data/", "data/a", "data/link", "data/sub/", "data/sub/b" }, list)
      sh("mkdir -p " .. U.q(work .. "/t") .. " && echo streamed > " .. U.q(work .. "/t/s.txt") ..
        " && tar cf " .. U.q(work .. "/t.tar") .. " -C " .. U.q(work .. "/t") .. " s.txt")
      local _, err2, code2 = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " cp - web:/tmp < " ..
        U.q(work .. "/t.tar"), { keep_stdin = true })
      assert.are.equal(0, code2, err2)
      assert.are.equal("streamed\n", ok("exec", "web", "cat", "/tmp/s.txt"))
      fails(1, "no such directory", "cp", "-", "web:/nonexistent")
    end)

    it("copies in: a file into a directory, to a new name, a directory, owners with -a", function()
      sh("echo hello > " .. U.q(work .. "/h.txt") .. " && chown 4321:8765 " .. U.q(work .. "/h.txt"))
      ok("cp", work .. "/h.txt", "web:/data/")
      assert.are.equal("hello\n", ok("exec", "web", "cat", "/data/h.txt"))
      assert.are.equal("0:0\n", ok("exec", "web", "stat", "-c", "%u:%g", "/data/h.txt"))
      ok("cp", "-a", work .. "/h.txt", "web:/data/renamed")
      assert.are.equal("4321:8765\n", ok("exec", "web", "stat", "-c", "%u:%g", "/data/renamed"))
      sh("mkdir -p " .. U.q(work .. "/tree/d") .. " && echo deep > " .. U.q(work .. "/tree/d/f"))
      ok("cp", work .. "/tree", "web:/newtree") -- missing dst dir: created with the contents
      assert.are.equal("deep\n", ok("exec", "web", "cat", "/newtree/d/f"))
    end)

    it("says docker's Successfully copied line on a terminal, not with -q", function()
      local p = U.pty(root, { "cp", "web:/data/a", work .. "/tty-a" })
      assert.is_truthy(p:expect("Successfully copied 2.05kB to " .. work .. "/tty-a", 10))
      assert.are.equal(0, p:wait(10))
      p = U.pty(root, { "cp", "-q", "web:/data/a", work .. "/tty-b" })
      assert.are.equal(0, p:wait(10))
      assert.is_falsy(p.buf:find("Successfully", 1, true))
      assert.are.equal("hi\n", sh("cat " .. U.q(work .. "/tty-b")))
    end)

    it("fails as docker does: missing source, directory onto a file, missing parent, two containers", function()
      fails(1, "Could not find the file /nope in container web", "cp", "web:/nope", work .. "/x")
      fails(1, "cannot copy directory", "cp", "web:/data", work .. "/a.txt")
      fails(1, "no such file or directory", "cp", "web:/data/a", work .. "/missing/parent/x")
      fails(1, "no such directory", "cp", "web:/data/a", work .. "/newdir/")
      fails(1, "no such file or directory", "cp", work .. "/nope", "web:/tmp/")
      fails(1, "Could not find the file /nope/deeper in container web", "cp", work .. "/h.txt", "web:/nope/deeper/x")
      fails(1, "copying between containers is not supported", "cp", "web:/a", "peer:/b")
      fails(1, "must specify at least one container source", "cp", work .. "/a", work .. "/b")
      fails(1, "no such container", "cp", "ghost:/a", work .. "/b")
      assert.is_true(inspect("web").State.Running) -- thawed after each
    end)

    it("sees a running container's volumes, as docker cp does", function()
      assert(core.mkdir(work .. "/vol", 493))
      ok("run", "-d", "--name", "withvol", "--network", "none", "-v", work .. "/vol:/v", "busybox", "sleep", "300")
      ok("cp", work .. "/h.txt", "withvol:/v/")
      assert.are.equal("hello\n", sh("cat " .. U.q(work .. "/vol/h.txt")))
      ok("cp", "withvol:/v/h.txt", work .. "/from-vol")
      assert.are.equal("hello\n", sh("cat " .. U.q(work .. "/from-vol")))
      ok("rm", "-f", "withvol")
    end)

    it("works on a stopped container (its overlay mounted for the copy, nothing left mounted)", function()
      ok("run", "--name", "stopped", "--network", "none", "busybox", "sh", "-c", "echo old > /o")
      ok("cp", "stopped:/o", work .. "/o")
      assert.are.equal("old\n", sh("cat " .. U.q(work .. "/o")))
      ok("cp", work .. "/h.txt", "stopped:/h")
      ok("cp", "stopped:/h", work .. "/h-back")
      assert.are.equal("hello\n", sh("cat " .. U.q(work .. "/h-back")))
      assert.same({}, U.mounts_under(root .. "/containers"))
      ok("rm", "stopped")
    end)
  end)

  it("diff lists A/C/D as docker does, whiteouts and opaque dirs as deletions", function()
    ok("exec", "web", "sh", "-c", "rm -rf /usr && mkdir /usr && touch /usr/z")
    local out = ok("diff", "web")
    for _, line in ipairs({ "C /bin", "D /bin/true", "C /etc", "C /etc/passwd", "A /data", "A /data/a",
      "C /usr", "D /usr/bin", "A /usr/z" }) do
      assert.is_truthy(("\n" .. out):find("\n" .. line .. "\n", 1, true), line .. " in:\n" .. out)
    end
    assert.is_falsy(out:find("/etc/hosts", 1, true)) -- a mount point, as docker's
    local sorted = {}
    for l in out:gmatch("[^\n]+") do sorted[#sorted + 1] = l:sub(3) end
    local copy = { table.unpack(sorted) }
    table.sort(copy)
    assert.same(copy, sorted)
    fails(1, "no such container", "diff", "ghost")
  end)

  it("top shows the container's processes with ps's columns", function()
    local out = ok("top", "web")
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.matches("^UID%s+PID%s+PPID%s+C%s+STIME%s+TTY%s+TIME%s+CMD$", lines[1])
    assert.are.equal(2, #lines, out)
    assert.matches("sleep 300$", lines[2])
    assert.are.equal(tostring(inspect("web").State.Pid), lines[2]:match("^%S+%s+(%d+)"))
    assert.matches("^PID%s+COMMAND\n%d+%s+sleep\n$", ok("top", "web", "-o", "pid,comm"))
    fails(1, "Couldn't find PID field", "top", "web", "-o", "comm")
  end)

  it("top of a container in a user namespace shows its uid next to the host's", function()
    ok("run", "-d", "--name", "uns", "--userns", "auto", "--network", "none", "busybox", "sleep", "300")
    local out = ok("top", "uns", "-eo", "uid,pid,comm") -- -e: ps selects by euid otherwise
    local hdr, row = out:match("^([^\n]+)\n([^\n]+)\n$")
    assert.matches("^UID%s+CUID%s+PID%s+COMMAND$", hdr)
    local host, cuid = row:match("^(%d+)%s+(%d+)")
    assert.are.equal("0", cuid)
    assert.is_true(tonumber(host) > 0)
    -- cp's owners through the user namespace: root's by default, the source's (shifted) with -a
    ok("cp", work .. "/h.txt", "uns:/plain")
    ok("cp", "-a", work .. "/h.txt", "uns:/kept")
    assert.are.equal("0:0 4321:8765\n", ok("exec", "uns", "sh", "-c", "echo $(stat -c %u:%g /plain /kept)"))
    ok("cp", "-a", "uns:/kept", work .. "/kept-back")
    assert.are.equal("4321:8765", sh("stat -c %u:%g " .. U.q(work .. "/kept-back")):gsub("%s", ""))
    ok("rm", "-f", "uns")
  end)

  it("port lists docker's lines", function()
    assert.are.equal("80/tcp -> 127.0.0.1:18480\n81/udp -> 0.0.0.0:18481\n", ok("port", "web"))
    assert.are.equal("127.0.0.1:18480\n", ok("port", "web", "80"))
    assert.are.equal("0.0.0.0:18481\n", ok("port", "web", "81/udp"))
    fails(1, "No public port '82/tcp' published for web", "port", "web", "82")
    assert.are.equal("", ok("port", "peer"))
  end)

  it("rename: validated as --name, a conflict is an error, the network's hosts files follow", function()
    ok("rename", "peer", "peer2")
    assert.are.equal("peer2", inspect("peer2").Name:gsub("^/", ""))
    assert.matches("%d+%.%d+%.%d+%.%d+%s+peer2 ", ok("exec", "web", "cat", "/etc/hosts"))
    assert.is_falsy(ok("exec", "web", "cat", "/etc/hosts"):find("peer ", 1, true))
    fails(1, "Conflict%. The container name \"/web\" is already in use", "rename", "peer2", "web")
    fails(1, "Invalid container name", "rename", "peer2", "bad name")
    fails(1, "same name", "rename", "peer2", "peer2")
    fails(1, "no such container", "rename", "ghost", "x")
    ok("rename", "peer2", "peer")
  end)

  it("pause/unpause: ps (Paused), inspect paused, exec refused, stop and kill thaw first", function()
    assert.are.equal("peer\n", ok("pause", "peer"))
    assert.matches("^Up .* %(Paused%)$", ok("ps", "--filter", "name=peer", "--format", "{{.Status}}"):gsub("\n$", ""))
    local st = inspect("peer").State
    assert.are.equal("paused", st.Status)
    assert.is_true(st.Paused)
    fails(1, "is paused, unpause the container before exec", "exec", "peer", "true")
    fails(1, "already paused", "pause", "peer")
    assert.are.equal("peer paused\n", ok("ps", "--filter", "status=paused", "--format", "{{.Names}} {{.State}}"))
    assert.is_falsy(ok("ps", "--filter", "status=running", "--format", "{{.Names}}"):find("peer", 1, true))
    local img = ok("commit", "peer"):gsub("%s+$", "") -- commit freezes and thaws: a paused container stays paused
    assert.is_true(inspect("peer").State.Paused)
    ok("rmi", img)
    assert.are.equal("peer\n", ok("unpause", "peer"))
    assert.is_false(inspect("peer").State.Paused)
    assert.are.equal("ok\n", ok("exec", "peer", "echo", "ok"))
    fails(1, "is not paused", "unpause", "peer")
    ok("run", "-d", "--name", "p2", "--network", "none", "busybox", "sleep", "300")
    ok("pause", "p2")
    ok("kill", "p2")
    assert.are.equal("exited", inspect("p2").State.Status)
    ok("rm", "p2")
    ok("run", "-d", "--name", "p3", "--restart", "always", "--network", "none", "busybox", "sleep", "300")
    ok("pause", "p3")
    ok("stop", "-t", "1", "p3") -- thawed, then stopped by the user: not restarted
    assert.are.equal("exited", inspect("p3").State.Status)
    core.sleep(1.5)
    assert.are.equal("exited", inspect("p3").State.Status)
    fails(1, "is not running", "pause", "p3")
    ok("rm", "p3")
  end)

  it("update: new limits in the cgroup and in inspect; a bad value changes nothing", function()
    local id = inspect("peer").Id
    local function cg(files)
      for _, d in ipairs(U.cgroup_dirs(id)) do
        for _, f in ipairs(files) do
          local v = core.read_file(d .. "/" .. f)
          if v then return (v:gsub("%s+$", "")) end
        end
      end
    end
    assert.are.equal("peer\n", ok("update", "--memory", "96m", "--pids-limit", "77", "--cpus", "0.5", "--cpu-shares", "512", "peer"))
    assert.are.equal(tostring(96 * 1024 * 1024), cg({ "memory.max", "memory.limit_in_bytes" }))
    assert.are.equal("77", cg({ "pids.max" }))
    local quota = cg({ "cpu.max", "cpu.cfs_quota_us" })
    assert.is_truthy(quota == "50000 100000" or quota == "50000", quota)
    assert.is_truthy(cg({ "cpu.weight", "cpu.shares" }) == "512" or cg({ "cpu.weight" }) == "20")
    local res = inspect("peer").HostConfig
    local r = res.Resources or {}
    assert.are.equal(96 * 1024 * 1024, res.Memory or r.memory)
    fails(1, "minimum memory limit", "update", "--memory", "1k", "--pids-limit", "5", "peer")
    assert.are.equal("77", cg({ "pids.max" })) -- nothing changed
    fails(1, "invalid cpus value", "update", "--cpus", "lots", "peer")
    fails(1, "one or more flags", "update", "peer")
    ok("update", "--pids-limit", "-1", "peer")
    assert.are.equal("max", cg({ "pids.max" }))
  end)

  it("container prune removes stopped containers (filters), system df tallies", function()
    ok("run", "--name", "old1", "--network", "none", "--label", "k=v", "busybox", "sh", "-c",
      "dd if=/dev/zero of=/big bs=1k count=64 2>/dev/null")
    ok("run", "--name", "old2", "--network", "none", "busybox", "true")
    ok("volume", "create", "dfvol")
    local df = ok("system", "df")
    assert.matches("\nLocal Volumes%s+1%s+0%s+0B%s+0B\n", df)
    assert.matches("^TYPE%s+TOTAL%s+ACTIVE%s+SIZE%s+RECLAIMABLE\n", df)
    assert.matches("\nImages%s+1%s+1%s+%S+%s+0B %(0%%%)\n", df)
    assert.matches("\nContainers%s+4%s+2%s+%S+%s+%S+ %(%d+%%%)\n", df)
    assert.matches("\nBuild Cache%s+0%s+0%s+0B%s+0B\n$", df)
    local rows = {}
    for l in ok("system", "df", "--format", "json"):gmatch("[^\n]+") do rows[#rows + 1] = json.decode(l) end
    assert.are.equal("Containers", rows[2].Type)
    assert.are.equal("4", rows[2].TotalCount)
    local v = ok("system", "df", "-v")
    assert.matches("Containers space usage:", v)
    assert.matches("\nVOLUME NAME%s+LINKS%s+SIZE\ndfvol%s+0%s+0B\n", v)
    ok("volume", "rm", "dfvol")
    local out = ok("container", "prune", "-f", "--filter", "label=k=v")
    local old1 = out:match("^Deleted Containers:\n(%x+)\n\nTotal reclaimed space: (%S+)\n$")
    assert.is_truthy(old1, out)
    assert.matches("kB$", out:match("Total reclaimed space: (%S+)"))
    assert.are.equal("Total reclaimed space: 0B\n", ok("container", "prune", "-f", "--filter", "until=1h"))
    out = ok("container", "prune", "-f")
    assert.matches("^Deleted Containers:\n%x+\n\nTotal reclaimed space: ", out)
    assert.are.equal("peer\nweb\n", ok("ps", "-a", "--format", "{{.Names}}"):gsub("(%S+)\n(%S+)\n", function(a, b)
      return (a < b and a .. "\n" .. b or b .. "\n" .. a) .. "\n" end))
    fails(1, "invalid filter", "container", "prune", "-f", "--filter", "bogus=1")
  end)
end)
