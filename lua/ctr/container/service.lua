--- ctr.container.service: managing a service at run time: its labels
-- (container.list{label=}), ports published and withdrawn while it runs
-- (Container:publish, Container:unpublish) and its log (Container:logs).
local core = require "ctr.core"
local errors = require "ctr.errors"
local check = require "ctr.check"
local labels = require "ctr.labels"
local object = require "ctr.container.object"
local store = require "ctr.container.store"

local M = {}
local Container = object.Container

-- ---------------------------------------------------------------------------
-- listing by label, in creation order

-- The creation time of c in nanoseconds: state.created (seconds) and, for
-- containers of the same second, when its config.json was written.
local function created_ns(c, cache)
  if not cache[c] then
    local st = core.stat(c.dir .. "/config.json")
    cache[c] = (c.state.created or 0) * 1000000000 + (st and st.mtime_ns or 0) % 1000000000
  end
  return cache[c]
end

--- Every container, oldest first (by creation time, then id); opts.label
-- ("k=v", "k", or a list of them: all must match) keeps only the
-- containers with those labels. Dead containers (unreadable state) are
-- listed only when no label is asked for.
function M.list(opts)
  local o = check.api("container.list", opts)
  local out, cache = {}, {}
  for _, c in ipairs(store.list()) do
    if o.label == nil or (not c.dead and labels.matches(c.state.labels, o.label)) then out[#out + 1] = c end
  end
  table.sort(out, function(a, b)
    local na, nb = created_ns(a, cache), created_ns(b, cache)
    if na ~= nb then return na < nb end
    return a.id < b.id
  end)
  return out
end

--- The container's labels (a table of strings; empty when it has none).
function Container:labels()
  check.self(self, Container, "labels")
  local t = {}
  for k, v in pairs(self.state.labels or {}) do t[k] = v end
  return t
end

-- ---------------------------------------------------------------------------
-- publishing at run time

-- The one port spec ("8080:80", "127.0.0.1:8080:80/udp" or a table) as
-- ctr.network reads it; raises invalid.
local function parse_port(network, spec)
  if type(spec) == "table" then
    local p = { host_ip = spec.host_ip or "0.0.0.0", host_port = math.tointeger(spec.host_port),
      container_port = math.tointeger(spec.container_port), proto = spec.proto or "tcp" }
    if p.host_port and p.container_port and (p.proto == "tcp" or p.proto == "udp") then return p end
    errors.throw("invalid", "bad port: want \"[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]\" or {host_port=, container_port=, proto=}")
  end
  local ok, p = pcall(network.parse_publish, spec)
  if not ok then
    if errors.is(p, "interrupted") then error(p, 0) end
    errors.throw("invalid", "%s", errors.message(p))
  end
  return p
end

local function bridge_of(self, verb)
  if self:status() ~= "running" then
    errors.throw("not_running", "container %s is not running: cannot %s ports", self.state.name, verb)
  end
  local mode = self.state.network and self.state.network.mode or "none"
  if mode == "none" or mode == "host" then
    errors.throw("invalid", "cannot %s ports of container %s: its network is %s", verb, self.state.name, mode)
  end
end

local function same_port(a, b)
  return a.host_port == b.host_port and (a.proto or "tcp") == (b.proto or "tcp")
    and (a.host_ip or "0.0.0.0") == b.host_ip
end

--- Publish a port of the running container (on a bridge network) while it
-- runs: spec as run's -p ("8080:80", "127.0.0.1:8080:80/udp") or a table
-- {host_ip=, host_port=, container_port=, proto=}. Shown by ps (PORTS) and
-- inspect (NetworkSettings.Ports); withdrawn when the container stops or is
-- removed (a restart does not publish it again). The host port is checked
-- to be free (a host program holding it is a conflict) but, unlike the
-- ports given to run, not held for the container's life.
-- Raises invalid (bad spec, network none/host), not_running, conflict (the
-- host port is published or in use). Returns the port table.
function Container:publish(spec)
  check.self(self, Container, "publish")
  local network = require "ctr.network"
  local p = parse_port(network, spec)
  bridge_of(self, "publish")
  local hold, herr = core.port_hold(p.host_ip or "0.0.0.0", p.host_port, p.proto or "tcp")
  if not hold then errors.throw("conflict", "cannot publish port %d/%s: %s", p.host_port, p.proto or "tcp", herr) end
  hold:close()
  local ok, added = pcall(network.publish, self.id, { p })
  if not ok then
    if errors.is(added, "interrupted") then error(added, 0) end
    errors.throw("conflict", "cannot publish port %d/%s: %s", p.host_port, p.proto or "tcp", errors.message(added))
  end
  self:_locked(function()
    local n = self.state.network
    n.ports = n.ports or {}
    local rec = {}
    for k, v in pairs(added[1]) do rec[k] = v end
    rec.runtime = true -- published while running: not again at the next start
    n.ports[#n.ports + 1] = rec
    self:_save()
  end)
  return added[1]
end

--- Withdraw a port published by run's -p or by Container:publish (spec as
-- publish's) from the running container. Raises invalid, not_running, and
-- not_found when that port is not published. Returns true.
function Container:unpublish(spec)
  check.self(self, Container, "unpublish")
  local network = require "ctr.network"
  local p = parse_port(network, spec)
  bridge_of(self, "unpublish")
  local gone = network.unpublish(self.id, { p })
  self:_locked(function()
    local keep, found = {}, #gone > 0
    for _, q in ipairs(self.state.network.ports or {}) do
      if same_port(q, p) then found = true else keep[#keep + 1] = q end
    end
    if not found then
      errors.throw("not_found", "port %s%d/%s is not published by container %s",
        p.host_ip and p.host_ip ~= "0.0.0.0" and (p.host_ip .. ":") or "", p.host_port, p.proto or "tcp", self.state.name)
    end
    self.state.network.ports = keep
    self:_save()
  end)
  return true
end

--- The state's ports less those published at run time (for the exit
-- record: Container:publish ports end with the run).
function M.ports_at_start(ports)
  local keep = {}
  for _, p in ipairs(ports or {}) do
    if not p.runtime then keep[#keep + 1] = p end
  end
  return keep
end

-- ---------------------------------------------------------------------------
-- logs

local function entry_line(e) return (e.log:gsub("\n$", "")) end

--- The container's log (ctr.logs): opts tail (the last n lines), since /
-- until (RFC 3339, a Unix time or a duration like "10m"), follow (keep
-- reading until the container stops), timeout (seconds: a follow ends
-- then). Without follow, returns the list of lines (stdout and stderr
-- interleaved, without their newlines); with follow, an iterator of
-- (line, entry) for a generic for, entry being {log=, stream=, time=}.
-- Raises invalid for a bad option or time.
function Container:logs(opts)
  check.self(self, Container, "logs")
  local o = check.api("Container:logs", opts)
  local logs = require "ctr.logs"
  for _, k in ipairs({ "since", "until" }) do
    if o[k] ~= nil then
      local t, err = logs.parse_time(tostring(o[k]))
      if not t then errors.throw("invalid", "logs: %s", err) end
    end
  end
  if o.timeout then o.deadline = core.clock("monotonic") + tonumber(o.timeout) end
  o.since = o.since and tostring(o.since)
  o["until"] = o["until"] and tostring(o["until"])
  if not o.follow then
    local lines = {}
    logs.read(self, o, function(e) lines[#lines + 1] = entry_line(e) end)
    return lines
  end
  local co = coroutine.wrap(function()
    logs.read(self, o, function(e) coroutine.yield(entry_line(e), e) end)
  end)
  return function() return co() end
end

return M
