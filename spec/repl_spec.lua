-- repl_spec: the luac-ctr REPL (ctr.repl), its pretty printer (ctr.pretty),
-- completion and help; driven through a real pty for line editing, Tab
-- completion and history.
local U = require "spec_util"
local pretty = require "ctr.pretty"
local repl = require "ctr.repl"

local function write(path, text)
  os.execute("mkdir -p " .. U.q(path:match("^(.*)/")))
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- A clean environment for the launcher: temporary HOME, config and state dirs.
local function envline(home, extra)
  local parts = { "env", "-u", "LUAC_CTR_PATH", "-u", "LUAC_CTR_CONFIG", "-u", "LUAC_CTR_DEBUG",
    "HOME=" .. U.q(home), "XDG_CONFIG_HOME=" .. U.q(home .. "/.config"),
    "XDG_STATE_HOME=" .. U.q(home .. "/.state") }
  for k, v in pairs(extra or {}) do parts[#parts + 1] = k .. "=" .. U.q(v) end
  return table.concat(parts, " ")
end

-- ---- a pty session: util-linux `script` runs the launcher on a pty; we feed
-- its stdin through a FIFO and poll its output file until text appears.
local Pty = {}
Pty.__index = Pty

local function sleep(s) os.execute("sleep " .. s) end

function Pty.start(home, env)
  local self = setmetatable({ pos = 1 }, Pty)
  self.fifo, self.out = home .. "/pty.in", home .. "/pty.out"
  self.rcfile, self.pidfile = home .. "/pty.rc", home .. "/pty.pid"
  assert(os.execute("mkfifo " .. U.q(self.fifo)))
  local inner = envline(home, env) .. " TERM=xterm COLUMNS=200 " .. U.q(U.launcher)
  local cmd = "(script -qfec " .. U.q(inner) .. " /dev/null <" .. U.q(self.fifo) .. " >" ..
      U.q(self.out) .. " 2>&1 & echo $! >" .. U.q(self.pidfile) .. "; wait $!; echo $? >" ..
      U.q(self.rcfile) .. ") >/dev/null 2>&1 </dev/null &"
  assert(os.execute(cmd))
  self.w = assert(io.open(self.fifo, "r+")) -- read-write: never blocks
  return self
end

--- The output so far, without terminal escape sequences, CRs and bells.
function Pty:text()
  local s = read(self.out) or ""
  s = s:gsub("\27%[[%d;?]*[%a@]", ""):gsub("\27[=>]", ""):gsub("[\r\7]", "")
  return s
end

function Pty:send(s)
  self.w:write(s)
  self.w:flush()
end

--- Wait until text appears after the previous match (polls; generous timeout).
function Pty:expect(text, timeout)
  local deadline = os.time() + (timeout or 30)
  while true do
    local t = self:text()
    local i, j = t:find(text, self.pos, true)
    if i then
      self.pos = j + 1
      return t:sub(i, j)
    end
    if os.time() > deadline then
      error(("timed out waiting for %q; output:\n%s"):format(text, t), 2)
    end
    sleep(0.05)
  end
end

--- Send Ctrl-D at a fresh prompt and wait for the launcher to exit; returns its status.
function Pty:quit(timeout)
  self:send("\4")
  self.w:close()
  self.w = nil
  local deadline = os.time() + (timeout or 30)
  while os.time() <= deadline do
    local rc = read(self.rcfile)
    if rc and rc:match("%d") then return tonumber(rc:match("%d+")) end
    sleep(0.05)
  end
  error("the REPL did not exit; output:\n" .. self:text(), 2)
end

--- Cleanup: close our end and kill the session if it is still running.
function Pty:close()
  if self.w then pcall(self.w.close, self.w); self.w = nil end
  local rc = read(self.rcfile)
  local pid = (read(self.pidfile) or ""):match("%d+")
  if pid and not (rc and rc:match("%d")) then
    os.execute("kill -9 " .. pid .. " 2>/dev/null")
    local deadline = os.time() + 10
    while read(self.rcfile) == nil or read(self.rcfile) == "" do
      if os.time() > deadline then break end
      sleep(0.05)
    end
  end
end

describe("ctr.pretty", function()
  it("prints scalars like Lua source", function()
    assert.are.equal('"a\\nb"', pretty.format("a\nb"))
    assert.are.equal("42", pretty.format(42))
    assert.are.equal("1.0", pretty.format(1.0))
    assert.are.equal("1.5", pretty.format(1.5))
    assert.are.equal("nil", pretty.format(nil))
    assert.are.equal("true", pretty.format(true))
  end)

  it("prints tables nested, array part first, keys sorted", function()
    assert.are.equal('{ 1, 2, [5] = 5, a = { "x" }, b = true, ["end"] = 1, ["not id"] = 0 }',
      pretty.format({ 1, 2, [5] = 5, b = true, a = { "x" }, ["not id"] = 0, ["end"] = 1 }))
    assert.are.equal("{}", pretty.format({}))
  end)

  it("breaks long tables over lines with indentation", function()
    local t = { name = string.rep("n", 40), list = { string.rep("x", 30), string.rep("y", 30) } }
    assert.are.equal('{\n  list = { "' .. string.rep("x", 30) .. '", "' .. string.rep("y", 30) ..
      '" },\n  name = "' .. string.rep("n", 40) .. '"\n}', pretty.format(t))
  end)

  it("marks cycles, limits depth, and uses __tostring", function()
    local t = { a = 1 }
    t.me = t
    assert.are.equal("{ a = 1, me = <cycle> }", pretty.format(t))
    local shared = { 1 }
    assert.are.equal("{ { 1 }, { 1 } }", pretty.format({ shared, shared }))
    assert.are.equal("{ a = { b = {...} } }", pretty.format({ a = { b = { c = {} } } }, { depth = 2 }))
    local obj = setmetatable({}, { __tostring = function() return "<obj 1>" end })
    assert.are.equal("{ x = <obj 1> }", pretty.format({ x = obj }))
  end)
end)

describe("ctr.repl", function()
  local saved_ctr

  before_each(function()
    saved_ctr = rawget(_G, "ctr")
    _G.ctr = require "ctr"
  end)
  after_each(function() _G.ctr = saved_ctr end)

  it("compiles expressions as return statements and detects incomplete chunks", function()
    assert.are.equal(3, repl.compile("1 + 2")())
    assert.is_nil(repl.compile("x_repl_spec = 5")())
    assert.are.equal(5, rawget(_G, "x_repl_spec"))
    _G.x_repl_spec = nil
    local fn, err, incomplete = repl.compile("function f()\n  return 1")
    assert.is_nil(fn)
    assert.matches("<eof>$", err)
    assert.is_true(incomplete)
    fn, err, incomplete = repl.compile("1 +* 2")
    assert.is_nil(fn)
    assert.is_false(incomplete)
  end)

  it("completes globals, fields and lazy submodules without loading them", function()
    local loaded_before = package.loaded["ctr.container"]
    local c = repl.complete("ctr.co")
    assert.truthy(c[1])
    local set = {}
    for _, w in ipairs(c) do set[w] = true end
    assert.is_true(set["ctr.core"])
    assert.is_true(set["ctr.container"])
    assert.are.equal(loaded_before, package.loaded["ctr.container"])
    assert.are.same({ "ctr.submodules" }, repl.complete("ctr.sub"))
    assert.are.same({ "ctr.hooks.off", "ctr.hooks.on" }, repl.complete("ctr.hooks.o"))
    assert.are.same({ "string.format" }, repl.complete("string.form"))
    assert.are.same({ "pcall" }, repl.complete("pcal"))
    assert.are.same({ "while" }, repl.complete("whil"))
    _G.s_repl_spec = "abc"
    local m = repl.complete("s_repl_spec:up")
    _G.s_repl_spec = nil
    assert.are.same({ "s_repl_spec:upper" }, m)
    assert.are.same({}, repl.complete("no_such_global_x.y"))
    -- ctr.image's parts that load on first use (import, remove, history) are offered
    require "ctr.image"
    assert.are.same({ "ctr.image.history" }, repl.complete("ctr.image.hist"))
    assert.are.same({ "ctr.image.import", "ctr.image.import_stream" }, repl.complete("ctr.image.impo"))
  end)

  it("reads docs from C doc blocks and Lua doc comments", function()
    local dir = U.tmproot()
    finally(function() U.cleanup(dir) end)
    write(dir .. "/l_demo.c", [[
/***
 * core.demo(x) -> true | nil, err, errno
 * Do the demo thing with x.
 */
static int l_demo(lua_State *L) { return 0; }
/* not a doc */
]])
    write(dir .. "/demo.lua", [[
--- demo: a demo module.
local M = {}

--- Frobnicate a value.
-- @param v the value
function M.frob(v) return v end

local function hidden() end

--- Same as frob.
M.frob2 = function(v, w) return v end
return M
]])
    local docs = {}
    repl.scan_c(dir .. "/l_demo.c", docs)
    repl.scan_lua(dir .. "/demo.lua", "ctr.demo", docs)
    assert.are.equal("core.demo(x) -> true | nil, err, errno\nDo the demo thing with x.",
      docs["core.demo"].text)
    assert.are.equal("ctr.demo.frob(v)\nFrobnicate a value.\n@param v the value", docs["ctr.demo.frob"].text)
    assert.are.equal("ctr.demo.frob2(v, w)\nSame as frob.", docs["ctr.demo.frob2"].text)
    assert.are.equal("demo: a demo module.", docs["ctr.demo"].text)
    assert.is_nil(docs["ctr.demo.hidden"])
  end)

  it("finds the doc of a function by value or by name", function()
    local hooks = require "ctr.hooks"
    local by_value = assert(repl.doc(hooks.on))
    assert.matches("^ctr%.hooks%.on%(event, fn%)\nRegister fn to run on event", by_value)
    assert.are.equal(by_value, repl.doc("ctr.hooks.on"))
    assert.are.equal(by_value, repl.doc("hooks.on"))
    assert.matches("functions: clear, list, off, on, run", repl.doc(hooks))
    local none, err = repl.doc(print)
    assert.is_nil(none)
    assert.matches("no documentation", err)
  end)
end)

describe("luac-ctr REPL without a terminal", function()
  local home
  before_each(function() home = U.tmproot() end)
  after_each(function() U.cleanup(home) end)

  local function feed(input, env)
    return U.sh(envline(home, env) .. " " .. U.q(U.launcher), { stdin = input })
  end

  it("prints results with no prompts, handles multi-line chunks", function()
    local out, err, code = feed("1+1\nfunction sq(x)\n  return x * x\nend\nsq(7)\n{b = 2, a = {1, 2}}\n" ..
      "'text', nil\nx = 1\n")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal("2\n49\n{ a = { 1, 2 }, b = 2 }\ntext\tnil\n", out)
  end)

  it("has ctr, help and pp as globals", function()
    local out, err, code = feed("type(ctr), type(help), type(pp), type(ctr.submodules)\n" ..
      "help(ctr.hooks.list)\n")
    assert.are.equal(0, code, err)
    assert.matches("^table\tfunction\tfunction\tfunction\nctr%.hooks%.list%(event%)\nThe hooks registered", out)
  end)

  it("reports errors on stderr, goes on, and exits 1", function()
    local out, err, code = feed("error('boom')\n1 +* 2\n'after'\n")
    assert.are.equal(1, code)
    assert.are.equal("after\n", out)
    assert.matches("^stdin:1: boom\nstdin:1: unexpected symbol near '1'\n$", err)
  end)

  it("runs init.lua first, and -i enters the REPL after -e", function()
    write(home .. "/.config/luac-ctr/init.lua", "FROM_INIT = 'init'")
    local out, err, code = U.sh(envline(home) .. " " .. U.q(U.launcher) .. " -e 'X = 40' -i",
      { stdin = "X + 2, FROM_INIT\n" })
    assert.are.equal(0, code, err)
    assert.are.equal("42\tinit\n", out)
  end)
end)

describe("luac-ctr REPL on a terminal", function()
  local home, pty
  before_each(function() home = U.tmproot() end)
  after_each(function()
    if pty then pty:close() end
    pty = nil
    U.cleanup(home)
  end)

  it("prompts, evaluates, continues multi-line chunks, pretty-prints tables", function()
    pty = Pty.start(home)
    pty:expect("help() for help")
    pty:expect("ctr> ")
    pty:send("1+1\n")
    pty:expect("1+1\n2\nctr> ")
    pty:send("function sq(x)\n")
    pty:expect("...> ")
    pty:send("return x * x\n")
    pty:expect("...> ")
    pty:send("end\n")
    pty:expect("ctr> ")
    pty:send("sq(12)\n")
    pty:expect("\n144\nctr> ")
    pty:send("{b = {1, 2}, a = 'x'}\n")
    pty:expect('\n{ a = "x", b = { 1, 2 } }\nctr> ')
    assert.are.equal(0, pty:quit())
  end)

  it("completes with Tab", function()
    pty = Pty.start(home)
    pty:expect("ctr> ")
    pty:send("ctr.sub\t")
    pty:expect("modules")
    pty:send("()\n")
    pty:expect('"hooks"')
    pty:expect("ctr> ")
    pty:send("ctr.hooks.of\t")
    pty:expect("f")
    pty:send(" == ctr.hooks.off\n")
    pty:expect("\ntrue\nctr> ")
    assert.are.equal(0, pty:quit())
    local hist = read(home .. "/.state/luac-ctr/history")
    assert.truthy(hist and hist:find("ctr.submodules()", 1, true), hist)
  end)

  it("keeps history across sessions in LUAC_CTR_HISTORY", function()
    local hfile = home .. "/h/sub/history"
    pty = Pty.start(home, { LUAC_CTR_HISTORY = hfile })
    pty:expect("ctr> ")
    pty:send("'hist' .. 'marker'\n")
    pty:expect("\nhistmarker\nctr> ")
    assert.are.equal(0, pty:quit())
    pty:close()
    assert.truthy(read(hfile):find("'hist'", 1, true))
    os.remove(home .. "/pty.in"); os.remove(home .. "/pty.out"); os.remove(home .. "/pty.rc")
    pty = Pty.start(home, { LUAC_CTR_HISTORY = hfile })
    pty:expect("ctr> ")
    pty:send("\16") -- Ctrl-P: previous history line
    pty:expect("'hist' .. 'marker'")
    pty:send("\n")
    pty:expect("\nhistmarker\nctr> ")
    assert.are.equal(0, pty:quit())
  end)

  it("Ctrl-C discards the line at the prompt and interrupts running code", function()
    pty = Pty.start(home)
    pty:expect("ctr> ")
    pty:send("'discarded'\3")
    pty:expect("^C\nctr> ")
    pty:send("function f()\n")
    pty:expect("...> ")
    pty:send("\3")
    pty:expect("^C\nctr> ")
    pty:send("'kept'\n")
    pty:expect("\nkept\nctr> ")
    pty:send("while true do end\n")
    pty:expect("while true do end\n")
    -- the signal may land just before the loop starts: repeat until it is seen
    local deadline = os.time() + 30
    while not pty:text():find("interrupted!", pty.pos, true) do
      assert(os.time() < deadline, "no 'interrupted!' in:\n" .. pty:text())
      pty:send("\3")
      sleep(0.2)
    end
    pty:expect("interrupted!")
    pty:expect("ctr> ")
    -- a late extra Ctrl-C could discard this line: send it again if needed
    local got
    for _ = 1, 5 do
      pty:send("1 + 41\n")
      got = pcall(pty.expect, pty, "\n42\nctr> ", 5)
      if got then break end
    end
    assert.is_true(got, pty:text())
    assert.are.equal(0, pty:quit())
    assert.is_nil(pty:text():find("discarded\n", 1, true))
  end)

  it("help(fn) prints the function's doc", function()
    pty = Pty.start(home)
    pty:expect("ctr> ")
    pty:send("help(ctr.hooks.on)\n")
    pty:expect("ctr.hooks.on(event, fn)\nRegister fn to run on event")
    pty:expect("ctr> ")
    pty:send("help 'hooks.run'\n")
    pty:expect("A failing hook raises")
    pty:expect("ctr> ")
    assert.are.equal(0, pty:quit())
  end)
end)
