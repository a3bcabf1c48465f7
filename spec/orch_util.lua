--- orch_util: run a process in the background with its output on a pipe,
-- wait for a line of it, signal it, collect its end (for the orch_* specs).
local U = require "spec_util"
local core = require "ctr.core"

local O = {}

local function environ(env)
  local t = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LUA_PATH=" .. U.srcdir .. "/lua/?.lua;" .. U.srcdir .. "/lua/?/init.lua;;",
    "LUA_CPATH=" .. U.srcdir .. "/" .. U.build .. "/?.so;;",
  }
  -- the sanitizer run (tools/test.sh) preloads libasan into every process
  for _, k in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LUAC_CTR_DEBUG" } do
    if os.getenv(k) then t[#t + 1] = k .. "=" .. os.getenv(k) end
  end
  for k, v in pairs(env or {}) do t[#t + 1] = k .. "=" .. v end
  return t
end

--- Start argv (argv[1] a path) with env {K = V} added; stdout and stderr go
-- to one pipe. Returns a handle {pid, fd, out}.
function O.spawn(argv, env)
  local r, w = assert(core.pipe())
  local pid = assert(core.fork())
  if pid == 0 then
    core.dup2(w, 1)
    core.dup2(w, 2)
    core.execve(argv[1], argv, environ(env))
    core._exit(127)
  end
  w:close()
  return { pid = pid, fd = r, out = "" }
end

--- The launcher running script (a file) with args, in state root root.
function O.launch(root, script, args)
  local argv = { U.launcher, script }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  return O.spawn(argv, { LUAC_CTR_ROOT = root })
end

-- read what is there within ms; false at end of output
local function read_some(p, ms)
  local ready = core.poll({ { p.fd, "in" } }, ms)
  if not ready or #ready == 0 then return true end
  local s = core.read(p.fd, 65536)
  if not s or s == "" then return false end
  p.out = p.out .. s
  return true
end

--- Read output until it matches pat (true) or timeout seconds pass (false).
function O.expect(p, pat, timeout)
  local deadline = core.clock("monotonic") + (timeout or 30)
  while not p.out:find(pat) do
    local left = deadline - core.clock("monotonic")
    if left <= 0 or not read_some(p, math.floor(left * 1000) + 1) then break end
  end
  return p.out:find(pat) ~= nil
end

--- Read to the end (SIGKILL after timeout seconds) and reap; returns the
-- output, the exit code (128+n when killed by signal n) and the seconds it
-- took from this call.
function O.finish(p, timeout)
  local t0 = core.clock("monotonic")
  local deadline = t0 + (timeout or 30)
  while true do
    local left = deadline - core.clock("monotonic")
    if left <= 0 then core.kill(p.pid, "KILL"); break end
    if not read_some(p, math.floor(left * 1000) + 1) then break end
  end
  p.fd:close()
  local _, how, code = core.waitpid(p.pid)
  return p.out, how == "exited" and code or 128 + code, core.clock("monotonic") - t0
end

--- Write a script to a temporary file; returns its path.
function O.script(text)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

--- The Sig* masks of /proc/<pid>/status as a table {SigBlk = "0000...", ...}.
function O.sigmasks(pid)
  local t = {}
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return t end
  for line in f:lines() do
    local k, v = line:match("^(Sig%a+):%s*(%x+)")
    if k then t[k] = v end
  end
  f:close()
  return t
end

return O
