-- Soak, CI size (#root #soak): SOAK_RUNS/SOAK_EXECS/SOAK_PAIRS (default
-- 40/40/15) `run --rm`, `exec` and `run -d`/`rm -f` pairs in one state root
-- (bench/soak.lua; the full 2000/2000/500 is tools/soak.sh). Between the
-- first and the last sample of each phase nothing may grow beyond noise:
-- the supervisor's RSS and fds, the CLI's peak RSS, the state root's size
-- and number of entries; and nothing is left behind at the end.
local U = require "spec_util"
local json = require "ctr.json"

local RUNS = tonumber(os.getenv("SOAK_RUNS") or "") or 40
local EXECS = tonumber(os.getenv("SOAK_EXECS") or "") or 40
local PAIRS = tonumber(os.getenv("SOAK_PAIRS") or "") or 15

describe("soak #root #soak", function()
  local res, out
  setup(function()
    local err, code
    out, err, code = U.sh(("LUAC_CTR_BUILD=%s lua5.4 bench/soak.lua %d %d %d 5"):format(U.q(U.build), RUNS, EXECS, PAIRS))
    assert(code == 0, "bench/soak.lua failed: " .. err .. out)
    res = json.decode(out:match("soak%-json (%b{})"))
    print(("\nsoak %d/%d/%d in %.1f s"):format(RUNS, EXECS, PAIRS, res.seconds))
  end)

  for _, ph in ipairs({ "run", "exec", "pairs" }) do
    it(ph .. ": supervisor RSS and fds, CLI RSS, state root size stay flat", function()
      local a, b = res[ph].first, res[ph].last
      assert.are.equal(a.sup_fds, b.sup_fds, out)
      assert.is_true(b.sup_rss <= a.sup_rss + 256, ("supervisor RSS %d -> %d KiB"):format(a.sup_rss, b.sup_rss))
      assert.is_true(b.cli_rss <= a.cli_rss + 1024, ("CLI peak RSS %d -> %d KiB"):format(a.cli_rss, b.cli_rss))
      assert.is_true(b.root_kb <= a.root_kb + 64, ("state root %d -> %d KiB"):format(a.root_kb, b.root_kb))
      assert.are.equal(a.entries, b.entries, "entries in the state root")
    end)
  end

  it("ends where it started: same supervisor fds, same state root, nothing left", function()
    assert.are.equal(res.run.first.sup_fds, res.pairs.last.sup_fds)
    assert.are.equal(res.run.first.entries, res.pairs.last.entries)
    assert.are.same({}, res.left)
    assert.are.same({}, res.leftovers)
  end)
end)
