-- spec/orch_api_spec.lua: the orchestration API's checked options
-- (ctr.check), labels (ctr.labels), the REPL's help for methods and its
-- completion without private names. Pure Lua: no root, no containers.
local check = require "ctr.check"
local errors = require "ctr.errors"
local labels = require "ctr.labels"
local repl = require "ctr.repl"

-- The invalid error fn(...) raises: its message.
local function invalid(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(errors.is(e, "invalid"), "not an invalid error: " .. tostring(e))
  assert.are.equal(125, e.code)
  return e.msg
end

describe("ctr.check", function()
  local schema = { memory = "size", cmd = "list", cwd = "string", tty = "boolean", env = "env",
    labels = "map", timeout = "number", _aliases = { workdir = "cwd", argv = "cmd" } }

  it("refuses an unknown key, naming it and the nearest known one", function()
    assert.are.equal('container.create: unknown option "memroy" (did you mean "memory"?)',
      invalid(check.options, "container.create", { memroy = "32m" }, schema))
    assert.are.equal('f: unknown option "zzzzzzzz"', invalid(check.options, "f", { zzzzzzzz = 1 }, schema))
    assert.matches('did you mean "workdir"', invalid(check.options, "f", { workdri = "/" }, schema))
    assert.matches('unknown option "1"', invalid(check.options, "f", { "positional" }, schema))
  end)

  it("refuses a wrong type, naming the key and what it wants", function()
    assert.are.equal('container.run: cmd must be a list of strings, e.g. {"sh", "-c", "echo hi"}',
      invalid(check.options, "container.run", { cmd = "echo hi" }, schema))
    assert.matches("option cmd must be a list of strings", invalid(check.options, "f", { cmd = { 1, 2 } }, schema))
    assert.matches("option tty must be true or false, not a string",
      invalid(check.options, "f", { tty = "yes" }, schema))
    assert.matches("option labels must be a table of strings",
      invalid(check.options, "f", { labels = { svc = {} } }, schema))
    assert.matches("option memory must be a size", invalid(check.options, "f", { memory = true }, schema))
    assert.matches("an option table", invalid(check.options, "f", "memory=1", schema))
  end)

  it("accepts the right types and renames aliases to their keys", function()
    local o = check.options("f", { workdir = "/app", argv = { "ls" }, memory = 1024, timeout = "2.5",
      env = { A = "1" }, labels = { svc = "web", n = 2 } }, schema)
    assert.are.same({ cwd = "/app", cmd = { "ls" }, memory = 1024, timeout = "2.5", env = { A = "1" },
      labels = { svc = "web", n = 2 } }, o)
    assert.are.same({}, check.options("f", nil, schema))
    assert.are.same({ cwd = "/x" }, check.options("f", { cwd = "/x", workdir = "/x" }, schema))
    assert.matches("cwd and workdir are the same option",
      invalid(check.options, "f", { cwd = "/x", workdir = "/y" }, schema))
  end)

  it("has a schema for every option table of the API", function()
    for _, what in ipairs({ "container.create", "container.run", "container.list", "Container:exec",
      "Container:stop", "Container:logs", "network.create", "image.remove", "image.import", "image.pull",
      "image.push", "image.load", "image.prune", "container.wait_any", "container.events", "Container:commit",
      "Network:connect" }) do
      assert.is_table(check.SCHEMAS[what], what)
    end
    assert.are.same({ cmd = { "true" } }, check.api("Container:exec", { argv = { "true" } }))
    assert.matches("did you mean \"memory\"", invalid(check.api, "container.run", { image = "busybox", memroy = "1m" }))
  end)

  it("check.self refuses a method called with a dot", function()
    local Class = {}
    Class.__index = Class
    local Sub = setmetatable({}, { __index = Class })
    Sub.__index = Sub
    local obj, sub = setmetatable({}, Class), setmetatable({}, Sub)
    assert.are.equal(obj, check.self(obj, Class, "stop"))
    assert.are.equal(sub, check.self(sub, Class, "stop"))
    assert.are.equal("use c:stop(...), not c.stop(...)", invalid(check.self, 5, Class, "stop"))
    assert.are.equal("use c:exec(...), not c.exec(...)", invalid(check.self, {}, Class, "exec"))
  end)
end)

describe("ctr.labels", function()
  it("parses KEY=VALUE lists and label files, matches filters, formats for ps", function()
    local l = labels.parse({ "svc=web", "tier", "a=b=c" }, { old = "1", svc = "db" })
    assert.are.same({ svc = "web", tier = "", a = "b=c", old = "1" }, l)
    assert.matches("invalid label", invalid(labels.parse, { "=x" }))
    assert.is_true(labels.matches(l, "svc=web"))
    assert.is_true(labels.matches(l, { "svc", "tier=" }))
    assert.is_false(labels.matches(l, { "svc=web", "tier=x" }))
    assert.is_false(labels.matches(nil, "svc"))
    assert.is_true(labels.matches(nil, nil))
    assert.are.equal("a=b=c,old=1,svc=web,tier=", labels.format(l))
    assert.are.same({ n = "2", b = "true" }, labels.normalize({ n = 2, b = true }))
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("# comment\n\n svc=api \nteam=ops\n")
    f:close()
    assert.are.same({ "svc=api", "team=ops" }, labels.read_file(path))
    os.remove(path)
    assert.matches("cannot read label file", invalid(labels.read_file, path))
  end)
end)

describe("REPL help for methods, completion without private names", function()
  local container = require "ctr.container"

  it("help(c.stop) and help \"Container:wait\" find the methods' docs", function()
    local c = setmetatable({ id = "x", state = {} }, container.Container)
    local doc = assert(repl.doc(c.stop))
    assert.matches("Container:stop%(", doc)
    assert.matches("SIGKILL", doc)
    assert.matches("Container:wait%(", assert(repl.doc("Container:wait")))
    local mod = assert(repl.doc(container))
    assert.matches("methods:[^:]*Container:commit.*Container:exec", mod) -- the list wraps
    assert.is_nil(mod:find("_locked", 1, true))
  end)

  it("offers no private (_) fields or metamethods", function()
    _G.orch_spec_c = setmetatable({ id = "x", state = {} }, container.Container)
    local words = repl.complete("orch_spec_c:")
    local all = repl.complete("orch_spec_c.")
    _G.orch_spec_c = nil
    assert.truthy(#words > 5)
    for _, w in ipairs(words) do assert.is_nil(w:find(":_", 1, true), w) end
    for _, w in ipairs(all) do assert.is_nil(w:find("._", 1, true), w) end
    local set = {}
    for _, w in ipairs(words) do set[w] = true end
    assert.is_true(set["orch_spec_c:stop"])
    assert.are.same({ "_G", "_VERSION" }, repl.complete("_"))
  end)
end)

-- ---------------------------------------------------------------------------
-- against the kernel: containers in a state root of their own

describe("managing services #root", function()
  local U = require "spec_util"
  local container = require "ctr.container"
  local json = require "ctr.json"
  local root
  local fresh, done = U.api_state_root(function(r) root = r end)
  before_each(fresh)
  after_each(done)

  local function sleeper(o)
    o.image, o.detach = "busybox", true
    o.cmd = o.cmd or { "sleep", "100" }
    local c = container.run(o)
    return c
  end

  it("checks the options of create, run, exec, stop and remove, and self", function()
    assert.matches('unknown option "memroy" %(did you mean "memory"%?%)',
      invalid(container.run, { image = "busybox", memroy = "32m", cmd = { "true" } }))
    assert.matches('cmd must be a list of strings, e.g. {"sh", "%-c", "echo hi"}',
      invalid(container.create, { image = "busybox", cmd = "echo hi" }))
    assert.matches("option name must be a string", invalid(container.create, { image = "busybox", name = 5 }))
    assert.are.same({}, U.container_ids(root)) -- nothing made
    local c = sleeper { network = "none" }
    assert.are.equal("use c:stop(...), not c.stop(...)", invalid(c.stop, 5))
    assert.are.equal("use c:exec(...), not c.exec(...)", invalid(c.exec, {}))
    assert.matches('unknown option "forse"', invalid(c.remove, c, { forse = true }))
    assert.matches('Container:exec: unknown option "capure"', invalid(c.exec, c, { cmd = { "true" }, capure = true }))
    -- the same names everywhere: cmd and cwd, with argv and workdir as aliases
    assert.are.equal("/tmp\n", c:exec { cmd = { "pwd" }, cwd = "/tmp", capture = true }.stdout)
    assert.are.equal("/etc\n", c:exec { argv = { "pwd" }, workdir = "/etc", capture = true }.stdout)
    local c2 = container.run { image = "busybox", network = "none", cwd = "/proc", cmd = { "pwd" }, detach = true }
    c2:wait()
    assert.are.same({ "/proc" }, c2:logs())
    c:stop(1) -- a number is the timeout
    assert.are.equal("exited", c:status())
  end)

  it("keeps labels, lists by label in creation order, shows them in ps and inspect", function()
    local a = sleeper { name = "a", network = "none", labels = { svc = "web", n = 1 } }
    local b = sleeper { name = "b", network = "none", labels = { svc = "db" } }
    local c = sleeper { name = "c", network = "none", labels = { svc = "web", tier = "front" } }
    local function names(list)
      local t = {}
      for i, x in ipairs(list) do t[i] = x:name() end
      return t
    end
    assert.are.same({ "a", "b", "c" }, names(container.list()))
    assert.are.same({ "a", "c" }, names(container.list { label = "svc=web" }))
    assert.are.same({ "c" }, names(container.list { label = { "svc=web", "tier" } }))
    assert.are.same({ "a", "b", "c" }, names(container.list { label = "svc" }))
    assert.are.same({}, names(container.list { label = "svc=none" }))
    assert.are.same({ svc = "web", n = "1" }, a:labels())
    assert.are.same({ svc = "web", n = "1" }, a:inspect().Config.Labels)
    assert.are.same({ svc = "db" }, b.state.labels)
    local out, err, code = U.ctr(root, { "ps", "--filter", "label=svc=web", "--format", "{{.Names}} {{.Labels}}" })
    assert.are.equal(0, code, err)
    assert.are.equal("c svc=web,tier=front\na n=1,svc=web\n", out)
    out = U.ctr(root, { "ps", "-f", "label=tier", "-f", "label=svc", "-q" })
    assert.are.equal(c.id:sub(1, 12) .. "\n", out)
    -- run --label / -l / --label-file
    local f = root .. "/labels"
    local fh = assert(io.open(f, "w"))
    fh:write("# team\nteam=ops\nsvc=file\n")
    fh:close()
    out, err, code = U.ctr(root, { "run", "-d", "--name", "d", "--network", "none", "--label-file", f,
      "-l", "svc=cli", "--label", "x", "busybox", "true" })
    assert.are.equal(0, code, err)
    assert.are.same({ team = "ops", svc = "cli", x = "" }, container.get("d"):labels())
    local _
    _, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "-l", "=v", "busybox", "true" })
    assert.are.equal(125, code)
    assert.matches("invalid label", err)
  end)

  it("publishes and withdraws ports at run time, shown by ps and inspect, gone at stop", function()
    local c = sleeper { name = "web", cmd = { "sh", "-c", "mkdir /www; echo page > /www/index.html; exec httpd -f -p 80 -h /www" } }
    local p = c:publish("127.0.0.1:18181:80")
    assert.are.same({ host_ip = "127.0.0.1", host_port = 18181, container_port = 80, proto = "tcp" }, p)
    local page = U.wait_for(function()
      local out = U.sh("wget -q -O - -T 1 -t 1 http://127.0.0.1:18181/")
      return out ~= "" and out
    end, 5)
    assert.are.equal("page\n", page)
    assert.are.equal("web 127.0.0.1:18181->80/tcp\n", (U.ctr(root, { "ps", "--format", "{{.Names}} {{.Ports}}" })))
    assert.are.same({ ["80/tcp"] = { { HostIp = "127.0.0.1", HostPort = "18181" } } }, c:inspect().NetworkSettings.Ports)
    assert.are.equal(json.encode({ ["80/tcp"] = { { HostIp = "127.0.0.1", HostPort = "18181" } } }),
      (U.ctr(root, { "inspect", "-f", "{{json .NetworkSettings.Ports}}", "web" })):gsub("\n$", ""))
    assert.matches("already published", errors.message(select(2, pcall(c.publish, c, "127.0.0.1:18181:80"))))
    assert.matches("bad publish spec", invalid(c.publish, c, "80"))
    assert.is_true(c:unpublish("127.0.0.1:18181:80"))
    assert.are.equal("", (U.sh("wget -q -O - -T 1 -t 1 http://127.0.0.1:18181/")))
    local ok, e = pcall(c.unpublish, c, "127.0.0.1:18181:80")
    assert.is_false(ok)
    assert.is_true(errors.is(e, "not_found"))
    c:publish("127.0.0.1:18182:80")
    assert.matches("18182", require("ctr.network").ruleset())
    c:stop { timeout = 1 }
    assert.is_nil(require("ctr.network").ruleset():find("18182", 1, true))
    assert.are.same({}, c.state.network.ports) -- not published again by a restart
    ok, e = pcall(c.publish, c, "18183:80")
    assert.is_true(errors.is(e, "not_running"))
    local none = sleeper { network = "none" }
    assert.matches("its network is none", invalid(none.publish, none, "18184:80"))
  end)

  it("c:logs gives lines, tail and since, and follows with a timeout", function()
    local c = container.run { image = "busybox", network = "none", detach = true,
      cmd = { "sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; exec sleep 100" } }
    local lines = U.wait_for(function()
      local l = c:logs()
      return #l == 3 and l
    end, 5)
    assert.are.same({ "one", "two", "three" }, lines)
    assert.are.same({ "three" }, c:logs { tail = 1 })
    assert.are.same({}, c:logs { since = os.time() + 3600 })
    assert.are.same({ "one", "two", "three" }, c:logs { since = "1h" })
    assert.matches("invalid time", invalid(c.logs, c, { since = "yesterday" }))
    local t0 = require("ctr.core").clock("monotonic")
    local got = {}
    for line, e in c:logs { follow = true, timeout = 0.5 } do got[#got + 1] = line .. "/" .. e.stream end
    local took = require("ctr.core").clock("monotonic") - t0
    assert.are.same({ "one/stdout", "two/stderr", "three/stdout" }, got)
    assert.is_true(took >= 0.45 and took < 3, "took " .. took)
  end)

  it("prints a removed container as removed, and documents every field it has", function()
    local c = sleeper { network = "none", labels = { a = "b" } }
    assert.matches("^container %x+ %(.+, running%)$", tostring(c))
    local doc = assert(io.open(U.srcdir .. "/lua/ctr/container/object.lua")):read("a")
    local documented = {}
    for line in doc:gmatch("[^\n]+") do
      if line:match("^%-%-   ") then
        for name in line:gmatch("([%a_][%w_]*)") do documented[name] = true end
      end
    end
    local function each_field(t, where)
      for k in pairs(t) do -- private fields (c._config) aside
        assert.is_true(k:sub(1, 1) == "_" or documented[k] == true, ("%s.%s is not documented in ctr.container.object"):format(where, k))
      end
    end
    local function all_fields()
      each_field(c, "c")
      each_field(c.state, "c.state")
      each_field(c.state.network, "c.state.network")
    end
    all_fields()
    c:refresh()
    all_fields() -- running, as the supervisor wrote it
    c:stop { timeout = 1 }
    all_fields()
    assert.matches("exited%)$", tostring(c))
    c:remove()
    assert.matches("^container %x+ %(.+, removed%)$", tostring(c))
  end)

  it("image.remove and network.create check their options", function()
    local image = require "ctr.image"
    assert.matches('unknown option "forse"', invalid(image.remove, "busybox", { forse = true }))
    assert.is_truthy(image.resolve("busybox"))
    assert.matches('network.create: unknown option "subnett" %(did you mean "subnet"%?%)',
      invalid(require("ctr.network").create, { name = "n1", subnett = "10.9.0.0/24" }))
    assert.matches("option subnet must be a string", invalid(require("ctr.network").create, { name = "n1", subnet = 24 }))
  end)

  it("the image, waiting, events, commit and connect option tables are checked too", function()
    local image = require "ctr.image"
    assert.matches('image.import: unknown option "mesage"', invalid(image.import, "/nonexistent.tar", nil, { mesage = "x" }))
    assert.matches('image.pull: unknown option "platfrom"', invalid(image.pull, { ref = "busybox", platfrom = "linux/amd64" }))
    assert.matches("image.push: option ref must be a string", invalid(image.push, { ref = 5 }))
    assert.matches('image.load: unknown option "progres"', invalid(image.load, "/nonexistent.tar", { progres = print }))
    assert.matches('image.prune: unknown option "al"', invalid(image.prune, { al = true }))
    local c = container.create { image = "busybox", cmd = { "true" } }
    assert.matches('container.wait_any: unknown option "timout"', invalid(container.wait_any, { c }, { timout = 1 }))
    assert.matches("container.events: option since must be a number", invalid(container.events, { since = "now" }))
    assert.matches('Container:commit: unknown option "mesage"', invalid(c.commit, c, { mesage = "x" }))
    local net = require("ctr.network").create { name = "chk" .. tostring(os.time() % 100000) }
    assert.matches('Network:connect: unknown option "aliasses"', invalid(net.connect, net, c, { aliasses = { "a" } }))
    net:remove()
    c:remove()
  end)
end)
