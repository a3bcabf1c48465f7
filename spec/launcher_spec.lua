-- launcher_spec: the luac-ctr executable: script lookup, options, arg, exit
-- codes, the user's init.lua and script dirs.
local U = require "spec_util"

-- Every run gets a clean environment: a temporary HOME / XDG_CONFIG_HOME, so
-- the user's real config and scripts never leak into the tests.
local function run(home, args, env, opts)
  local parts = { "env", "-u", "LUAC_CTR_PATH", "-u", "LUAC_CTR_CONFIG", "-u", "LUAC_CTR_DEBUG",
    "-u", "LUAC_CTR_ROOT", "HOME=" .. U.q(home), "XDG_CONFIG_HOME=" .. U.q(home .. "/.config") }
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. U.q(v) end
  parts[#parts + 1] = U.q(U.launcher)
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  return U.sh(table.concat(parts, " "), opts)
end

local function write(path, text)
  os.execute("mkdir -p " .. U.q(path:match("^(.*)/")))
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("luac-ctr launcher", function()
  local home

  before_each(function() home = U.tmproot() end)
  after_each(function() U.cleanup(home) end)

  describe("script lookup", function()
    it("runs a script by path, relative or absolute", function()
      local out, err, code = run(home, { "scripts/hello.lua", "path" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("hello, path!\n", out)
      write(home .. "/mine.lua", 'print("mine", ...)')
      out, err, code = run(home, { home .. "/mine.lua", "a", "b" })
      assert.are.equal(0, code, err)
      assert.are.equal("mine\ta\tb\n", out)
    end)

    it("runs a built-in script by name, with and without .lua", function()
      local out, err, code = run(home, { "hello", "you" })
      assert.are.equal(0, code, err)
      assert.are.equal("hello, you!\n", out)
      out, err, code = run(home, { "hello.lua" })
      assert.are.equal(0, code, err)
      assert.are.equal("hello, world!\n", out)
    end)

    it("prefers a user script in XDG_CONFIG_HOME over the built-in", function()
      write(home .. "/.config/luac-ctr/scripts/hello.lua", '-- hello: my own hello\nprint("xdg hello")')
      local out, err, code = run(home, { "hello" })
      assert.are.equal(0, code, err)
      assert.are.equal("xdg hello\n", out)
    end)

    it("looks in LUAC_CTR_PATH dirs first, in order", function()
      write(home .. "/p1/other.lua", 'print("p1 other")')
      write(home .. "/p2/hello.lua", 'print("p2 hello")')
      write(home .. "/p2/other.lua", 'print("p2 other")')
      write(home .. "/.config/luac-ctr/scripts/hello.lua", 'print("xdg hello")')
      local env = { LUAC_CTR_PATH = home .. "/p1::" .. home .. "/p2" }
      local out, err, code = run(home, { "hello" }, env)
      assert.are.equal(0, code, err)
      assert.are.equal("p2 hello\n", out)
      out = run(home, { "other.lua" }, env)
      assert.are.equal("p1 other\n", out)
    end)

    it("uses LUAC_CTR_CONFIG as the config dir", function()
      write(home .. "/cfg/scripts/hello.lua", 'print("cfg hello")')
      local out, err, code = run(home, { "hello" }, { LUAC_CTR_CONFIG = home .. "/cfg" })
      assert.are.equal(0, code, err)
      assert.are.equal("cfg hello\n", out)
    end)

    it("fails with 125 on an unknown script or a missing path", function()
      local out, err, code = run(home, { "no-such-workflow", "x" })
      assert.are.equal(125, code)
      assert.are.equal("", out)
      assert.are.equal("luac-ctr: unknown command or script 'no-such-workflow' (see luac-ctr --help)\n", err)
      out, err, code = run(home, { home .. "/missing.lua" })
      assert.are.equal(125, code)
      assert.matches("cannot open script '.*missing.lua': No such file", err)
    end)
  end)

  describe("--help", function()
    it("lists built-in and user scripts with their descriptions", function()
      write(home .. "/.config/luac-ctr/scripts/hello.lua", '#!/usr/bin/env luac-ctr\n-- hello: my own hello\nprint(1)')
      write(home .. "/.config/luac-ctr/scripts/deploy.lua", '--- Deploy the thing.\nprint(1)')
      write(home .. "/.config/luac-ctr/scripts/nodesc.lua", 'print(1)')
      local out, err, code = run(home, { "--help" })
      assert.are.equal(0, code, err)
      assert.matches("Usage: luac%-ctr", out)
      local builtin = out:match("Built%-in scripts %b()(.-)\n\n")
      local user = out:match("User scripts %b()(.-)\n\n")
      assert.truthy(builtin, out)
      assert.truthy(user, out)
      assert.matches("\n  hello +Print a greeting[^\n]*%[overridden by a user script%]", builtin)
      assert.matches("\n  hello +my own hello %[overrides built%-in%]", user)
      assert.matches("\n  deploy +Deploy the thing%.\n", user .. "\n")
      assert.matches("\n  nodesc +\n", user .. "\n")
      assert.is_nil(user:find("Print a greeting", 1, true))
    end)

    it("shows no user scripts when there are none", function()
      local out, _, code = run(home, { "-h" })
      assert.are.equal(0, code)
      assert.matches("User scripts %b():\n  %(none%)", out)
    end)
  end)

  it("sets arg like lua5.4, with arg[0] the script's path, and passes ... ", function()
    write(home .. "/s/args.lua", [[
      local t = {}
      for i = -3, #arg do t[#t + 1] = tostring(i) .. "=" .. tostring(arg[i]) end
      print(table.concat(t, " "))
      print(select("#", ...), ...)
    ]])
    local out, err, code = run(home, { "-e", "x=1", "args", "a b", "c" },
      { LUAC_CTR_PATH = home .. "/s" })
    assert.are.equal(0, code, err)
    assert.are.equal("-3=" .. U.launcher .. " -2=-e -1=x=1 0=" .. home .. "/s/args.lua 1=a b 2=c\n" ..
      "2\ta b\tc\n", out)
  end)

  describe("exit codes and errors", function()
    it("uses the code given to os.exit", function()
      local _, _, code = run(home, { "-e", "os.exit(7)" })
      assert.are.equal(7, code)
      write(home .. "/exit3.lua", "os.exit(3)")
      _, _, code = run(home, { home .. "/exit3.lua" })
      assert.are.equal(3, code)
    end)

    it("prints 'luac-ctr: <message>' and exits 1 on an error", function()
      write(home .. "/fail.lua", 'local x = 1\nerror("it broke")\n')
      local out, err, code = run(home, { home .. "/fail.lua" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("luac-ctr: " .. home .. "/fail.lua:2: it broke\n", err)
      out, err, code = run(home, { "-e", 'error("plain message", 0)' })
      assert.are.equal(1, code)
      assert.are.equal("luac-ctr: plain message\n", err)
    end)

    it("reports syntax errors with exit 1", function()
      write(home .. "/bad.lua", "local = 1\n")
      local _, err, code = run(home, { home .. "/bad.lua" })
      assert.are.equal(1, code)
      assert.matches("^luac%-ctr: .*bad.lua:1: .*near '='", err)
    end)

    it("a command run by name: an error value exits with its code, a plain error 125; one line as errors.oneline", function()
      write(home .. "/.config/luac-ctr/scripts/boom.lua", [[
local errors = require "ctr.errors"
local how = ...
if how == "value" then errors.raise(3, "no good\nSee 'luac-ctr boom --help'.") end
if how == "kind" then errors.throw("timeout", "too slow: %s", "\27[31mred") end
error("plain", 0)
]])
      local out, err, code = run(home, { "boom", "value" })
      local _
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.are.equal("luac-ctr: no good (see 'luac-ctr boom --help')\n", err)
      _, err, code = run(home, { "boom", "kind" })
      assert.are.equal(124, code)
      assert.are.equal("luac-ctr: too slow: \\x1b[31mred\n", err)
      _, err, code = run(home, { "boom" })
      assert.are.equal(125, code)
      assert.are.equal("luac-ctr: plain\n", err)
      -- the same file by path is a plain script: exit 1, as lua5.4
      _, err, code = run(home, { home .. "/.config/luac-ctr/scripts/boom.lua" })
      assert.are.equal(1, code)
      assert.are.equal("luac-ctr: plain\n", err)
    end)

    it("exits with N for an error {exit = N, msg = ...}", function()
      local _, err, code = run(home, { "-e", 'error({exit = 42, msg = "custom"})' })
      assert.are.equal(42, code)
      assert.are.equal("luac-ctr: custom\n", err)
    end)

    it("prints a traceback with LUAC_CTR_DEBUG=1 only", function()
      write(home .. "/deep.lua", 'local function inner() error("deep") end\ninner()\n')
      local _, err, code = run(home, { home .. "/deep.lua" }, { LUAC_CTR_DEBUG = "1" })
      assert.are.equal(1, code)
      assert.matches("^luac%-ctr: .*deep.lua:1: deep\nstack traceback:\n", err)
      assert.matches("in local 'inner'", err)
      _, err = run(home, { home .. "/deep.lua" })
      assert.is_nil(err:find("traceback", 1, true))
    end)

    it("rejects unknown options with 125", function()
      local _, err, code = run(home, { "--bogus" })
      assert.are.equal(125, code)
      assert.matches("unrecognized option '%-%-bogus'", err)
      _, err, code = run(home, { "-e" })
      assert.are.equal(125, code)
      assert.matches("needs an argument", err)
    end)
  end)

  describe("options", function()
    it("-e runs code, in order with -l", function()
      local out, err, code = run(home, { "-e", "x = 20", "-e", "print(x + 1)" })
      assert.are.equal(0, code, err)
      assert.are.equal("21\n", out)
    end)

    it("-l requires a module and sets the global", function()
      local out, err, code = run(home, { "-l", "ctr.pretty", "-e", 'print(type(_G["ctr.pretty"]))',
        "-lpp=ctr.pretty", "-e", "print(pp.format({1, 2}))" })
      assert.are.equal(0, code, err)
      assert.are.equal("table\n{ 1, 2 }\n", out)
      local _, err2, code2 = run(home, { "-l", "no.such.module" })
      assert.are.equal(1, code2)
      assert.matches("^luac%-ctr: module 'no.such.module' not found", err2)
    end)

    it("--version prints the version", function()
      local out, _, code = run(home, { "--version" })
      assert.are.equal(0, code)
      assert.matches("^luac%-ctr %d+%.%d+%.%d+ %(Lua 5%.4", out)
    end)

    it("--root sets LUAC_CTR_ROOT for the script and its children", function()
      local out, err, code = run(home, { "--root", home .. "/state", "-e",
        'print(os.getenv("LUAC_CTR_ROOT")); os.execute("echo child=$LUAC_CTR_ROOT")' })
      assert.are.equal(0, code, err)
      assert.are.equal(home .. "/state\nchild=" .. home .. "/state\n", out)
      out = run(home, { "--root=/x/y", "-e", 'print(os.getenv("LUAC_CTR_ROOT"))' })
      assert.are.equal("/x/y\n", out)
    end)

    it("finds the ctr modules and loads none of them for a script", function()
      local out, err, code = run(home, { "-e",
        'print(package.loaded.ctr, package.loaded["ctr.core"], package.loaded["ctr.readline"])' ..
        '; print(type(require("ctr")), type(require("ctr").submodules))' })
      assert.are.equal(0, code, err)
      assert.are.equal("nil\tnil\tnil\ntable\tfunction\n", out)
    end)

    it("maps no libedit until the REPL requires ctr.readline (a C module of its own)", function()
      local out, err, code = run(home, { "-e", [[
        local function mapped()
          local f = assert(io.open("/proc/self/maps"))
          local m = f:read("a"):find("libedit", 1, true) ~= nil
          f:close()
          return m
        end
        local before = mapped()
        local rl = require "ctr.readline"
        print(before, mapped(), type(rl.readline), package.searchpath("ctr.readline", package.cpath) ~= nil)]] })
      assert.are.equal(0, code, err)
      assert.are.equal("false\ttrue\tfunction\ttrue\n", out)
    end)

    -- launcher/loadfile.c: package.searchers[2] and the script loader read a
    -- file with one open; lua5.4 (Lua's own searcher) is the reference
    it("loads modules and scripts as Lua's own searcher and luaL_loadfile do", function()
      local d = home .. "/mods"
      write(d .. "/plain.lua", "local a, b = ...\nreturn {select('#', ...), a, b, debug.getinfo(1, 'S').source}\n")
      write(d .. "/hash.lua", "#!/bin/sh\nreturn {debug.getinfo(1, 'l').currentline}\n")
      write(d .. "/bom.lua", "\239\187\191return {'bom'}\n")
      write(d .. "/bad.lua", "return {\n  1 2\n}\n")
      write(d .. "/fails.lua", "error('boom ' .. (...))\n")
      write(d .. "/empty.lua", "")
      write(d .. "/src/bin.lua", "return {'bin', debug.getinfo(1, 'l').currentline}\n")
      assert(os.execute("luac5.4 -o " .. U.q(d .. "/bin.lua") .. " " .. U.q(d .. "/src/bin.lua")))
      os.execute("mkdir -p " .. U.q(d .. "/adir.lua") .. " " .. U.q(d .. "/sub"))
      write(d .. "/sub/init.lua", "return {'init', ...}\n")
      write(d .. "/script.lua", "#!/usr/bin/env lua\nprint('script', debug.getinfo(1, 'l').currentline, ...)\n")
      local code = [[
        package.path = ";;]] .. d .. [[/?.lua;]] .. d .. [[/?/init.lua"
        package.cpath = "]] .. d .. [[/?.so"
        local function show(v)
          if type(v) ~= "table" then return tostring(v) end
          local t = {}
          for i = 1, #v do t[i] = show(v[i]) end
          return "{" .. table.concat(t, ",") .. "}"
        end
        for _, m in ipairs { "plain", "hash", "bom", "bad", "fails", "empty", "bin", "adir", "sub",
                             "sub.none", "none" } do
          local ok, v = pcall(require, m)
          print(m, ok, (show(v):gsub("\n", "|")))
        end
        local f = assert(loadfile("]] .. d .. [[/script.lua"))
        f("x")
        print(package.searchpath("hash", package.path))]]
      local want, werr, wcode = U.sh("lua5.4 -e " .. U.q(code))
      assert.are.equal(0, wcode, werr)
      local out, err, rc = run(home, { "-e", code })
      assert.are.equal(0, rc, err)
      assert.are.equal(want, out)
      assert.truthy(out:find("plain\ttrue\t{2,plain," .. d .. "/plain.lua,@" .. d .. "/plain.lua}\n", 1, true), out)
      assert.truthy(out:find("bad\tfalse\terror loading module 'bad' from file '", 1, true), out)
      -- the script itself (main.c run_script) and init.lua load the same way
      local o2, e2, c2 = run(home, { d .. "/script.lua", "y" })
      assert.are.equal(0, c2, e2)
      assert.are.equal("script\t2\ty\n", o2)
    end)

    it("runs a script from a FIFO, opened once as lua5.4 does", function()
      local fifo = home .. "/script.fifo"
      assert(os.execute("mkfifo " .. U.q(fifo)))
      local out, err, code = U.sh("(echo 'print(\"from the fifo\", ...)' > " .. U.q(fifo) .. " &) ; timeout 10 " ..
        U.q(U.launcher) .. " " .. U.q(fifo) .. " x")
      assert.are.equal(0, code, err)
      assert.are.equal("from the fifo\tx\n", out)
    end)

    it("reads a module with one read syscall (Lua's searcher makes two)", function()
      write(home .. "/mods/small.lua", "return 1\n")
      local out, err, code = run(home, { "-e", [[
        package.path = "]] .. home .. [[/mods/?.lua"
        local function syscr() -- read syscalls so far (/proc/self/io)
          local f = assert(io.open("/proc/self/io"))
          local n = tonumber(f:read("a"):match("syscr: (%d+)"))
          f:close()
          return n
        end
        local a = syscr()
        local b = syscr()
        require "small"
        print((syscr() - b) - (b - a))]] })
      assert.are.equal(0, code, err)
      assert.are.equal("1\n", out)
    end)

    it("finds the build tree when started through a symlink", function()
      assert(os.execute("mkdir -p " .. U.q(home .. "/bin") .. " && ln -s " .. U.q(U.launcher) .. " " ..
        U.q(home .. "/bin/luac-ctr")))
      local out, err, code = U.sh("env -u LUAC_CTR_PATH -u LUAC_CTR_CONFIG HOME=" .. U.q(home) ..
        " XDG_CONFIG_HOME=" .. U.q(home .. "/.config") .. " " .. U.q(home .. "/bin/luac-ctr") ..
        " -e 'print(require(\"ctr.launcher\").build_tree)' hello")
      assert.are.equal(0, code, err)
      assert.are.equal("true\nhello, world!\n", out)
    end)

    it("finds the C modules of the build tree", function()
      local out, err, code = run(home, { "-e",
        'print(package.searchpath("ctr.core", package.cpath))' })
      assert.are.equal(0, code, err)
      assert.are.equal(U.srcdir .. "/" .. U.build .. "/ctr/core.so\n", out)
    end)
  end)

  describe("user init.lua", function()
    it("runs before scripts, and its hooks are visible to the script", function()
      write(home .. "/.config/luac-ctr/init.lua", [[
        INIT_RAN = (INIT_RAN or 0) + 1
        require("ctr.hooks").on("prestart", function(c) print("prestart hook", c) end)
      ]])
      write(home .. "/s/usehooks.lua", [[
        local hooks = require "ctr.hooks"
        print("init ran", INIT_RAN, #hooks.list("prestart"))
        hooks.run("prestart", "c1")
      ]])
      local out, err, code = run(home, { "usehooks" }, { LUAC_CTR_PATH = home .. "/s" })
      assert.are.equal(0, code, err)
      assert.are.equal("init ran\t1\t1\nprestart hook\tc1\n", out)
    end)

    it("runs before -e, from LUAC_CTR_CONFIG when set", function()
      write(home .. "/cfg/init.lua", 'DEFAULT_IMAGE = "busybox"')
      local out, err, code = run(home, { "-e", "print(DEFAULT_IMAGE)" }, { LUAC_CTR_CONFIG = home .. "/cfg" })
      assert.are.equal(0, code, err)
      assert.are.equal("busybox\n", out)
    end)

    it("an error in init.lua stops with exit 1", function()
      write(home .. "/.config/luac-ctr/init.lua", 'error("bad config", 0)')
      local out, err, code = run(home, { "hello" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("luac-ctr: bad config\n", err)
    end)
  end)
end)
