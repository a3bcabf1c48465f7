-- volume: Manage volumes
-- luac-ctr volume create [--label K=V]... [-d local] [NAME]
-- luac-ctr volume ls [-q] [--format TEMPLATE|json] [--filter name=|label=|dangling=|driver=]...
-- luac-ctr volume inspect [-f TEMPLATE] NAME...
-- luac-ctr volume rm [-f] NAME...
-- luac-ctr volume prune [-f] [-a] [--filter label=...]
-- docker's output: create prints the name, ls the DRIVER / VOLUME NAME
-- table, inspect a JSON array, rm the names removed, prune "Deleted
-- Volumes:" and the space reclaimed. rm of a volume a container uses is
-- refused ("volume is in use - [ids]", exit 1).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local json = require "ctr.json"
local util = require "ctr.util"
local volume = require "ctr.volume"

local argv = { ... }
local sub = table.remove(argv, 1)

local USAGE = [[
Usage:  luac-ctr volume COMMAND

Manage volumes

Commands:
  create      Create a volume
  inspect     Display detailed information on one or more volumes
  ls          List volumes
  prune       Remove unused local volumes
  rm          Remove one or more volumes
]]

local function parse(defs, info, min, max)
  info.root = false -- the caller's own state root: rootless callers have their volumes too
  local opts, args = cli.parse(argv, defs, info)
  if #args < min or (max and #args > max) then
    errors.raise(1, "\"volume %s\" requires %s argument%s.\nSee 'luac-ctr volume %s --help'.",
      info.command, max == min and ("exactly " .. min) or (max and ("at most " .. max) or ("at least " .. min)),
      (max or min) == 1 and "" or "s", info.command)
  end
  return opts, args
end

local commands = {}

function commands.create()
  local opts, args = parse({
    { "d", "driver", "string", "Specify volume driver name (only \"local\")" },
    { nil, "label", "list", "Set metadata for a volume (KEY=VALUE)" },
    { nil, "name", "string", "Specify volume name" },
  }, { usage = "volume create [OPTIONS] [VOLUME]", description = "Create a volume", command = "create" }, 0, 1)
  local name = args[1] or opts.name
  if args[1] and opts.name and args[1] ~= opts.name then
    errors.raise(1, "conflicting options: either specify --name or provide positional arg, not both")
  end
  local labels = require("ctr.labels").parse(opts.label or {})
  local v = volume.create { name = name, labels = labels, driver = opts.driver }
  print(v.name)
end

-- --filter KEY=VALUE values as volume.list's filter (label may repeat).
local function filters(list)
  local f = {}
  for _, s in ipairs(list or {}) do
    local k, v = s:match("^([%w_]+)=(.*)$")
    if k == "label" then
      f.label = f.label or {}
      table.insert(f.label, v)
    elseif k == "name" or k == "dangling" or k == "driver" then
      if k == "dangling" and v ~= "true" and v ~= "false" and v ~= "1" and v ~= "0" then
        errors.raise(1, "invalid filter 'dangling=%s'", v)
      end
      f[k] = v
    else
      errors.raise(1, "invalid filter %s (name=, label=, dangling=, driver=)", errors.quote(s))
    end
  end
  return f
end

-- The fields a --format template of ls may use (docker's).
local FIELDS = { Name = true, Driver = true, Scope = true, Mountpoint = true, Labels = true, Links = true, Size = true }

local function row(v, users)
  return { Name = v.name, Driver = v.driver, Scope = "local", Mountpoint = v.mountpoint,
            Labels = require("ctr.labels").format(v.labels), Links = #(users[v.name] or {}), Size = "N/A" }
end

function commands.ls()
  local opts = parse({
    { "q", "quiet", "flag", "Only display volume names" },
    { nil, "format", "string", "Format output: json, or a template like '{{.Name}}'" },
    { "f", "filter", "list", "Provide filter values (name=, label=, dangling=true|false, driver=)" },
  }, { usage = "volume ls [OPTIONS]", description = "List volumes", command = "ls" }, 0, 0)
  local list = volume.list { filter = filters(opts.filter) }
  if opts.quiet then
    for _, v in ipairs(list) do io.stdout:write(v.name, "\n") end
    return
  end
  local users = (opts.format and volume.users()) or {}
  if opts.format == "json" or opts.format == "{{json .}}" then
    for _, v in ipairs(list) do io.stdout:write(json.encode(row(v, users)), "\n") end
  elseif opts.format then
    local expand = require("ctr.format").compile(opts.format,
      { fields = FIELDS, context = "*formatter.volumeContext", missing = "", table = true })
    for _, v in ipairs(list) do io.stdout:write(expand(row(v, users)), "\n") end
  else
    local rows = { { "DRIVER", "VOLUME NAME" } }
    for _, v in ipairs(list) do rows[#rows + 1] = { v.driver, v.name } end
    io.stdout:write(util.columns(rows))
  end
end

function commands.inspect()
  local opts, args = parse({
    { "f", "format", "string", "Format output: a template like '{{.Mountpoint}}' (or json)" },
  }, { usage = "volume inspect [OPTIONS] VOLUME [VOLUME...]",
       description = "Display detailed information on one or more volumes", command = "inspect" }, 1)
  local expand = opts.format and opts.format ~= "json" and require("ctr.format").compile(opts.format, { missing = "error" })
  local out, failed = {}, false
  for _, name in ipairs(args) do
    local v, err = volume.get(name)
    if v then out[#out + 1] = v:inspect()
    else failed = true; errors.report(err) end
  end
  if expand then
    for _, d in ipairs(out) do io.stdout:write(expand(d), "\n") end
  else
    io.stdout:write(json.encode(json.array(out), { indent = true }), "\n")
  end
  if failed then os.exit(1) end
end

function commands.rm()
  local opts, args = parse({
    { "f", "force", "flag", "Do not error when a volume does not exist" },
  }, { usage = "volume rm [OPTIONS] VOLUME [VOLUME...]", description = "Remove one or more volumes", command = "rm" }, 1)
  errors.each(args, function(name)
    local v, err = volume.get(name)
    if not v then
      if opts.force then return false end
      errors.throw("not_found", "%s", err)
    end
    v:remove { force = opts.force } -- the name is printed by errors.each
  end)
end

-- docker's confirmation: true when the answer starts with y.
local function confirm(text)
  io.stdout:write(text, "\nAre you sure you want to continue? [y/N] ")
  io.stdout:flush()
  local answer = io.stdin:read("l") or ""
  return answer:match("^%s*[yY]") ~= nil
end

function commands.prune()
  local opts = parse({
    { "a", "all", "flag", "Remove all unused volumes, not just anonymous ones" },
    { "f", "force", "flag", "Do not prompt for confirmation" },
    { nil, "filter", "list", "Provide filter values (label=...)" },
  }, { usage = "volume prune [OPTIONS]", description = "Remove unused local volumes", command = "prune" }, 0, 0)
  local what = opts.all and "all local volumes" or "anonymous local volumes"
  if not opts.force and not confirm("WARNING! This will remove " .. what .. " not used by at least one container.") then
    return
  end
  local removed, bytes = volume.prune { all = opts.all, filter = filters(opts.filter) }
  if #removed > 0 then io.stdout:write("Deleted Volumes:\n", table.concat(removed, "\n"), "\n\n") end
  io.stdout:write("Total reclaimed space: ", util.human_size(bytes), "\n")
end

commands.list = commands.ls
commands.remove = commands.rm

cli.group_help(sub, USAGE)
local cmd = commands[sub]
if not cmd then errors.raise(1, "unknown volume command %s (see 'luac-ctr volume --help')", errors.quote(sub)) end
cmd()
