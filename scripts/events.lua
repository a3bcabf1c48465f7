-- events: Get real time events from the server
--
-- luac-ctr events [--since TIME] [--until TIME] [--filter KEY=VALUE]... [--format TEMPLATE]
-- The events of the state root's log (ctr.eventlog), one a line as docker
-- prints them:
--   2026-01-02T10:00:00.000000000Z container start ID (image=busybox, name=web)
-- containers: create, start, die (exitCode), oom, kill (signal), stop,
-- pause, unpause, rename (oldName), health_status: healthy|unhealthy,
-- exec_create, exec_start, exec_die, commit, restart, destroy (a container
-- restarted by its policy: die then start, each time); networks: create,
-- connect, disconnect, destroy; volumes: create, destroy; images: pull,
-- push, import, load, save, tag, untag, delete. Until interrupted, or
-- until --until. TIME: a Unix timestamp, an RFC 3339 date
-- (2026-01-02T10:00:00Z, or a date alone) or a duration ago (10m).
-- --since replays what is recorded since then.
-- --filter: container=NAME|ID, event=ACTION, image=, label=KEY[=VALUE],
-- network=, type=container|image|network|volume, volume= (values of one
-- key: any; keys: all). --format '{{json .}}' prints docker's event JSON
-- (status, id, from, Type, Action, Actor {ID, Attributes}, scope, time,
-- timeNano); other templates see .Status .ID .From .Type .Action .Actor
-- .Scope .Time .TimeNano.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local core = require "ctr.core"
local eventlog = require "ctr.eventlog"
local format = require "ctr.format"
local json = require "ctr.json"
local util = require "ctr.util"

local o = cli.parse({ ... }, {
  { nil, "since", "string", "Show all events created since timestamp" },
  { nil, "until", "string", "Stream events until this timestamp" },
  { "f", "filter", "list", "Filter output based on conditions provided (container=, event=, image=, label=, network=, type=, volume=)" },
  { nil, "format", "string", "Format the output using the given Go template ('{{json .}}')" },
}, { usage = "events [OPTIONS]", description = "Get real time events from the server.", command = "events" })

-- now, in seconds since the epoch (with a fraction: the events have nanoseconds)
local function now() return core.time_ns("realtime") / 1e9 end

-- seconds since the epoch of a UTC date and time
local function timegm(y, mo, d, h, mi, s)
  y = mo <= 2 and y - 1 or y
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return ((era * 146097 + doe - 719468) * 86400) + h * 3600 + mi * 60 + s
end

-- docker's TIME: a Unix timestamp, an RFC 3339 date, or a duration ago
local function parse_time(s, what)
  if s == nil then return nil end
  if s:match("^%d+%.?%d*$") then return tonumber(s) end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if y then
    local h, mi, sec, frac, zone = rest:match("^[T ](%d%d):(%d%d):?(%d*)(%.?%d*)(.*)$")
    if rest ~= "" and not h then errors.raise(125, "invalid value for --%s: %q", what, s) end
    local t = timegm(tonumber(y), tonumber(mo), tonumber(d), tonumber(h) or 0, tonumber(mi) or 0, tonumber(sec) or 0)
    local sign, zh, zm = (zone or ""):match("^([+-])(%d%d):?(%d%d)$")
    if sign then t = t - (sign == "+" and 1 or -1) * (tonumber(zh) * 3600 + tonumber(zm) * 60)
    elseif zone and zone ~= "" and zone ~= "Z" then errors.raise(125, "invalid value for --%s: %q", what, s) end
    return t + (tonumber("0" .. (frac or "")) or 0)
  end
  local secs = cli.parse_duration(s)
  if not secs then errors.raise(125, "invalid value for --%s: %q (a timestamp, a date or a duration)", what, s) end
  return now() - secs
end

local FILTERS = { container = true, event = true, label = true, type = true, image = true, network = true, volume = true }
local filters = {}
for _, f in ipairs(o.filter or {}) do
  local k, v = f:match("^([%w_]+)=(.*)$")
  if not k or not FILTERS[k] then
    errors.raise(125, "invalid filter '%s' (supported: container=, event=, image=, label=, network=, type=, volume=)", f)
  end
  filters[k] = filters[k] or {}
  table.insert(filters[k], v)
end

local since, till = parse_time(o.since, "since"), parse_time(o["until"], "until")
if since and till and since > till then errors.raise(125, "--since is after --until") end

local function any(key, test)
  if not filters[key] then return true end
  for _, v in ipairs(filters[key]) do if test(v) then return true end end
  return false
end

local function wanted(m)
  local attrs, id = m.Actor.Attributes, m.Actor.ID
  local function named(typ)
    return function(v) return m.Type == typ and (v == attrs.name or id == v or (#v >= 1 and id:sub(1, #v) == v)) end
  end
  return any("type", function(v) return v == m.Type end)
    and any("event", function(v) return v == m.Action or m.Action:match("^" .. v:gsub("%p", "%%%0") .. ":") end)
    and any("container", function(v)
      if m.Type == "container" then return named("container")(v) end
      return attrs.container == v or (attrs.container or ""):sub(1, #v) == v -- network connect/disconnect
    end)
    and any("image", function(v) return (m.Type == "image" and (id == v or attrs.name == v)) or m.from == v or attrs.image == v end)
    and any("network", named("network"))
    and any("volume", named("volume"))
    and any("label", function(v)
      local k, val = v:match("^([^=]+)=(.*)$")
      if k then return attrs[k] == val end
      return attrs[v] ~= nil
    end)
end

-- docker's line: TIME TYPE ACTION ID (k=v, ...), attributes sorted
local function text(m)
  local keys, kv = {}, {}
  for k in pairs(m.Actor.Attributes) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do kv[#kv + 1] = k .. "=" .. m.Actor.Attributes[k] end
  local line = ("%s %s %s %s (%s)"):format(util.rfc3339(m.time, m.timeNano % 1000000000), m.Type, m.Action, m.Actor.ID,
    table.concat(kv, ", "))
  -- names, labels and exec command lines are anybody's: no control character reaches the terminal
  return (line:gsub("%c", function(ch) return ("\\x%02x"):format(ch:byte()) end))
end

local expand
if o.format and o.format ~= "{{json .}}" then expand = format.compile(o.format, { table = true }) end
local function show(m)
  if o.format == "{{json .}}" then return json.encode(m) end
  if not expand then return text(m) end
  return expand(setmetatable({ Status = m.status, ID = m.id or m.Actor.ID, From = m.from, Scope = m.scope, Time = m.time,
    TimeNano = m.timeNano }, { __index = m }))
end

-- the log (ctr.eventlog): what is recorded since --since, then what comes
local reader = eventlog.reader(since)
local last = false
while true do
  if till and now() >= till then last = true end -- one more read: what was written until then
  for _, m in ipairs(reader:poll()) do
    if till and m.timeNano > till * 1e9 then last = true; break end
    m.result = nil -- ours, not docker's
    if wanted(m) then
      io.stdout:write(show(m), "\n")
      io.stdout:flush()
    end
  end
  if last then break end
  local wait = 0.1
  if till then wait = math.max(0, math.min(wait, till - now())) end
  core.sleep(wait)
end
