-- network: Manage networks
-- luac-ctr network create [--subnet CIDR] [--gateway IP] [-d bridge] NAME
-- luac-ctr network ls [-q] [--no-trunc] [--format json|TEMPLATE]
-- luac-ctr network inspect [-f TEMPLATE] NAME...
-- luac-ctr network rm NAME...
-- luac-ctr network connect [--ip IP] [--alias NAME] NETWORK CONTAINER
-- luac-ctr network disconnect NETWORK CONTAINER
-- luac-ctr network prune [-f] [--filter until=TIME]
-- prune removes the networks no container uses (one that a stopped
-- container names counts as used, as docker's; "bridge" always stays),
-- after a confirmation unless -f; prints docker's "Deleted Networks:" list.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local json = require "ctr.json"
local network = require "ctr.network"
local util = require "ctr.util"

local argv = { ... }
local sub = table.remove(argv, 1)

local USAGE = [[
Usage:  luac-ctr network COMMAND

Manage networks

Commands:
  connect     Connect a container to a network
  create      Create a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks
]]

local function parse(defs, info, min, max)
  local opts, args, o = cli.parse(argv, defs, info)
  if #args < min or (max and #args > max) then
    errors.raise(125, "\"network %s\" requires %s argument%s.\nSee 'luac-ctr network %s --help'.",
      info.command, max == min and ("exactly " .. min) or ("at least " .. min), min == 1 and "" or "s",
      info.command)
  end
  return opts, args, o
end

local commands = {}

function commands.create()
  local opts, args, o = parse({
    { nil, "subnet", "string", "Subnet in CIDR format (default: a free private /24)", key = "subnet" },
    { nil, "gateway", "string", "IPv4 gateway for the subnet (default: its first address)", key = "gateway" },
    { "d", "driver", "string", "Driver to manage the network (only \"bridge\")" },
  }, { usage = "network create [OPTIONS] NETWORK", description = "Create a network", command = "create" }, 1, 1)
  if opts.driver and opts.driver ~= "bridge" then
    errors.raise(125, "network driver %s is not supported (only bridge)", opts.driver)
  end
  o.name = args[1]
  print(network.create(o).id)
end

function commands.ls()
  local opts = parse({
    { "q", "quiet", "flag", "Only display network IDs" },
    { nil, "no-trunc", "flag", "Do not truncate the output" },
    { nil, "format", "string", "Format output: json, or a template like '{{.Name}} {{.ID}}' ('table ...': with a header)" },
  }, { usage = "network ls [OPTIONS]", description = "List networks", command = "ls" }, 0, 0)
  local rows = { { "NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET", "GATEWAY" } }
  local ids, records = {}, {}
  for _, n in ipairs(network.list()) do
    local id = opts.no_trunc and n.id or util.short_id(n.id)
    rows[#rows + 1] = { id, n.name, n.driver, "local", n.subnet, n.gateway }
    ids[#ids + 1] = id
    records[#records + 1] = { ID = id, Name = n.name, Driver = n.driver, Scope = "local", IPv6 = "false",
                              Internal = "false", Labels = "", CreatedAt = n.created or "", Subnet = n.subnet, Gateway = n.gateway }
  end
  -- docker's fields of a network ls template and their column titles
  local HEADERS = { ID = "NETWORK ID", Name = "NAME", Driver = "DRIVER", Scope = "SCOPE", IPv6 = "IPV6",
                    Internal = "INTERNAL", Labels = "LABELS", CreatedAt = "CREATED AT", Subnet = "SUBNET", Gateway = "GATEWAY" }
  if opts.format == "json" or opts.format == "{{json .}}" then
    for _, r in ipairs(records) do io.stdout:write(json.encode(r), "\n") end
  elseif opts.format then
    io.stdout:write(require("ctr.format").render(opts.format, records, HEADERS, { fields = HEADERS,
      context = "*formatter.networkContext", missing = "", default = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}" }))
  elseif opts.quiet then
    if #ids > 0 then io.stdout:write(table.concat(ids, "\n"), "\n") end
  else
    io.stdout:write(util.columns(rows))
  end
end

function commands.inspect()
  local opts, args = parse({
    { "f", "format", "string", "Format the output using a Go template ('{{.IPAM.Config}}') or json" },
  }, { usage = "network inspect [OPTIONS] NETWORK [NETWORK...]",
    description = "Display detailed information on one or more networks", command = "inspect" }, 1)
  local out, failed = {}, false
  for _, name in ipairs(args) do
    local n, err = network.get(name)
    if n then out[#out + 1] = n:inspect()
    else failed = true; errors.report(err) end
  end
  if opts.format and opts.format ~= "json" then
    local expand = require("ctr.format").compile(opts.format, { missing = "error" }) -- as inspect's
    for _, v in ipairs(out) do io.stdout:write(expand(v), "\n") end
  else
    io.stdout:write(json.encode(json.array(out), { indent = true }), "\n")
  end
  if failed then os.exit(1) end
end

function commands.rm()
  local _, args = parse({}, { usage = "network rm NETWORK [NETWORK...]",
    description = "Remove one or more networks", command = "rm" }, 1)
  errors.each(args, function(name) network.remove(name) end)
end

-- The container ref names (ctr.container: by id, name or id prefix).
local function find_container(ref)
  local c, err = require("ctr.container").get(ref)
  if not c then errors.raise(125, err) end
  return c
end

function commands.connect()
  local opts, args = parse({
    { nil, "ip", "string", "IPv4 address" },
    { nil, "alias", "list", "Add network-scoped alias for the container" },
  }, { usage = "network connect [OPTIONS] NETWORK CONTAINER",
       description = "Connect a container to a network", command = "connect" }, 2, 2)
  network.must_get(args[1]):connect(find_container(args[2]), { ip = opts.ip, aliases = opts.alias })
end

function commands.disconnect()
  local _, args = parse({}, { usage = "network disconnect NETWORK CONTAINER",
    description = "Disconnect a container from a network", command = "disconnect" }, 2, 2)
  network.must_get(args[1]):disconnect(find_container(args[2]))
end

function commands.prune()
  local opts = parse({
    { nil, "filter", "list", "Provide filter values (e.g. \"until=<timestamp>\")" },
    { "f", "force", "flag", "Do not prompt for confirmation" },
  }, { usage = "network prune [OPTIONS]", description = "Remove all unused networks", command = "prune" }, 0, 0)
  local before
  for _, f in ipairs(opts.filter or {}) do
    local v = f:match("^until=(.+)$")
    if not v then errors.raise(125, "invalid filter %s: network prune takes until=", errors.quote(f)) end
    before = tonumber(v) or util.parse_rfc3339(v) or util.parse_rfc3339(v .. "T00:00:00Z")
    local secs = not before and cli.parse_duration(v)
    if secs then before = util.now() - secs end
    if not before then errors.raise(125, "invalid filter 'until=%s': a Unix time, an RFC 3339 time or a duration (10m)", v) end
  end
  if not opts.force then
    io.stdout:write("WARNING! This will remove all custom networks not used by at least one container.\n",
      "Are you sure you want to continue? [y/N] ")
    io.stdout:flush()
    local answer = io.stdin:read("l")
    if not answer or not answer:match("^%s*[yY]") then errors.raise(1, "network prune has been cancelled") end
  end
  local gone = network.prune { before = before }
  if #gone > 0 then io.stdout:write("Deleted Networks:\n", table.concat(gone, "\n"), "\n") end
end

commands.list = commands.ls
commands.remove = commands.rm

cli.group_help(sub, USAGE)
local cmd = commands[sub]
if not cmd then errors.raise(125, "unknown network command %s (see 'luac-ctr network --help')", errors.quote(sub)) end
cmd()
