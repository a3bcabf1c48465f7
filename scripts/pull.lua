-- pull: Download an image from a registry
-- luac-ctr pull [--platform os/arch[/variant]] [-q] NAME[:TAG|@DIGEST]
-- docker's reference rules (busybox = docker.io/library/busybox:latest).
-- On a terminal, a progress bar per layer (bytes, rate); without one, one
-- line per layer and step; -q prints only the reference. Every layer is
-- verified against its digest and size before it is used; a failed pull
-- leaves nothing in the store.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local progress = require "ctr.registry_progress"

local opts, args = cli.parse({ ... }, {
  { nil, "platform", "string", "Set platform if server is multi-platform capable (os/arch[/variant])" },
  { "q", "quiet", "flag", "Suppress verbose output" },
}, {
  usage = "pull [OPTIONS] NAME[:TAG|@DIGEST]",
  description = "Download an image from a registry",
  command = "pull",
})
if #args ~= 1 then errors.raise(125, "\"pull\" requires exactly 1 argument.\nSee 'luac-ctr pull --help'.") end

local line = progress.status_line(opts.quiet)
local show = progress.new { quiet = opts.quiet }
local ref = require("ctr.registry").parse(args[1])
line((ref.tag or ref.digest) .. ": Pulling from " .. ref.domain .. "/" .. ref.repo)
local digest
require("ctr.registry_pull").pull { ref = args[1], platform = opts.platform, progress = function(ev)
  if ev.status == "resolved" then digest = ev.digest end
  show(ev)
end }
line("Digest: " .. digest)
line("Status: Downloaded newer image for " .. (ref.local_ref or (ref.name .. "@" .. digest)))
if opts.quiet then print(ref.domain .. "/" .. ref.repo .. (ref.tag and (":" .. ref.tag) or ("@" .. ref.digest))) end
