-- export: Export a container's filesystem as a tar archive
--
-- luac-ctr export [-o FILE] CONTAINER
-- The merged filesystem (image layers plus the container's changes) as a
-- tar archive that `import` and `docker import` accept, written to FILE or
-- to standard output (which must not be a terminal). The files are read by a
-- helper pivoted into them (nothing outside the container can be reached), and
-- a running container is frozen meanwhile (a freeze that does not take is an
-- error).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local commit = require "ctr.commit"
local core = require "ctr.core"

local o, args = cli.parse({ ... }, {
  { "o", "output", "string", "Write to a file, instead of STDOUT" },
}, { usage = "export [OPTIONS] CONTAINER", description = "Export a container's filesystem as a tar archive.", command = "export" })
if #args ~= 1 then errors.raise(1, "\"export\" requires exactly 1 argument.\nSee 'luac-ctr export --help'.") end
local out = o.output or "-"
if out == "-" and core.isatty(1) then
  errors.raise(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
end
commit.export(container.must_get(args[1], 1), out)
