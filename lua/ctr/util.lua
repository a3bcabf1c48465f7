--- ctr.util: small shared helpers: paths, human-readable sizes and
-- durations, RFC 3339 times, directory creation and docker-style exits.
local M = {}

local core_ok, core = pcall(require, "ctr.core")
if not core_ok then core = nil end

--- Join path components with "/", collapsing duplicate slashes.
-- `util.join("/a/", "b", "c")` -> "/a/b/c"
function M.join(...)
  local parts = {}
  for i = 1, select("#", ...) do
    local p = select(i, ...)
    if type(p) ~= "string" and type(p) ~= "number" then
      require("ctr.errors").throw("invalid", "util.join: argument %d is a %s, expected string", i, type(p))
    end
    p = tostring(p)
    if p ~= "" then parts[#parts + 1] = p end
  end
  local s = table.concat(parts, "/"):gsub("//+", "/")
  if #s > 1 then s = s:gsub("/$", "") end
  return s
end

--- The directory part of a path ("/a/b" -> "/a", "b" -> ".").
function M.dirname(path)
  local d = path:gsub("/+$", ""):match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

--- The last component of a path ("/a/b/" -> "b").
function M.basename(path)
  local p = path:gsub("/+$", "")
  if p == "" then return "/" end
  return p:match("([^/]*)$")
end

--- Create a directory and its missing parents (like mkdir -p).
-- mode applies to the directories created (the umask applies too).
-- @return true | nil, err, errno
function M.mkdir_p(path, mode)
  mode = mode or 493 -- 0755
  if core.exists(path) then
    local st, err, e = core.stat(path)
    if not st then return nil, err, e end
    if st.type ~= "dir" then
      return nil, "mkdir " .. path .. ": Not a directory", core.errno.ENOTDIR
    end
    return true
  end
  local parent = M.dirname(path)
  if parent ~= path and parent ~= "." and parent ~= "/" then
    local ok, err, e = M.mkdir_p(parent, mode)
    if not ok then return nil, err, e end
  end
  local ok, err, e = core.mkdir(path, mode)
  if not ok and e ~= core.errno.EEXIST then return nil, err, e end
  return true
end

--- Size in bytes as docker prints it: decimal units, 3 significant digits
-- ("12B", "867kB", "4.19MB", "1.2GB"); digits = 4 for docker's
-- units.HumanSize (prune's "Total reclaimed space", system df).
function M.human_size(n, digits)
  n = tonumber(n) or 0
  local units = { "B", "kB", "MB", "GB", "TB", "PB", "EB" }
  local i = 1
  while n >= 1000 and i < #units do
    n = n / 1000
    i = i + 1
  end
  local s = ("%." .. (digits or 3) .. "g"):format(n)
  if s:find("e") then s = ("%d"):format(math.floor(n + 0.5)) end
  return s .. units[i]
end

--- Parse a human size ("512", "10k", "1.5MB", "2g", "100MiB") into bytes:
-- ctr.cgroup.parse_memory (binary units as docker's --memory), returning
-- nil, err on bad input instead of raising.
function M.parse_size(s)
  local ok, r = pcall(require("ctr.cgroup").parse_memory, s)
  if ok then return r end
  require("ctr.errors").rethrow_interrupt(r)
  return nil, require("ctr.errors").message(r)
end

--- A duration in seconds as docker words it ("Less than a second",
-- "1 second", "45 seconds", "About a minute", "3 minutes", "About an hour",
-- "5 hours", "3 days", "2 weeks", "4 months", "2 years").
function M.human_duration(seconds)
  local s = math.floor(tonumber(seconds) or 0)
  if s < 1 then return "Less than a second" end
  if s == 1 then return "1 second" end
  if s < 60 then return ("%d seconds"):format(s) end
  local m = s // 60
  if m == 1 then return "About a minute" end
  if m < 60 then return ("%d minutes"):format(m) end
  local h = math.floor(s / 3600 + 0.5)
  if h == 1 then return "About an hour" end
  if h < 48 then return ("%d hours"):format(h) end
  if h < 24 * 7 * 2 then return ("%d days"):format(h // 24) end
  if h < 24 * 30 * 2 then return ("%d weeks"):format(h // (24 * 7)) end
  if h < 24 * 365 * 2 then return ("%d months"):format(h // (24 * 30)) end
  return ("%d years"):format(h // (24 * 365))
end

--- Current time: seconds (integer) and nanoseconds (integer).
function M.now()
  if core and core.time_ns then
    local ns = core.time_ns("realtime")
    if ns then return ns // 1000000000, ns % 1000000000 end
  end
  return os.time(), 0
end

--- Format a time as RFC 3339 in UTC with nanoseconds:
-- "2026-11-29T05:01:02.123456789Z". Without arguments: now.
function M.rfc3339(sec, nsec)
  if sec == nil then sec, nsec = M.now() end
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(sec)) .. (".%09dZ"):format(nsec or 0)
end

-- days since 1970-01-01 of a civil date (Howard Hinnant's algorithm)
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Parse an RFC 3339 time ("2026-11-29T05:01:02.5Z", "...+02:00") into
-- seconds since the epoch (float) or nil, err.
function M.parse_rfc3339(s)
  if type(s) ~= "string" then return nil, "not a time string" end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil, ("invalid time: %q"):format(s) end
  local frac, tz = rest:match("^(%.?%d*)(.*)$")
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
      + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac) end
  if tz == "Z" or tz == "z" or tz == "" then return t end
  local sign, th, tm = tz:match("^([+-])(%d%d):?(%d%d)$")
  if not sign then return nil, ("invalid time zone in %q"):format(s) end
  local off = tonumber(th) * 3600 + tonumber(tm) * 60
  return sign == "+" and t - off or t + off
end

--- "3 minutes ago" for an RFC 3339 time string (or epoch seconds).
function M.time_ago(t)
  if type(t) == "string" then
    t = M.parse_rfc3339(t)
    if not t then return "N/A" end
  end
  local s, ns = M.now()
  return M.human_duration(s + ns / 1e9 - t) .. " ago"
end

--- Print "luac-ctr: msg" on stderr and exit with code (default 125, as
-- docker does for bad input).
function M.die(msg, code)
  io.stderr:write("luac-ctr: ", require("ctr.errors").oneline(msg), "\n")
  io.stderr:flush()
  io.stdout:flush()
  os.exit(code or 125)
end

--- Shorten an id to 12 characters (docker's short ids).
function M.short_id(id)
  return (tostring(id or ""):sub(1, 12))
end

--- Left-aligned columns separated by three spaces (docker's tabwriter look).
-- rows: list of lists of strings (the first is the header).
function M.columns(rows)
  if core and core.columns then return core.columns(rows) end -- the same, in C
  return M._columns(rows)
end

-- util.columns in Lua (core.columns does the same; spec/util_columns_spec.lua
-- compares them). A cell's width is its UTF-8 characters (bytes when it is
-- not UTF-8).
function M._columns(rows)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do
      local n = utf8.len(tostring(c)) or #tostring(c)
      if not w[i] or n > w[i] then w[i] = n end
    end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local line = {}
    for i, c in ipairs(r) do
      c = tostring(c)
      if i < #r then
        line[#line + 1] = c .. (" "):rep(w[i] - (utf8.len(c) or #c) + 3)
      else
        line[#line + 1] = c
      end
    end
    out[#out + 1] = table.concat(line)
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

--- Script arguments: the varargs given to a chunk, or the global `arg`.
function M.script_args(...)
  local n = select("#", ...)
  if n > 0 then return { ... } end
  local t = {}
  if type(arg) == "table" then
    for i = 1, #arg do t[i] = arg[i] end
  end
  return t
end

--- Everything read from fd (a ctr.core fd) up to its end, as one string.
function M.read_all(fd)
  local chunks = {}
  while true do
    local s = core.read(fd, 65536)
    if not s or s == "" then break end
    chunks[#chunks + 1] = s
  end
  return table.concat(chunks)
end

--- A facade whose values live in parts loaded on first use: returns
-- lazy(mod, name, part), which names a value of mod that is part's value of
-- that name (tools/gendoc.lua reads the lazy(...) lines as re-exports), and
-- load_all(), which loads every named part now (as the REPL does before it
-- lists or completes a module). mod gets the metatable that loads them.
function M.lazy_parts(mod)
  local part_of = {}
  setmetatable(mod, {
    __index = function(t, k)
      local part = part_of[k]
      if not part then return nil end
      local x = require(part)[k]
      rawset(t, k, x)
      return x
    end,
  })
  return function(_, name, part) part_of[name] = part end,
    function() for k in pairs(part_of) do local _ = mod[k] end end
end

return M
