-- docker_scenarios_spec: what a docker user types in the first hour, end to
-- end through the launcher (issue 13), each scenario with its own state
-- root, asserting the output a docker user (or their script) reads: a web
-- server published on loopback and fetched from the host, logs -f, exec,
-- stop/start keeping the container's files, commit and run of the
-- committed Cmd, a named volume outliving its container, rename, inspect
-- -f, ps --filter/--format, restart policy counts (and their events),
-- history, info, network prune, port conflicts.
-- Run as root in a private network namespace (loopback up).
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local root
local function ctr(...) return U.ctr(root, { ... }) end
local function ok(...)
  local out, err, code = U.ctr(root, { ... })
  assert.are.equal(0, code, table.concat({ ... }, " ") .. ": " .. err)
  return out
end
local function fails(code, pattern, ...)
  local out, err, c = U.ctr(root, { ... })
  assert.are.equal(code, c, table.concat({ ... }, " ") .. ": " .. out .. err)
  assert.matches(pattern, err)
  assert.are.equal(1, select(2, err:gsub("\n", "")), "one line: " .. err)
  return err
end
local function line(s) return (s:gsub("\n$", "")) end

-- the launcher in the background, its output in a file; returns a reader
-- of that file and the shell's pid
local function background(args, file)
  local q = {}
  for i, a in ipairs(args) do q[i] = U.q(a) end
  local p = io.popen(("LUAC_CTR_ROOT=%s %s %s >%s 2>&1 </dev/null & echo $!"):format(U.q(root), U.q(U.launcher),
    table.concat(q, " "), U.q(file)))
  local pid = math.tointeger(tonumber(p:read("l")))
  p:close()
  return function() return core.read_file(file) or "" end, pid
end

-- whether process pid is gone (or a zombie nobody reaped yet)
local function gone(pid)
  local st = core.read_file("/proc/" .. pid .. "/stat")
  return st == nil or st:match("^%d+ %b() (%a)") == "Z"
end

-- whether a host program could listen on 127.0.0.1:port now
local function can_bind(port)
  local s = core.port_hold("127.0.0.1", port, "tcp")
  if s then s:close() end
  return s ~= nil
end

describe("docker scenarios", function()
  U.per_test_root(function(r) root = r end)

  it("a web server published on loopback: fetched from the host, port, logs -f, exec, stop frees the port", function()
    local port = 18301
    ok("run", "-d", "--name", "web", "-p", "127.0.0.1:" .. port .. ":80", "busybox", "sh", "-c",
      "mkdir -p /www && echo hello-docker-user > /www/index.html && echo serving && exec httpd -f -v -p 80 -h /www")
    assert.are.equal("80/tcp -> 127.0.0.1:" .. port .. "\n", ok("port", "web"))
    assert.are.equal("127.0.0.1:" .. port .. "\n", ok("port", "web", "80"))
    assert.is_false(can_bind(port), "the published port is held")
    local page = U.wait_for(function()
      local out = U.sh(("wget -q -O - -T 2 -t 1 http://127.0.0.1:%d/"):format(port))
      return out ~= "" and out
    end, 10)
    assert.are.equal("hello-docker-user\n", page)
    -- logs -f: what was logged, then what comes, until the container stops
    local read, pid = background({ "logs", "-f", "web" }, root .. "/logs.txt")
    assert.is_truthy(U.wait_for(function() return read():find("serving", 1, true) end, 5), read())
    assert.are.equal("hello-docker-user\n", U.sh(("wget -q -O - -T 2 -t 1 http://127.0.0.1:%d/"):format(port)))
    -- exec sees the container's files and its own exit code comes back
    assert.are.equal("hello-docker-user\n", ok("exec", "web", "cat", "/www/index.html"))
    local _, _, code = ctr("exec", "web", "sh", "-c", "exit 7")
    assert.are.equal(7, code)
    ok("stop", "-t", "1", "web")
    assert.is_truthy(U.wait_for(function() return gone(pid) end, 10), "logs -f ended with the container")
    assert.is_truthy(read():find("serving", 1, true))
    assert.is_true(can_bind(port), "a stopped container's port is free again")
    assert.are.equal("", U.sh(("wget -q -O - -T 1 -t 1 http://127.0.0.1:%d/"):format(port)))
  end)

  it("port conflicts: a port a host program holds, or another container publishes, is 'address already in use'", function()
    local port = 18302
    local hold = assert(core.port_hold("127.0.0.1", port, "tcp")) -- a host server
    fails(125, "[Aa]ddress already in use", "run", "-d", "--name", "a", "-p", "127.0.0.1:" .. port .. ":80", "busybox", "sleep", "30")
    assert.are.equal("", ok("ps", "-aq"), "nothing left of the failed run")
    hold:close()
    ok("run", "-d", "--name", "a", "-p", "127.0.0.1:" .. port .. ":80", "busybox", "sleep", "30")
    fails(125, "[Aa]ddress already in use", "run", "-d", "--name", "b", "-p", "127.0.0.1:" .. port .. ":80", "busybox", "sleep", "30")
    assert.are.equal("a\n", ok("ps", "-a", "--format", "{{.Names}}"))
  end)

  it("stop/start keeps the container's files; commit carries the Cmd; a named volume outlives its container", function()
    ok("run", "-d", "--network", "none", "--name", "box", "busybox", "sh", "-c", "echo started >> /log; exec sleep 30")
    ok("exec", "box", "sh", "-c", "echo kept > /data.txt")
    ok("stop", "-t", "0", "box")
    assert.are.equal("exited\n", ok("inspect", "-f", "{{.State.Status}}", "box"))
    ok("start", "box")
    assert.are.equal("kept\n", ok("exec", "box", "cat", "/data.txt"))
    assert.are.equal("started\nstarted\n", ok("exec", "box", "cat", "/log"))
    -- commit: the committed image runs the container's command by default
    ok("run", "--network", "none", "--name", "mk", "busybox", "sh", "-c", "echo 'echo from-committed-cmd' > /hello.sh")
    local id = line(ok("commit", "--change", 'CMD ["sh", "/hello.sh"]', "-m", "added hello", "mk", "hello:1"))
    assert.matches("^sha256:%x+$", id)
    assert.are.equal("from-committed-cmd\n", ok("run", "--rm", "--network", "none", "hello:1"))
    assert.are.equal('["sh","/hello.sh"]\n', ok("image", "inspect", "-f", "{{json .Config.Cmd}}", "hello:1"))
    ok("commit", "box", "box:1") -- without --change: the container's own Cmd
    assert.are.equal('["sh","-c","echo started >> /log; exec sleep 30"]\n',
      ok("image", "inspect", "-f", "{{json .Config.Cmd}}", "box:1"))
    -- a named volume: written by one container, read by the next, kept after both
    ok("run", "--rm", "--network", "none", "-v", "dbdata:/var/lib/db", "busybox", "sh", "-c", "echo row1 > /var/lib/db/t")
    assert.are.equal("row1\n", ok("run", "--rm", "--network", "none", "-v", "dbdata:/db:ro", "busybox", "cat", "/db/t"))
    assert.are.equal("dbdata\n", ok("volume", "ls", "-q"))
    ok("create", "--network", "none", "--name", "user", "-v", "dbdata:/db", "busybox", "true")
    fails(1, "volume is in use", "volume", "rm", "dbdata") -- a stopped container's volume stays
    ok("rm", "user")
    assert.are.equal("dbdata\n", ok("volume", "rm", "dbdata"))
  end)

  it("rename, then the new name everywhere; inspect -f and ps --filter/--format as scripts use them", function()
    ok("run", "-d", "--network", "none", "--name", "old", "-l", "tier=db", "-e", "A=1", "-m", "64m", "busybox", "sleep", "30")
    ok("run", "-d", "--network", "none", "--name", "front", "-l", "tier=web", "busybox", "sleep", "30")
    ok("create", "--network", "none", "--name", "idle", "-l", "tier=db", "busybox", "true")
    ok("rename", "old", "db")
    fails(1, "[Nn]o such object: old", "inspect", "old")
    assert.are.equal("/db\n", ok("inspect", "-f", "{{.Name}}", "db"))
    assert.are.equal("hi\n", ok("exec", "db", "echo", "hi"))
    -- inspect -f: the forms people paste
    local pid = tonumber(line(ok("inspect", "-f", "{{.State.Pid}}", "db")))
    assert.is_true(pid > 1 and core.exists("/proc/" .. pid))
    assert.are.equal("running true 0\n", ok("inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}", "db"))
    assert.are.equal("67108864\n", ok("inspect", "-f", "{{.HostConfig.Memory}}", "db"))
    local env = json.decode(ok("inspect", "-f", "{{json .Config.Env}}", "db"))
    assert.is_truthy(table.concat(env, " "):find("A=1", 1, true))
    assert.are.equal("db\n", ok("inspect", "-f", '{{index .Config.Labels "tier"}}', "db"))
    assert.are.equal("DB\n", ok("inspect", "-f", '{{upper (index .Config.Labels "tier")}}', "db"))
    assert.are.equal("sleep,30\n", ok("inspect", "-f", '{{join .Config.Cmd ","}}', "db"))
    assert.are.equal("[tier=db]\n", ok("inspect", "-f", "[{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}]", "db"))
    fails(1, "", "inspect", "-f", "{{.Bogus", "db")
    -- ps: filters and formats (one key's values: any; keys: all)
    assert.are.equal("idle\ndb\n", ok("ps", "-a", "--filter", "label=tier=db", "--format", "{{.Names}}")) -- newest first
    assert.are.equal("db\n", ok("ps", "--filter", "label=tier=db", "--format", "{{.Names}}"))
    assert.are.equal("idle created\n", ok("ps", "-a", "--filter", "status=created", "--format", "{{.Names}} {{.State}}"))
    assert.are.equal("front\n", ok("ps", "--filter", "name=fro", "--format", "{{.Names}}"))
    local rows = ok("ps", "--format", "table {{.Names}}\t{{.Image}}")
    assert.matches("^NAMES%s+IMAGE\n", rows)
    assert.are.equal(2, select(2, rows:gsub("busybox", "")))
    local q = ok("ps", "-q")
    assert.are.equal(2, select(2, q:gsub("%x%x%x%x%x%x%x%x%x%x%x%x\n", "")))
  end)

  it("a --restart on-failure:3 crasher: 3 restarts, docker's counts, a die and a start for each in events", function()
    ok("run", "-d", "--network", "none", "--name", "crasher", "--restart", "on-failure:3", "busybox", "sh", "-c",
      "echo run; exit 3")
    assert.is_truthy(U.wait_for(function()
      return ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "crasher") == "exited 3\n"
    end, 20), ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "crasher"))
    assert.are.equal("3 on-failure 3\n", ok("inspect", "-f",
      "{{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "crasher"))
    assert.are.equal("run\nrun\nrun\nrun\n", ok("logs", "crasher"))
    local ev = ok("events", "--since", "1m", "--until", "0s", "--filter", "container=crasher", "--format", "{{.Action}}")
    assert.are.equal("create\n" .. ("start\ndie\n"):rep(4), ev)
    assert.matches("Exited %(3%)", ok("ps", "-a", "--format", "{{.Status}}"))
  end)

  it("history, info and network prune as docker prints them", function()
    ok("run", "--network", "none", "--name", "mk", "busybox", "sh", "-c", "echo x > /x")
    ok("commit", "-m", "one more file", "mk", "layered:1")
    local hist = ok("history", "layered:1")
    local lines = {}
    for l in hist:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.matches("^IMAGE%s+CREATED%s+CREATED BY%s+SIZE%s+COMMENT$", lines[1])
    assert.are.equal(3, #lines, hist)
    local top = line(ok("image", "inspect", "-f", "{{.Id}}", "layered:1")):sub(8, 19)
    assert.matches("^" .. top .. "%s+.- ago%s+sh %-c echo x > /x%s+%d[%d.]*k?B%s+one more file$", lines[2])
    assert.are.equal(top .. "\n", ok("history", "-q", "layered:1"):match("^[^\n]+\n"))
    local rows = ok("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "layered:1")
    assert.matches("^sha256:" .. top .. "%x+|sh %-c echo x > /x|one more file\n", rows)
    fails(1, "no such image: nosuch:1", "history", "nosuch:1")
    assert.are.equal("commit mk one more file\n", ok("events", "--since", "1m", "--until", "0s", "--filter", "event=commit",
      "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.comment}}"))
    -- info
    ok("run", "-d", "--network", "none", "--name", "up", "busybox", "sleep", "30")
    ok("run", "-d", "--network", "none", "--name", "frozen", "busybox", "sleep", "30")
    ok("pause", "frozen")
    local info = ok("info")
    assert.matches("\n Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n Images: 2\n", info)
    assert.matches("\n Storage Driver: overlay\n", info)
    assert.matches("\n Cgroup Driver: cgroupfs\n", info)
    assert.matches("\n Kernel Version: " .. core.uname().release:gsub("%p", "%%%0") .. "\n", info)
    assert.matches("\n Root Dir: " .. root:gsub("%p", "%%%0") .. "\n", info)
    local fields = json.decode(ok("info", "--format", "{{json .}}"))
    assert.are.equal(3, fields.Containers)
    assert.are.equal(1, fields.ContainersPaused)
    assert.is_true(fields.NCPU >= 1)
    assert.is_true(fields.MemTotal > 0)
    assert.are.equal(root, line(ok("info", "-f", "{{.DockerRootDir}}")))
    ok("unpause", "frozen")
    -- network prune: a network a stopped container names is used
    ok("network", "create", "unused")
    ok("network", "create", "kept")
    ok("create", "--network", "kept", "--name", "onkept", "busybox", "true")
    assert.are.equal("Deleted Networks:\nunused\n", ok("network", "prune", "-f"))
    assert.are.equal("", ok("network", "prune", "-f"))
    local names = ok("network", "ls", "--format", "{{.Name}}")
    assert.is_truthy(names:find("kept\n", 1, true))
    assert.is_nil(names:find("unused", 1, true))
    ok("rm", "onkept")
    assert.matches("Deleted Networks:\nkept\n", ok("system", "prune", "-f"))
  end)

  it("history of a pulled image: its config's rows, empty layers at 0B; hostile text stays one clean row", function()
    -- a pulled image as the store keeps it: a record naming its config blob
    local state = require "ctr.state"
    state.set_root(root)
    local ok_, err = pcall(function()
      local base = require("ctr.image").resolve("busybox")
      local cfg = json.encode { architecture = "amd64", os = "linux", config = {}, rootfs = { type = "layers" },
        history = {
          { created = "2024-01-02T03:04:05Z", created_by = "/bin/sh -c #(nop) ADD file:abc in / " },
          { created = "2024-01-02T03:04:06Z", created_by = "/bin/sh -c #(nop)  CMD [\"sh\"]", empty_layer = true },
          { created = "2024-01-02T03:04:07Z", created_by = "evil\n\27[2Jline\255two", comment = "c\r\nd" },
          { created = 42, created_by = { "not", "a", "string" } }, -- nonsense: no crash
        } }
      local d = "sha256:" .. require("ctr.http").sha256(cfg)
      local path = require("ctr.registry_store").blob_path(d)
      assert(require("ctr.util").mkdir_p(path:match("^(.*)/"), 448))
      local f = assert(io.open(path, "w")); f:write(cfg); f:close()
      state.with_lock(function()
        require("ctr.image.store").register({ base.layers[1], base.layers[1] }, {}, "pulled:1",
          { config_digest = d, blobs = json.array({ d }) })
      end)
    end)
    state.set_root(nil)
    assert(ok_, err)
    local out = ok("history", "--format", "{{.ID}}|{{.CreatedAt}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}", "pulled:1")
    local rows = {}
    for l in out:gmatch("[^\n]+") do rows[#rows + 1] = l end
    assert.are.equal(4, #rows, out)
    local top = line(ok("images", "-q", "pulled:1"))
    assert.matches("^" .. top .. "||table: .-|0B|$", rows[1])
    assert.matches("^<missing>|2024%-01%-02T03:04:07Z|evil  %[2Jline%?two|%d[%d.]*[kM]B|c  d$", rows[2])
    assert.are.equal("<missing>|2024-01-02T03:04:06Z|/bin/sh -c #(nop)  CMD [\"sh\"]|0B|", rows[3])
    assert.matches("^<missing>|2024%-01%-02T03:04:05Z|/bin/sh %-c #%(nop%) ADD file:abc in / |%d[%d.]*[kM]B|$", rows[4])
    -- the table cuts CREATED BY at 45 characters
    local tbl = ok("history", "pulled:1")
    assert.is_truthy(tbl:find("/bin/sh -c #(nop) ADD file:abc in / ", 1, true))
    assert.is_nil(tbl:find("\27", 1, true))
  end)
end)
