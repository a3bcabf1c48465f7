--- bench/soak.lua - the soak loop: many `run --rm`, `exec` and `run -d` /
-- `rm -f` pairs in one state root, sampling what must stay flat:
--   sup_rss  the VmRSS (KiB) of the supervisor of a long-lived container
--            that every exec enters
--   sup_fds  that supervisor's open fds
--   cli_rss  the peak RSS (KiB, GNU time %M) of the sampled CLI command
--   root_kb  the state root's size (du -sk; layers and the image included)
--   entries  files and directories in the state root
-- Usage (as root, from the source tree, in a private network namespace:
-- tools/soak.sh does that): lua5.4 bench/soak.lua RUNS EXECS PAIRS [SAMPLES]
-- Prints one line per sample and a last line "soak-json {...}" with the
-- first and last samples of each phase (spec/soak_spec.lua reads it).
package.path = "spec/?.lua;lua/?.lua;" .. package.path
local U = require "spec_util"
package.cpath = U.srcdir .. "/" .. U.build .. "/?.so;" .. package.cpath
local core = require "ctr.core"
local json = require "ctr.json"

local RUNS, EXECS, PAIRS = tonumber(arg[1]) or 2000, tonumber(arg[2]) or 2000, tonumber(arg[3]) or 500
local SAMPLES = tonumber(arg[4]) or 10
local root = U.tmproot()

local function ctr(args, timed)
  local parts = {}
  for i, a in ipairs(args) do parts[i] = U.q(a) end
  local pre = timed and "/usr/bin/time -f 'soak-rss %M' " or ""
  local out, err, code = U.sh(("LUAC_CTR_ROOT=%s %s%s %s"):format(U.q(root), pre, U.q(U.launcher),
    table.concat(parts, " ")))
  if code ~= 0 then
    U.rm_all(root); U.cleanup(root)
    error(table.concat(args, " ") .. " failed (" .. code .. "): " .. err, 0)
  end
  return out, tonumber(err:match("soak%-rss (%d+)"))
end

local function status_kb(pid, field)
  local s = core.read_file("/proc/" .. pid .. "/status") or ""
  return tonumber(s:match(field .. ":%s*(%d+)"))
end

local function count_lines(cmd)
  local out = U.sh(cmd)
  local n = 0
  for _ in out:gmatch("[^\n]+") do n = n + 1 end
  return n
end

local sup
local function sample(phase, i, cli_rss)
  local s = {
    phase = phase, i = i, cli_rss = cli_rss,
    sup_rss = status_kb(sup, "VmRSS"),
    sup_fds = count_lines("ls /proc/" .. sup .. "/fd"),
    root_kb = tonumber((U.sh("du -sk " .. U.q(root))):match("^(%d+)")),
    entries = count_lines("find " .. U.q(root)),
  }
  print(("%-5s %5d  sup_rss %6d KiB  sup_fds %3d  cli_rss %6d KiB  root %7d KiB  entries %6d"):format(
    phase, i, s.sup_rss or -1, s.sup_fds, s.cli_rss or -1, s.root_kb or -1, s.entries))
  io.stdout:flush()
  return s
end

-- Run body(i) n times, sampling SAMPLES times (the sampled command timed).
local function phase(name, n, body)
  local first, last
  local every = math.max(1, n // SAMPLES)
  for i = 1, n do
    local timed = i == 1 or i % every == 0 or i == n
    local rss = body(i, timed)
    if timed then
      last = sample(name, i, rss)
      first = first or last
    end
  end
  return { first = first, last = last }
end

local t0 = core.clock("monotonic")
local id = (ctr({ "run", "-d", "--name", "soak", "busybox", "sleep", "1000000" })):gsub("%s+$", "")
sup = json.decode(core.read_file(root .. "/containers/" .. id .. "/state.json")).supervisor.pid
local res = { counts = { runs = RUNS, execs = EXECS, pairs = PAIRS } }
res.run = phase("run", RUNS, function(_, timed)
  return select(2, ctr({ "run", "--rm", "--network", "none", "busybox", "true" }, timed))
end)
res.exec = phase("exec", EXECS, function(_, timed)
  return select(2, ctr({ "exec", "soak", "true" }, timed))
end)
res.pairs = phase("pair", PAIRS, function(_, timed)
  local out, rss = ctr({ "run", "-d", "busybox", "sleep", "1000" }, timed)
  ctr({ "rm", "-f", (out:gsub("%s+$", "")) })
  return rss
end)
res.seconds = core.clock("monotonic") - t0
ctr({ "rm", "-f", "soak" })
res.left = U.rm_all(root)
res.leftovers = U.cleanup(root)
print("soak-json " .. json.encode(res))
