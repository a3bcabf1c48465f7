--- ctr.container.events: what happens to containers, as a stream of events.
--
--   local ev = ctr.events { containers = { a, b } }
--   for e in ev do print(e.type, e.container:name(), e.result and e.result.exit_code) end
--
-- Each event is {type =, container =, time =, result =}: type "start" (time
-- = started_at), "exit" (time = finished_at, result = the container's
-- result, see Container:result) or "oom" (right after the "exit" of a run the
-- kernel's OOM killer ended) or "health" (status = the new health status,
-- "healthy" or "unhealthy", when a health check's status changed: see
-- ctr.container.health). Exits are heard at once (the pidfds of the
-- running containers are polled); starts and health changes are noticed
-- within 0.1 s. With o.all the stream follows every container, those made
-- later too, and adds "create" (time = created) and "destroy" (the
-- container was removed; time = when that was noticed) events; a container
-- removed running (rm -f) before its exit was heard gets an "exit" without
-- a result first.
local core = require "ctr.core"
local errors = require "ctr.errors"
local store = require "ctr.container.store"

local M = {}
local Events = {}
Events.__index = Events

local function resolve(list)
  if list == nil then return store.list() end
  if type(list) ~= "table" then errors.throw("invalid", "events: containers must be a list") end
  local out = {}
  for i, c in ipairs(list) do
    if type(c) == "string" then
      local found, err = store.get(c)
      if not found then errors.throw("not_found", "%s", err) end
      c = found
    end
    out[i] = c
  end
  return out
end

local function push(self, kind, c, time, result)
  local q = self.queue
  q[#q + 1] = { type = kind, container = c, time = time, result = result, seq = #q }
end

--- An event stream (see the module's doc). o.containers: a list of
-- containers or names (default: every container there is now); o.all:
-- every container, now and later (with create and destroy events); o.since
-- (seconds since the epoch): the events recorded since then come first, in
-- time order; without it only what happens from now on is heard.
function M.events(o)
  o = require("ctr.check").api("container.events", o)
  if o.all and o.containers then errors.throw("invalid", "events: all and containers exclude each other") end
  local self = setmetatable({ queue = {}, seen = {}, list = resolve(o.containers), all = o.all, ids = {} }, Events)
  for _, c in ipairs(self.list) do
    self.seen[c] = { runs = -1, exits = -1, health = -1 }
    self.ids[c.id] = true
    if o.all and (c.state.created or 0) >= (o.since or math.huge) then push(self, "create", c, c.state.created) end
  end
  -- what is recorded: queued when since says so, else only remembered
  self:_scan(o.since or math.huge)
  table.sort(self.queue, function(a, b)
    if a.time ~= b.time then return (a.time or 0) < (b.time or 0) end
    return a.seq < b.seq
  end)
  return self
end

-- one container: the start and exit that are new since we last looked (a
-- start is a new state.runs, an exit a new state.exits: the times are in
-- whole seconds)
local function scan_one(self, c, since)
  local seen, st = self.seen[c], c:refresh().state
  local runs = st.runs or (st.started_at and 1) or 0
  if runs ~= seen.runs and st.started_at and st.started_at >= since then
    push(self, "start", c, st.started_at)
  end
  seen.runs = runs
  local h = st.health
  local changes = type(h) == "table" and h.changes or 0
  if changes ~= seen.health and h and h.changed_at and h.changed_at >= since then
    push(self, "health", c, h.changed_at)
    self.queue[#self.queue].status = h.status
  end
  seen.health = changes
  if c:status() == "exited" and st.status == "running" then c:_await_record(2) end
  st = c.state
  local exits = st.status == "exited" and (st.exits or runs) or seen.exits
  if exits ~= seen.exits and st.finished_at and st.finished_at >= since then
    local res = c:result()
    push(self, "exit", c, st.finished_at, res)
    if res and res.oom_killed then push(self, "oom", c, st.finished_at, res) end
  end
  seen.exits = exits
end

-- with o.all: the containers made (a create event) and removed (destroy)
-- since we last looked
local function follow(self)
  local now, keep = {}, {}
  for _, c in ipairs(store.list()) do
    now[c.id] = true
    if not self.ids[c.id] then
      self.ids[c.id] = true
      self.seen[c] = { runs = -1, exits = -1, health = -1 }
      self.list[#self.list + 1] = c
      push(self, "create", c, c.state.created)
    end
  end
  for _, c in ipairs(self.list) do
    if now[c.id] then keep[#keep + 1] = c else
      local seen = self.seen[c]
      local t = require("ctr.util").now()
      -- removed (rm -f) before its exit was seen: the exit, its code unknown
      if seen.runs > 0 and seen.exits ~= seen.runs then push(self, "exit", c, t, nil) end
      self.ids[c.id], self.seen[c] = nil, nil
      push(self, "destroy", c, t)
    end
  end
  self.list = keep
end

function Events:_scan(since)
  if self.all and since == nil then follow(self) end
  for _, c in ipairs(self.list) do scan_one(self, c, since or -math.huge) end
end

--- The pidfds of the running containers, as core.poll entries {fd, "in"}
-- (one becomes readable when its container exits; close them, or let them
-- be collected). Poll them with your own fds, then call ev:next(0).
function Events:fds()
  local out = {}
  for _, c in ipairs(self.list) do
    local fd = c:_pidfd()
    if fd then out[#out + 1] = { fd, "in" } end
  end
  return out
end

--- The next event, waiting up to timeout seconds (nil: for ever); nil,
-- "timeout" when none came. A SIGINT/SIGTERM of the script interrupts it.
function Events:next(timeout)
  local deadline = timeout and core.clock("monotonic") + timeout
  while #self.queue == 0 do
    self:_scan()
    if #self.queue > 0 then break end
    local left = deadline and deadline - core.clock("monotonic") or 0.1
    if left <= 0 then return nil, "timeout" end
    local fds = self:fds()
    core.poll(fds, math.floor(math.min(left, 0.1) * 1000))
    for _, f in ipairs(fds) do f[1]:close() end
  end
  return table.remove(self.queue, 1)
end

-- `for e in ev do ... end`: each call waits for the next event
Events.__call = function(self) return self:next() end

return M
