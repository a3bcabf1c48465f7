--- ctr.container.events: what happens to containers, as a stream of events.
--
--   local ev = ctr.events { containers = { a, b } }
--   for e in ev do print(e.type, e.container:name(), e.result and e.result.exit_code) end
--
-- Each event is {type =, container =, time =, result =}: type "start",
-- "exit" (result = the run's result, see Container:result) or "oom" (right
-- after the "exit" of a run the kernel's OOM killer ended) or "health"
-- (status = the new health status, "healthy" or "unhealthy", when a health
-- check's status changed: see ctr.container.health). time: when it
-- happened (Unix seconds, with a fraction). With o.all the stream follows
-- every container, those made later too, and adds "create" and "destroy"
-- (the container was removed) events. The events are read from the state
-- root's event log (ctr.eventlog), where every start, exit and removal is
-- recorded as it happens: none is missed however quickly they follow each
-- other (a container restarted by its policy gives an exit and a start
-- for each restart). Exits are heard at once (the pidfds of the running
-- containers are polled: one whose supervisor died is recorded by us);
-- the rest within 0.1 s.
local core = require "ctr.core"
local errors = require "ctr.errors"
local eventlog = require "ctr.eventlog"
local object = require "ctr.container.object"
local store = require "ctr.container.store"

local M = {}
local Events = {}
Events.__index = Events

local function resolve(list)
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

--- An event stream (see the module's doc). o.containers: a list of
-- containers or names (default: every container there is now); o.all:
-- every container, now and later (with create and destroy events); o.since
-- (seconds since the epoch): the events recorded since then come first, in
-- time order; without it only what happens from now on is heard.
function M.events(o)
  o = require("ctr.check").api("container.events", o)
  if o.all and o.containers then errors.throw("invalid", "events: all and containers exclude each other") end
  local list = o.containers and resolve(o.containers) or store.list()
  local self = setmetatable({ queue = {}, all = o.all, ids = {}, objs = {}, list = list }, Events)
  for _, c in ipairs(list) do self.ids[c.id], self.objs[c.id] = true, c end
  self.reader = eventlog.reader(o.since)
  return self
end

local KINDS = { start = "start", die = "exit", oom = "oom", create = "create", destroy = "destroy" }

-- the Container of an event: the one we know, else loaded, else (removed
-- already) one made of what the event says
local function object_of(self, m)
  local id = m.Actor.ID
  local c = self.objs[id] or store.load(id)
  if not c then
    local a = m.Actor.Attributes or {}
    local labels = {}
    for k, v in pairs(a) do if k ~= "name" and k ~= "image" and k ~= "exitCode" then labels[k] = v end end
    c = object.new(id, { id = id, name = a.name, image = a.image, labels = labels, status = "exited" })
  end
  self.objs[id] = c
  return c
end

local function result_of(m)
  local r = m.result
  if type(r) ~= "table" then return nil end
  return {
    exit_code = r.exit_code, signal = r.signal, signaled = r.signal ~= nil, oom_killed = r.oom_killed or false,
    timed_out = r.timed_out or false, started_at = r.started_at, finished_at = r.finished_at,
  }
end

-- queue the container events of the log that are ours
function Events:_pull()
  for _, m in ipairs(self.reader:poll()) do
    local id = m.Actor.ID
    if m.Type == "container" and (self.all or self.ids[id]) then
      local kind, status = KINDS[m.Action], nil
      if not kind and type(m.Action) == "string" then
        status = m.Action:match("^health_status: (.+)$")
        kind = status and "health"
      end
      if (kind == "create" or kind == "destroy") and not self.all then kind = nil end
      if kind then
        local e = { type = kind, container = object_of(self, m), time = m.timeNano / 1e9, status = status }
        if kind == "exit" or kind == "oom" then e.result = result_of(m) end
        if kind == "destroy" then self.objs[id] = nil end
        self.queue[#self.queue + 1] = e
      end
    end
  end
end

-- the containers followed now (refreshed)
function Events:_watched()
  if self.all then self.list = store.list() end
  local keep = {}
  for _, c in ipairs(self.list) do
    if core.exists(c.dir .. "/state.json") then
      c:refresh()
      keep[#keep + 1] = c
    end
  end
  self.list = keep
  return keep
end

-- a container whose process is gone but whose exit is not recorded yet:
-- its supervisor records it in a moment (or we do, for a dead one)
local function await_exits(list)
  for _, c in ipairs(list) do
    if not c.dead and c.state.status == "running" and c:status() == "exited" then
      pcall(c._await_record, c, 2)
    end
  end
end

-- core.poll entries of the pidfds of the running containers of list
local function pidfds(list)
  local out = {}
  for _, c in ipairs(list) do
    local fd = not c.dead and c:_pidfd()
    if fd then out[#out + 1] = { fd, "in" } end
  end
  return out
end

--- The pidfds of the running containers, as core.poll entries {fd, "in"}
-- (one becomes readable when its container exits; close them, or let them
-- be collected). Poll them with your own fds, then call ev:next(0).
function Events:fds()
  return pidfds(self:_watched())
end

--- The next event, waiting up to timeout seconds (nil: for ever); nil,
-- "timeout" when none came. A SIGINT/SIGTERM of the script interrupts it.
function Events:next(timeout)
  local deadline = timeout and core.clock("monotonic") + timeout
  while #self.queue == 0 do
    self:_pull()
    if #self.queue > 0 then break end
    local list = self:_watched()
    await_exits(list)
    self:_pull()
    if #self.queue > 0 then break end
    local left = deadline and deadline - core.clock("monotonic") or 0.1
    if left <= 0 then return nil, "timeout" end
    local fds = pidfds(list)
    core.poll(fds, math.floor(math.min(left, 0.1) * 1000))
    for _, f in ipairs(fds) do f[1]:close() end
  end
  return table.remove(self.queue, 1)
end

--- Stop reading (the log's fd is closed; also done when ev is collected).
function Events:close() self.reader:close() end

-- `for e in ev do ... end`: each call waits for the next event
Events.__call = function(self) return self:next() end

return M
