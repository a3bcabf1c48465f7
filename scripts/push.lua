-- push: Upload an image to a registry
-- luac-ctr push [-q] NAME[:TAG]
-- The local image NAME[:TAG] (tag it first: luac-ctr tag IMAGE
-- host:port/path:tag) goes to the registry its name says. Layers the
-- registry already has are not sent again. One line per layer; -q quiet.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local progress = require "ctr.registry_progress"

local opts, args = cli.parse({ ... }, {
  { "q", "quiet", "flag", "Suppress verbose output" },
}, {
  usage = "push [OPTIONS] NAME[:TAG]",
  description = "Upload an image to a registry",
  command = "push",
})
if #args ~= 1 then errors.raise(125, "\"push\" requires exactly 1 argument.\nSee 'luac-ctr push --help'.") end

local line = progress.status_line(opts.quiet)
local ref = require("ctr.registry").parse(args[1])
line("The push refers to repository [" .. ref.domain .. "/" .. ref.repo .. "]")
local show = progress.new { quiet = opts.quiet, push = true }
local digest = require("ctr.registry_push").push { ref = args[1], progress = show }
line(("%s: digest: %s"):format(ref.tag, digest))
if opts.quiet then print(digest) end
