-- events: Get real time events from the server
--
-- luac-ctr events [--since TIME] [--until TIME] [--filter KEY=VALUE]... [--format TEMPLATE]
-- The containers' events (ctr.container.events with all = true): create,
-- start, die (exitCode), oom, health_status: healthy|unhealthy, destroy,
-- one a line as docker prints them:
--   2026-01-02T10:00:00.000000000Z container start ID (image=busybox, name=web)
-- until interrupted, or until --until. TIME: a Unix timestamp, an RFC 3339
-- date (2026-01-02T10:00:00Z, or a date alone) or a duration ago (10m).
-- --since replays what is recorded since then (the last start, exit and
-- health change of each container, and their creation). --filter:
-- container=NAME|ID, event=ACTION, label=KEY[=VALUE], type=container
-- (values of one key: any; keys: all). --format '{{json .}}' prints docker's
-- event JSON (status, id, from, Type, Action, Actor {ID, Attributes},
-- scope, time, timeNano); other templates see .Status .ID .From .Type
-- .Action .Actor .Scope .Time .TimeNano.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local format = require "ctr.format"
local json = require "ctr.json"
local util = require "ctr.util"

local o = cli.parse({ ... }, {
  { nil, "since", "string", "Show all events created since timestamp" },
  { nil, "until", "string", "Stream events until this timestamp" },
  { "f", "filter", "list", "Filter output based on conditions provided (container=, event=, label=, type=)" },
  { nil, "format", "string", "Format the output using the given Go template ('{{json .}}')" },
}, { usage = "events [OPTIONS]", description = "Get real time events from the server.", command = "events" })

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
  return util.now() - secs
end

local FILTERS = { container = true, event = true, label = true, type = true }
local filters = {}
for _, f in ipairs(o.filter or {}) do
  local k, v = f:match("^([%w_]+)=(.*)$")
  if not k or not FILTERS[k] then errors.raise(125, "invalid filter '%s' (supported: container=, event=, label=, type=)", f) end
  filters[k] = filters[k] or {}
  table.insert(filters[k], v)
end

local since, till = parse_time(o.since, "since"), parse_time(o["until"], "until")
if since and till and since > till then errors.raise(125, "--since is after --until") end

-- docker's action name of an API event
local function action(e)
  if e.type == "exit" then return "die" end
  if e.type == "health" then return "health_status: " .. tostring(e.status) end
  return e.type
end

-- docker's event message of an API event e
local function message(e)
  local c, st = e.container, e.container.state
  local attrs = { image = st.image, name = st.name }
  for k, v in pairs(st.labels or {}) do if attrs[k] == nil then attrs[k] = v end end
  if e.type == "exit" and e.result then attrs.exitCode = tostring(e.result.exit_code) end
  local sec = e.time or 0
  local a = action(e)
  return {
    status = a, id = c.id, from = st.image, Type = "container", Action = a,
    Actor = { ID = c.id, Attributes = attrs }, scope = "local", time = math.floor(sec), timeNano = math.floor(sec * 1e9),
  }
end

local function any(key, test)
  if not filters[key] then return true end
  for _, v in ipairs(filters[key]) do if test(v) then return true end end
  return false
end

local function wanted(m)
  local attrs = m.Actor.Attributes
  return any("type", function(v) return v == "container" end)
    and any("event", function(v) return v == m.Action or m.Action:match("^" .. v:gsub("%p", "%%%0") .. ":") end)
    and any("container", function(v) return v == attrs.name or m.id:sub(1, #v) == v end)
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
  return ("%s %s %s %s (%s)"):format(util.rfc3339(m.time, m.timeNano % 1000000000), m.Type, m.Action, m.id, table.concat(kv, ", "))
end

local expand
if o.format and o.format ~= "{{json .}}" then expand = format.compile(o.format, { table = true }) end
local function show(m)
  if o.format == "{{json .}}" then return json.encode(m) end
  if not expand then return text(m) end
  return expand(setmetatable({ Status = m.status, ID = m.id, From = m.from, Scope = m.scope, Time = m.time,
    TimeNano = m.timeNano }, { __index = m }))
end

local ev = container.events { all = true, since = since }
while true do
  local wait = till and till - util.now() or nil
  if wait and wait < 0 then wait = 0 end
  local e = ev:next(wait)
  if not e then break end -- --until reached
  if till and (e.time or 0) > till then break end
  local m = message(e)
  if wanted(m) then
    io.stdout:write(show(m), "\n")
    io.stdout:flush()
  end
end
