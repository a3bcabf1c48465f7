-- ps: List containers
--
-- luac-ctr ps [-a] [-q] [-n N|-l] [--no-trunc] [--filter KEY=VALUE]... [--format json|TEMPLATE]
-- Running containers (all with -a; the N newest with -n, the newest with -l), newest first. Columns: CONTAINER ID,
-- IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES. The status is checked
-- against the kernel (pid and its start time): a container whose process
-- died is shown exited even if nothing recorded it. Filters: name=SUBSTRING,
-- status=created|running|paused|exited|dead, id=PREFIX, label=KEY or label=KEY=VALUE;
-- the same key repeated matches any of its values (label: all of them),
-- different keys must all match. --format json prints
-- one JSON object per line; a template like '{{.ID}} {{.Names}}' prints
-- those fields, docker's and ours: {{.Userns}} (auto, explicit, rootless or
-- host), {{.UIDMap}} and {{.GIDMap}} (CONTAINER:HOST:SIZE, comma-separated;
-- empty for the host's ids). Reads one state file per container, runs no subprocess.
-- A container whose state is missing or unreadable is listed as Dead
-- (status=dead; --format json gives the Reason); rm -f removes it.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
require "ctr.container" -- the Container methods (c:paused()), loaded on first use
local store = require "ctr.container.store" -- list: no sort (ps sorts its own way)
local util = require "ctr.util"
local json = require "ctr.json"
local core = require "ctr.core"
local state = require "ctr.state"

-- docker's strconv.Quote for the command (printable ASCII kept)
local function quote(s)
  if not s:find('[\\"\n\t]') then return '"' .. s .. '"' end
  return '"' .. s:gsub('[\\"]', "\\%0"):gsub("\n", "\\n"):gsub("\t", "\\t") .. '"'
end

-- docker's stringutils.Ellipsis: at most n characters, the last one "…"
local function ellipsis(s, n)
  if #s <= n then return s end -- (bytes: as many characters or more)
  local len = utf8.len(s) or #s
  if len <= n then return s end
  return s:sub(1, (utf8.offset(s, n) or n) - 1) .. "…"
end

local function ports_of(st)
  local out = {}
  for _, p in ipairs(st.network and st.network.ports or {}) do
    if type(p) == "table" then
      out[#out + 1] = ("%s:%s->%s/%s"):format(p.host_ip or "0.0.0.0", p.host_port, p.container_port, p.proto or "tcp")
    end
  end
  return table.concat(out, ", ")
end

-- util.human_duration, once per number of seconds (rows share most)
local durations = {}
local function human_duration(s)
  local d = durations[s]
  if not d then
    d = util.human_duration(s)
    if s == s then durations[s] = d end -- (not NaN)
  end
  return d
end

local status_text
function status_text(c, status, now)
  if status == "running" or status == "paused" then
    local h = c.state.healthcheck and c.state.health
    local tag = h and (h.status == "starting" and " (health: starting)" or (" (" .. tostring(h.status) .. ")")) or ""
    if c:paused() then tag = " (Paused)" .. tag end
    return "Up " .. human_duration(now - (c.state.started_at or now)) .. tag
  end
  if status == "exited" then
    local code = c:exit_code() -- may refresh c.state: read the times after it
    if c:status() == "restarting" then return status_text(c, "restarting", now) end -- just recorded
    return ("Exited (%d) %s ago"):format(code, human_duration(now - (c.state.finished_at or now)))
  end
  if status == "dead" then return "Dead" end
  if status == "restarting" then
    return ("Restarting (%d) %s ago"):format(c.state.exit_code or 0, human_duration(now - (c.state.finished_at or now)))
  end
  return "Created"
end

-- One row of fields (docker's --format names) of c, whose status is
-- status (c:status(), paused told apart); columns=true: only the default
-- table's, in its order (ID, Image, Command, RunningFor, Status, Ports, Names).
local function row_of(c, status, o, now, columns)
  local st = c.state
  local cmd = table.concat(st.command or {}, " ")
  local id, image = o.no_trunc and c.id or util.short_id(c.id), st.image or ""
  local command = quote(o.no_trunc and cmd or ellipsis(cmd, 20))
  local running_for = human_duration(now - (st.created or now)) .. " ago"
  local text, ports, names = status_text(c, status, now), ports_of(st), st.name or ""
  if columns then return { id, image, command, running_for, text, ports, names } end
  return {
    ID = id,
    Image = image,
    Command = command,
    CreatedAt = os.date("!%Y-%m-%d %H:%M:%S +0000 UTC", st.created or 0),
    RunningFor = running_for,
    Status = text,
    State = status,
    Ports = ports,
    Names = names,
    Labels = require("ctr.labels").format(st.labels),
    Reason = st.dead_reason, -- why a dead container's state is lost
    -- the user namespace: luac-ctr's mode (auto, explicit, rootless; host)
    -- and podman's "CONTAINER:HOST:SIZE" entries, comma-separated
    Userns = st.userns and st.userns.mode or "host",
    UIDMap = table.concat(require("ctr.userns").map_strings(st.userns and st.userns.uid), ","),
    GIDMap = table.concat(require("ctr.userns").map_strings(st.userns and st.userns.gid), ","),
  }
end

-- docker's fields of a ps template; an unknown one (or an action left
-- open) is docker's template error: one line, exit 1, not a blank line
local FIELDS = {
  ID = true, Image = true, Command = true, CreatedAt = true, RunningFor = true, Ports = true, State = true,
  Status = true, Size = true, Names = true, Labels = true, Mounts = true, Networks = true, LocalVolumes = true,
  Reason = true, Userns = true, UIDMap = true, GIDMap = true,
}

-- the column titles docker prints for a "table" template
local HEADERS = {
  ID = "CONTAINER ID", Image = "IMAGE", Command = "COMMAND", CreatedAt = "CREATED AT", RunningFor = "CREATED",
  Ports = "PORTS", State = "STATE", Status = "STATUS", Size = "SIZE", Names = "NAMES", Labels = "LABELS",
  Mounts = "MOUNTS", Networks = "NETWORKS", LocalVolumes = "LOCAL VOLUMES", Reason = "REASON",
  Userns = "USERNS", UIDMap = "UIDMAP", GIDMap = "GIDMAP",
}

local function parse_filters(list)
  local f = {}
  for _, s in ipairs(list or {}) do
    local k, v = s:match("^([%w_-]+)=(.*)$")
    if not k or (k ~= "name" and k ~= "status" and k ~= "id" and k ~= "label") then
      errors.raise(125, "invalid filter %q (supported: name=..., status=..., id=..., label=KEY[=VALUE])", s)
    end
    f[k] = f[k] or {}
    table.insert(f[k], v)
  end
  return f
end

local function matches(f, c, status)
  local function any(key, test)
    if not f[key] then return true end
    for _, v in ipairs(f[key]) do if test(v) then return true end end
    return false
  end
  return any("name", function(v) return (c.state.name or ""):find(v, 1, true) ~= nil end)
    and any("status", function(v) return v == status end)
    and any("id", function(v) return c.id:sub(1, #v) == v end)
    and require("ctr.labels").matches(c.state.labels, f.label) -- labels: all must match
end

local o = cli.parse({ ... }, {
  { "a", "all", "flag", "Show all containers (default shows just running)" },
  { "q", "quiet", "flag", "Only display container IDs" },
  { nil, "no-trunc", "flag", "Don't truncate output" },
  { "f", "filter", "list", "Filter output based on conditions provided (name=, status=, id=, label=)" },
  { nil, "format", "string", "Format output: json, or a template like '{{.ID}} {{.Names}}'" },
  { "n", "last", "int", "Show n last created containers (includes all states)" },
  { "l", "latest", "flag", "Show the latest created container (includes all states)" },
}, { usage = "ps [OPTIONS]", description = "List containers.", command = "ps" })
local filters = parse_filters(o.filter)
local no_filters = next(filters) == nil
local last = o.latest and 1 or o.last
if last and last >= 0 then o.all = true else last = nil end
local now = util.now()
local list, status_of = {}, {}
-- the fields of the states that ps reads (here and in the methods it
-- calls: status, paused, exit_code); only these are decoded
local STATE_KEYS = {}
for k in ("name image command created status pid starttime supervisor paused exit_code started_at finished_at "
  .. "healthcheck health network labels userns"):gmatch("%S+") do STATE_KEYS[k] = true end
for _, c in ipairs(store.list(STATE_KEYS)) do -- in no order: sorted below
  local status = c:status()
  if status == "running" and c:paused() then status = "paused" end
  local shown = o.all or status == "running" or status == "paused" or status == "restarting" or (filters.status ~= nil)
  if shown and (no_filters or matches(filters, c, status)) then list[#list + 1], status_of[c] = c, status end
end
-- newest first: created is in seconds; ties are ordered by the time the
-- config was written (one stat, only for containers made in the same second)
local created, per_second, tied = {}, {}, {}
for _, c in ipairs(list) do
  local t = c.state.created or 0
  created[c], per_second[t] = t, (per_second[t] or 0) + 1
end
for _, c in ipairs(list) do
  if per_second[created[c]] > 1 then tied[#tied + 1] = c end
end
local ns = {}
if #tied > 0 then
  local ids = {}
  for i, c in ipairs(tied) do ids[i] = c.id end
  local m = core.mtimes_under(state.dir("containers"), ids, "config.json") or {}
  for i, c in ipairs(tied) do ns[c] = m[i] or 0 end
end
table.sort(list, function(a, b)
  local ca, cb = created[a], created[b]
  if ca ~= cb then return ca > cb end
  local na, nb = ns[a], ns[b]
  if na ~= nb then return na > nb end
  return a.id < b.id
end)
if last then
  for i = #list, last + 1, -1 do list[i] = nil end
end
local out = {}
if o.quiet then
  for _, c in ipairs(list) do out[#out + 1] = (o.no_trunc and c.id or util.short_id(c.id)) .. "\n" end
elseif o.format == "json" or o.format == "{{json .}}" then
  for _, c in ipairs(list) do out[#out + 1] = json.encode(row_of(c, status_of[c], o, now)) .. "\n" end
elseif o.format then
  local rows = {}
  for i, c in ipairs(list) do rows[i] = row_of(c, status_of[c], o, now) end
  out[1] = require("ctr.format").render(o.format, rows, HEADERS, { fields = FIELDS, context = "*formatter.ContainerContext", missing = "",
    default = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}" })
else
  local rows = { { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" } }
  for _, c in ipairs(list) do rows[#rows + 1] = row_of(c, status_of[c], o, now, true) end
  out[1] = util.columns(rows)
end
io.stdout:write(table.concat(out))
