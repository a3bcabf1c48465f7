-- install_spec: `cmake --install BUILD --prefix DIR` puts everything below DIR
-- and the installed launcher finds its modules, scripts and data there,
-- relative to its own location (launcher/paths.c), also from its sealed memfd
-- copy (LUAC_CTR_EXE) and after the whole tree is moved.
local U = require "spec_util"

local function install(prefix)
  return U.sh(("cmake --install %s --prefix %s"):format(U.q(U.build), U.q(prefix)))
end

local function exists(p)
  local f = io.open(p, "r")
  if f then f:close() end
  return f ~= nil
end

describe("cmake --install --prefix #root", function()
  local tmp, prefix, root

  setup(function()
    tmp = U.tmproot()
    prefix = tmp .. "/inst"
    local out, err, code = install(prefix)
    assert(code == 0, out .. err)
  end)
  teardown(function() U.cleanup(tmp) end)
  before_each(function() root = U.tmproot() end)
  after_each(function() U.rm_all(root); U.cleanup(root) end)

  it("puts the binary, the modules, the scripts and the data below the prefix", function()
    for _, rel in ipairs({ "bin/luac-ctr", "share/lua/5.4/ctr/init.lua", "share/lua/5.4/ctr/seccomp.lua",
                           "share/luac-ctr/scripts/run.lua", "share/luac-ctr/profiles/seccomp-default.json",
                           "share/luac-ctr/doc/bindings/l_fs.c" }) do
      assert.is_true(exists(prefix .. "/" .. rel), rel)
    end
    local libdir = U.sh("ls -d " .. U.q(prefix) .. "/lib*/lua/5.4/ctr/core.so"):gsub("\n$", "")
    assert.matches("/lua/5%.4/ctr/core%.so$", libdir)
    -- nothing outside: every installed path starts with the prefix
    local manifest = io.open(U.build .. "/install_manifest.txt"):read("a")
    for line in manifest:gmatch("[^\n]+") do
      assert.are.equal(prefix .. "/", line:sub(1, #prefix + 1), line)
    end
  end)

  it("the installed launcher reports its layout below the prefix, not the build tree", function()
    local out, err, code = U.sh(U.q(prefix .. "/bin/luac-ctr") .. " -e " .. U.q([[
      local l = require "ctr.launcher"
      print(l.build_tree, l.lua_dir, l.scripts_dir, l.data_dir, package.searchpath("ctr.core", package.cpath))
      print(require("ctr.seccomp").default_path())]]))
    assert.are.equal(0, code, err)
    local p = prefix:gsub("%p", "%%%0")
    assert.matches("^false\t" .. p .. "/share/lua/5%.4\t" .. p .. "/share/luac%-ctr/scripts\t"
      .. p .. "/share/luac%-ctr\t" .. p .. "/lib[^\t]*/lua/5%.4/ctr/core%.so\n", out)
    assert.matches("\n" .. p .. "/share/luac%-ctr/profiles/seccomp%-default%.json\n$", out)
  end)

  it("runs a container from the installed tree: DIR/bin/luac-ctr run --rm busybox true", function()
    local out, err, code = U.ctr(root, { "run", "--rm", "busybox", "true" })
    assert.are.equal(0, code, out .. err) -- the build tree's, for comparison
    out, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(prefix .. "/bin/luac-ctr")
      .. " run --rm busybox sh -c 'echo installed'")
    assert.are.equal(0, code, err)
    assert.are.equal("installed\n", out)
    assert.are.same({}, U.container_ids(root))
  end)

  it("still finds everything after the tree is moved", function()
    local moved = tmp .. "/moved"
    assert.are.equal(0, select(3, U.sh("cp -a " .. U.q(prefix) .. " " .. U.q(moved))))
    local out, err, code = U.sh(U.q(moved .. "/bin/luac-ctr") .. " -e "
      .. U.q('print(require("ctr.launcher").scripts_dir, require("ctr.seccomp").default_path())'))
    assert.are.equal(0, code, err)
    assert.are.equal(moved .. "/share/luac-ctr/scripts\t" .. moved .. "/share/luac-ctr/profiles/seccomp-default.json\n", out)
    out, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(moved .. "/bin/luac-ctr") .. " hello")
    assert.are.equal(0, code, out .. err)
  end)

  it("a plain lua5.4 with LUA_PATH/LUA_CPATH into the prefix loads the API and finds the profile", function()
    local lpath = prefix .. "/share/lua/5.4/?.lua;" .. prefix .. "/share/lua/5.4/?/init.lua"
    local cpath = U.sh("ls -d " .. U.q(prefix) .. "/lib*/lua/5.4"):gsub("\n$", "") .. "/?.so"
    local out, err, code = U.sh("cd / && LUA_PATH=" .. U.q(lpath) .. " LUA_CPATH=" .. U.q(cpath)
      .. " lua5.4 -e " .. U.q([[
        local ctr = require "ctr"
        local core = require "ctr.core"
        print(package.searchpath("ctr.core", package.cpath), type(ctr.container), core.getuid())
        print(require("ctr.seccomp").default_path())]]))
    assert.are.equal(0, code, err)
    local p = prefix:gsub("%p", "%%%0")
    assert.matches("^" .. p .. "/lib[^\t]*/lua/5%.4/ctr/core%.so\ttable\t0\n", out)
    assert.matches("\n" .. p .. "/share/luac%-ctr/profiles/seccomp%-default%.json\n$", out)
  end)
end)
