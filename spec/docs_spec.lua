-- spec/docs_spec.lua: every public function is documented and docs/api.md
-- is what tools/gendoc.lua makes from the sources; gendoc itself finds what
-- is undocumented (in the sources and at run time).
local U = require "spec_util"

local function gendoc()
  return assert(loadfile("tools/gendoc.lua"))("--library", ".")
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local _ -- what multiple assignments throw away (not a global)

describe("documentation", function()
  local G = gendoc()
  local model = G.collect(".")

  it("every public function defined in lua/ctr or registered by bindings/*.c has a doc comment", function()
    assert.are.same({}, model.missing)
  end)

  it("every function reachable from ctr.core, ctr.archive, ctr.net and the lua/ctr modules is documented", function()
    local bad = G.undocumented_at_runtime(model, ".", U.build)
    assert.are.same({}, bad)
  end)

  it("notices at run time a C function whose doc block is missing", function()
    local m = G.collect(".")
    m.c_names["core.unshare"] = nil
    local bad = G.undocumented_at_runtime(m, ".", U.build)
    local set = {}
    for _, b in ipairs(bad) do set[b] = true end
    assert.is_true(set["ctr.core.unshare (C function)"], table.concat(bad, "\n"))
  end)

  it("documents the core areas, the C modules and the Lua modules", function()
    local md = G.markdown(model)
    for _, s in ipairs({ "## ctr.core", "### area ns", "#### `core.unshare(flags)", "## ctr.net",
      "## ctr.archive", "## ctr.container", "#### `ctr.container.run(o)`", "#### `Container:exec(o)`",
      "## ctr.errors", "#### `ctr.errors.raise(code, fmt, ...)`" }) do
      assert.truthy(md:find(s, 1, true), "missing from api.md: " .. s)
    end
  end)

  it("docs/api.md is up to date (lua5.4 tools/gendoc.lua regenerates it)", function()
    local f = assert(io.open("docs/api.md"))
    local committed = f:read("a")
    f:close()
    local fresh = G.markdown(model)
    local msg = "docs/api.md is stale: run lua5.4 tools/gendoc.lua"
    if fresh ~= committed then
      local n, a, b = 0, fresh:gmatch("([^\n]*)\n"), committed:gmatch("([^\n]*)\n")
      repeat
        n = n + 1
        local x, y = a(), b()
        if x ~= y then
          msg = ("docs/api.md is stale (line %d: the sources give %q, the file has %q): run lua5.4 tools/gendoc.lua")
            :format(n, tostring(x), tostring(y))
          break
        end
      until x == nil
    end
    assert.is_true(fresh == committed, msg)
  end)

  it("gendoc --check exits 0 on this tree", function()
    local out, err, code = U.sh("LUAC_CTR_BUILD=" .. U.q(U.build) .. " lua5.4 tools/gendoc.lua --check")
    assert.are.equal(0, code, out .. err)
    assert.truthy(out:find("docs: ok", 1, true))
  end)

  describe("gendoc on a fixture tree", function()
    local dir, modname
    before_each(function()
      dir = U.tmproot()
      modname = "docsfixture" .. require("ctr.core").random_hex(4)
      os.execute("mkdir -p " .. U.q(dir .. "/lua/ctr") .. " " .. U.q(dir .. "/bindings") .. " " .. U.q(dir .. "/docs"))
      write(dir .. "/lua/ctr/" .. modname .. ".lua", [[
--- ctr.fixture: a module for the docs spec.
local M = {}
local Obj = {}
Obj.__index = Obj
M.Obj = Obj

--- Documented.
-- @param x anything
function M.good(x) return x end

function M.bad() end

local function helper() end

--- A documented local, published under another name.
local function published() end
M.alias = published
M.raw_alias = helper

function M._private() end

--- A method.
function Obj:fine() end

--- A function of a table in the module.
function M.Obj.plain(x) return x end

function Obj:naked() end

local function make() return function() end end
M.made = make()

M.inline = function() end

return M
]])
      write(dir .. "/bindings/l_fake.c", [[
/* l_fake.c - area `fake` of ctr.core: a fixture. */
/***
 * core.fake(x) -> y | nil, err, errno
 * Do nothing, documentedly.
 */
static int l_fake(void) { return 0; }
static int fake_frob(void) { return 0; }
static const luaL_Reg methods[] = {{"frob", fake_frob}, {"__gc", fake_frob}, {NULL, NULL}};
static const luaL_Reg fns[] = {{"fake", l_fake}, {"fake_alias", l_fake}, {NULL, NULL}};
]])
    end)
    after_each(function()
      package.loaded["ctr." .. modname] = nil
      U.cleanup(dir)
    end)

    it("lists undocumented public definitions, skipping locals and _names", function()
      local m = G.collect(dir)
      local names = {}
      for _, s in ipairs(m.missing) do if s:match("^lua/") then names[#names + 1] = s:match(": (%S+)$") end end
      table.sort(names)
      assert.are.same({ "M.bad", "M.inline", "M.raw_alias", "Obj:naked" }, names)
      -- C: registered functions without a doc block in their file (aliases share one)
      local c = {}
      for _, s in ipairs(m.missing) do if s:match("^bindings/") then c[#c + 1] = s end end
      assert.are.same({ "bindings/l_fake.c:8: frob (fake_frob in methods[])" }, c)
    end)

    it("finds undocumented functions at run time, including ones made by closures", function()
      local m = G.collect(dir)
      local bad = G.undocumented_at_runtime(m, dir, U.build, { c_modules = {} })
      local names = {}
      for _, s in ipairs(bad) do names[#names + 1] = s:match("^(%S+)") end
      table.sort(names)
      local p = "ctr." .. modname
      assert.are.same({ p .. ".Obj.naked", p .. ".bad", p .. ".inline", p .. ".made", p .. ".raw_alias" }, names)
    end)

    it("writes C areas and Lua functions with their signatures, and --check reports staleness", function()
      local md = G.markdown(G.collect(dir))
      assert.truthy(md:find("### area fake (`bindings/l_fake.c`)", 1, true))
      assert.truthy(md:find("#### `core.fake(x) -> y | nil, err, errno`\n\nDo nothing, documentedly.", 1, true))
      assert.truthy(md:find("#### `ctr." .. modname .. ".good(x)`\n\nDocumented.\n@param x anything", 1, true))
      assert.truthy(md:find("#### `ctr." .. modname .. ".alias()`\n\nA documented local", 1, true))
      assert.truthy(md:find("#### `Obj:fine()`", 1, true))
      assert.truthy(md:find("#### `ctr." .. modname .. ".Obj.plain(x)`\n\nA function of a table", 1, true))
      assert.falsy(md:find("_private", 1, true))
      assert.falsy(md:find("helper", 1, true))
      local out, _, code = U.sh("LUAC_CTR_BUILD=" .. U.q(U.srcdir .. "/" .. U.build) ..
        " lua5.4 tools/gendoc.lua --check --srcdir=" .. U.q(dir))
      assert.are_not.equal(0, code)
      assert.truthy(out:find("undocumented: lua/ctr/" .. modname .. ".lua:11: M.bad", 1, true), out)
      assert.truthy(out:find("stale: docs/api.md", 1, true), out)
    end)
  end)
end)

-- The worked example of docs/workflows.md, run as written.
describe("docs/workflows.md worked example #root", function()
  local root, script
  before_each(function()
    root = U.tmproot()
    local f = assert(io.open("docs/workflows.md"))
    local md = f:read("a")
    f:close()
    local code = md:match("<!%-%- worked%-example: prune%.lua %-%->\n```lua\n(.-)```")
    assert.is_truthy(code, "the worked example block is missing from docs/workflows.md")
    script = root .. "/prune.lua"
    write(script, code)
  end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root)
  end)

  it("removes stopped containers except the kept ones, and refuses unknown ones", function()
    for _, args in ipairs({
      { "run", "--name", "old1", "--network", "none", "busybox", "true" },
      { "run", "--name", "old2", "--network", "none", "busybox", "sh", "-c", "exit 3" },
      { "run", "--name", "keepme", "--network", "none", "busybox", "true" },
      { "run", "-d", "--name", "live", "--network", "none", "busybox", "sleep", "30" },
    }) do
      local _, err = U.ctr(root, args)
      assert.are.equal("", err)
    end
    local out, err, code = U.ctr(root, { script, "--keep", "nosuch" })
    assert.are.equal(1, code)
    assert.are.equal("luac-ctr: no such container: nosuch\n", err)
    assert.are.equal("", out)
    assert.are.equal(4, #U.container_ids(root))

    out, err, code = U.ctr(root, { script, "--keep", "keepme", "--dry-run" })
    assert.are.equal(0, code, err)
    assert.are.equal("old1\nold2\n2 container(s) would be removed\n", out)
    assert.are.equal(4, #U.container_ids(root))

    out, err, code = U.ctr(root, { script, "--keep", "keepme" })
    assert.are.equal(0, code, err)
    assert.are.equal("old1\nold2\n2 container(s) removed\n", out)
    local names = {}
    local container, state = require "ctr.container", require "ctr.state"
    state.set_root(root)
    for _, c in ipairs(container.list()) do names[#names + 1] = c:name() end
    state.set_root(nil)
    table.sort(names)
    assert.are.same({ "keepme", "live" }, names)

    _, err, code = U.ctr(root, { script, "extra" })
    assert.are.equal(125, code)
    assert.matches("accepts no arguments", err)
  end)
end)
