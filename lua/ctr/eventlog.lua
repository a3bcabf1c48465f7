--- ctr.eventlog: the state root's log of events, as docker's daemon keeps
-- them: every workflow that changes something appends one event, and
-- `events` (and ctr.container.events) read the log, so nothing that
-- happened between two looks is lost (a container that is created, started,
-- killed and removed in 50 ms gives its four events).
--
-- <root>/events.log holds one JSON object a line, docker's event message:
-- {Type =, Action =, Actor = {ID =, Attributes = {k = "v"}}, scope =
-- "local", time = (Unix seconds), timeNano =}, plus status, id and from
-- for container and image events. Each event is one write with O_APPEND
-- (the kernel never interleaves two such writes to a local file), taking
-- no lock; once the log would pass MAX bytes, the append goes under the lock
-- <root>/locks/events.lock and the log becomes events.log.1 (the previous
-- one is dropped) and a new one is begun. An append racing a rotation may
-- land at the end of events.log.1, where `events --since` still finds it
-- (a follower that has already moved on to the new log misses it).
-- Recording never fails the operation it reports: an event that cannot be
-- written is lost (record returns nil, err).
local core = require "ctr.core"
local json = require "ctr.json"
local state = require "ctr.state"
local errors = require "ctr.errors"

local M = {}

M.MAX = 1024 * 1024 -- bytes in events.log before it is rotated

local function log_path() return state.dir("events.log") end

-- the event message of an event (see the module's doc)
local function message(typ, action, id, attrs, t_ns, from, result)
  local a = {}
  for k, v in pairs(attrs or {}) do
    if type(k) == "string" and v ~= nil then a[k] = tostring(v) end
  end
  local m = {
    Type = typ, Action = action, Actor = { ID = id or "", Attributes = a }, scope = "local",
    time = t_ns // 1000000000, timeNano = t_ns,
  }
  if typ == "container" or typ == "image" then
    m.status, m.id, m.from = action, id, from
  end
  m.result = result -- ours (a die's exit, for ctr.container.events), not docker's
  return m
end

local function open_log(path)
  return core.open(path, "wronly,creat,append,cloexec,nofollow", 384)
end

local function write_line(fd, line)
  local n, werr = core.write(fd, line)
  fd:close()
  if n ~= #line then return nil, werr or "short write" end
  return true
end

local function append_locked(line)
  local path = log_path()
  local st = core.stat(path)
  if st and st.size + #line > M.MAX then
    local ok, err = core.rename(path, path .. ".1")
    if not ok then return nil, err end
  end
  local fd, err = open_log(path)
  if not fd then return nil, err end
  return write_line(fd, line)
end

local function append(line)
  local path = log_path()
  local st = core.stat(path)
  local fd = st and st.size + #line <= M.MAX and open_log(path)
  if fd then return write_line(fd, line) end
  local l, err = state.lock("events") -- a rotation (or a first event: the lock makes the root)
  if not l then return nil, err end
  local ok, res, aerr = pcall(append_locked, line)
  l:unlock()
  if not ok then error(res, 0) end
  return res, aerr
end

--- Append an event: typ ("container", "image", "network", "volume"),
-- action ("create", "start", "die", "kill", ...), id (the object's id or
-- name), attrs (a table of strings: name, image, exitCode, signal, ...),
-- opts.time_ns (default now), opts.from (a container's image), opts.result
-- (a table kept with the event: a die's exit, see Container:result). Returns
-- true, or nil, err when it could not be written (never raises, but for
-- an interrupt).
function M.record(typ, action, id, attrs, opts)
  opts = opts or {}
  local t_ns = opts.time_ns or core.time_ns("realtime")
  local ok, res, err = pcall(function()
    return append(json.encode(message(typ, action, id, attrs, t_ns, opts.from, opts.result)) .. "\n")
  end)
  if not ok then
    errors.rethrow_interrupt(res)
    return nil, errors.message(res)
  end
  return res, err
end

--- Append a container's event: c a Container (its name, image and labels
-- become attributes), extra attributes in attrs.
function M.container(c, action, attrs, opts)
  local st = c.state or {}
  local a = {}
  for k, v in pairs(st.labels or {}) do a[k] = v end
  a.name, a.image = st.name, st.image
  for k, v in pairs(attrs or {}) do a[k] = v end
  opts = opts or {}
  opts.from = st.image
  return M.record("container", action, c.id, a, opts)
end

--- The last event of the log (the rotated one too) of type typ and action
-- for the object id for which match(m) (optional) is true, or nil: for the
-- exit of a container removed before its state could be read (a --rm
-- one's, recorded only as its die event).
function M.last(typ, action, id, match)
  for _, path in ipairs({ log_path(), log_path() .. ".1" }) do
    local text = core.read_file(path) or ""
    local found
    for line in text:gmatch("[^\n]+") do
      if line:find(id, 1, true) then
        local ok, m = pcall(json.decode, line)
        if ok and type(m) == "table" and m.Type == typ and m.Action == action and type(m.Actor) == "table"
          and m.Actor.ID == id and (not match or match(m)) then found = m end
      end
    end
    if found then return found end
  end
end

-- decode the complete lines of buf; returns the events and what is left
local function parse(buf, out)
  local pos = 1
  while true do
    local nl = buf:find("\n", pos, true)
    if not nl then break end
    local ok, m = pcall(json.decode, buf:sub(pos, nl - 1))
    if ok and type(m) == "table" and type(m.Actor) == "table" and type(m.timeNano) == "number" then
      out[#out + 1] = m
    end
    pos = nl + 1
  end
  return buf:sub(pos)
end

local read_all = require("ctr.util").read_all

local Reader = {}
Reader.__index = Reader

-- open the current log (creating it), under the lock: no rotation between
-- the open and the stat
local function open_current(self)
  local l, lerr = state.lock("events")
  if not l then errors.throw("system", "cannot lock the event log: %s", lerr) end
  local path = log_path()
  local fd, err = core.open(path, "rdonly,creat,cloexec,nofollow", 384)
  local st = fd and core.stat(path)
  l:unlock()
  if not fd then errors.throw("system", "cannot open %s: %s", path, err) end
  self.fd, self.ino, self.buf = fd, st and st.ino, ""
end

--- A reader of the log: reader:poll() returns the events appended since
-- the last poll (a list, oldest first). since (Unix seconds, may have a
-- fraction): the first poll returns the events recorded since then, the
-- rotated log's included; without it only what is recorded from now on.
function M.reader(since)
  local self = setmetatable({ pending = {} }, Reader)
  state.ensure()
  if since then
    local old = core.read_file(log_path() .. ".1")
    if old then parse(old, self.pending) end
  end
  open_current(self)
  local first = {}
  self.buf = parse(read_all(self.fd), first)
  if since then
    for _, m in ipairs(first) do self.pending[#self.pending + 1] = m end
    local keep, from = {}, since * 1e9
    for _, m in ipairs(self.pending) do
      if m.timeNano >= from then keep[#keep + 1] = m end
    end
    self.pending = keep
  else
    self.pending = {}
  end
  return self
end

--- The events appended since the last poll (a list, maybe empty).
function Reader:poll()
  local out = self.pending
  self.pending = {}
  self.buf = parse(self.buf .. read_all(self.fd), out)
  local st = core.stat(log_path())
  if not st or st.ino ~= self.ino then -- rotated: the old one is complete, the rest is in the new one
    self.buf = parse(self.buf .. read_all(self.fd), out)
    self.fd:close()
    open_current(self)
    self.buf = parse(read_all(self.fd), out)
  end
  return out
end

--- Close the reader (also done when it is collected).
function Reader:close()
  if self.fd then self.fd:close(); self.fd = nil end
end

return M
