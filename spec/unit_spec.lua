-- unit_spec: the pure functions of the Lua layer, called directly: no root,
-- no containers, no network; the whole file runs in milliseconds.
local U = require "spec_util"
local cli = require "ctr.cli"
local util = require "ctr.util"
local network = require "ctr.network"
local container = require "ctr.container"
local oci = require "ctr.oci"
local format = require "ctr.format"
local envfile = require "ctr.envfile"

-- The message and exit code of what fn raises (a ctr.errors value or a string).
local function raised(fn, ...)
  local ok, e = pcall(fn, ...)
  assert(not ok, "expected an error")
  if type(e) == "table" then return e.msg, e.code end
  return e
end

local RUN = {
  { "d", "detach", "flag", "" }, { "i", "interactive", "flag", "" }, { "t", "tty", "flag", "" },
  { "e", "env", "list", "" }, { nil, "name", "string", "" }, { nil, "stop-timeout", "int", "" },
  { "p", "publish", "list", "" },
}

describe("ctr.cli.parse", function()
  it("combines short flags, takes values attached, separate or with =", function()
    local o, pos = cli.parse({ "-dit", "-eA=1", "-e", "B=2", "--env=C=3", "--env", "D", "--name", "x", "img" }, RUN)
    assert.same({ detach = true, interactive = true, tty = true, env = { "A=1", "B=2", "C=3", "D" }, name = "x" }, o)
    assert.same({ "img" }, pos)
  end)

  it("turns dashes into underscores and checks integers", function()
    assert.are.equal(7, (cli.parse({ "--stop-timeout", "7" }, RUN)).stop_timeout)
    local msg, code = raised(cli.parse, { "--stop-timeout", "x" }, RUN)
    assert.are.equal(125, code)
    assert.matches("not an integer", msg)
  end)

  it("--flag=false and --flag=true; anything else is refused", function()
    assert.is_false((cli.parse({ "--detach=false" }, RUN)).detach)
    assert.is_true((cli.parse({ "--detach=true" }, RUN)).detach)
    assert.are.equal(125, select(2, raised(cli.parse, { "--detach=yes" }, RUN)))
  end)

  it("stops at the first positional with stop_at_positional, and at --", function()
    local o, pos = cli.parse({ "-d", "img", "sh", "-c", "-d" }, RUN, { stop_at_positional = true })
    assert.same({ detach = true }, o)
    assert.same({ "img", "sh", "-c", "-d" }, pos)
    o, pos = cli.parse({ "a", "-d", "--", "-t" }, RUN)
    assert.same({ detach = true }, o)
    assert.same({ "a", "-t" }, pos)
  end)

  it("refuses unknown flags and a missing value with exit code 125", function()
    local msg, code = raised(cli.parse, { "--nope" }, RUN, { command = "run" })
    assert.are.equal(125, code)
    assert.matches("unknown flag: %-%-nope\nSee 'luac%-ctr run %-%-help'", msg)
    msg, code = raised(cli.parse, { "-x" }, RUN)
    assert.are.equal(125, code)
    assert.matches("unknown shorthand flag: \"x\" in %-x", msg)
    msg = raised(cli.parse, { "--name" }, RUN)
    assert.matches("flag needs an argument: %-%-name", msg)
    msg = raised(cli.parse, { "-e" }, RUN)
    assert.matches("flag needs an argument: %-e", msg)
  end)

  it("help lists every option", function()
    local h = cli.help(RUN, { usage = "run [OPTIONS] IMAGE" })
    assert.matches("^Usage:  luac%-ctr run %[OPTIONS%] IMAGE\n", h)
    assert.matches("%-e, %-%-env list", h)
    assert.matches("    %-%-stop%-timeout int", h)
  end)
end)

describe("ctr.cli option kinds and API keys", function()
  local DEFS = {
    { "d", "detach", "flag", "", key = "detach" },
    { "m", "memory", "size", "", key = "memory" },
    { nil, "memory-swap", "size", "", key = "memory_swap", allow_unlimited = true },
    { nil, "stop-timeout", "duration", "", key = "stop_timeout" },
    { nil, "cpus", "number", "", key = "cpus" },
    { "l", "label", "map", "", key = "labels" },
    { "e", "env", "list", "", key = "env" },
    { nil, "net", "string", "" },
    { nil, "port", "string", "", key = "port", parse = function(s) return tonumber(s) * 2 end },
  }

  it("fills the API option table under each def's key, values parsed by kind", function()
    local o, pos, api = cli.parse({ "-d", "-m", "32m", "--memory-swap=-1", "--stop-timeout", "1m30s", "--cpus", "1.5",
      "-l", "a=1", "--label", "b", "-eX=1", "--net", "n", "--port", "4", "img" }, DEFS)
    assert.same({ "img" }, pos)
    assert.same({ detach = true, memory = 32 * 1024 * 1024, memory_swap = -1, stop_timeout = 90, cpus = 1.5,
      labels = { a = "1", b = "" }, env = { "X=1" }, port = 8 }, api)
    assert.are.equal("n", o.net) -- a def without key is only in the options table
    assert.are.equal(32 * 1024 * 1024, o.memory)
    assert.is_false(select(3, cli.parse({ "--detach=false" }, DEFS)).detach)
  end)

  it("refuses a bad value with exit code 125 and a message naming it", function()
    local msg, code = raised(cli.parse, { "-m", "lots" }, DEFS)
    assert.are.equal(125, code)
    assert.matches('invalid memory value "lots"', msg)
    assert.matches('invalid memory value "%-1"', (raised(cli.parse, { "-m", "-1" }, DEFS)))
    msg, code = raised(cli.parse, { "--stop-timeout", "5x" }, DEFS)
    assert.are.equal(125, code)
    assert.matches('invalid argument "5x" for "%-%-stop%-timeout" flag: invalid duration', msg)
    assert.matches("not a number", (raised(cli.parse, { "--cpus", "many" }, DEFS)))
  end)

  it("parse_duration: Go's durations and plain seconds", function()
    assert.are.equal(10, cli.parse_duration("10"))
    assert.are.equal(0.5, cli.parse_duration("500ms"))
    assert.are.equal(3723, cli.parse_duration("1h2m3s"))
    assert.are.equal(1.5, cli.parse_duration("1.5s"))
    assert.is_nil(cli.parse_duration("1d"))
    assert.is_nil(cli.parse_duration("s"))
    assert.is_nil(cli.parse_duration(""))
    assert.is_nil(cli.parse_duration("-5s"))
  end)
end)

describe("templates (ctr.format)", function()
  local V = { Name = "web", State = { Status = "running", Pid = 42 }, Env = { "A=1" }, Empty = "" }

  it("expands fields, dotted paths, tables and {{json}}", function()
    assert.are.equal("web running 42", format.compile("{{.Name}} {{ .State.Status }} {{.State.Pid}}")(V))
    assert.are.equal('["A=1"] "web" {"Pid":42,"Status":"running"}', format.compile("{{.Env}} {{json .Name}} {{json .State}}")(V))
    assert.are.equal("<no value>|", format.compile("{{.Nope}}|{{.Empty}}")(V))
    assert.are.equal("-", format.compile("{{.Nope}}", { missing = "-" })(V))
  end)

  it("a table directive, \\t and \\n escapes with opts.table", function()
    assert.are.equal("web\trunning\n", format.compile("table {{.Name}}\\t{{.State.Status}}\\n", { table = true })(V))
  end)

  it("docker's template errors, exit 1, before anything is printed", function()
    local msg, code = raised(format.compile, "a\n{{.Name")
    assert.are.equal(1, code)
    assert.are.equal("template parsing error: template: :2: unclosed action", msg)
    msg, code = raised(format.compile, "x {{.Foo}}", { fields = { ID = true }, context = "*formatter.ContainerContext" })
    assert.are.equal(1, code)
    assert.are.equal('template: :1:4: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext', msg)
    local f = format.compile("{{.State.Nope}}", { missing = "error" })
    msg, code = raised(f, V)
    assert.are.equal(1, code)
    assert.are.equal('template parsing error: template: :1:2: executing "" at <.State.Nope>: map has no entry for key "Nope"', msg)
  end)
end)

describe("env files (ctr.envfile)", function()
  local host = { HOME = "/root", EMPTY = "" }
  local function lookup(k) return host[k] end

  it("docker's rules: KEY=VALUE as written, bare KEY from the host, comments, BOM, CRLF", function()
    local text = "\239\187\191A=1\n  B= two  \n# comment\n   # indented comment\n\nHOME\nUNSET\nEMPTY\nC=x=y\r\nD=\"q\"\n"
    assert.same({ "A=1", "B= two  ", "HOME=/root", "EMPTY=", "C=x=y", 'D="q"' }, envfile.parse(text, lookup))
    assert.same({}, envfile.parse("", lookup))
  end)

  it("refuses an empty name or a name with whitespace (exit 125), naming file and line", function()
    local msg, code = raised(envfile.parse, "A=1\n=x\n", lookup, "f.env")
    assert.are.equal(125, code)
    assert.are.equal('f.env line 2: no variable name in "=x"', msg)
    msg = raised(envfile.parse, "MY VAR=1\n", lookup, "f.env")
    assert.are.equal('f.env line 1: variable "MY VAR" contains whitespace', msg)
  end)

  it("collect: the files' entries, then the -e ones as given; a missing file is one line", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("A=1\n")
    f:close()
    assert.same({ "A=1", "B", "C=2" }, envfile.collect({ path }, { "B", "C=2" }))
    os.remove(path)
    local msg, code = raised(envfile.read, path)
    assert.are.equal(125, code)
    assert.matches("^cannot read env file: .*No such file", msg)
  end)
end)

describe("env merging (ctr.container.env_merge)", function()
  it("later values win, the first position of a name is kept", function()
    assert.same({ "PATH=/bin", "A=2", "B=3" }, container.env_merge({ "PATH=/usr/bin", "A=1" }, { "A=2", "B=3", "PATH=/bin" }))
  end)

  it("a bare name copies the caller's value, or is dropped when unset", function()
    local home = os.getenv("HOME")
    local want = home and { "X=1", "HOME=" .. home } or { "X=1" }
    assert.same(want, container.env_merge({ "X=1" }, { "HOME", "LUAC_CTR_SURELY_UNSET_VARIABLE" }))
  end)

  it("takes a map, in sorted key order", function()
    assert.same({ "A=0", "B=2", "C=3" }, container.env_merge({ "A=0" }, { C = 3, B = "2" }))
  end)

  it("keeps '=' in values and refuses a name with blanks", function()
    assert.same({ "A=b=c" }, container.env_merge({}, { "A=b=c" }))
    local msg, code = raised(container.env_merge, {}, { "A B=1" })
    assert.are.equal(125, code)
    assert.matches("invalid environment variable: A B=1", msg)
  end)
end)

describe("volume parsing (ctr.container.parse_volume)", function()
  it("HOST:CTR[:ro|rw], the destination cleaned", function()
    assert.same({ source = "/srv", destination = "/data/x", ro = true }, container.parse_volume("/srv:/data/./x/:ro"))
    assert.same({ source = "/srv", destination = "/data", ro = false }, container.parse_volume("/srv:/data:rw"))
    assert.same({ source = "/srv", destination = "/data", ro = false }, container.parse_volume("/srv:/data"))
  end)

  it("refuses malformed specs, relative hosts, escapes and /", function()
    for spec, why in pairs({
      ["/srv"] = "use HOST:CONTAINER", ["/a:/b:ro:x"] = "use HOST:CONTAINER", [":/b"] = "use HOST:CONTAINER",
      ["/a:/b:rx"] = "unknown mode", ["vol:/b"] = "must be absolute", ["/a:b"] = "must be an absolute path",
      ["/a:/b/../../etc"] = "escapes the root", ["/a:/"] = "cannot mount over /",
    }) do
      local msg, code = raised(container.parse_volume, spec)
      assert.are.equal(125, code, spec)
      assert.is_truthy(msg:find(why, 1, true), spec .. ": " .. msg)
    end
  end)
end)

describe("user resolution from the image's passwd and group (ctr.container.resolve_user)", function()
  local dir
  setup(function()
    dir = U.tmproot()
    os.execute("mkdir -p " .. U.q(dir .. "/etc"))
    local f = assert(io.open(dir .. "/etc/passwd", "w"))
    f:write("root:x:0:0:root:/root:/bin/sh\nweb:x:33:34:www:/var/www:/bin/false\nbad:x:99999999999:1::/:/bin/sh\n")
    f:close()
    f = assert(io.open(dir .. "/etc/group", "w"))
    f:write("root:x:0:\nstaff:x:50:web\n")
    f:close()
  end)
  teardown(function() U.cleanup(dir) end)

  it("names, numbers and pairs of them", function()
    assert.same({ 0, 0, "/root" }, { container.resolve_user(nil, { dir }) })
    assert.same({ 33, 34, "/var/www" }, { container.resolve_user("web", { dir }) })
    assert.same({ 33, 50, "/var/www" }, { container.resolve_user("web:staff", { dir }) })
    assert.same({ 33, 34, "/var/www" }, { container.resolve_user("33", { dir }) })
    assert.same({ 1234, 0, "/" }, { container.resolve_user("1234", { dir }) })
    assert.same({ 1234, 7, "/" }, { container.resolve_user("1234:7", { dir }) })
    assert.same({ 50, 0 }, container.resolve_groups({ "staff", "0" }, { dir }))
  end)

  it("refuses unknown names and ids out of range", function()
    for user, why in pairs({
      nobody = "unable to find user nobody", ["web:nogroup"] = "unable to find group nogroup",
      ["-1"] = "invalid uid", ["0:-1"] = "invalid gid", ["4294967296"] = "invalid uid",
      bad = "invalid uid of user bad",
    }) do
      local msg, code = raised(container.resolve_user, user, { dir })
      assert.are.equal(125, code, user)
      assert.is_truthy(msg:find(why, 1, true), user .. ": " .. msg)
    end
  end)
end)

describe("IPv4 arithmetic and publish specs (ctr.network)", function()
  it("ip2int / int2ip round-trip; bad quads are nil", function()
    assert.are.equal(0xac110002, network.ip2int("172.17.0.2"))
    assert.are.equal("172.17.0.2", network.int2ip(0xac110002))
    assert.are.equal("255.255.255.255", network.int2ip(network.ip2int("255.255.255.255")))
    assert.is_nil(network.ip2int("256.0.0.1"))
    assert.is_nil(network.ip2int("1.2.3"))
    assert.is_nil(network.ip2int("1.2.3.4 "))
  end)

  it("parse_cidr: network and prefix; host bits refused unless loose", function()
    assert.same({ 0xac110000, 16 }, { network.parse_cidr("172.17.0.0/16") })
    assert.same({ 0, 0 }, { network.parse_cidr("0.0.0.0/0") })
    assert.same({ 0x0a000000, 8 }, { network.parse_cidr("10.1.2.3/8", true) })
    assert.matches("host bits set %(did you mean 10%.0%.0%.0/8%?%)", (raised(network.parse_cidr, "10.1.2.3/8")))
    assert.matches("want a%.b%.c%.d/len", (raised(network.parse_cidr, "10.0.0.0/33")))
    assert.matches("want a%.b%.c%.d/len", (raised(network.parse_cidr, "10.0.0.0")))
  end)

  it("parse_publish: [HOSTIP:]HOSTPORT:CTRPORT[/proto]", function()
    assert.same({ host_ip = "0.0.0.0", host_port = 8080, container_port = 80, proto = "tcp" }, network.parse_publish("8080:80"))
    assert.same({ host_ip = "127.0.0.1", host_port = 53, container_port = 5353, proto = "udp" },
      network.parse_publish("127.0.0.1:53:5353/UDP"))
    for spec, why in pairs({ ["80"] = "expected HOSTPORT:CTRPORT", ["0:80"] = "is not a port", ["1:65536"] = "is not a port",
                             ["x:1:2"] = "not an IPv4 address", ["1:2/sctp"] = "tcp or udp" }) do
      assert.is_truthy(raised(network.parse_publish, spec):find(why, 1, true), spec)
    end
  end)
end)

describe("sizes, durations, times (ctr.util)", function()
  it("parse_size: binary units as docker's --memory", function()
    assert.are.equal(512, util.parse_size("512"))
    assert.are.equal(10 * 1024, util.parse_size("10k"))
    assert.are.equal(1536 * 1024, util.parse_size("1.5MB"))
    assert.are.equal(100 * 1024 * 1024, util.parse_size("100MiB"))
    assert.are.equal(2 * 1024 ^ 3, util.parse_size("2g"))
    assert.is_nil(util.parse_size("ten"))
    assert.is_nil(util.parse_size("1x"))
  end)

  it("human_size and human_duration as docker prints them", function()
    assert.are.equal("12B", util.human_size(12))
    assert.are.equal("867kB", util.human_size(867000))
    assert.are.equal("4.19MB", util.human_size(4190000))
    assert.are.equal("Less than a second", util.human_duration(0.5))
    assert.are.equal("45 seconds", util.human_duration(45))
    assert.are.equal("About a minute", util.human_duration(61))
    assert.are.equal("3 days", util.human_duration(3 * 86400))
  end)

  it("rfc3339 and parse_rfc3339 round-trip", function()
    local s = util.rfc3339(1700000000, 5)
    assert.matches("^2023%-11%-14T22:13:20%.000000005Z$", s)
    assert.are.equal(1700000000, math.floor(util.parse_rfc3339(s)))
  end)
end)

describe("capabilities and devices (ctr.oci)", function()
  it("docker's default set, --cap-drop then --cap-add, names normalised", function()
    local caps = oci.capabilities({ "net_admin" }, { "CAP_CHOWN", "kill" })
    local set = {}
    for _, c in ipairs(caps) do set[c] = true end
    assert.is_true(set.CAP_NET_ADMIN)
    assert.is_nil(set.CAP_CHOWN)
    assert.is_nil(set.CAP_KILL)
    assert.is_true(set.CAP_SETUID)
    assert.same({ "CAP_SYS_ADMIN" }, oci.capabilities({ "sys_admin" }, { "ALL" }))
    assert.matches("unknown capability to add: CAP_NOPE", (raised(oci.capabilities, { "nope" })))
  end)

  it("parse_device refuses malformed specs before looking at the host", function()
    assert.matches("use HOST%[:CONTAINER%[:PERMS%]%]", (raised(oci.parse_device, "/dev/null:/dev/x:rw:x")))
    assert.matches("must be made of r, w and m", (raised(oci.parse_device, "/dev/null:/dev/x:rr")))
    assert.matches("must be absolute", (raised(oci.parse_device, "dev/null")))
  end)
end)

describe("ctr.container's lazy parts", function()
  it("finds every method and function of a part that is not loaded yet (in a fresh Lua)", function()
    local methods = {}
    for file in (U.sh("ls lua/ctr/container")):gmatch("%S+%.lua") do
      local f = assert(io.open("lua/ctr/container/" .. file))
      for m in f:read("a"):gmatch("\nfunction Container:([%a_][%w_]*)") do methods[#methods + 1] = m end
      f:close()
    end
    assert.truthy(#methods > 20)
    local code = ([[
      local c = require "ctr.container"
      assert(package.loaded["ctr.container.lifecycle"] == nil, "lifecycle loaded eagerly")
      for _, m in ipairs { %s } do assert(type(c.Container[m]) == "function", "no method " .. m) end
      for _, f in ipairs { "create", "run", "list", "wait_any", "scope", "events", "signum",
        "remove_incomplete", "resolve_user", "parse_volume", "env_merge", "default_network" } do
        assert(type(c[f]) == "function", "no function " .. f)
      end
      assert(math.type(c.LOG_MAX) == "integer")
      print("ok")]]):format('"' .. table.concat(methods, '", "') .. '"')
    local out, err = U.sh("LUA_PATH='lua/?.lua;lua/?/init.lua' LUA_CPATH=" .. U.q(U.build .. "/?.so")
      .. " lua5.4 -e " .. U.q(code))
    assert.are.equal("ok", (out:gsub("%s+$", "")), err)
  end)
end)
