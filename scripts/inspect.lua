-- inspect: Return low-level information on containers or images
--
-- luac-ctr inspect [--type container|image] [-f TEMPLATE] NAME|ID...
-- A JSON array: for a container its config, state (status, pid, exit
-- code, started/finished times), mounts, limits and network; a reference
-- that matches no container is looked up as an image. -f '{{.State.Pid}}'
-- prints one field (dotted path) per object instead; a template error (an
-- unknown field, an action left open) is one line and exit 1, as docker's.
-- Not found: the others are still printed, a message, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local json = require "ctr.json"
local format = require "ctr.format"

local o, args = cli.parse({ ... }, {
  { nil, "type", "string", "Only look for this type: container or image" },
  { "f", "format", "string", "Print a field: '{{.State.Status}}' (or 'json')" },
}, { usage = "inspect [OPTIONS] NAME|ID [NAME|ID...]", description = "Return low-level information on containers or images.", command = "inspect" })
if #args < 1 then errors.raise(1, "\"inspect\" requires at least 1 argument.\nSee 'luac-ctr inspect --help'.") end
if o.type and o.type ~= "container" and o.type ~= "image" then errors.raise(125, "invalid --type %q: container or image", o.type) end
local out, failed = json.array({}), false
for _, ref in ipairs(args) do
  local found, err
  if o.type ~= "image" then
    local c = container.get(ref)
    if c then found = c:inspect() end
  end
  if not found and o.type ~= "container" then found, err = require("ctr.image").inspect(ref) end
  if found then out[#out + 1] = found else
    failed = true
    errors.report(o.type == "image" and (err or "no such image: " .. ref) or ("no such object: " .. ref))
  end
end
if o.format and o.format ~= "json" then
  -- docker's raw inspect templates run with missingkey=error
  local expand = format.compile(o.format, { missing = "error" })
  for _, v in ipairs(out) do io.stdout:write(expand(v), "\n") end
else
  io.stdout:write(json.encode(out, { indent = true }), "\n")
end
if failed then os.exit(1) end
