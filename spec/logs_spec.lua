-- logs: the json-file log of containers, rotated files, follow (#root),
-- and ctr.logs' parsing helpers.
local U = require "spec_util"
local core = require "ctr.core"
local logs = require "ctr.logs"
local util = require "ctr.util"

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function rund(name, ...)
  local out, err, code = ctr("run", "-d", "--network", "none", "--name", name, ...)
  assert.are.equal(0, code, err)
  return (out:gsub("%s+$", ""))
end

local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

describe("ctr.logs helpers", function()
  it("parses log lines, unescaping JSON strings", function()
    local e = logs.parse_line('{"log":"a \\"q\\" \\\\ \\t\\u0001\\n","stream":"stderr","time":"2026-11-29T05:13:28.776814107Z"}')
    assert.same({ log = 'a "q" \\ \t\1\n', stream = "stderr", time = "2026-11-29T05:13:28.776814107Z" }, e)
    assert.is_nil(logs.parse_line("garbage"))
    -- other key orders still parse (through the JSON decoder)
    e = logs.parse_line('{"stream":"stdout","time":"t","log":"x\\n"}')
    assert.same({ log = "x\n", stream = "stdout", time = "t" }, e)
  end)

  it("parses --since values: RFC 3339, Unix times and durations", function()
    assert.are.equal("2026-11-29T05:00:00.000000000Z", logs.parse_time("2026-11-29T05:00:00Z"))
    assert.are.equal("2026-11-29T03:00:00.000000000Z", logs.parse_time("2026-11-29T05:00:00+02:00"))
    assert.are.equal("1970-01-01T00:00:10.500000000Z", logs.parse_time("10.5"))
    local now = util.now()
    local t = util.parse_rfc3339(logs.parse_time("1h30m"))
    assert.is_true(math.abs(now - 5400 - t) < 2)
    t = util.parse_rfc3339(logs.parse_time("10m"))
    assert.is_true(math.abs(now - 600 - t) < 2)
    assert.is_nil(logs.parse_time("bogus"))
    assert.is_nil(logs.parse_time("10x"))
  end)
end)

describe("logs #root", function()
  U.per_test_root(function(r) root = r end)

  it("prints stdout on stdout and stderr on stderr, for exited containers", function()
    rund("out", "busybox", "sh", "-c", "echo one; echo two >&2; echo three")
    assert.are.equal("0\n", (ctr("wait", "out")))
    local out, err, code = ctr("logs", "out")
    assert.are.equal(0, code)
    assert.are.equal("one\nthree\n", out)
    assert.are.equal("two\n", err)
    -- both to one pipe: every line once
    local both = U.sh(("(LUAC_CTR_ROOT=%s %s logs out 2>&1)"):format(U.q(root), U.q(U.launcher)))
    local t = lines(both)
    table.sort(t)
    assert.same({ "one", "three", "two" }, t)
  end)

  it("keeps the order of one stream and works for running containers", function()
    rund("seq", "busybox", "sh", "-c", "for i in $(seq 1 50); do echo line$i; done; sleep 30")
    assert.is_truthy(U.wait_for(function() return (ctr("logs", "seq")):find("line50\n", 1, true) end, 10))
    local out = ctr("logs", "seq")
    local t = lines(out)
    assert.are.equal(50, #t)
    for i = 1, 50 do assert.are.equal("line" .. i, t[i]) end
  end)

  it("--tail N shows the last N lines, -t prefixes RFC 3339 times", function()
    rund("tail", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo l$i; done")
    ctr("wait", "tail")
    assert.are.equal("l4\nl5\n", (ctr("logs", "--tail", "2", "tail")))
    assert.are.equal("", (ctr("logs", "--tail", "0", "tail")))
    assert.are.equal(5, #lines((ctr("logs", "--tail", "all", "tail"))))
    local out = ctr("logs", "-t", "--tail", "1", "tail")
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+Z l5\n$", out)
    local _, err, code = ctr("logs", "--tail", "x", "tail")
    assert.are.equal(125, code)
    assert.matches("invalid %-%-tail", err)
  end)

  it("--since and --until select by time", function()
    rund("since", "busybox", "sh", "-c", "echo early; sleep 1.5; echo late")
    ctr("wait", "since")
    local out = ctr("logs", "-t", "since")
    local t_late = out:match("(%S+) late\n")
    assert.is_truthy(t_late)
    assert.are.equal("late\n", (ctr("logs", "--since", t_late, "since")))
    local tl = util.parse_rfc3339(t_late)
    assert.are.equal("early\n", (ctr("logs", "--until", util.rfc3339(math.floor(tl - 0.5), 0), "since")))
    assert.are.equal("early\nlate\n", (ctr("logs", "--since", "10m", "since")))
    assert.are.equal("", (ctr("logs", "--since", "2099-01-01T00:00:00Z", "since")))
    local _, err, code = ctr("logs", "--since", "yesterday", "since")
    assert.are.equal(125, code)
    assert.matches("invalid time", err)
  end)

  it("-f follows until the container exits", function()
    rund("follow", "busybox", "sh", "-c", "echo first; sleep 2; echo second >&2; sleep 0.5; echo third; exit 3")
    local t0 = core.clock("monotonic")
    local out, err, code = ctr("logs", "-f", "follow")
    local dt = core.clock("monotonic") - t0
    assert.are.equal(0, code, err)
    assert.are.equal("first\nthird\n", out)
    assert.are.equal("second\n", err)
    assert.is_true(dt >= 1, "returned after " .. dt .. " s")
    -- an exited container: -f returns at once
    out = ctr("logs", "-f", "--tail", "1", "follow")
    assert.are.equal("third\n", out)
  end)

  it("reads rotated files, oldest first", function()
    rund("rot", "--log-max-size", "2k", "--log-max-files", "4", "busybox", "sh", "-c",
      "i=1; while [ $i -le 200 ]; do echo n$i; i=$((i+1)); done")
    ctr("wait", "rot")
    local id = U.container_ids(root)[1]
    assert.is_true(core.exists(root .. "/containers/" .. id .. "/container.log.3"))
    assert.is_false(core.exists(root .. "/containers/" .. id .. "/container.log.4"))
    local t = lines((ctr("logs", "rot")))
    assert.is_true(#t > 30 and #t < 200, #t .. " lines")
    local first = tonumber(t[1]:match("^n(%d+)$"))
    for i, l in ipairs(t) do assert.are.equal("n" .. (first + i - 1), l) end
    assert.are.equal("n200", t[#t])
    assert.are.equal("n199\nn200\n", (ctr("logs", "--tail", "2", "rot")))
  end)

  it("-f follows across rotations without losing or repeating lines", function()
    rund("rotf", "--log-max-size", "4k", "--log-max-files", "3", "busybox", "sh", "-c",
      "echo ready; sleep 1; i=1; while [ $i -le 400 ]; do echo m$i; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.1; done; echo end")
    local p = io.popen(("LUAC_CTR_ROOT=%s %s logs -f rotf 2>&1"):format(U.q(root), U.q(U.launcher)))
    local out = p:read("a")
    p:close()
    local t = lines(out)
    assert.are.equal("ready", t[1])
    assert.are.equal("end", t[#t])
    for i = 1, 400 do assert.are.equal("m" .. i, t[i + 1]) end
    assert.are.equal(402, #t)
  end)

  it("an unknown container exits 1; a created one has no logs", function()
    local _, err, code = ctr("logs", "nosuch")
    assert.are.equal(1, code)
    assert.matches("no such container: nosuch", err)
    local state = require "ctr.state"
    state.set_root(root)
    require("ctr.container").create { image = "busybox", name = "new", network = "none", cmd = { "true" } }
    state.set_root(nil)
    local out
    out, err, code = ctr("logs", "new")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
  end)
end)
