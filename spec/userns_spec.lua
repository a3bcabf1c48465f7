-- userns: --userns=auto containers against the real kernel (#root): their
-- root is a high host uid, ranges are disjoint and released on rm, volumes,
-- exec, the escapes that needed host root, and the two uids in inspect,
-- top and ps.
local U = require "spec_util"
local json = require "ctr.json"

local root, work

local function run(args, opts)
  if not (opts and opts.config) then return U.ctr(root, args, opts) end
  local parts = { "LUAC_CTR_CONFIG=" .. U.q(opts.config), "LUAC_CTR_ROOT=" .. U.q(root), U.q(U.launcher) }
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  return U.sh(table.concat(parts, " "))
end

local function inspect(name)
  local out, err, code = run({ "inspect", name })
  assert(code == 0, err)
  local v = json.decode(out)
  return v[1] or v
end

local function slots()
  local f = io.open(root .. "/userns.json")
  if not f then return {} end
  local db = json.decode(f:read("a")); f:close()
  return db.slots or {}
end

local function count(t) local n = 0; for _ in pairs(t) do n = n + 1 end; return n end

describe("userns #root", function()
  setup(function()
    root = U.tmproot()
    work = U.tmproot()
  end)
  teardown(function()
    U.rm_all(root)
    for _, id in ipairs(U.container_ids(root)) do run({ "rm", "-f", id }) end
    assert.same({}, U.cleanup(root))
    U.cleanup(work)
  end)

  it("gives two containers disjoint high ranges, their root a high host uid, released on rm", function()
    local _, err, code = run({ "run", "-d", "--name", "a", "--network", "none", "--userns=auto", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    _, err, code = run({ "run", "-d", "--name", "b", "--network", "none", "--userns=auto", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    local a, b = inspect("a"), inspect("b")
    local ua, ub = U.host_uid(a.State.Pid), U.host_uid(b.State.Pid)
    assert.is_true(ua >= 65536 and ub >= 65536, ("host uids %d %d"):format(ua, ub))
    assert.is_true(math.abs(ua - ub) >= 65536, ("ranges overlap: %d %d"):format(ua, ub))
    assert.are.equal(("0:%d:65536"):format(ua), a.HostConfig.IDMappings.UidMap[1])
    assert.are.equal("private", a.HostConfig.UsernsMode) -- podman's, for a user namespace of its own
    local out = run({ "exec", "a", "cat", "/proc/self/uid_map" })
    assert.matches("^%s*0%s+" .. ua .. "%s+65536%s*$", out)
    assert.are.equal(2, count(slots()))
    run({ "rm", "-f", "a" })
    assert.are.equal(1, count(slots()))
    -- the freed range is given again
    _, err, code = run({ "run", "-d", "--name", "c", "--network", "none", "--userns=auto", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    assert.are.equal(ua, U.host_uid(inspect("c").State.Pid))
    run({ "rm", "-f", "b", "c" })
    assert.are.equal(0, count(slots()))
  end)

  it("execs into the container's user namespace, as its root (a high host uid)", function()
    local _, err, code = run({ "run", "-d", "--name", "x", "--network", "none", "--userns=auto", "busybox", "sleep", "60" })
    assert.are.equal(0, code, err)
    local h = U.host_uid(inspect("x").State.Pid)
    local out
    out, err, code = run({ "exec", "x", "sh", "-c", "id -u; grep ^Uid: /proc/self/status; touch /t && echo wrote" })
    assert.are.equal(0, code, err)
    assert.matches("^0\nUid:%s+0%s+0%s+0%s+0\nwrote\n$", out)
    -- seen from the host: the exec'd process runs as the same high uid
    _, err, code = run({ "exec", "x", "sh", "-c", "sleep 30 >/dev/null 2>&1 &" })
    assert.are.equal(0, code, err)
    local n = 0
    for _, pid in ipairs(require("ctr.core").readdir("/proc")) do
      local st = pid:match("^%d+$") and require("ctr.core").read_file("/proc/" .. pid .. "/status")
      if st and st:match("^Name:%s+sleep\n") and st:match("\nUid:%s+" .. h .. "%s") then n = n + 1 end
    end
    assert.are.equal(2, n, "both sleeps run as host uid " .. h)
    run({ "rm", "-f", "x" })
  end)

  it("volumes: a new one is the container root's, a host-root file stays out of reach, :idmap writes as the container's ids", function()
    local vol, fresh = work .. "/vol", work .. "/fresh"
    assert(os.execute("mkdir -p " .. vol .. " && echo host > " .. vol .. "/rootfile && chmod 777 " .. vol .. " && chmod 644 " .. vol .. "/rootfile"))
    local script = table.concat({
      "touch /new/f && echo new-ok",
      "echo x >> /data/rootfile 2>/dev/null || echo write-denied",
      "chown 0 /data/rootfile 2>/dev/null || echo chown-denied",
      "chmod 666 /data/rootfile 2>/dev/null || echo chmod-denied",
      "mknod /dev/sda1 b 8 1 2>/dev/null || echo mknod-denied",
      "touch /data/byctr && echo vol-ok",
    }, "; ")
    local out, err, code = run({ "run", "--name", "v", "--network", "none", "--userns=auto",
      "-v", vol .. ":/data", "-v", fresh .. ":/new", "busybox", "sh", "-c", script })
    assert.are.equal(0, code, err)
    assert.are.equal("new-ok\nwrite-denied\nchown-denied\nchmod-denied\nmknod-denied\nvol-ok\n", out)
    local h = inspect("v").HostConfig.IDMappings.UidMap[1]:match("^0:(%d+):")
    local st = U.sh("stat -c %u " .. fresh .. "/f " .. vol .. "/byctr " .. vol .. "/rootfile")
    assert.are.equal(h .. "\n" .. h .. "\n0\n", st)
    assert.are.equal("host\n", U.sh("cat " .. vol .. "/rootfile"))
    run({ "rm", "v" })
    -- :idmap: the container's root writes files owned by 0 on disk
    out, err, code = run({ "run", "--rm", "--network", "none", "--userns=auto", "-v", vol .. ":/data:idmap",
      "busybox", "sh", "-c", "stat -c %u /data/rootfile; touch /data/mapped" })
    assert.are.equal(0, code, err)
    assert.are.equal("0\n", out)
    assert.are.equal("0\n", U.sh("stat -c %u " .. vol .. "/mapped"))
  end)

  it("commit stores the ids the container saw, not the host's (setuid kept)", function()
    local _, err, code = run({ "run", "--name", "cm", "--network", "none", "--userns=auto", "busybox", "sh", "-c",
      "echo hi > /etc/newfile; mkdir /d; chown 1234:55 /d; cp /bin/busybox /bin/sx; chmod 4755 /bin/sx" })
    assert.are.equal(0, code, err)
    _, err, code = run({ "commit", "cm", "usernscommit:1" })
    assert.are.equal(0, code, err)
    local out
    out, err, code = run({ "run", "--rm", "--network", "none", "usernscommit:1", "stat", "-c", "%u:%g %a %n",
      "/etc/newfile", "/d", "/bin/sx" })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 644 /etc/newfile\n1234:55 755 /d\n0:0 4755 /bin/sx\n", out)
    run({ "rm", "cm" })
    run({ "rmi", "usernscommit:1" })
  end)

  it("refuses bad user namespace options in one line, exit 125, nothing left behind", function()
    local cases = {
      { "--userns=bogus" }, { "--uidmap", "0:1000" }, { "--uidmap", "1:100000:10" },
      { "--uidmap", "0:4294967290:65536" }, { "--uidmap", "0:100000:0" },
      { "--uidmap", "0:100000:10", "--uidmap", "5:200000:10" },
      { "--userns=auto", "--privileged" }, { "--userns=auto", "--network", "host" },
      { "-v", work .. "/x:/x:idmap" }, { "--uidmap", "0:2000065536:65536" },
    }
    for _, c in ipairs(cases) do
      local args = { "run", "--rm", "--network", "none" }
      for _, a in ipairs(c) do args[#args + 1] = a end
      args[#args + 1] = "busybox"; args[#args + 1] = "true"
      local _, err, code = run(args)
      assert.are.equal(125, code, table.concat(c, " "))
      assert.matches("^luac%-ctr: [^\n]+\n$", err)
    end
    assert.same({}, U.container_ids(root))
    assert.are.equal(0, count(slots()))
  end)

  it("reclaims the range of a container that never got made (a crash), takes the pool from the config or /etc/subuid", function()
    assert(require("ctr.core").write_file_atomic(root .. "/userns.json", '{"slots":{"0":"deadbeef"}}'))
    local out, err, code = run({ "run", "--rm", "--network", "none", "--userns=auto", "busybox", "cat", "/proc/self/uid_map" })
    assert.are.equal(0, code, err)
    assert.matches("^%s*0%s+2000000000%s+65536\n$", out)
    assert.are.equal(0, count(slots()))
    -- /etc/luac-ctr/config (here $LUAC_CTR_CONFIG): the default mode and the pool
    local cfg = work .. "/config"
    local f = assert(io.open(cfg, "w")); f:write("# test\nuserns = auto\nuserns_range = 700000:131072\n"); f:close()
    out, err, code = run({ "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/uid_map" },
      { config = cfg })
    assert.are.equal(0, code, err)
    assert.matches("^%s*0%s+700000%s+65536\n$", out)
    out, err, code = run({ "run", "--rm", "--network", "none", "--userns=host", "busybox", "cat", "/proc/self/uid_map" },
      { config = cfg })
    assert.are.equal(0, code, err)
    assert.matches("^%s*0%s+0%s+4294967295\n$", out)
    -- the luac-ctr entries of /etc/subuid and /etc/subgid come first
    local saved = {}
    for _, path in ipairs({ "/etc/subuid", "/etc/subgid" }) do
      saved[path] = require("ctr.core").read_file(path) or ""
      assert(require("ctr.core").write_file_atomic(path, saved[path] .. "luac-ctr:800000:131072\n", 420))
    end
    local ok, e = pcall(function()
      out, err, code = run({ "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/uid_map" }, { config = cfg })
    end)
    for path, text in pairs(saved) do assert(require("ctr.core").write_file_atomic(path, text, 420)) end
    assert(ok, e)
    assert.are.equal(0, code, err)
    assert.matches("^%s*0%s+800000%s+65536\n$", out)
    f = assert(io.open(cfg, "w")); f:write("userns_range = 100:10\n"); f:close()
    local _, err2, code2 = run({ "run", "--rm", "--network", "none", "--userns=auto", "busybox", "true" }, { config = cfg })
    assert.are.equal(125, code2)
    assert.matches("^luac%-ctr: bad id range [^\n]+\n$", err2)
  end)

  it("inspect, top and ps show the container's uids and the host's; a host-userns container has no mapping", function()
    local _, err, code = run({ "run", "-d", "--name", "ua", "--network", "none", "--userns=auto", "busybox", "sleep", "61" })
    assert.are.equal(0, code, err)
    _, err, code = run({ "run", "-d", "--name", "uh", "--network", "none", "busybox", "sleep", "62" })
    assert.are.equal(0, code, err)
    _, err, code = run({ "exec", "-d", "-u", "65534", "ua", "sleep", "63" }) -- nobody in the image
    assert.are.equal(0, code, err)
    local a, h = inspect("ua"), inspect("uh")
    local H = U.host_uid(a.State.Pid)
    assert.is_true(H >= 65536, "host uid " .. H)
    -- inspect: podman's UsernsMode and IDMappings; nothing for the host's user namespace
    assert.are.equal("private", a.HostConfig.UsernsMode)
    assert.same({ UidMap = { ("0:%d:65536"):format(H) }, GidMap = { ("0:%d:65536"):format(H) } }, a.HostConfig.IDMappings)
    assert.are.equal("", h.HostConfig.UsernsMode)
    assert.is_nil(h.HostConfig.IDMappings)
    -- top with podman's descriptors: the container's user and pid beside the host's
    local out
    out, err, code = run({ "top", "ua", "user", "huser", "pid", "hpid", "args" })
    assert.are.equal(0, code, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.matches("^USER%s+HUSER%s+PID%s+HPID%s+COMMAND$", lines[1])
    assert.are.equal(3, #lines, out)
    local u, hu, pid, hpid, args = lines[2]:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(.-)$")
    assert.are.same({ "root", tostring(H), "1", tostring(a.State.Pid), "sleep 61" }, { u, hu, pid, hpid, args })
    assert.are.equal(H, U.host_uid(hpid)) -- HUSER is /proc/<hpid>/status's uid on the host
    u, hu, pid, hpid, args = lines[3]:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(.-)$")
    assert.are.same({ "nobody", tostring(H + 65534), "sleep 63" }, { u, hu, args }) -- named in the container's /etc/passwd
    assert.are.equal(H + 65534, U.host_uid(hpid))
    assert.are_not.equal("1", pid)
    -- comma lists and AIX codes; the host's user namespace: the same ids on both sides
    out = run({ "top", "ua", "user,group,hgroup,%p,comm" })
    assert.matches("^USER%s+GROUP%s+HGROUP%s+PID%s+COMMAND\nroot%s+root%s+" .. H .. "%s+1%s+sleep\n", out)
    out = run({ "top", "uh", "user", "huser", "pid", "hpid" })
    assert.matches("^USER%s+HUSER%s+PID%s+HPID\nroot%s+root%s+1%s+" .. h.State.Pid .. "\n$", out)
    -- the container's bytes (its command lines, its /etc/passwd) reach the terminal without control characters
    _, err, code = run({ "exec", "-d", "ua", "sh", "-c", "sleep 64; true", "a\27[2Jb\nc" })
    assert.are.equal(0, code, err)
    out = run({ "top", "ua", "pid", "args" })
    assert.is_truthy(out:find("\n%d+%s+sh %-c sleep 64; true a%?%[2Jb%?c\n"), out)
    assert.is_falsy(out:find("\27", 1, true))
    -- names come from the container's /etc/passwd read inside its root: a symlink to a host path is not followed there
    local fake = work .. "/fakepasswd"
    local f = assert(io.open(fake, "w")); f:write("pwned:x:0:0::/:/bin/sh\n"); f:close()
    _, err, code = run({ "exec", "uh", "sh", "-c", "rm /etc/passwd && ln -s " .. fake .. " /etc/passwd" })
    assert.are.equal(0, code, err)
    assert.matches("^USER%s+PID\n0%s+1\n$", run({ "top", "uh", "user", "pid" }))
    -- anything else is still ps's options (docker's default unchanged: the CUID column)
    out = run({ "top", "ua", "-o", "pid,comm", "-e" })
    assert.matches("^PID%s+COMMAND\n", out)
    assert.matches("^UID%s+CUID%s+PID%s+PPID%s+C%s+STIME%s+TTY%s+TIME%s+CMD\n", run({ "top", "ua" }))
    -- ps: the mode and the maps as template fields; the default table is docker's
    out, err, code = run({ "ps", "--format", "{{.Names}}|{{.Userns}}|{{.UIDMap}}|{{.GIDMap}}" })
    assert.are.equal(0, code, err)
    local m = ("0:%d:65536"):format(H)
    assert.are.equal(("uh|host||\nua|auto|%s|%s\n"):format(m, m), out)
    assert.matches("^NAMES%s+USERNS%s+UIDMAP\nuh%s+host%s*\nua%s+auto%s+" .. m .. "\n$",
      run({ "ps", "--format", "table {{.Names}}\t{{.Userns}}\t{{.UIDMap}}" }))
    assert.matches("^CONTAINER ID%s+IMAGE%s+COMMAND%s+CREATED%s+STATUS%s+PORTS%s+NAMES\n", run({ "ps" }))
    run({ "rm", "-f", "ua", "uh" })
  end)

  it("--uidmap maps what it says", function()
    local out, err, code = run({ "run", "--name", "um", "--network", "none", "--uidmap", "0:300000:1000",
      "--uidmap", "1000:400000:1", "busybox", "cat", "/proc/self/uid_map", "/proc/self/gid_map" })
    assert.are.equal(0, code, err)
    assert.matches("^%s*0%s+300000%s+1000\n%s*1000%s+400000%s+1\n%s*0%s+300000%s+1000\n%s*1000%s+400000%s+1\n$", out)
    local hc = inspect("um").HostConfig
    assert.are.equal("private", hc.UsernsMode)
    assert.same({ UidMap = { "0:300000:1000", "1000:400000:1" }, GidMap = { "0:300000:1000", "1000:400000:1" } },
      hc.IDMappings)
    assert.are.equal("explicit 0:300000:1000,1000:400000:1\n",
      run({ "ps", "-a", "--filter", "name=um", "--format", "{{.Userns}} {{.UIDMap}}" }))
    run({ "rm", "um" })
  end)
end)
