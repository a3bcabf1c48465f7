-- util.columns: core.columns (bindings/l_text.c) lays rows out exactly as
-- the Lua implementation (util._columns) does: ASCII, UTF-8, bytes that
-- are not UTF-8 (measured in bytes), numbers and other values (tostring),
-- ragged rows, rows with holes, empty rows and tables.
local core = require "ctr.core"
local util = require "ctr.util"

local function both(rows)
  local a, b = core.columns(rows), util._columns(rows)
  assert.are.equal(b, a)
  return a
end

describe("util.columns", function()
  it("uses core.columns", function()
    local rows = { { "A", "B" }, { "x", "yy" } }
    assert.are.equal("A   B\nx   yy\n", util.columns(rows))
    assert.are.equal(util._columns(rows), util.columns(rows))
  end)

  it("lays out as the Lua implementation does", function()
    both({})
    both({ {} })
    both({ {}, { "a" }, {} })
    both({ { "CONTAINER ID", "IMAGE", "NAMES" }, { "abc", "ïmage:ü", "x" }, { "d", "日本語", "yy" } })
    both({ { "a", "\255\254", "b" }, { "\237\160\128", "\192\128", "c" }, { "\244\144\128\128", "é", "" } })
    both({ { 1, 2.5, true, "x" }, { 10, 200, false, "y" } })
    both({ { "a", nil, "c" }, { "bb", "x" } })
    both({ { "a", "b", "c" }, { "x" }, { "y", "z" } })
    both({ { "a\0b", "c" }, { "", "" } })
    both({ { setmetatable({}, { __tostring = function() return "T!" end }), "x" } })
    both({ { ("w"):rep(200), "x" }, { "y", "z" } })
  end)

  it("agrees on random rows", function()
    local pieces = { "", "a", "bc", "é", "日本", "\255", "\195", "x y", "\0", "--", "😀" }
    math.randomseed(7)
    for _ = 1, 300 do
      local rows = {}
      for r = 1, math.random(0, 6) do
        local row = {}
        for c = 1, math.random(0, 5) do
          local t = {}
          for i = 1, math.random(0, 4) do t[i] = pieces[math.random(#pieces)] end
          row[c] = table.concat(t)
        end
        rows[r] = row
      end
      both(rows)
    end
  end)
end)
