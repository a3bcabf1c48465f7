-- reliability (#root): arguments, environment and names are bytes, kept
-- byte-exact end to end (config.json writes bytes that are not UTF-8 as
-- \udcXX escapes, see docs/DEVELOPING.md), and every error is one line.
local U = require "spec_util"
local json = require "ctr.json"

-- argv entries that are not UTF-8: lone bytes, a truncated sequence, an
-- encoded surrogate, an overlong form, and text that looks like our escapes
local ARGS = { "\xff\xfe", "a\xc3(b", "\xed\xa0\x80", "\xc0\xaf", "caf\xc3", "\\udcff", "é€" }
local ENV_A = "x\xff\x80y\\u0000"

-- each argument as hex, one line each (od -An -tx1 -v), then $A the same way
local DUMP = [[for a in "$@" "$A"; do printf %s "$a" | od -An -tx1 -v | tr -d ' \n'; echo; done]]

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end

local function expected()
  local t = {}
  for _, a in ipairs(ARGS) do t[#t + 1] = hex(a) end
  t[#t + 1] = hex(ENV_A)
  return table.concat(t, "\n") .. "\n"
end

local function lines(s)
  local n = 0
  for _ in s:gmatch("\n") do n = n + 1 end
  return n
end

describe("json keeps bytes that are not UTF-8", function()
  it("round-trips every byte string and writes valid JSON text", function()
    local all = {}
    for b = 0, 255 do all[#all + 1] = string.char(b) end
    local cases = { table.concat(all), "\0", "\0\0\xff", "a\0\xc3\xbf", "\xf4\x90\x80\x80" }
    for _, a in ipairs(ARGS) do cases[#cases + 1] = a end
    for _, c in ipairs(cases) do
      local text = json.encode({ s = c, l = { c } })
      assert.is_truthy(utf8.len(text), "the JSON text is UTF-8")
      local v = assert(json.decode(text))
      assert.are.equal(hex(c), hex(v.s))
      assert.are.equal(hex(c), hex(v.l[1]))
    end
  end)

  it("decodes standard escapes as Unicode (pairs, \\u00XX, \\u0000)", function()
    local v = assert(json.decode('["\\ud800\\udc80", "\\u00ff", "a\\u0000b", "\\\\udcff"]'))
    assert.are.equal("\u{10080}", v[1])
    assert.are.equal("ÿ", v[2])
    assert.are.equal("a\0b", v[3])
    assert.are.equal("\\udcff", v[4])
  end)

  it("reads raw bytes that are not UTF-8 (files written before) as those bytes", function()
    local v = assert(json.decode('{"a":"x\xff\xfey","b":["\xc3(","\xc3\xa9"]}'))
    assert.are.equal(hex("x\xff\xfey"), hex(v.a))
    assert.are.equal(hex("\xc3("), hex(v.b[1]))
    assert.are.equal("é", v.b[2])
  end)

  it("refuses object keys that are not text", function()
    assert.has_error(function() json.encode({ ["a\xff"] = 1 }) end)
  end)
end)

describe("argv, env and names are bytes #root", function()
  local root
  before_each(function() root = U.tmproot() end)
  after_each(function() U.cleanup(root) end)

  local function ctr(...) return U.ctr(root, { ... }) end

  it("argv and env that are not UTF-8 reach the command byte-exact (run)", function()
    local args = { "run", "--rm", "--network", "none", "-e", "A=" .. ENV_A, "busybox", "sh", "-c", DUMP, "sh" }
    for _, a in ipairs(ARGS) do args[#args + 1] = a end
    local out, err, code = U.ctr(root, args)
    assert.are.equal(0, code, err)
    assert.are.equal(expected(), out)
    assert.same({}, U.container_ids(root))
  end)

  it("a detached container with them is listed, exec and inspect work, rm -f leaves nothing", function()
    local args = { "run", "-d", "--name", "bytes", "--network", "none", "-e", "A=" .. ENV_A, "busybox",
      "sh", "-c", "sleep 100", "sh" }
    for _, a in ipairs(ARGS) do args[#args + 1] = a end
    local _, err, code = U.ctr(root, args)
    assert.are.equal(0, code, err)
    local out
    out, err, code = ctr("ps", "-aq")
    assert.are.equal(0, code, err)
    assert.are.equal(1, lines(out))
    out, err, code = ctr("exec", "bytes", "sh", "-c", "printf %s \"$A\" | od -An -tx1 -v | tr -d ' \\n'")
    assert.are.equal(0, code, err)
    assert.are.equal(hex(ENV_A), out)
    out, err, code = ctr("inspect", "bytes")
    assert.are.equal(0, code, err)
    local info = assert(json.decode(out))[1]
    local got = info.Config and info.Config.Cmd or info.Args
    assert.is_table(got)
    assert.are.equal(hex(ARGS[1]), hex(got[#got - #ARGS + 1]))
    assert.are.equal(hex(ARGS[#ARGS]), hex(got[#got]))
    _, err, code = ctr("rm", "-f", "bytes")
    assert.are.equal(0, code, err)
    assert.same({}, U.container_ids(root))
  end)

  it("a NUL in argv or env is one clear error, exit 125, nothing left", function()
    for _, field in ipairs({ 'cmd = {"echo", "a\\0b"}', 'cmd = {"true"}, env = {"A=a\\0b"}' }) do
      local code_ = ('require("ctr.errors").main(function() require("ctr").container.run{ image = "busybox", '
        .. 'network = "none", %s } end)'):format(field)
      local out, err, code = U.sh("LUAC_CTR_ROOT=" .. U.q(root) .. " " .. U.q(U.launcher) .. " -e " .. U.q(code_))
      assert.are.equal(125, code, err)
      assert.are.equal("", out)
      assert.are.equal(1, lines(err), err)
      assert.matches("NUL", err)
      assert.same({}, U.container_ids(root))
    end
  end)
end)

describe("every error is one line #root", function()
  local root
  before_each(function() root = U.tmproot() end)
  after_each(function() U.cleanup(root) end)

  local cases = {
    { { "run", "--name", "a\nb", "busybox", "true" }, 125, "a\\nb" },
    { { "rm", "x\ny" }, 1, "x\\ny" },
    { { "inspect", "\x1b[31m" }, 1, "\\x1b[31m" },
    { { "stop", "a\tb\r" }, 1, "a\\tb\\r" },
    { { "network", "rm", "n\nm" }, 1, "n\\nm" },
    { { "rmi", "i\nj" }, 1, "i\\nj" },
    { { "logs", "l\xff\nm" }, 1, "l\\xff\\nm" },
    { { "run", "--cpus", "1\n2", "busybox", "true" }, 125, "1\\n2" },
    { { "no\nsuch" }, 125, "no\\nsuch" },
    { { "--root" }, 125, "--root" },
  }
  for _, c in ipairs(cases) do
    it(("%s: one stderr line, exit %d"):format(c[1][1]:gsub("%c", "?"), c[2]), function()
      local _, err, code = U.ctr(root, c[1])
      assert.are.equal(c[2], code, err)
      assert.are.equal(1, lines(err), err)
      assert.matches("^luac%-ctr: [^\n]*\n$", err)
      assert.is_truthy(err:find(c[3], 1, true), err)
      assert.is_falsy(err:find("\27", 1, true))
    end)
  end

  it("keeps docker's usage hint on the same line", function()
    local _, err, code = U.ctr(root, { "stop" })
    assert.are.equal(1, code)
    assert.are.equal("luac-ctr: \"stop\" requires at least 1 argument. (see 'luac-ctr stop --help')\n", err)
  end)
end)
