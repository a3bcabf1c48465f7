-- pull: Download an image from a registry
-- luac-ctr pull [--platform os/arch[/variant]] [-q] NAME[:TAG|@DIGEST]
-- docker's reference rules (busybox = docker.io/library/busybox:latest).
-- On a terminal, a progress bar per layer (bytes, rate); without one, one
-- line per layer and step; -q prints only the reference. Every layer is verified against its digest and size before it
-- is used; a failed pull leaves nothing in the store.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local util = require "ctr.util"

local ok, opts, args = pcall(cli.parse, util.script_args(...), {
  { nil, "platform", "string", "Set platform if server is multi-platform capable (os/arch[/variant])" },
  { "q", "quiet", "flag", "Suppress verbose output" },
}, {
  usage = "pull [OPTIONS] NAME[:TAG|@DIGEST]",
  description = "Download an image from a registry",
  command = "pull",
})
if not ok then errors.throw("invalid", "%s", errors.message(opts)) end
if #args ~= 1 then
  util.die('"pull" requires exactly 1 argument.\nSee \'luac-ctr pull --help\'.', 125)
end

local function line(s)
  if not opts.quiet then
    io.stdout:write(s, "\n")
    io.stdout:flush()
  end
end

local show = require("ctr.registry_progress").new { quiet = opts.quiet }
local pull = require "ctr.registry_pull"
local ref = require("ctr.registry").parse(args[1])
line((ref.tag or ref.digest) .. ": Pulling from " .. ref.domain .. "/" .. ref.repo)
local digest
pull.pull { ref = args[1], platform = opts.platform, progress = function(ev)
  if ev.status == "resolved" then digest = ev.digest end
  show(ev)
end }
line("Digest: " .. digest)
line("Status: Downloaded newer image for " .. (ref.local_ref or (ref.name .. "@" .. digest)))
if opts.quiet then print(ref.domain .. "/" .. ref.repo .. (ref.tag and (":" .. ref.tag) or ("@" .. ref.digest))) end
