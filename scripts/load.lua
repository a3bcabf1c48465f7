-- load: Load an image from a tar archive or STDIN
-- luac-ctr load [-i FILE] [-q]
-- docker-archive (docker save, podman save) or OCI layout (podman save
-- --format oci-archive, skopeo, luac-ctr save), plain or compressed. Every
-- blob is verified before anything is stored; a bad archive leaves nothing.
-- On a terminal a row per layer, then the images loaded; -q quiet.
local cli = require "ctr.cli"
local errors = require "ctr.errors"

local opts, args = cli.parse({ ... }, {
  { "i", "input", "string", "Read from tar archive file, instead of STDIN" },
  { "q", "quiet", "flag", "Suppress the load output" },
}, {
  usage = "load [OPTIONS]",
  description = "Load an image from a tar archive or STDIN",
  command = "load",
})
if #args > 0 then errors.raise(125, "\"load\" accepts no arguments.\nSee 'luac-ctr load --help'.") end
require("ctr.gc").auto()
-- docker's client: the per-layer progress only on a terminal
local quiet_layers = opts.quiet or not require("ctr.core").isatty(1)
local show = require("ctr.registry_progress").new { quiet = quiet_layers, load = true }
local loaded = require("ctr.registry_load").load(opts.input or "-", { progress = show })
if not opts.quiet then
  for _, l in ipairs(loaded) do
    if #l.tags == 0 then print("Loaded image ID: sha256:" .. l.id) end
    for _, t in ipairs(l.tags) do print("Loaded image: " .. t) end
  end
end
