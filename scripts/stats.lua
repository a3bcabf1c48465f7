-- stats: Display a live stream of container(s) resource usage statistics
--
-- luac-ctr stats [-a] [--no-stream] [--no-trunc] [--format json|TEMPLATE] [CONTAINER...]
-- docker's table: CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O
-- BLOCK I/O PIDS, from each container's cgroup (v1 or v2) and network
-- namespace (Container:stats). Redrawn every second on a terminal (a new
-- table a second otherwise) until interrupted; --no-stream prints one.
-- Without names, the running containers (-a: all); a name that is no
-- container: one line, exit 1. --format: docker's fields (.Container
-- .Name .ID .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs), json (a
-- JSON object a line) or "table ...".
local cli = require "ctr.cli"
local core = require "ctr.core"
local container = require "ctr.container"
local format = require "ctr.format"
local json = require "ctr.json"
local util = require "ctr.util"

local o, args = cli.parse({ ... }, {
  { "a", "all", "flag", "Show all containers (default shows just running)" },
  { nil, "no-stream", "flag", "Disable streaming stats and only pull the first result" },
  { nil, "no-trunc", "flag", "Do not truncate output" },
  { nil, "format", "string", "Format output: json, or a template like 'table {{.Name}}\\t{{.CPUPerc}}'" },
}, { usage = "stats [OPTIONS] [CONTAINER...]", description = "Display a live stream of container(s) resource usage statistics.",
     command = "stats" })

local HEADERS = {
  Container = "CONTAINER", Name = "NAME", ID = "CONTAINER ID", CPUPerc = "CPU %", MemUsage = "MEM USAGE / LIMIT",
  MemPerc = "MEM %", NetIO = "NET I/O", BlockIO = "BLOCK I/O", PIDs = "PIDS",
}
local DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

-- docker's binary sizes (units.BytesSize: "1.953MiB")
local function bytes(n)
  local units, i = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" }, 1
  while n >= 1024 and i < #units do n, i = n / 1024, i + 1 end
  return ("%.4g"):format(n) .. units[i]
end

-- the containers to show (a fixed list when named) and their labels
local function targets()
  if #args > 0 then
    local t = {}
    for _, ref in ipairs(args) do t[#t + 1] = { c = container.must_get(ref, 1), label = ref } end
    return t
  end
  local t = {}
  for _, c in ipairs(container.list()) do
    if o.all or c:running() then t[#t + 1] = { c = c, label = util.short_id(c.id) } end
  end
  return t
end

local function row(t, s)
  return {
    Container = t.label, Name = s.name or "", ID = o.no_trunc and s.id or util.short_id(s.id),
    CPUPerc = ("%.2f%%"):format(s.cpu_percent), MemUsage = bytes(s.memory) .. " / " .. bytes(s.memory_limit),
    MemPerc = ("%.2f%%"):format(s.memory_percent),
    NetIO = util.human_size(s.net_rx) .. " / " .. util.human_size(s.net_tx),
    BlockIO = util.human_size(s.block_read) .. " / " .. util.human_size(s.block_write),
    PIDs = tostring(s.pids),
  }
end

local tmpl = o.format or DEFAULT
if tmpl ~= "json" then format.compile(tmpl, { fields = HEADERS, context = "*formatter.statsContext", table = true }) end
local function show(rows)
  if tmpl == "json" then
    local out = {}
    for i, r in ipairs(rows) do out[i] = json.encode(r) .. "\n" end
    return table.concat(out)
  end
  return format.render(tmpl, rows, HEADERS, { fields = HEADERS, context = "*formatter.statsContext", missing = "", default = DEFAULT })
end

local live = not o.no_stream and core.isatty(1)
local prev = {}
local function sample(list)
  local rows = {}
  for _, t in ipairs(list) do
    local ok, s = pcall(t.c.stats, t.c, prev[t.c.id])
    if not ok then s = t.c:stats() end -- it stopped between the two reads: zeros
    prev[t.c.id] = s
    rows[#rows + 1] = row(t, s)
  end
  return rows
end

local list = targets()
sample(list) -- the first sample: CPU % needs two
core.sleep(o.no_stream and 0.5 or 1)
while true do
  local text = show(sample(list))
  if live then text = "\27[2J\27[H" .. text end
  io.stdout:write(text)
  io.stdout:flush()
  if o.no_stream then break end
  core.sleep(1)
  if #args == 0 then list = targets() end
end
