-- cmds2_spec: docker parity (issue 13): inspect in docker's shape and its
-- -f templates, create / start -a, stats, events, attach, and the shell
-- completion and man pages generated from the workflows' option tables.
local U = require "spec_util"
local json = require "ctr.json"

local root
local function ctr(...) return U.ctr(root, { ... }) end
local function ok(...)
  local out, err, code = U.ctr(root, { ... })
  assert.are.equal(0, code, table.concat({ ... }, " ") .. ": " .. err)
  return out
end
local function line(s) return (s:gsub("\n$", "")) end

describe("inspect in docker's shape", function()
  U.per_test_root(function(r) root = r end)

  it("a container: docker's fields, templates people use, our fields alongside", function()
    local vol = root .. "/vol"
    local id = line(ok("run", "-d", "--network", "none", "--name", "web", "-m", "64m", "--cpus", "0.5",
      "--pids-limit", "50", "--cap-add", "NET_ADMIN", "--read-only", "-e", "A=1", "-l", "tier=front",
      "-v", vol .. ":/data:ro", "--workdir", "/tmp", "busybox", "sleep", "30"))
    local c = json.decode(ok("inspect", "web"))[1]
    assert.are.equal(id, c.Id)
    assert.are.equal("/web", c.Name)
    assert.are.equal("sleep", c.Path)
    assert.are.same({ "30" }, c.Args)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", c.Created)
    local s = c.State
    assert.are.equal("running", s.Status)
    assert.is_true(s.Running)
    assert.is_false(s.Paused or s.Restarting or s.OOMKilled or s.Dead)
    assert.is_true(s.Pid > 0)
    assert.are.equal(0, s.ExitCode)
    assert.are.equal("", s.Error)
    assert.are.equal("0001-01-01T00:00:00Z", s.FinishedAt)
    assert.are.equal("busybox", c.Image)
    local cfg = c.Config
    assert.are.equal(id:sub(1, 12), cfg.Hostname)
    assert.are.same({ "sleep", "30" }, cfg.Cmd)
    assert.are.equal("/tmp", cfg.WorkingDir)
    assert.is_truthy(table.concat(cfg.Env, " "):find("A=1", 1, true))
    assert.are.same({ tier = "front" }, cfg.Labels)
    assert.are.equal("SIGTERM", cfg.StopSignal)
    assert.is_false(cfg.Tty)
    assert.is_false(cfg.OpenStdin)
    assert.are.same({ "sleep", "30" }, cfg.process.args) -- the OCI config alongside
    local h = c.HostConfig
    assert.are.equal(64 * 1024 * 1024, h.Memory)
    assert.are.equal(500000000, h.NanoCpus)
    assert.are.equal(50, h.PidsLimit)
    assert.is_true(h.ReadonlyRootfs)
    assert.is_false(h.Privileged)
    assert.are.same({ "NET_ADMIN" }, h.CapAdd)
    assert.are.equal("none", h.NetworkMode)
    assert.are.same({ vol .. ":/data:ro" }, h.Binds)
    assert.are.same({ Name = "no", MaximumRetryCount = 0 }, h.RestartPolicy)
    assert.is_false(h.AutoRemove)
    assert.are.same({ { Type = "bind", Source = vol, Destination = "/data", RW = false, Mode = "ro", Propagation = "rprivate" } },
      c.Mounts)
    assert.are.equal("", c.NetworkSettings.IPAddress)
    assert.are.equal("overlay2", c.GraphDriver.Name)
    assert.matches("/upper$", c.GraphDriver.Data.UpperDir)
    assert.is_truthy(c.GraphDriver.Data.LowerDir:find("/layers/", 1, true))

    -- the templates of issue 13
    assert.are.equal(("%d 67108864 running\n"):format(s.Pid),
      ok("inspect", "-f", "{{.State.Pid}} {{.HostConfig.Memory}} {{.State.Status}}", "web"))
    assert.are.equal('["sleep","30"]\n', ok("inspect", "-f", "{{json .Config.Cmd}}", "web"))
    assert.are.equal("front\n", ok("inspect", "-f", '{{index .Config.Labels "tier"}}', "web"))
    assert.are.equal("/data:false \n", ok("inspect", "-f", "{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}", "web"))
    assert.are.equal("tier=front\n", ok("inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}", "web"))
    assert.are.equal("RUNNING 1 /web\n", ok("inspect", "-f", '{{upper .State.Status}} {{len .Args}} {{printf "%s" .Name}}', "web"))
    assert.are.equal("sleep,30\n", ok("inspect", "-f", '{{join .Config.Cmd ","}}', "web"))
    assert.are.equal("up\n", ok("inspect", "-f", "{{if .State.Running}}up{{else}}down{{end}}", "web"))

    ok("stop", "-t", "1", "web")
    s = json.decode(ok("inspect", "web"))[1].State
    assert.are.equal("exited", s.Status)
    assert.are.equal(0, s.Pid)
    assert.are.equal(137, s.ExitCode)
  end)

  it("a container on a network: NetworkSettings and Networks", function()
    ok("network", "create", "--subnet", "10.231.7.0/24", "cmds2net")
    ok("run", "-d", "--network", "cmds2net", "--name", "n1", "busybox", "sleep", "30")
    local n = json.decode(ok("inspect", "n1"))[1].NetworkSettings
    assert.matches("^10%.231%.7%.%d+$", n.IPAddress)
    assert.are.equal("10.231.7.1", n.Gateway)
    assert.are.equal(24, n.IPPrefixLen)
    assert.matches("^%x%x:%x%x:", n.MacAddress)
    local net = n.Networks.cmds2net
    assert.are.equal(n.IPAddress, net.IPAddress)
    assert.are.equal(n.MacAddress, net.MacAddress)
    assert.are.equal(64, #net.NetworkID)
    assert.are.equal(n.IPAddress .. "\n", ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "n1"))
    assert.are.equal(n.IPAddress .. "\n", ok("inspect", "-f", '{{(index .NetworkSettings.Networks "cmds2net").IPAddress}}', "n1"))
    assert.are.equal("NAME       DRIVER\ncmds2net   bridge\n", ok("network", "ls", "--format", "table {{.Name}}\t{{.Driver}}"))
    assert.are.equal("cmds2net 10.231.7.0/24\n",
      ok("network", "inspect", "-f", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", "cmds2net"))
    ok("rm", "-f", "n1")
    ok("network", "rm", "cmds2net")
  end)

  it("an image: Id, RepoTags, Config, RootFS, Architecture, Os; commit and import print sha256:<id>", function()
    local img = json.decode(ok("image", "inspect", "busybox"))[1]
    assert.matches("^sha256:%x+$", img.Id)
    assert.are.equal(71, #img.Id)
    assert.are.same({ "busybox:latest" }, img.RepoTags)
    assert.are.same({}, img.RepoDigests)
    assert.are.same({ "sh" }, img.Config.Cmd)
    assert.are.equal("layers", img.RootFS.Type)
    assert.matches("^sha256:%x+$", img.RootFS.Layers[1])
    assert.are.equal("linux", img.Os)
    assert.is_string(img.Architecture)
    assert.is_true(img.Size > 0)
    assert.are.equal('["sh"]\n', ok("inspect", "-f", "{{json .Config.Cmd}}", "busybox"))
    ok("run", "--network", "none", "--name", "c", "busybox", "sh", "-c", "echo x > /f")
    local cid = ok("commit", "c", "mine:1")
    assert.matches("^sha256:%x+\n$", cid)
    assert.are.equal(line(cid), line(ok("image", "inspect", "-f", "{{.Id}}", "mine:1")))
    ok("export", "-o", root .. "/c.tar", "c")
    assert.matches("^sha256:%x+\n$", ok("import", root .. "/c.tar", "imp:1"))
  end)
end)

describe("create and start -a", function()
  U.per_test_root(function(r) root = r end)

  it("create makes a container without starting it; ps -a shows Created; start -a runs it with its exit code", function()
    local id = line(ok("create", "--network", "none", "--name", "made", "-i", "-e", "X=1", "busybox",
      "sh", "-c", "read l; echo \"got $l $X\"; exit 3"))
    assert.are.equal(64, #id)
    assert.are.equal("made Created created\n", ok("ps", "-a", "--format", "{{.Names}} {{.Status}} {{.State}}"))
    assert.are.equal("", ok("ps", "-q"))
    local c = json.decode(ok("inspect", "made"))[1]
    assert.are.equal("created", c.State.Status)
    assert.is_true(c.Config.OpenStdin)
    local out, err, code = U.ctr(root, { "start", "-a", "-i", "made" }, { stdin = "hello\n" })
    assert.are.equal(3, code, err)
    assert.are.equal("got hello 1\n", out)
    assert.are.equal("exited 3\n", ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "made"))
    -- created without -i: start -a -i does not forward stdin (it gets /dev/null)
    ok("create", "--network", "none", "--name", "noin", "busybox", "sh", "-c", "cat; echo end")
    out = U.ctr(root, { "start", "-a", "-i", "noin" }, { stdin = "ignored\n" })
    assert.are.equal("end\n", out)
    -- start (detached) then wait
    ok("create", "--network", "none", "--name", "later", "busybox", "sh", "-c", "exit 4")
    assert.are.equal("later\n", ok("start", "later"))
    assert.are.equal("4\n", ok("wait", "later"))
  end)

  it("create refuses run's --detach and bad options as run does (125), leaving nothing", function()
    local _, err, code = ctr("create", "-d", "busybox")
    assert.are.equal(125, code)
    assert.matches("unknown shorthand flag", err)
    _, err, code = ctr("create", "--memory", "lots", "busybox")
    assert.are.equal(125, code, err)
    _, _, code = ctr("create")
    assert.are.equal(125, code)
    assert.are.equal("", ok("ps", "-aq"))
  end)
end)

describe("stats", function()
  U.per_test_root(function(r) root = r end)

  it("--no-stream: docker's table and json, figures from the cgroup and the network namespace", function()
    ok("run", "-d", "--network", "none", "--name", "busy", "-m", "32m", "busybox", "sh", "-c", "while :; do :; done")
    ok("run", "-d", "--network", "none", "--name", "idle", "busybox", "sleep", "30")
    ok("create", "--network", "none", "--name", "new", "busybox", "true")
    local out = ok("stats", "--no-stream")
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(3, #lines, out) -- the header, the two running ones
    assert.matches("^CONTAINER ID +NAME +CPU %% +MEM USAGE / LIMIT +MEM %% +NET I/O +BLOCK I/O +PIDS$", lines[1])
    local r = json.decode(ok("stats", "--no-stream", "--format", "json", "busy"))
    assert.are.equal("busy", r.Name)
    assert.are.equal("busy", r.Container)
    assert.are.equal(12, #r.ID)
    assert.is_true(tonumber(r.CPUPerc:match("^([%d.]+)%%$")) > 20, r.CPUPerc) -- a busy loop
    assert.matches("^[%d.]+[KM]?i?B / 32MiB$", r.MemUsage)
    assert.matches("^[%d.]+%%$", r.MemPerc)
    assert.are.equal("0B / 0B", r.NetIO) -- --network none: lo only
    assert.matches("^[%d.]+[kMG]?B / [%d.]+[kMG]?B$", r.BlockIO)
    assert.are.equal("1", r.PIDs)
    r = json.decode(ok("stats", "--no-stream", "--format", "json", "idle"))
    assert.are.equal("0.00%", r.CPUPerc)
    -- -a: the created one too, with zeros; a template with the table directive
    out = ok("stats", "--no-stream", "-a", "--format", "table {{.Name}}\t{{.PIDs}}")
    assert.matches("^NAME +PIDS\n", out)
    assert.matches("\nnew +0\n", out)
    local _, err, code = ctr("stats", "--no-stream", "nosuch")
    assert.are.equal(1, code)
    assert.matches("nosuch", err)
    _, err, code = ctr("stats", "--no-stream", "--format", "{{.Bogus}}")
    assert.are.equal(1, code)
    assert.matches("can't evaluate field Bogus", err)
  end)

  it("counts a container's network traffic (its namespace, not lo)", function()
    ok("network", "create", "--subnet", "10.231.8.0/24", "statnet")
    ok("run", "-d", "--network", "statnet", "--name", "srv", "busybox", "sleep", "30")
    local ip = line(ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "srv"))
    ok("run", "--rm", "--network", "statnet", "busybox", "ping", "-c", "3", "-i", "0.2", "-s", "1400", ip)
    local r = json.decode(ok("stats", "--no-stream", "--format", "json", "srv"))
    local rx, tx = r.NetIO:match("^([%d.]+)kB / ([%d.]+)kB$")
    assert.is_truthy(rx and tonumber(rx) >= 4.2 and tonumber(tx) >= 4.2, r.NetIO) -- 3 pings in, 3 replies out
    ok("rm", "-f", "srv")
    ok("network", "rm", "statnet")
  end)

  it("redraws the table every second on a terminal", function()
    ok("run", "-d", "--network", "none", "--name", "s1", "busybox", "sleep", "30")
    local p = U.pty(root, { "stats" })
    p:expect("\27[2J\27[H", 5)
    p:expect("s1", 5)
    p:expect("\27[2J\27[H", 5)
    p:expect("s1", 5)
    require("ctr.core").kill(p.pid, "TERM")
    assert.is_not_nil(p:wait(5))
  end)
end)

describe("events", function()
  U.per_test_root(function(r) root = r end)

  it("--since/--until replay what is recorded, in docker's line, JSON and template forms, filtered", function()
    assert.are.equal(2, select(3, ctr("run", "--network", "none", "--name", "x", "-l", "tier=db", "busybox", "sh", "-c", "exit 2")))
    ok("create", "--network", "none", "--name", "other", "busybox", "true")
    local id = line(ok("inspect", "-f", "{{.Id}}", "x"))
    local out = ok("events", "--since", "1m", "--until", "0s", "--filter", "container=x") -- x: no id starts with it, as a would
    local function pat(a) return "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+Z container " .. a .. " " .. id .. " %((.*)%)$" end
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(3, #lines, out)
    assert.are.equal("image=busybox, name=x, tier=db", lines[1]:match(pat("create")))
    assert.are.equal("image=busybox, name=x, tier=db", lines[2]:match(pat("start")))
    assert.are.equal("exitCode=2, image=busybox, name=x, tier=db", lines[3]:match(pat("die")))
    local m = json.decode(ok("events", "--since", "1m", "--until", "0s", "--filter", "event=die", "--format", "{{json .}}"))
    assert.are.equal("die", m.status)
    assert.are.equal("die", m.Action)
    assert.are.equal(id, m.id)
    assert.are.equal("busybox", m.from)
    assert.are.equal("container", m.Type)
    assert.are.same({ ID = id, Attributes = { exitCode = "2", image = "busybox", name = "x", tier = "db" } }, m.Actor)
    assert.are.equal(m.time, m.timeNano // 1000000000) -- docker's: the same time, timeNano with its nanoseconds
    assert.is_true(math.abs(m.time - os.time()) < 60)
    assert.are.equal("create x\n", ok("events", "--since", "1m", "--until", "0s", "--filter", "label=tier=x",
      "--filter", "label=tier=db", "--filter", "event=create", "--format", "{{.Action}} {{.Actor.Attributes.name}}"))
    assert.are.equal("", ok("events", "--since", "1m", "--until", "0s", "--filter", "type=image"))
    assert.are.equal("", ok("events", "--since", os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 3600), "--until",
      tostring(os.time() - 3599)))
    local _, err, code = ctr("events", "--filter", "bogus=1")
    assert.are.equal(125, code)
    assert.matches("invalid filter", err)
    _, _, code = ctr("events", "--since", "yesterday")
    assert.are.equal(125, code)
  end)

  it("streams what happens, as it happens, until --until", function()
    local file = root .. "/ev.txt"
    local p = io.popen(("LUAC_CTR_ROOT=%s %s events --until %d --filter container=b > %s 2>&1; echo done")
      :format(U.q(root), U.q(U.launcher), os.time() + 6, U.q(file))) -- a margin for a loaded machine
    require("ctr.core").sleep(0.7)
    ok("run", "-d", "--network", "none", "--name", "b", "busybox", "sleep", "30")
    ok("rm", "-f", "b")
    assert.are.equal("done\n", p:read("a")) -- ended by itself at --until
    p:close()
    local f = assert(io.open(file))
    local out = f:read("a")
    f:close()
    local actions = {}
    for a in out:gmatch("container (%a+) ") do actions[#actions + 1] = a end
    assert.are.same({ "create", "start", "kill", "die", "destroy" }, actions, out) -- rm -f: docker's kill (signal=9) first
  end)

  it("is a log: every restart by the policy, pause, rename, kill, stop, exec, volumes and images are recorded", function()
    ok("run", "-d", "--network", "none", "--name", "crash", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
    assert.is_true(U.wait_for(function()
      return line(ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "crash")) == "exited 2"
    end, 20))
    ok("run", "-d", "--network", "none", "--name", "p", "busybox", "sleep", "30")
    ok("pause", "p")
    ok("unpause", "p")
    ok("rename", "p", "q")
    assert.are.equal("hi\n", ok("exec", "q", "echo", "hi"))
    ok("kill", "-s", "USR1", "q")
    ok("stop", "-t", "0", "q")
    ok("volume", "create", "vol1")
    ok("volume", "rm", "vol1")
    ok("tag", "busybox", "mine:1")
    ok("rmi", "mine:1")
    local out = ok("events", "--since", "1m", "--until", "0s", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    local want = table.concat({
      "container create crash", "container start crash", "container die crash", "container start crash",
      "container die crash", "container start crash", "container die crash",
      "container create p", "container start p", "container pause p", "container unpause p", "container rename q",
      "container exec_create: echo hi q", "container exec_start: echo hi q", "container exec_die q",
      "container kill q", "container kill q", "container kill q", "container die q", "container stop q",
      "volume create <no value>", "volume destroy <no value>", "image tag mine:1", "image untag mine:1", "" }, "\n")
    -- kill -s USR1, then stop -t 0: SIGTERM and at once SIGKILL (sleep as PID 1 ignores SIGTERM)
    assert.are.equal(want, out)
    local m = json.decode((ok("events", "--since", "1m", "--until", "0s", "--filter", "event=rename", "--format", "{{json .}}")))
    assert.are.equal("/p", m.Actor.Attributes.oldName)
    assert.is_nil(m.result) -- our own fields stay ours
    local kills = ok("events", "--since", "1m", "--until", "0s", "--filter", "event=kill", "--filter", "container=q")
    assert.matches("signal=10%)\n.*signal=15%)\n.*signal=9%)\n$", kills)
    assert.are.equal("volume destroy vol1\n", ok("events", "--since", "1m", "--until", "0s", "--filter", "type=volume",
      "--filter", "event=destroy", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}"))
  end)

  it("appends from many processes at once take no lock and every line stays whole", function()
    -- 4 processes x 50 events of ~600 bytes, no rotation due: O_APPEND
    -- writes while another process holds events.lock the whole time
    os.execute("mkdir -p " .. U.q(root .. "/locks") .. " && touch " .. U.q(root .. "/events.log"))
    local holder = math.tointeger(tonumber((U.sh("sh -c " .. U.q("exec 9>" .. U.q(root .. "/locks/events.lock")
      .. "; flock 9; exec sleep 60") .. " >/dev/null 2>&1 & echo $!"))))
    U.sh("sleep 0.2")
    local code = "local e = require 'ctr.eventlog'; for i = 1, 50 do "
      .. "assert(e.record('volume', 'create', os.getenv('P') .. '-' .. i, { pad = ('x'):rep(500) })) end"
    local t0 = os.time()
    local _, err, rc = U.sh("for p in a b c d; do P=$p LUAC_CTR_ROOT=" .. U.q(root) .. " timeout 20 " .. U.q(U.launcher)
      .. " -e " .. U.q(code) .. " & done; wait")
    U.sh("kill " .. holder)
    assert.are.equal(0, rc, err)
    assert.is_true(os.time() - t0 < 15, "the appends waited for the events lock")
    local n, seen = 0, {}
    for l in io.lines(root .. "/events.log") do
      local m = json.decode(l)
      if m.Type == "volume" then n = n + 1; seen[m.Actor.ID] = true end
    end
    assert.are.equal(200, n)
    for _, p in ipairs { "a", "b", "c", "d" } do assert.is_true(seen[p .. "-50"], p) end
  end)

  it("the log is rotated at its size limit and a follower reads across the rotation; names cannot forge lines", function()
    local state = require "ctr.state"
    local eventlog = require "ctr.eventlog"
    state.set_root(root)
    local max = eventlog.MAX
    eventlog.MAX = 2000
    local ok_, err = pcall(function()
      local r = eventlog.reader()
      local got = {}
      for i = 1, 40 do -- a follower reading as they come (two events a read)
        assert.is_true(eventlog.record("volume", "create", "v" .. i, { driver = "local" }))
        if i % 2 == 0 then
          for _, m in ipairs(r:poll()) do got[#got + 1] = m.Actor.ID end
        end
      end
      assert.are.equal(40, #got)
      assert.are.equal("v1", got[1])
      assert.are.equal("v40", got[40])
      local core = require "ctr.core"
      assert.is_true(core.exists(root .. "/events.log.1"))
      assert.is_true(core.stat(root .. "/events.log").size <= 2000)
      r:close()
      -- since: the rotated log's events first
      local all = eventlog.reader(0):poll()
      assert.are.equal("v40", all[#all].Actor.ID)
      assert.is_true(#all < 40 and #all > 5)
      -- a name with a newline and a terminal escape is one line, escaped
      assert.is_true(eventlog.record("container", "create", "x", { name = "a\n2026 container die x\27[2J" }))
    end)
    eventlog.MAX = max
    state.set_root(nil)
    assert(ok_, err)
    local out = ok("events", "--since", "1m", "--until", "0s", "--filter", "type=container")
    assert.are.equal(1, select(2, out:gsub("\n", "")), out)
    assert.matches("name=a\\x0a2026 container die x\\x1b%[2J%)\n$", out)
  end)
end)

describe("attach", function()
  U.per_test_root(function(r) root = r end)

  it("relays a detached container's output from now on, proxies SIGTERM, exits with its code", function()
    ok("run", "-d", "--network", "none", "--name", "t", "busybox", "sh", "-c",
      "trap 'echo got-term; echo err-line >&2; exit 7' TERM; echo early; i=0; while :; do echo line$i; i=$((i+1)); sleep 0.2; done")
    U.wait_for(function() return (ctr("logs", "t")):find("line2", 1, true) end, 5)
    local p = U.pty(root, { "attach", "t" })
    p:expect("line", 5) -- new output arrives
    require("ctr.core").kill(p.pid, "TERM")
    p:expect("got-term", 5)
    p:expect("err-line", 5)
    assert.are.equal(7, p:wait(10))
    assert.is_nil(p.buf:find("early", 1, true)) -- what was written before is not replayed
    assert.are.equal("exited 7\n", ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "t"))
  end)

  it("forwards stdin to a container run with -d -i, whose stdin stays open", function()
    ok("run", "-d", "-i", "--network", "none", "--name", "i", "busybox", "sh", "-c",
      "read a; echo \"first $a\"; read b; echo \"second $b\"; exit 5")
    require("ctr.core").sleep(0.3)
    assert.are.equal("running\n", ok("inspect", "-f", "{{.State.Status}}", "i")) -- its stdin did not end
    local out, err, code = U.ctr(root, { "attach", "i" }, { stdin = "x\ny\n" })
    assert.are.equal(5, code, err)
    assert.are.equal("first x\nsecond y\n", out)
    -- --no-stdin: nothing is forwarded
    ok("run", "-d", "-i", "--network", "none", "--name", "j", "busybox", "sh", "-c", "read a; echo \"got $a\"")
    local p = io.popen(("echo data | LUAC_CTR_ROOT=%s %s attach --no-stdin j; echo rc=$?"):format(U.q(root), U.q(U.launcher)))
    require("ctr.core").sleep(1)
    assert.are.equal("running\n", ok("inspect", "-f", "{{.State.Status}}", "j"))
    ok("stop", "-t", "1", "j")
    assert.are.equal("rc=137\n", p:read("a"))
    p:close()
  end)

  it("--sig-proxy=false: a signal ends the attach, not the container; a stopped one cannot be attached", function()
    ok("run", "-d", "--network", "none", "--name", "u", "busybox", "sh", "-c", "while :; do echo tick; sleep 0.2; done")
    local p = U.pty(root, { "attach", "--sig-proxy=false", "u" })
    p:expect("tick", 5)
    require("ctr.core").kill(p.pid, "TERM")
    assert.are.equal(143, p:wait(10))
    assert.are.equal("running\n", ok("inspect", "-f", "{{.State.Status}}", "u"))
    ok("stop", "-t", "1", "u")
    local _, err, code = ctr("attach", "u")
    assert.are.equal(1, code)
    assert.matches("You cannot attach to a stopped container", err)
    _, _, code = ctr("attach", "nosuch")
    assert.are.equal(1, code)
  end)
end)

describe("shell completion and man pages, generated from the option tables", function()
  local tmp, prefix
  setup(function()
    tmp = U.tmproot()
    prefix = tmp .. "/inst"
    local _, err, code = U.sh(("cmake --install %s --prefix %s"):format(U.q(U.build), U.q(prefix)))
    assert.are.equal(0, code, err)
  end)
  teardown(function() U.cleanup(tmp) end)

  -- the words bash completes for a command line (the last word is completed)
  local function complete(cmdline)
    local script = ([[
      source %s
      complete -p luac-ctr
      COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=%s
      _luac_ctr
      printf '%%s\n' "${COMPREPLY[@]}"
    ]]):format(U.q(prefix .. "/share/bash-completion/completions/luac-ctr"),
      cmdline:match(" $") and cmdline .. "''" or cmdline, U.q(cmdline))
    local out, err, code = U.sh("bash -c " .. U.q(script))
    assert.are.equal(0, code, err)
    return out
  end

  it("bash: the script parses, registers, and completes commands and options", function()
    local path = prefix .. "/share/bash-completion/completions/luac-ctr"
    local _, err, code = U.sh("bash -n " .. U.q(path))
    assert.are.equal(0, code, err)
    local out = complete("luac-ctr ru")
    assert.matches("^complete %-F _luac_ctr luac%-ctr\n", out)
    assert.are.equal("run\n", out:gsub("^[^\n]*\n", ""))
    out = complete("luac-ctr run --mem"):gsub("^[^\n]*\n", "")
    local words = {}
    for w in out:gmatch("%S+") do words[#words + 1] = w end
    table.sort(words)
    assert.are.equal("--memory", words[1])
    assert.is_truthy(table.concat(words, " "):find("--memory-swap", 1, true))
    for _, w in ipairs(words) do assert.matches("^%-%-mem", w) end
    -- every workflow is a command, those of other helpers too; subcommands
    out = complete("luac-ctr "):gsub("^[^\n]*\n", "")
    for f in U.sh("ls scripts"):gmatch("([%w_-]+)%.lua") do
      if f ~= "hello" then assert.is_truthy(out:find("\n" .. f .. "\n", 1, true) or out:find("^" .. f .. "\n"), f) end
    end
    assert.are.equal("create\n", (complete("luac-ctr network cr"):gsub("^[^\n]*\n", "")))
    assert.are.equal("--no-stream\n", (complete("luac-ctr stats --no-s"):gsub("^[^\n]*\n", "")))
    assert.is_truthy(complete("luac-ctr create --pids"):find("--pids-limit", 1, true)) -- run's options, shared
  end)

  it("zsh: a #compdef file with every command; a man page per command that man renders", function()
    local zsh = assert(io.open(prefix .. "/share/zsh/site-functions/_luac-ctr")):read("a")
    assert.matches("^#compdef luac%-ctr\n", zsh)
    assert.is_truthy(zsh:find("'stats:Display a live stream", 1, true))
    assert.is_truthy(zsh:find("'*'{-e,--env}'[Set environment variables", 1, true))
    if U.sh("command -v zsh") ~= "" then
      local _, err, code = U.sh("zsh -n " .. U.q(prefix .. "/share/zsh/site-functions/_luac-ctr"))
      assert.are.equal(0, code, err)
    end
    -- every page rendered (groff as man runs it, every warning on: man -l
    -- takes ~1 s a page here, so it renders a few of them below)
    local names = {}
    for f in U.sh("ls scripts"):gmatch("([%w_-]+)%.lua") do if f ~= "hello" then names[#names + 1] = f end end
    local out, err, code = U.sh(("cd %s && for f in %s; do echo \"@@ $f\"; groff -man -Tutf8 -ww -rLL=80n luac-ctr-$f.1 || echo FAILED; done")
      :format(U.q(prefix .. "/share/man/man1"), table.concat(names, " ")))
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    assert.is_nil(out:find("FAILED", 1, true))
    out = out:gsub("\27%[[%d;]*m", ""):gsub(".\8", "") -- no bold/underline
    local n = 0
    for _, f in ipairs(names) do
      local page = out:match("@@ " .. f:gsub("%-", "%%-") .. "\n(.-)\n@@ ") or out:match("@@ " .. f:gsub("%-", "%%-") .. "\n(.*)$")
      assert.matches("luac%-ctr%-" .. f:gsub("%-", "%%-") .. "%s+%-%s", page)
      n = n + 1
    end
    assert.is_true(n > 25)
    out, err, code = U.sh("cd " .. U.q(prefix .. "/share/man/man1") ..
      " && MAN_DISABLE_SECCOMP=1 MANWIDTH=80 man --warnings -l luac-ctr-run.1 luac-ctr-network.1")
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    assert.matches("%-m, %-%-memory SIZE", out)
    assert.matches("%-%-health%-cmd VALUE", out)
    assert.is_truthy(U.sh("MANWIDTH=80 man -l " .. U.q(prefix .. "/share/man/man1/luac-ctr.1")):find("luac-ctr-stats(1)", 1, true))
  end)
end)
