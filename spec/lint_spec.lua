-- lint_spec: the static checks of tools/lint.sh (clang-format, luacheck,
-- cppcheck) pass on the tree, and each of them does catch what it is for
-- (so a missing file list or a silent tool cannot make them pass vacuously).
-- No root needed.
local U = require "spec_util"

local function lint(what)
  return U.sh("sh tools/lint.sh " .. what)
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("lint", function()
  local dir
  before_each(function() dir = U.tmproot() end)
  after_each(function() U.cleanup(dir) end)

  it("the C sources are formatted as .clang-format says (fix: sh tools/format.sh)", function()
    local out, err, code = lint("format")
    assert.are.equal(0, code, out .. err)
  end)

  it("clang-format with the repository's style flags a misformatted C file", function()
    write(dir .. "/bad.c", "int f(int x){ if(x) return 1; return 0; }\n")
    local _, err, code = U.sh("clang-format --style=file:.clang-format --dry-run -Werror " .. U.q(dir .. "/bad.c"))
    assert.are_not.equal(0, code)
    assert.matches("code should be clang%-formatted", err)
  end)

  it("luacheck finds nothing in lua/ scripts/ examples/ spec/ tools/", function()
    local out, err, code = lint("lua")
    assert.are.equal(0, code, out .. err)
  end)

  it("luacheck with the repository's config flags an unused variable and a global", function()
    write(dir .. "/bad.lua", "local unused = 1\nleaked = 2\n")
    local out, _, code = U.sh("luacheck --config .luacheckrc --no-color --formatter plain " .. U.q(dir .. "/bad.lua"))
    assert.are_not.equal(0, code)
    assert.matches("unused variable 'unused'", out)
    assert.matches("non%-standard global variable 'leaked'", out)
  end)

  it("cppcheck finds nothing in core/ bindings/ launcher/", function()
    local out, err, code = lint("c")
    assert.are.equal(0, code, out .. err)
  end)

  it("cppcheck flags an out-of-bounds write", function()
    write(dir .. "/bad.c", "void f(void) { char b[4]; b[4] = 0; (void)b; }\n")
    local _, err, code = U.sh("cppcheck -q --error-exitcode=1 " .. U.q(dir .. "/bad.c"))
    assert.are.equal(1, code)
    assert.matches("arrayIndexOutOfBounds", err)
  end)

  it("no lua/ctr module is over 400 lines and none raises a plain string", function()
    local out, err, code = lint("shape")
    assert.are.equal(0, code, out .. err)
  end)

  it("tools/shape.lua flags a long module and a plain string raise", function()
    local long = {}
    for i = 1, 401 do long[i] = "local _ = " .. i end
    write(dir .. "/long.lua", table.concat(long, "\n") .. "\n")
    write(dir .. "/raise.lua", 'local function f(x) error(("bad %s"):format(x), 0) end\nreturn f\n')
    write(dir .. "/fine.lua", 'local errors = require "ctr.errors"\nerrors.throw("invalid", "bad")\n')
    local _, err, code = U.sh("lua5.4 tools/shape.lua " .. U.q(dir))
    assert.are.equal(1, code)
    assert.matches("long%.lua: 401 lines", err)
    assert.matches("raise%.lua:1: raises a plain string", err)
    assert.is_nil(err:find("fine.lua", 1, true))
  end)
end)
