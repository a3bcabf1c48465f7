-- rmi: Remove one or more images
-- luac-ctr rmi [-f] IMAGE...
-- By tag only that tag goes unless it is the last; by id the image goes.
-- Images used by a container are refused unless -f (then only untagged).
-- Layers no other image uses are deleted. Exit 1 if any image failed.
local cli = require "ctr.cli"
local image = require "ctr.image"
local util = require "ctr.util"

local ok, opts, args = pcall(cli.parse, util.script_args(...), {
  { "f", "force", "flag", "Force removal of the image" },
  { nil, "no-prune", "flag", "Accepted for compatibility" },
}, { usage = "rmi [OPTIONS] IMAGE [IMAGE...]", description = "Remove one or more images", command = "rmi" })
if not ok then
  util.die(type(opts) == "table" and opts.msg or tostring(opts), type(opts) == "table" and opts.code or 125)
end
if #args < 1 then util.die('"rmi" requires at least 1 argument.\nSee \'luac-ctr rmi --help\'.', 125) end

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
local failed = false
for _, ref in ipairs(args) do
  local ok2, res = pcall(image.remove, ref, { force = opts.force })
  if ok2 then
    for _, line in ipairs(res) do print(line) end
  else
    failed = true
    io.stdout:flush()
    require("ctr.errors").report(type(res) == "table" and tostring(res.msg) or tostring(res))
  end
end
if failed then os.exit(1) end
