-- diff: Inspect changes to files or directories on a container's filesystem
--
-- luac-ctr diff CONTAINER
-- One line per path the container changed against its image, sorted:
-- "A PATH" added, "C PATH" changed, "D PATH" deleted (docker's format). Read
-- from the container's overlay upper dir (whiteouts and opaque directories
-- are deletions) by a helper rooted in it; works on running and stopped
-- containers.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local changes = require "ctr.container.changes"

local _, args = cli.parse({ ... }, {}, { usage = "diff CONTAINER",
  description = "Inspect changes to files or directories on a container's filesystem.", command = "diff" })
if #args ~= 1 then errors.raise(1, "\"diff\" requires exactly 1 argument.\nSee 'luac-ctr diff --help'.") end
local out = {}
for _, ch in ipairs(container.must_get(args[1], 1):diff()) do
  out[#out + 1] = changes.KINDS[ch.Kind] .. " " .. ch.Path .. "\n"
end
io.stdout:write(table.concat(out))
