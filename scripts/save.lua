-- save: Save one or more images to a tar archive
-- luac-ctr save -o FILE IMAGE...
-- One archive in both formats (as docker 25 writes it): an OCI image
-- layout and docker's manifest.json, loadable by docker/podman load, skopeo
-- (oci-archive: and docker-archive:) and luac-ctr load. Without -o the
-- archive goes to standard output (unless it is a terminal).
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"

local opts, args = cli.parse({ ... }, {
  { "o", "output", "string", "Write to a file, instead of STDOUT" },
}, {
  usage = "save [OPTIONS] IMAGE [IMAGE...]",
  description = "Save one or more images to a tar archive (streamed to STDOUT by default)",
  command = "save",
})
if #args < 1 then errors.raise(125, "\"save\" requires at least 1 argument.\nSee 'luac-ctr save --help'.") end
local out = opts.output or "-"
if out == "-" and core.isatty(1) then
  errors.raise(125, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
end
require("ctr.registry_archive").save(args, out)
