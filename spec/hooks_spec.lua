-- hooks_spec: ctr.hooks, the lifecycle hook registry.
local hooks = require "ctr.hooks"

describe("ctr.hooks", function()
  before_each(function() hooks.clear() end)
  after_each(function() hooks.clear() end)

  it("runs the hooks of an event in registration order with the arguments", function()
    local calls = {}
    hooks.on("prestart", function(c, x) calls[#calls + 1] = "a:" .. c .. x end)
    hooks.on("prestart", function(c) calls[#calls + 1] = "b:" .. c end)
    hooks.on("poststop", function() calls[#calls + 1] = "other" end)
    assert.are.equal(2, hooks.run("prestart", "c1", "!"))
    assert.are.same({ "a:c1!", "b:c1" }, calls)
  end)

  it("returns 0 for an event without hooks, and accepts any event name", function()
    assert.are.equal(0, hooks.run("poststart"))
    local n = 0
    hooks.on("my-workflow-event", function() n = n + 1 end)
    assert.are.equal(1, hooks.run("my-workflow-event"))
    assert.are.equal(1, n)
  end)

  it("off removes a hook and reports whether it was registered", function()
    local called = false
    local fn = hooks.on("prestop", function() called = true end)
    assert.is_true(hooks.off("prestop", fn))
    assert.is_false(hooks.off("prestop", fn))
    assert.is_false(hooks.off("never", fn))
    hooks.run("prestop")
    assert.is_false(called)
  end)

  it("list returns copies of the registered hooks", function()
    local f1 = hooks.on("prestart", function() end)
    local f2 = hooks.on("prestart", function() end)
    local f3 = hooks.on("poststop", function() end)
    local l = hooks.list("prestart")
    assert.are.same({ f1, f2 }, l)
    l[1] = nil
    assert.are.equal(2, #hooks.list("prestart"))
    assert.are.same({}, hooks.list("nothing"))
    assert.are.same({ prestart = { f1, f2 }, poststop = { f3 } }, hooks.list())
  end)

  it("accepts callable tables", function()
    local got
    local obj = setmetatable({}, { __call = function(_, v) got = v end })
    hooks.on("poststart", obj)
    hooks.run("poststart", 5)
    assert.are.equal(5, got)
  end)

  it("a failing hook raises an error naming the event and stops the run", function()
    local after = false
    hooks.on("prestart", function() end)
    hooks.on("prestart", function() error("no network", 0) end)
    hooks.on("prestart", function() after = true end)
    local ok, err = pcall(hooks.run, "prestart", {})
    assert.is_false(ok)
    assert.are.equal("hook 'prestart' #2 failed: no network", tostring(err))
    assert.is_false(after)
  end)

  it("changes made while running apply to the next run", function()
    local n = 0
    local function second() n = n + 10 end
    hooks.on("ev", function() n = n + 1; hooks.on("ev", second) end)
    hooks.run("ev")
    assert.are.equal(1, n)
    hooks.run("ev")
    assert.are.equal(1 + 1 + 10, n)
  end)

  it("raises on bad arguments", function()
    assert.are.equal("bad hook event (non-empty string expected, got number)",
      tostring(select(2, pcall(hooks.on, 1, print))))
    assert.are.equal("bad hook event (non-empty string expected, got empty string)",
      tostring(select(2, pcall(hooks.on, "", print))))
    assert.are.equal("bad hook for 'prestart' (function expected, got string)",
      tostring(select(2, pcall(hooks.on, "prestart", "print"))))
    assert.has_error(function() hooks.run(nil) end)
    assert.has_error(function() hooks.list(false) end)
  end)

  it("clear removes the hooks of one event or of all", function()
    hooks.on("a", print)
    hooks.on("b", print)
    hooks.clear("a")
    assert.are.same({ b = { print } }, hooks.list())
    hooks.clear()
    assert.are.same({}, hooks.list())
  end)
end)
