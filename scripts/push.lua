-- push: Upload an image to a registry
-- luac-ctr push [-q] NAME[:TAG]
-- The local image NAME[:TAG] (tag it first: luac-ctr tag IMAGE
-- host:port/path:tag) goes to the registry its name says. Layers the
-- registry already has are not sent again. One line per layer; -q quiet.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local util = require "ctr.util"

local ok, opts, args = pcall(cli.parse, util.script_args(...), {
  { "q", "quiet", "flag", "Suppress verbose output" },
}, {
  usage = "push [OPTIONS] NAME[:TAG]",
  description = "Upload an image to a registry",
  command = "push",
})
if not ok then errors.throw("invalid", "%s", errors.message(opts)) end
if #args ~= 1 then
  util.die('"push" requires exactly 1 argument.\nSee \'luac-ctr push --help\'.', 125)
end

local function line(s)
  if not opts.quiet then
    io.stdout:write(s, "\n")
    io.stdout:flush()
  end
end

local ref = require("ctr.registry").parse(args[1])
line("The push refers to repository [" .. ref.domain .. "/" .. ref.repo .. "]")
local show = require("ctr.registry_progress").new { quiet = opts.quiet, push = true }
local digest = require("ctr.registry_push").push { ref = args[1], progress = show }
line(("%s: digest: %s"):format(ref.tag, digest))
if opts.quiet then print(digest) end
