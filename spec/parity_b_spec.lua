-- parity_b_spec: docker parity, part B (issue 13): exit codes, template
-- errors, the non-root message, the lazy ctr table, hooks of detached
-- containers, packaging (#root).
local U = require "spec_util"

local root
local function ctr(...) return U.ctr(root, { ... }) end

local function rund(name, ...)
  local out, err, code = ctr("run", "-d", "--network", "none", "--name", name, "busybox", ...)
  assert.are.equal(0, code, err)
  return (out:gsub("%s+$", ""))
end

-- one line on stderr, no traceback
local function one_line(err)
  assert.are.equal(1, select(2, err:gsub("\n", "")), err)
end

describe("exit codes as docker's", function()
  U.per_test_root(function(r) root = r end)

  it("an unknown container exits 1 for exec, logs, stop, rm, kill, wait, inspect", function()
    for _, args in ipairs {
      { "exec", "nosuch", "true" }, { "logs", "nosuch" }, { "stop", "nosuch" }, { "rm", "nosuch" },
      { "rm", "-f", "nosuch" }, { "kill", "nosuch" }, { "wait", "nosuch" }, { "inspect", "nosuch" },
    } do
      local out, err, code = U.ctr(root, args)
      assert.are.equal(1, code, table.concat(args, " ") .. ": " .. err)
      assert.are.equal(args[1] == "inspect" and "[]\n" or "", out) -- docker's inspect prints [] too
      assert.matches("nosuch", err)
      one_line(err)
    end
  end)

  it("exec of a stopped container exits 1; run's own errors stay 125", function()
    local _, err, code = ctr("run", "--network", "none", "--name", "done", "busybox", "true")
    assert.are.equal(0, code, err)
    _, err, code = ctr("exec", "done", "true")
    assert.are.equal(1, code, err)
    assert.matches("is not running", err)
    _, err, code = ctr("run", "--network", "none", "nosuch-image:1", "true")
    assert.are.equal(125, code, err)
    _, err, code = ctr("run", "--bogus-flag", "busybox", "true")
    assert.are.equal(125, code, err)
    _, err, code = ctr("run")
    assert.are.equal(125, code, err)
  end)
end)

describe("template errors as docker's", function()
  U.per_test_root(function(r) root = r end)

  it("ps --format with an unknown field or an open action: one line on stderr, exit 1, nothing on stdout", function()
    rund("tp", "sleep", "30")
    for _, f in ipairs { "{{.Bogus}}", "{{.Names}} {{ .Bogus }}", "{{.Names", "{{.Names}} {{" } do
      local out, err, code = ctr("ps", "--format", f)
      assert.are_not.equal(0, code, f)
      assert.are.equal("", out, f)
      assert.matches("template", err)
      one_line(err)
    end
    local _, err = ctr("ps", "--format", "{{.Bogus}}")
    assert.matches("can't evaluate field Bogus", err, 1, true)
    local out, err2, code = ctr("ps", "--format", "{{.Names}}\\t{{.State}}")
    assert.are.equal(0, code, err2)
    assert.are.equal("tp\trunning\n", out)
  end)

  it("inspect -f with an open action or an unknown field: one line on stderr, exit 1", function()
    rund("ti", "sleep", "30")
    for _, f in ipairs { "{{.Bogus", "{{.Bogus}}", "{{.State.Bogus}}", "{{json .Nope}}", "x\n{{.Name" } do
      local out, err, code = ctr("inspect", "-f", f, "ti")
      assert.are_not.equal(0, code, f)
      assert.are.equal("", out, f)
      assert.is_nil(out:find("{{", 1, true))
      assert.matches("template", err)
      one_line(err)
    end
    local _, err = ctr("inspect", "-f", "{{.Bogus", "ti")
    assert.matches("unclosed action", err, 1, true)
    _, err = ctr("inspect", "-f", "{{.Bogus}}", "ti")
    assert.matches('map has no entry for key "Bogus"', err, 1, true)
    local out, err2, code = ctr("inspect", "-f", "{{.Name}} {{.State.Running}}", "ti")
    assert.are.equal(0, code, err2)
    assert.are.equal("/ti true\n", out) -- docker's Name starts with /
  end)
end)

describe("run as a non-root user", function()
  U.per_test_root(function(r) root = r end)

  -- the launcher as nobody, with the spec's state root
  local function as_nobody(args)
    local parts = { "setpriv --reuid 65534 --regid 65534 --clear-groups env LUAC_CTR_ROOT=" .. U.q(root), U.q(U.launcher) }
    for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
    return U.sh(table.concat(parts, " "))
  end

  it("every command that needs root says so in one line and exits non-zero", function()
    rund("rootsown", "sleep", "30")
    for _, args in ipairs {
      { "ps" }, { "ps", "-a" }, { "images" }, { "inspect", "rootsown" }, { "logs", "rootsown" },
      { "stop", "rootsown" }, { "rm", "-f", "rootsown" }, { "exec", "rootsown", "true" },
      { "run", "--rm", "busybox", "true" }, { "network", "ls" }, { "image", "inspect", "busybox" },
      { "kill", "rootsown" }, { "wait", "rootsown" }, { "system", "prune", "-f" },
    } do
      local what = table.concat(args, " ")
      local out, err, code = as_nobody(args)
      assert.are_not.equal(0, code, what)
      assert.are.equal("", out, what)
      assert.matches("needs root", err, 1, true)
      one_line(err)
    end
    local _, err, code = as_nobody { "run", "busybox", "true" }
    assert.are.equal(125, code, err) -- run's own errors stay 125
    -- the container is untouched
    local out = ctr("ps", "--format", "{{.Names}} {{.State}}")
    assert.are.equal("rootsown running\n", out)
  end)

  it("--help and --version still work", function()
    for _, args in ipairs { { "--help" }, { "--version" }, { "ps", "--help" }, { "run", "--help" } } do
      local out, err, code = as_nobody(args)
      assert.are.equal(0, code, err)
      assert.is_true(#out > 0)
    end
  end)
end)

describe("the lazy ctr table", function()
  -- every ctr.X that docs/workflows.md names, every module in lua/ctr/ and
  -- every C module the build makes (but ctr.readline: the REPL's line
  -- editor, launcher/readline.c, loaded by ctr.repl only)
  local function names()
    local set = {}
    for n in io.open("docs/workflows.md"):read("a"):gmatch("`ctr%.([%a_]+)`") do set[n] = true end
    for f in io.popen("ls lua/ctr"):lines() do
      local n = f:match("^([%a_]+)%.lua$")
      if n and n ~= "init" then set[n] = true end
    end
    for f in io.popen("ls " .. U.build .. "/ctr"):lines() do
      local n = f:match("^([%a_]+)%.so$")
      if n and n ~= "readline" then set[n] = true end
    end
    local t = {}
    for n in pairs(set) do t[#t + 1] = n end
    table.sort(t)
    return t
  end

  it("loads ctr.logs, ctr.commit and every module the docs list", function()
    local list = names()
    for _, n in ipairs { "logs", "commit", "container", "image", "network", "core", "errors", "cli" } do
      assert.truthy(table.concat(list, " "):find(n, 1, true), n)
    end
    local api = require "ctr"
    local known = {}
    for _, n in ipairs(api.submodules()) do known[n] = true end
    for _, n in ipairs(list) do
      assert.is_true(known[n] == true, "api.submodules() lacks " .. n)
      local ok, m = pcall(function() return api[n] end)
      assert.is_true(ok, n .. ": " .. tostring(m))
      assert.are.equal("table", type(m), "ctr." .. n)
      assert.are.equal(require("ctr." .. n), m)
    end
    for _, n in ipairs(api.submodules()) do
      assert.are.equal("table", type(api[n]), "ctr." .. n .. " is listed but does not load")
    end
  end)

  it("the same through the launcher", function()
    local out, err, code = U.sh(U.q(U.launcher) .. " -e " .. U.q(
      "local ctr = require 'ctr'; for _, n in ipairs(ctr.submodules()) do assert(type(ctr[n]) == 'table', n) end; " ..
      "io.write(type(ctr.logs.read), ' ', type(ctr.commit), '\\n')"))
    assert.are.equal(0, code, err)
    assert.are.equal("function table\n", out)
  end)
end)

describe("hooks of detached containers", function()
  U.per_test_root(function(r) root = r end)
  local cfg

  before_each(function()
    cfg = U.tmproot()
    os.execute("mkdir -p " .. U.q(cfg .. "/luac-ctr"))
    local f = assert(io.open(cfg .. "/luac-ctr/init.lua", "w"))
    f:write([[
local hooks = require "ctr.hooks"
for _, ev in ipairs { "prestart", "poststart", "prestop", "poststop" } do
  hooks.on(ev, function(c) io.stderr:write(ev, " ", c.state.name, "\n") end)
end
]])
    f:close()
  end)
  after_each(function() os.execute("rm -rf " .. U.q(cfg)) end)

  local function hctr(...)
    local parts = { "XDG_CONFIG_HOME=" .. U.q(cfg), "LUAC_CTR_ROOT=" .. U.q(root), U.q(U.launcher) }
    for _, a in ipairs { ... } do parts[#parts + 1] = U.q(a) end
    return U.sh(table.concat(parts, " "))
  end

  local function hooks_log(id)
    local f = io.open(root .. "/containers/" .. id .. "/hooks.log")
    local s = f and f:read("a") or ""
    if f then f:close() end
    return s
  end

  it("run -d: poststart prints where the caller sees it; poststop goes to the container's hooks.log", function()
    local out, err, code = hctr("run", "-d", "--network", "none", "--name", "hk", "busybox", "sleep", "30")
    assert.are.equal(0, code, err)
    local id = out:gsub("%s+$", "")
    assert.are.equal("prestart hk\npoststart hk\n", err)
    out, err, code = hctr("stop", "-t", "1", "hk")
    assert.are.equal(0, code, err)
    assert.are.equal("hk\n", out)
    assert.are.equal("prestop hk\n", err)
    assert.truthy(U.wait_for(function() return hooks_log(id):find("poststop hk\n", 1, true) end))
    assert.is_nil(hooks_log(id):find("poststart", 1, true)) -- ran in the caller, once
  end)

  it("rm -f of a running container fires prestop, then poststop", function()
    local out, err, code = hctr("run", "-d", "--network", "none", "--name", "hr", "busybox", "sleep", "30")
    assert.are.equal(0, code, err)
    local id = out:gsub("%s+$", "")
    -- the supervisor's poststop is seen through the log: follow it before rm
    out, err, code = hctr("rm", "-f", "hr")
    assert.are.equal(0, code, err)
    assert.are.equal("hr\n", out)
    assert.matches("^prestop hr\n", err)
    -- poststop ran in the supervisor (its log went with the container) or in rm
    -- when it recorded the exit itself: either way after prestop, never before
    local _, n = err:gsub("prestop", "")
    assert.are.equal(1, n)
    assert.are.equal(nil, io.open(root .. "/containers/" .. id))
  end)

  it("a foreground run prints all four hooks in order", function()
    local _, err, code = hctr("run", "--rm", "--network", "none", "--name", "fg", "busybox", "true")
    assert.are.equal(0, code, err)
    assert.are.equal("prestart fg\npoststart fg\npoststop fg\n", err)
  end)
end)

describe("packaging", function()
  local function read(p)
    local f = io.open(p)
    if not f then return nil end
    local s = f:read("a"); f:close(); return s
  end

  it("has a LICENSE (MIT) that the README names", function()
    local lic = read("LICENSE")
    assert.is_string(lic)
    assert.matches("^MIT License\n", lic)
    assert.matches("Permission is hereby granted, free of charge", lic, 1, true)
    assert.matches("\n## License\n\nMIT %(see `LICENSE`%)", read("README.md"))
  end)

  local tmp
  after_each(function()
    if tmp then U.cleanup(tmp) end
    tmp = nil
  end)

  it("install_manifest.txt lists every installed file, the precompiled Lua modules included #root", function()
    tmp = U.tmproot()
    local prefix = tmp .. "/inst"
    local out, err, code = U.sh(("cmake --install %s --prefix %s"):format(U.q(U.build), U.q(prefix)))
    assert.are.equal(0, code, out .. err)
    local listed = {}
    for line in read(U.build .. "/install_manifest.txt"):gmatch("[^\n]+") do listed[line] = true end
    local n = 0
    for p in io.popen("find " .. U.q(prefix) .. " ! -type d"):lines() do
      assert.is_true(listed[p] == true, "installed but not in install_manifest.txt: " .. p)
      n = n + 1
    end
    local mods = 0
    for p in io.popen("ls lua/ctr/*.lua lua/ctr/runc/*.lua"):lines() do
      local dst = prefix .. "/share/lua/5.4/" .. p:sub(5)
      assert.is_true(listed[dst] == true, dst)
      assert.are.equal("\27Lua", read(dst):sub(1, 4), dst .. " is not precompiled")
      mods = mods + 1
    end
    assert.is_true(mods > 20 and n > mods, n .. " files, " .. mods .. " modules")
    assert.is_true(listed[prefix .. "/bin/luac-runc"] == true)
    assert.is_true(listed[prefix .. "/share/doc/luac-ctr/LICENSE"] == true)
    -- what the manifest lists is all an uninstall must remove: nothing else is left
    for p in pairs(listed) do os.remove(p) end
    assert.are.equal("", (U.sh("find " .. U.q(prefix) .. " ! -type d")))
  end)

  it("tools/install-deps.sh: runtime dependencies only; --test adds the test tools; tools/test.sh uses --test", function()
    local function list(...)
      local out, err, code = U.sh("sh tools/install-deps.sh --list " .. table.concat({ ... }, " "))
      assert.are.equal(0, code, err)
      local set = {}
      for p in out:gmatch("%S+") do set[p] = true end
      return set
    end
    local rt, all = list(), list("--test")
    for _, p in ipairs { "cmake", "gcc", "lua5.4", "liblua5.4-dev", "libjansson-dev", "libseccomp-dev", "libnftables-dev",
                         "libnftnl-dev", "libarchive-dev", "libcap-dev", "libedit-dev", "busybox-static" } do
      assert.is_true(rt[p], p .. " is needed to build and run")
    end
    for _, p in ipairs { "qemu-system-x86", "clang-14", "lua-busted", "strace", "cppcheck", "lua-check", "cpio" } do
      assert.is_nil(rt[p], p .. " is a test dependency")
      assert.is_true(all[p], p .. " missing from --test")
    end
    for p in pairs(rt) do assert.is_true(all[p], p) end
    assert.matches("\nsh tools/install%-deps%.sh %-%-test\n", read("tools/test.sh"))
    assert.matches("sh tools/install%-deps%.sh && cmake %-S %. %-B build", read("README.md"))
    local _, _, code = U.sh("sh tools/install-deps.sh --bogus")
    assert.are.equal(2, code)
  end)
end)
