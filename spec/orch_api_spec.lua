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
      "Container:stop", "Container:logs", "network.create", "image.remove" }) do
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
    assert.matches("methods:[^\n]* Container:exec", mod)
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
