-- rename: Rename a container
--
-- luac-ctr rename CONTAINER NEW_NAME
-- The new name must be valid as for run --name and not in use; the hosts
-- files of the networks the container is on are rewritten with it. Errors:
-- one line, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args = cli.parse({ ... }, {}, { usage = "rename CONTAINER NEW_NAME",
  description = "Rename a container.", command = "rename" })
if #args ~= 2 then errors.raise(1, "\"rename\" requires exactly 2 arguments.\nSee 'luac-ctr rename --help'.") end
local c = container.must_get(args[1], 1)
local ok, err = pcall(c.rename, c, args[2])
if not ok then
  errors.rethrow_interrupt(err)
  errors.raise(1, "%s", errors.message(err))
end
