-- spec/interrupt_rethrow_spec.lua: a Ctrl-C (SIGINT) that arrives inside a
-- pcall of lua/ctr that turns other errors into new ones (a hook's failure,
-- a list item's failure, a value that cannot print, a scope's removals)
-- goes on up unchanged:
-- kind "interrupted", exit code 130, not a "hook failed" message or exit 1.
-- The script sends SIGINT to itself at a known point (real signals).
local O = require "orch_util"

-- runs case `what`: the interrupt comes inside the pcall of the API call
local SCRIPT = [[
local core = require "ctr.core"
local errors = require "ctr.errors"
local what = ...
local function interrupt()
  core.kill(core.getpid(), "INT")
  core.sleep(5) -- raised here at the latest
  print("not interrupted")
end
local ok, e = pcall(function()
  if what == "hook" then
    local hooks = require "ctr.hooks"
    hooks.on("spec-event", interrupt)
    hooks.run("spec-event")
  elseif what == "each" then
    errors.each({ "a", "b" }, interrupt)
  elseif what == "pretty" then
    require("ctr.pretty").format(setmetatable({}, { __tostring = interrupt }))
  elseif what == "scope" then
    local scope = require("ctr.container").scope()
    local function fake(remove) return setmetatable({ dir = "/" }, { __index = { remove = remove } }) end
    scope.containers[1] = fake(interrupt) -- closed last first: the plain failure comes first
    scope.containers[2] = fake(function() error("plain failure", 0) end)
    scope:close()
  end
end)
print("caught", ok, errors.is(e) and e.kind, errors.code(e), errors.message(e))
]]

describe("interrupts inside the API's pcalls", function()
  local script
  setup(function() script = O.script(SCRIPT) end)
  teardown(function() os.remove(script) end)

  for _, what in ipairs { "hook", "each", "pretty", "scope" } do
    it("keep their kind and code: " .. what, function()
      local p = O.spawn({ "/usr/bin/lua5.4", script, what })
      local out, code = O.finish(p, 10)
      assert.are.equal(0, code, out)
      assert.matches("caught\tfalse\tinterrupted\t130\tinterrupted %(SIGINT%)\n", out)
      assert.is_nil(out:find("not interrupted", 1, true))
    end)
  end

  it("the launcher exits 130 when errors.each's item is interrupted (was exit 1)", function()
    local s = O.script([[
local core = require "ctr.core"
require("ctr.errors").each({ "a", "b" }, function(x)
  if x == "a" then core.kill(core.getpid(), "INT"); core.sleep(5) end
  return "done " .. x
end)
]])
    local p = O.launch("/nonexistent", s)
    local out, code = O.finish(p, 10)
    os.remove(s)
    assert.are.equal(130, code, out)
    assert.matches("luac%-ctr: interrupted %(SIGINT%)\n", out)
    assert.is_nil(out:find("done b", 1, true))
  end)
end)
