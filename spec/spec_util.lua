--- spec_util: shared helpers for the specs.
--
-- Every spec that makes containers takes its own state root from tmproot()
-- and removes it with cleanup(root): specs never touch each other's or a
-- user's containers.
local U = {}

U.build = os.getenv("LUAC_CTR_BUILD") or "build"
U.srcdir = (function()
  local p = io.popen("pwd"); local d = p:read("l"); p:close(); return d
end)()
U.launcher = U.srcdir .. "/" .. U.build .. "/luac-ctr"

--- Quote a string for /bin/sh.
function U.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Run a shell command; returns stdout, stderr, exit code.
function U.sh(cmd, opts)
  opts = opts or {}
  local errf = os.tmpname()
  local full = cmd .. " 2>" .. U.q(errf)
  if opts.stdin then
    local inf = os.tmpname()
    local f = assert(io.open(inf, "w")); f:write(opts.stdin); f:close()
    full = full .. " <" .. U.q(inf)
    opts._inf = inf
  elseif not opts.keep_stdin then
    full = full .. " </dev/null"
  end
  local p = assert(io.popen(full, "r"))
  local out = p:read("a")
  local _, how, code = p:close()
  local f = io.open(errf); local err = f and f:read("a") or ""; if f then f:close() end
  os.remove(errf)
  if opts._inf then os.remove(opts._inf) end
  if how == "signal" then code = 128 + code end
  return out, err, code
end

--- Run the launcher with a list of arguments (each quoted), with the state root set.
function U.ctr(root, args, opts)
  local parts = { U.q(U.launcher) }
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  local env = root and ("LUAC_CTR_ROOT=" .. U.q(root) .. " ") or ""
  return U.sh(env .. table.concat(parts, " "), opts)
end

--- A fresh temporary directory (a state root for one spec).
function U.tmproot()
  local p = io.popen("mktemp -d /tmp/luac-ctr-spec.XXXXXX")
  local d = p:read("l"); p:close()
  return d
end

--- Mount points below a directory (from /proc/self/mountinfo).
function U.mounts_under(dir)
  local t = {}
  for line in io.lines("/proc/self/mountinfo") do
    local mp = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and (mp == dir or mp:sub(1, #dir + 1) == dir .. "/") then t[#t + 1] = mp end
  end
  return t
end

--- Remove a state root: kill what is left, unmount, remove cgroups and files.
-- Returns a list of what had to be cleaned (specs assert it is empty when
-- the code under test should have cleaned up itself).
function U.cleanup(root)
  if not root or not root:match("^/tmp/luac%-ctr%-spec%.") then return {} end
  local leftovers = {}
  local ms = U.mounts_under(root)
  table.sort(ms, function(a, b) return #a > #b end)
  for _, m in ipairs(ms) do
    leftovers[#leftovers + 1] = "mount " .. m
    os.execute("umount -l " .. U.q(m) .. " 2>/dev/null")
  end
  os.execute("rm -rf " .. U.q(root))
  return leftovers
end

return U
