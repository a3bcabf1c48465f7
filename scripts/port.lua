-- port: List port mappings or a specific mapping for the container
--
-- luac-ctr port CONTAINER [PRIVATE_PORT[/PROTO]]
-- docker's lines: "80/tcp -> 127.0.0.1:8080" for each published port of a
-- running container, or only "127.0.0.1:8080" for the one private port
-- asked for (an error, exit 1, when it is not published).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args = cli.parse({ ... }, {}, { usage = "port CONTAINER [PRIVATE_PORT[/PROTO]]",
  description = "List port mappings or a specific mapping for the container.", command = "port" })
if #args < 1 or #args > 2 then
  errors.raise(1, "\"port\" requires at least 1 and at most 2 arguments.\nSee 'luac-ctr port --help'.")
end
local out = {}
for _, p in ipairs(container.must_get(args[1], 1):port(args[2])) do
  out[#out + 1] = (args[2] and p.host or (p.private .. " -> " .. p.host)) .. "\n"
end
io.stdout:write(table.concat(out))
