--- ctr.logs: reading a container's log (docker's json-file format).
--
-- The supervisor (core/supervise.c) writes one JSON object per line to
-- <dir>/container.log: {"log":"text\n","stream":"stdout"|"stderr",
-- "time":"2026-11-29T05:13:28.776814107Z"}. At the size limit the file is
-- rotated: container.log -> container.log.1 -> .2 ... (the highest number
-- is the oldest). This module reads them all, in order, and follows the
-- current file across rotations.
--
--   local logs = require "ctr.logs"
--   logs.read(c, { tail = 10, since = "10m", follow = true }, function(e)
--     io.write(e.time, " ", e.stream, " ", e.log)
--   end)
local core = require "ctr.core"
local util = require "ctr.util"
local json = require "ctr.json"

local M = {}

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function unescape(s)
  if not s:find("\\", 1, true) then return s end
  return (s:gsub("\\(u(%x%x%x%x))", function(_, hex)
    local n = tonumber(hex, 16)
    return n < 128 and string.char(n) or utf8.char(n)
  end):gsub("\\(.)", escapes))
end

--- Parse one log line into { log =, stream =, time = }, or nil when it is
-- not a log entry.
function M.parse_line(line)
  local text, stream, time = line:match('^{"log":"(.*)","stream":"(%a+)","time":"([^"]+)"}\r?\n?$')
  if text then return { log = unescape(text), stream = stream, time = time } end
  local ok, v = pcall(json.decode, line)
  if not ok then require("ctr.errors").rethrow_interrupt(v) end
  if ok and type(v) == "table" and type(v.log) == "string" then
    return { log = v.log, stream = v.stream or "stdout", time = v.time or "" }
  end
  return nil
end

--- Parse a --since/--until value into an RFC 3339 UTC string comparable
-- with the log's times: an RFC 3339 time ("2026-11-29T05:00:00Z",
-- "...+02:00"), a Unix time ("1700000000.5"), or a duration before now
-- ("10m", "1h30m", "45s", "2h", "100ms"). Returns the string, or nil, err.
function M.parse_time(s)
  if type(s) ~= "string" or s == "" then return nil, "empty time" end
  local t
  if s:match("^%d+%.?%d*$") then
    t = tonumber(s)
  elseif s:match("^%d%d%d%d%-") then
    -- whole seconds and the fraction apart: a double cannot hold both exactly
    local frac = s:match("T%d%d:%d%d:%d%d%.(%d+)") or ""
    local sec, err = util.parse_rfc3339((s:gsub("(T%d%d:%d%d:%d%d)%.%d+", "%1")))
    if not sec then return nil, err end
    return util.rfc3339(math.tointeger(sec) or math.floor(sec), math.tointeger(tonumber((frac .. "000000000"):sub(1, 9))))
  else
    local total, rest = 0, s
    local units = { h = 3600, m = 60, s = 1, ms = 0.001, us = 1e-6, ns = 1e-9 }
    while rest ~= "" do
      local num, unit, tail = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
      if not num or not units[unit] then
        return nil, ("invalid time %q: use RFC 3339, a Unix time or a duration like 10m"):format(s)
      end
      total = total + tonumber(num) * units[unit]
      rest = tail
    end
    local sec, nsec = util.now()
    t = sec + nsec / 1e9 - total
  end
  local sec = math.floor(t)
  return util.rfc3339(sec, math.floor((t - sec) * 1e9 + 0.5) % 1000000000)
end

--- The container's log files, oldest first (rotated ones, then the current).
function M.files(c)
  local path = c.state.log and c.state.log.path or (c.dir .. "/container.log")
  local out = {}
  local n = 1
  while core.exists(path .. "." .. n) do n = n + 1 end
  for i = n - 1, 1, -1 do out[#out + 1] = path .. "." .. i end
  out[#out + 1] = path
  return out, path
end

local function keep(e, o)
  if o.since and e.time < o.since then return false end
  if o["until"] and e.time > o["until"] then return false end
  return true
end

-- A sink that emits at once, or (tail n) keeps the last n entries for flush().
local function collector(o, emit)
  if not o.tail then return emit, function() end end
  local ring, n, tail = {}, 0, o.tail
  local function sink(e)
    n = n + 1
    ring[n] = e
    ring[n - tail] = nil
  end
  local function flush()
    for i = math.max(1, n - tail + 1), n do emit(ring[i]) end
  end
  return sink, flush
end

local function read_file(path, o, sink, skip_ino)
  local st = core.stat(path)
  if not st or st.ino == skip_ino then return end
  local fh = io.open(path, "r")
  if not fh then return end
  for line in fh:lines() do
    local e = M.parse_line(line)
    if e and keep(e, o) then sink(e) end
  end
  fh:close()
end

-- A reader of new lines of the current log file that survives rotation.
local Follower = {}
Follower.__index = Follower

--- Open the current log file (remembering its inode); false when missing.
function Follower:open()
  local st = core.stat(self.path)
  if not st then return false end
  local fd = core.open(self.path, "rdonly,cloexec")
  if not fd then return false end
  self.fd, self.ino, self.buf = fd, st.ino, ""
  return true
end

--- Read what was appended, emitting complete entries that pass o's
-- filters; returns true when something was read.
function Follower:drain(emit, o)
  if not self.fd and not self:open() then return false end
  local got = false
  while true do
    local s = core.read(self.fd, 65536)
    if not s or s == "" then break end
    got = true
    self.buf = self.buf .. s
    for line in self.buf:gmatch("([^\n]*)\n") do
      local e = M.parse_line(line)
      if e and keep(e, o) then emit(e) end
    end
    self.buf = self.buf:match("[^\n]*$")
  end
  return got
end

--- True when the path now names another file (the supervisor rotated it).
function Follower:rotated()
  local st = core.stat(self.path)
  return st ~= nil and st.ino ~= self.ino
end

--- Close the file (idempotent).
function Follower:close()
  if self.fd then self.fd:close() end
  self.fd = nil
end


--- Read the container's log. opts: tail (n: only the last n entries),
-- since / until (see parse_time; entries in [since, until]), follow (keep
-- reading until the container stops, across rotations), deadline (a
-- core.clock("monotonic") time at which a follow ends), on_follow (called
-- once what was there is read, before following: what is written after it
-- is seen, as attach needs). emit(entry) gets
-- {log =, stream =, time =} in order. Raises on a bad since/until.
function M.read(c, opts, emit)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for _, k in ipairs({ "since", "until" }) do
    if o[k] then
      local t, err = M.parse_time(o[k])
      if not t then error(err, 0) end
      o[k] = t
    end
  end
  if o.tail and o.tail < 0 then o.tail = nil end
  local _, path = M.files(c)
  -- the current file is opened first and then read through this fd only:
  -- what is written meanwhile is neither lost nor repeated
  local fw = setmetatable({ path = path }, Follower)
  local ok, err = pcall(function()
    fw:open()
    local sink, flush = collector(o, emit)
    local files = M.files(c)
    for i = 1, #files - 1 do read_file(files[i], o, sink, fw.ino) end
    if fw.fd then fw:drain(sink, o) end
    flush()
    if not o.follow then return end
    if o.on_follow then o.on_follow() end -- what is written from now on is seen
    while true do
      if not fw:drain(emit, o) then
        if fw.fd and fw:rotated() then
          fw:drain(emit, o)
          fw:close()
        else
          c:refresh()
          if c:status() ~= "running" then
            fw:drain(emit, o)
            return
          end
          if o.deadline and core.clock("monotonic") >= o.deadline then return end -- Container:logs{timeout=}
          core.sleep(0.05)
        end
      end
    end
  end)
  fw:close()
  if not ok then error(err, 0) end
end

return M
